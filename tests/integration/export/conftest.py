"""A small registry with known values, imported through the ordinary import service."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from ilpkit.services.registry_import import import_registry

TODAY = date(2026, 11, 27)


def rows(row_factory):
    """Three SYNTHETIC patients, four perfusions; values chosen by hand for the assertions."""
    return [
        row_factory(),  # SYN-0001, leg, liposarcoma, PR, 2001-03-14
        row_factory(
            ilp_date="2003-02-01",
            histology="liposarcoma",
            response="CR",
            tumor_size_cm="6",
            resection_date="",
            resection_margin="",
            local_recurrence_date="2004-07-01",
        ),
        row_factory(
            patient_id="SYN-0002",
            sex="M",
            birth_date="1961-12-02",
            death_date="2006-01-09",
            last_followup_date="2006-01-09",
            ilp_date="2002-09-30",
            limb="arm",
            perfusion_level="axillary",
            limb_volume_l="3",
            tnf_mg="2",
            melphalan_mg="39",
            histology="synovial_sarcoma",
            grade="",
            tumor_size_cm="",
            multifocal="yes",
            presentation="recurrent",
            prior_radiotherapy="yes",
            response="NC",
            resection_date="",
            resection_margin="",
            distant_metastasis_date="2004-03-15",
            max_leakage_pct="",
            wieberdink_grade="",
            max_tissue_temp_c="",
            perfusion_minutes="",
        ),
        row_factory(
            patient_id="SYN-0003",
            birth_date="1940-01-31",
            ilp_date="2000-06-15",
            histology="dermatofibrosarcoma_protuberans",
            response="NE",
            resection_date="",
            resection_margin="",
            amputation_date="2001-01-10",
            grade="3",
        ),
    ]


@pytest.fixture
def registry(db_url, row_factory, csv_file) -> str:
    """A registry (SQLite, then PostgreSQL) holding :func:`rows`."""
    import_registry(csv_file(rows(row_factory)), db_url, TODAY, "tester")
    return db_url


@pytest.fixture
def sqlite_registry(sqlite_url, row_factory, csv_file) -> str:
    """The same registry in SQLite only (for tests that do not touch storage behaviour)."""
    import_registry(csv_file(rows(row_factory)), sqlite_url, TODAY, "tester")
    return sqlite_url


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "out"
    folder.mkdir()
    return folder
