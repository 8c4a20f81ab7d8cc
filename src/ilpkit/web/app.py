"""The FastAPI application: login, patient pages and the JSON API under ``/api/v1``.

Built by :func:`create_app` (nothing is connected at import time). The application keeps no
state of its own: sessions, API tokens and failed logins are rows of the registry database, so
several workers or machines can serve one database. Every read of patient data goes through
:mod:`ilpkit.services.access`, which filters by the user's centres.

Security model (details in docs/web.md): argon2 password hashes; session and API tokens
stored as SHA-256 only; the session cookie is HttpOnly, SameSite=Lax and Secure when the
request came over https; every state-changing form carries a CSRF token (double-submit cookie
before login, the session's token after); an account is locked after repeated failed logins;
idle sessions end; templates escape every value.
"""

from __future__ import annotations

import hmac
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from html import escape
from importlib import resources
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field
from sqlalchemy.engine import Connection, Engine

from ilpkit.adapters.db.engine import check_schema, make_engine, translated_errors
from ilpkit.adapters.db.errors import RegistryDatabaseError
from ilpkit.services import access, accounts
from ilpkit.services.access import Principal, PseudonymKeyMissing, RecordNotFound

URL_ENV = "ILP_WEB_DATABASE_URL"
"""Environment variable through which ``ilp serve`` hands the database URL to its workers."""
SESSION_COOKIE = "ilp_session"
LOGIN_CSRF_COOKIE = "ilp_login_csrf"
MAX_PAGE = 200
"""Largest page of a list endpoint."""


def check_registry(url: str) -> None:
    """Check that ``url`` holds a registry at this ilpkit's schema (raises otherwise)."""
    engine = make_engine(url, read_only=True)
    try:
        with translated_errors(url), engine.connect() as conn:
            check_schema(conn, url)
    finally:
        engine.dispose()


class _Database:
    """The application's engine, made on first use."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine: Engine | None = None

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        if self._engine is None:
            self._engine = make_engine(self.url, write_lock=True)
        with translated_errors(self.url), self._engine.begin() as conn:
            yield conn

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


# --- API models ------------------------------------------------------------------------------


class TokenRequest(BaseModel):
    """Credentials for a bearer token."""

    username: str = Field(max_length=64)
    password: str = Field(max_length=1024)


class TokenResponse(BaseModel):
    """A bearer token (shown once; the registry keeps only its hash)."""

    access_token: str
    token_type: str = "bearer"


class PatientOut(BaseModel):
    """A patient as the user may see it (pseudonymised for a statistician)."""

    patient_id: str
    center: str
    sex: str
    birth_date: date | None
    death_date: date | None
    last_followup_date: date
    perfusions: int


class PerfusionOut(BaseModel):
    """One perfusion of a patient."""

    perfusion_id: str | None
    patient_id: str
    ilp_date: date
    limb: str
    perfusion_level: str
    limb_volume_l: float
    tnf_mg: float
    melphalan_mg: float
    histology: str
    response: str | None
    max_leakage_pct: float | None


class PatientPage(BaseModel):
    """One page of patients."""

    total: int
    limit: int
    offset: int
    items: list[PatientOut]


class PatientDetail(BaseModel):
    """A patient with the patient's perfusions."""

    patient: PatientOut
    perfusions: list[PerfusionOut]


def _fields(obj: Any) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in obj.__slots__}


# --- the application -------------------------------------------------------------------------


def _package_dir(name: str) -> Path:
    return Path(str(resources.files("ilpkit.web") / name))


def _templates() -> Jinja2Templates:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(_package_dir("templates"))),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["quote_id"] = lambda value: quote(str(value), safe="")
    return Jinja2Templates(env=env)


def _principal(user: accounts.SessionUser) -> Principal:
    return Principal(user.username, user.role, user.centers)


class _LoginRequired(Exception):
    """Raised by page handlers when there is no valid session: redirect to the login page."""


def create_app(url: str, *, idle_timeout: timedelta = accounts.IDLE_TIMEOUT) -> FastAPI:
    """The web application serving the registry at ``url``.

    Parameters
    ----------
    url : str
        SQLAlchemy URL of the registry (SQLite file or PostgreSQL).
    idle_timeout : timedelta
        A session unused for this long ends.
    """
    db = _Database(url)
    templates = _templates()

    app = FastAPI(
        title="ilpkit registry",
        version="1",
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
    )
    app.mount("/static", StaticFiles(directory=_package_dir("static")), name="static")
    app.router.on_shutdown.append(db.dispose)
    app.state.database = db

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

    @app.exception_handler(_LoginRequired)
    async def _to_login(request: Request, exc: _LoginRequired) -> Response:
        return RedirectResponse("/login", status_code=303)

    # --- pages -----------------------------------------------------------------------------

    def render(
        request: Request,
        name: str,
        context: dict[str, Any],
        status_code: int = 200,
        user: accounts.SessionUser | None = None,
    ) -> HTMLResponse:
        full = {"user": user, "csrf_token": user.csrf_token if user else "", **context}
        return templates.TemplateResponse(request, name, full, status_code=status_code)

    def page_user(request: Request, conn: Connection) -> accounts.SessionUser:
        token = request.cookies.get(SESSION_COOKIE)
        user = accounts.session_user(conn, token, "web", idle_timeout) if token else None
        if user is None:
            raise _LoginRequired
        return user

    def message(
        request: Request, user: accounts.SessionUser, status: int, title: str, text: str
    ) -> HTMLResponse:
        return render(request, "message.html", {"title": title, "message": text}, status, user)

    @app.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        return RedirectResponse("/patients", status_code=303)

    def login_form(
        request: Request, error: str = "", username: str = "", status: int = 200
    ) -> HTMLResponse:
        csrf = secrets.token_urlsafe(32)
        response = render(
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
        with db.begin() as conn:
            result = accounts.authenticate(conn, username, password)
            token = (
                accounts.open_session(conn, result.user_id, "web", idle_timeout)[0]
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
        response = RedirectResponse("/patients", status_code=303)
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
        with db.begin() as conn:
            user = page_user(request, conn)
            if not hmac.compare_digest(user.csrf_token, csrf_token):
                return message(
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

    @app.get("/patients", include_in_schema=False)
    def patients_page(
        request: Request,
        q: Annotated[str, Query(max_length=64)] = "",
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> HTMLResponse:
        limit = 50
        with db.begin() as conn:
            user = page_user(request, conn)
            try:
                total, rows = access.list_patients(
                    conn, _principal(user), q, limit=limit, offset=offset
                )
            except PseudonymKeyMissing as exc:
                return message(request, user, 403, "Not available", str(exc))
        context = {
            "patients": rows,
            "total": total,
            "search": q,
            "offset": offset,
            "limit": limit,
        }
        return render(request, "patients.html", context, user=user)

    @app.get("/patients/{patient_id:path}", include_in_schema=False)
    def patient_page(request: Request, patient_id: str) -> HTMLResponse:
        with db.begin() as conn:
            user = page_user(request, conn)
            try:
                patient, perfusions = access.get_patient(conn, _principal(user), patient_id)
            except RecordNotFound as exc:
                return message(request, user, 404, "Not found", str(exc))
            except PseudonymKeyMissing as exc:
                return message(request, user, 403, "Not available", str(exc))
        context = {"patient": patient, "perfusions": perfusions}
        return render(request, "patient.html", context, user=user)

    # --- JSON API --------------------------------------------------------------------------

    bearer = HTTPBearer(auto_error=False)

    def api_user(
        credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
    ) -> Principal:
        user = None
        if credentials is not None:
            with db.begin() as conn:
                user = accounts.session_user(conn, credentials.credentials, "api", idle_timeout)
        if user is None:
            raise HTTPException(
                401, "log in first: POST /api/v1/auth/token", {"WWW-Authenticate": "Bearer"}
            )
        return _principal(user)

    @app.post(
        "/api/v1/auth/token",
        response_model=TokenResponse,
        responses={401: {"description": "Wrong user name or password"}, 429: {}},
    )
    def token(body: TokenRequest) -> Any:
        """Exchange a user name and password for a bearer token."""
        with db.begin() as conn:
            result = accounts.authenticate(conn, body.username, body.password)
            issued = (
                accounts.open_session(conn, result.user_id, "api", idle_timeout)[0]
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

    @app.get("/api/v1/patients", response_model=PatientPage)
    def list_patients(
        principal: Principal = Depends(api_user),
        q: Annotated[str, Query(max_length=64)] = "",
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> PatientPage:
        """Patients of the user's centres (pseudonymised for a statistician), by patient id."""
        with db.begin() as conn:
            try:
                total, rows = access.list_patients(conn, principal, q, limit=limit, offset=offset)
            except PseudonymKeyMissing as exc:
                raise HTTPException(403, str(exc)) from None
        items = [PatientOut(**_fields(r)) for r in rows]
        return PatientPage(total=total, limit=limit, offset=offset, items=items)

    @app.get(
        "/api/v1/patients/{patient_id:path}",
        response_model=PatientDetail,
        responses={404: {"description": "No such patient among the user's centres"}},
    )
    def get_patient(patient_id: str, principal: Principal = Depends(api_user)) -> PatientDetail:
        """One patient with the patient's perfusions (404 for another centre's patient)."""
        with db.begin() as conn:
            try:
                patient, perfusions = access.get_patient(conn, principal, patient_id)
            except RecordNotFound as exc:
                raise HTTPException(404, str(exc)) from None
            except PseudonymKeyMissing as exc:
                raise HTTPException(403, str(exc)) from None
        return PatientDetail(
            patient=PatientOut(**_fields(patient)),
            perfusions=[PerfusionOut(**_fields(p)) for p in perfusions],
        )

    @app.get(
        "/api/v1/perfusions/{perfusion_id}",
        response_model=PerfusionOut,
        responses={404: {"description": "No such perfusion among the user's centres"}},
    )
    def get_perfusion(perfusion_id: str, principal: Principal = Depends(api_user)) -> PerfusionOut:
        """One perfusion by its perfusion_id (404 for a perfusion of another centre)."""
        with db.begin() as conn:
            try:
                perfusion = access.get_perfusion(conn, principal, perfusion_id)
            except RecordNotFound as exc:
                raise HTTPException(404, str(exc)) from None
            except PseudonymKeyMissing as exc:
                raise HTTPException(403, str(exc)) from None
        return PerfusionOut(**_fields(perfusion))

    return app


def app_from_environment() -> FastAPI:
    """The application for the database named by ``$ILP_WEB_DATABASE_URL`` (for uvicorn)."""
    return create_app(os.environ[URL_ENV])
