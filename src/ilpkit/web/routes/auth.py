"""Logging in and out: the login page, logout, and API bearer tokens."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated, Any

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from ilpkit.services import accounts
from ilpkit.web.api_models import TokenRequest, TokenResponse
from ilpkit.web.context import LOGIN_CSRF_COOKIE, SESSION_COOKIE, Web

LANDING_PAGE = "/dashboard"
"""Where ``/`` and a successful login lead."""


def register(app: FastAPI, web: Web) -> None:
    """Add the login, logout and token routes to ``app``."""

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse(LANDING_PAGE, status_code=303)

    def login_form(
        request: Request, error: str = "", username: str = "", status: int = 200
    ) -> HTMLResponse:
        csrf = secrets.token_urlsafe(32)
        response = web.render(
            request,
            "login.html",
            {"error": error, "username": username, "csrf_token": csrf},
            status,
        )
        response.set_cookie(
            LOGIN_CSRF_COOKIE,
            csrf,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )
        return response

    @app.get("/login", include_in_schema=False)
    def login_page(request: Request) -> HTMLResponse:
        return login_form(request)

    @app.post("/login", include_in_schema=False)
    def login(
        request: Request,
        username: Annotated[str, Form(max_length=64)] = "",
        password: Annotated[str, Form(max_length=1024)] = "",
        csrf_token: Annotated[str, Form(max_length=128)] = "",
    ) -> Response:
        expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
        if not expected or not hmac.compare_digest(expected, csrf_token):
            return login_form(
                request,
                "The form had expired or did not come from this site; please log in again.",
                username,
                403,
            )
        with web.db.begin() as conn:
            result = accounts.authenticate(conn, username, password)
            token = (
                accounts.open_session(conn, result.user_id, "web", web.idle_timeout)[0]
                if result.user_id is not None
                else ""
            )
        if result.locked:
            return login_form(
                request,
                "Too many failed logins: this account is locked for "
                f"{int(accounts.LOCKOUT_WINDOW.total_seconds() // 60)} minutes.",
                username,
                429,
            )
        if not result.ok:
            return login_form(request, "Wrong user name or password.", username, 401)
        response = RedirectResponse(LANDING_PAGE, status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            token,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )
        response.delete_cookie(LOGIN_CSRF_COOKIE)
        return response

    @app.post("/logout", include_in_schema=False)
    def logout(request: Request, csrf_token: Annotated[str, Form(max_length=128)] = "") -> Response:
        with web.db.begin() as conn:
            user = web.page_user(request, conn)
            if not hmac.compare_digest(user.csrf_token, csrf_token):
                return web.message(
                    request,
                    user,
                    403,
                    "Not logged out",
                    "The form did not come from this site, so nothing was done.",
                )
            accounts.close_session(conn, request.cookies[SESSION_COOKIE])
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE)
        return response

    @app.post(
        "/api/v1/auth/token",
        response_model=TokenResponse,
        responses={401: {"description": "Wrong user name or password"}, 429: {}},
    )
    def token(body: TokenRequest) -> Any:
        """Exchange a user name and password for a bearer token."""
        with web.db.begin() as conn:
            result = accounts.authenticate(conn, body.username, body.password)
            issued = (
                accounts.open_session(conn, result.user_id, "api", web.idle_timeout)[0]
                if result.user_id is not None
                else ""
            )
        if result.locked:
            return JSONResponse(
                {"detail": "too many failed logins: the account is locked for a while"}, 429
            )
        if not result.ok:
            return JSONResponse({"detail": "wrong user name or password"}, 401)
        return TokenResponse(access_token=issued)
