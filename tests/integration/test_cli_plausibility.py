"""Plausibility at the point of entry through the CLI: laboratory units, limb volumes, leakage
minutes, and the exit status when leakage reaches the stop level."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from ilpkit.adapters.protocol_file import ENV_VAR
from ilpkit.cli.main import build_app

WIDE = {"COLUMNS": "200", ENV_VAR: ""}
LEG = ["plan", "--limb", "leg", "--level", "femoral", "--volume-l", "8"]


def run(*args: str, input: str | None = None):
    result = CliRunner().invoke(build_app(), list(args), env=WIDE, input=input)
    assert "Traceback" not in result.output
    assert result.exit_code != 70
    return result


def flat(text: str) -> str:
    return " ".join(text.split())


# ------------------------------------------------------------------------- laboratory units


@pytest.mark.parametrize(
    ("labs", "expected"),
    [
        # 2.5 mg/dL x 88.4 = 221 µmol/L
        (
            "creatinine_umol_per_l=2.5",
            "2.5 µmol/L is not a plausible creatinine value; in mg/dL that is 221 µmol/L",
        ),
        # 120 g/L x 0.1 = 12 g/dL
        ("haemoglobin_g_per_dl=120", "in g/L that is 12 g/dL"),
        # 210000 /µL / 1000 = 210 x10^9/L
        ("platelets_e9_per_l=210000", "in /µL that is 210 x10^9/L"),
    ],
)
def test_plan_refuses_a_lab_value_in_the_wrong_unit(labs, expected):
    for extra in ([], ["--json"]):
        result = run(*LEG, "--labs", labs, *extra)
        assert result.exit_code == 1
        assert expected in flat(result.output)
        assert "ELIGIBLE" not in result.output and "OK" not in result.output


def test_plan_with_plausible_labs_still_works():
    result = run(*LEG, "--labs", "creatinine_umol_per_l=221,haemoglobin_g_per_dl=12")
    assert result.exit_code == 3  # 221 µmol/L is above the SmPC's 150: not eligible
    assert "Creatinine 221 µmol/L is above 150" in flat(result.output)


# ----------------------------------------------------------------------------- limb volume


@pytest.mark.parametrize(
    ("limb", "level", "volume", "rng"),
    [("arm", "axillary", "12", "1 to 7 L"), ("leg", "femoral", "0.4", "3 to 20 L")],
)
def test_plan_warns_about_an_unlikely_limb_volume(limb, level, volume, rng):
    result = run("plan", "--limb", limb, "--level", level, "--volume-l", volume)
    assert result.exit_code == 0
    text = flat(result.output)
    assert f"LIMB VOLUME UNLIKELY: {volume} L is outside the plausible {rng}" in text
    assert "Beasley 2012" in text
    data = json.loads(
        run("plan", "--limb", limb, "--level", level, "--volume-l", volume, "--json").stdout
    )
    assert [n["kind"] for n in data["notices"]].count("limb_volume") == 1


def test_plan_with_a_typical_volume_has_no_volume_warning():
    assert "LIMB VOLUME" not in run(*LEG).output


def test_import_summary_warns_about_an_unlikely_limb_volume(tmp_path, row_factory, csv_file):
    db = f"sqlite:///{tmp_path / 'r.sqlite3'}"
    rows = [
        row_factory(limb_volume_l="0.4", melphalan_mg="4"),
        row_factory(patient_id="SYN-0002", limb="arm", perfusion_level="axillary",
                    limb_volume_l="12", melphalan_mg="150"),
    ]  # fmt: skip
    result = run("import", str(csv_file(rows)), "--db", db, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["perfusions_created"] == 2
    warnings = {w["line"]: w for w in report["warnings"]}
    assert warnings[2]["field"] == "limb_volume_l" and warnings[2]["value"] == "0.4"
    assert "outside the plausible 3 to 20 L" in warnings[2]["reason"]
    assert warnings[3]["field"] == "limb_volume_l" and warnings[3]["value"] == "12"
    assert "outside the plausible 1 to 7 L" in warnings[3]["reason"]
    text = flat(run("validate", str(csv_file(rows))).output)
    assert "0.4 L is outside the plausible 3 to 20 L" in text


# --------------------------------------------------------------------------------- leakage

CAL = ["--isotope", "tc99m", "--background", "100", "--calibration", "1100"]
# 0 min: 0.10 x (150 - 100) / 1000 x 100 = 0.5 %; 10 min: 0.10 x 150 / 1000 x 100 = 1.5 %
# x exp(ln2 x 10 / 360.6) = 1.529 %: below the 5 % notify level
QUIET = "minute,counts_per_s\n0,150\n10,250\n"
# 20 min: 0.10 x 1150 / 1000 x 100 = 11.5 % x exp(ln2 x 20 / 360.6) = 11.95 %: stop
STOPPED = "minute,counts_per_s\n0,150\n10,700\n20,1250\n"
# 10 min: 6.0 % x 1.0194 = 6.12 %: notify only
NOTIFIED = "minute,counts_per_s\n0,150\n10,700\n"


@pytest.mark.parametrize(("readings", "status"), [(QUIET, 0), (NOTIFIED, 0), (STOPPED, 3)])
def test_leakage_exit_status_says_whether_the_stop_level_was_reached(tmp_path, readings, status):
    path = tmp_path / "r.csv"
    path.write_text(readings, encoding="utf-8")
    for extra in ([], ["--json"]):
        result = run("leakage", str(path), *CAL, *extra)
        assert result.exit_code == status, result.output
    # the curve is printed in full either way
    assert json.loads(run("leakage", str(path), *CAL, "--json").stdout)["readings"]


def test_leakage_refuses_reading_times_in_seconds(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("minute,counts_per_s\n0,150\n300,160\n600,170\n1800,180\n", encoding="utf-8")
    result = run("leakage", str(path), *CAL)
    assert result.exit_code == 1
    text = flat(result.stderr)
    assert "minute = 300: later than the longest plausible perfusion (240 min" in text
    assert "The times look like seconds (300 s = 5 min)" in text
    assert result.stdout == ""


def test_leakage_output_states_the_assumption_about_the_standard(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text(QUIET, encoding="utf-8")
    text = flat(run("leakage", str(path), *CAL).stdout)
    assert "Assumption: the 10% standard was not injected into the patient" in text
    assert "10 percentage points too high" in text
    data = json.loads(run("leakage", str(path), *CAL, "--json").stdout)
    assert data["assumption"].startswith("Assumption: the 10% standard was not injected")
    # --standard-fraction 0.05: a standard left in the patient adds 0.05 x 100 = 5 points
    half = run("leakage", str(path), *CAL, "--standard-fraction", "0.05", "--json")
    assert "the 5% standard" in json.loads(half.stdout)["assumption"]
    assert "5 percentage points too high" in json.loads(half.stdout)["assumption"]
