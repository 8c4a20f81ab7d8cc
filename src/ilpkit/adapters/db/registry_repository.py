"""Reading and writing registry records with SQLAlchemy Core.

Core (not the ORM) because imports write up to hundreds of thousands of rows and are measured
(benchmarks/bench_import.py); executemany inserts keep a 100,000-row import within seconds.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ilpkit.adapters.db.audit_chain import GENESIS_HASH, ChainReport, chain_rows, verify_chain
from ilpkit.adapters.db.engine import take_write_lock
from ilpkit.adapters.db.tables import audit_log, patients, perfusions
from ilpkit.domain.fields import FIELDS_BY_NAME, PATIENT_COLUMNS
from ilpkit.domain.outcome import CauseOfDeath
from ilpkit.domain.patient import Patient, Sex
from ilpkit.domain.validation import RegistryRecord, build_record, record_values

PERFUSION_COLUMNS: tuple[str, ...] = tuple(
    c.name
    for c in perfusions.columns
    if c.name in FIELDS_BY_NAME and c.name not in ("patient_pk", "perfusion_id")
)
"""Columns of ``perfusions`` that hold a registry field (not the keys, nor ``version``)."""
_CHUNK = 900  # stays under SQLite's limit on bound parameters per statement
_DATE_POSITIONS = tuple(
    i for i, name in enumerate(PERFUSION_COLUMNS) if FIELDS_BY_NAME[name].kind == "date"
)
_CHOICE_POSITIONS = tuple(
    i for i, name in enumerate(PERFUSION_COLUMNS) if FIELDS_BY_NAME[name].kind == "choice"
)


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
        "cause_of_death": _plain(patient.cause_of_death),
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


@dataclass(frozen=True, slots=True)
class StoredPerfusion:
    """A stored perfusion with its keys: table primary keys and the stable ``perfusion_id``."""

    pk: int
    patient_pk: int
    perfusion_id: str | None
    record: RegistryRecord


@dataclass(frozen=True, slots=True)
class StoredPatient:
    """A stored patient with the table's primary key."""

    pk: int
    patient: Patient


def _select_stored() -> sa.Select[Any]:
    return select_records().add_columns(
        perfusions.c.id.label("b_pk"),
        perfusions.c.patient_pk.label("b_patient_pk"),
        perfusions.c.perfusion_id,
    )


def _stored(row: Any) -> StoredPerfusion:
    m = cast(Mapping[str, Any], row._mapping)
    return StoredPerfusion(m["b_pk"], m["b_patient_pk"], m["perfusion_id"], build_record(m))


def iter_stored(conn: Connection) -> Iterator[StoredPerfusion]:
    """Every stored perfusion with its keys, ordered by patient and perfusion date."""
    for row in conn.execute(_select_stored()):
        yield _stored(row)


def perfusions_of(conn: Connection, patient_pks: Collection[int]) -> list[StoredPerfusion]:
    """Stored perfusions of some patients (by the patients table's primary key)."""
    out: list[StoredPerfusion] = []
    pks = sorted(patient_pks)
    for start in range(0, len(pks), _CHUNK):
        chunk = pks[start : start + _CHUNK]
        # the condition on both tables lets PostgreSQL use both indexes even while its
        # statistics are stale (rows written earlier in the same transaction)
        query = _select_stored().where(perfusions.c.patient_pk.in_(chunk), patients.c.id.in_(chunk))
        out.extend(_stored(row) for row in conn.execute(query))
    return out


def perfusions_by_id(conn: Connection, perfusion_ids: Collection[str]) -> list[StoredPerfusion]:
    """Stored perfusions with the given stable identifiers (unknown ones are left out)."""
    out: list[StoredPerfusion] = []
    ids = sorted(perfusion_ids)
    for start in range(0, len(ids), _CHUNK):
        query = _select_stored().where(perfusions.c.perfusion_id.in_(ids[start : start + _CHUNK]))
        out.extend(_stored(row) for row in conn.execute(query))
    return out


def find_perfusion(
    conn: Connection,
    patient_id: str | None = None,
    ilp_date: date | None = None,
    perfusion_id: str | None = None,
) -> StoredPerfusion | None:
    """One stored perfusion by (patient_id, ilp_date) or by its ``perfusion_id``."""
    query = _select_stored()
    if perfusion_id is not None:
        query = query.where(perfusions.c.perfusion_id == perfusion_id)
    else:
        query = query.where(patients.c.patient_id == patient_id, perfusions.c.ilp_date == ilp_date)
    row = conn.execute(query).first()
    return None if row is None else _stored(row)


def patients_like(conn: Connection, patient_ids: Collection[str]) -> list[StoredPatient]:
    """Stored patients whose id equals one of ``patient_ids`` ignoring case."""
    cols = [patients.c.id] + [patients.c[name] for name in PATIENT_COLUMNS]
    lowered = sorted({pid.lower() for pid in patient_ids})
    out: list[StoredPatient] = []
    for start in range(0, len(lowered), _CHUNK):
        query = sa.select(*cols).where(
            sa.func.lower(patients.c.patient_id).in_(lowered[start : start + _CHUNK])
        )
        for row in conn.execute(query):
            m = cast(Mapping[str, Any], row._mapping)
            out.append(StoredPatient(m["id"], _patient(m)))
    return out


def _patient(m: Mapping[str, Any]) -> Patient:
    return Patient(
        patient_id=m["patient_id"],
        center=m["center"],
        sex=Sex(m["sex"]),
        birth_date=m["birth_date"],
        death_date=m["death_date"],
        last_followup_date=m["last_followup_date"],
        cause_of_death=None if m["cause_of_death"] is None else CauseOfDeath(m["cause_of_death"]),
    )


def patient_pks(conn: Connection, patient_ids: Collection[str]) -> dict[str, int]:
    """Map of patient_id to the table's primary key for the given (exact) ids that are stored."""
    ids = sorted(patient_ids)
    out: dict[str, int] = {}
    for start in range(0, len(ids), _CHUNK):
        query = sa.select(patients.c.patient_id, patients.c.id).where(
            patients.c.patient_id.in_(ids[start : start + _CHUNK])
        )
        out.update({pid: pk for pid, pk in conn.execute(query)})
    return out


def refresh_statistics(conn: Connection) -> None:
    """Let PostgreSQL re-sample the registry tables (cheap: a fixed-size sample).

    A registry filled by a large import in one transaction has no planner statistics until
    autovacuum gets to it; without them the per-chunk look-ups of the next import may scan whole
    tables. Transactional: rolled back with a dry run.
    """
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("ANALYZE patients, perfusions")


def registry_size(conn: Connection, centers: Collection[str] | None = None) -> tuple[int, int]:
    """Stored (patients, perfusions), of the given centres only when ``centers`` is given."""
    if centers is not None:
        where = patients.c.center.in_(sorted(centers))
        n_patients = conn.execute(sa.select(sa.func.count()).where(where)).scalar_one()
        n_perfusions = conn.execute(
            sa.select(sa.func.count())
            .select_from(perfusions.join(patients, perfusions.c.patient_pk == patients.c.id))
            .where(where)
        ).scalar_one()
        return int(n_patients), int(n_perfusions)
    n_patients = conn.execute(sa.select(sa.func.count()).select_from(patients)).scalar_one()
    n_perfusions = conn.execute(sa.select(sa.func.count()).select_from(perfusions)).scalar_one()
    return int(n_patients), int(n_perfusions)


def insert_perfusion_rows(
    conn: Connection, rows: Sequence[tuple[RegistryRecord, int, str]]
) -> None:
    """Insert new perfusions given as (record, patient primary key, perfusion_id).

    Sent by :func:`_insert_rows` (COPY on PostgreSQL, the driver's ``executemany`` elsewhere):
    building SQLAlchemy parameter dictionaries for every row costs more than the database's
    work.
    """
    if not rows:
        return
    names = [*PERFUSION_COLUMNS, "patient_pk", "perfusion_id"]
    dates = _DATE_POSITIONS if conn.dialect.name == "sqlite" else ()
    grade = PERFUSION_COLUMNS.index("grade")
    values = []
    for record, patient_pk, perfusion_id in rows:
        v = record_values(record)
        row: list[Any] = [v[name] for name in PERFUSION_COLUMNS]
        for i in _CHOICE_POSITIONS:
            if isinstance(row[i], Enum):
                row[i] = row[i].value
        for i in dates:
            if row[i] is not None:
                row[i] = row[i].isoformat()
        if row[grade] is not None:
            row[grade] = int(row[grade])
        row.append(patient_pk)
        row.append(perfusion_id)
        values.append(tuple(row))
    _insert_rows(conn, "perfusions", names, values)


def _driver_value(value: object, dates_as_text: bool) -> object:
    """A value as the driver takes it (SQLite stores dates as ISO text, as SQLAlchemy does)."""
    if isinstance(value, Enum):
        return value.value
    if dates_as_text and isinstance(value, date):
        return value.isoformat()
    return value


def update_perfusion_rows(conn: Connection, rows: Sequence[tuple[int, RegistryRecord]]) -> None:
    """Overwrite stored perfusions given as (perfusion primary key, record), date included;
    each one's ``version`` goes up by one."""
    if not rows:
        return
    stmt = (
        sa.update(perfusions)
        .where(perfusions.c.id == sa.bindparam("b_pk"))
        .values(
            {name: sa.bindparam(name) for name in PERFUSION_COLUMNS}
            | {"version": perfusions.c.version + 1}
        )
    )
    values = []
    for pk, record in rows:
        row = perfusion_row(record)
        row["b_pk"] = pk
        values.append(row)
    conn.execute(stmt, values)


def random_id_sql(dialect: str) -> sa.TextClause:
    """SQL giving 32 random hexadecimal digits (the form of :func:`new_perfusion_id`)."""
    if dialect == "postgresql":
        return sa.text("replace(gen_random_uuid()::text, '-', '')")
    return sa.text("lower(hex(randomblob(16)))")


def new_perfusion_id() -> str:
    """A new stable perfusion identifier: 32 random hexadecimal digits."""
    return uuid.uuid4().hex


def assign_missing_perfusion_ids(conn: Connection) -> int:
    """Give every stored perfusion without a ``perfusion_id`` one; return how many got one.

    Registries loaded in bulk by ``ilp synth`` before it assigned identifiers at insertion
    stored perfusions without one; for every other registry this changes nothing.
    """
    stmt = (
        sa.update(perfusions)
        .where(perfusions.c.perfusion_id.is_(None))
        .values(perfusion_id=random_id_sql(conn.dialect.name))
    )
    return int(conn.execute(stmt).rowcount)


def delete_perfusion(conn: Connection, pk: int) -> int:
    """Delete one perfusion by primary key; return the number of rows deleted."""
    return int(conn.execute(sa.delete(perfusions).where(perfusions.c.id == pk)).rowcount)


def delete_patient(conn: Connection, pk: int) -> tuple[int, int]:
    """Delete a patient and their perfusions; return (patients, perfusions) deleted."""
    n_perfusions = conn.execute(sa.delete(perfusions).where(perfusions.c.patient_pk == pk)).rowcount
    n_patients = conn.execute(sa.delete(patients).where(patients.c.id == pk)).rowcount
    return int(n_patients), int(n_perfusions)


def stored_patients(conn: Connection) -> dict[str, int]:
    """Map of patient_id to the table's primary key, for every stored patient."""
    return {pid: pk for pk, pid in conn.execute(sa.select(patients.c.id, patients.c.patient_id))}


def insert_patients(conn: Connection, new: Sequence[Patient]) -> None:
    """Insert new patients (through the driver's ``executemany``, see
    :func:`insert_perfusion_rows`)."""
    if not new:
        return
    names = list(PATIENT_COLUMNS)
    as_text = conn.dialect.name == "sqlite"
    rows = []
    for p in new:
        row = patient_row(p)
        rows.append(tuple(_driver_value(row[name], as_text) for name in names))
    _insert_rows(conn, "patients", names, rows)


def _insert_rows(
    conn: Connection, table: str, names: Sequence[str], rows: Sequence[tuple[object, ...]]
) -> None:
    """Insert rows of driver values in the open transaction: COPY on PostgreSQL with psycopg,
    the driver's ``executemany`` elsewhere. Every constraint is checked either way."""
    columns = ", ".join(names)
    if conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg":
        raw = conn.connection.driver_connection
        assert raw is not None
        with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(mark for _ in names)})"
    conn.exec_driver_sql(sql, list(rows))


def update_patients(conn: Connection, changed: Sequence[Patient]) -> None:
    """Overwrite the stored values of existing patients; each one's ``version`` goes up by one."""
    if not changed:
        return
    stmt = (
        sa.update(patients)
        .where(patients.c.patient_id == sa.bindparam("b_patient_id"))
        .values(
            {name: sa.bindparam(name) for name in PATIENT_COLUMNS if name != "patient_id"}
            | {"version": patients.c.version + 1}
        )
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
    """Append audit rows (entity, entity_key, details) for one action, stamped now (UTC).

    The rows are chained by hash after the newest stored entry, read inside the caller's
    transaction under the registry's write lock (taken again here on PostgreSQL, where the
    advisory lock is re-entrant), so concurrent writers always extend one unbroken chain.
    """
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
    if not rows:
        return
    take_write_lock(conn)
    last = conn.execute(
        sa.select(audit_log.c.id, audit_log.c.entry_hash).order_by(audit_log.c.id.desc()).limit(1)
    ).first()
    first_id = 1 if last is None else int(last.id) + 1
    prev_hash = GENESIS_HASH if last is None else str(last.entry_hash)
    chained = chain_rows(rows, first_id, prev_hash)
    conn.execute(sa.insert(audit_log), chained)
    if conn.dialect.name == "postgresql":  # ids are given here; keep the id sequence level
        conn.execute(
            sa.text("SELECT setval(pg_get_serial_sequence('audit_log', 'id'), :last_id)"),
            {"last_id": chained[-1]["id"]},
        )


def _audit_query(entity: str | None, entity_key: str | None) -> sa.Select[Any]:
    query = sa.select(audit_log)
    if entity is not None:
        query = query.where(audit_log.c.entity == entity)
    if entity_key is not None:
        query = query.where(audit_log.c.entity_key == entity_key)
    return query


def audit_entries(
    conn: Connection,
    limit: int | None = None,
    *,
    entity: str | None = None,
    entity_key: str | None = None,
) -> list[dict[str, object]]:
    """Audit rows, newest first; optionally only those of one record (entity and key)."""
    query = _audit_query(entity, entity_key).order_by(audit_log.c.id.desc())
    if limit is not None:
        query = query.limit(limit)
    return [dict(row._mapping) for row in conn.execute(query)]


def iter_audit_entries(
    conn: Connection, *, entity: str | None = None, entity_key: str | None = None
) -> Iterator[dict[str, object]]:
    """Audit rows, oldest first, read in batches (for exports of a long log)."""
    query = _audit_query(entity, entity_key).order_by(audit_log.c.id)
    for row in conn.execution_options(yield_per=2000).execute(query):
        yield dict(row._mapping)


def audit_entries_of_patient(conn: Connection, patient_id: str) -> list[dict[str, object]]:
    """Audit rows of one patient and of the patient's perfusions, oldest first.

    A perfusion's rows are keyed ``"<patient_id> <ilp_date>"`` (patient ids hold no space).
    """
    escaped = patient_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    query = (
        sa.select(audit_log)
        .where(
            sa.or_(
                sa.and_(audit_log.c.entity == "patient", audit_log.c.entity_key == patient_id),
                sa.and_(
                    audit_log.c.entity == "perfusion",
                    audit_log.c.entity_key.like(escaped + " %", escape="\\"),
                ),
            )
        )
        .order_by(audit_log.c.id)
    )
    return [dict(row._mapping) for row in conn.execute(query)]


def record_version(conn: Connection, entity: str, pk: int) -> int:
    """The stored ``version`` of a patient or perfusion (by the table's primary key)."""
    table = patients if entity == "patient" else perfusions
    return int(conn.execute(sa.select(table.c.version).where(table.c.id == pk)).scalar_one())


def verify_audit_chain(conn: Connection) -> ChainReport:
    """Check the audit log's hash chain (see :func:`audit_chain.verify_chain`)."""
    return verify_chain(conn, audit_log)


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
