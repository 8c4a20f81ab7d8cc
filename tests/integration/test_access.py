"""Centre isolation in the service layer: a user of centre CA never gets a record of centre CB."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from tests.integration.webdata import KEY, PATIENTS, seed

from ilpkit.adapters.db.engine import make_engine
from ilpkit.services import access
from ilpkit.services.access import Principal, RecordNotFound

ENV = {"ILP_PSEUDONYM_KEY": KEY}


@pytest.fixture
def conn(db_url):
    seed(db_url)
    engine = make_engine(db_url)
    with engine.connect() as connection:
        yield connection
    engine.dispose()


CA = Principal("anna", "data_manager", frozenset({"CA"}))


def test_lists_searches_and_counts_hold_only_own_centre(conn):
    total, page = access.list_patients(conn, CA)
    assert total == 3 and access.count_patients(conn, CA) == 3
    assert {p.patient_id for p in page} == {pid for pid, c in PATIENTS.items() if c == "CA"}
    assert access.list_patients(conn, CA, "B-")[0] == 0
    assert access.list_patients(conn, CA, "cb")[0] == 0
    assert access.list_patients(conn, CA, "001")[1][0].patient_id == "A-001"
    total, page = access.list_patients(conn, CA, "", limit=2, offset=2)
    assert total == 3 and len(page) == 1


def test_another_centres_record_is_not_found_with_the_same_message(conn):
    with pytest.raises(RecordNotFound) as other:
        access.get_patient(conn, CA, "B-001")
    with pytest.raises(RecordNotFound) as missing:
        access.get_patient(conn, CA, "B-999")
    assert str(other.value) == "there is no patient 'B-001'"
    assert str(missing.value) == "there is no patient 'B-999'"
    with pytest.raises(RecordNotFound):
        access.get_perfusion(conn, CA, "perf-004")  # B-001's perfusion
    assert access.get_perfusion(conn, CA, "perf-001").patient_id == "A-001"


def test_patient_with_perfusions(conn):
    patient, perfusions = access.get_patient(conn, CA, "A-002")
    assert (patient.center, patient.perfusions, patient.birth_date.day) == ("CA", 1, 2)
    assert [(p.perfusion_id, p.ilp_date.day, p.melphalan_mg) for p in perfusions] == [
        ("perf-002", 2, 80.0)
    ]


def test_admin_sees_every_centre_and_a_user_without_centres_nothing(conn):
    assert access.count_patients(conn, Principal("root", "admin")) == 5
    assert access.count_patients(conn, Principal("x", "monitor")) == 0
    assert access.count_patients(conn, Principal("x", "surgeon", frozenset({"CA"}))) == 0


def test_statistician_gets_pseudonyms_and_needs_the_key(conn):
    st = Principal("sam", "statistician", frozenset({"CA"}))
    with pytest.raises(access.PseudonymKeyMissing):
        access.list_patients(conn, st, environ={})
    with pytest.raises(access.PseudonymKeyMissing):
        access.count_patients(conn, st, environ={})
    expected = {
        "P"
        + hmac.new(
            KEY.encode(), b"ilpkit pseudonym\x00" + pid.encode(), hashlib.sha256
        ).hexdigest()[:32]
        for pid, c in PATIENTS.items()
        if c == "CA"
    }
    total, page = access.list_patients(conn, st, environ=ENV)
    assert total == 3 and {p.patient_id for p in page} == expected
    assert all(p.birth_date is None for p in page)
    assert access.list_patients(conn, st, "A-001", environ=ENV)[0] == 0  # real ids not searchable
    with pytest.raises(RecordNotFound):
        access.get_patient(conn, st, "A-001", environ=ENV)
    pseudo = sorted(expected)[0]
    patient, perfusions = access.get_patient(conn, st, pseudo, environ=ENV)
    assert patient.patient_id == pseudo and perfusions[0].patient_id == pseudo
    other = Principal("sam", "statistician", frozenset({"CB"}))
    with pytest.raises(RecordNotFound):
        access.get_patient(conn, other, pseudo, environ=ENV)
