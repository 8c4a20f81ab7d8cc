"""Data made by ``ilp synth`` is labelled SYNTHETIC everywhere, from a mark in the registry
itself; real rows imported later do not remove the label. Median follow-up has one definition
(reverse Kaplan-Meier) in ``ilp summary``, ``ilp analyze`` and the report."""

from __future__ import annotations

import json
from html import unescape

import pytest
from tests.conftest import make_row, write_csv
from typer.testing import CliRunner

from ilpkit.cli.main import build_app

runner = CliRunner()


def ilp(*args: str):
    return runner.invoke(build_app(), list(args))


def _real_rows() -> list[dict[str, str]]:
    return [
        make_row(patient_id=f"PT-{i}", center="CTR-A", last_followup_date=f"{2003 + i}-03-14")
        for i in range(3)
    ]


@pytest.fixture
def synthetic_db(tmp_path) -> str:
    # a file name that says nothing about the data
    url = f"sqlite:///{tmp_path / 'centre.sqlite3'}"
    result = ilp("synth", "--patients", "40", "--seed", "5", "--db", url)
    assert result.exit_code == 0, result.output
    return url


def test_synthetic_registry_labelled_in_summary_and_analyze(synthetic_db):
    summary = json.loads(ilp("summary", "--json", "--db", synthetic_db).stdout)
    assert summary["synthetic"] is True
    assert "SYNTHETIC" in ilp("summary", "--db", synthetic_db).output
    results = json.loads(ilp("analyze", "--json", "--db", synthetic_db).stdout)
    assert results["synthetic"] is True
    assert "SYNTHETIC DATA" in ilp("analyze", "--db", synthetic_db).output


def test_label_survives_importing_real_rows(synthetic_db, tmp_path):
    path = write_csv(tmp_path / "real.csv", _real_rows())
    assert ilp("import", str(path), "--db", synthetic_db).exit_code == 0
    assert json.loads(ilp("analyze", "--json", "--db", synthetic_db).stdout)["synthetic"] is True
    assert json.loads(ilp("summary", "--json", "--db", synthetic_db).stdout)["synthetic"] is True


def test_real_registry_is_not_labelled(tmp_path):
    url = f"sqlite:///{tmp_path / 'synthetic-looking-name.sqlite3'}"
    path = write_csv(tmp_path / "real.csv", _real_rows())
    assert ilp("import", str(path), "--db", url).exit_code == 0
    assert json.loads(ilp("analyze", "--json", "--db", url).stdout)["synthetic"] is False
    assert json.loads(ilp("summary", "--json", "--db", url).stdout)["synthetic"] is False
    assert "SYNTHETIC" not in ilp("analyze", "--db", url).output


def test_exported_synthetic_data_keeps_its_label(synthetic_db, tmp_path):
    out = tmp_path / "copy.csv"
    assert ilp("export", str(out), "--db", synthetic_db).exit_code == 0
    url = f"sqlite:///{tmp_path / 'other.sqlite3'}"
    assert ilp("import", str(out), "--db", url).exit_code == 0
    assert json.loads(ilp("analyze", "--json", "--db", url).stdout)["synthetic"] is True


def test_report_says_the_agreement_is_calibration(synthetic_db, tmp_path):
    out = tmp_path / "report"
    assert ilp("report", "--db", synthetic_db, "--out", str(out)).exit_code == 0
    html = " ".join(unescape((out / "report.html").read_text(encoding="utf-8")).split())
    assert "chosen among 5,000 seeds" in html
    assert "calibration, not an independent replication" in html
    assert "made it with seed 5" in html
    assert json.loads((out / "results.json").read_text(encoding="utf-8"))["synthetic"] is True
    assert all(p.name.startswith("SYNTHETIC-") for p in (out / "tables").iterdir())


def test_median_follow_up_is_reverse_kaplan_meier_everywhere(tmp_path):
    # Three patients from 2001-03-14: alive at 2 and 6 years, dead at 4 years. Reverse KM
    # (death censors follow-up): 1 at 2 y (2/3 left), 2/3 * 0 at 6 y -> median 6 years
    # (the simple median of the three times would be 4 years).
    rows = [
        make_row(patient_id="PT-1", center="CTR-A", last_followup_date="2003-03-14"),
        make_row(
            patient_id="PT-2",
            center="CTR-A",
            last_followup_date="2005-03-14",
            death_date="2005-03-14",
        ),
        make_row(patient_id="PT-3", center="CTR-A", last_followup_date="2007-03-14"),
    ]
    url = f"sqlite:///{tmp_path / 'fu.sqlite3'}"
    assert ilp("import", str(write_csv(tmp_path / "fu.csv", rows)), "--db", url).exit_code == 0
    six_years = 2191 / 365.25  # 2001-03-14 to 2007-03-14: 6 * 365 + 1 (2004) days
    summary = json.loads(ilp("summary", "--json", "--db", url).stdout)
    assert summary["median_followup_years"] == pytest.approx(six_years)
    assert summary["median_followup_method"] == "reverse Kaplan-Meier"
    cohort = json.loads(ilp("analyze", "--json", "--db", url).stdout)["cohort"]
    assert cohort["median_followup_years"]["estimate"] == pytest.approx(six_years)
    assert "reverse Kaplan-Meier" in ilp("summary", "--db", url).output
