"""A small two-centre registry and accounts for the account, access and web tests."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any

import sqlalchemy as sa

from ilpkit.adapters.db.engine import make_engine, upgrade
from ilpkit.adapters.db.tables import patients, perfusions
from ilpkit.services.accounts import add_user

PASSWORD = "correct horse battery"
"""Password of every test account (21 characters)."""
KEY = "a test pseudonymisation key of 40 chars!"
"""$ILP_PSEUDONYM_KEY for statisticians."""
XSS_ID = "<script>alert(1)</script>"
"""A patient id of centre A that must be shown escaped."""

PATIENTS = {
    "A-001": "CA",
    "A-002": "CA",
    XSS_ID: "CA",
    "B-001": "CB",
    "B-002": "CB",
}
"""Patient id -> centre: three patients in centre CA, two in CB."""


def seed(url: str) -> None:
    """Create the registry at ``url`` with :data:`PATIENTS`, one perfusion each."""
    engine = make_engine(url)
    try:
        upgrade(engine)
        with engine.begin() as conn:
            for n, (pid, center) in enumerate(PATIENTS.items(), start=1):
                conn.execute(
                    sa.insert(patients).values(
                        id=n,
                        patient_id=pid,
                        center=center,
                        sex="F",
                        birth_date=date(1950, 1, n),
                        last_followup_date=date(2008, 1, 1),
                    )
                )
                conn.execute(
                    sa.insert(perfusions).values(
                        patient_pk=n,
                        ilp_date=date(2001, 3, n),
                        limb="leg",
                        perfusion_level="femoral",
                        limb_volume_l=8.0,
                        tnf_mg=3.0,
                        melphalan_mg=80.0,
                        histology="liposarcoma",
                        multifocal=False,
                        presentation="primary",
                        prior_radiotherapy=False,
                        perfusion_id=f"perf-{n:03d}",
                    )
                )
            if conn.dialect.name == "postgresql":  # ids were given: move the id sequence on
                conn.execute(
                    sa.text("SELECT setval(pg_get_serial_sequence('patients', 'id'), :n)"),
                    {"n": len(PATIENTS)},
                )
    finally:
        engine.dispose()


ROLE_ACCOUNTS = {
    "admin": ("root", []),
    "data_manager": ("dm_a", ["CA"]),
    "clinician": ("cl_a", ["CA"]),
    "statistician": ("st_a", ["CA"]),
    "monitor": ("mo_a", ["CA"]),
}
"""Role -> (user name, centres): every non-admin account is of centre CA only."""


def add_accounts(url: str) -> None:
    """Add one account per role (:data:`ROLE_ACCOUNTS`), all with :data:`PASSWORD`."""
    for role, (name, centers) in ROLE_ACCOUNTS.items():
        add_user(url, name, PASSWORD, role, centers, "test")


def web_registry(
    url: str, monkeypatch: Any, *, outcomes: Callable[[str], None] | None = None
) -> str:
    """The two-centre test registry at ``url`` with one account per role, the pseudonym key set
    and the protocol file the packaged one; ``outcomes`` adds rows before the accounts."""
    monkeypatch.setenv("ILP_PSEUDONYM_KEY", KEY)
    monkeypatch.delenv("ILP_PROTOCOL_FILE", raising=False)
    seed(url)
    if outcomes is not None:
        outcomes(url)
    add_accounts(url)
    return url


def csrf_of(text: str) -> str:
    """The CSRF token of the first form in a page."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', text)
    assert match is not None, "no CSRF token in the page"
    return match.group(1)
