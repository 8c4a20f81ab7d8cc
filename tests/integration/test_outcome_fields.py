"""The outcome-study fields end to end, on SQLite and PostgreSQL: adjuvant radiotherapy,
pathological necrosis, CTCAE systemic toxicity, Clavien-Dindo complication, amputation reason
(perfusion level) and cause of death (patient level).

Registry CSV v1 stays readable: the columns are optional; a file without them imports and
leaves their stored values as they were. Expected values are the cell texts written here.
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from tests.conftest import COLUMNS, write_csv

from ilpkit.domain.errors import RegistryValidationError
from ilpkit.services.outcome_analysis import load_frame
from ilpkit.services.registry_export import export_registry
from ilpkit.services.registry_export_formats import export_registry_as
from ilpkit.services.registry_import import import_registry
from ilpkit.stats import cohort

TODAY = date(2026, 1, 1)
NEW = [
    "adjuvant_radiotherapy",
    "pathological_necrosis_pct",
    "systemic_toxicity_grade",
    "complication_clavien_dindo",
    "amputation_reason",
    "cause_of_death",
]
ALL = [*COLUMNS, *NEW]


def _rows(row_factory) -> list[dict[str, str]]:
    """Three patients: every new field filled, a mix, and every new field empty."""
    return [
        row_factory(
            patient_id="SYN-0001",
            death_date="2008-06-30",
            amputation_date="2002-01-10",
            adjuvant_radiotherapy="yes",
            pathological_necrosis_pct="62.5",
            systemic_toxicity_grade="3",
            complication_clavien_dindo="IIIb",
            amputation_reason="non_response",
            cause_of_death="sarcoma",
        ),
        row_factory(
            patient_id="SYN-0002",
            adjuvant_radiotherapy="no",
            pathological_necrosis_pct="100",
            systemic_toxicity_grade="0",
            complication_clavien_dindo="0",
        ),
        row_factory(patient_id="SYN-0003", resection_date="", resection_margin=""),
    ]


def _import(path: Path, url: str):
    return import_registry(path, url, TODAY, "tester")


def _exported(url: str, folder: Path) -> dict[str, dict[str, str]]:
    out = folder / f"export-{len(list(folder.iterdir()))}.csv"
    export_registry(url, out, "tester")
    with out.open(encoding="utf-8", newline="") as f:
        return {r["patient_id"]: r for r in csv.DictReader(f)}


def test_round_trip_csv_database_export(db_url, row_factory, tmp_path):
    rows = _rows(row_factory)
    _import(write_csv(tmp_path / "in.csv", rows, ALL), db_url)
    exported = _exported(db_url, tmp_path)
    for row in rows:
        for name in NEW:
            written = row.get(name, "")
            assert exported[row["patient_id"]][name] == written, (row["patient_id"], name)
    # the analysis frame: registry text for the categories, numbers as float
    data = cohort.covariates(load_frame(db_url)).reset_index(drop=True)
    assert data["adjuvant_radiotherapy"].tolist() == ["yes", "no", None]
    assert data["pathological_necrosis_pct"].tolist()[:2] == [62.5, 100.0]
    assert pd.isna(data["pathological_necrosis_pct"].iloc[2])
    assert data["systemic_toxicity_grade"].tolist()[:2] == [3.0, 0.0]
    assert data["complication_clavien_dindo"].tolist() == ["IIIb", "0", None]
    assert data["amputation_reason"].tolist() == ["non_response", None, None]
    assert data["cause_of_death"].tolist() == ["sarcoma", None, None]


def test_statistics_files_carry_the_value_labels(sqlite_url, row_factory, tmp_path):
    import pyreadstat

    _import(write_csv(tmp_path / "in.csv", _rows(row_factory), ALL), sqlite_url)
    out = tmp_path / "registry.sav"
    export_registry_as(sqlite_url, out, "sav", "tester")
    frame, meta = pyreadstat.read_sav(str(out))
    labels = meta.variable_value_labels
    assert "IIIb: intervention under general anaesthesia" in (
        labels["complication_clavien_dindo"].values()
    )
    assert set(labels["cause_of_death"].values()) >= {"sarcoma: sarcoma", "other: other cause"}
    assert frame["pathological_necrosis_pct"].tolist()[:2] == [62.5, 100.0]
    assert frame["systemic_toxicity_grade"].tolist()[:2] == [3.0, 0.0]


def test_a_v1_file_without_the_columns_leaves_their_stored_values(db_url, row_factory, tmp_path):
    rows = _rows(row_factory)
    _import(write_csv(tmp_path / "full.csv", rows, ALL), db_url)
    before = _exported(db_url, tmp_path)
    # the same patients in the original Registry CSV v1 columns, one tumour size corrected
    v1 = [dict(r) for r in rows]
    v1[0]["tumor_size_cm"] = "14"
    report = _import(write_csv(tmp_path / "v1.csv", v1, COLUMNS), db_url)
    assert set(NEW) <= set(report.absent_columns)
    assert report.perfusions_updated == 1
    after = _exported(db_url, tmp_path)
    assert after["SYN-0001"]["tumor_size_cm"] == "14"
    for pid in before:
        for name in NEW:
            assert after[pid][name] == before[pid][name], (pid, name)
    assert before["SYN-0001"]["complication_clavien_dindo"] == "IIIb"  # the values were there


def test_an_empty_cell_clears_a_stored_value_and_says_so(db_url, row_factory, tmp_path):
    rows = _rows(row_factory)
    _import(write_csv(tmp_path / "full.csv", rows, ALL), db_url)
    rows[1]["systemic_toxicity_grade"] = ""
    report = _import(write_csv(tmp_path / "cleared.csv", rows, ALL), db_url)
    cleared = [(c.key, c.column, c.old) for c in report.changes if c.cleared]
    assert len(cleared) == 1
    assert cleared[0][1:] == ("systemic_toxicity_grade", "0")
    assert _exported(db_url, tmp_path)["SYN-0002"]["systemic_toxicity_grade"] == ""


BAD = [
    ("adjuvant_radiotherapy", "maybe", {}, "must be 'yes' or 'no'"),
    ("pathological_necrosis_pct", "120", {}, "must be 0 to 100 %"),
    ("pathological_necrosis_pct", "-1", {}, "must be 0 to 100 %"),
    ("pathological_necrosis_pct", "50", {"resection_date": "", "resection_margin": ""},
     "a pathological necrosis needs a resection date"),
    ("systemic_toxicity_grade", "6", {}, "must be 0 to 5"),
    ("systemic_toxicity_grade", "2.5", {}, "is not a whole number"),
    ("complication_clavien_dindo", "IIIc", {}, "is not one of the allowed values: 0, I, II"),
    ("amputation_reason", "infection", {"amputation_date": "2002-01-10"},
     "is not one of the allowed values: recurrence, toxicity, non_response, other"),
    ("amputation_reason", "toxicity", {}, "an amputation reason needs an amputation date"),
    ("cause_of_death", "accident", {"death_date": "2008-06-30"},
     "is not one of the allowed values: sarcoma, other, unknown"),
    ("cause_of_death", "other", {}, "a cause of death needs a date of death"),
]  # fmt: skip


@pytest.mark.parametrize(("column", "value", "other", "reason"), BAD, ids=lambda v: str(v))
def test_invalid_values_are_refused_with_the_reason_and_nothing_is_saved(
    sqlite_url, row_factory, tmp_path, column, value, other, reason
):
    rows = [row_factory(patient_id="SYN-0009"), row_factory(**{column: value, **other})]
    with pytest.raises(RegistryValidationError) as info:
        _import(write_csv(tmp_path / "bad.csv", rows, ALL), sqlite_url)
    problems = [p for p in info.value.problems if p.is_error]
    assert [(p.line, p.field, p.value) for p in problems] == [(3, column, value)]
    assert reason in problems[0].reason
    assert f"line 3, column '{column}', value '{value}'" in problems[0].describe()
    engine = sa.create_engine(sqlite_url)
    try:
        with engine.connect() as conn:
            names = set(sa.inspect(conn).get_table_names())
            if "patients" in names:  # nothing saved: an import is all or nothing
                assert conn.execute(sa.text("SELECT count(*) FROM patients")).scalar() == 0
    finally:
        engine.dispose()


def test_tnf_dose_groups_follow_the_cut(sqlite_url, row_factory, tmp_path):
    import json

    from typer.testing import CliRunner

    from ilpkit.cli.main import build_app

    doses = ["1", "1.5", "2", "3", "4", "4"]  # leg perfusions: 3 of at most 2 mg, 3 above
    rows = [row_factory(patient_id=f"SYN-{i:04d}", tnf_mg=dose) for i, dose in enumerate(doses)]
    _import(write_csv(tmp_path / "doses.csv", rows), sqlite_url)
    runner = CliRunner()
    for args, expected in (
        ((), {"<=2 mg": 3, ">2 mg": 3}),
        (("--tnf-cut-mg", "1.5"), {"<=1.5 mg": 2, ">1.5 mg": 4}),
    ):
        result = runner.invoke(
            build_app(),
            ["analyze", "--json", "--endpoint", "tnf_dose", "--db", sqlite_url, *args],
        )
        assert result.exit_code == 0, result.output
        groups = json.loads(result.stdout)["tnf_dose"]["groups"]
        assert {label: g["n"] for label, g in groups.items()} == expected
    bad = runner.invoke(build_app(), ["analyze", "--tnf-cut-mg", "0", "--db", sqlite_url])
    assert bad.exit_code != 0 and "--tnf-cut-mg must be more than 0" in bad.output
