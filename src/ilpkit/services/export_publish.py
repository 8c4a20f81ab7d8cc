"""Publishing an export: audit row first, then the files moved into place, then the commit.

Every export of the registry to files follows the same steps, in one transaction: the output is
written under a temporary folder beside its destination (:func:`staging_folder`), the audit row
is inserted, each output is moved into place (an existing one set aside first when it may be
replaced), and the transaction is committed (:func:`publish`). If any step fails, the outputs
already moved are removed, the files set aside are put back and the transaction is rolled back,
so neither the files nor the audit row are kept.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from ilpkit.adapters.db import registry_repository as repo
from ilpkit.errors import IlpkitError
from ilpkit.services.unit_of_work import UnitOfWork

AUDIT_KEY_CHARS = 128
"""Length of the audit log's record key; longer file names are shortened there (the full path
is kept in the entry's details)."""


class ExportFileExistsError(IlpkitError):
    """The export file exists and ``replace`` was not given (nothing was written)."""

    def __init__(self, path: Path):
        self.path = path
        super().__init__(f"{path} already exists")


def audit_key(name: str) -> str:
    """``name`` as an audit record key: at most 128 characters, shortened with an ellipsis."""
    if len(name) <= AUDIT_KEY_CHARS:
        return name
    return name[: AUDIT_KEY_CHARS - 1] + "…"


@contextmanager
def staging_folder(directory: Path, name: str) -> Iterator[Path]:
    """A new hidden folder in ``directory`` (so that a move out of it is a rename on the same
    file system), removed with whatever is left in it on leaving."""
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".partial", dir=directory))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def publish(
    uow: UnitOfWork,
    actor: str,
    path: Path,
    details: Mapping[str, object],
    outputs: Sequence[tuple[Path, Path]],
    *,
    replace: bool,
    audit_name: str | None = None,
) -> None:
    """Record the export of ``path`` in the audit log, move the staged outputs into place and
    commit, all or nothing.

    Parameters
    ----------
    uow : UnitOfWork
        The open, writing unit of work the export read the registry in.
    actor : str
        Who exports.
    path : Path
        The export's destination (its name is the audit record key).
    details : mapping
        The audit entry's details.
    outputs : sequence of (Path, Path)
        (staged file or folder, destination), moved in this order.
    replace : bool
        An existing destination is replaced (a folder by a folder); without it, it is an error.
    audit_name : str, optional
        The audit record key (default: the name of ``path``).

    Raises
    ------
    ExportFileExistsError
        A destination exists and ``replace`` is False (nothing is kept).
    """
    entry = ("export", audit_key(audit_name or path.name), dict(details))
    repo.add_audit(uow.connection, actor, "export", [entry])
    moved: list[tuple[Path, Path | None]] = []  # (destination, the previous one set aside)
    try:
        for staged, destination in outputs:
            backup: Path | None = None
            if destination.exists() or destination.is_symlink():
                if not replace:
                    raise ExportFileExistsError(destination)
                backup = destination.with_name(f"{staged.parent.name}.{destination.name}.previous")
                os.replace(destination, backup)
            moved.append((destination, backup))
            os.replace(staged, destination)
        uow.commit()
    except BaseException:
        for destination, backup in reversed(moved):
            _remove(destination)
            if backup is not None:
                os.replace(backup, destination)
        raise
    for _, backup in moved:
        if backup is not None:
            _remove(backup)
