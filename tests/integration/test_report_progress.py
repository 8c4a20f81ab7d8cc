"""The report's progress counts its figures exactly: every figure once, in order, out of the
number of figures the report holds (also when sections are left out)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ilpkit.services.build_report import build_report_from_frame
from ilpkit.services.outcome_analysis import load_frame
from ilpkit.services.synthesize import synthesize
from ilpkit.stats.analysis import AnalysisOptions


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        # flow, response + by subgroup, LR + 2 subgroups, OS + 3 subgroups, forest, local
        # recurrence by TNF dose group, distant metastasis, published series
        (None, 1 + 2 + 3 + 4 + 1 + 1 + 1 + 1),
        # flow, OS without subgroups (none analysed) and without Cox terms, published series
        (AnalysisOptions(endpoints=("os",), by=(), cox=()), 1 + 1 + 1),
    ],
)
def test_figure_progress_counts_every_figure_once(tmp_path: Path, options, expected, monkeypatch):
    monkeypatch.setenv("ILP_FIGURE_WORKERS", "1")  # drawn here, one after the other, in order
    url = f"sqlite:///{tmp_path / 'registry.sqlite3'}"
    synthesize(120, 5, "test", url=url)
    calls: list[tuple[str, int, int]] = []
    files = build_report_from_frame(
        load_frame(url),
        tmp_path / "report",
        source="registry.sqlite3",
        options=options,
        progress=lambda stage, done, total: calls.append((stage, done, total)),
    )
    figure_calls = [(done, total) for stage, done, total in calls if stage == "figures"]
    n_figures = len(files.figures) // 2  # PNG and SVG of each
    assert n_figures == expected
    assert figure_calls == [(i, expected) for i in range(0, expected + 1)]


def test_figure_progress_with_parallel_workers_ends_at_the_total(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("ILP_FIGURE_WORKERS", "2")
    url = f"sqlite:///{tmp_path / 'registry.sqlite3'}"
    synthesize(120, 5, "test", url=url)
    calls: list[tuple[str, int, int]] = []
    files = build_report_from_frame(
        load_frame(url),
        tmp_path / "report",
        source="registry.sqlite3",
        progress=lambda stage, done, total: calls.append((stage, done, total)),
    )
    figure_calls = [(done, total) for stage, done, total in calls if stage == "figures"]
    n_figures = len(files.figures) // 2
    assert {total for _, total in figure_calls} == {n_figures}
    done = [d for d, _ in figure_calls]
    assert done == sorted(done) and done[0] == 0 and done[-1] == n_figures
