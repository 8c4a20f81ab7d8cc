"""Use case: export the registry as Registry CSV v1."""

from __future__ import annotations

from pathlib import Path

from ilpkit.adapters.csv.registry_csv import write_registry_csv
from ilpkit.adapters.db import registry_repository as repo
from ilpkit.domain.fields import FIELDS, PERFUSION_ID
from ilpkit.domain.validation import record_values
from ilpkit.services.unit_of_work import UnitOfWork


def export_registry(url: str, path: Path, actor: str) -> int:
    """Write every stored perfusion to ``path`` as Registry CSV v1; return the number of rows.

    The file is written next to its destination and moved into place only when complete, so a
    failed export never leaves a truncated file. The export is recorded in the audit log.
    """
    tmp = path.with_name(path.name + ".partial")
    with UnitOfWork(url) as uow:
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
        with tmp.open("w", encoding="utf-8", newline="") as out:
            count = write_registry_csv(rows, out)
        tmp.replace(path)
        repo.add_audit(uow.connection, actor, "export", [("export", path.name, {"rows": count})])
        uow.commit()
    return count
