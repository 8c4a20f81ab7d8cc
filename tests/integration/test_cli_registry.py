"""The registry commands as a user runs them: exit codes, messages, no tracebacks."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ilpkit.cli.main import build_app

runner = CliRunner()


def flat(text: str) -> str:
    """Output with Rich's line wrapping undone."""
    return " ".join(text.split())


def ilp(*args: str, cwd: Path | None = None):
    old = Path.cwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        return runner.invoke(build_app(), list(args), catch_exceptions=False)
    finally:
        os.chdir(old)


def test_help_everywhere_has_examples():
    for command in (
        "init",
        "import",
        "validate",
        "export",
        "summary",
        "dictionary",
        "audit",
        "demo",
    ):
        result = ilp(command, "--help")
        assert result.exit_code == 0, command
        assert "Example" in result.output, command


def test_import_then_summary_on_default_sqlite_in_working_directory(
    tmp_path, row_factory, csv_file
):
    path = csv_file([row_factory(), row_factory(patient_id="SYN-0002")])
    result = ilp("import", str(path), cwd=tmp_path)
    assert result.exit_code == 0, result.output
    assert "2 new perfusions" in flat(result.output)
    assert (tmp_path / "ilp.sqlite3").exists()
    result = ilp("summary", "--json", cwd=tmp_path)
    assert json.loads(result.output)["n_perfusions"] == 2


def test_env_variable_names_the_database(tmp_path, row_factory, csv_file, monkeypatch):
    target = tmp_path / "elsewhere.sqlite3"
    monkeypatch.setenv("ILP_DATABASE_URL", f"sqlite:///{target}")
    assert ilp("import", str(csv_file([row_factory()])), cwd=tmp_path).exit_code == 0
    assert target.exists()
    assert not (tmp_path / "ilp.sqlite3").exists()


def test_bad_file_exit_code_and_problem_listing(tmp_path, row_factory, csv_file):
    path = csv_file([row_factory(), row_factory(patient_id="SYN-0002", tnf_mg="7", sex="X")])
    problems = tmp_path / "problems.csv"
    result = ilp("import", str(path), "--problems", str(problems), cwd=tmp_path)
    assert result.exit_code == 1
    assert "nothing was saved" in flat(result.output)
    assert "tnf_mg" in result.output and "Traceback" not in result.output
    lines = problems.read_text().splitlines()
    assert lines[0] == "line,column,value,reason,severity"
    assert len(lines) == 3 and lines[1].startswith("3,")


def test_validate_writes_nothing(tmp_path, row_factory, csv_file):
    result = ilp("validate", str(csv_file([row_factory()])), cwd=tmp_path)
    assert result.exit_code == 0, result.output
    assert "Nothing was saved" in flat(result.output)
    assert not (tmp_path / "ilp.sqlite3").exists()


def test_validate_json(tmp_path, row_factory, csv_file):
    result = ilp("validate", "--json", str(csv_file([row_factory(limb="wing")])), cwd=tmp_path)
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert payload["ok"] is False
    assert payload["problems"][0]["field"] == "limb"


def test_missing_file_and_missing_registry_are_clear(tmp_path):
    result = ilp("import", str(tmp_path / "nope.csv"), cwd=tmp_path)
    assert result.exit_code == 1 and "no such file" in flat(result.output)
    result = ilp("summary", cwd=tmp_path)
    assert result.exit_code == 1 and "there is no registry" in flat(result.output)


def test_unreachable_database_is_a_clear_error(tmp_path, row_factory, csv_file):
    result = ilp(
        "import",
        str(csv_file([row_factory()])),
        "--db",
        "postgresql://nobody@127.0.0.1:1/none",
        cwd=tmp_path,
    )
    assert result.exit_code == 3
    assert "cannot use the database" in flat(result.output)


def test_export_and_audit(tmp_path, row_factory, csv_file):
    ilp("import", str(csv_file([row_factory()])), cwd=tmp_path)
    result = ilp("export", "out.csv", cwd=tmp_path)
    assert result.exit_code == 0
    assert (tmp_path / "out.csv").read_text().startswith("patient_id,center,")
    result = ilp("audit", "--json", cwd=tmp_path)
    actions = [e["action"] for e in json.loads(result.output)]
    assert actions == ["export", "import"]


def test_large_import_shows_progress_and_succeeds(tmp_path, row_factory, csv_file):
    rows = [row_factory(patient_id=f"SYN-{i:05d}") for i in range(2500)]
    result = ilp("import", str(csv_file(rows)), cwd=tmp_path)
    assert result.exit_code == 0
    assert "2,500 new perfusions" in flat(result.output)


def _installed_ilp() -> str:
    candidate = Path(sys.executable).parent / "ilp"
    return str(candidate) if candidate.exists() else (shutil.which("ilp") or "ilp")


def test_installed_command_demo(tmp_path):
    result = subprocess.run(
        [_installed_ilp(), "demo", "--dir", str(tmp_path / "demo")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "SYNTHETIC" in result.stdout
    assert (tmp_path / "demo" / "registry.sqlite3").exists()


def test_installed_command_hostile_file_no_traceback(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_bytes("patient_id,center\nSé".encode("latin-1"))
    result = subprocess.run(
        [_installed_ilp(), "import", str(bad), "--db", str(tmp_path / "r.sqlite3")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert "not UTF-8" in result.stderr + result.stdout
    assert "Traceback" not in result.stderr + result.stdout


@pytest.mark.postgres
def test_cli_against_postgresql(postgres_url, row_factory, csv_file, tmp_path):
    url = postgres_url.replace("postgresql+psycopg://", "postgresql://")
    assert ilp("import", str(csv_file([row_factory()])), "--db", url, cwd=tmp_path).exit_code == 0
    result = ilp("summary", "--json", "--db", url, cwd=tmp_path)
    assert json.loads(result.output)["n_patients"] == 1
