"""Shared fixtures: valid registry rows, CSV files, and real SQLite and PostgreSQL databases.

PostgreSQL tests use the server named by ILP_TEST_POSTGRES_URL (default: the local server,
user postgres, database test). Where none is reachable they skip with the reason - except when
the environment variable CI is set, where an unreachable server fails the run.
"""

from __future__ import annotations

import csv
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

COLUMNS = [
    "patient_id",
    "center",
    "sex",
    "birth_date",
    "death_date",
    "last_followup_date",
    "ilp_date",
    "limb",
    "perfusion_level",
    "limb_volume_l",
    "tnf_mg",
    "melphalan_mg",
    "histology",
    "grade",
    "tumor_size_cm",
    "multifocal",
    "presentation",
    "prior_radiotherapy",
    "response",
    "resection_date",
    "resection_margin",
    "amputation_date",
    "local_recurrence_date",
    "distant_metastasis_date",
    "max_leakage_pct",
    "wieberdink_grade",
    "max_tissue_temp_c",
    "perfusion_minutes",
]
"""Registry CSV v1 columns as the format was specified (written out here, not read from code)."""

PG_ADMIN_URL = os.environ.get(
    "ILP_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def make_row(**overrides: str) -> dict[str, str]:
    """A valid SYNTHETIC registry row (leg, 8 L, 80 mg melphalan = 10 mg/L), with overrides."""
    row = {
        "patient_id": "SYN-0001",
        "center": "SYNTH",
        "sex": "F",
        "birth_date": "1950-05-17",
        "death_date": "",
        "last_followup_date": "2008-06-30",
        "ilp_date": "2001-03-14",
        "limb": "leg",
        "perfusion_level": "femoral",
        "limb_volume_l": "8",
        "tnf_mg": "3",
        "melphalan_mg": "80",
        "histology": "liposarcoma",
        "grade": "2",
        "tumor_size_cm": "12.5",
        "multifocal": "no",
        "presentation": "primary",
        "prior_radiotherapy": "no",
        "response": "PR",
        "resection_date": "2001-05-20",
        "resection_margin": "R0",
        "amputation_date": "",
        "local_recurrence_date": "",
        "distant_metastasis_date": "",
        "max_leakage_pct": "0.8",
        "wieberdink_grade": "2",
        "max_tissue_temp_c": "39.1",
        "perfusion_minutes": "90",
    }
    row.update(overrides)
    return row


def write_csv(path: Path, rows: list[dict[str, str]], columns: list[str] | None = None) -> Path:
    """Write rows as a UTF-8 CSV with the given header (default: every column)."""
    cols = columns or COLUMNS
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(cols)
        for r in rows:
            writer.writerow([r.get(c, "") for c in cols])
    return path


@pytest.fixture
def row_factory() -> Callable[..., dict[str, str]]:
    """The :func:`make_row` factory."""
    return make_row


@pytest.fixture
def csv_file(tmp_path: Path) -> Callable[..., Path]:
    """Write rows to a CSV file in a temporary folder and return its path."""
    counter = iter(range(1_000_000))

    def _write(rows: list[dict[str, str]], columns: list[str] | None = None) -> Path:
        return write_csv(tmp_path / f"registry-{next(counter)}.csv", rows, columns)

    return _write


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    """URL of a reachable PostgreSQL server, or skip (fail under CI)."""
    try:
        engine = sa.create_engine(PG_ADMIN_URL)
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        reason = f"no PostgreSQL server reachable at {PG_ADMIN_URL}: {exc.__class__.__name__}"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI is set: PostgreSQL tests must run, not skip)")
        pytest.skip(reason)
    return PG_ADMIN_URL


@pytest.fixture
def postgres_url(postgres_admin_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    name = f"ilp_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(postgres_admin_url).set(database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A new SQLite file in a temporary folder."""
    return f"sqlite:///{tmp_path / 'registry.sqlite3'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """A fresh registry database: once a SQLite file, once a real PostgreSQL database."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("postgres_url"))
