"""A de-identified Registry CSV export is importable and gives identical statistics; exports
with the same key agree; no original identifier or date survives."""

from __future__ import annotations

import csv
import json
import math
import os
from datetime import date
from pathlib import Path

import pyreadstat
import pytest
from typer.testing import CliRunner

from ilpkit.cli.main import build_app
from ilpkit.services.deidentify import DeidentifyOptions
from ilpkit.services.registry_export_formats import export_registry_as

runner = CliRunner()
KEY = "k3y-for-tests-0123456789abcdef"
COHORT_DATES = ("first_ilp_date", "last_ilp_date", "last_followup_date")
"""Calendar dates in the results (accrual description): shifted, so left out of the comparison."""


def ilp(*args: str):
    result = runner.invoke(build_app(), list(args), catch_exceptions=False)
    return result


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("synthetic")
    db = folder / "source.sqlite3"
    result = ilp("synth", "--patients", "150", "--seed", "20261201", "--db", str(db))
    assert result.exit_code == 0, result.output
    return db


def _same(ours: object, expected: object, path: str = "$") -> None:
    """Equal, numbers to 1e-12 relative: the copy lists patients in pseudonym order, so sums
    over patients (e.g. a robust variance clustered on patient) may add in another order and
    differ in the last bit."""
    if isinstance(expected, dict):
        assert isinstance(ours, dict) and list(ours) == list(expected), path
        for key in expected:
            _same(ours[key], expected[key], f"{path}.{key}")
    elif isinstance(expected, list):
        assert isinstance(ours, list) and len(ours) == len(expected), path
        for i, (o, e) in enumerate(zip(ours, expected, strict=True)):
            _same(o, e, f"{path}[{i}]")
    elif isinstance(expected, float) and isinstance(ours, float):
        assert math.isclose(ours, expected, rel_tol=1e-12, abs_tol=1e-15), path
    else:
        assert ours == expected, path


def test_deidentified_csv_imports_and_analyze_gives_identical_statistics(
    synthetic, tmp_path, monkeypatch
):
    monkeypatch.setenv("ILP_PSEUDONYM_KEY", KEY)
    shared = tmp_path / "shared.csv"
    result = ilp("export", "--db", str(synthetic), "--format", "csv", "--deidentify", str(shared))
    assert result.exit_code == 0, result.output
    copy_db = tmp_path / "copy.sqlite3"
    result = ilp("import", str(shared), "--db", str(copy_db))
    assert result.exit_code == 0, result.output

    original = json.loads(ilp("analyze", "--db", str(synthetic), "--json").output)
    copy = json.loads(ilp("analyze", "--db", str(copy_db), "--json").output)
    for results in (original, copy):
        for name in COHORT_DATES:
            results["cohort"].pop(name)
    _same(copy, original)
    assert original["overall_survival"]["events"] > 0  # a real comparison, not two empty results

    # nothing of the original identifiers and dates is left
    plain = tmp_path / "plain.csv"
    assert ilp("export", "--db", str(synthetic), str(plain)).exit_code == 0
    before, after = _csv(plain), _csv(shared)
    assert len(before) == len(after)
    assert not {r["patient_id"] for r in before} & {r["patient_id"] for r in after}
    # SYNTHETIC patients (SYN- ids at centre SYNTH) keep their mark before the pseudonym
    assert all(
        r["patient_id"].startswith("SYN-P") and len(r["patient_id"]) == 4 + 33 for r in after
    )
    old_births = sorted(r["birth_date"] for r in before)
    new_births = sorted(r["birth_date"] for r in after)
    assert sum(a == b for a, b in zip(old_births, new_births, strict=True)) < len(before) / 10
    today = date.today().isoformat()
    assert all(v <= today for r in after for k, v in r.items() if k.endswith("_date") and v)

    manifest = json.loads((tmp_path / "shared.csv.manifest.json").read_text(encoding="utf-8"))
    assert manifest["shifted"]["columns"][0] == "birth_date"
    assert manifest["coarsened"] == {}
    assert KEY not in json.dumps(manifest)


def test_same_key_same_export_other_key_other_pseudonyms(synthetic, tmp_path):
    paths = []
    for name, key in (("a.csv", KEY), ("b.csv", KEY), ("c.csv", KEY[::-1])):
        path = tmp_path / name
        export_registry_as(
            f"sqlite:///{synthetic}",
            path,
            "csv",
            "tester",
            deidentify=DeidentifyOptions(key.encode()),
        )
        paths.append(path)
    a, b, _ = (p.read_text(encoding="utf-8") for p in paths)
    assert a == b
    assert not {r["patient_id"] for r in _csv(paths[0])} & {r["patient_id"] for r in _csv(paths[2])}


def test_coarsened_spss_export(synthetic, tmp_path):
    path = tmp_path / "coarse.sav"
    export_registry_as(
        f"sqlite:///{synthetic}",
        path,
        "sav",
        "tester",
        deidentify=DeidentifyOptions(KEY.encode(), coarsen_age=True, year_only=True),
    )
    frame, meta = pyreadstat.read_sav(str(path))
    assert "birth_date" not in frame.columns and "ilp_date" not in frame.columns
    bands = meta.variable_value_labels["age_band"]
    assert all(int(v) % 5 == 0 for v in frame["age_band"])
    assert (
        bands[float(frame["age_band"][0])]
        == f"{int(frame['age_band'][0])}-{int(frame['age_band'][0]) + 4}"
    )
    assert frame["ilp_date_year"].between(1900, date.today().year).all()
    manifest = json.loads((tmp_path / "coarse.sav.manifest.json").read_text(encoding="utf-8"))
    assert set(manifest["coarsened"]) == {"birth_date", "dates"}


def test_cli_refuses_without_key_and_writes_nothing(synthetic, tmp_path, monkeypatch):
    monkeypatch.delenv("ILP_PSEUDONYM_KEY", raising=False)
    target = tmp_path / "x.csv"
    result = ilp("export", "--db", str(synthetic), "--deidentify", str(target))
    assert result.exit_code == 1
    assert "ILP_PSEUDONYM_KEY" in " ".join(result.output.split())
    assert not target.exists()
    result = ilp("export", "--db", str(synthetic), "--coarsen-age", str(target))
    assert result.exit_code == 1 and "--deidentify" in result.output
    assert os.listdir(tmp_path) == []
