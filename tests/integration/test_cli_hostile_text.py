"""Text from files, the database and the command line reaches the terminal inert.

Cell text is never read as Rich markup, and terminal escape sequences (screen clearing, hidden
hyperlinks, window titles) never reach the output; the command ends with its normal exit code.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ilpkit.adapters.protocol_file import ENV_VAR
from ilpkit.cli.console import plain, safe
from ilpkit.cli.main import build_app

CLOSE_TAG = "[/bold]"
LINK_MARKUP = "[link=http://evil.example]click[/link]"
OSC_LINK = "\x1b]8;;http://evil.example\x07click\x1b]8;;\x07"
CLEAR_SCREEN = "\x1b[2J"
CONTROL_BYTES = ("\x1b", "\x07", "\x9b", "\x9d")


def ilp(*args: str, cwd: Path, env: dict[str, str] | None = None):
    old = Path.cwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(
            build_app(), list(args), env={"COLUMNS": "250", ENV_VAR: "", **(env or {})}
        )
    finally:
        os.chdir(old)


def flat(text: str) -> str:
    return " ".join(text.split())


def assert_inert(output: str) -> None:
    for byte in CONTROL_BYTES:
        assert byte not in output, f"{byte!r} reached the output"
    assert "Traceback" not in output and "unexpected problem" not in output


# --- the helper -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        (CLOSE_TAG, CLOSE_TAG),
        (LINK_MARKUP, LINK_MARKUP),
        (OSC_LINK, "click"),
        (f"SYN-1{CLEAR_SCREEN}", "SYN-1"),
        ("a\x9b31mred", "ared"),  # 8-bit CSI
        ("title\x1b]0;pwned\x1b\\", "title"),  # window title, ended by ST
        ("left\u202eright", "leftright"),  # bidirectional override
        ("tab\there\r", "tab here"),
        ("Müller 😀", "Müller 😀"),
    ],
)
def test_plain_removes_escape_sequences_and_controls(raw, shown):
    assert plain(raw) == shown


def test_safe_text_prints_literally_through_rich_markup():
    from io import StringIO

    from rich.console import Console

    buffer = StringIO()
    Console(file=buffer, width=200).print(f"[bold]value:[/bold] {safe(LINK_MARKUP + CLOSE_TAG)}")
    assert buffer.getvalue() == f"value: {LINK_MARKUP}{CLOSE_TAG}\n"


# --- registry files -----------------------------------------------------------------------------


def test_validate_lists_hostile_cells_literally(tmp_path, row_factory, csv_file):
    path = csv_file(
        [
            row_factory(patient_id=CLOSE_TAG),
            row_factory(patient_id="SYN-0002", center=LINK_MARKUP),
            row_factory(patient_id="SYN-0003", histology=OSC_LINK),
            row_factory(patient_id="SYN-0004", sex=CLEAR_SCREEN),
        ]
    )
    result = ilp("validate", str(path), cwd=tmp_path)
    assert result.exit_code == 1, result.output
    assert_inert(result.output)
    out = flat(result.output)
    assert "4 problem(s) - nothing was saved" in out
    assert CLOSE_TAG in out
    assert LINK_MARKUP in out
    assert "patient_id" in out and "center" in out and "histology" in out and "sex" in out


def test_import_of_a_file_whose_name_is_markup(tmp_path, row_factory, csv_file):
    name = "[link=https:evil.example]x[bold].csv"
    path = csv_file([row_factory()]).rename(tmp_path / name)
    result = ilp("import", str(path), cwd=tmp_path)
    assert result.exit_code == 0, result.output
    assert_inert(result.output)
    assert f"rows from {name}:" in flat(result.output)


def test_audit_shows_hostile_actor_literally(tmp_path, row_factory, csv_file):
    path = csv_file([row_factory()])
    actor = f"{CLOSE_TAG}{OSC_LINK}{CLEAR_SCREEN}"
    assert ilp("import", str(path), cwd=tmp_path, env={"ILP_USER": actor}).exit_code == 0
    result = ilp("audit", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    assert_inert(result.output)
    assert f"{CLOSE_TAG}click" in result.output


def test_missing_file_named_with_escape_sequences(tmp_path):
    result = ilp("validate", f"{CLEAR_SCREEN}{CLOSE_TAG}.csv", cwd=tmp_path)
    assert result.exit_code == 1
    assert_inert(result.output)
    assert f"{CLOSE_TAG}.csv" in result.output and "no such file" in result.output


# --- leakage readings and the planning sheet --------------------------------------------------

CAL = ["--isotope", "tc99m", "--background", "100", "--calibration", "1100"]


def test_leakage_readings_with_hostile_cells(tmp_path):
    path = tmp_path / "readings.csv"
    path.write_text(
        f"minute,counts_per_s\n0,{CLOSE_TAG}\n{CLEAR_SCREEN}5,150\n10,{LINK_MARKUP}\n"
        f"15,{OSC_LINK}\n",
        encoding="utf-8",
    )
    result = ilp("leakage", str(path), *CAL, cwd=tmp_path)
    assert result.exit_code == 1, result.output
    assert_inert(result.output)
    out = flat(result.output)
    assert f"value '{CLOSE_TAG}': not a number" in out
    assert f"value '{LINK_MARKUP}': not a number" in out


def test_leakage_header_with_markup_is_quoted_literally(tmp_path):
    path = tmp_path / "readings.csv"
    path.write_text(f"minute,{LINK_MARKUP}{CLEAR_SCREEN}\n0,150\n", encoding="utf-8")
    result = ilp("leakage", str(path), *CAL, cwd=tmp_path)
    assert result.exit_code == 1, result.output
    assert_inert(result.output)
    assert LINK_MARKUP in flat(result.output)


def test_plan_sheet_with_hostile_protocol_text(tmp_path):
    protocol = tmp_path / "protocols.toml"
    from ilpkit.adapters.protocol_file import shipped_protocol_text

    text = shipped_protocol_text()
    title = f"Trial {CLOSE_TAG} {LINK_MARKUP}"
    text += f"""
[protocols.hostile]
version = "0.1"
title = "{title}\\u001b[2J"
study = true
study_reference = "ref \\u001b]8;;http://evil.example\\u0007x"
tnf_mg.arm = {{ value = 3.0, source = "SmPC {CLOSE_TAG}" }}
tnf_mg.leg = {{ value = 4.0, source = "SmPC" }}
melphalan_mg_per_l.arm = {{ value = 13.0, source = "SmPC" }}
melphalan_mg_per_l.leg = {{ value = 10.0, source = "SmPC" }}
melphalan_max_mg = {{ value = 150.0, source = "SmPC" }}
"""
    protocol.write_text(text, encoding="utf-8")
    result = ilp(
        "plan",
        "--limb",
        "leg",
        "--level",
        "femoral",
        "--volume-l",
        "8",
        "--protocol",
        "hostile",
        "--protocol-file",
        str(protocol),
        cwd=tmp_path,
    )
    assert result.exit_code == 0, result.output
    assert_inert(result.output)
    assert title in flat(result.output)


# --- the problems file --------------------------------------------------------------------------


def test_problems_file_cells_cannot_run_as_formulas(tmp_path, row_factory, csv_file):
    formula = '=HYPERLINK("http://evil.example","click")'
    path = csv_file(
        [
            row_factory(tnf_mg=formula),
            row_factory(patient_id="SYN-0002", sex="@SUM(A1)"),
            row_factory(patient_id="SYN-0003", histology="+1+1"),
            row_factory(patient_id="SYN-0004", limb="-2+3"),
        ]
    )
    problems = tmp_path / "problems.csv"
    result = ilp("validate", str(path), "--problems", str(problems), cwd=tmp_path)
    assert result.exit_code == 1, result.output
    with problems.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    values = {r["column"]: r["value"] for r in rows}
    assert values["tnf_mg"] == "'" + formula
    assert values["sex"] == "'@SUM(A1)"
    assert values["histology"] == "'+1+1"
    assert values["limb"] == "'-2+3"
    for row in rows:
        for cell in row.values():
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), row
