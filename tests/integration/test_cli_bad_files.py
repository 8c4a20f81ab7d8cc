"""Bad registry and readings files end with a clear message and exit 1, never the CLI's
"unexpected problem" (exit 70)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ilpkit.adapters.protocol_file import ENV_VAR
from ilpkit.cli.main import build_app

CAL = ["--isotope", "tc99m", "--background", "100", "--calibration", "1100"]


def ilp(*args: str, cwd: Path, input: bytes | None = None):
    old = Path.cwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(
            build_app(), list(args), env={"COLUMNS": "250", ENV_VAR: ""}, input=input
        )
    finally:
        os.chdir(old)


def flat(text: str) -> str:
    return " ".join(text.split())


def assert_clear(result, *expected: str) -> None:
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    out = flat(result.output)
    for text in expected:
        assert text in out, out
    assert "unexpected problem" not in out and "Traceback" not in out


def test_integer_cell_beyond_pythons_limit_lists_every_problem(tmp_path, row_factory, csv_file):
    path = csv_file(
        [row_factory(wieberdink_grade="7" * 4301), row_factory(patient_id="SYN-0002", sex="X")]
    )
    result = ilp("validate", str(path), cwd=tmp_path)
    assert_clear(result, "2 problem(s) - nothing was saved", "has 4,301 digits", "sex")


def test_non_ascii_digits_in_registry(tmp_path, row_factory, csv_file):
    path = csv_file([row_factory(limb_volume_l="８")])
    result = ilp("import", str(path), cwd=tmp_path)
    assert_clear(result, "uses the digit '８' (FULLWIDTH DIGIT EIGHT)")
    assert not (tmp_path / "ilp.sqlite3").exists()


def test_semicolon_registry(tmp_path, row_factory, csv_file):
    path = csv_file([row_factory()])
    path.write_text(path.read_text(encoding="utf-8").replace(",", ";"), encoding="utf-8")
    assert_clear(ilp("validate", str(path), cwd=tmp_path), "separated by semicolons")


def test_million_column_registry_header_is_refused_quickly(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text(",".join(f"c{i}" for i in range(1_000_000)) + "\n", encoding="utf-8")
    started = time.perf_counter()
    result = ilp("validate", str(path), cwd=tmp_path)
    assert time.perf_counter() - started < 15  # about 1 s; it took 145 s
    assert_clear(result, "the header has 1,000,000 columns")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"minute,counts_per_s\n0,150\n1e6,150\n", "later than the longest plausible perfusion"),
        (b"minute,counts_per_s\n0," + b"1" * 200_000 + b"\n", "a cell is longer than 128 KiB"),
        (bytes(range(256)) * 4, "the file is not UTF-8 text"),
        (b"minute,counts_per_s\n0,1\x0050\n", "the file contains a NUL byte"),
        (b"minute;counts_per_s\n0;150\n", "this file is separated by semicolons"),
        (b"minute,counts_per_s,minute\n0,150,5\n", "names the column(s) minute more than once"),
        ("minute,counts_per_s\n0,१५०\n".encode(), "uses the digit '१' (DEVANAGARI DIGIT ONE)"),
        ("minute,counts_per_s\n0,150\n".encode("utf-32"), "the file is UTF-32 text"),
    ],
)
def test_bad_readings_files(tmp_path, content, expected):
    path = tmp_path / "readings.csv"
    path.write_bytes(content)
    assert_clear(ilp("leakage", str(path), *CAL, cwd=tmp_path), expected)


def test_binary_readings_on_standard_input(tmp_path):
    result = ilp("leakage", "-", *CAL, cwd=tmp_path, input=bytes(range(256)) * 4)
    assert_clear(result, "standard input", "the file is not UTF-8 text")


def test_leakage_with_200000_readings_runs_in_seconds(tmp_path):
    path = tmp_path / "readings.csv"
    n = 200_000
    # one reading every 0.06 s over 200 minutes (a perfusion lasts at most 240 minutes)
    lines = "".join(f"{i / 1000:.3f},{150 + i % 7}\n" for i in range(n))
    path.write_text("minute,counts_per_s\n" + lines, encoding="utf-8")
    started = time.perf_counter()
    result = ilp("leakage", str(path), *CAL, cwd=tmp_path)
    elapsed = time.perf_counter() - started
    assert result.exit_code == 0, result.output[-2000:]
    assert "199.999" in result.output  # the last reading is listed
    assert elapsed < 60  # about 3 s; it took minutes (quadratic, and a Rich table per row)
