"""'Record this perfusion' from the planner, on SQLite and PostgreSQL: the link to the patient's
new-perfusion form prefilled with the plan, the prefill saving nothing, and the normal (checked,
audited) save of the completed form.

Expected values by hand from src/ilpkit/data/protocols.toml (label protocol: TNF-alpha 4 mg leg /
3 mg arm; melphalan 10 mg/L leg / 13 mg/L arm, at most 150 mg):
- leg, 8.6 L measured: TNF 4 mg, melphalan 10 x 8.6 = 86 mg;
- leg, 16 L: 10 x 16 = 160 mg, capped at 150 mg;
- arm, circumferences 30, 26, 22 cm every 10 cm: 10 x (900 + 780 + 676) / (12 pi) = 624.95 mL
  plus 10 x (676 + 572 + 484) / (12 pi) = 459.43 mL, 1.08438 L (shown 1.08); melphalan
  13 x 1.08438 = 14.097 mg (shown 14.1); TNF 3 mg.
"""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from tests.integration.webdata import PASSWORD, ROLE_ACCOUNTS, web_registry
from tests.integration.webdata import csrf_of as _csrf

from ilpkit.adapters.db.tables import audit_log, perfusions
from ilpkit.web.app import create_app

HX = {"HX-Request": "true"}
LINK = re.compile(r'<a class="button" id="record-perfusion-link" href="([^"]+)">')


@pytest.fixture
def registry(db_url, monkeypatch):
    return web_registry(db_url, monkeypatch)


@pytest.fixture
def client(registry):
    with TestClient(create_app(registry)) as c:
        yield c


def login(client: TestClient, role: str) -> str:
    """Log in as the account of ``role``; the session's CSRF token."""
    client.cookies.clear()
    name, _ = ROLE_ACCOUNTS[role]
    form = client.get("/login")
    data = {"username": name, "password": PASSWORD, "csrf_token": _csrf(form.text)}
    assert client.post("/login", data=data, follow_redirects=False).status_code == 303
    return _csrf(client.get("/planner").text)


def compute(client: TestClient, csrf: str, **fields: str):
    data = {"csrf_token": csrf, "limb": "leg", "level": "femoral", "protocol": "label", **fields}
    return client.post("/planner/compute", data=data, headers=HX)


def link_of(text: str) -> tuple[str, dict[str, str]]:
    """(path, query values) of the 'Record this perfusion' link in ``text``."""
    match = LINK.search(text)
    assert match, "no 'Record this perfusion' link"
    url = urlsplit(html.unescape(match.group(1)))
    return url.path, {k: v[0] for k, v in parse_qs(url.query).items()}


def counts(url: str) -> tuple[int, int]:
    """(perfusions, audit rows) stored."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return (
                conn.execute(sa.select(sa.func.count()).select_from(perfusions)).scalar_one(),
                conn.execute(sa.select(sa.func.count()).select_from(audit_log)).scalar_one(),
            )
    finally:
        engine.dispose()


def input_value(text: str, name: str) -> str:
    """The value of the form's text input or selected option named ``name``."""
    found = re.search(rf'<input type="text" id="f-{name}" name="{name}" value="([^"]*)"', text)
    if found:
        return html.unescape(found.group(1))
    select = re.search(rf'<select id="f-{name}" name="{name}".*?</select>', text, flags=re.S)
    assert select, name
    chosen = re.search(r'<option value="([^"]*)" selected>', select.group(0))
    return html.unescape(chosen.group(1)) if chosen else ""


def test_the_link_carries_the_computed_doses(client):
    csrf = login(client, "clinician")
    answer = compute(client, csrf, volume_l="8.6", patient_id="A-001", ilp_date="2009-05-04")
    assert answer.status_code == 200
    path, query = link_of(answer.text)
    assert path == "/records/patients/A-001/perfusions/new"
    assert query == {
        "ilp_date": "2009-05-04",
        "limb": "leg",
        "perfusion_level": "femoral",
        "limb_volume_l": "8.6",
        "limb_volume_method": "water_displacement",
        "tnf_mg": "4",
        "melphalan_mg": "86",
    }
    assert 'id="record-perfusion" aria-live="polite" hx-swap-oob="true"' in answer.text


def test_the_link_has_the_capped_melphalan_dose(client):
    csrf = login(client, "clinician")
    _, query = link_of(compute(client, csrf, volume_l="16", patient_id="A-001").text)
    assert query["melphalan_mg"] == "150" and query["limb_volume_l"] == "16"
    assert "ilp_date" not in query  # no planned date typed: none prefilled


def test_the_link_of_a_volume_from_circumferences(client):
    csrf = login(client, "clinician")
    answer = compute(
        client,
        csrf,
        limb="arm",
        level="brachial",
        circumferences_cm="30,26,22",
        spacing_cm="10",
        patient_id="A-002",
    )
    _, query = link_of(answer.text)
    assert query["limb_volume_l"] == "1.08"
    assert query["limb_volume_method"] == "circumferences"
    assert query["tnf_mg"] == "3" and query["melphalan_mg"] == "14.1"
    assert query["limb"] == "arm" and query["perfusion_level"] == "brachial"


def test_no_link_without_a_plan_or_a_patient_id(client):
    csrf = login(client, "clinician")
    without_id = compute(client, csrf, volume_l="8.6").text
    assert LINK.search(without_id) is None and "give the patient id above" in without_id
    wrong_volume = compute(client, csrf, volume_l="8,6", patient_id="A-001").text
    assert LINK.search(wrong_volume) is None


def test_the_patient_id_is_escaped_in_the_link(client):
    csrf = login(client, "clinician")
    answer = compute(client, csrf, volume_l="8.6", patient_id="<script>alert(1)</script>").text
    assert "<script>alert(1)</script>" not in answer
    path, _ = link_of(answer)
    assert path == "/records/patients/%3Cscript%3Ealert%281%29%3C%2Fscript%3E/perfusions/new"


@pytest.mark.parametrize(
    ("role", "shown"),
    [
        ("admin", True),
        ("clinician", True),
        ("data_manager", True),
        ("statistician", False),
        ("monitor", False),
    ],
)
def test_the_link_is_offered_to_the_roles_that_write_records(client, role, shown):
    csrf = login(client, role)
    page = client.get("/planner").text
    assert ('id="record-perfusion"' in page) == shown
    assert ('name="patient_id"' in page) == shown
    answer = compute(client, csrf, volume_l="8.6", patient_id="A-001").text
    assert (LINK.search(answer) is not None) == shown
    # no out-of-band part without its place on the page (htmx would log an error)
    assert ('id="err-patient_id" hx-swap-oob' in answer) == shown
    assert ('id="record-perfusion"' in answer) == shown


def test_the_prefilled_form_saves_nothing_until_saved(client, registry):
    csrf = login(client, "clinician")
    answer = compute(client, csrf, volume_l="8.6", patient_id="A-001", ilp_date="2005-05-04")
    path, query = link_of(answer.text)
    before = counts(registry)
    form = client.get(f"{path}?{urlsplit(html.unescape(LINK.search(answer.text)[1])).query}")
    assert form.status_code == 200
    assert counts(registry) == before  # opening the prefilled form stores nothing
    assert 'id="prefilled"' in form.text and "Nothing has been saved yet" in form.text
    for name, value in query.items():
        assert input_value(form.text, name) == value, name
    assert input_value(form.text, "histology") == ""  # the rest is left to the user
    # unknown names in the query are ignored
    odd = client.get(f"{path}?patient_id=B-001&center=CB&tnf_mg=2")
    assert 'name="patient_id"' not in odd.text and 'name="center"' not in odd.text
    assert input_value(odd.text, "tnf_mg") == "2"
    # the form without a query is the empty form, without the notice
    assert 'id="prefilled"' not in client.get(path).text

    # the user completes the form and saves it: the normal create path, checked and audited
    completed = {name: input_value(form.text, name) for name in query}
    completed.update(
        histology="liposarcoma",
        multifocal="no",
        presentation="recurrent",
        prior_radiotherapy="no",
        reason="given as planned",
        csrf_token=_csrf(form.text),
    )
    saved = client.post(path, data=completed, follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"] == "/patients/A-001"
    after = counts(registry)
    assert after[0] == before[0] + 1 and after[1] > before[1]
    engine = sa.create_engine(registry)
    try:
        with engine.connect() as conn:
            stored = conn.execute(
                sa.select(*(perfusions.c[n] for n in ("tnf_mg", "melphalan_mg", "limb_volume_l")))
                .order_by(perfusions.c.id.desc())
                .limit(1)
            ).one()
            audit = conn.execute(
                sa.select(audit_log.c.actor, audit_log.c.entity)
                .order_by(audit_log.c.id.desc())
                .limit(1)
            ).one()
    finally:
        engine.dispose()
    assert tuple(stored) == (4.0, 86.0, 8.6)
    assert audit.actor == ROLE_ACCOUNTS["clinician"][0] and audit.entity == "perfusion"


def test_a_prefilled_form_with_a_problem_keeps_the_values(client):
    csrf = login(client, "clinician")
    answer = compute(client, csrf, volume_l="8.6", patient_id="A-001", ilp_date="1940-01-01")
    path, query = link_of(answer.text)
    form = client.get(f"{path}?{urlsplit(html.unescape(LINK.search(answer.text)[1])).query}")
    data = {**query, "csrf_token": _csrf(form.text), "histology": "liposarcoma"}
    refused = client.post(path, data=data)
    assert refused.status_code == 422
    assert "must be after the birth date" in refused.text
    for name, value in query.items():
        assert input_value(refused.text, name) == value, name
    no_token = client.post(path, data={**query, "csrf_token": "forged"})
    assert no_token.status_code == 403


def test_another_centres_patient_is_not_found(client, registry):
    login(client, "clinician")
    before = counts(registry)
    page = client.get("/records/patients/B-001/perfusions/new?tnf_mg=4&melphalan_mg=86")
    assert page.status_code == 404
    assert "B-001" in page.text and "CB" not in page.text and "tnf_mg" not in page.text
    assert counts(registry) == before


@pytest.mark.parametrize("role", list(ROLE_ACCOUNTS))
def test_each_perfusion_on_the_patient_page_links_to_its_leakage_monitor(client, role):
    login(client, role)
    patient = "A-001"
    if role == "statistician":  # patients and perfusions are shown by keyed pseudonyms only
        listing = client.get("/patients").text
        patient = html.unescape(re.search(r'href="/patients/([^"]+)"', listing).group(1))
    page = client.get(f"/patients/{patient}")
    assert page.status_code == 200
    links = re.findall(r'<a href="(/leakage/[^"]+)">Leakage monitor</a>', page.text)
    assert len(links) == 1  # the seeded patient has one perfusion
    assert (links[0] == "/leakage/perf-001") == (role != "statistician")  # else a pseudonym
    monitor = client.get(html.unescape(links[0]))
    assert monitor.status_code == 200 and "Leakage monitor: perfusion" in monitor.text
    if role == "statistician":
        assert "perf-001" not in page.text and "perf-001" not in monitor.text
