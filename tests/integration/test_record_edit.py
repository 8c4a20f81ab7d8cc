"""Entering and changing single records (services.record_edit), on SQLite and PostgreSQL: the
rules of the CSV import, versions, reasons, audit entries, roles and centre isolation."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa
from tests.conftest import make_row
from tests.integration.webdata import seed

from ilpkit.adapters.db import registry_repository as repo
from ilpkit.adapters.db.engine import make_engine
from ilpkit.adapters.db.tables import audit_log, patients, perfusions
from ilpkit.domain.errors import RegistryValidationError
from ilpkit.services import access, record_edit
from ilpkit.services.access import Principal, RecordNotFound
from ilpkit.services.record_edit import (
    PATIENT_FIELDS,
    PERFUSION_FIELDS,
    RecordEditRefused,
    RecordInvalid,
    StaleRecord,
)
from ilpkit.services.registry_import import import_registry

TODAY = date(2026, 11, 27)
ADMIN = Principal("root", "admin")
DM = Principal("dm_a", "data_manager", frozenset({"CA"}))
CLINICIAN = Principal("cl_a", "clinician", frozenset({"CA"}))
MONITOR = Principal("mo_a", "monitor", frozenset({"CA"}))
STATISTICIAN = Principal("st_a", "statistician", frozenset({"CA"}))


@pytest.fixture
def engine(db_url):
    seed(db_url)  # and a hostile id in centre CA; B-001, B-002 in CB
    eng = make_engine(db_url, write_lock=True)
    yield eng
    eng.dispose()


def _row(**overrides: str) -> dict[str, str]:
    return make_row(**{"patient_id": "A-100", "center": "CA", **overrides})


def _perfusion(**overrides: str) -> dict[str, str]:
    """A valid perfusion of the synthetic row, without resection (its date would precede a later
    perfusion date)."""
    row = make_row(**{"resection_date": "", "resection_margin": "", **overrides})
    return {k: v for k, v in row.items() if k in PERFUSION_FIELDS}


def _count(engine, table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def _stored(engine, table, key_column, key, column):
    with engine.connect() as conn:
        return conn.execute(sa.select(table.c[column]).where(table.c[key_column] == key)).scalar()


# --- the same rules as the CSV import ---------------------------------------------------------

INVALID_ROWS = {
    "perfusion before birth": {"ilp_date": "1949-01-01", "resection_date": ""},
    "level of another limb": {"limb": "arm"},
    "melphalan above the hard limit": {"melphalan_mg": "160"},
    "decimal comma": {"tnf_mg": "3,5"},
    "death differs from last follow-up": {"death_date": "2007-01-01"},
    "margin without resection": {"resection_date": ""},
    "date in the future": {"last_followup_date": "2027-01-01"},
    "unknown histology and grade": {"histology": "osteosarcoma", "grade": "4"},
}


@pytest.mark.parametrize("case", list(INVALID_ROWS))
def test_a_row_the_import_refuses_is_refused_with_the_same_reasons(engine, csv_file, case):
    row = _row(**INVALID_ROWS[case])
    with pytest.raises(RegistryValidationError) as imported:
        import_registry(csv_file([row]), None, TODAY, "tester", dry_run=True)
    expected: dict[str, list[str]] = {}
    for p in imported.value.problems:
        if p.is_error:
            expected.setdefault(p.field, []).append(p.reason)
    with engine.begin() as conn, pytest.raises(RecordInvalid) as entered:
        record_edit.create_patient(conn, DM, row, TODAY)
    assert {f: r.split(record_edit.ALSO) for f, r in entered.value.errors.items()} == expected
    assert _count(engine, patients) == 5 and _count(engine, audit_log) == 0


def test_reasons_read_as_the_data_dictionary_says(engine):
    """Independent of the import: the words of the rules in docs/data-dictionary.md."""
    with engine.begin() as conn, pytest.raises(RecordInvalid) as exc:
        record_edit.create_patient(conn, DM, _row(ilp_date="1949-01-01", tnf_mg="3,5"), TODAY)
    assert exc.value.errors["ilp_date"] == "must be after the birth date"
    assert exc.value.errors["tnf_mg"] == "uses a comma; write decimals with a point (e.g. 3.5)"


def test_a_warning_of_the_import_is_a_warning_here_and_the_record_is_saved(engine, csv_file):
    # 8 L leg with 88 mg melphalan = 11 mg/L: above the 10 mg/L label dose, within hard limits
    row = _row(melphalan_mg="95")
    report = import_registry(csv_file([row]), None, TODAY, "tester", dry_run=True)
    expected = {w.field: w.reason for w in report.warnings}
    assert expected, "the row must give the import a warning"
    with engine.begin() as conn:
        saved = record_edit.create_patient(conn, DM, row, TODAY)
    assert saved.warnings == expected
    assert _stored(engine, perfusions, "perfusion_id", saved.perfusion_id, "melphalan_mg") == 95


def test_rules_across_records_as_on_import(engine):
    with engine.begin() as conn:
        record_edit.create_patient(conn, DM, _row(), TODAY)
    with engine.begin() as conn, pytest.raises(RecordInvalid) as same_id:
        record_edit.create_patient(conn, DM, _row(), TODAY)
    assert "already stored" in same_id.value.errors["patient_id"]
    with engine.begin() as conn, pytest.raises(RecordInvalid) as case_variant:
        record_edit.create_patient(conn, DM, _row(patient_id="a-100"), TODAY)
    assert "differs only in upper/lower case" in case_variant.value.errors["patient_id"]
    with engine.begin() as conn, pytest.raises(RecordInvalid) as same_date:
        record_edit.create_perfusion(conn, DM, "A-100", _perfusion(), TODAY)
    assert same_date.value.errors["ilp_date"].startswith(
        "patient A-100 already has a perfusion on this date"
    )
    with engine.begin() as conn:  # 10 days after the first: kept, with the import's warning
        near = record_edit.create_perfusion(
            conn, DM, "A-100", _perfusion(ilp_date="2001-03-24"), TODAY
        )
    assert near.warnings["ilp_date"].startswith(
        "probable duplicate: patient A-100 also has a perfusion on 2001-03-14 (10 days apart)"
    )
    # a patient change is checked against every stored perfusion of the patient
    with engine.begin() as conn, pytest.raises(RecordInvalid) as follow_up:
        record_edit.update_patient(
            conn, DM, "A-100", 1, {"last_followup_date": "2001-03-20"}, "typo", TODAY
        )
    assert follow_up.value.errors["last_followup_date"] == (
        "is before the perfusion date (2001-03-24)"
    )


# --- versions ---------------------------------------------------------------------------------


def test_an_edit_based_on_an_older_version_is_refused_and_says_what_changed(engine):
    with engine.begin() as conn:
        done = record_edit.update_patient(
            conn, DM, "A-001", 1, {"last_followup_date": "2009-01-01"}, "new visit", TODAY
        )
    assert done.version == 2 and done.changed == ("last_followup_date",)
    with engine.begin() as conn, pytest.raises(StaleRecord) as stale:
        record_edit.update_patient(
            conn,
            CLINICIAN,
            "A-001",
            1,
            {"last_followup_date": "2010-05-05", "sex": "F"},
            "x",
            TODAY,
        )
    assert stale.value.based_on == 1 and stale.value.stored_version == 2
    assert [(c.field, c.yours, c.stored) for c in stale.value.changes] == [
        ("last_followup_date", "2010-05-05", "2009-01-01")
    ]
    assert str(_stored(engine, patients, "patient_id", "A-001", "last_followup_date")) == (
        "2009-01-01"
    )
    with engine.begin() as conn:  # sent again with the stored version: applied
        again = record_edit.update_patient(
            conn, CLINICIAN, "A-001", 2, {"last_followup_date": "2010-05-05"}, "x", TODAY
        )
    assert again.version == 3
    assert _stored(engine, patients, "patient_id", "A-001", "version") == 3


def test_a_stale_change_also_names_fields_changed_since_that_were_not_sent(engine):
    with engine.begin() as conn:
        record_edit.update_perfusion(conn, DM, "perf-001", 1, {"tnf_mg": "2"}, "dose", TODAY)
        record_edit.update_perfusion(conn, CLINICIAN, "perf-001", 2, {"grade": "3"}, "path", TODAY)
    with engine.begin() as conn, pytest.raises(StaleRecord) as stale:
        record_edit.update_perfusion(conn, DM, "perf-001", 1, {"melphalan_mg": "70"}, "x", TODAY)
    assert [(c.field, c.yours, c.stored) for c in stale.value.changes] == [
        ("melphalan_mg", "70", "80"),
        ("tnf_mg", None, "2"),
        ("grade", None, "3"),
    ]
    with engine.begin() as conn, pytest.raises(StaleRecord) as later:
        record_edit.update_perfusion(conn, DM, "perf-001", 2, {"melphalan_mg": "70"}, "x", TODAY)
    assert [(c.field, c.yours) for c in later.value.changes] == [
        ("melphalan_mg", "70"),
        ("grade", None),
    ]


def test_perfusion_versions_and_a_stale_deletion(engine):
    with engine.begin() as conn:
        record_edit.create_perfusion(conn, DM, "A-001", _perfusion(ilp_date="2003-01-10"), TODAY)
        done = record_edit.update_perfusion(conn, DM, "perf-001", 1, {"tnf_mg": "2"}, "dose", TODAY)
    assert done.version == 2
    assert _stored(engine, perfusions, "perfusion_id", "perf-001", "version") == 2
    with engine.begin() as conn, pytest.raises(StaleRecord) as stale:
        record_edit.delete_perfusion(conn, DM, "perf-001", 1, "duplicate")
    assert ("tnf_mg", None, "2") in [(c.field, c.yours, c.stored) for c in stale.value.changes]
    assert _count(engine, perfusions) == 6
    with engine.begin() as conn:
        record_edit.delete_perfusion(conn, DM, "perf-001", 2, "entered twice")
    assert _count(engine, perfusions) == 5


def test_unchanged_values_write_nothing(engine):
    with engine.begin() as conn:
        same = record_edit.update_perfusion(conn, DM, "perf-001", 1, {"tnf_mg": "3.0"}, "", TODAY)
    assert same.changed == () and same.version == 1
    assert _count(engine, audit_log) == 0


def test_an_import_raises_the_versions_of_the_records_it_changes(db_url, csv_file):
    import_registry(csv_file([make_row()]), db_url, TODAY, "tester")
    engine = make_engine(db_url)
    try:
        import_registry(csv_file([make_row()]), db_url, TODAY, "tester")  # nothing changes
        assert _stored(engine, patients, "patient_id", "SYN-0001", "version") == 1
        changed = make_row(last_followup_date="2009-01-01", tnf_mg="2")
        import_registry(csv_file([changed]), db_url, TODAY, "tester")
        assert _stored(engine, patients, "patient_id", "SYN-0001", "version") == 2
        with engine.connect() as conn:
            assert conn.execute(sa.select(perfusions.c.version)).scalar_one() == 2
    finally:
        engine.dispose()


# --- reasons and the audit log ----------------------------------------------------------------


def test_a_reason_is_required_to_change_or_delete(engine):
    with engine.begin() as conn, pytest.raises(RecordInvalid) as change:
        record_edit.update_patient(conn, DM, "A-001", 1, {"sex": "M"}, "  ", TODAY)
    assert set(change.value.errors) == {"reason"}
    with engine.begin() as conn, pytest.raises(RecordInvalid) as change:
        record_edit.update_perfusion(conn, DM, "perf-001", 1, {"tnf_mg": "2"}, "", TODAY)
    assert set(change.value.errors) == {"reason"}
    with engine.begin() as conn:
        record_edit.create_perfusion(conn, DM, "A-001", _perfusion(ilp_date="2003-01-10"), TODAY)
    with engine.begin() as conn, pytest.raises(RecordInvalid) as deletion:
        record_edit.delete_perfusion(conn, DM, "perf-001", 1, "")
    assert set(deletion.value.errors) == {"reason"}
    assert _stored(engine, patients, "patient_id", "A-001", "sex") == "F"
    assert _count(engine, perfusions) == 6


def test_the_only_perfusion_of_a_patient_is_not_deleted(engine):
    with engine.begin() as conn, pytest.raises(RecordInvalid) as exc:
        record_edit.delete_perfusion(conn, DM, "perf-001", 1, "wrong patient")
    assert "only perfusion" in exc.value.errors["record"]


def test_audit_entries_carry_who_what_old_new_and_why_and_the_chain_holds(engine):
    with engine.begin() as conn:
        created = record_edit.create_patient(conn, DM, _row(), TODAY, "first visit")
        record_edit.update_patient(
            conn, CLINICIAN, "A-100", 1, {"sex": "M", "death_date": ""}, "sex mistyped", TODAY
        )
        record_edit.update_perfusion(
            conn, DM, created.perfusion_id, 1, {"melphalan_mg": "85"}, "dose corrected", TODAY
        )
        extra = record_edit.create_perfusion(
            conn, DM, "A-100", _perfusion(ilp_date="2004-01-01"), TODAY
        )
        record_edit.delete_perfusion(conn, ADMIN, extra.perfusion_id, 1, "entered twice")
    with engine.connect() as conn:
        query = sa.select(audit_log).order_by(audit_log.c.id)
        rows = [dict(r._mapping) for r in conn.execute(query)]
        chain = repo.verify_audit_chain(conn)
    assert chain.intact and chain.entries == 6
    summary = [(r["actor"], r["action"], r["entity"], r["entity_key"]) for r in rows]
    assert summary == [
        ("dm_a", "create", "patient", "A-100"),
        ("dm_a", "create", "perfusion", "A-100 2001-03-14"),
        ("cl_a", "update", "patient", "A-100"),
        ("dm_a", "update", "perfusion", "A-100 2001-03-14"),
        ("dm_a", "create", "perfusion", "A-100 2004-01-01"),
        ("root", "delete", "perfusion", "A-100 2004-01-01"),
    ]
    assert rows[0]["details"]["changes"]["birth_date"] == {"old": "", "new": "1950-05-17"}
    assert rows[0]["details"]["reason"] == "first visit"
    assert rows[2]["details"] == {
        "changes": {"sex": {"old": "F", "new": "M"}},
        "reason": "sex mistyped",
        "version": 2,
    }
    assert rows[3]["details"]["changes"] == {"melphalan_mg": {"old": "80", "new": "85"}}
    assert rows[3]["details"]["reason"] == "dose corrected"
    assert rows[3]["details"]["perfusion_id"] == created.perfusion_id
    assert rows[5]["details"]["reason"] == "entered twice"
    assert rows[5]["details"]["deleted"]["ilp_date"] == "2004-01-01"
    assert all(r["at"] is not None for r in rows)


def test_a_refused_change_writes_no_audit_entry(engine):
    with engine.begin() as conn, pytest.raises(RecordInvalid):
        record_edit.update_patient(conn, DM, "A-001", 1, {"birth_date": "2002-01-01"}, "x", TODAY)
    with engine.begin() as conn, pytest.raises(StaleRecord):
        record_edit.update_patient(conn, DM, "A-001", 7, {"sex": "M"}, "x", TODAY)
    assert _count(engine, audit_log) == 0


# --- roles and centres ------------------------------------------------------------------------


@pytest.mark.parametrize("principal", [MONITOR, STATISTICIAN], ids=lambda p: p.role)
def test_read_only_roles_are_refused(engine, principal):
    calls = [
        lambda c: record_edit.create_patient(c, principal, _row(), TODAY),
        lambda c: record_edit.update_patient(c, principal, "A-001", 1, {"sex": "M"}, "x", TODAY),
        lambda c: record_edit.create_perfusion(c, principal, "A-001", _perfusion(), TODAY),
        lambda c: record_edit.update_perfusion(c, principal, "perf-001", 1, {}, "x", TODAY),
        lambda c: record_edit.delete_perfusion(c, principal, "perf-001", 1, "x"),
    ]
    for call in calls:
        with engine.begin() as conn, pytest.raises(RecordEditRefused) as exc:
            call(conn)
        assert f"your role ({principal.role}) may not change records" in str(exc.value)
    assert _count(engine, patients) == 5 and _count(engine, audit_log) == 0


@pytest.mark.parametrize("principal", [DM, CLINICIAN], ids=lambda p: p.role)
def test_another_centres_record_is_not_found_like_a_missing_one(engine, principal):
    def message(call) -> str:
        with engine.begin() as conn, pytest.raises(RecordNotFound) as exc:
            call(conn)
        return str(exc.value)

    with engine.begin() as conn, pytest.raises(RecordNotFound) as seen:
        access.get_patient(conn, principal, "B-001")
    assert message(
        lambda c: record_edit.update_patient(c, principal, "B-001", 1, {"sex": "M"}, "x", TODAY)
    ) == str(seen.value)
    assert message(
        lambda c: record_edit.create_perfusion(c, principal, "B-001", _perfusion(), TODAY)
    ) == str(seen.value)
    other = message(
        lambda c: record_edit.update_perfusion(c, principal, "perf-004", 1, {}, "x", TODAY)
    )
    missing = message(
        lambda c: record_edit.update_perfusion(c, principal, "perf-999", 1, {}, "x", TODAY)
    )
    assert other.replace("perf-004", "X") == missing.replace("perf-999", "X")
    with engine.begin() as conn, pytest.raises(RecordInvalid) as elsewhere:
        record_edit.create_patient(conn, principal, _row(center="CB"), TODAY)
    assert elsewhere.value.errors == {
        "center": "is not one of your centres (CA); a patient is created only in a centre "
        "granted to you"
    }
    with engine.begin() as conn, pytest.raises(RecordInvalid) as move:
        record_edit.update_patient(conn, principal, "A-001", 1, {"center": "CB"}, "moved", TODAY)
    assert move.value.errors == {"center": "is not one of your centres (CA)"}
    assert _stored(engine, patients, "patient_id", "B-001", "sex") == "F"


def test_an_admin_writes_in_every_centre(engine):
    with engine.begin() as conn:
        record_edit.create_patient(conn, ADMIN, _row(patient_id="B-100", center="CB"), TODAY)
        saved = record_edit.update_patient(conn, ADMIN, "B-001", 1, {"sex": "M"}, "typo", TODAY)
    assert saved.version == 2
    assert _stored(engine, patients, "patient_id", "B-100", "center") == "CB"


def test_unknown_and_misplaced_fields_are_named(engine):
    with engine.begin() as conn, pytest.raises(RecordInvalid) as exc:
        record_edit.update_perfusion(
            conn, DM, "perf-001", 1, {"sex": "M", "colour": "red"}, "x", TODAY
        )
    assert exc.value.errors["sex"] == "is a field of the patient; change it on the patient"
    assert exc.value.errors["colour"] == "is not a registry field"
    with engine.begin() as conn, pytest.raises(RecordInvalid) as renamed:
        record_edit.update_patient(conn, DM, "A-001", 1, {"patient_id": "A-009"}, "x", TODAY)
    assert "cannot be changed" in renamed.value.errors["patient_id"]
    assert set(PATIENT_FIELDS) >= {"patient_id", "center", "birth_date"}


def test_two_editors_at_once_one_change_is_kept_the_other_refused(engine):
    """Both start from version 1; the second waits for the registry's write lock while the
    first is open, then finds version 2 and is refused: no update is lost."""
    import threading

    first_written = threading.Event()
    outcome: dict[str, object] = {}

    def second() -> None:
        first_written.wait(10)
        try:
            with engine.begin() as conn:
                record_edit.update_patient(
                    conn, CLINICIAN, "A-001", 1, {"sex": "M"}, "second", TODAY
                )
            outcome["second"] = "saved"
        except StaleRecord as exc:
            outcome["second"] = exc

    thread = threading.Thread(target=second)
    thread.start()
    with engine.begin() as conn:
        record_edit.update_patient(
            conn, DM, "A-001", 1, {"last_followup_date": "2009-01-01"}, "first", TODAY
        )
        first_written.set()
        thread.join(0.5)  # the second is held by the write lock while this one is open
        assert thread.is_alive()
    thread.join(20)
    stale = outcome["second"]
    assert isinstance(stale, StaleRecord) and stale.stored_version == 2
    assert [(c.field, c.yours, c.stored) for c in stale.changes] == [
        ("sex", "M", "F"),
        ("last_followup_date", None, "2009-01-01"),
    ]
    assert _stored(engine, patients, "patient_id", "A-001", "sex") == "F"
    assert _stored(engine, patients, "patient_id", "A-001", "version") == 2
