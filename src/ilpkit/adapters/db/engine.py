"""Database engines, write locking and schema migration (Alembic), built on demand.

Every writing command takes the registry's write lock when its transaction opens, so writers
run one after the other and each one sees what the previous ones committed: on SQLite with
``BEGIN IMMEDIATE`` (waiting up to the lock timeout), on PostgreSQL with a transaction-scoped
advisory lock (``pg_advisory_xact_lock``). Reading commands open SQLite read-only and never
migrate the schema.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ilpkit import config
from ilpkit.adapters.db.errors import (
    DatabaseUnreachableError,
    DatabaseUrlError,
    NoRegistryError,
    RegistryBusyError,
    SchemaOutdatedError,
    SchemaTooNewError,
)

if TYPE_CHECKING:
    from alembic.config import Config

SCHEMA_REVISION = "0008"
"""The newest migration shipped (a test checks it against the migration scripts). Kept as a
constant so that commands can check the schema without importing Alembic (about 0.1 s)."""

WRITE_LOCK_KEY = 0x494C50  # "ILP"
"""Key of the PostgreSQL advisory lock that every writing command holds until it commits."""

SUPPORTED_DRIVERS = ("sqlite", "sqlite+pysqlite", "postgresql+psycopg")
UNSUPPORTED_MESSAGE = "unsupported database: use sqlite:/// or postgresql://"


def safe_url(url: str) -> str:
    """``url`` for messages: the password hidden, also when the URL cannot be parsed."""
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except Exception:
        return re.sub(r"(://[^:/@\s]*:)[^@/\s]*@", r"\1***@", url)


def check_url(url: str) -> sa.URL:
    """Parse ``url``; raise :class:`DatabaseUrlError` when it is malformed or not supported.

    Examples
    --------
    >>> check_url("sqlite:///registry.sqlite3").get_backend_name()
    'sqlite'
    """
    try:
        parsed = sa.make_url(url)
        parsed.port  # noqa: B018 - parsing the port is what fails on 'host:notaport'
    except Exception as exc:
        reason = "its host or port cannot be read" if "int()" in str(exc) else str(exc)
        raise DatabaseUrlError(
            f"the database URL {safe_url(url)} is malformed ({reason}); write it as "
            "sqlite:///path/to/file.sqlite3 or postgresql://user@host:port/dbname"
        ) from None
    if parsed.drivername not in SUPPORTED_DRIVERS:
        raise DatabaseUrlError(f"{UNSUPPORTED_MESSAGE} (got {parsed.drivername}://)")
    if parsed.get_backend_name() == "sqlite" and (parsed.host or parsed.port):
        raise DatabaseUrlError(
            f"the database URL {safe_url(url)} is malformed: a SQLite URL names a file, as "
            "sqlite:///relative/path.sqlite3 or sqlite:////absolute/path.sqlite3"
        )
    return parsed


def make_engine(url: str, *, read_only: bool = False, write_lock: bool = False) -> Engine:
    """Create an engine for ``url``.

    SQLite connections get foreign keys switched on, a busy timeout (the lock timeout) and
    explicit transactions: ``BEGIN IMMEDIATE`` when ``write_lock`` (the write lock is taken
    when the transaction opens), else ``BEGIN``. With ``read_only`` a SQLite file is opened
    read-only (``mode=ro``), so nothing can be written to it. PostgreSQL connections give up
    after the connect timeout.

    Raises
    ------
    DatabaseUrlError
        When the URL is malformed or names an unsupported database.
    """
    parsed = check_url(url)
    busy_s = config.lock_timeout_s()
    if parsed.get_backend_name() == "sqlite":
        kwargs: dict[str, Any] = {"connect_args": {"timeout": busy_s}}
        path = parsed.database
        if read_only and path and path != ":memory:":
            uri = f"file:{quote(str(Path(path).absolute()))}?mode=ro"
            kwargs = {
                "creator": lambda: sqlite3.connect(
                    uri, uri=True, timeout=busy_s, check_same_thread=False
                )
            }
        engine = sa.create_engine(parsed, **kwargs)
        begin_sql = "BEGIN IMMEDIATE" if write_lock else "BEGIN"

        @sa.event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # transactions are begun below
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        @sa.event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Connection) -> None:
            conn.exec_driver_sql(begin_sql)

        return engine
    return sa.create_engine(parsed, connect_args={"connect_timeout": _connect_timeout_s()})


def _connect_timeout_s() -> int:
    """The connect timeout as the whole seconds the PostgreSQL driver takes (at least 2)."""
    return max(2, round(config.connect_timeout_s()))


@contextmanager
def translated_errors(url: str) -> Iterator[None]:
    """Turn a busy registry or a server that does not answer into a clear error."""
    try:
        yield
    except sa.exc.OperationalError as exc:
        text = str(exc.orig or exc).lower()
        code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
        if "database is locked" in text or code == "55P03":
            raise RegistryBusyError(
                f"the registry {safe_url(url)} is busy: another ilp command has been writing to "
                f"it for more than {config.lock_timeout_s():g} s. Nothing was saved by this "
                f"command; try again when the other one has finished (the wait is set by "
                f"{config.LOCK_TIMEOUT_ENV})."
            ) from None
        if "timeout" in text or "timed out" in text:
            parsed = sa.make_url(url)
            where = f"{parsed.host or 'localhost'}:{parsed.port or 5432}"
            raise DatabaseUnreachableError(
                f"the database server {where} did not answer within "
                f"{_connect_timeout_s()} s. Check that it is running and "
                f"reachable (the wait is set by {config.CONNECT_TIMEOUT_ENV})."
            ) from None
        raise


def take_write_lock(conn: Connection) -> None:
    """Hold the registry's write lock until ``conn``'s transaction ends.

    On SQLite the lock is already held (``BEGIN IMMEDIATE`` of an engine made with
    ``write_lock``); on PostgreSQL this waits for the advisory lock, at most the lock timeout.
    """
    if conn.dialect.name != "postgresql":
        return
    ms = int(config.lock_timeout_s() * 1000)
    conn.exec_driver_sql(f"SET LOCAL lock_timeout = {ms}")
    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": WRITE_LOCK_KEY})
    conn.exec_driver_sql("SET LOCAL lock_timeout TO DEFAULT")


def _migrations_dir() -> Path:
    return Path(str(resources.files("ilpkit.adapters.db") / "migrations"))


def alembic_config(url: str) -> Config:
    """Alembic configuration pointing at the shipped migrations and ``url``."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_migrations_dir()))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revision() -> str:
    """The newest migration revision shipped with this version of ilpkit."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    head = script.get_current_head()
    assert head is not None
    return head


def known_revisions() -> set[str]:
    """Every migration revision shipped with this version of ilpkit."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return {s.revision for s in script.walk_revisions()}


def current_revision(engine: Engine) -> str | None:
    """The migration revision the database is at (None for an empty database)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _run_alembic(conn: Connection, action: str, revision: str) -> None:
    from alembic import command

    cfg = alembic_config(conn.engine.url.render_as_string(hide_password=False))
    cfg.attributes["connection"] = conn
    getattr(command, action)(cfg, revision)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database to ``revision`` (default: the newest), holding the write lock."""
    with engine.begin() as conn:
        take_write_lock(conn)
        _run_alembic(conn, "upgrade", revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Migrate the database back to ``revision`` (``"base"`` removes every table)."""
    with engine.begin() as conn:
        take_write_lock(conn)
        _run_alembic(conn, "downgrade", revision)


def stored_revision(conn: Connection) -> str | None:
    """The revision in ``alembic_version``, read with plain SQL (no Alembic import)."""
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    value = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    return None if value is None else str(value)


def _too_new(url: str, revision: str) -> SchemaTooNewError:
    return SchemaTooNewError(
        f"this registry was written by a newer ilpkit (schema {revision}); upgrade ilpkit to "
        f"use it (this ilpkit knows schemas up to {SCHEMA_REVISION}). Registry: {safe_url(url)}"
    )


def check_schema(conn: Connection, url: str, *, require_registry: bool = True) -> str | None:
    """Check that the database is at this ilpkit's schema, changing nothing.

    Returns the stored revision (None for a database without tables, allowed only when
    ``require_registry`` is False).

    Raises
    ------
    NoRegistryError, SchemaOutdatedError, SchemaTooNewError
    """
    revision = stored_revision(conn)
    if revision == SCHEMA_REVISION:
        return revision
    if revision is None:
        if require_registry:
            raise NoRegistryError(
                f"there is no registry in {safe_url(url)}. Create one with 'ilp init' or "
                "'ilp import FILE', or name another with --db."
            )
        return None
    if revision in known_revisions():
        raise SchemaOutdatedError(
            f"the registry {safe_url(url)} has an older schema (revision {revision}; this ilpkit "
            f"uses {SCHEMA_REVISION}). Run 'ilp upgrade' to bring it up to date, then try again."
        )
    raise _too_new(url, revision)


def migrate_locked(conn: Connection, url: str) -> str | None:
    """Bring the database of ``conn`` to the newest schema inside its open transaction.

    The caller holds the write lock, so two commands never migrate at once. Returns the
    revision before (None for a new database) when it migrated, else the current revision.

    Raises
    ------
    SchemaTooNewError
        When the database has a revision this ilpkit does not know.
    """
    revision = stored_revision(conn)
    if revision == SCHEMA_REVISION:
        return revision
    if revision is not None and revision not in known_revisions():
        raise _too_new(url, revision)
    _run_alembic(conn, "upgrade", "head")
    return revision


def ensure_schema(engine: Engine) -> bool:
    """Bring the database to the newest schema if it is not there; True when it migrated."""
    url = engine.url.render_as_string(hide_password=False)
    with translated_errors(url), engine.connect() as conn:
        conn.begin()
        take_write_lock(conn)
        before = migrate_locked(conn, url)
        conn.commit()
    return before != SCHEMA_REVISION


def migrate_registry(url: str) -> str | None:
    """Bring the registry at ``url`` to the newest schema under the write lock.

    Returns the revision before (None for a new, empty database; ``SCHEMA_REVISION`` when it
    was already up to date).

    Raises
    ------
    RegistryDatabaseError
        Subclasses: a malformed URL, a newer schema, a busy registry, a server that does not
        answer.
    """
    engine = make_engine(url, write_lock=True)
    try:
        with translated_errors(url), engine.connect() as conn:
            conn.begin()
            take_write_lock(conn)
            before = migrate_locked(conn, url)
            conn.commit()
    finally:
        engine.dispose()
    return before
