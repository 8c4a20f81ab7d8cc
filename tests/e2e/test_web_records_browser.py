"""Entering a record in a real browser (Chromium), on SQLite and PostgreSQL: a data manager
creates a patient with the first perfusion, gets a problem next to its field with everything
typed still in the form, corrects it and saves."""

from __future__ import annotations

import pytest
from tests.conftest import make_row
from tests.e2e.conftest import log_in, screenshot

pytestmark = pytest.mark.browser

SELECTS = {
    "center",
    "sex",
    "limb",
    "perfusion_level",
    "limb_volume_method",
    "histology",
    "grade",
    "multifocal",
    "presentation",
    "prior_radiotherapy",
    "response",
    "resection_margin",
}
"""The fields the form offers as a list of choices (the others are typed)."""


def _fill(page, values: dict[str, str]) -> None:
    for name, value in values.items():
        if name in SELECTS:
            page.select_option(f"select[name={name}]", value)
        else:
            page.fill(f"input[name={name}]", value)


def test_data_manager_enters_a_patient_fixes_a_problem_and_saves(live_server, open_page):
    page, problems = open_page()
    failed: list[tuple[int, str]] = []
    page.on("response", lambda r: failed.append((r.status, r.url)) if r.status >= 400 else None)
    log_in(page, live_server, "data_manager")
    page.click("text=New patient")
    page.wait_for_url(f"{live_server}/records/patients/new")
    typed = make_row(
        patient_id="A-500",
        center="CA",
        birth_date="1961-04-02",
        ilp_date="1960-09-15",  # before the birth date: refused
        resection_date="",
        resection_margin="",
        melphalan_mg="82.5",
        limb_volume_l="8.25",
    )
    _fill(page, typed)
    page.fill("textarea[name=reason]", "first visit")
    page.click("form.record button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("#e-ilp_date").inner_text() == "must be after the birth date"
    assert page.locator("#form-errors").is_visible()
    for name, value in typed.items():  # nothing typed is lost
        tag = "select" if name in SELECTS else "input"
        assert page.locator(f"{tag}[name={name}]").input_value() == value, name
    assert page.locator("textarea[name=reason]").input_value() == "first visit"
    screenshot(page, "web-record-problem")
    page.fill("input[name=ilp_date]", "2001-03-14")
    page.click("form.record button[type=submit]")
    page.wait_for_url(f"{live_server}/patients/A-500")
    main = page.locator("main").inner_text()
    assert "2001-03-14" in main and "82.5" in main
    screenshot(page, "web-record-saved")
    page.click("text=Audit")
    page.wait_for_url(f"{live_server}/records/patients/A-500/audit")
    history = page.locator("main").inner_text()
    assert "melphalan_mg" in history and "→ 82.5" in history and "first visit" in history
    # the refused form answers 422 by design, and the console reports it as a failed load (as
    # it does the browser's own request for a favicon there is not): no request of the pages
    # (stylesheet, script, forms) may fail otherwise
    assert failed == [(422, f"{live_server}/records/patients/new")]
    problems = [p for p in problems if not p.startswith("error: Failed to load resource")]
    assert problems == [], problems
