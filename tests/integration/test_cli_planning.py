"""``ilp plan`` and ``ilp leakage`` through the CLI: output, JSON, errors (never a traceback)."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ilpkit.adapters.protocol_file import ENV_VAR, shipped_protocol_text
from ilpkit.cli.main import build_app

WIDE = {"COLUMNS": "200", ENV_VAR: ""}
LEG = ["plan", "--limb", "leg", "--level", "femoral"]
WORKED = [*LEG, "--circumferences-cm", "56,48,40,36,30,24", "--spacing-cm", "10"]
READINGS = "minute,counts_per_s\n0,150\n10,700\n20,1250\n"
CAL = ["--isotope", "tc99m", "--background", "100", "--calibration", "1100"]
STUDY = """
[protocols.my-trial]
version = "0.3"
title = "Trial arm"
study = true
study_reference = "EudraCT 2099-000000-00"
tnf_mg.arm = { value = 3.0, source = "SmPC" }
tnf_mg.leg = { value = 6.0, source = "trial protocol" }
melphalan_mg_per_l.arm = { value = 13.0, source = "SmPC" }
melphalan_mg_per_l.leg = { value = 10.0, source = "SmPC" }
melphalan_max_mg = { value = 150.0, source = "SmPC" }
"""


def run(*args: str, env: dict[str, str] | None = None, input: str | None = None):
    result = CliRunner().invoke(build_app(), list(args), env={**WIDE, **(env or {})}, input=input)
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), result.exception
    return result


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture
def readings_csv(tmp_path: Path) -> Path:
    path = tmp_path / "readings.csv"
    path.write_text(READINGS, encoding="utf-8")
    return path


# ----------------------------------------------------------------------------------------- plan


def test_plan_sheet_worked_example():
    result = run(*WORKED)
    assert result.exit_code == 0, result.output
    out = flat(result.stdout)
    # V = 19800/pi mL = 6.30 L; melphalan 10 mg/L * 6.30 L = 63.0 mg; flow 40 * 6.30 = 252 mL/min
    assert "6.30 L" in out
    assert "4 mg" in out
    assert "10 mg/L x 6.30 L = 63.0 mg" in out
    assert "252 mL/min" in out and "189 mL/min" in out
    assert "700-800 mL" in out and "38-39.5 °C" in out
    assert "Sources" in out and "SmPC: 4 mg for a lower limb" in out
    assert "item(s) not given" in out


def test_plan_json_keys_and_values():
    result = run(*WORKED, "--json")
    assert result.exit_code == 0, result.output
    d = json.loads(result.stdout)
    for key in (
        "limb_volume_l",
        "tnf_mg",
        "melphalan_mg",
        "melphalan_mg_per_l",
        "melphalan_capped",
        "protocol",
        "findings",
    ):
        assert key in d
    assert d["limb_volume_l"] == pytest.approx(19800 / math.pi / 1000)
    assert d["melphalan_mg"] == pytest.approx(19800 / math.pi / 100)  # 10 mg/L
    assert d["protocol"] == "label"
    assert d["findings"][0]["item"] == "not_given"


def test_plan_cap_is_shown_prominently():
    result = run(*LEG, "--volume-l", "16")
    assert result.exit_code == 0
    # 10 mg/L * 16 L = 160 mg > 150 mg: 150/16 = 9.375 mg/L
    assert "MELPHALAN CAPPED at 150 mg" in flat(result.stdout)
    assert "9.38 mg/L" in flat(result.stdout)


def test_plan_reduced_protocol_arm():
    result = run(
        "plan",
        "--limb",
        "arm",
        "--level",
        "axillary",
        "--volume-l",
        "2.5",
        "--protocol",
        "reduced-tnf",
        "--json",
    )
    d = json.loads(result.stdout)
    assert (d["tnf_mg"], d["melphalan_mg"]) == (1.0, 32.5)  # 13 mg/L * 2.5 L


def test_plan_not_eligible_exit_status_3():
    result = run(
        *LEG,
        "--volume-l",
        "8",
        "--labs",
        "leukocytes_e9_per_l=2.0,severe_ascites=no",
        "--labs",
        "platelets_e9_per_l=200",
    )
    assert result.exit_code == 3
    out = flat(result.stdout)
    assert "NOT ELIGIBLE" in out
    assert "Leukocytes 2 x10^9/L is below 2.5" in out


def test_study_protocol_banner_from_a_centre_file(tmp_path):
    path = tmp_path / "centre.toml"
    path.write_text(shipped_protocol_text() + STUDY, encoding="utf-8")
    result = run(*LEG, "--volume-l", "8", "--protocol", "my-trial", "--protocol-file", str(path))
    assert result.exit_code == 0, result.output
    out = flat(result.stdout)
    assert "STUDY PROTOCOL 'my-trial' version 0.3" in out
    assert "tnf_mg.leg = 6 mg is above the label 4 mg" in out
    # the same file through the environment variable
    result = run(
        *LEG, "--volume-l", "8", "--protocol", "my-trial", "--json", env={ENV_VAR: str(path)}
    )
    d = json.loads(result.stdout)
    assert d["study_protocol"] is True and d["tnf_mg"] == 6.0


def test_non_study_file_above_the_label_is_refused(tmp_path):
    path = tmp_path / "unsafe.toml"
    path.write_text(
        shipped_protocol_text()
        + STUDY.replace("study = true\n", "").replace(
            'study_reference = "EudraCT 2099-000000-00"\n', ""
        ),
        encoding="utf-8",
    )
    result = run(*LEG, "--volume-l", "8", "--protocol-file", str(path))
    assert result.exit_code == 1
    err = flat(result.stderr)
    assert f"protocol file {path}" in err
    assert "tnf_mg.leg = 6 mg is above the label 4 mg for a leg" in err
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["--limb", "leg", "--level", "axillary", "--volume-l", "8"],
            "level = 'axillary' does not match limb = 'leg'",
        ),
        (["--limb", "leg", "--level", "femoral"], "the limb volume is missing"),
        (
            [
                "--limb",
                "leg",
                "--level",
                "femoral",
                "--volume-l",
                "8",
                "--circumferences-cm",
                "30,30",
            ],
            "either as --volume-l (water displacement) or as --circumferences-cm",
        ),
        (
            ["--limb", "leg", "--level", "femoral", "--circumferences-cm", "30,30"],
            "--circumferences-cm 30,30 needs --spacing-cm",
        ),
        (
            [
                "--limb",
                "leg",
                "--level",
                "femoral",
                "--circumferences-cm",
                "30,3O",
                "--spacing-cm",
                "10",
            ],
            "--circumferences-cm: '3O' is not a number",
        ),
        (
            [
                "--limb",
                "leg",
                "--level",
                "femoral",
                "--circumferences-cm",
                "30",
                "--spacing-cm",
                "10",
            ],
            "1 circumference(s) given (30 cm); at least two are needed",
        ),
        (
            [
                "--limb",
                "leg",
                "--level",
                "femoral",
                "--circumferences-cm",
                "30,130",
                "--spacing-cm",
                "10",
            ],
            "circumference 2 of 2 = 130 cm",
        ),
        (
            [
                "--limb",
                "leg",
                "--level",
                "femoral",
                "--circumferences-cm",
                "30,30",
                "--spacing-cm",
                "30",
            ],
            "spacing_cm = 30 cm: the spacing must be 1 to 15 cm",
        ),
        (
            ["--limb", "leg", "--level", "femoral", "--volume-l", "8600"],
            "limb volume = 8600 L (measured): must be 0.3 to 30 L",
        ),
        (
            ["--limb", "leg", "--level", "femoral", "--volume-l", "nan"],
            "volume_l = nan: not a finite number",
        ),
        (
            ["--limb", "leg", "--level", "femoral", "--volume-l", "8", "--protocol", "rotterdam"],
            "no protocol named 'rotterdam'; available protocols: label, reduced-tnf, low-dose-tnf",
        ),
        (
            ["--limb", "leg", "--level", "femoral", "--volume-l", "8", "--labs", "wbc=5"],
            "'wbc' is not a known eligibility item",
        ),
        (
            [
                "--limb",
                "leg",
                "--level",
                "femoral",
                "--volume-l",
                "8",
                "--labs",
                "severe_ascites=?",
            ],
            "severe_ascites = '?': answer yes or no",
        ),
        (
            [
                "--limb",
                "leg",
                "--level",
                "femoral",
                "--volume-l",
                "8",
                "--protocol-file",
                "/nonexistent/p.toml",
            ],
            "protocol file /nonexistent/p.toml: file not found",
        ),
    ],
)
def test_plan_errors_name_the_value_and_the_reason(args, expected):
    result = run("plan", *args)
    assert result.exit_code == 1, result.output
    assert expected in flat(result.stderr)
    assert flat(result.stderr).startswith("Error:")


def test_plan_usage_errors_are_not_tracebacks():
    result = run("plan", "--limb", "foot", "--level", "femoral", "--volume-l", "8")
    assert result.exit_code == 2
    assert "foot" in result.output


# -------------------------------------------------------------------------------------- leakage


def test_leakage_table(readings_csv):
    result = run("leakage", str(readings_csv), *CAL)
    assert result.exit_code == 3, result.output  # leakage reached the stop level
    out = flat(result.stdout)
    # 0 min: 0.10*(150-100)/1000*100 = 0.50 %; 10 min: 6.0 % * exp(ln2*10/360.6) = 6.12 %
    # 20 min: 11.5 % * exp(ln2*20/360.6) = 11.95 %
    assert "0.50" in out and "6.12" in out and "11.95" in out
    assert "NOTIFY at minute 10" in out
    assert "STOP at minute 20" in out
    assert "at least 2 L of dextran" in out


def test_leakage_json(readings_csv):
    result = run("leakage", str(readings_csv), *CAL, "--json")
    assert result.exit_code == 3, result.output  # leakage reached the stop level
    d = json.loads(result.stdout)
    assert [r["level"] for r in d["readings"]] == ["ok", "notify", "stop"]
    assert d["readings"][0] == {"minute": 0.0, "leakage_pct": pytest.approx(0.5), "level": "ok"}
    assert d["first_alert"]["minute"] == 10.0
    assert d["first_stop"]["minute"] == 20.0
    assert d["standard_fraction"] == 0.10


def test_leakage_standard_fraction_option(readings_csv):
    result = run("leakage", str(readings_csv), *CAL, "--standard-fraction", "0.05", "--json")
    # 0.05 * (150 - 100) / 1000 * 100 = 0.25 %
    assert json.loads(result.stdout)["readings"][0]["leakage_pct"] == pytest.approx(0.25)


def test_leakage_from_standard_input():
    result = run("leakage", "-", *CAL, "--json", input=READINGS)
    assert result.exit_code == 3, result.output  # leakage reached the stop level
    assert len(json.loads(result.stdout)["readings"]) == 3


def test_leakage_plot(readings_csv, tmp_path):
    png = tmp_path / "curve.png"
    result = run("leakage", str(readings_csv), *CAL, "--plot", str(png))
    assert result.exit_code == 3, result.output  # leakage reached the stop level
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Leakage curve written to" in result.stderr


@pytest.mark.parametrize(
    ("content", "extra", "expected"),
    [
        (
            "minute,counts_per_s\n0,150\n5,abc\n",
            [],
            "line 3, column 'counts_per_s', value 'abc': not a number",
        ),
        (
            "minute,counts_per_s\n0,150\n0,160\n",
            [],
            "line 3, column 'minute', value '0': must be later than the previous reading",
        ),
        ("minute,counts_per_s\n0,-1\n", [], "line 2, column 'counts_per_s', value '-1'"),
        ("minute,counts_per_s\n0,150,3\n", [], "line 2: expected 2 values"),
        ("time,cps\n0,150\n", [], "lacks the column(s) minute, counts_per_s"),
        (
            READINGS,
            ["--isotope", "tc99m", "--background", "500", "--calibration", "400"],
            "calibration = 400 cps is not above background = 500 cps",
        ),
        (
            READINGS,
            ["--isotope", "xe133", "--background", "100", "--calibration", "1100"],
            "isotope = 'xe133': unknown isotope; use one of tc99m, i131, in111",
        ),
        (
            READINGS,
            [*CAL, "--standard-fraction", "1.5"],
            "standard fraction = 1.5: must be more than 0 and at most 1",
        ),
        (READINGS, [*CAL, "--plot", "curve.txt"], "the file must end in .png, .pdf, .svg"),
    ],
)
def test_leakage_errors(tmp_path, content, extra, expected):
    path = tmp_path / "r.csv"
    path.write_text(content, encoding="utf-8")
    result = run("leakage", str(path), *(extra or CAL))
    assert result.exit_code == 1, result.output
    assert expected in flat(result.stderr)


def test_leakage_missing_file(tmp_path):
    result = run("leakage", str(tmp_path / "none.csv"), *CAL)
    assert result.exit_code == 1
    assert "none.csv: not found" in flat(result.stderr)


@pytest.mark.parametrize("command", ["plan", "leakage"])
def test_help_has_examples(command):
    result = run(command, "--help")
    assert result.exit_code == 0
    assert "Examples:" in result.stdout
    assert f"ilp {command} " in result.stdout


# --------------------------------------------------------------------------- installed executable


def installed_ilp() -> str:
    beside_python = Path(sys.executable).parent / "ilp"
    found = str(beside_python) if beside_python.exists() else shutil.which("ilp")
    if found is None:
        pytest.skip("the ilp executable is not installed in this environment")
    return found


def test_installed_ilp_plan_and_leakage(tmp_path, readings_csv):
    env = {**os.environ, "COLUMNS": "200"}
    env.pop(ENV_VAR, None)
    plan = subprocess.run(
        [installed_ilp(), *WORKED, "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert plan.returncode == 0, plan.stderr
    assert json.loads(plan.stdout)["tnf_mg"] == 4.0
    leak = subprocess.run(
        [installed_ilp(), "leakage", str(readings_csv), *CAL],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert leak.returncode == 3, leak.stderr  # leakage reached the stop level
    assert "STOP at minute 20" in " ".join(leak.stdout.split())
    bad = subprocess.run(
        [installed_ilp(), "plan", "--limb", "arm", "--level", "iliac", "--volume-l", "2"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert bad.returncode == 1
    assert "Traceback" not in bad.stderr
    assert "does not match limb = 'arm'" in " ".join(bad.stderr.split())
