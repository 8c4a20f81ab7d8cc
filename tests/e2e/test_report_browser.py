"""The study report in a real browser: Debian's headless Chromium, driven by Playwright.

Needs /usr/bin/chromium (Debian package ``chromium``) and the Python package ``playwright``
(the ``test`` extra); Playwright's own browser download is never used. Without them these tests
skip with the reason - except when the environment variable CI is set, where they fail.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import pytest

from ilpkit.reporting.pdf import print_to_pdf
from ilpkit.services.build_report import build_report
from ilpkit.services.synthesize import synthesize
from ilpkit.synthetic import DEFAULT_SEED

pytestmark = pytest.mark.browser

SCREENSHOT_DIR = Path(os.environ.get("ILP_SCREENSHOT_DIR", tempfile.gettempdir()))


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("browser")
    url = f"sqlite:///{folder / 'registry.sqlite3'}"
    synthesize(208, DEFAULT_SEED, "test", url=url)
    return build_report(url, folder / "report").html


def _open(browser: Any, html: Path, width: int = 1280) -> tuple[Any, list[str]]:
    page = browser.new_page(viewport={"width": width, "height": 900})
    problems: list[str] = []
    page.on(
        "console",
        lambda m: (
            problems.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None
        ),
    )
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
    page.goto(html.as_uri(), wait_until="load")
    return page, problems


def test_report_loads_without_console_errors_and_every_figure_shows(browser, demo_report):
    page, problems = _open(browser, demo_report)
    images = page.eval_on_selector_all(
        "img",
        "els => els.map(e => ({complete: e.complete, w: e.naturalWidth, h: e.naturalHeight,"
        " shown: e.getBoundingClientRect().width, src: e.src.slice(0, 25)}))",
    )
    assert len(images) >= 8
    for img in images:
        assert img["complete"] and img["w"] > 0 and img["h"] > 0, img
        assert img["shown"] > 300, img
        assert img["src"] == "data:image/svg+xml;base64", img
    inline_svgs = page.eval_on_selector_all(
        "svg", "els => els.map(e => e.getBoundingClientRect().width)"
    )
    assert all(w > 0 for w in inline_svgs)
    # every request stayed inside the file (self-contained, offline)
    assert problems == [], problems
    banner = page.locator("#synthetic-banner")
    assert banner.is_visible() and "SYNTHETIC DATA" in banner.inner_text()
    assert page.locator("table.data").count() == 9
    shot = SCREENSHOT_DIR / "ilpkit-report-top.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
    page.close()


def test_banner_stays_on_screen_while_scrolling(browser, demo_report):
    page, _ = _open(browser, demo_report)
    page.evaluate("window.scrollTo(0, document.body.scrollHeight / 2)")
    box = page.locator("#synthetic-banner").bounding_box()
    assert box is not None and abs(box["y"]) < 1
    page.close()


def test_report_is_readable_on_a_narrow_screen(browser, demo_report):
    page, problems = _open(browser, demo_report, width=720)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, "the page scrolls sideways"
    assert problems == []
    page.close()


def test_print_to_pdf_with_chromium(chromium, demo_report, tmp_path):
    pdf = print_to_pdf(demo_report, tmp_path / "report.pdf", chromium)
    data = pdf.read_bytes()
    assert data[:5] == b"%PDF-"
    assert data.count(b"/Type /Page") - data.count(b"/Type /Pages") >= 8  # several A4 pages
