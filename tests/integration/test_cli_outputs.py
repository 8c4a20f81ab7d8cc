"""What export, report and audit write, and whether what they say about it is true.

Every case checks the message and exit code against the file system and the audit log.
"""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from ilpkit.cli.main import build_app


def flat(text: str) -> str:
    return " ".join(text.split())


def ilp(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(build_app(), list(args), catch_exceptions=False, env=env)


def audit_rows(url: str, action: str) -> list[tuple[str, dict]]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT entity_key, details FROM audit_log WHERE action = :a ORDER BY id"),
            {"a": action},
        ).all()
    engine.dispose()
    return [(r[0], r[1] if isinstance(r[1], dict) else json.loads(r[1])) for r in rows]


@pytest.fixture
def registry(db_url, row_factory, csv_file) -> str:
    path = csv_file([row_factory(), row_factory(patient_id="SYN-0002", sex="M")])
    assert ilp("import", str(path), "--db", db_url).exit_code == 0
    return db_url


def test_export_with_a_file_name_longer_than_the_audit_key_is_audited(registry, tmp_path):
    name = "registry-" + "x" * 200 + ".csv"  # 213 characters; the audit key holds 128
    target = tmp_path / name
    result = ilp("export", str(target), "--db", registry)
    assert result.exit_code == 0, result.output
    assert target.read_text(encoding="utf-8").count("\n") == 3  # header + 2 rows
    [(key, details)] = audit_rows(registry, "export")
    assert details["rows"] == 2
    assert details["file"] == str(target)
    assert len(key) == 128 and key.startswith("registry-xxx")


def test_failed_audit_write_leaves_no_file(registry, tmp_path, monkeypatch):
    from ilpkit.adapters.db import registry_repository

    def failing_audit(*args, **kwargs):
        raise sa.exc.OperationalError("INSERT INTO audit_log", {}, Exception("disk I/O error"))

    monkeypatch.setattr(registry_repository, "add_audit", failing_audit)
    target = tmp_path / "out.csv"
    result = ilp("export", str(target), "--db", registry)
    assert result.exit_code == 3
    assert "disk I/O error" in flat(result.output)
    assert not target.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".ilp-export")] == []
    monkeypatch.undo()
    assert audit_rows(registry, "export") == []


def test_export_messages_are_true_for_every_outcome(registry, tmp_path):
    folder = tmp_path / "reg["
    folder.mkdir()
    target = folder / "c].csv"  # the argument reads as Rich markup: reg[/c].csv

    result = ilp("export", str(target), "--db", registry)
    assert result.exit_code == 0, result.output
    assert f"Exported2perfusionsto{target}." in "".join(result.output.split())
    assert target.exists() and len(audit_rows(registry, "export")) == 1
    before = target.read_bytes()

    target.write_text("kept\n", encoding="utf-8")
    result = ilp("export", str(target), "--db", registry)
    assert result.exit_code == 1
    assert f"{target}alreadyexists;add--replacetooverwriteit." in "".join(result.output.split())
    assert "Nothing was exported." in flat(result.output)
    assert target.read_text(encoding="utf-8") == "kept\n"
    assert len(audit_rows(registry, "export")) == 1

    result = ilp("export", str(target), "--db", registry, "--replace")
    assert result.exit_code == 0, result.output
    assert target.read_bytes() == before
    assert len(audit_rows(registry, "export")) == 2

    missing = tmp_path / "no-such-folder" / "r.csv"
    result = ilp("export", str(missing), "--db", registry)
    assert result.exit_code == 1
    assert "Nothing was exported." in flat(result.output)
    assert not missing.parent.exists()
    assert len(audit_rows(registry, "export")) == 2


def test_report_into_a_foreign_non_empty_folder_needs_replace(tmp_path):
    db = tmp_path / "r.sqlite3"
    assert ilp("synth", "--db", str(db), "--patients", "120").exit_code == 0
    foreign = tmp_path / "docs"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine\n", encoding="utf-8")
    result = ilp("report", "--db", str(db), "--out", str(foreign))
    assert result.exit_code == 1
    assert "holds no earlier report; add --replace" in flat(result.output)
    assert "Nothing was written." in flat(result.output)
    assert sorted(p.name for p in foreign.iterdir()) == ["notes.txt"]

    a_file = tmp_path / "report.txt"
    a_file.write_text("not a folder\n", encoding="utf-8")
    result = ilp("report", "--db", str(db), "--out", str(a_file))
    assert result.exit_code == 1
    assert "is a file; give a folder" in flat(result.output)
    assert "Nothing was written." in flat(result.output)
    assert a_file.read_text(encoding="utf-8") == "not a folder\n"

    out = tmp_path / "rep[" / "i]"  # the argument reads as Rich markup: rep[/i]
    result = ilp("report", "--db", str(db), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert f"Report:{out / 'report.html'}" in "".join(result.output.split())
    assert (out / "report.html").is_file() and (out / "results.json").is_file()

    # an earlier report may be replaced without --replace
    from ilpkit.services.build_report import is_report_folder

    assert is_report_folder(out) and not is_report_folder(foreign)
    assert is_report_folder(tmp_path / "new-folder")


def test_audit_is_readable_in_80_columns(registry, row_factory, csv_file):
    changed = csv_file([row_factory(sex="M", center="SYNTH-NORTH")])
    assert ilp("import", str(changed), "--db", registry).exit_code == 0
    result = ilp("audit", "--db", registry, env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert max(len(line) for line in lines) <= 80
    text = "\n".join(line.strip() for line in lines)
    assert "\nsex: F -> M\n" in text
    assert "\ncenter: SYNTH -> SYNTH-NORTH\n" in text
    assert "\nperfusions_created: 2\n" in text
