"""Deleting on purpose: ilp delete-perfusion and ilp delete-patient, audited, with a reason."""

from __future__ import annotations

import json
from datetime import date

import sqlalchemy as sa
from typer.testing import CliRunner

from ilpkit.cli.main import build_app
from ilpkit.services.registry_import import import_registry

runner = CliRunner()


def ilp(*args: str):
    return runner.invoke(build_app(), list(args), catch_exceptions=False)


def flat(text: str) -> str:
    return " ".join(text.split())


def query(url: str, sql: str) -> list[tuple]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(sa.text(sql))]
    engine.dispose()
    return rows


def load(db_url, row_factory, csv_file):
    rows = [
        row_factory(),
        row_factory(ilp_date="2003-02-01", resection_date="", resection_margin=""),
        row_factory(patient_id="SYN-0002"),
    ]
    import_registry(csv_file(rows), db_url, date(2026, 11, 27), "tester")


def test_delete_perfusion_by_patient_and_date_is_audited(db_url, row_factory, csv_file):
    load(db_url, row_factory, csv_file)
    result = ilp(
        "delete-perfusion", "SYN-0001", "2003-02-01", "--reason", "entered twice", "--db", db_url
    )
    assert result.exit_code == 0, result.output
    assert "Deleted the perfusion of patient SYN-0001 on 2003-02-01" in flat(result.output)
    dates = query(
        db_url,
        "SELECT f.ilp_date FROM perfusions f JOIN patients p ON p.id = f.patient_pk "
        "WHERE p.patient_id = 'SYN-0001'",
    )
    assert [str(d[0]) for d in dates] == ["2001-03-14"]
    audit = json.loads(ilp("audit", "--json", "--db", db_url).output)[0]
    assert (audit["action"], audit["entity"], audit["entity_key"]) == (
        "delete",
        "perfusion",
        "SYN-0001 2003-02-01",
    )
    assert audit["details"]["reason"] == "entered twice"
    assert audit["details"]["deleted"]["tnf_mg"] == "3"
    assert audit["details"]["deleted"]["ilp_date"] == "2003-02-01"


def test_delete_perfusion_by_perfusion_id(db_url, row_factory, csv_file):
    load(db_url, row_factory, csv_file)
    (pid,) = query(
        db_url,
        "SELECT f.perfusion_id FROM perfusions f JOIN patients p ON p.id = f.patient_pk "
        "WHERE p.patient_id = 'SYN-0002'",
    )[0]
    result = ilp("delete-perfusion", "--perfusion-id", pid, "--reason", "test", "--db", db_url)
    assert result.exit_code == 0, result.output
    assert len(query(db_url, "SELECT id FROM perfusions")) == 2
    # the patient stays: only the perfusion was named
    assert len(query(db_url, "SELECT id FROM patients")) == 2


def test_delete_patient_deletes_the_perfusions_and_says_how_many(db_url, row_factory, csv_file):
    load(db_url, row_factory, csv_file)
    result = ilp("delete-patient", "SYN-0001", "--reason", "consent withdrawn", "--db", db_url)
    assert result.exit_code == 0, result.output
    assert "Deleted patient SYN-0001 and 2 perfusions" in flat(result.output)
    assert query(db_url, "SELECT patient_id FROM patients") == [("SYN-0002",)]
    assert len(query(db_url, "SELECT id FROM perfusions")) == 1
    audit = json.loads(ilp("audit", "--json", "--db", db_url).output)[0]
    assert audit["details"]["reason"] == "consent withdrawn"
    assert audit["details"]["deleted"]["birth_date"] == "1950-05-17"
    assert sorted(p["ilp_date"] for p in audit["details"]["perfusions"]) == [
        "2001-03-14",
        "2003-02-01",
    ]


def test_missing_record_or_reason_is_clear_and_deletes_nothing(db_url, row_factory, csv_file):
    load(db_url, row_factory, csv_file)
    cases = [
        (["delete-perfusion", "SYN-0001", "1999-01-01", "--reason", "x"], "no stored perfusion"),
        (["delete-patient", "SYN-9999", "--reason", "x"], "no stored patient SYN-9999"),
        (["delete-patient", "syn-0001", "--reason", "x"], "did you mean SYN-0001"),
        (["delete-patient", "SYN-0001"], "give the reason"),
        (["delete-perfusion", "SYN-0001", "2001-13-01", "--reason", "x"], "not a date"),
        (["delete-perfusion", "--perfusion-id", "nope", "--reason", "x"], "no stored perfusion"),
    ]
    for args, message in cases:
        result = ilp(*args, "--db", db_url)
        assert result.exit_code == 1, args
        assert message in flat(result.output), (args, result.output)
        assert "Traceback" not in result.output
    assert len(query(db_url, "SELECT id FROM perfusions")) == 3
    assert len(query(db_url, "SELECT id FROM patients")) == 2
