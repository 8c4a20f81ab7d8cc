"""The columnar registry loader gives exactly the written values, on SQLite and PostgreSQL.

The expected frame is built here from the CSV rows the test writes, with the types the loader
documents, not from the loader's output. The registry is large enough (1,200 perfusions) that a
column empty in its first thousand rows and filled later crosses the batches an Arrow reader
uses by default.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from ilpkit.adapters.db import registry_frame
from ilpkit.services.outcome_analysis import load_frame
from ilpkit.services.registry_import import import_registry
from ilpkit.services.unit_of_work import UnitOfWork

DATES = (
    "birth_date",
    "death_date",
    "last_followup_date",
    "ilp_date",
    "resection_date",
    "amputation_date",
    "local_recurrence_date",
    "distant_metastasis_date",
)
YES_NO = ("multifocal", "prior_radiotherapy")
OPTIONAL_YES_NO = ("adjuvant_radiotherapy",)
NUMBERS = (
    "limb_volume_l",
    "tnf_mg",
    "melphalan_mg",
    "tumor_size_cm",
    "max_leakage_pct",
    "max_tissue_temp_c",
    "perfusion_minutes",
    "pathological_necrosis_pct",
)
WHOLE = ("grade", "wieberdink_grade", "systemic_toxicity_grade")
CLAVIEN_DINDO = ("0", "I", "II", "IIIa", "IIIb", "IVa", "IVb", "V")
N_ROWS = 1_200
EMPTY_UNTIL = 1_100
"""Rows before this one leave grade, tumour size, death date and response empty."""


def _rows(row_factory) -> list[dict[str, str]]:
    rows = []
    for i in range(N_ROWS):
        late = i >= EMPTY_UNTIL
        rows.append(
            row_factory(
                patient_id=f"SYN-{i:05d}",
                sex="MF"[i % 2],
                birth_date=f"19{40 + i % 50}-0{1 + i % 9}-1{i % 10}",
                ilp_date=f"20{10 + i % 10}-03-14",
                last_followup_date="2030-06-30",
                death_date="2030-06-30" if late and i % 3 == 0 else "",
                grade=str(1 + i % 3) if late else "",
                tumor_size_cm=f"{1 + (i % 170) / 10:g}" if late else "",
                response=("CR", "PR", "NC", "PD", "NE")[i % 5] if late else "",
                multifocal="yes" if i % 7 == 0 else "no",
                prior_radiotherapy="yes" if i % 11 == 0 else "no",
                histology=("leiomyosarcoma", "liposarcoma", "angiosarcoma")[i % 3],
                limb_volume_l=f"{4 + (i % 90) / 10:g}",
                melphalan_mg=f"{40 + i % 60}",
                max_leakage_pct="",  # empty in every row
                wieberdink_grade=str(1 + i % 5) if i % 4 else "",
                resection_margin=("R0", "R1", "")[i % 3],
                resection_date="" if i % 3 == 2 else f"20{10 + i % 10}-05-20",
                # the outcome-study columns: empty in the first rows, then filled
                adjuvant_radiotherapy=("yes", "no", "")[i % 3] if late else "",
                pathological_necrosis_pct=f"{i % 101}" if late and i % 3 != 2 else "",
                systemic_toxicity_grade=str(i % 6) if late else "",
                complication_clavien_dindo=CLAVIEN_DINDO[i % 8] if late else "",
                amputation_reason="",  # empty in every row
                cause_of_death=("sarcoma", "other", "unknown")[(i // 3) % 3]
                if late and i % 3 == 0
                else "",
            )
        )
    return rows


def _expected(rows: list[dict[str, str]], columns: list[str]) -> pd.DataFrame:
    """The frame the loader documents, written from the CSV text."""
    data: dict[str, object] = {}
    for name in columns:
        text = [r.get(name, "") for r in rows]
        if name in DATES:
            data[name] = pd.to_datetime(
                pd.Series([t or None for t in text], dtype=object), format="%Y-%m-%d"
            ).to_numpy(dtype="M8[ns]")
        elif name in YES_NO:
            data[name] = np.array([t == "yes" for t in text])
        elif name in OPTIONAL_YES_NO:
            data[name] = pd.array([None if t == "" else t == "yes" for t in text], dtype="boolean")
        elif name in NUMBERS:
            data[name] = np.array([float(t) if t else np.nan for t in text])
        elif name in WHOLE:
            data[name] = pd.array([int(t) if t else None for t in text], dtype="Int64")
        else:
            data[name] = np.array([t or None for t in text], dtype=object)
    return pd.DataFrame(data)


def _check(frame: pd.DataFrame, rows: list[dict[str, str]]) -> None:
    assert set(frame.columns) == set(rows[0]) | {"limb_volume_method"}
    expected = _expected(rows, list(frame.columns))
    pd.testing.assert_frame_equal(frame, expected, check_exact=True)
    for name in frame.columns:
        if frame[name].dtype == object:  # equal text values are one shared object
            values = frame[name]
            assert len({id(v) for v in values}) == values.nunique(dropna=False), name


def test_columnar_loader_gives_the_written_values(db_url, row_factory, csv_file):
    rows = _rows(row_factory)
    import_registry(csv_file(rows, list(rows[0])), db_url, date(2031, 1, 1), "tester")
    frame = load_frame(db_url)
    assert frame["max_leakage_pct"].dtype == np.float64  # empty everywhere, still a number
    assert frame["grade"].iloc[:EMPTY_UNTIL].isna().all()
    _check(frame, rows)


def test_both_databases_are_read_columnar(db_url, row_factory, csv_file, monkeypatch):
    rows = _rows(row_factory)[EMPTY_UNTIL:]
    import_registry(csv_file(rows, list(rows[0])), db_url, date(2031, 1, 1), "tester")

    def no_read_sql(conn):
        raise AssertionError("read through pandas read_sql, not columnar")

    monkeypatch.setattr(registry_frame, "_read_sql", no_read_sql)
    _check(load_frame(db_url), rows)


def test_columnar_loader_equals_the_read_sql_path(db_url, row_factory, csv_file):
    rows = _rows(row_factory)[EMPTY_UNTIL - 50 :]
    import_registry(csv_file(rows, list(rows[0])), db_url, date(2031, 1, 1), "tester")
    with UnitOfWork(db_url, migrate=False) as uow:
        columnar = registry_frame.load_registry_frame(uow.connection)
        through_pandas = registry_frame._read_sql(uow.connection)
    pd.testing.assert_frame_equal(columnar, through_pandas, check_exact=True)


def test_sqlite_file_with_spaces_and_hash_in_its_path(tmp_path: Path, row_factory, csv_file):
    folder = tmp_path / "registry #1 (copy)"
    folder.mkdir()
    url = f"sqlite:///{folder / 'ilp registry.sqlite3'}"
    rows = _rows(row_factory)[EMPTY_UNTIL:]
    import_registry(csv_file(rows, list(rows[0])), url, date(2031, 1, 1), "tester")
    _check(load_frame(url), rows)


@pytest.mark.postgres
def test_postgresql_dates_whatever_the_datestyle(postgres_url, row_factory, csv_file):
    rows = _rows(row_factory)[EMPTY_UNTIL:]
    import_registry(csv_file(rows, list(rows[0])), postgres_url, date(2031, 1, 1), "tester")
    engine = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        name = conn.execute(sa.text("SELECT current_database()")).scalar_one()
        conn.execute(sa.text(f"ALTER DATABASE \"{name}\" SET datestyle = 'SQL, DMY'"))
    engine.dispose()
    _check(load_frame(postgres_url), rows)


def test_empty_registry_keeps_the_column_types(db_url):
    """An empty registry loads as an empty frame of the right types (on PostgreSQL the COPY
    output is then empty text, which Arrow's CSV reader refuses on its own)."""
    from ilpkit.adapters.db.engine import ensure_schema, make_engine

    engine = make_engine(db_url)
    ensure_schema(engine)
    engine.dispose()
    frame = load_frame(db_url)
    assert len(frame) == 0
    assert frame["ilp_date"].dtype == "M8[ns]" and frame["tumor_size_cm"].dtype == np.float64
    assert frame["multifocal"].dtype == bool and frame["grade"].dtype == "Int64"
    assert frame["adjuvant_radiotherapy"].dtype == "boolean"
    assert frame["systemic_toxicity_grade"].dtype == "Int64"
    assert frame["pathological_necrosis_pct"].dtype == np.float64


def test_sqlite_read_waits_for_another_process_commit(sqlite_url, row_factory, csv_file):
    import subprocess
    import sys

    rows = _rows(row_factory)[EMPTY_UNTIL:]
    import_registry(csv_file(rows, list(rows[0])), sqlite_url, date(2031, 1, 1), "tester")
    load_frame(sqlite_url)  # every module the loader needs is imported before the clock starts
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, sqlite_url.removeprefix("sqlite:///")],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "locked"
        with UnitOfWork(sqlite_url, migrate=False) as uow:
            frame = registry_frame.load_registry_frame(uow.connection)
            assert writer.poll() is not None  # the read waited for the other process's commit
    finally:
        writer.wait(timeout=30)
    _check(frame, rows)


WRITER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")  # readers are locked out until the commit
print("locked", flush=True)
time.sleep(1.0)
conn.commit()
"""


def test_sqlite_inside_a_write_transaction_reads_its_own_rows(sqlite_url, row_factory, csv_file):
    rows = _rows(row_factory)[EMPTY_UNTIL:]
    import_registry(csv_file(rows, list(rows[0])), sqlite_url, date(2031, 1, 1), "tester")
    with UnitOfWork(sqlite_url, migrate=False) as uow:
        uow.connection.execute(sa.text("DELETE FROM perfusions WHERE ilp_date < '2015-01-01'"))
        frame = registry_frame.load_registry_frame(uow.connection)  # not committed: rolled back
    kept = [r for r in rows if r["ilp_date"] >= "2015-01-01"]
    assert 0 < len(kept) < len(rows)
    _check(frame, kept)
    _check(load_frame(sqlite_url), rows)
