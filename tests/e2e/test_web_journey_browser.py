"""A clinician's day in one flow, in a real browser (Chromium), on SQLite and on PostgreSQL.

The clinician of centre CA logs in, enters a new patient with the first perfusion, plans the
repeat perfusion in the planner (the doses recompute as the limb volume is typed), opens the
new-perfusion form from 'Record this perfusion' with the computed doses filled in, types a date
before the birth date, gets the problem next to the field with nothing lost, corrects it and
saves; then monitors the leakage of that perfusion until the notify banner shows, filters the
dashboard by centre and is refused another centre's patient (B-001, centre CB) like a missing
one. A screenshot is saved at each step; the console stays free of errors.

Expected values by hand (src/ilpkit/data/protocols.toml, label protocol): leg TNF-α 4 mg;
melphalan 10 mg/L x 8.6 L = 86.0 mg, then 10 mg/L x 9.2 L = 92.0 mg. Leakage (Tc-99m, half-life
6.01 h, standard 10%): 0.1 x (600 - 100) x exp(ln 2 x 45 / (6.01 x 60)) / (1100 - 100) x 100 =
5.45% >= the notify level 5%. Centre CA holds 3 patients of the test registry, 4 with the new one,
with 3 + 2 perfusions.
"""

from __future__ import annotations

import math

import pytest
from tests.conftest import make_row
from tests.e2e.conftest import log_in, screenshot

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect

PATIENT = "A-700"
FIRST = make_row(
    patient_id=PATIENT,
    center="CA",
    birth_date="1958-06-20",
    ilp_date="2003-02-11",
    last_followup_date="2012-05-02",
    resection_date="",
    resection_margin="",
)
"""The new patient and the first perfusion (a synthetic row of the test helpers)."""
PLANNED_DATE = "2006-09-12"
TYPO_DATE = "1957-09-12"
"""The repeat perfusion's date, and the same date typed with a wrong year (before birth)."""
DOSES = {
    "limb": "leg",
    "perfusion_level": "femoral",
    "limb_volume_l": "9.2",
    "limb_volume_method": "water_displacement",
    "tnf_mg": "4",
    "melphalan_mg": "92",
}
"""What the planned perfusion's form must hold, from the plan (by hand, see above)."""
COMPLETED = {
    "histology": "liposarcoma",
    "grade": "2",
    "multifocal": "no",
    "presentation": "recurrent",
    "prior_radiotherapy": "no",
    "response": "CR",
}
"""What the clinician completes by hand on the prefilled form."""


def _fill(page, values: dict[str, str]) -> None:
    """Type or choose each value in the record form's field of that name."""
    for name, value in values.items():
        field = page.locator(f"form.record [name={name}]")
        if field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)


def _assert_form_holds(page, values: dict[str, str]) -> None:
    for name, value in values.items():
        assert page.locator(f"form.record [name={name}]").input_value() == value, name


def test_a_clinicians_journey(live_server, open_page):
    base = live_server
    page, problems = open_page(1280, 1000)
    failed: list[tuple[int, str]] = []
    page.on("response", lambda r: failed.append((r.status, r.url)) if r.status >= 400 else None)

    # 1. log in: the dashboard is the landing page
    log_in(page, base, "clinician", landing="/dashboard")
    expect(page.locator("h1")).to_have_text("Dashboard")
    screenshot(page, "journey-01-logged-in")

    # 2. a new patient with the first perfusion
    page.goto(f"{base}/patients")
    page.click("text=New patient")
    page.wait_for_url(f"{base}/records/patients/new")
    _fill(page, FIRST)
    page.fill("textarea[name=reason]", "referred for a recurrence")
    screenshot(page, "journey-02-new-patient")
    page.click("form.record button[type=submit]")
    page.wait_for_url(f"{base}/patients/{PATIENT}")
    assert "2003-02-11" in page.locator("main").inner_text()
    screenshot(page, "journey-03-patient-saved")

    # 3. the planner: the doses recompute as the limb volume is typed, without a page load
    page.click("header >> text=Planner")
    page.wait_for_url(f"{base}/planner")
    page.evaluate("window.ilpNoReload = true")
    page.fill("#volume_l", "8.6")
    expect(page.locator("#out-melphalan")).to_have_text("86.0 mg")
    assert page.inner_text("#out-tnf") == "4 mg"
    page.fill("#volume_l", "9.2")
    expect(page.locator("#out-melphalan")).to_have_text("92.0 mg")
    assert page.inner_text("#out-volume") == "9.20 L"
    expect(page.locator("#record-perfusion")).to_contain_text("give the patient id")
    page.fill("#patient_id", PATIENT)
    page.fill("#ilp_date", PLANNED_DATE)
    link = page.locator("#record-perfusion-link")
    query = "&".join(f"{k}={v}" for k, v in {"ilp_date": PLANNED_DATE, **DOSES}.items())
    expect(link).to_have_attribute("href", f"/records/patients/{PATIENT}/perfusions/new?{query}")
    assert page.evaluate("window.ilpNoReload") is True  # the same page all along
    screenshot(page, "journey-04-planner")

    # 4. 'Record this perfusion': the patient's new-perfusion form with the plan filled in
    link.click()
    page.wait_for_url(f"{base}/records/patients/{PATIENT}/perfusions/new?**")
    assert "Nothing has been saved yet" in page.locator("#prefilled").inner_text()
    _assert_form_holds(page, {"ilp_date": PLANNED_DATE, **DOSES})
    assert page.locator("form.record [name=histology]").input_value() == ""
    screenshot(page, "journey-05-prefilled")

    # 5. the date typed with a wrong year: refused next to its field, nothing typed is lost
    _fill(page, {**COMPLETED, "ilp_date": TYPO_DATE})
    page.fill("textarea[name=reason]", "repeat perfusion as planned")
    page.click("form.record button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("#e-ilp_date").inner_text() == "must be after the birth date"
    assert page.locator("#form-errors").is_visible()
    _assert_form_holds(page, {"ilp_date": TYPO_DATE, **DOSES, **COMPLETED})
    assert page.locator("textarea[name=reason]").input_value() == "repeat perfusion as planned"
    screenshot(page, "journey-06-problem")
    page.fill("form.record [name=ilp_date]", PLANNED_DATE)
    page.click("form.record button[type=submit]")
    page.wait_for_url(f"{base}/patients/{PATIENT}")
    row = page.locator("main tr", has_text=PLANNED_DATE)
    expect(row).to_have_count(1)
    shown = row.locator("td").all_inner_texts()[:6]
    assert shown == [PLANNED_DATE, "leg", "femoral", "9.2", "4.0", "92.0"], shown
    screenshot(page, "journey-07-perfusion-saved")
    page.click("main >> text=Audit")
    page.wait_for_url(f"{base}/records/patients/{PATIENT}/audit")
    history = page.locator("main").inner_text()
    assert "repeat perfusion as planned" in history and "→ 92" in history

    # 6. the leakage monitor of that perfusion, on until the notify banner
    page.goto(f"{base}/patients/{PATIENT}")
    row = page.locator("main tr", has_text=PLANNED_DATE)
    row.get_by_role("link", name="Leakage monitor").click()
    page.wait_for_url(f"{base}/leakage/**")
    page.fill("#background_cps", "100")
    page.fill("#calibration_cps", "1100")
    page.click("text=Start monitoring")
    page.wait_for_selector("#minute")
    page.evaluate("window.ilpNoReload = true")
    for n, (minute, counts) in enumerate([(0, 200), (30, 500), (45, 600)], start=1):
        page.fill("#minute", str(minute))
        page.fill("#counts_per_s", str(counts))
        page.click("text=Add reading")
        expect(page.locator("#readings tbody tr")).to_have_count(n)
        # htmx makes the new entry form live (and focuses it) only when it settles, 20 ms
        # after the swap: typing earlier loses keys to the autofocus or posts without htmx
        expect(page.locator(".htmx-added")).to_have_count(0)
    expected = 0.1 * (600 - 100) * math.exp(math.log(2) * 45 / (6.01 * 60)) / (1100 - 100) * 100
    banner = page.locator("#banner-notify")
    banner.wait_for()
    assert banner.get_attribute("role") == "alert"
    assert f"{expected:.2f}%" in banner.inner_text() and "tell the surgeon" in banner.inner_text()
    assert page.evaluate("window.ilpNoReload") is True
    assert f"Patient {PATIENT}" in page.locator("main").inner_text()
    screenshot(page, "journey-08-leakage-alert")

    # 7. the dashboard, filtered by centre (htmx)
    page.goto(f"{base}/dashboard")
    page.select_option("#center", "CA")
    expect(page).to_have_url(f"{base}/dashboard?center=CA&by=")
    expect(page.locator("#n-patients")).to_have_text("4")
    assert page.inner_text("#n-perfusions") == "5" and page.inner_text("#n-centers") == "1"
    curves = page.locator("svg.curves")  # drawn inline in the answer, for centre CA
    expect(curves).to_have_count(1)  # overall survival; no local recurrence is recorded in CA
    expect(curves).to_be_visible()
    expect(page.locator("#local-recurrence-none")).to_be_visible()
    at_risk = page.locator("#overall-survival-curves .at-risk text[text-anchor=middle]").first
    assert at_risk.text_content() == "4"  # every CA patient at risk at time 0
    screenshot(page, "journey-09-dashboard-CA")

    # 8. another centre's patient: refused exactly like a missing one
    answer = page.goto(f"{base}/patients/B-001")
    assert answer is not None and answer.status == 404
    main = page.locator("main").inner_text()
    assert "Not found" in main and "no patient" in main
    for secret in ("CB", "1950-01-04", "perf-004", "Perfusions"):
        assert secret not in main, secret
    screenshot(page, "journey-10-other-centre-refused")

    # the refused form answers 422 and the other centre's patient 404 by design, and the console
    # reports each as a failed load (as it does the browser's own request for a favicon there is
    # not): no request of the pages (stylesheet, script, forms, htmx) may fail otherwise
    assert failed == [
        (422, f"{base}/records/patients/{PATIENT}/perfusions/new"),
        (404, f"{base}/patients/B-001"),
    ], failed
    problems = [p for p in problems if not p.startswith("error: Failed to load resource")]
    assert problems == [], problems
