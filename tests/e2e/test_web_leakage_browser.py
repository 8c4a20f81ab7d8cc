"""The planner and the live leakage monitor in a real browser (Chromium), SQLite and PostgreSQL.

A clinician types a limb volume and sees the doses change without a page load; on a tablet-sized
screen (768 x 1024) the clinician calibrates the probe of perfusion perf-001 and enters readings
until the notify banner shows. Expected values by hand: melphalan 10 mg/L x 8.6 L = 86.0 mg;
leakage 0.1 x (600 - 100) x exp(ln2 x 45 / (6.01 x 60)) / (1100 - 100) x 100 = 5.45% >= 5%.
"""

from __future__ import annotations

import math

import pytest
from playwright.sync_api import expect
from tests.e2e.conftest import log_in, screenshot

pytestmark = pytest.mark.browser

NO_OVERFLOW = "document.documentElement.scrollWidth <= window.innerWidth"
"""No sideways scrolling (page.evaluate runs outside the page's Content-Security-Policy; the
string forms of wait_for_function do not, so waits use ``expect``)."""


def _watch_404(page) -> list[str]:
    """URLs of the page's own requests answered 404 (must stay empty)."""
    urls: list[str] = []
    page.on("response", lambda r: urls.append(r.url) if r.status == 404 else None)
    return urls


def _real(problems: list[str], not_found: list[str]) -> list[str]:
    """``problems`` without the browser's own /favicon.ico request (the app serves none).

    That request is not one of the page's (Playwright does not report it), so a 404 console line
    is dropped only when no request of the page itself was answered 404.
    """
    assert not_found == [], not_found
    return [p for p in problems if "404 (Not Found)" not in p]


def test_planner_updates_doses_as_a_volume_is_typed(live_server, open_page):
    page, problems = open_page(768, 1024)
    not_found = _watch_404(page)
    log_in(page, live_server, "clinician")
    page.click("text=Planner")
    page.wait_for_url(f"{live_server}/planner")
    page.evaluate("window.ilpNoReload = true")
    page.fill("#volume_l", "8.6")
    page.wait_for_selector("#out-melphalan")
    assert page.inner_text("#out-melphalan") == "86.0 mg"
    assert page.inner_text("#out-tnf") == "4 mg"
    page.fill("#volume_l", "16")
    expect(page.locator("#out-melphalan")).to_have_text("150.0 mg")
    assert "CAPPED at 150 mg" in page.inner_text("#plan-results")
    screenshot(page, "web-planner-capped")
    page.fill("#volume_l", "8,6")
    expect(page.locator("#err-volume_l")).to_contain_text("uses a comma")
    assert page.evaluate("window.ilpNoReload") is True  # the same page: no reload happened
    assert page.evaluate(NO_OVERFLOW)
    screenshot(page, "web-planner")
    assert _real(problems, not_found) == [], problems


def test_leakage_monitor_on_a_tablet_until_the_alert(live_server, open_page):
    page, problems = open_page(768, 1024)
    not_found = _watch_404(page)
    log_in(page, live_server, "clinician")
    page.goto(f"{live_server}/leakage/perf-001")
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
    expected = 0.1 * 500 * math.exp(math.log(2) * 45 / (6.01 * 60)) / 1000 * 100
    banner = page.locator("#banner-notify")
    banner.wait_for()
    assert banner.get_attribute("role") == "alert"
    assert f"{expected:.2f}%" in banner.inner_text() and "tell the surgeon" in banner.inner_text()
    assert page.locator("svg.chart circle").count() == 3
    assert page.locator("svg.chart .threshold-stop").count() == 1
    # a bad reading is refused, the typed value kept, nothing added
    page.fill("#minute", "40")
    page.fill("#counts_per_s", "700")
    page.click("text=Add reading")
    expect(page.locator("#err-minute")).to_contain_text("must be later than the previous reading")
    assert page.input_value("#minute") == "40"
    assert page.locator("#readings tbody tr").count() == 3
    assert page.evaluate("window.ilpNoReload") is True
    assert page.evaluate(NO_OVERFLOW)
    box = page.locator("#minute").bounding_box()
    assert box is not None and box["height"] >= 44  # a touch target
    screenshot(page, "web-leakage-tablet")
    assert _real(problems, not_found) == [], problems
