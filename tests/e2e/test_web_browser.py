"""The web application in a real browser (Chromium), on SQLite and PostgreSQL: log in, see
only one's own centre, and be refused another centre's patient URL."""

from __future__ import annotations

import pytest
from tests.e2e.conftest import log_in, screenshot

pytestmark = pytest.mark.browser


def test_log_in_list_own_centre_and_refuse_another_centres_patient(live_server, open_page):
    page, problems = open_page()
    log_in(page, live_server, "data_manager")
    assert "3 patients." in page.content()
    assert page.locator("text=A-001").count() >= 1
    assert page.locator("text=B-001").count() == 0
    screenshot(page, "web-patients")
    response = page.goto(f"{live_server}/patients/B-001")
    assert response is not None and response.status == 404
    assert "B-001" not in page.locator("main").inner_text() or "no patient" in page.content()
    # the escaped id of a hostile patient shows as text, never runs
    page.goto(f"{live_server}/patients")
    assert page.locator("text=<script>alert(1)</script>").count() >= 1
    problems = [p for p in problems if "404" not in p]
    assert problems == [], problems
