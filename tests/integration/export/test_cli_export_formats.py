"""``ilp export`` as a user runs it: messages, exit codes, no tracebacks."""

from __future__ import annotations

import pyreadstat
from typer.testing import CliRunner

from ilpkit.cli.main import build_app

runner = CliRunner()


def ilp(*args: str):
    return runner.invoke(build_app(), list(args), catch_exceptions=False)


def flat(text: str) -> str:
    return " ".join(text.split())


def test_help_has_examples():
    result = ilp("export", "--help")
    assert result.exit_code == 0 and "Example" in result.output


def test_export_then_refuse_overwrite_then_replace(sqlite_registry, out_dir):
    db = sqlite_registry
    target = out_dir / "registry.sav"
    result = ilp("export", "--db", db, "--format", "sav", str(target))
    assert result.exit_code == 0, result.output
    assert "Exported 4 rows (3 patients, 4 perfusions)" in flat(result.output)
    frame, _ = pyreadstat.read_sav(str(target))
    assert len(frame) == 4
    result = ilp("export", "--db", db, "--format", "sav", "--per", "patient", str(target))
    assert result.exit_code == 1
    assert "already exists; nothing was written (add --replace" in flat(result.output)
    result = ilp(
        "export", "--db", db, "--format", "sav", "--per", "patient", "--replace", str(target)
    )
    assert result.exit_code == 0, result.output
    frame, _ = pyreadstat.read_sav(str(target))
    assert len(frame) == 3


def test_user_errors_exit_1_database_errors_exit_3(sqlite_registry, out_dir, tmp_path):
    result = ilp("export", "--db", str(tmp_path / "none.sqlite3"), str(out_dir / "x.csv"))
    assert result.exit_code == 1 and "there is no registry" in flat(result.output)
    result = ilp(
        "export",
        "--db",
        sqlite_registry,
        "--format",
        "odm",
        "--per",
        "patient",
        str(out_dir / "x.xml"),
    )
    assert result.exit_code == 1 and "already group" in flat(result.output)
    result = ilp("export", "--db", sqlite_registry, str(tmp_path / "missing" / "x.csv"))
    assert result.exit_code == 1 and "does not exist" in flat(result.output)
    result = ilp("export", "--db", "postgresql://nobody@127.0.0.1:1/none", str(out_dir / "x.csv"))
    assert result.exit_code == 3 and "cannot use the database" in flat(result.output)
    result = ilp("export", "--db", sqlite_registry, "--format", "xls", str(out_dir / "x"))
    assert result.exit_code == 2
    assert list(out_dir.iterdir()) == []
