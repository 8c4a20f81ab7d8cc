"""Read the protocol file: the centre's own (``--protocol-file PATH`` or ``ILP_PROTOCOL_FILE``)
or the one shipped with ilpkit (``ilpkit/data/protocols.toml``).

The file is read here; parsing and checking is pure (:func:`ilpkit.planning.protocols.
parse_protocol_book`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

from ilpkit.planning.errors import ProtocolError
from ilpkit.planning.protocols import ProtocolBook, parse_protocol_book

ENV_VAR = "ILP_PROTOCOL_FILE"
"""Environment variable naming a centre's protocol file."""

SHIPPED_ORIGIN = "shipped ilpkit/data/protocols.toml"
"""How the shipped file is named in messages and in stored plans."""


def shipped_protocol_text() -> str:
    """Text of the protocol file shipped with ilpkit."""
    return resources.files("ilpkit.data").joinpath("protocols.toml").read_text(encoding="utf-8")


def resolve_protocol_path(
    path: str | os.PathLike[str] | None, environ: Mapping[str, str] | None = None
) -> Path | None:
    """Which protocol file to read: ``path`` if given, else ``$ILP_PROTOCOL_FILE`` if set and not
    empty, else None (the shipped file)."""
    if path is not None and str(path).strip():
        return Path(path)
    env = os.environ if environ is None else environ
    value = env.get(ENV_VAR, "").strip()
    return Path(value) if value else None


def read_protocol_text(
    path: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None
) -> tuple[str, str]:
    """Read the protocol file text.

    Parameters
    ----------
    path : str or path-like, optional
        A centre's protocol file; overrides ``$ILP_PROTOCOL_FILE``.
    environ : mapping, optional
        Environment to read ``ILP_PROTOCOL_FILE`` from (default ``os.environ``).

    Returns
    -------
    tuple of (str, str)
        The text and its origin (the path, or :data:`SHIPPED_ORIGIN`).

    Raises
    ------
    ProtocolError
        The file does not exist, is a directory, cannot be read or is not UTF-8 text.
    """
    chosen = resolve_protocol_path(path, environ)
    if chosen is None:
        return shipped_protocol_text(), SHIPPED_ORIGIN
    origin = str(chosen)
    from_env = path is None or not str(path).strip()
    how = f" (from {ENV_VAR})" if from_env else ""
    try:
        return chosen.read_text(encoding="utf-8"), origin
    except FileNotFoundError:
        reason = f"file not found{how}"
    except IsADirectoryError:
        reason = f"is a directory, not a file{how}"
    except UnicodeDecodeError:
        reason = "is not UTF-8 text; save the protocol file as UTF-8"
    except OSError as error:
        reason = f"cannot be read: {error.strerror or error}"
    raise ProtocolError(origin, [reason])


def load_protocol_book(
    path: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None
) -> ProtocolBook:
    """Read and check the protocol file (see :func:`read_protocol_text` for which one).

    Raises
    ------
    ProtocolError
        The file cannot be read, or it has problems (all listed with their keys).
    """
    text, origin = read_protocol_text(path, environ)
    return parse_protocol_book(text, origin)
