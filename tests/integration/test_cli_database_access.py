"""Which database a command may use, and how: URLs, schema versions, read-only access,
servers that do not answer. Each case ends in a clear message and exit code 1-3."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from ilpkit.adapters.db.engine import downgrade, head_revision, make_engine
from ilpkit.cli.main import build_app


def flat(text: str) -> str:
    return " ".join(text.split())


def ilp(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(build_app(), list(args), catch_exceptions=False, env=env)


def installed_ilp() -> str:
    return str(Path(sys.executable).parent / "ilp")


def revision_of(url: str) -> str | None:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            return None
        value = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    engine.dispose()
    return value


@pytest.fixture
def registry(db_url, row_factory, csv_file) -> str:
    path = csv_file([row_factory(), row_factory(patient_id="SYN-0002", sex="M")])
    assert ilp("import", str(path), "--db", db_url).exit_code == 0
    return db_url


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("mysql://ilp@localhost/ilp", "unsupported database: use sqlite:/// or postgresql://"),
        ("postgresql://[::1", "malformed"),
        ("postgresql://ilp:secret@dbhost:notaport/ilp", "malformed"),
        ("sqlite://x:notaport", "malformed"),
    ],
)
@pytest.mark.parametrize("command", ["summary", "audit", "init", "export", "upgrade"])
def test_bad_database_urls_are_named(url, words, command, tmp_path):
    args = [command, "--db", url] + ([str(tmp_path / "out.csv")] if command == "export" else [])
    result = ilp(*args)
    assert result.exit_code == 2, result.output
    assert words in flat(result.output)
    assert "secret" not in result.output
    assert list(tmp_path.iterdir()) == []


def test_bad_database_url_in_import_and_installed_command(tmp_path, row_factory, csv_file):
    path = csv_file([row_factory()])
    result = subprocess.run(
        [installed_ilp(), "import", str(path), "--db", "mysql://ilp@localhost/ilp"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "unsupported database: use sqlite:/// or postgresql://" in flat(result.stderr)


def test_sqlite_file_name_with_a_colon_is_a_file(tmp_path, row_factory, csv_file):
    result = ilp("summary", "--db", f"sqlite:///{tmp_path}/x:notaport")
    assert result.exit_code == 1
    assert "there is no registry" in flat(result.output)
    path = csv_file([row_factory()])
    assert ilp("import", str(path), "--db", f"sqlite:///{tmp_path}/x:notaport").exit_code == 0
    assert (tmp_path / "x:notaport").is_file()


@pytest.mark.parametrize("command", ["summary", "audit", "analyze", "export", "init", "import"])
def test_newer_schema_asks_for_a_newer_ilpkit(registry, command, tmp_path, row_factory, csv_file):
    engine = sa.create_engine(registry)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    extra = {"export": [str(tmp_path / "o.csv")], "import": [str(csv_file([row_factory()]))]}
    result = ilp(command, *extra.get(command, []), "--db", registry)
    assert result.exit_code == 3, result.output
    assert "this registry was written by a newer ilpkit (schema 9999)" in flat(result.output)
    assert "upgrade ilpkit" in flat(result.output)
    assert revision_of(registry) == "9999"
    assert not (tmp_path / "o.csv").exists()


@pytest.mark.parametrize("old", ["0001", "0002"])
def test_reading_commands_never_migrate_an_old_registry(registry, old, tmp_path):
    engine = make_engine(registry)
    downgrade(engine, old)
    engine.dispose()
    for args in (
        ["summary"],
        ["audit"],
        ["analyze"],
        ["report", "--out", str(tmp_path / "rep")],
        ["export", str(tmp_path / "o.csv")],
    ):
        result = ilp(*args, "--db", registry)
        assert result.exit_code == 3, (args, result.output)
        assert f"older schema (revision {old}" in flat(result.output)
        assert "Run 'ilp upgrade'" in flat(result.output)
        assert revision_of(registry) == old, args
    assert not (tmp_path / "o.csv").exists() and not (tmp_path / "rep").exists()
    result = ilp("upgrade", "--db", registry)
    assert result.exit_code == 0, result.output
    assert f"upgraded from revision {old}" in flat(result.output)
    assert revision_of(registry) == head_revision()  # the newest migration script
    result = ilp("summary", "--json", "--db", registry)
    assert result.exit_code == 0 and '"n_patients": 2' in result.output
    assert "already up to date" in flat(ilp("upgrade", "--db", registry).output)


def test_registry_at_base_revision_is_upgraded_by_init(registry):
    engine = make_engine(registry)
    downgrade(engine, "0001")
    engine.dispose()
    result = ilp("init", "--db", registry)
    assert result.exit_code == 0
    assert "upgraded from revision 0001" in flat(result.output)
    assert revision_of(registry) == head_revision()  # the newest migration script


def _fingerprint(path: Path) -> tuple[bytes, int]:
    return path.read_bytes(), path.stat().st_mtime_ns


def test_read_only_sqlite_file_is_read_and_left_untouched(tmp_path, row_factory, csv_file):
    db = tmp_path / "r.sqlite3"
    assert ilp("import", str(csv_file([row_factory()])), "--db", str(db)).exit_code == 0
    db.chmod(0o444)
    try:
        before = _fingerprint(db)
        time.sleep(0.01)
        for args in (["summary", "--json"], ["audit"], ["analyze", "--json"]):
            result = ilp(*args, "--db", str(db))
            assert result.exit_code in (0, 1), (args, result.output)
            assert "unexpected" not in result.output
            assert _fingerprint(db) == before, args
        assert '"n_patients": 1' in ilp("summary", "--json", "--db", str(db)).output
        assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("r.")) == [
            "r.sqlite3"
        ]
    finally:
        db.chmod(0o644)


def test_old_read_only_sqlite_file_is_not_migrated(tmp_path, row_factory, csv_file):
    db = tmp_path / "r.sqlite3"
    assert ilp("import", str(csv_file([row_factory()])), "--db", str(db)).exit_code == 0
    engine = make_engine(f"sqlite:///{db}")
    downgrade(engine, "0001")
    engine.dispose()
    db.chmod(0o444)
    try:
        before = _fingerprint(db)
        result = ilp("summary", "--db", str(db))
        assert result.exit_code == 3
        assert "Run 'ilp upgrade'" in flat(result.output)
        assert _fingerprint(db) == before
    finally:
        db.chmod(0o644)


def test_validate_does_not_create_the_named_database(tmp_path, row_factory, csv_file):
    db = tmp_path / "new.sqlite3"
    result = ilp("validate", str(csv_file([row_factory()])), "--db", str(db))
    assert result.exit_code == 0, result.output
    assert "Nothing was saved" in flat(result.output)
    assert not db.exists()


def test_server_that_does_not_answer_is_named_after_the_connect_timeout(tmp_path):
    # a loopback socket that accepts connections and never speaks
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    port = server.getsockname()[1]
    try:
        start = time.monotonic()
        result = subprocess.run(
            [installed_ilp(), "summary", "--db", f"postgresql://ilp@127.0.0.1:{port}/ilp"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={**os.environ, "ILP_CONNECT_TIMEOUT_S": "2"},
        )
        elapsed = time.monotonic() - start
    finally:
        server.close()
    assert result.returncode == 3, result.stderr
    assert f"the database server 127.0.0.1:{port} did not answer within 2 s" in flat(result.stderr)
    assert elapsed < 15


def test_connect_timeout_setting(monkeypatch):
    from ilpkit import config

    monkeypatch.delenv("ILP_CONNECT_TIMEOUT_S", raising=False)
    assert config.connect_timeout_s() == 10.0
    monkeypatch.setenv("ILP_CONNECT_TIMEOUT_S", "3.5")
    assert config.connect_timeout_s() == 3.5
    monkeypatch.setenv("ILP_CONNECT_TIMEOUT_S", "soon")
    assert config.connect_timeout_s() == 10.0


def test_upgrade_has_help_with_an_example():
    result = ilp("upgrade", "--help")
    assert result.exit_code == 0
    assert "Example" in result.output
