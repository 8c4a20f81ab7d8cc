"""Settings, resolved by functions when a command runs (never at import time)."""

from __future__ import annotations

import getpass
import os
from pathlib import Path

DEFAULT_SQLITE_FILE = "ilp.sqlite3"
"""The embedded default registry: this file in the working directory."""

DATABASE_URL_ENV = "ILP_DATABASE_URL"
ACTOR_ENV = "ILP_USER"


def database_url(cli_value: str | None = None, cwd: Path | None = None) -> str:
    """Resolve which database a command works on.

    Order: the ``--db`` option, then the environment variable ``ILP_DATABASE_URL``, then the
    SQLite file ``ilp.sqlite3`` in the working directory. A value without ``://`` is taken as the
    path of a SQLite file; ``postgresql://`` URLs use the psycopg 3 driver.

    Parameters
    ----------
    cli_value : str, optional
        Value of ``--db``.
    cwd : Path, optional
        Directory for relative SQLite paths (default: the working directory).

    Returns
    -------
    str
        An SQLAlchemy database URL.
    """
    value = cli_value or os.environ.get(DATABASE_URL_ENV) or DEFAULT_SQLITE_FILE
    base = cwd or Path.cwd()
    if "://" not in value:
        path = Path(value).expanduser()
        if not path.is_absolute():
            path = base / path
        return f"sqlite:///{path}"
    if value.startswith("postgresql://") or value.startswith("postgres://"):
        return "postgresql+psycopg://" + value.split("://", 1)[1]
    return value


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for other databases or in-memory SQLite)."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and url != prefix and ":memory:" not in url:
        return Path(url[len(prefix) :])
    return None


def actor() -> str:
    """Who is making changes, for the audit log: ``$ILP_USER`` or the operating-system user."""
    name = os.environ.get(ACTOR_ENV)
    if name:
        return name
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


CONNECT_TIMEOUT_ENV = "ILP_CONNECT_TIMEOUT_S"
DEFAULT_CONNECT_TIMEOUT_S = 10.0
"""How long to wait for a PostgreSQL server to answer a connection, in seconds."""
LOCK_TIMEOUT_ENV = "ILP_LOCK_TIMEOUT_S"
DEFAULT_LOCK_TIMEOUT_S = 300.0
"""How long a writing command waits for another one to finish writing, in seconds."""


def _seconds(name: str, default: float) -> float:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        return default
    return value if value > 0 else default


def connect_timeout_s() -> float:
    """Seconds to wait for a database server to answer: ``$ILP_CONNECT_TIMEOUT_S``, else 10.

    PostgreSQL connections wait whole seconds, at least 2.

    A value that is not a positive number is ignored (the default is used).
    """
    return _seconds(CONNECT_TIMEOUT_ENV, DEFAULT_CONNECT_TIMEOUT_S)


def lock_timeout_s() -> float:
    """Seconds a writing command waits for the write lock: ``$ILP_LOCK_TIMEOUT_S``, else 300.

    A value that is not a positive number is ignored (the default is used).
    """
    return _seconds(LOCK_TIMEOUT_ENV, DEFAULT_LOCK_TIMEOUT_S)
