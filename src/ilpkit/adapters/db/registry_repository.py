"""Reading and writing registry records with SQLAlchemy Core.

Core (not the ORM) because imports write up to hundreds of thousands of rows and are measured
(benchmarks/bench_import.py); executemany inserts keep a 100,000-row import within seconds.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from enum import Enum
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ilpkit.adapters.db.tables import audit_log, patients, perfusions
from ilpkit.domain.fields import PATIENT_COLUMNS
from ilpkit.domain.patient import Patient
from ilpkit.domain.validation import RegistryRecord, build_record, record_values

PERFUSION_COLUMNS: tuple[str, ...] = tuple(
    c.name for c in perfusions.columns if c.name not in ("id", "patient_pk")
)
_CHUNK = 900  # stays under SQLite's limit on bound parameters per statement


def _plain(value: object) -> object:
    return value.value if isinstance(value, Enum) else value


def patient_row(patient: Patient) -> dict[str, object]:
    """Column values of the ``patients`` table for ``patient``."""
    return {
        "patient_id": patient.patient_id,
        "center": patient.center,
        "sex": patient.sex.value,
        "birth_date": patient.birth_date,
        "death_date": patient.death_date,
        "last_followup_date": patient.last_followup_date,
    }


def perfusion_row(record: RegistryRecord) -> dict[str, object]:
    """Column values of the ``perfusions`` table for ``record`` (without the patient key)."""
    values = record_values(record)
    row = {name: _plain(values[name]) for name in PERFUSION_COLUMNS}
    if row["grade"] is not None:
        row["grade"] = int(str(row["grade"]))
    return row


def select_records() -> sa.Select[Any]:
    cols = [patients.c[name] for name in PATIENT_COLUMNS]
    cols += [perfusions.c[name] for name in PERFUSION_COLUMNS]
    return (
        sa.select(*cols)
        .select_from(perfusions.join(patients, perfusions.c.patient_pk == patients.c.id))
        .order_by(patients.c.patient_id, perfusions.c.ilp_date)
    )


def iter_records(
    conn: Connection, patient_ids: Collection[str] | None = None
) -> Iterator[RegistryRecord]:
    """Stored records ordered by patient and perfusion date, optionally only some patients."""
    if patient_ids is None:
        for row in conn.execute(select_records()):
            yield build_record(cast(Mapping[str, Any], row._mapping))
        return
    ids = sorted(patient_ids)
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        query = select_records().where(patients.c.patient_id.in_(chunk))
        for row in conn.execute(query):
            yield build_record(cast(Mapping[str, Any], row._mapping))


def stored_patients(conn: Connection) -> dict[str, int]:
    """Map of patient_id to the table's primary key, for every stored patient."""
    return {pid: pk for pk, pid in conn.execute(sa.select(patients.c.id, patients.c.patient_id))}


def insert_patients(conn: Connection, new: Sequence[Patient]) -> None:
    """Insert new patients."""
    if new:
        conn.execute(sa.insert(patients), [patient_row(p) for p in new])


def update_patients(conn: Connection, changed: Sequence[Patient]) -> None:
    """Overwrite the stored values of existing patients."""
    if not changed:
        return
    stmt = (
        sa.update(patients)
        .where(patients.c.patient_id == sa.bindparam("b_patient_id"))
        .values({name: sa.bindparam(name) for name in PATIENT_COLUMNS if name != "patient_id"})
    )
    rows = []
    for p in changed:
        row = patient_row(p)
        row["b_patient_id"] = row.pop("patient_id")
        rows.append(row)
    conn.execute(stmt, rows)


def insert_perfusions(
    conn: Connection, records: Sequence[RegistryRecord], patient_pks: dict[str, int]
) -> None:
    """Insert new perfusions; ``patient_pks`` maps patient_id to the patients primary key."""
    if records:
        rows = []
        for r in records:
            row = perfusion_row(r)
            row["patient_pk"] = patient_pks[r.patient.patient_id]
            rows.append(row)
        conn.execute(sa.insert(perfusions), rows)


def update_perfusions(
    conn: Connection, records: Sequence[RegistryRecord], patient_pks: dict[str, int]
) -> None:
    """Overwrite stored perfusions identified by (patient, ilp_date)."""
    if not records:
        return
    names = [n for n in PERFUSION_COLUMNS if n != "ilp_date"]
    stmt = (
        sa.update(perfusions)
        .where(
            perfusions.c.patient_pk == sa.bindparam("b_patient_pk"),
            perfusions.c.ilp_date == sa.bindparam("b_ilp_date"),
        )
        .values({name: sa.bindparam(name) for name in names})
    )
    rows = []
    for r in records:
        row = perfusion_row(r)
        row["b_patient_pk"] = patient_pks[r.patient.patient_id]
        row["b_ilp_date"] = row.pop("ilp_date")
        rows.append(row)
    conn.execute(stmt, rows)


def add_audit(
    conn: Connection,
    actor: str,
    action: str,
    entries: Iterable[tuple[str, str, dict[str, object]]],
) -> None:
    """Append audit rows (entity, entity_key, details) for one action, stamped now (UTC)."""
    now = datetime.now(UTC)
    rows = [
        {
            "at": now,
            "actor": actor,
            "action": action,
            "entity": entity,
            "entity_key": key,
            "details": details,
        }
        for entity, key, details in entries
    ]
    if rows:
        conn.execute(sa.insert(audit_log), rows)


def audit_entries(conn: Connection, limit: int | None = None) -> list[dict[str, object]]:
    """Audit rows, newest first."""
    query = sa.select(audit_log).order_by(audit_log.c.id.desc())
    if limit is not None:
        query = query.limit(limit)
    return [dict(row._mapping) for row in conn.execute(query)]


def counts(conn: Connection) -> dict[str, object]:
    """Figures for the registry summary: counts and date spans."""
    p = conn.execute(
        sa.select(
            sa.func.count(),
            sa.func.count(sa.distinct(patients.c.center)),
            sa.func.min(patients.c.last_followup_date),
            sa.func.max(patients.c.last_followup_date),
            sa.func.count(patients.c.death_date),
        )
    ).one()
    f = conn.execute(
        sa.select(
            sa.func.count(), sa.func.min(perfusions.c.ilp_date), sa.func.max(perfusions.c.ilp_date)
        )
    ).one()
    by_center = conn.execute(
        sa.select(
            patients.c.center,
            sa.func.count(sa.distinct(patients.c.id)),
            sa.func.count(perfusions.c.id),
        )
        .select_from(patients.outerjoin(perfusions, perfusions.c.patient_pk == patients.c.id))
        .group_by(patients.c.center)
        .order_by(patients.c.center)
    ).all()
    return {
        "n_patients": p[0],
        "n_centers": p[1],
        "first_followup_date": p[2],
        "last_followup_date": p[3],
        "n_deaths": p[4],
        "n_perfusions": f[0],
        "first_ilp_date": f[1],
        "last_ilp_date": f[2],
        "centers": [{"center": c, "n_patients": n, "n_perfusions": m} for c, n, m in by_center],
    }
