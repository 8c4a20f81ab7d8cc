"""Patient list pages: a statistician's are ordered and paged by pseudonym and search matches
part of the pseudonym; every page counts the perfusions of its own rows (only the page's rows
are read in full; docs/performance.md, web load)."""

from __future__ import annotations

import hashlib
import hmac
from datetime import date

import pytest
import sqlalchemy as sa
from tests.integration.webdata import KEY, PATIENTS, seed

from ilpkit.adapters.db.engine import make_engine
from ilpkit.adapters.db.tables import patients, perfusions
from ilpkit.services import access
from ilpkit.services.access import Principal

ENV = {"ILP_PSEUDONYM_KEY": KEY}
STATISTICIAN = Principal("sam", "statistician", frozenset({"CA"}))


def _pseudonym(patient_id: str) -> str:
    """The pseudonym as docs/interop.md defines it: P + 32 hex digits of HMAC-SHA256."""
    mac = hmac.new(KEY.encode(), b"ilpkit pseudonym\x00" + patient_id.encode(), hashlib.sha256)
    return "P" + mac.hexdigest()[:32]


@pytest.fixture
def conn(db_url):
    seed(db_url)
    engine = make_engine(db_url)
    with engine.connect() as connection:
        yield connection
    engine.dispose()


def test_pages_follow_the_pseudonym_order(conn):
    expected = sorted(_pseudonym(pid) for pid, c in PATIENTS.items() if c == "CA")
    total, first = access.list_patients(conn, STATISTICIAN, limit=2, offset=0, environ=ENV)
    total2, rest = access.list_patients(conn, STATISTICIAN, limit=2, offset=2, environ=ENV)
    assert total == total2 == 3
    assert [p.patient_id for p in first] == expected[:2]
    assert [p.patient_id for p in rest] == expected[2:]
    assert [p.perfusions for p in first + rest] == [1, 1, 1]  # webdata: one perfusion each


def test_search_matches_part_of_the_pseudonym(conn):
    target = _pseudonym("A-002")
    total, page = access.list_patients(conn, STATISTICIAN, target[5:12].upper(), environ=ENV)
    assert total == 1 and [p.patient_id for p in page] == [target]
    assert access.list_patients(conn, STATISTICIAN, "A-00", environ=ENV)[0] == 0


def test_a_later_page_carries_the_perfusion_counts_of_its_own_rows(conn):
    # a second perfusion for A-002 (webdata gives every patient one)
    pk = conn.execute(sa.select(patients.c.id).where(patients.c.patient_id == "A-002")).scalar()
    conn.execute(
        sa.insert(perfusions).values(
            patient_pk=pk,
            ilp_date=date(2004, 5, 6),
            limb="leg",
            perfusion_level="femoral",
            limb_volume_l=8.0,
            tnf_mg=3.0,
            melphalan_mg=80.0,
            histology="liposarcoma",
            multifocal=False,
            presentation="primary",
            prior_radiotherapy=False,
        )
    )
    staff = Principal("anna", "data_manager", frozenset({"CA"}))
    total, page = access.list_patients(conn, staff, "a-00", limit=1, offset=1)
    assert total == 2 and [(p.patient_id, p.perfusions) for p in page] == [("A-002", 2)]
    total, page = access.list_patients(conn, staff, "a-00", limit=1, offset=0)
    assert total == 2 and [(p.patient_id, p.perfusions) for p in page] == [("A-001", 1)]
    total, page = access.list_patients(conn, staff, limit=3)
    assert total == 3 and sorted(p.perfusions for p in page) == [1, 1, 2]
