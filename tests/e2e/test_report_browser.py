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
    shot = SCREENSHOT_DIR / "ilpkit-report-top.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
    page.close()


OUTCOME_STUDY = {
    "local-recurrence": (
        ["Local recurrence by factors known after the perfusion", "landmark analysis"],
        1,
    ),
    "regional-toxicity": (
        [
            "Regional (limb) toxicity, per perfusion (Wieberdink grade)",
            "Severe regional toxicity (Wieberdink IV–V) by factor",
            "Systemic toxicity and surgical complications",
        ],
        0,
    ),
    "tnf-dose": (["Outcomes by TNF-α dose group"], 1),
    "distant-metastasis": (["Distant metastasis, metastasis-free and sarcoma-specific"], 1),
    "published": (["This registry beside published TM-ILP series"], 1),
}
"""Section id -> (words of its tables' captions, figures at least): the sections of the outcome
study (regional toxicity, TNF dose, distant metastasis, the landmark local-recurrence table, the
forest plot beside the published series), as the synthetic registry of 208 patients has them."""


def _shown_image(figure: Any) -> bool:
    return bool(
        figure.locator("img").evaluate(
            "e => e.complete && e.naturalWidth > 0 && e.getBoundingClientRect().width > 300"
        )
    )


def test_every_section_of_the_outcome_study_is_present(browser, demo_report):
    page, problems = _open(browser, demo_report)
    for section_id, (captions, min_figures) in OUTCOME_STUDY.items():
        section = page.locator(f"section#{section_id}")
        assert section.count() == 1 and section.is_visible(), section_id
        shown = " | ".join(section.locator("table.data caption").all_inner_texts())
        for words in captions:
            assert words in shown, (section_id, words, shown)
        for table in section.locator("table.data").all():
            assert table.locator("tbody tr").count() >= 1, (section_id, table.inner_text())
        figures = section.locator("figure.figure")
        assert figures.count() >= min_figures, section_id
        assert all(_shown_image(f) for f in figures.all()), section_id
    # the forest plot beside the published series is the section's figure
    forest = page.locator("section#published figure.figure")
    assert "This registry beside published TM-ILP series" in forest.inner_text()
    # the landmark table sits with the local recurrence, after the cumulative incidence table
    lr_captions = page.locator("section#local-recurrence table.data caption").all_inner_texts()
    assert "landmark analysis" in lr_captions[-1] and "cumulative incidence" in lr_captions[0]
    # tables and figures are numbered 1, 2, ... in reading order
    for kind, selector in (("Table", "table.data caption .label"), ("Figure", "figcaption .label")):
        labels = page.locator(selector).all_inner_texts()
        assert labels == [f"{kind} {n}." for n in range(1, len(labels) + 1)], labels
    ids = page.eval_on_selector_all("div.table-wrap, figure.figure", "els => els.map(e => e.id)")
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert problems == [], problems
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
