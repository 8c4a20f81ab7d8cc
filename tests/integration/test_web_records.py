"""Entering and changing records in the web application and the JSON API (SQLite and
PostgreSQL): forms that keep what was typed, problems next to their fields, 409 for a stale edit,
reasons, the audit history page, and an authorisation matrix over every record entry route for
every role, own centre and other centre."""

from __future__ import annotations

import re
from datetime import date
from html import unescape

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from tests.conftest import make_row
from tests.integration.webdata import PASSWORD, ROLE_ACCOUNTS, web_registry
from tests.integration.webdata import csrf_of as _csrf

from ilpkit.adapters.db.tables import audit_log, patients, perfusions
from ilpkit.web.app import create_app

ROUTES = {
    ("GET", "/records/patients/new"),
    ("POST", "/records/patients/new"),
    ("GET", "/records/patients/{patient_id:path}/edit"),
    ("POST", "/records/patients/{patient_id:path}/edit"),
    ("GET", "/records/patients/{patient_id:path}/perfusions/new"),
    ("POST", "/records/patients/{patient_id:path}/perfusions/new"),
    ("GET", "/records/perfusions/{perfusion_id}/edit"),
    ("POST", "/records/perfusions/{perfusion_id}/edit"),
    ("POST", "/records/perfusions/{perfusion_id}/delete"),
    ("GET", "/records/patients/{patient_id:path}/audit"),
    ("POST", "/api/v1/patients"),
    ("PATCH", "/api/v1/patients/{patient_id:path}"),
    ("POST", "/api/v1/patients/{patient_id:path}/perfusions"),
    ("PATCH", "/api/v1/perfusions/{perfusion_id}"),
    ("DELETE", "/api/v1/perfusions/{perfusion_id}"),
}
"""Record entry routes: walked below for every role, own and other centre."""

OWN, OTHER = "A-001", "B-001"
OWN_PERFUSION, OTHER_PERFUSION = "perf-001", "perf-004"
WRITERS = {"admin", "data_manager", "clinician"}
HISTORY_READERS = {"admin", "monitor", "data_manager", "clinician"}
PATIENT_ONLY = ("patient_id", "center", "sex", "birth_date", "death_date", "last_followup_date")


@pytest.fixture
def registry(db_url, monkeypatch):
    return web_registry(db_url, monkeypatch)


@pytest.fixture
def client(registry):
    with TestClient(create_app(registry)) as c:
        yield c


def login(client: TestClient, username: str) -> str:
    """Log in; return the session's CSRF token."""
    form = client.get("/login")
    data = {"username": username, "password": PASSWORD, "csrf_token": _csrf(form.text)}
    assert client.post("/login", data=data, follow_redirects=False).status_code == 303
    return _csrf(client.get("/patients").text)


def bearer(client: TestClient, username: str) -> dict[str, str]:
    issued = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    return {"Authorization": f"Bearer {issued.json()['access_token']}"}


def stored(url: str, table, key_column: str, key: str, column: str):
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            value = date.fromisoformat(key) if key_column == "ilp_date" else key
            query = sa.select(table.c[column]).where(table.c[key_column] == value)
            return conn.execute(query).scalar()
    finally:
        engine.dispose()


def count(url: str, table) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
    finally:
        engine.dispose()


def perfusion_values(**overrides: str) -> dict[str, str]:
    """A valid perfusion of the synthetic row (no resection), with overrides."""
    row = make_row(**{"resection_date": "", "resection_margin": "", **overrides})
    return {k: v for k, v in row.items() if k not in PATIENT_ONLY}


def patient_form(pid: str, version: int, **overrides: str) -> dict[str, str]:
    """The edit form of a seeded patient (webdata: born 1950-01-n, followed to 2008-01-01)."""
    n = {"A-001": 1, "B-001": 4}[pid]
    form = {
        "center": "CA" if pid.startswith("A") else "CB",
        "sex": "F",
        "birth_date": f"1950-01-0{n}",
        "death_date": "",
        "last_followup_date": "2009-06-30",
        "version": str(version),
        "reason": "follow-up visit",
    }
    form.update(overrides)
    return form


def field_block(text: str, name: str) -> str:
    """The HTML of one field's block in a record form."""
    match = re.search(
        rf'<div class="field[^"]*">\s*<label for="f-{name}">.*?</div>', text, flags=re.S
    )
    assert match, f"no field {name}"
    return match.group(0)


# --- forms ------------------------------------------------------------------------------------


def test_new_patient_keeps_what_was_typed_and_shows_each_problem_next_to_its_field(
    client, registry
):
    csrf = login(client, "dm_a")
    form = client.get("/records/patients/new")
    assert form.status_code == 200 and 'name="csrf_token"' in form.text
    typed = make_row(
        patient_id="A-200",
        center="CA",
        ilp_date="1949-12-31",  # before birth
        resection_date="",
        resection_margin="",
        melphalan_mg="160",  # above the 150 mg limit
        tumor_size_cm="12,5",  # decimal comma
    )
    answer = client.post("/records/patients/new", data={**typed, "csrf_token": csrf})
    assert answer.status_code == 422
    assert "must be after the birth date" in field_block(answer.text, "ilp_date")
    assert "at most 150 mg" in field_block(answer.text, "melphalan_mg")
    assert "uses a comma" in field_block(answer.text, "tumor_size_cm")
    assert "field-error" not in field_block(answer.text, "tnf_mg")
    for name, value in typed.items():  # every value typed is in the form again
        block = unescape(field_block(answer.text, name))
        if "<select" in block:
            expected = f'<option value="{value}" selected>' if value else "selected>"
            assert expected in block, name
        else:
            assert f'value="{value}"' in block, name
    assert count(registry, patients) == 5
    fixed = {**typed, "ilp_date": "2001-03-14", "melphalan_mg": "80", "tumor_size_cm": "12.5"}
    saved = client.post(
        "/records/patients/new", data={**fixed, "csrf_token": csrf}, follow_redirects=False
    )
    assert saved.status_code == 303 and saved.headers["location"] == "/patients/A-200"
    assert stored(registry, patients, "patient_id", "A-200", "center") == "CA"
    page = client.get("/patients/A-200")
    assert "2001-03-14" in page.text and "Edit patient" in page.text


def test_a_form_without_the_csrf_token_saves_nothing_and_keeps_the_input(client, registry):
    login(client, "dm_a")
    typed = make_row(patient_id="A-201", center="CA")
    answer = client.post("/records/patients/new", data={**typed, "csrf_token": "forged"})
    assert answer.status_code == 403 and "nothing was saved" in answer.text
    assert 'value="A-201"' in answer.text
    assert stored(registry, patients, "patient_id", "A-201", "center") is None


def test_a_warning_is_shown_after_the_save(client, registry):
    csrf = login(client, "dm_a")
    data = {**perfusion_values(ilp_date="2001-03-11"), "csrf_token": csrf}
    answer = client.post(f"/records/patients/{OWN}/perfusions/new", data=data)
    assert answer.status_code == 200 and "Saved, with warnings" in answer.text
    assert "probable duplicate" in answer.text
    assert count(registry, perfusions) == 6


def test_typed_text_is_escaped(client):
    csrf = login(client, "dm_a")
    hostile = '"><script>alert(1)</script>'
    typed = make_row(patient_id=hostile, center="CA")
    answer = client.post("/records/patients/new", data={**typed, "csrf_token": csrf})
    assert answer.status_code == 422
    assert "<script>alert(1)" not in answer.text
    assert "&#34;&gt;&lt;script&gt;" in answer.text or "&quot;&gt;&lt;script&gt;" in answer.text


def test_a_reason_is_required_on_the_edit_page(client, registry):
    csrf = login(client, "cl_a")
    data = {**patient_form(OWN, 1, reason="  "), "csrf_token": csrf}
    answer = client.post(f"/records/patients/{OWN}/edit", data=data)
    assert answer.status_code == 422
    assert 'id="e-reason"' in answer.text and "give the reason" in answer.text
    assert 'value="2009-06-30"' in answer.text  # the change typed is kept
    assert str(stored(registry, patients, "patient_id", OWN, "last_followup_date")) == "2008-01-01"


def test_a_stale_edit_is_409_shows_what_changed_and_can_be_applied_again(client, registry):
    csrf = login(client, "dm_a")
    edit = client.get(f"/records/patients/{OWN}/edit")
    assert 'name="version" value="1"' in edit.text
    # someone else changes the patient meanwhile (through the API)
    auth = bearer(client, "cl_a")
    other = client.patch(
        f"/api/v1/patients/{OWN}",
        json={"version": 1, "reason": "moved visit", "last_followup_date": "2010-01-01"},
        headers=auth,
    )
    assert other.status_code == 200 and other.json()["version"] == 2
    mine = {**patient_form(OWN, 1, last_followup_date="2009-06-30"), "csrf_token": csrf}
    answer = client.post(f"/records/patients/{OWN}/edit", data=mine)
    assert answer.status_code == 409
    assert "Changed by someone else" in answer.text
    rows = re.findall(r"<tr><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td></tr>", answer.text)
    assert rows == [("last_followup_date", "2009-06-30", "2010-01-01")]
    assert 'name="version" value="2"' in answer.text and 'value="2009-06-30"' in answer.text
    assert str(stored(registry, patients, "patient_id", OWN, "last_followup_date")) == "2010-01-01"
    again = client.post(
        f"/records/patients/{OWN}/edit", data={**mine, "version": "2"}, follow_redirects=False
    )
    assert again.status_code == 303
    assert str(stored(registry, patients, "patient_id", OWN, "last_followup_date")) == "2009-06-30"
    assert stored(registry, patients, "patient_id", OWN, "version") == 3


def test_edit_and_delete_a_perfusion_on_pages_and_read_the_audit_history(client, registry):
    csrf = login(client, "dm_a")
    add = client.post(
        f"/records/patients/{OWN}/perfusions/new",
        data={**perfusion_values(ilp_date="2003-05-01"), "csrf_token": csrf},
        follow_redirects=False,
    )
    assert add.status_code == 303
    new_id = stored(registry, perfusions, "ilp_date", "2003-05-01", "perfusion_id")
    edit = client.get(f"/records/perfusions/{new_id}/edit")
    assert edit.status_code == 200 and 'name="version" value="1"' in edit.text
    values = {**perfusion_values(ilp_date="2003-05-01", melphalan_mg="85"), "version": "1"}
    changed = client.post(
        f"/records/perfusions/{new_id}/edit",
        data={**values, "reason": "dose <corrected>", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert changed.status_code == 303
    assert stored(registry, perfusions, "perfusion_id", new_id, "melphalan_mg") == 85
    stale = client.post(
        f"/records/perfusions/{new_id}/delete",
        data={"version": "1", "reason": "entered twice", "csrf_token": csrf},
    )
    assert stale.status_code == 409 and count(registry, perfusions) == 6
    no_reason = client.post(
        f"/records/perfusions/{new_id}/delete",
        data={"version": "2", "reason": "", "csrf_token": csrf},
    )
    assert no_reason.status_code == 422 and "give the reason for the deletion" in no_reason.text
    deleted = client.post(
        f"/records/perfusions/{new_id}/delete",
        data={"version": "2", "reason": "entered twice", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert deleted.status_code == 303 and count(registry, perfusions) == 5
    history = client.get(f"/records/patients/{OWN}/audit")
    assert history.status_code == 200
    text = history.text
    assert "<td>melphalan_mg</td><td>80 → 85</td>" in text
    assert "dose &lt;corrected&gt;" in text and "dose <corrected>" not in text
    assert "entered twice" in text and "dm_a" in text
    assert text.index("entered twice") < text.index("dose &lt;corrected&gt;")  # newest first


def test_patient_page_links_follow_the_role(client):
    links = {
        "data_manager": ("Edit patient", "Add perfusion", "Audit"),
        "monitor": ("Audit",),
        "statistician": (),
    }
    for role, shown in links.items():
        client.cookies.clear()
        login(client, ROLE_ACCOUNTS[role][0])
        patient_id = OWN
        if role == "statistician":
            listing = client.get("/api/v1/patients", headers=bearer(client, "st_a")).json()
            patient_id = listing["items"][0]["patient_id"]
        page = client.get(f"/patients/{patient_id}").text
        for label in ("Edit patient", "Add perfusion", "Audit"):
            assert (f">{label}</a>" in page) == (label in shown), (role, label)
        listing = client.get("/patients").text
        assert (">New patient</a>" in listing) == (role == "data_manager")


# --- JSON API ---------------------------------------------------------------------------------


def test_api_create_change_and_delete(client, registry):
    auth = bearer(client, "dm_a")
    body = {**make_row(patient_id="A-300", center="CA"), "melphalan_mg": 80, "multifocal": False}
    created = client.post("/api/v1/patients", json=body, headers=auth)
    assert created.status_code == 201 and created.json()["version"] == 1
    perfusion_id = created.json()["perfusion_id"]
    detail = client.get("/api/v1/patients/A-300", headers=auth).json()
    assert detail["patient"]["version"] == 1 and detail["perfusions"][0]["version"] == 1
    bad = client.post(
        "/api/v1/patients/A-300/perfusions",
        json=perfusion_values(ilp_date="1940-01-01", limb="arm"),
        headers=auth,
    )
    assert bad.status_code == 422
    assert bad.json()["errors"]["ilp_date"] == "must be after the birth date"
    assert set(bad.json()["errors"]) == {"ilp_date", "perfusion_level"}
    second = client.post(
        "/api/v1/patients/A-300/perfusions",
        json=perfusion_values(ilp_date="2004-02-02"),
        headers=auth,
    )
    assert second.status_code == 201
    patch = client.patch(
        f"/api/v1/perfusions/{perfusion_id}",
        json={"version": 1, "reason": "dose", "tnf_mg": 2.5, "response": None},
        headers=auth,
    )
    assert patch.status_code == 200
    assert patch.json()["changed"] == ["tnf_mg", "response"] and patch.json()["version"] == 2
    assert stored(registry, perfusions, "perfusion_id", perfusion_id, "response") is None
    stale = client.patch(
        f"/api/v1/perfusions/{perfusion_id}",
        json={"version": 1, "reason": "dose", "tnf_mg": 3},
        headers=auth,
    )
    assert stale.status_code == 409
    assert stale.json()["stored_version"] == 2
    assert stale.json()["changes"] == [
        {"field": "tnf_mg", "yours": "3", "stored": "2.5"},
        {"field": "response", "yours": None, "stored": ""},  # cleared since version 1
    ]
    no_reason = client.delete(f"/api/v1/perfusions/{perfusion_id}?version=2", headers=auth)
    assert no_reason.status_code == 422 and set(no_reason.json()["errors"]) == {"reason"}
    gone = client.delete(
        f"/api/v1/perfusions/{perfusion_id}",
        params={"version": 2, "reason": "entered twice"},
        headers=auth,
    )
    assert gone.status_code == 200 and gone.json()["version"] == 0
    assert stored(registry, perfusions, "perfusion_id", perfusion_id, "id") is None
    unknown = client.patch(
        "/api/v1/patients/A-300", json={"version": 1, "reason": "x", "colour": 1}, headers=auth
    )
    assert unknown.status_code == 422  # not a field of the model


def test_openapi_shows_the_record_models(client):
    doc = client.get("/api/v1/openapi.json").json()
    schemas = doc["components"]["schemas"]
    assert {"PatientCreate", "PatientPatch", "PerfusionPatch", "RecordProblems", "StaleOut"} <= set(
        schemas
    )
    assert "version" in schemas["PatientOut"]["properties"]
    assert "version" in schemas["PerfusionOut"]["properties"]
    assert schemas["PatientPatch"]["required"] == ["version"]
    assert "melphalan_mg" in schemas["PatientCreate"]["properties"]
    assert "409" in doc["paths"]["/api/v1/perfusions/{perfusion_id}"]["patch"]["responses"]


# --- authorisation matrix ---------------------------------------------------------------------


def _pages_refuse_without_login(client) -> None:
    for path in (
        "/records/patients/new",
        f"/records/patients/{OWN}/edit",
        f"/records/patients/{OWN}/perfusions/new",
        f"/records/perfusions/{OWN_PERFUSION}/edit",
        f"/records/patients/{OWN}/audit",
    ):
        assert client.get(path, follow_redirects=False).headers["location"] == "/login"
    for path in (
        "/records/patients/new",
        f"/records/patients/{OWN}/edit",
        f"/records/patients/{OWN}/perfusions/new",
        f"/records/perfusions/{OWN_PERFUSION}/edit",
        f"/records/perfusions/{OWN_PERFUSION}/delete",
    ):
        answer = client.post(path, data={"csrf_token": "x"}, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"] == "/login"
    assert client.post("/api/v1/patients", json={}).status_code == 401
    assert client.patch(f"/api/v1/patients/{OWN}", json={"version": 1}).status_code == 401
    assert client.post(f"/api/v1/patients/{OWN}/perfusions", json={}).status_code == 401
    assert client.patch(f"/api/v1/perfusions/{OWN_PERFUSION}", json={"version": 1}).status_code == (
        401
    )
    assert client.delete(f"/api/v1/perfusions/{OWN_PERFUSION}?version=1").status_code == 401


@pytest.mark.parametrize("role", list(ROLE_ACCOUNTS))
def test_record_entry_authorisation_matrix(client, registry, role):
    name, _ = ROLE_ACCOUNTS[role]
    _pages_refuse_without_login(client)
    entries_before = count(registry, audit_log)  # the accounts' own entries
    csrf = login(client, name)
    auth = bearer(client, name)
    writes = role in WRITERS
    everywhere = role == "admin"

    def expect(own_ok: int, target: str) -> int:
        """The status for a record: own centre ``own_ok``; another centre 404 (admin: own_ok);
        a role that may not write 403 either way."""
        if not writes:
            return 403
        return own_ok if target == "own" or everywhere else 404

    patient = {"own": OWN, "other": OTHER}
    perfusion = {"own": OWN_PERFUSION, "other": OTHER_PERFUSION}
    # pages that show a form
    assert client.get("/records/patients/new").status_code == (200 if writes else 403)
    for where in ("own", "other"):
        pid, fid = patient[where], perfusion[where]
        assert client.get(f"/records/patients/{pid}/edit").status_code == expect(200, where)
        new_form = client.get(f"/records/patients/{pid}/perfusions/new")
        assert new_form.status_code == expect(200, where)
        assert client.get(f"/records/perfusions/{fid}/edit").status_code == expect(200, where)
        history = client.get(f"/records/patients/{pid}/audit")
        if role not in HISTORY_READERS:
            assert history.status_code == 403
        else:
            assert history.status_code == (200 if where == "own" or everywhere else 404)
        if history.status_code != 200:
            assert "<td>CB</td>" not in history.text
    # writing pages: another centre's record is not found and stays as it was
    for where in ("own", "other"):
        pid, fid = patient[where], perfusion[where]
        data = {**patient_form(pid, 1), "csrf_token": csrf}
        answer = client.post(f"/records/patients/{pid}/edit", data=data, follow_redirects=False)
        assert answer.status_code == {200: 303}.get(expect(200, where), expect(200, where))
        changed = stored(registry, patients, "patient_id", pid, "last_followup_date")
        assert (str(changed) == "2009-06-30") == (answer.status_code == 303)
        values = {**perfusion_values(ilp_date="2004-04-04"), "csrf_token": csrf}
        added = client.post(
            f"/records/patients/{pid}/perfusions/new", data=values, follow_redirects=False
        )
        assert added.status_code == {200: 303}.get(expect(200, where), expect(200, where))
        edit = {**perfusion_values(ilp_date=f"2001-03-0{1 if where == 'own' else 4}")}
        edit.update({"tnf_mg": "2", "version": "1", "reason": "dose", "csrf_token": csrf})
        edited = client.post(f"/records/perfusions/{fid}/edit", data=edit, follow_redirects=False)
        assert edited.status_code == {200: 303}.get(expect(200, where), expect(200, where))
        assert (stored(registry, perfusions, "perfusion_id", fid, "tnf_mg") == 2) == (
            edited.status_code == 303
        )
        delete = {"version": "2", "reason": "test", "csrf_token": csrf}
        removed = client.post(
            f"/records/perfusions/{fid}/delete", data=delete, follow_redirects=False
        )
        assert removed.status_code == {200: 303}.get(expect(200, where), expect(200, where))
        left = stored(registry, perfusions, "perfusion_id", fid, "id")
        assert (left is None) == (writes and (where == "own" or everywhere))
    # a new patient only in a granted centre
    for center in ("CA", "CB"):
        row = {**make_row(patient_id=f"N-{center}", center=center), "csrf_token": csrf}
        made = client.post("/records/patients/new", data=row, follow_redirects=False)
        if not writes:
            assert made.status_code == 403
        elif center == "CA" or everywhere:
            assert made.status_code == 303
        else:
            assert made.status_code == 422 and "is not one of your centres" in made.text
    # the API: the same answers
    for where in ("own", "other"):
        pid, fid = patient[where], perfusion[where]
        version = stored(registry, patients, "patient_id", pid, "version")
        patched = client.patch(
            f"/api/v1/patients/{pid}",
            json={"version": version, "reason": "api", "sex": "M"},
            headers=auth,
        )
        assert patched.status_code == expect(200, where)
        created = client.post(
            f"/api/v1/patients/{pid}/perfusions",
            json=perfusion_values(ilp_date="2005-05-05"),
            headers=auth,
        )
        assert created.status_code == expect(201, where)
        new_id = stored(registry, perfusions, "ilp_date", "2005-05-05", "perfusion_id")
        target = new_id if created.status_code == 201 else fid
        changed = client.patch(
            f"/api/v1/perfusions/{target}",
            json={"version": 1, "reason": "api", "tnf_mg": 1},
            headers=auth,
        )
        assert changed.status_code == expect(200, where)
        removed = client.delete(
            f"/api/v1/perfusions/{target}",
            params={"version": 2, "reason": "api"},
            headers=auth,
        )
        assert removed.status_code == expect(200, where)
        if removed.status_code == 404:
            missing = client.delete(
                "/api/v1/perfusions/perf-999", params={"version": 1, "reason": "x"}, headers=auth
            )
            assert removed.json()["detail"].replace(target, "X") == missing.json()[
                "detail"
            ].replace("perf-999", "X")
            assert stored(registry, perfusions, "perfusion_id", target, "id") is not None
    for center in ("CA", "CB"):
        body = make_row(patient_id=f"J-{center}", center=center)
        made = client.post("/api/v1/patients", json=body, headers=auth)
        if not writes:
            assert made.status_code == 403
            assert "may not change records" in made.json()["detail"]
        elif center == "CA" or everywhere:
            assert made.status_code == 201
        else:
            assert made.status_code == 422 and set(made.json()["errors"]) == {"center"}
    if not writes:
        assert count(registry, audit_log) == entries_before
        assert count(registry, patients) == 5
