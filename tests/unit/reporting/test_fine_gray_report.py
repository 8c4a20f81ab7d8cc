"""The report's Fine-Gray section: a paragraph and a forest plot of the subdistribution hazard
ratios next to the cause-specific ones, present only when the model was asked for."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ilpkit.services.build_report import build_report_from_frame as build_report
from ilpkit.services.registry_import import import_registry
from ilpkit.stats.analysis import AnalysisOptions

CSV = Path(__file__).resolve().parents[2] / "reference" / "data" / "registry_colon.csv"


def _frame(tmp_path: Path) -> pd.DataFrame:
    from datetime import date

    from ilpkit.services.outcome_analysis import load_frame

    url = f"sqlite:///{tmp_path / 'r.sqlite3'}"
    import_registry(CSV, url, date(2026, 11, 27), "tester")
    return load_frame(url)


def test_report_has_the_fine_gray_forest_plot_only_when_asked(tmp_path: Path) -> None:
    frame = _frame(tmp_path)
    options = AnalysisOptions(
        endpoints=("lr",), by=(), cox=(), fine_gray=("age_years", "tumor_size_cm")
    )
    build_report(
        frame, tmp_path / "with", source="colon", options=options, figure_workers=1, png=True
    )
    html = (tmp_path / "with" / "report.html").read_text(encoding="utf-8")
    assert "Fine-Gray and cause-specific hazard ratios" in html
    assert "Competing-risks regression (Fine-Gray" in html
    assert any("fine-gray-forest" in p.name for p in (tmp_path / "with" / "figures").iterdir())
    plain = AnalysisOptions(endpoints=("lr",), by=(), cox=())
    build_report(frame, tmp_path / "without", source="colon", options=plain, figure_workers=1)
    html = (tmp_path / "without" / "report.html").read_text(encoding="utf-8")
    assert "Fine-Gray" not in html
