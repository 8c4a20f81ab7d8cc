"""Registry checks shared by the commands that open a database.

Kept apart from the registry commands so that a command such as ``ilp predict`` does not import
what ``ilp import`` needs (CSV reading, progress bars) just to report a database error. The
database driver itself is imported only when an error has to be explained.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ilpkit import config
from ilpkit.cli.console import fail


def safe_url(url: str) -> str:
    """``url`` for messages, the password hidden (the database driver is imported on use)."""
    from ilpkit.adapters.db.engine import safe_url as engine_safe_url

    return engine_safe_url(url)


def require_existing_sqlite(url: str) -> None:
    """Stop with a clear message when ``url`` names a SQLite file that does not exist."""
    path = config.sqlite_path(url)
    if path is not None and not path.exists():
        fail(
            f"there is no registry at {path}. Create one with 'ilp init' or "
            "'ilp import FILE', or name another with --db."
        )


@contextmanager
def database_errors(url: str) -> Iterator[None]:
    """Turn database failures into a clear message and exit code 1-3, never a traceback.

    Problems the user can act on (no registry, an older or newer schema, a busy registry, a
    server that does not answer, a malformed or unsupported URL) keep their own message.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from ilpkit.adapters.db.errors import RegistryDatabaseError

    try:
        yield
    except RegistryDatabaseError as exc:
        fail(str(exc), code=exc.exit_code)
    except SQLAlchemyError as exc:
        reason = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [""])[0]
        fail(f"cannot use the database {safe_url(url)}: {reason}", code=3)
