"""Use case: export the registry as Registry CSV v1."""

from __future__ import annotations

from pathlib import Path

from ilpkit.adapters.csv.registry_csv import write_registry_csv
from ilpkit.adapters.db import registry_repository as repo
from ilpkit.domain.fields import FIELDS, PERFUSION_ID
from ilpkit.domain.validation import record_values
from ilpkit.services.export_publish import (
    AUDIT_KEY_CHARS,
    ExportFileExistsError,
    audit_key,
    publish,
    staging_folder,
)
from ilpkit.services.unit_of_work import UnitOfWork

__all__ = ["AUDIT_KEY_CHARS", "ExportFileExistsError", "audit_key", "export_registry"]


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
    with (
        UnitOfWork(url, write=True, migrate=False) as uow,
        staging_folder(path.parent, "ilp-export") as staging,
    ):
        repo.assign_missing_perfusion_ids(uow.connection)
        rows = (
            {
                **{
                    f.name: f.format(v)
                    for f, v in zip(FIELDS, record_values(s.record).values(), strict=True)
                },
                PERFUSION_ID.name: s.perfusion_id or "",
            }
            for s in repo.iter_stored(uow.connection)
        )
        staged = staging / path.name
        with staged.open("w", encoding="utf-8", newline="") as out:
            count = write_registry_csv(rows, out)
        details = {"rows": count, "file": str(path.absolute())}
        publish(uow, actor, path, details, [(staged, path)], replace=replace)
    return count
