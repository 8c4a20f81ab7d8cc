"""``--problems FILE``: never overwrites without --replace; a file that cannot be written is said
so truthfully, and the problem list is still printed."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ilpkit.cli.main import build_app


def ilp(*args: str, cwd: Path):
    old = Path.cwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(build_app(), list(args), env={"COLUMNS": "200"})
    finally:
        os.chdir(old)


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture
def bad_file(row_factory, csv_file) -> Path:
    return csv_file([row_factory(tnf_mg="7"), row_factory(patient_id="SYN-0002", sex="X")])


@pytest.mark.parametrize("command", ["import", "validate"])
def test_existing_problems_file_is_kept_without_replace(tmp_path, bad_file, command):
    problems = tmp_path / "problems.csv"
    problems.write_text("precious\n", encoding="utf-8")
    result = ilp(command, str(bad_file), "--problems", str(problems), cwd=tmp_path)
    assert result.exit_code == 1, result.output
    assert problems.read_text(encoding="utf-8") == "precious\n"
    out = flat(result.output)
    assert "already exists" in out and "--replace" in out and "Nothing was imported" in out
    assert not (tmp_path / "ilp.sqlite3").exists()


def test_replace_overwrites_the_problems_file(tmp_path, bad_file):
    problems = tmp_path / "problems.csv"
    problems.write_text("precious\n", encoding="utf-8")
    result = ilp("validate", str(bad_file), "--problems", str(problems), "--replace", cwd=tmp_path)
    assert result.exit_code == 1, result.output
    with problems.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["line"], r["column"]) for r in rows] == [("2", "tnf_mg"), ("3", "sex")]


def test_unwritable_problems_file_still_lists_the_problems(tmp_path, bad_file):
    problems = tmp_path / "no-such-folder" / "problems.csv"
    result = ilp("import", str(bad_file), "--problems", str(problems), cwd=tmp_path)
    assert result.exit_code == 1, result.output
    out = flat(result.output)
    assert "2 problem(s) - nothing was saved" in out
    assert "tnf_mg" in out and "sex" in out
    assert "could not be written to" in out and "No such file or directory" in out
    assert "Nothing was imported" in out
    assert "unexpected problem" not in out and "Traceback" not in out
    assert not problems.exists()


def test_problems_file_that_is_a_folder_is_refused(tmp_path, bad_file):
    result = ilp("validate", str(bad_file), "--problems", str(tmp_path), cwd=tmp_path)
    assert result.exit_code == 1, result.output
    assert "is a folder" in flat(result.output)
