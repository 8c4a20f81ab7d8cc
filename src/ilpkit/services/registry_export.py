"""Use case: export the registry as Registry CSV v1."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ilpkit.adapters.csv.registry_csv import write_registry_csv
from ilpkit.adapters.db import registry_repository as repo
from ilpkit.domain.fields import FIELDS, PERFUSION_ID
from ilpkit.domain.validation import record_values
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


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def export_registry(url: str, path: Path, actor: str, *, replace: bool = False) -> int:
    """Write every stored perfusion to ``path`` as Registry CSV v1; return the number of rows.

    The rows are written to a temporary file next to the destination; the audit row is written
    in the same transaction; only then is the file moved into place, and the transaction
    committed. If any step fails, neither the file nor the audit row is kept (an existing file
    that ``replace`` was to overwrite is put back).

    Raises
    ------
    ExportFileExistsError
        ``path`` exists and ``replace`` is False (nothing is written).
    OSError
        The file cannot be written (nothing is written, nothing is recorded).
    """
    if path.exists() and not replace:
        raise ExportFileExistsError(path)
    directory = path.parent
    with UnitOfWork(url, write=True, migrate=False) as uow:
        fd, tmp_name = tempfile.mkstemp(prefix=".ilp-export-", suffix=".partial", dir=directory)
        tmp = Path(tmp_name)
        backup: Path | None = None
        published = False
        try:
            repo.assign_missing_perfusion_ids(uow.connection)
            stored = repo.iter_stored(uow.connection)
            rows = (
                {
                    **{
                        f.name: f.format(v)
                        for f, v in zip(FIELDS, record_values(s.record).values(), strict=True)
                    },
                    PERFUSION_ID.name: s.perfusion_id or "",
                }
                for s in stored
            )
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
                count = write_registry_csv(rows, out)
            os.chmod(tmp, 0o666 & ~_umask())  # as an ordinary new file, not mkstemp's 0600
            repo.add_audit(
                uow.connection,
                actor,
                "export",
                [("export", audit_key(path.name), {"rows": count, "file": str(path.absolute())})],
            )
            if path.exists():
                if not replace:
                    raise ExportFileExistsError(path)
                backup = path.with_name(tmp.name + ".previous")
                os.replace(path, backup)
            os.replace(tmp, path)
            published = True
            uow.commit()
        except BaseException:
            if published:
                path.unlink(missing_ok=True)
            if backup is not None:
                os.replace(backup, path)
                backup = None
            raise
        finally:
            tmp.unlink(missing_ok=True)
            if backup is not None:
                backup.unlink(missing_ok=True)
    return count
