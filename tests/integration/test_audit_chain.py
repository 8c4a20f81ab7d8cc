"""The audit log is append-only and chained by hash; ``ilp audit verify`` finds tampering."""

from __future__ import annotations

import csv
import hashlib
import itertools
import json
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from ilpkit.adapters.db import registry_repository as repo
from ilpkit.adapters.db.engine import downgrade, make_engine, upgrade
from ilpkit.cli.main import build_app
from ilpkit.services.unit_of_work import UnitOfWork

ZEROS = "0" * 64


def ilp(*args: str):
    return CliRunner().invoke(build_app(), list(args), catch_exceptions=False)


def flat(text: str) -> str:
    return " ".join(text.split())


def _write(url: str, actor: str, action: str, entries) -> None:
    with UnitOfWork(url) as uow:
        repo.add_audit(uow.connection, actor, action, entries)
        uow.commit()


def _rows(url: str) -> list[dict]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            result = conn.execute(sa.text("SELECT * FROM audit_log ORDER BY id"))
            return [dict(r._mapping) for r in result]
    finally:
        engine.dispose()


def _sql(url: str, *statements: str) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.exec_driver_sql(statement)
    finally:
        engine.dispose()


def _disable_append_only(url: str) -> None:
    """What an attacker with the owner's rights does first."""
    if url.startswith("sqlite"):
        _sql(url, "DROP TRIGGER audit_log_no_update", "DROP TRIGGER audit_log_no_delete")
    else:
        _sql(url, "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")


def _four_entries(url: str) -> None:
    _write(url, "ana", "import", [("import", "a.csv", {"rows": 2})])
    _write(
        url,
        "ana",
        "import",
        [
            ("patient", "SYN-0001", {"changes": {"sex": {"old": "F", "new": "M"}}}),
            ("perfusion", "SYN-0001 2001-02-03", {"changes": {"tnf_mg": {"old": 3, "new": 4}}}),
        ],
    )
    _write(url, "bo", "delete", [("patient", "SYN-0002", {"reason": "entered twice"})])


def _hand_hash(row: dict, details_json: str) -> str:
    """SHA-256 of the canonical text, written out by hand (keys sorted, no spaces)."""
    at = row["at"]
    if isinstance(at, str):  # SQLite returns the stored text through plain SQL
        at = datetime.fromisoformat(at)
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    at_text = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    text = (
        f'{{"action":"{row["action"]}","actor":"{row["actor"]}","at":"{at_text}",'
        f'"details":{details_json},"entity":"{row["entity"]}",'
        f'"entity_key":"{row["entity_key"]}","id":{row["id"]},"prev_hash":"{row["prev_hash"]}"}}'
    )
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def test_entries_are_chained_by_hash(db_url):
    _four_entries(db_url)
    rows = _rows(db_url)
    assert [r["id"] for r in rows] == [1, 2, 3, 4]
    assert rows[0]["prev_hash"] == ZEROS
    for before, after in itertools.pairwise(rows):
        assert after["prev_hash"] == before["entry_hash"]
    assert rows[0]["entry_hash"] == _hand_hash(rows[0], '{"rows":2}')
    assert rows[3]["entry_hash"] == _hand_hash(rows[3], '{"reason":"entered twice"}')
    assert rows[2]["entry_hash"] == _hand_hash(rows[2], '{"changes":{"tnf_mg":{"new":4,"old":3}}}')


def test_untouched_log_verifies(db_url):
    _four_entries(db_url)
    result = ilp("audit", "verify", "--db", db_url)
    assert result.exit_code == 0, result.output
    assert "audit log intact: 4 entries" in result.output
    assert _rows(db_url)[3]["entry_hash"] in flat(result.output)


def test_empty_log_verifies(db_url):
    assert ilp("init", "--db", db_url).exit_code == 0
    result = ilp("audit", "verify", "--db", db_url)
    assert result.exit_code == 0
    assert "audit log intact: 0 entries" in result.output


def _verify(url: str) -> tuple[int, str, dict]:
    text = ilp("audit", "verify", "--db", url)
    data = ilp("audit", "verify", "--db", url, "--json")
    return text.exit_code, flat(text.output), json.loads(data.output)


def test_changed_details_are_found_at_that_entry(db_url):
    _four_entries(db_url)
    _disable_append_only(db_url)
    _sql(db_url, """UPDATE audit_log SET details = '{"rows": 3}' WHERE id = 1""")
    code, text, data = _verify(db_url)
    assert code == 4
    assert "audit log BROKEN at entry 1: its content was changed" in text
    assert data["broken_id"] == 1 and data["intact"] is False and data["entries_checked"] == 0


def test_deleted_middle_entry_is_found(db_url):
    _four_entries(db_url)
    _disable_append_only(db_url)
    _sql(db_url, "DELETE FROM audit_log WHERE id = 2")
    code, text, data = _verify(db_url)
    assert code == 4
    assert "audit log BROKEN at entry 3: entry 2 deleted" in text
    assert data["broken_id"] == 3 and data["entries_checked"] == 1 and data["head_id"] == 1


def test_changed_hash_is_found_at_that_entry(db_url):
    _four_entries(db_url)
    _disable_append_only(db_url)
    _sql(db_url, f"UPDATE audit_log SET entry_hash = '{'f' * 64}' WHERE id = 3")
    code, text, data = _verify(db_url)
    assert code == 4
    assert "audit log BROKEN at entry 3: its stored hash (entry_hash) was changed" in text
    assert data["broken_id"] == 3 and data["entries_checked"] == 2


def test_reordered_entries_are_found(db_url):
    _four_entries(db_url)
    _disable_append_only(db_url)
    _sql(
        db_url,
        "UPDATE audit_log SET id = 100 WHERE id = 2",
        "UPDATE audit_log SET id = 2 WHERE id = 3",
        "UPDATE audit_log SET id = 3 WHERE id = 100",
    )
    code, text, data = _verify(db_url)
    assert code == 4
    assert "audit log BROKEN at entry 2: reordered: it was written after entry 3" in text
    assert data["broken_id"] == 2


def test_changed_last_entry_is_found(db_url):
    _four_entries(db_url)
    _disable_append_only(db_url)
    _sql(db_url, "UPDATE audit_log SET actor = 'eve' WHERE id = 4")
    code, text, _ = _verify(db_url)
    assert code == 4
    assert "audit log BROKEN at entry 4: its content or its stored hash was changed" in text


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_log SET actor = 'eve' WHERE id = 1", "DELETE FROM audit_log WHERE id = 1"],
)
def test_database_refuses_update_and_delete(db_url, statement):
    _four_entries(db_url)
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        _sql(db_url, statement)
    assert [r["actor"] for r in _rows(db_url)] == ["ana", "ana", "ana", "bo"]


def test_truncate_is_refused_on_postgresql(postgres_url):
    _four_entries(postgres_url)
    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
        _sql(postgres_url, "TRUNCATE audit_log")
    assert len(_rows(postgres_url)) == 4


def test_verify_writes_nothing(sqlite_url, tmp_path):
    _four_entries(sqlite_url)
    path = Path(sqlite_url.removeprefix("sqlite:///"))
    before = path.read_bytes()
    assert ilp("audit", "verify", "--db", sqlite_url).exit_code == 0
    assert path.read_bytes() == before


_WRITER = textwrap.dedent(
    """
    import sys
    import time
    from pathlib import Path

    from ilpkit.adapters.db import registry_repository as repo
    from ilpkit.services.unit_of_work import UnitOfWork

    url, name, n, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
    while not go.exists():  # both writers start together
        time.sleep(0.01)
    for i in range(n):
        with UnitOfWork(url) as uow:
            repo.add_audit(
                uow.connection,
                name,
                "test",
                [("record", f"{name}-{i}-{j}", {"i": i, "j": j}) for j in range(3)],
            )
            uow.commit()
        time.sleep(0.05)  # as separate commands do: the other writer gets the lock meanwhile
    """
)


def test_two_processes_writing_at_once_give_one_chain(db_url, tmp_path):
    assert ilp("init", "--db", db_url).exit_code == 0
    script = tmp_path / "writer.py"
    script.write_text(_WRITER, encoding="utf-8")
    n = 40
    go = tmp_path / "go"
    procs = [
        subprocess.Popen([sys.executable, str(script), db_url, name, str(n), str(go)])
        for name in ("alpha", "beta")
    ]
    time.sleep(1.5)  # both have imported ilpkit and wait
    go.touch()
    assert [p.wait(timeout=300) for p in procs] == [0, 0]
    rows = _rows(db_url)
    actors = [r["actor"] for r in rows]
    switches = sum(a != b for a, b in itertools.pairwise(actors))
    assert switches >= 2, "the writers did not run at the same time"
    assert [r["id"] for r in rows] == list(range(1, 2 * n * 3 + 1))
    assert sorted(r["entity_key"] for r in rows) == sorted(
        f"{name}-{i}-{j}" for name in ("alpha", "beta") for i in range(n) for j in range(3)
    )
    result = ilp("audit", "verify", "--db", db_url)
    assert result.exit_code == 0, result.output
    assert "audit log intact: 240 entries" in result.output


def test_migration_chains_stored_entries_and_downgrades(db_url):
    engine = make_engine(db_url)
    try:
        upgrade(engine, "0005")
        at = datetime(2020, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
        with engine.begin() as conn:
            for i, key in enumerate(["x.csv", "y.csv", "z.csv"]):
                conn.execute(
                    sa.text(
                        "INSERT INTO audit_log (id, at, actor, action, entity, entity_key, "
                        "details) VALUES (:id, :at, 'ana', 'import', 'import', :key, :d)"
                    ),
                    {"id": 10 + i, "at": at, "key": key, "d": json.dumps({"n": i})},
                )
        upgrade(engine, "0006")
        rows = _rows(db_url)
        assert [r["id"] for r in rows] == [10, 11, 12]
        assert rows[0]["prev_hash"] == ZEROS
        assert rows[0]["entry_hash"] == _hand_hash(rows[0], '{"n":0}')
        assert rows[2]["prev_hash"] == rows[1]["entry_hash"]
        assert rows[2]["entry_hash"] == _hand_hash(rows[2], '{"n":2}')
        upgrade(engine, "head")  # the commands read a registry at the newest schema only
        result = ilp("audit", "verify", "--db", db_url)
        assert "audit log intact: 3 entries" in result.output
        # the next entry continues the chain after the stored ones
        _write(db_url, "bo", "export", [("export", "out.csv", {"rows": 1})])
        rows = _rows(db_url)
        assert rows[3]["id"] == 13 and rows[3]["prev_hash"] == rows[2]["entry_hash"]
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            _sql(db_url, "DELETE FROM audit_log WHERE id = 10")

        downgrade(engine, "0005")
        columns = {c["name"] for c in sa.inspect(engine).get_columns("audit_log")}
        assert "prev_hash" not in columns and "entry_hash" not in columns
        _sql(db_url, "DELETE FROM audit_log WHERE id = 10")  # no trigger any more
        upgrade(engine, "head")
        assert ilp("audit", "verify", "--db", db_url).exit_code == 0
    finally:
        engine.dispose()


def test_audit_limit_still_works_and_record_filters(db_url):
    _four_entries(db_url)
    result = ilp("audit", "--db", db_url, "--limit", "2", "--json")
    assert result.exit_code == 0, result.output
    assert [e["id"] for e in json.loads(result.output)] == [4, 3]
    result = ilp("audit", "--db", db_url, "--limit", "20")
    assert result.exit_code == 0
    assert "bo delete patient SYN-0002" in flat(result.output)
    result = ilp("audit", "--db", db_url, "--record", "patient", "SYN-0001", "--json")
    assert [(e["entity"], e["entity_key"]) for e in json.loads(result.output)] == [
        ("patient", "SYN-0001")
    ]
    result = ilp("audit", "--db", db_url, "--record", "patient", "SYN-0001")
    assert "Audit log of patient SYN-0001" in flat(result.output)
    assert "sex: F -> M" in result.output and "SYN-0002" not in result.output
    result = ilp("audit", "--db", db_url, "--record", "patient", "SYN-9999")
    assert result.exit_code == 0 and "no entries" in result.output


def test_audit_csv_is_neutralised_and_not_overwritten(sqlite_url, tmp_path, monkeypatch):
    _write(sqlite_url, '=HYPERLINK("http://x")', "export", [("export", "@sum.csv", {"r": 1})])
    _write(sqlite_url, "ana", "import", [("patient", "+SYN", {"note": "-2"})])
    out = tmp_path / "audit.csv"
    result = ilp("audit", "--db", sqlite_url, "--csv", str(out))
    assert result.exit_code == 0, result.output
    assert "Wrote 2 audit entries" in flat(result.output)
    with out.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == [
        "id",
        "at",
        "actor",
        "action",
        "entity",
        "entity_key",
        "details",
        "prev_hash",
        "entry_hash",
    ]
    assert rows[1][2] == '\'=HYPERLINK("http://x")'
    assert rows[1][5] == "'@sum.csv"
    assert rows[2][5] == "'+SYN"
    assert rows[2][6] == '{"note": "-2"}'
    assert rows[1][7] == ZEROS and rows[2][7] == rows[1][8]
    assert rows[1][1].endswith("Z") and rows[1][0] == "1"

    out.write_text("keep me", encoding="utf-8")
    result = ilp("audit", "--db", sqlite_url, "--csv", str(out))
    assert result.exit_code == 1
    assert "already exists" in flat(result.output) and "--replace" in result.output
    assert out.read_text(encoding="utf-8") == "keep me"
    result = ilp(
        "audit", "--db", sqlite_url, "--csv", str(out), "--replace", "--record", "patient", "+SYN"
    )
    assert result.exit_code == 0
    assert "Wrote 1 audit entries" in flat(result.output)
    assert len(out.read_text(encoding="utf-8").splitlines()) == 2


def test_audit_csv_into_a_missing_folder_is_a_clear_error(sqlite_url, tmp_path):
    _four_entries(sqlite_url)
    result = ilp("audit", "--db", sqlite_url, "--csv", str(tmp_path / "nowhere" / "a.csv"))
    assert result.exit_code == 1
    assert "does not exist; nothing was written" in flat(result.output)
    result = ilp("audit", "--db", sqlite_url, "--csv", str(tmp_path))
    assert result.exit_code == 1 and "is a folder" in flat(result.output)


def test_record_of_an_unknown_entity_names_the_entities(sqlite_url):
    _four_entries(sqlite_url)
    result = ilp("audit", "--db", sqlite_url, "--record", "patients", "SYN-0001")
    assert result.exit_code == 0
    assert "no entries (entities: patient, perfusion, plan" in flat(result.output)


def test_audit_verify_is_a_subcommand_of_audit(db_url, tmp_path):
    """`ilp audit verify` checks the chain; `ilp audit --limit` still lists entries."""
    _write(db_url, "bo", "export", [("export", "out.csv", {"rows": 1})])
    result = ilp("audit", "verify", "--db", db_url)
    assert result.exit_code == 0 and "audit log intact: 1 entry" in result.output
    listed = ilp("audit", "--db", db_url, "--limit", "1")
    assert listed.exit_code == 0 and "export" in listed.output
