"""The dashboard in a real browser (Chromium), on SQLite and PostgreSQL: an admin imports a CSV
file through the import page, opens the dashboard, filters by centre CA (htmx) and sees the
counts and the curves (inline SVG) change."""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

import pytest
from tests.conftest import make_row, write_csv
from tests.e2e.conftest import log_in, screenshot

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect

N_CA, N_CB = 60, 40
"""Patients added by the import, of centre CA and of centre CB (webdata holds 3 and 2)."""


def _rows(seed: int = 20261201) -> list[dict[str, str]]:
    """Valid registry rows with deaths, responses and local recurrences drawn at random; the
    ``SYN-`` ids mark them SYNTHETIC, so the dashboard and its curves say so."""
    rng = random.Random(seed)
    rows = []
    for i in range(N_CA + N_CB):
        center, pid = ("CA", f"SYN-A{100 + i}") if i < N_CA else ("CB", f"SYN-B{100 + i}")
        ilp = date(1995, 1, 1) + timedelta(days=rng.randrange(0, 20 * 365))
        follow_up = ilp + timedelta(days=rng.randrange(60, 12 * 365))
        follow_up = min(follow_up, date(2024, 12, 31))
        died = rng.random() < 0.45
        lr = ""
        if rng.random() < 0.3:
            lr = (ilp + timedelta(days=rng.randrange(30, (follow_up - ilp).days + 1))).isoformat()
        rows.append(
            make_row(
                patient_id=pid,
                center=center,
                birth_date=(ilp - timedelta(days=rng.randrange(25 * 365, 85 * 365))).isoformat(),
                ilp_date=ilp.isoformat(),
                last_followup_date=follow_up.isoformat(),
                death_date=follow_up.isoformat() if died else "",
                local_recurrence_date=lr,
                response=rng.choice(["CR", "CR", "PR", "PR", "PR", "NC", "PD"]),
                tumor_size_cm=f"{rng.uniform(2, 25):.1f}",
                resection_date="",
                resection_margin="",
            )
        )
    return rows


def _count(page, what: str) -> int:
    return int(page.locator(f"#n-{what}").inner_text().replace(",", ""))


def _at_risk_at_0(page) -> int:
    """The number at risk at time 0 under the overall survival curve."""
    first = page.locator("#overall-survival-curves .at-risk text[text-anchor=middle]").first
    return int(first.text_content().replace(",", ""))


def test_dashboard_filter_by_centre_with_curves(live_server, open_page, tmp_path: Path):
    page, problems = open_page(1280, 1000)
    log_in(page, live_server, "admin", landing="/import")
    page.set_input_files("input[type=file]", str(write_csv(tmp_path / "outcomes.csv", _rows())))
    page.click("form[enctype] button[type=submit]")
    page.wait_for_selector("#import-result")
    assert "Imported outcomes.csv" in page.locator("#import-result").inner_text()

    page.goto(f"{live_server}/dashboard")
    assert _count(page, "patients") == 5 + N_CA + N_CB
    assert _count(page, "centers") == 2
    assert _at_risk_at_0(page) == 5 + N_CA + N_CB
    page.select_option("#center", "CA")  # htmx replaces the results, no page load
    expect(page.locator("#n-patients")).to_have_text(str(3 + N_CA))
    assert _count(page, "centers") == 1
    assert page.url.endswith("/dashboard?center=CA&by=")
    # both curves are drawn inline, for centre CA, in the page's response
    curves = page.locator("svg.curves")
    expect(curves).to_have_count(2)
    for i in range(2):
        expect(curves.nth(i)).to_be_visible()
        box = curves.nth(i).bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 150
    assert _at_risk_at_0(page) == 3 + N_CA
    # drawn by the style sheet's classes (the page's policy forbids inline styles): the first
    # group's curve is blue, unfilled; its confidence band is shaded
    step = page.locator("#overall-survival-curves path.step").first
    assert step.evaluate("e => getComputedStyle(e).stroke") == "rgb(0, 114, 178)"
    assert step.evaluate("e => getComputedStyle(e).fill") == "none"
    band = page.locator("#overall-survival-curves path.band").first
    assert float(band.evaluate("e => getComputedStyle(e).fillOpacity")) == pytest.approx(0.16)
    assert page.locator("#local-recurrence-curves path.step").count() >= 1
    assert "SYN-B" not in page.content()
    assert page.locator(".synthetic").inner_text().startswith("SYNTHETIC DATA")
    screenshot(page, "dashboard")
    page.select_option("#by", "tumor_size_group")
    expect(page.locator("#overall-survival")).to_contain_text("Log-rank test")
    expect(curves).to_have_count(2)
    assert "Log-rank p" in page.locator("#overall-survival-curves .legend").text_content()
    assert problems == [], problems
