"""Bulk loading of column arrays into the ``patients`` and ``perfusions`` tables.

For registries built by a program (the SYNTHETIC cohort of ``ilp synth``), not for user files:
the rows are valid by construction (the caller checks them), so they skip the row-by-row
validating import and go to the database by the fastest safe route of each dialect:

- **PostgreSQL**: ``COPY ... FROM STDIN`` (CSV) through psycopg 3, in the caller's transaction;
- **SQLite**: multi-row ``INSERT ... VALUES (...), (...)`` statements through the driver's
  ``executemany``, in the caller's transaction, with a larger page cache for the index builds
  (every CHECK, UNIQUE and FOREIGN KEY constraint stays on; no PRAGMA weakens durability);
- **any other database**: SQLAlchemy Core ``executemany`` in chunks.

Patients get explicit primary keys (so perfusions can point to them without reading them back);
on PostgreSQL the id sequence is moved past them afterwards. Values are stored exactly as the
registry's own import stores them (dates, booleans and numbers through the same column types).

Column arrays use the typed representation of :mod:`ilpkit.synthetic.cohort`: ``datetime64[D]``
dates (``NaT`` = NULL), ``float64`` numbers and small integers (``NaN`` = NULL), ``bool``, and
``object`` arrays of ``str`` (``None`` = NULL).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any, Literal

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ilpkit.adapters.db.tables import patients, perfusions

ProgressCallback = Callable[[int, int], None]
"""Called with (rows written, rows in all), patients and perfusions together."""

Route = Literal["auto", "copy", "sqlite", "core"]
"""How :func:`bulk_insert_registry` sends rows to the database."""

CHUNK_ROWS = 50_000
"""Rows sent to the database per statement or COPY block."""

SQLITE_CACHE_KIB = 262_144
"""SQLite page cache for the bulk load, in KiB (256 MiB): index builds stay in memory."""


def registry_counts(conn: Connection) -> tuple[int, int]:
    """Stored (patients, perfusions)."""
    n_patients = conn.execute(sa.select(sa.func.count()).select_from(patients)).scalar_one()
    n_perfusions = conn.execute(sa.select(sa.func.count()).select_from(perfusions)).scalar_one()
    return int(n_patients), int(n_perfusions)


def delete_registry_rows(conn: Connection) -> tuple[int, int]:
    """Delete every perfusion and patient (not the audit log); return what was deleted."""
    n_perfusions = conn.execute(sa.delete(perfusions)).rowcount
    n_patients = conn.execute(sa.delete(patients)).rowcount
    return int(n_patients), int(n_perfusions)


def _kind(column: sa.Column[Any]) -> str:
    t = column.type
    if isinstance(t, sa.Date):
        return "date"
    if isinstance(t, sa.Boolean):
        return "bool"
    if isinstance(t, sa.Integer):
        return "int"
    if isinstance(t, sa.Float):
        return "float"
    return "str"


def _factorized(
    values: np.ndarray, fmt: Callable[[Any], Any], missing: object = None
) -> np.ndarray:
    """``fmt`` applied once per distinct value and spread to every row (``missing`` for NULL)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    uniques = np.asarray(uniques)
    if np.issubdtype(uniques.dtype, np.datetime64):
        uniques = uniques.astype("datetime64[D]")
    table = np.array([*(fmt(u) for u in uniques), missing], dtype=object)
    return table[codes]


def _python_values(kind: str, values: np.ndarray, storage: bool) -> np.ndarray:
    """Object array of parameter values, None for NULL.

    With ``storage`` the values are what SQLite stores for SQLAlchemy's types (dates as
    ``YYYY-MM-DD`` text, booleans as 0/1), for the driver-level route; otherwise Python values
    (``date``, ``bool``) for SQLAlchemy Core to convert.
    """
    if kind == "date":
        if storage:
            return _factorized(values, str)
        return _factorized(values, lambda d: d.astype("datetime64[D]").astype(date))
    if kind == "bool":
        flags = values.astype(bool)
        return (flags.astype(np.int64) if storage else flags).astype(object)
    if kind in ("int", "float"):
        numbers = values.astype(float)
        out = (numbers.astype(np.int64) if kind == "int" else numbers).astype(object)
        out[np.isnan(numbers)] = None
        return out
    return np.asarray(values, dtype=object)


def _csv_text_values(kind: str, values: np.ndarray) -> np.ndarray:
    """Object array of PostgreSQL COPY (CSV) cells; an unquoted empty cell is NULL."""
    if kind == "date":
        return _factorized(values, str, "")
    if kind == "bool":
        return np.where(values.astype(bool), "t", "f").astype(object)
    if kind == "int":
        return _factorized(values.astype(float), lambda x: str(int(x)), "")
    if kind == "float":
        return _factorized(values.astype(float), lambda x: repr(float(x)), "")

    def quote(text: str) -> str:
        if text == "" or any(ch in text for ch in ',"\r\n\\'):
            return '"' + text.replace('"', '""') + '"'
        return text

    return _factorized(np.asarray(values, dtype=object), quote, "")


def _columns(
    table: sa.Table, arrays: Mapping[str, np.ndarray]
) -> tuple[list[str], list[str], list[np.ndarray]]:
    names = [c.name for c in table.columns if c.name in arrays]
    kinds = [_kind(table.c[name]) for name in names]
    return names, kinds, [arrays[name] for name in names]


def _insert_copy(
    conn: Connection, table: sa.Table, arrays: Mapping[str, np.ndarray], tick: Callable[[int], None]
) -> None:
    names, kinds, values = _columns(table, arrays)
    cells = [_csv_text_values(k, v) for k, v in zip(kinds, values, strict=True)]
    n = len(cells[0])
    quoted = ", ".join(f'"{name}"' for name in names)
    raw = conn.connection.driver_connection
    assert raw is not None
    with (
        raw.cursor() as cursor,
        cursor.copy(f'COPY "{table.name}" ({quoted}) FROM STDIN WITH (FORMAT csv)') as copy,
    ):
        for start in range(0, n, CHUNK_ROWS):
            stop = min(start + CHUNK_ROWS, n)
            block = zip(*(c[start:stop] for c in cells), strict=True)
            copy.write("\n".join(map(",".join, block)) + "\n")
            tick(stop - start)


SQLITE_MAX_PARAMETERS = 999
"""Bound parameters per statement that every SQLite build accepts."""


def _insert_sqlite(
    conn: Connection, table: sa.Table, arrays: Mapping[str, np.ndarray], tick: Callable[[int], None]
) -> None:
    """Multi-row ``INSERT ... VALUES (...), (...), ...`` statements through ``executemany``.

    SQLite evaluates the CHECK constraints' ``IN (...)`` lists once per statement, so inserting
    many rows per statement keeps every constraint on at a third of the one-row-per-statement
    cost.
    """
    names, kinds, values = _columns(table, arrays)
    k = len(names)
    per_statement = max(1, SQLITE_MAX_PARAMETERS // k)
    params = np.column_stack(
        [_python_values(kind, v, True) for kind, v in zip(kinds, values, strict=True)]
    )
    n = len(params)
    quoted = ", ".join(f'"{name}"' for name in names)
    one_row = "(" + ", ".join("?" * k) + ")"

    def statement(rows: int) -> str:
        return f'INSERT INTO "{table.name}" ({quoted}) VALUES ' + ", ".join([one_row] * rows)

    step = CHUNK_ROWS - CHUNK_ROWS % per_statement
    for start in range(0, n, step):
        stop = min(start + step, n)
        full = (stop - start) // per_statement
        block = params[start : start + full * per_statement]
        if full:
            conn.exec_driver_sql(
                statement(per_statement),
                list(map(tuple, block.reshape(full, per_statement * k).tolist())),
            )
        rest = params[start + full * per_statement : stop]
        if len(rest):
            conn.exec_driver_sql(statement(len(rest)), tuple(rest.reshape(-1).tolist()))
        tick(stop - start)


def _insert_executemany(
    conn: Connection, table: sa.Table, arrays: Mapping[str, np.ndarray], tick: Callable[[int], None]
) -> None:
    """SQLAlchemy Core ``executemany`` in chunks (databases without a faster route)."""
    names, kinds, values = _columns(table, arrays)
    params = [_python_values(k, v, False) for k, v in zip(kinds, values, strict=True)]
    n = len(params[0])
    stmt = sa.insert(table)
    for start in range(0, n, CHUNK_ROWS):
        stop = min(start + CHUNK_ROWS, n)
        columns = [p[start:stop].tolist() for p in params]
        conn.execute(
            stmt, [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]
        )
        tick(stop - start)


def _counter(total: int, progress: ProgressCallback | None) -> Callable[[int], None]:
    done = 0

    def tick(rows: int) -> None:
        nonlocal done
        done += rows
        if progress is not None:
            progress(done, total)

    return tick


PERFUSION_ID_BYTES = 16
"""Random bytes of a perfusion_id: 32 hexadecimal digits, the form of
:func:`ilpkit.adapters.db.registry_repository.new_perfusion_id` and of migration 0004."""


def new_perfusion_ids(n: int) -> np.ndarray:
    """``n`` new perfusion identifiers (32 random lower-case hexadecimal digits each)."""
    text = os.urandom(PERFUSION_ID_BYTES * n).hex()
    step = 2 * PERFUSION_ID_BYTES
    return np.array([text[i : i + step] for i in range(0, len(text), step)], dtype=object)


def bulk_insert_registry(
    conn: Connection,
    patient_columns: Mapping[str, np.ndarray],
    perfusion_columns: Mapping[str, np.ndarray],
    perfusion_patient: Sequence[int] | np.ndarray,
    progress: ProgressCallback | None = None,
    route: Route = "auto",
) -> None:
    """Insert patients and their perfusions from column arrays, in the caller's transaction.

    Parameters
    ----------
    conn : Connection
        An open connection inside a transaction (the caller commits).
    patient_columns : mapping of str to ndarray
        Columns of the ``patients`` table (without ``id``), one value per patient.
    perfusion_columns : mapping of str to ndarray
        Columns of the ``perfusions`` table (without ``id`` and ``patient_pk``), one value per
        perfusion. Without a ``perfusion_id`` column every perfusion gets a new identifier
        here, at insertion (never later, on an export).
    perfusion_patient : ndarray of int
        For each perfusion, the index (0-based) of its patient in ``patient_columns``.
    progress : callable, optional
        Progress callback (rows written, rows in all).
    route : {"auto", "copy", "sqlite", "core"}
        How to insert: ``auto`` picks COPY for PostgreSQL with psycopg, multi-row INSERT for
        SQLite and SQLAlchemy Core executemany otherwise; the others force a route (``copy``
        needs psycopg).
    """
    n_patients = len(next(iter(patient_columns.values())))
    n_perfusions = len(np.asarray(perfusion_patient))
    last_id = conn.execute(sa.select(sa.func.coalesce(sa.func.max(patients.c.id), 0))).scalar_one()
    first_id = int(last_id) + 1
    ids = np.arange(first_id, first_id + n_patients, dtype=np.int64)
    patient_arrays = {"id": ids.astype(float), **patient_columns}
    perfusion_arrays = {
        "patient_pk": ids[np.asarray(perfusion_patient)].astype(float),
        **perfusion_columns,
    }
    if "perfusion_id" not in perfusion_arrays:
        perfusion_arrays["perfusion_id"] = new_perfusion_ids(n_perfusions)
    dialect = conn.dialect.name
    if route == "auto":
        if dialect == "postgresql" and conn.dialect.driver == "psycopg":
            route = "copy"
        elif dialect == "sqlite":
            route = "sqlite"
        else:
            route = "core"
    insert = {"copy": _insert_copy, "sqlite": _insert_sqlite, "core": _insert_executemany}[route]
    tick = _counter(n_patients + n_perfusions, progress)
    if dialect == "sqlite":
        conn.exec_driver_sql(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
    insert(conn, patients, patient_arrays, tick)
    insert(conn, perfusions, perfusion_arrays, tick)
    if dialect == "postgresql":
        # explicit ids do not move the sequence; later inserts must not collide with them
        conn.exec_driver_sql(
            "SELECT setval(pg_get_serial_sequence('patients', 'id'), "
            "(SELECT MAX(id) FROM patients))"
        )
