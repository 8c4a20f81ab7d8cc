"""Accounts of the web application: users, roles, centres, sessions, tokens and lock-out.

Passwords are stored only as argon2 hashes. Browser sessions and API bearer tokens are random
secrets given to the client once; the database keeps only their SHA-256, so a copy of the
database does not let anyone log in. Failed logins are recorded in ``login_attempts``: after
:data:`MAX_FAILURES` failures within :data:`LOCKOUT_WINDOW` the account is locked for the rest of
that window, on every worker of the application alike.

Changes to accounts (added, disabled, password reset) are written to the audit log, never the
password or its hash.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ilpkit.adapters.db import registry_repository as repo
from ilpkit.adapters.db.tables import ROLES, login_attempts, sessions, user_centers, users
from ilpkit.errors import IlpkitError
from ilpkit.services.unit_of_work import UnitOfWork

if TYPE_CHECKING:
    from argon2 import PasswordHasher

MIN_PASSWORD_CHARS = 12
"""Shortest password accepted."""
MAX_FAILURES = 5
"""Failed logins in a row (within :data:`LOCKOUT_WINDOW`) after which an account is locked."""
LOCKOUT_WINDOW = timedelta(minutes=15)
"""How far back failed logins count, and how long a lock-out lasts at most."""
IDLE_TIMEOUT = timedelta(minutes=30)
"""A session not used for this long is ended."""
TOUCH_INTERVAL = timedelta(minutes=1)
"""A session's ``last_seen_at`` is written again only when older than this (see
:func:`touch_interval`)."""

_USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
_CENTER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")


class AccountError(IlpkitError):
    """An account request that cannot be done; the message says why."""

    exit_code = 1


@dataclass(frozen=True, slots=True)
class Account:
    """An account as shown to an administrator (never the password hash)."""

    username: str
    role: str
    centers: tuple[str, ...]
    disabled: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class SessionUser:
    """The user behind a valid session or token."""

    user_id: int
    username: str
    role: str
    centers: frozenset[str]
    csrf_token: str


def _hasher() -> PasswordHasher:
    from argon2 import PasswordHasher

    return PasswordHasher()


def hash_password(password: str) -> str:
    """The argon2id hash of ``password``."""
    return str(_hasher().hash(password))


def _verify(password_hash: str, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

    try:
        return bool(_hasher().verify(password_hash, password))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


_DUMMY_HASH: str | None = None


def _dummy_hash() -> str:
    """A hash to verify against for unknown users, so that timing does not tell them apart."""
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_password(secrets.token_hex(16))
    return _DUMMY_HASH


def token_hash(token: str) -> str:
    """The SHA-256 (hex) under which a session or API token is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_username(username: str) -> str:
    """``username`` if it is a valid account name, else :class:`AccountError`."""
    if not _USERNAME.fullmatch(username):
        raise AccountError(
            f"the user name '{username}' is not valid: use 1 to 64 letters, digits and . _ @ -, "
            "starting with a letter or digit"
        )
    return username


def check_password(password: str) -> str:
    """``password`` if long enough, else :class:`AccountError`."""
    if len(password) < MIN_PASSWORD_CHARS:
        raise AccountError(
            f"the password has {len(password)} characters; use at least {MIN_PASSWORD_CHARS}"
        )
    return password


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise AccountError(f"the role '{role}' does not exist; use one of {', '.join(ROLES)}")
    return role


def _check_centers(role: str, centers: Iterable[str]) -> tuple[str, ...]:
    out = tuple(dict.fromkeys(c.strip() for c in centers))
    for c in out:
        if not _CENTER.fullmatch(c):
            raise AccountError(
                f"the centre code '{c}' is not valid: use 1 to 32 letters, digits, _ and -"
            )
    if role != "admin" and not out:
        raise AccountError(
            f"a {role} account needs at least one centre: give --center CODE (an admin sees "
            "every centre)"
        )
    return out


def _user_row(conn: Connection, username: str) -> sa.Row | None:
    return conn.execute(sa.select(users).where(users.c.username == username)).first()


def _require_user(conn: Connection, username: str) -> sa.Row:
    row = _user_row(conn, username)
    if row is None:
        raise AccountError(f"there is no user '{username}'; see 'ilp user list'")
    return row


def add_user(
    url: str, username: str, password: str, role: str, centers: Iterable[str], actor: str
) -> Account:
    """Create an account. Raises :class:`AccountError` for a taken name or invalid values."""
    check_username(username)
    _check_role(role)
    codes = _check_centers(role, centers)
    check_password(password)
    hashed = hash_password(password)
    now = datetime.now(UTC)
    with UnitOfWork(url) as uow:
        conn = uow.connection
        if _user_row(conn, username) is not None:
            raise AccountError(f"there is already a user '{username}'; nothing was changed")
        user_id = conn.execute(
            sa.insert(users)
            .values(
                username=username,
                password_hash=hashed,
                role=role,
                disabled=False,
                created_at=now,
            )
            .returning(users.c.id)
        ).scalar_one()
        if codes:
            conn.execute(
                sa.insert(user_centers), [{"user_id": user_id, "center": c} for c in codes]
            )
        repo.add_audit(
            conn, actor, "user_add", [("user", username, {"role": role, "centers": list(codes)})]
        )
        uow.commit()
    return Account(username, role, codes, False, now)


def list_users(url: str) -> list[Account]:
    """Every account, by name."""
    with UnitOfWork(url, write=False) as uow:
        conn = uow.connection
        grants: dict[int, list[str]] = {}
        for uid, center in conn.execute(
            sa.select(user_centers.c.user_id, user_centers.c.center).order_by(user_centers.c.center)
        ):
            grants.setdefault(uid, []).append(center)
        rows = conn.execute(sa.select(users).order_by(users.c.username)).all()
    return [
        Account(r.username, r.role, tuple(grants.get(r.id, [])), bool(r.disabled), r.created_at)
        for r in rows
    ]


def disable_user(url: str, username: str, actor: str) -> bool:
    """Disable an account and end its sessions; False when it was already disabled."""
    with UnitOfWork(url) as uow:
        conn = uow.connection
        row = _require_user(conn, username)
        conn.execute(sa.delete(sessions).where(sessions.c.user_id == row.id))
        if row.disabled:
            uow.commit()
            return False
        conn.execute(sa.update(users).where(users.c.id == row.id).values(disabled=True))
        repo.add_audit(conn, actor, "user_disable", [("user", username, {})])
        uow.commit()
    return True


def reset_password(url: str, username: str, password: str, actor: str) -> None:
    """Set a new password, end the account's sessions and lift a lock-out."""
    check_password(password)
    hashed = hash_password(password)
    with UnitOfWork(url) as uow:
        conn = uow.connection
        row = _require_user(conn, username)
        conn.execute(sa.update(users).where(users.c.id == row.id).values(password_hash=hashed))
        conn.execute(sa.delete(sessions).where(sessions.c.user_id == row.id))
        conn.execute(sa.delete(login_attempts).where(login_attempts.c.username == username))
        repo.add_audit(conn, actor, "user_password_reset", [("user", username, {})])
        uow.commit()


# --- login, sessions and tokens (on a connection the caller commits) ------------------------


@dataclass(frozen=True, slots=True)
class LoginResult:
    """The outcome of a login: the user's id when it succeeded; ``locked`` when the account is
    locked out (the attempt is recorded either way, so commit the connection in both cases)."""

    user_id: int | None
    locked: bool = False

    @property
    def ok(self) -> bool:
        """True when the login succeeded."""
        return self.user_id is not None


def _as_utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def is_locked(conn: Connection, username: str, now: datetime | None = None) -> bool:
    """True when ``username`` has :data:`MAX_FAILURES` failed logins since its last success
    within :data:`LOCKOUT_WINDOW`."""
    now = now or datetime.now(UTC)
    since = now - LOCKOUT_WINDOW
    last_ok = conn.execute(
        sa.select(sa.func.max(login_attempts.c.at)).where(
            login_attempts.c.username == username, login_attempts.c.succeeded.is_(True)
        )
    ).scalar()
    if last_ok is not None and _as_utc(last_ok) > since:
        since = _as_utc(last_ok)
    failures = conn.execute(
        sa.select(sa.func.count()).where(
            login_attempts.c.username == username,
            login_attempts.c.succeeded.is_(False),
            login_attempts.c.at > since,
        )
    ).scalar_one()
    return int(failures) >= MAX_FAILURES


def authenticate(conn: Connection, username: str, password: str) -> LoginResult:
    """Check a login and record the attempt (commit ``conn`` afterwards, also on failure).

    A locked account is refused even with the right password (without checking it).
    """
    now = datetime.now(UTC)
    name = username[:64]
    if is_locked(conn, name, now):
        conn.execute(sa.insert(login_attempts).values(username=name, at=now, succeeded=False))
        return LoginResult(None, locked=True)
    row = _user_row(conn, name)
    ok = _verify(row.password_hash if row is not None else _dummy_hash(), password)
    ok = ok and row is not None and not row.disabled
    conn.execute(
        sa.delete(login_attempts).where(
            login_attempts.c.username == name, login_attempts.c.at < now - LOCKOUT_WINDOW
        )
    )  # attempts older than the window never count again
    conn.execute(sa.insert(login_attempts).values(username=name, at=now, succeeded=ok))
    if not ok or row is None:
        return LoginResult(None, locked=is_locked(conn, name, now))
    return LoginResult(int(row.id))


def open_session(
    conn: Connection, user_id: int, kind: str, idle_timeout: timedelta = IDLE_TIMEOUT
) -> tuple[str, str]:
    """Start a browser session (``kind`` 'web') or an API token ('api'): (token, csrf token).

    Sessions and tokens of every user idle for longer than ``idle_timeout`` are deleted first.
    """
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    conn.execute(sa.delete(sessions).where(sessions.c.last_seen_at < now - idle_timeout))
    conn.execute(
        sa.insert(sessions).values(
            token_hash=token_hash(token),
            user_id=user_id,
            kind=kind,
            csrf_token=csrf,
            created_at=now,
            last_seen_at=now,
        )
    )
    return token, csrf


def touch_interval(idle_timeout: timedelta) -> timedelta:
    """How stale ``last_seen_at`` may be before a request writes it anew: :data:`TOUCH_INTERVAL`,
    at most a thirtieth of the idle timeout.

    Not writing it on every request keeps most requests read-only transactions (no write, no
    commit flush); a session then ends between ``idle_timeout - touch_interval`` and
    ``idle_timeout`` after its last use.
    """
    return min(TOUCH_INTERVAL, idle_timeout / 30)


def session_user(
    conn: Connection, token: str, kind: str, idle_timeout: timedelta = IDLE_TIMEOUT
) -> SessionUser | None:
    """The user of a valid session or token (touching it), None when unknown, idle or disabled.

    An idle session is deleted. Its last use is written when older than
    :func:`touch_interval`.
    """
    now = datetime.now(UTC)
    key = token_hash(token)
    row = conn.execute(
        sa.select(sessions, users.c.username, users.c.role, users.c.disabled)
        .join(users, users.c.id == sessions.c.user_id)
        .where(sessions.c.token_hash == key, sessions.c.kind == kind)
    ).first()
    if row is None:
        return None
    if row.disabled or _as_utc(row.last_seen_at) < now - idle_timeout:
        conn.execute(sa.delete(sessions).where(sessions.c.token_hash == key))
        return None
    if _as_utc(row.last_seen_at) < now - touch_interval(idle_timeout):
        conn.execute(
            sa.update(sessions).where(sessions.c.token_hash == key).values(last_seen_at=now)
        )
    centers = conn.execute(
        sa.select(user_centers.c.center).where(user_centers.c.user_id == row.user_id)
    ).scalars()
    return SessionUser(int(row.user_id), row.username, row.role, frozenset(centers), row.csrf_token)


def close_session(conn: Connection, token: str) -> None:
    """End a session or revoke a token."""
    conn.execute(sa.delete(sessions).where(sessions.c.token_hash == token_hash(token)))
