"""The FastAPI application: login, patient pages and the JSON API under ``/api/v1``.

Built by :func:`create_app` (nothing is connected at import time). The application keeps no
state of its own: sessions, API tokens and failed logins are rows of the registry database, so
several workers or machines can serve one database. Every read of patient data goes through
:mod:`ilpkit.services.access`, which filters by the user's centres. The routes live in
:mod:`ilpkit.web.routes`, one module per part of the application, each with
``register(app, web)``.

Security model (details in docs/web.md): argon2 password hashes; session and API tokens
stored as SHA-256 only; the session cookie is HttpOnly, SameSite=Lax and Secure when the
request came over https; every state-changing form carries a CSRF token (double-submit cookie
before login, the session's token after); an account is locked after repeated failed logins;
idle sessions end; templates escape every value.
"""

from __future__ import annotations

import os
from datetime import timedelta
from html import escape
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from ilpkit.adapters.db.engine import check_schema, make_engine, translated_errors
from ilpkit.adapters.db.errors import RegistryDatabaseError
from ilpkit.services import accounts
from ilpkit.web.context import LoginRequired, Web, package_dir
from ilpkit.web.routes import (
    api,
    api_records,
    auth,
    dashboard,
    files,
    leakage,
    patients,
    planner,
    records,
)

URL_ENV = "ILP_WEB_DATABASE_URL"
"""Environment variable through which ``ilp serve`` hands the database URL to its workers."""

ROUTE_MODULES = (auth, dashboard, files, records, planner, leakage, patients, api_records, api)
"""The parts of the application, registered in this order. ``patients`` and ``api`` end with
catch-all routes (``/patients/{patient_id:path}``), so modules with more specific routes under
``/patients/`` or ``/api/v1/patients/`` come before them."""


def check_registry(url: str) -> None:
    """Check that ``url`` holds a registry at this ilpkit's schema (raises otherwise)."""
    engine = make_engine(url, read_only=True)
    try:
        with translated_errors(url), engine.connect() as conn:
            check_schema(conn, url)
    finally:
        engine.dispose()


def create_app(url: str, *, idle_timeout: timedelta = accounts.IDLE_TIMEOUT) -> FastAPI:
    """The web application serving the registry at ``url``.

    Parameters
    ----------
    url : str
        SQLAlchemy URL of the registry (SQLite file or PostgreSQL).
    idle_timeout : timedelta
        A session unused for this long ends.
    """
    web = Web(url, idle_timeout)
    app = FastAPI(
        title="ilpkit registry",
        version="1",
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
    )
    app.mount("/static", StaticFiles(directory=package_dir("static")), name="static")
    app.router.on_shutdown.append(web.db.dispose)
    app.state.database = web.db
    app.state.web = web

    @app.middleware("http")
    async def _security_headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'"
        )
        if not request.url.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.exception_handler(RegistryDatabaseError)
    async def _database_problem(request: Request, exc: RegistryDatabaseError) -> Response:
        text = f"The registry cannot be used just now: {exc}"
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": text}, 503)
        return HTMLResponse(f"<!doctype html><title>Unavailable</title><p>{escape(text)}</p>", 503)

    @app.exception_handler(LoginRequired)
    async def _to_login(request: Request, exc: LoginRequired) -> Response:
        return RedirectResponse("/login", status_code=303)

    for module in ROUTE_MODULES:
        module.register(app, web)
    return app


def app_from_environment() -> FastAPI:
    """The application for the database named by ``$ILP_WEB_DATABASE_URL`` (for uvicorn)."""
    return create_app(os.environ[URL_ENV])
