"""The perfusion planner page and the live leakage monitor, on SQLite and PostgreSQL.

Expected doses are computed by hand from the label values in src/ilpkit/data/protocols.toml
(TNF-alpha 4 mg leg / 3 mg arm; melphalan 10 mg/L leg / 13 mg/L arm, at most 150 mg; flow at most
40 mL/L/min, warning below 30 mL/L/min). Expected leakage values use the formula of
ilpkit.planning.leakage written out here: leakage % = f x (C - B) x exp(ln2 x t / half-life) /
(C_cal - B) x 100, with the Tc-99m half-life 6.01 h.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import math
import re

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from tests.integration.webdata import KEY, PASSWORD, ROLE_ACCOUNTS, web_registry
from tests.integration.webdata import csrf_of as _csrf

from ilpkit.adapters.db.engine import make_engine
from ilpkit.adapters.db.tables import (
    audit_log,
    leakage_monitorings,
    leakage_readings,
    perfusion_plans,
    perfusions,
)
from ilpkit.web.app import create_app

ROUTES = {
    ("GET", "/planner"),
    ("POST", "/planner/compute"),
    ("POST", "/planner/save"),
    ("GET", "/leakage"),
    ("GET", "/leakage/{perfusion_id}"),
    ("POST", "/leakage/{perfusion_id}/start"),
    ("POST", "/leakage/{perfusion_id}/readings"),
    ("POST", "/leakage/{perfusion_id}/peak"),
    ("GET", "/api/v1/perfusions/{perfusion_id}/leakage"),
    ("POST", "/api/v1/perfusions/{perfusion_id}/leakage/readings"),
}
"""The planner and leakage monitor routes (walked for every role below)."""

OWN, OTHER = "perf-001", "perf-004"


def _shown_perfusion(role: str, perfusion_id: str) -> str:
    """How ``role`` addresses a perfusion: statisticians by its keyed pseudonym."""
    if role != "statistician":
        return perfusion_id
    mac = hmac.new(
        KEY.encode(), b"ilpkit perfusion pseudonym\x00" + perfusion_id.encode(), hashlib.sha256
    )
    return "F" + mac.hexdigest()[:32]


"""A perfusion of centre CA (patient A-001, leg femoral, 2001-03-01) and one of centre CB."""
TC99M_HALF_LIFE_MIN = 6.01 * 60
HX = {"HX-Request": "true"}


@pytest.fixture
def registry(db_url, monkeypatch):
    return web_registry(db_url, monkeypatch)


@pytest.fixture
def client(registry):
    with TestClient(create_app(registry)) as c:
        yield c


def login(client: TestClient, role: str) -> str:
    """Log in as the account of ``role``; the session's CSRF token."""
    name, _ = ROLE_ACCOUNTS[role]
    form = client.get("/login")
    data = {"username": name, "password": PASSWORD, "csrf_token": _csrf(form.text)}
    assert client.post("/login", data=data, follow_redirects=False).status_code == 303
    return _csrf(client.get("/planner").text)


def bearer(client: TestClient, role: str) -> dict[str, str]:
    name, _ = ROLE_ACCOUNTS[role]
    issued = client.post("/api/v1/auth/token", json={"username": name, "password": PASSWORD})
    return {"Authorization": f"Bearer {issued.json()['access_token']}"}


def rows(url: str, table: sa.Table, *where) -> list:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.select(table).where(*where).order_by(table.c.id)).all()
    finally:
        engine.dispose()


def cell(html: str, ident: str) -> str:
    return re.search(rf'id="{ident}">([^<]*)<', html).group(1)


def field_error(html: str, name: str) -> str:
    found = re.search(rf'<span class="field-error" id="err-{name}"[^>]*>([^<]*)</span>', html)
    return found.group(1) if found else ""


def pseudonym(pid: str) -> str:
    mac = hmac.new(KEY.encode(), b"ilpkit pseudonym\x00" + pid.encode(), hashlib.sha256)
    return "P" + mac.hexdigest()[:32]


def leakage(counts: float, minute: float, background=100.0, calibration=1100.0, f=0.10) -> float:
    """The leakage formula of the module docstring, written out independently."""
    decay = math.exp(math.log(2) * minute / TC99M_HALF_LIFE_MIN)
    return f * (counts - background) * decay / (calibration - background) * 100


# --- planner --------------------------------------------------------------------------------


def compute(client, csrf, **fields):
    data = {"csrf_token": csrf, "limb": "leg", "level": "femoral", "protocol": "label", **fields}
    return client.post("/planner/compute", data=data, headers=HX)


def test_planner_page_has_the_form_for_every_role(client):
    for role in ROLE_ACCOUNTS:
        client.cookies.clear()
        login(client, role)
        page = client.get("/planner")
        assert page.status_code == 200
        assert 'hx-post="/planner/compute"' in page.text and 'name="volume_l"' in page.text
        assert 'name="lab_platelets_e9_per_l"' in page.text  # one field per laboratory rule
        assert ("/planner/save" in page.text) == (role in ("admin", "clinician"))


def test_compute_doses_by_hand(client):
    csrf = login(client, "clinician")
    leg = compute(client, csrf, volume_l="8.6")
    assert leg.status_code == 200
    assert cell(leg.text, "out-volume") == "8.60 L"
    assert cell(leg.text, "out-tnf") == "4 mg"  # SmPC: 4 mg for a lower limb
    assert cell(leg.text, "out-melphalan") == "86.0 mg"  # 10 mg/L x 8.6 L
    assert cell(leg.text, "out-flow-max") == "344 mL/min"  # 40 mL/L/min x 8.6 L
    assert cell(leg.text, "out-flow-warning") == "258 mL/min"  # 30 mL/L/min x 8.6 L
    assert "CAPPED" not in leg.text
    assert "SmPC: 4 mg for a lower limb" in leg.text  # the source is shown with the value

    arm = compute(client, csrf, limb="arm", level="axillary", volume_l="2.5")
    assert cell(arm.text, "out-tnf") == "3 mg"
    assert cell(arm.text, "out-melphalan") == "32.5 mg"  # 13 mg/L x 2.5 L

    reduced = compute(client, csrf, volume_l="8.6", protocol="reduced-tnf")
    assert cell(reduced.text, "out-tnf") == "2 mg" and cell(reduced.text, "out-melphalan") == (
        "86.0 mg"
    )

    # truncated cones: V = h (C1^2 + C1 C2 + C2^2) / (12 pi) per segment, summed
    c, h = (30.0, 25.0, 20.0), 10.0
    segments_ml = [h * (a * a + a * b + b * b) / (12 * math.pi) for a, b in itertools.pairwise(c)]
    volume_l = sum(segments_ml) / 1000
    circ = compute(
        client, csrf, limb="arm", level="brachial", circumferences_cm="30, 25, 20", spacing_cm="10"
    )
    assert cell(circ.text, "out-volume") == f"{volume_l:.2f} L"
    assert cell(circ.text, "out-melphalan") == f"{13 * volume_l:.1f} mg"


def test_melphalan_cap_is_shown_never_silent(client):
    csrf = login(client, "clinician")
    page = compute(client, csrf, volume_l="16")
    # 10 mg/L x 16 L = 160 mg is above the SmPC maximum of 150 mg: 150 mg, 150/16 = 9.38 mg/L
    assert cell(page.text, "out-melphalan") == "150.0 mg"
    assert "160.0 mg" in page.text and "CAPPED at 150 mg" in page.text
    assert "= 9.38 mg/L" in page.text
    assert "MELPHALAN CAPPED" in page.text and "SmPC: at most 150 mg melphalan" in page.text


def test_eligibility_findings_with_their_sources(client):
    csrf = login(client, "clinician")
    page = compute(
        client,
        csrf,
        volume_l="8.6",
        lab_platelets_e9_per_l="40",
        cond_severe_ascites="no",
    )
    assert "NOT ELIGIBLE" in page.text and 'role="alert"' in page.text
    assert "SmPC section 4.3: platelets &lt; 60 x 10^9/L" in page.text
    assert "Severe ascites" in page.text  # answered no: listed among the items checked OK
    assert cell(page.text, "out-melphalan") == "86.0 mg"


@pytest.mark.parametrize(
    ("fields", "name", "words"),
    [
        ({"volume_l": "8,6"}, "volume_l", "uses a comma; write decimals with a point"),
        ({"volume_l": "abc"}, "volume_l", "measured volume (L) = &#39;abc&#39;: not a number"),
        ({"volume_l": "50"}, "volume_l", "50"),
        ({}, "volume_l", "the limb volume is missing"),
        ({"volume_l": "8", "circumferences_cm": "40,30"}, "volume_l", "not both"),
        ({"circumferences_cm": "40,30"}, "spacing_cm", "distance between them"),
        ({"circumferences_cm": "40,x", "spacing_cm": "10"}, "circumferences_cm", "not a number"),
        ({"circumferences_cm": "40,30", "spacing_cm": "40"}, "spacing_cm", "spacing_cm = 40"),
        ({"volume_l": "8", "level": "axillary"}, "level", "axillary"),
        ({"volume_l": "8", "protocol": "nope"}, "protocol", "no protocol named"),
        ({"volume_l": "8", "lab_platelets_e9_per_l": "lots"}, "lab_platelets_e9_per_l", "not a"),
        (
            {"volume_l": "8", "lab_creatinine_umol_per_l": "2.5"},
            "lab_creatinine_umol_per_l",
            "mg/dL",
        ),
    ],
)
def test_input_errors_are_shown_next_to_their_field(client, fields, name, words):
    csrf = login(client, "clinician")
    page = compute(client, csrf, **fields)
    assert page.status_code == 200
    message = field_error(page.text, name)
    assert words in message, (name, page.text)
    assert 'id="out-melphalan"' not in page.text  # no doses from a form with an error
    assert "Traceback" not in page.text
    # every other field's message is emptied (out-of-band swaps, one per field)
    assert field_error(page.text, "ilp_date") == ""


def test_compute_without_htmx_keeps_the_typed_values(client):
    csrf = login(client, "clinician")
    data = {"csrf_token": csrf, "limb": "leg", "level": "femoral", "volume_l": "8,6"}
    page = client.post("/planner/compute", data=data)
    assert page.status_code == 200 and 'value="8,6"' in page.text
    assert "uses a comma" in field_error(page.text, "volume_l")


def test_compute_needs_the_csrf_token(client):
    login(client, "clinician")
    assert compute(client, "forged", volume_l="8").status_code == 403


def save(client, csrf, **fields):
    data = {
        "csrf_token": csrf,
        "limb": "leg",
        "level": "femoral",
        "protocol": "label",
        "volume_l": "8.6",
        **fields,
    }
    return client.post("/planner/save", data=data)


def test_save_plan_to_an_own_centre_perfusion_with_audit(client, registry):
    csrf = login(client, "clinician")
    page = save(client, csrf, patient_id="A-001", ilp_date="2001-03-01")
    assert page.status_code == 200
    stored = rows(registry, perfusion_plans)
    assert len(stored) == 1
    plan = stored[0]
    assert (plan.patient_id, plan.limb, plan.perfusion_level) == ("A-001", "leg", "femoral")
    assert (plan.tnf_mg, plan.melphalan_mg, plan.limb_volume_l) == (4.0, 86.0, 8.6)
    assert plan.actor == "cl_a" and plan.plan["protocol"] == "label"
    assert f"Plan {plan.id} saved for patient A-001, perfusion on 2001-03-01" in page.text
    audit = rows(registry, audit_log, audit_log.c.action == "plan")
    assert [(a.actor, a.entity, a.entity_key) for a in audit] == [
        ("cl_a", "plan", "A-001 2001-03-01")
    ]
    assert audit[0].details["plan_id"] == plan.id
    # a planned perfusion not yet recorded may be saved too
    assert save(client, csrf, patient_id="A-002", ilp_date="2026-12-03").status_code == 200
    assert len(rows(registry, perfusion_plans)) == 2


def test_save_plan_refusals_store_nothing(client, registry):
    csrf = login(client, "clinician")
    other = save(client, csrf, patient_id="B-001", ilp_date="2001-03-04")
    missing = save(client, csrf, patient_id="B-999", ilp_date="2001-03-04")
    assert other.status_code == missing.status_code == 404
    assert field_error(other.text, "patient_id").replace("B-001", "X") == field_error(
        missing.text, "patient_id"
    ).replace("B-999", "X")
    assert "nothing was saved" in field_error(other.text, "patient_id")
    site = save(
        client, csrf, patient_id="A-001", ilp_date="2001-03-01", limb="arm", level="axillary"
    )
    assert site.status_code == 422
    assert "recorded as a leg perfusion at femoral level" in site.text
    bad_date = save(client, csrf, patient_id="A-001", ilp_date="01/03/2001")
    assert bad_date.status_code == 422 and field_error(bad_date.text, "ilp_date")
    no_volume = save(client, csrf, patient_id="A-001", ilp_date="2001-03-01", volume_l="")
    assert no_volume.status_code == 422
    assert save(client, "forged", patient_id="A-001", ilp_date="2001-03-01").status_code == 403
    assert rows(registry, perfusion_plans) == []
    assert rows(registry, audit_log, audit_log.c.action == "plan") == []


# --- leakage monitor ------------------------------------------------------------------------


def start(client, csrf, perfusion=OWN, **fields):
    data = {
        "csrf_token": csrf,
        "isotope": "tc99m",
        "background_cps": "100",
        "calibration_cps": "1100",
        "standard_fraction": "0.10",
        **fields,
    }
    return client.post(f"/leakage/{perfusion}/start", data=data, follow_redirects=False)


def reading(client, csrf, minute, counts, perfusion=OWN):
    data = {"csrf_token": csrf, "minute": str(minute), "counts_per_s": str(counts)}
    return client.post(f"/leakage/{perfusion}/readings", data=data, headers=HX)


def table_values(html: str) -> list[tuple[str, str, str, str]]:
    body = html.split('id="readings"', 1)[1]
    return re.findall(
        r'<tr class="row-\w+"><td class="num">([^<]*)</td><td class="num">([^<]*)</td>'
        r'<td class="num">([^<]*)</td><td>([^<]*)</td>',
        body,
    )


def test_monitoring_curve_alerts_and_persistence(client, registry):
    csrf = login(client, "clinician")
    page = client.get(f"/leakage/{OWN}")
    assert page.status_code == 200 and "Start monitoring" in page.text
    assert 'value="0.1"' in page.text  # default standard fraction from the protocol file
    assert start(client, csrf).status_code == 303
    mon = rows(registry, leakage_monitorings)
    assert [(m.isotope, m.background_cps, m.calibration_cps, m.standard_fraction) for m in mon] == [
        ("tc99m", 100.0, 1100.0, 0.10)
    ]

    first = reading(client, csrf, 0, 200)
    assert first.status_code == 200 and first.text.startswith('\n<section id="monitor"')
    assert table_values(first.text) == [("0", "200", "1.00", "ok")]  # 0.1 x 100 / 1000 x 100
    assert 'role="alert" id="banner' not in first.text

    second = reading(client, csrf, 30, 500)
    assert table_values(second.text)[-1] == ("30", "500", f"{leakage(500, 30):.2f}", "ok")
    assert f"{leakage(500, 30):.2f}" == "4.24"

    # 0.1 x 500 x exp(ln2 x 45 / 360.6) / 1000 x 100 = 5.45%: at or above notify (5%)
    notify = reading(client, csrf, 45, 600)
    assert leakage(600, 45) >= 5.0 > leakage(500, 30)
    assert table_values(notify.text)[-1] == ("45", "600", f"{leakage(600, 45):.2f}", "notify")
    assert 'id="banner-notify"' in notify.text and "banner-stop" not in notify.text
    assert "tell the surgeon" in notify.text
    assert "inference: early warning at half the SmPC stop level" in notify.text
    assert "<polyline" in notify.text and "threshold-stop" in notify.text

    # a lower reading after the alert keeps the level (leakage is cumulative)
    lower = reading(client, csrf, 50, 300)
    assert table_values(lower.text)[-1][3] == "notify"

    # 0.1 x 1000 x exp(ln2 x 60 / 360.6) / 1000 x 100 = 11.2%: stop (10%)
    stop = reading(client, csrf, 60, 1100)
    assert leakage(1100, 60) >= 10.0
    assert table_values(stop.text)[-1] == ("60", "1100", f"{leakage(1100, 60):.2f}", "stop")
    assert 'class="banner banner-stop" role="alert" id="banner-stop"' in stop.text
    assert "stop the perfusion and wash out the limb with at least 2 L of dextran" in stop.text
    assert "SmPC: stop the perfusion when cumulative leakage reaches 10%" in stop.text

    # stored, and the page reloads with the same curve
    stored = rows(registry, leakage_readings)
    assert [(r.minute, r.counts_per_s, r.actor) for r in stored] == [
        (0.0, 200.0, "cl_a"),
        (30.0, 500.0, "cl_a"),
        (45.0, 600.0, "cl_a"),
        (50.0, 300.0, "cl_a"),
        (60.0, 1100.0, "cl_a"),
    ]
    again = client.get(f"/leakage/{OWN}")
    assert table_values(again.text) == table_values(stop.text)
    assert 'id="banner-stop"' in again.text
    audit = rows(registry, audit_log, audit_log.c.action == "leakage")
    assert [(a.entity, a.entity_key) for a in audit] == [("leakage_monitoring", OWN)] + [
        ("leakage_reading", OWN)
    ] * 5
    assert audit[3].details["minute"] == 45.0 and audit[3].details["level"] == "notify"

    # the API gives the same curve, typed
    curve = client.get(f"/api/v1/perfusions/{OWN}/leakage", headers=bearer(client, "monitor"))
    assert curve.status_code == 200
    body = curve.json()
    assert body["level"] == "stop" and body["stop_pct"] == 10.0 and body["notify_pct"] == 5.0
    assert [p["minute"] for p in body["readings"]] == [0.0, 30.0, 45.0, 50.0, 60.0]
    assert body["readings"][2]["leakage_pct"] == pytest.approx(leakage(600, 45), rel=1e-12)
    assert body["peak_leakage_pct"] == pytest.approx(leakage(1100, 60), rel=1e-12)


@pytest.mark.parametrize(
    ("minute", "counts", "name", "words"),
    [
        ("-5", "150", "minute", "must be at least 0"),
        ("10", "150", "minute", "already has a reading"),
        ("5", "150", "minute", "must be later than the previous reading (minute 10)"),
        ("abc", "150", "minute", "minute = &#39;abc&#39;: not a number"),
        ("12", "-1", "counts_per_s", "a count rate must be a number of at least 0"),
        ("12", "1,5", "counts_per_s", "uses a comma"),
        ("12", "", "counts_per_s", "give a number"),
        ("600", "150", "minute", "look like seconds"),
    ],
)
def test_bad_reading_is_refused_and_nothing_stored(client, registry, minute, counts, name, words):
    csrf = login(client, "clinician")
    start(client, csrf)
    reading(client, csrf, 10, 150)
    before = len(rows(registry, audit_log))
    page = reading(client, csrf, minute, counts)
    assert page.status_code == 200  # htmx swaps the fragment with the message
    assert words in field_error(page.text, name), page.text
    assert "nothing was stored" in field_error(page.text, name)
    assert f'value="{minute}"' in page.text  # the typed values are kept
    assert [(r.minute, r.counts_per_s) for r in rows(registry, leakage_readings)] == [(10.0, 150.0)]
    assert len(rows(registry, audit_log)) == before
    plain = client.post(
        f"/leakage/{OWN}/readings",
        data={"csrf_token": csrf, "minute": minute, "counts_per_s": counts},
    )
    assert plain.status_code == 422 and words in plain.text


def test_start_refusals(client, registry):
    csrf = login(client, "clinician")
    before_readings = reading(client, csrf, 0, 100)
    assert "not started" in before_readings.text
    low = start(client, csrf, calibration_cps="90")
    assert low.status_code == 422 and "is not above background" in field_error(
        low.text, "calibration_cps"
    )
    assert "standard fraction" in field_error(
        start(client, csrf, standard_fraction="1.5").text, "standard_fraction"
    )
    assert "unknown isotope" in field_error(start(client, csrf, isotope="xx").text, "isotope")
    assert "not a number" in field_error(
        start(client, csrf, background_cps="b").text, "background_cps"
    )
    assert rows(registry, leakage_monitorings) == []
    assert start(client, csrf).status_code == 303
    again = start(client, csrf, background_cps="50")
    assert again.status_code == 422 and "already started" in again.text
    assert [m.background_cps for m in rows(registry, leakage_monitorings)] == [100.0]


def test_save_peak_to_the_perfusion_audited_with_version(client, registry):
    csrf = login(client, "clinician")
    start(client, csrf)
    no_peak = client.post(f"/leakage/{OWN}/peak", data={"csrf_token": csrf, "version": "1"})
    assert no_peak.status_code == 422 and "no readings yet" in no_peak.text
    reading(client, csrf, 0, 200)
    reading(client, csrf, 45, 600)
    reading(client, csrf, 50, 300)
    page = client.get(f"/leakage/{OWN}")
    assert 'name="version" value="1"' in page.text
    saved = client.post(
        f"/leakage/{OWN}/peak", data={"csrf_token": csrf, "version": "1"}, headers=HX
    )
    peak = leakage(600, 45)  # the highest of the three readings
    assert saved.status_code == 200
    assert f"Peak leakage {peak:.2f}% saved to perfusion {OWN}" in saved.text
    assert "record version 2" in saved.text
    (row,) = rows(registry, perfusions, perfusions.c.perfusion_id == OWN)
    assert row.max_leakage_pct == pytest.approx(peak, rel=1e-12) and row.version == 2
    (audit,) = rows(registry, audit_log, audit_log.c.action == "update")
    assert (audit.entity, audit.entity_key, audit.actor) == (
        "perfusion",
        "A-001 2001-03-01",
        "cl_a",
    )
    assert audit.details["max_leakage_pct"]["old"] is None
    assert audit.details["max_leakage_pct"]["new"] == pytest.approx(peak, rel=1e-12)
    # a page loaded before the save is stale: refused, nothing changed
    stale = client.post(f"/leakage/{OWN}/peak", data={"csrf_token": csrf, "version": "1"})
    assert stale.status_code == 422 and "changed by someone else" in stale.text
    (row,) = rows(registry, perfusions, perfusions.c.perfusion_id == OWN)
    assert row.version == 2
    assert len(rows(registry, audit_log, audit_log.c.action == "update")) == 1


def test_a_monitoring_whose_isotope_left_the_protocol_file_is_explained(
    client, registry, monkeypatch, tmp_path
):
    from ilpkit.adapters.protocol_file import shipped_protocol_text

    csrf = login(client, "clinician")
    start(client, csrf)
    reading(client, csrf, 0, 200)
    text = shipped_protocol_text()
    block = text[text.index("[leakage.isotopes.tc99m]") : text.index("[leakage.isotopes.i131]")]
    edited = tmp_path / "protocols.toml"
    edited.write_text(text.replace(block, ""), encoding="utf-8")
    monkeypatch.setenv("ILP_PROTOCOL_FILE", str(edited))
    page = client.get(f"/leakage/{OWN}")
    assert page.status_code == 500 and "uses the isotope &#39;tc99m&#39;" in page.text
    refused = reading(client, csrf, 5, 210)
    assert refused.status_code == 500 and "Traceback" not in refused.text
    assert [r.minute for r in rows(registry, leakage_readings)] == [0.0]


# --- authorisation matrix -------------------------------------------------------------------


@pytest.mark.parametrize("role", list(ROLE_ACCOUNTS))
def test_planner_and_leakage_authorisation_matrix(client, registry, role):
    writer = role in ("admin", "clinician")
    sees_all = role == "admin"
    # unauthenticated: pages go to the login page, the API answers 401
    for path in ("/planner", "/leakage", f"/leakage/{OWN}"):
        assert client.get(path, follow_redirects=False).status_code == 303
    for path in ("/planner/compute", "/planner/save", f"/leakage/{OWN}/readings"):
        assert client.post(path, data={}, follow_redirects=False).status_code == 303
    assert client.get(f"/api/v1/perfusions/{OWN}/leakage").status_code == 401
    body = {"minute": 0, "counts_per_s": 1}
    assert client.post(f"/api/v1/perfusions/{OWN}/leakage/readings", json=body).status_code == 401

    # an admin starts both monitorings first, so that every role has a curve to read
    admin = TestClient(client.app)
    admin_csrf = login(admin, "admin")
    for perfusion in (OWN, OTHER):
        assert start(admin, admin_csrf, perfusion).status_code == 303
    csrf = login(client, role)
    auth = bearer(client, role)

    # planner: every role computes; saving is for admin and clinician
    assert client.get("/planner").status_code == 200
    assert compute(client, csrf, volume_l="8.6").status_code == 200
    own_save = save(client, csrf, patient_id="A-001", ilp_date="2001-03-01")
    other_save = save(client, csrf, patient_id="B-001", ilp_date="2001-03-04")
    assert own_save.status_code == (200 if writer else 403)
    assert other_save.status_code == (200 if sees_all else 403 if not writer else 404)
    assert len(rows(registry, perfusion_plans)) == (2 if sees_all else 1 if writer else 0)

    # leakage pages: own centre readable by every role; another centre's is 'not found'
    # (a statistician addresses perfusions by their keyed pseudonym only)
    own, other = _shown_perfusion(role, OWN), _shown_perfusion(role, OTHER)
    if role == "statistician":
        assert client.get(f"/leakage/{OWN}").status_code == 404
    assert client.get("/leakage").status_code == 200
    assert (
        client.get("/leakage", params={"perfusion_id": own}, follow_redirects=False).headers[
            "location"
        ]
        == f"/leakage/{own}"
    )
    own_page = client.get(f"/leakage/{own}")
    assert own_page.status_code == 200
    if role == "statistician":  # the patient is shown by pseudonym only
        assert "A-001" not in own_page.text and pseudonym("A-001") in own_page.text
    other_page = client.get(f"/leakage/{other}")
    missing_page = client.get("/leakage/perf-999")
    assert missing_page.status_code == 404
    assert client.get(f"/api/v1/perfusions/{own}/leakage", headers=auth).status_code == 200
    other_api = client.get(f"/api/v1/perfusions/{other}/leakage", headers=auth)
    if sees_all:
        assert other_page.status_code == 200 and other_api.status_code == 200
    else:
        assert other_page.status_code == 404 and other_api.status_code == 404
        assert other_page.text.replace(other, "X") == missing_page.text.replace("perf-999", "X")
        assert other_api.json() == {"detail": f"there is no perfusion '{other}'"}

    # writes: admin and clinician on their perfusions; read-only roles 403; other centre 404
    expected_own = 200 if writer else 403
    expected_other = 200 if sees_all else 404
    assert reading(client, csrf, 0, 200, own).status_code == expected_own
    assert reading(client, csrf, 0, 200, other).status_code == expected_other
    api_own = client.post(
        f"/api/v1/perfusions/{own}/leakage/readings",
        json={"minute": 5, "counts_per_s": 210},
        headers=auth,
    )
    api_other = client.post(
        f"/api/v1/perfusions/{other}/leakage/readings",
        json={"minute": 5, "counts_per_s": 210},
        headers=auth,
    )
    assert api_own.status_code == expected_own and api_other.status_code == expected_other
    if writer:
        assert [p["minute"] for p in api_own.json()["readings"]] == [0.0, 5.0]
    peak = {"csrf_token": csrf, "version": "1"}
    assert client.post(f"/leakage/{own}/peak", data=peak).status_code == expected_own
    assert client.post(f"/leakage/{other}/peak", data=peak).status_code == expected_other
    restart = start(client, csrf, own)  # already started: refused for writers, 403 for the others
    assert restart.status_code == (422 if writer else 403)
    assert start(client, csrf, other).status_code == (422 if sees_all else 404)
    # nothing was written by a read-only role or into another centre
    n_readings = len(rows(registry, leakage_readings))
    assert n_readings == (4 if sees_all else 2 if writer else 0)
    versions = {r.perfusion_id: r.version for r in rows(registry, perfusions)}
    assert versions[OWN] == (2 if writer else 1)
    assert versions[OTHER] == (2 if sees_all else 1)
    # forged CSRF tokens are refused before anything else
    forged = {"csrf_token": "forged", "minute": "9", "counts_per_s": "1"}
    assert client.post(f"/leakage/{OWN}/readings", data=forged).status_code == 403
