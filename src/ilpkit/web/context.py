"""What every route of the web application shares: the database, templates and the user.

:class:`Web` is made once per application by :func:`ilpkit.web.app.create_app` and handed to
each route module's ``register(app, web)``. Nothing here connects at import time.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.templating import Jinja2Templates
from sqlalchemy.engine import Connection, Engine

from ilpkit.adapters.db.engine import make_engine, translated_errors
from ilpkit.services import accounts
from ilpkit.services.access import WRITE_ROLES, Principal
from ilpkit.services.record_history import HISTORY_ROLES

SESSION_COOKIE = "ilp_session"
LOGIN_CSRF_COOKIE = "ilp_login_csrf"
MAX_PAGE = 200
"""Largest page of a list endpoint."""
SYNTHETIC_RECHECK_S = 60.0
"""How often (seconds) a registry not (yet) marked synthetic is checked again for the mark."""


class LoginRequired(Exception):
    """Raised by page handlers when there is no valid session: redirect to the login page."""


class Database:
    """The application's engine, made on first use."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine: Engine | None = None

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """One transaction (the write lock is taken when the transaction first writes)."""
        if self._engine is None:
            self._engine = make_engine(self.url, write_lock=True)
        with translated_errors(self.url), self._engine.begin() as conn:
            yield conn

    def dispose(self) -> None:
        """Close the engine's connections (on shutdown)."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


def package_dir(name: str) -> Path:
    """A folder of the ``ilpkit.web`` package (``templates``, ``static``)."""
    return Path(str(resources.files("ilpkit.web") / name))


def make_templates() -> Jinja2Templates:
    """Jinja2 templates with autoescaping on and undefined names an error."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(package_dir("templates"))),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["quote_id"] = lambda value: quote(str(value), safe="")
    # which links a page offers a role (the services refuse the rest whatever the page shows)
    env.globals["may_change_records"] = lambda role: role in WRITE_ROLES
    env.globals["may_read_history"] = lambda role: role in HISTORY_ROLES
    return Jinja2Templates(env=env)


def principal_of(user: accounts.SessionUser) -> Principal:
    """The service layer's view of a logged-in user."""
    return Principal(user.username, user.role, user.centers)


class Web:
    """Database, templates and user lookup shared by the route modules.

    Parameters
    ----------
    url : str
        SQLAlchemy URL of the registry.
    idle_timeout : timedelta
        A session unused for this long ends.
    """

    def __init__(self, url: str, idle_timeout: timedelta) -> None:
        self.db = Database(url)
        self.templates = make_templates()
        self.idle_timeout = idle_timeout
        self._bearer = HTTPBearer(auto_error=False)
        self.api_user: Callable[..., Principal] = self._make_api_user()
        self._synthetic = False
        self._synthetic_checked = -SYNTHETIC_RECHECK_S

    def synthetic(self) -> bool:
        """True when the registry is SYNTHETIC (every page then says so in a banner).

        The mark is never removed, so once seen it is kept; otherwise it is looked up again at
        most every :data:`SYNTHETIC_RECHECK_S` seconds.
        """
        now = time.monotonic()
        if not self._synthetic and now - self._synthetic_checked >= SYNTHETIC_RECHECK_S:
            from ilpkit.adapters.db.registry_info import is_synthetic

            with self.db.begin() as conn:
                self._synthetic = is_synthetic(conn)
            self._synthetic_checked = now
        return self._synthetic

    # --- pages ---------------------------------------------------------------------------

    def render(
        self,
        request: Request,
        name: str,
        context: dict[str, Any],
        status_code: int = 200,
        user: accounts.SessionUser | None = None,
    ) -> HTMLResponse:
        """Render template ``name`` with the user and the session's CSRF token."""
        full = {
            "user": user,
            "csrf_token": user.csrf_token if user else "",
            "synthetic": self.synthetic(),
            **context,
        }
        return self.templates.TemplateResponse(request, name, full, status_code=status_code)

    def page_user(self, request: Request, conn: Connection) -> accounts.SessionUser:
        """The logged-in user of a page request (raises :class:`LoginRequired` otherwise)."""
        token = request.cookies.get(SESSION_COOKIE)
        user = accounts.session_user(conn, token, "web", self.idle_timeout) if token else None
        if user is None:
            raise LoginRequired
        return user

    def message(
        self, request: Request, user: accounts.SessionUser, status: int, title: str, text: str
    ) -> HTMLResponse:
        """A page with a title and one message (errors, refusals)."""
        return self.render(request, "message.html", {"title": title, "message": text}, status, user)

    @staticmethod
    def csrf_ok(user: accounts.SessionUser, csrf_token: str) -> bool:
        """True when a form's CSRF token is the session's."""
        return bool(csrf_token) and hmac.compare_digest(user.csrf_token, csrf_token)

    # --- API -----------------------------------------------------------------------------

    def _make_api_user(self) -> Callable[..., Principal]:
        bearer = self._bearer

        def api_user(
            credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
        ) -> Principal:
            user = None
            if credentials is not None:
                with self.db.begin() as conn:
                    user = accounts.session_user(
                        conn, credentials.credentials, "api", self.idle_timeout
                    )
            if user is None:
                raise HTTPException(
                    401, "log in first: POST /api/v1/auth/token", {"WWW-Authenticate": "Bearer"}
                )
            return principal_of(user)

        return api_user
