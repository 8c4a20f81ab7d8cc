"""Load the whole registry as one pandas DataFrame (one row per perfusion) for analysis.

The registry is read columnar, never row by row: SQLite through the ADBC SQLite driver and
PostgreSQL through ``COPY ... TO STDOUT`` on the open connection, both straight into Apache Arrow
columns that are then converted once per column. Building a Python object per cell (the DB-API
and SQLAlchemy way) was most of the load time: columnar, 100,000 or 1,000,000 perfusions load
3-5 times faster from SQLite and 2-3 times faster from PostgreSQL (benchmarks/bench_analyze.py,
docs/performance.md). Other databases, and SQLite in memory or inside an open transaction, are
read with one pandas ``read_sql`` query; the frame is the same either way.
"""

from __future__ import annotations

import io
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ilpkit.adapters.db.registry_repository import select_records
from ilpkit.adapters.db.tables import patients
from ilpkit.domain.fields import FIELDS

if TYPE_CHECKING:
    import pyarrow as pa

DATE_COLUMNS = tuple(f.name for f in FIELDS if f.kind == "date")
BOOL_COLUMNS = tuple(f.name for f in FIELDS if f.kind == "yes/no" and f.required)
OPTIONAL_BOOL_COLUMNS = tuple(f.name for f in FIELDS if f.kind == "yes/no" and not f.required)
"""Optional yes/no columns, loaded as pandas ``boolean`` (missing values stay <NA>)."""
NUMBER_COLUMNS = tuple(f.name for f in FIELDS if f.kind == "number")
INTEGER_COLUMNS = ("grade", *(f.name for f in FIELDS if f.kind == "integer"))
"""Whole-number columns, loaded as pandas ``Int64`` (missing values stay <NA>)."""

SQLITE_BATCH_ROWS = 2**30
"""Rows per Arrow batch read from SQLite: all of them. The ADBC SQLite driver infers each
column's type from the first batch only, so a column that is empty in the first rows of a smaller
batch and filled later (a grade recorded only from some year on) would not load."""
SQLITE_BUSY_TIMEOUT_MS = 5000
"""How long a read waits for another process's write to finish (as Python's sqlite3 does)."""


def load_registry_frame(conn: Connection, centers: Collection[str] | None = None) -> pd.DataFrame:
    """Every stored perfusion with its patient's data, one row each, ordered by patient and date.

    Columns are the Registry CSV v1 columns; dates are ``datetime64[ns]`` (NaT when empty),
    required yes/no columns ``bool``, optional ones (``adjuvant_radiotherapy``) ``boolean``
    (<NA> when empty), numbers ``float64`` (NaN when empty), ``grade`` and the integer fields
    (``wieberdink_grade``, ``systemic_toxicity_grade``) ``Int64`` (<NA> when empty), text
    ``object`` strings (None when empty).
    Equal text values are one shared Python object (see :func:`share_strings`).

    Parameters
    ----------
    conn : Connection
        An open connection to the registry (SQLite, PostgreSQL or another SQLAlchemy database).
    centers : collection of str, optional
        Only the patients of these centres (filtered in the query itself, so no row of another
        centre is read); None reads every centre.
    """
    query = select_records()
    if centers is not None:
        query = query.where(patients.c.center.in_(sorted(centers)) if centers else sa.false())
    dialect = conn.dialect.name
    sqlite_file = _sqlite_file(conn) if dialect == "sqlite" else None
    if sqlite_file is not None:
        return arrow_to_frame(_read_sqlite_arrow(conn, sqlite_file, query))
    if dialect == "postgresql" and _is_psycopg(conn.connection.driver_connection):
        return arrow_to_frame(_read_postgresql_arrow(conn, query))
    return _read_sql(conn, query=query)


def _is_psycopg(driver: object) -> bool:
    """True for a psycopg (3) connection, which can stream ``COPY`` output."""
    return type(driver).__module__.split(".")[0] == "psycopg" and hasattr(driver, "cursor")


# ------------------------------------------------------------------------- columnar reads


def _sqlite_file(conn: Connection) -> str | None:
    """The database file to read columnar, or None to read through ``conn`` itself.

    None for SQLite in memory or by ``file:`` URI, and while ``conn`` has a transaction open in
    SQLite (it may hold uncommitted rows or locks; the ADBC driver is a separate SQLite library
    in this process, which must not open the file then).
    """
    url = conn.engine.url
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:") or url.query:
        return None
    if getattr(conn.connection.driver_connection, "in_transaction", True):
        return None
    return database


def _read_sqlite_arrow(
    conn: Connection, database: str, query: sa.Select[Any] | None = None
) -> pa.Table:
    """The registry query on SQLite, read by the ADBC SQLite driver into one Arrow table.

    The driver opens the same file read-only next to ``conn``.
    """
    from pathlib import Path

    import adbc_driver_manager
    import adbc_driver_sqlite

    query = select_records() if query is None else query
    sql = str(query.compile(conn, compile_kwargs={"literal_binds": True}))
    uri = Path(database).resolve().as_uri() + "?mode=ro"
    with (
        adbc_driver_sqlite.connect(uri) as db,
        adbc_driver_manager.AdbcConnection(db) as adbc_conn,
    ):
        # wait for another process's commit as Python's sqlite3 does, rather than fail at once
        _adbc_query(adbc_conn, f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        return _adbc_query(adbc_conn, sql, {"adbc.sqlite.query.batch_rows": str(SQLITE_BATCH_ROWS)})


def _adbc_query(adbc_conn: Any, sql: str, options: dict[str, str] | None = None) -> pa.Table:
    """Every row of ``sql`` on an ADBC connection, as one Arrow table."""
    import adbc_driver_manager
    import pyarrow as pa

    with adbc_driver_manager.AdbcStatement(adbc_conn) as stmt:
        if options:
            stmt.set_options(**options)
        stmt.set_sql_query(sql)
        stream, _ = stmt.execute_query()
        return pa.RecordBatchReader.from_stream(stream).read_all()


def _read_postgresql_arrow(conn: Connection, query: sa.Select[Any] | None = None) -> pa.Table:
    """The registry query on PostgreSQL, as CSV from ``COPY ... TO STDOUT`` parsed by Arrow.

    Runs on ``conn`` itself (same transaction and connection settings). Dates are written as
    ``YYYY-MM-DD`` whatever the server's DateStyle; numbers in PostgreSQL's shortest exact form.
    """
    import pyarrow as pa
    import pyarrow.csv as pcsv

    query = select_records() if query is None else query
    cols = [
        sa.func.to_char(c, "YYYY-MM-DD").label(c.name) if c.name in DATE_COLUMNS else c
        for c in query.selected_columns
    ]
    sql = str(query.with_only_columns(*cols).compile(conn, compile_kwargs={"literal_binds": True}))
    buffer = io.BytesIO()
    driver: Any = conn.connection.driver_connection
    cursor = driver.cursor()
    try:
        with cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)") as copy:
            for data in copy:
                buffer.write(data)
    finally:
        cursor.close()
    names = [c.name for c in query.selected_columns]
    types = {name: pa.date32() for name in DATE_COLUMNS}
    types.update({name: pa.bool_() for name in (*BOOL_COLUMNS, *OPTIONAL_BOOL_COLUMNS)})
    types.update({name: pa.float64() for name in NUMBER_COLUMNS})
    types.update({name: pa.int64() for name in INTEGER_COLUMNS})
    types.update({name: pa.string() for name in names if name not in types})
    if buffer.tell() == 0:  # no rows: Arrow refuses an empty CSV text
        return pa.table({name: pa.array([], type=types[name]) for name in names})
    return pcsv.read_csv(
        pa.py_buffer(buffer.getbuffer()),
        read_options=pcsv.ReadOptions(column_names=names),
        convert_options=pcsv.ConvertOptions(
            column_types=types,
            true_values=["t"],
            false_values=["f"],
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        ),
    )


def arrow_to_frame(table: pa.Table) -> pd.DataFrame:
    """The registry frame from an Arrow table of the registry query (one column per field).

    Dates may arrive as ``date32`` or as ``YYYY-MM-DD`` text, yes/no as booleans or 0/1, and a
    column with no value at all as any type (SQLite gives it no type of its own).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    n = table.num_rows
    columns: dict[str, Any] = {}
    for name in table.column_names:
        col = table.column(name).combine_chunks()
        if name in DATE_COLUMNS:
            col = _typed(col, pa.date32(), n)
            columns[name] = (
                col.cast(pa.timestamp("ns")).to_numpy(zero_copy_only=False).astype("M8[ns]")
            )
        elif name in BOOL_COLUMNS:
            columns[name] = (
                _typed(col, pa.bool_(), n).fill_null(False).to_numpy(zero_copy_only=False)
            )
        elif name in OPTIONAL_BOOL_COLUMNS:
            col = _typed(col, pa.bool_(), n)
            mask = col.is_null().to_numpy(zero_copy_only=False)
            flags = col.fill_null(False).to_numpy(zero_copy_only=False)
            columns[name] = pd.arrays.BooleanArray(flags.astype(bool), mask)
        elif name in NUMBER_COLUMNS:
            columns[name] = _typed(col, pa.float64(), n).to_numpy(zero_copy_only=False)
        elif name in INTEGER_COLUMNS:
            col = _typed(col, pa.int64(), n)
            mask = col.is_null().to_numpy(zero_copy_only=False)
            values = col.fill_null(0).to_numpy(zero_copy_only=False)
            columns[name] = pd.arrays.IntegerArray(values.astype(np.int64), mask)
        else:
            encoded = pc.dictionary_encode(_typed(col, pa.string(), n))
            uniques = np.empty(len(encoded.dictionary) + 1, dtype=object)
            uniques[:-1] = encoded.dictionary.to_pylist()
            codes = encoded.indices.fill_null(len(encoded.dictionary))
            columns[name] = uniques[codes.to_numpy(zero_copy_only=False)]
    return pd.DataFrame(columns, index=pd.RangeIndex(n))


def _typed(col: pa.Array, target: pa.DataType, n: int) -> pa.Array:
    import pyarrow as pa

    if col.null_count == n:
        return pa.nulls(n, target)
    return col if col.type == target else col.cast(target)


# ----------------------------------------------------------------------- any other database


def _read_sql(
    conn: Connection, chunksize: int = 200_000, query: sa.Select[Any] | None = None
) -> pd.DataFrame:
    """The registry frame through pandas ``read_sql`` (databases without a columnar reader).

    Read in chunks, each converted before the next is fetched, so that peak memory stays near
    the size of the final frame.
    """
    query = select_records() if query is None else query
    sqlite = conn.dialect.name == "sqlite"
    if sqlite:
        sql = str(query.compile(conn, compile_kwargs={"literal_binds": True}))
        source: object = conn.connection.driver_connection
    else:
        sql, source = query, conn  # type: ignore[assignment]
    parts = []
    for chunk in pd.read_sql_query(sql, source, chunksize=chunksize):
        for name in DATE_COLUMNS:
            chunk[name] = pd.to_datetime(chunk[name], format="%Y-%m-%d" if sqlite else None)
        for name in BOOL_COLUMNS:
            chunk[name] = chunk[name].astype(bool)
        for name in OPTIONAL_BOOL_COLUMNS:
            chunk[name] = chunk[name].astype("boolean")
        for name in NUMBER_COLUMNS:
            chunk[name] = chunk[name].astype(float)
        parts.append(chunk)
    if not parts:
        frame = pd.DataFrame(columns=[c.name for c in query.selected_columns])
        for name in DATE_COLUMNS:
            frame[name] = pd.to_datetime(frame[name])
        for name in BOOL_COLUMNS:
            frame[name] = frame[name].astype(bool)
        for name in OPTIONAL_BOOL_COLUMNS:
            frame[name] = frame[name].astype("boolean")
        for name in NUMBER_COLUMNS:
            frame[name] = frame[name].astype(float)
    else:
        frame = pd.concat(parts, ignore_index=True)
    for name in INTEGER_COLUMNS:
        frame[name] = frame[name].astype("Int64")
    return share_strings(frame)


def share_strings(frame: pd.DataFrame) -> pd.DataFrame:
    """The same frame with equal text values held as one shared Python object each.

    A frame read from SQL holds a separate ``str`` object per cell; comparing, grouping and
    sorting such columns is 2-3 times slower than when equal values are one object (identity
    short-cuts, cache locality). Values, dtypes and missing markers are unchanged, so every
    statistic is identical; on a 1,000,000-perfusion registry this costs about 2 s and saves
    about 40 s of analysis.
    """
    columns: dict[str, Any] = {}
    for name in frame.columns:
        col = frame[name]
        if col.dtype == object:
            codes, uniques = pd.factorize(col)
            values = np.asarray(uniques, dtype=object)
            arr = col.to_numpy(dtype=object, copy=True)
            present = codes >= 0
            arr[present] = values[codes[present]]
            columns[name] = arr
        else:
            columns[name] = col.to_numpy(copy=False) if isinstance(col.dtype, np.dtype) else col
    return pd.DataFrame(columns, index=frame.index)
