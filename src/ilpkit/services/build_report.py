"""Use case: build the outcome study report of a registry (HTML, JSON, figures, tables, PDF).

Steps: load the registry as one DataFrame; run :func:`ilpkit.stats.analysis.analyze` once (its
results are written as ``results.json`` and every number of the report is read from it); derive the
analysis datasets (:mod:`ilpkit.stats.cohort`), the study flow and Table 1 summaries
(:mod:`ilpkit.stats.descriptive`), and the curves the figures draw (Kaplan-Meier, cumulative
incidence); lay out and draw the report (:mod:`ilpkit.reporting`); write the files; optionally
print the HTML to PDF with headless Chromium.

A registry is treated as SYNTHETIC when ``ilp synth`` marked it (``registry_info``), when any
patient id starts with ``SYN-`` or any centre is ``SYNTH`` (what ``ilp synth`` writes), or when
the caller says so: every page then carries a
SYNTHETIC DATA banner, every figure a SYNTHETIC mark, and figure and table files are named
``SYNTHETIC-...``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ilpkit import __version__
from ilpkit.domain.synthetic import SYNTHETIC_CENTER, SYNTHETIC_ID_PREFIX
from ilpkit.progress import StageProgress
from ilpkit.reporting.formatting import PStyle
from ilpkit.stats.results import AnalysisResults

if TYPE_CHECKING:
    from ilpkit.reporting.document import ReportDocument, ReportInputs
    from ilpkit.reporting.figures import FigureRenderer

# Progress stages: ``load``, ``analyze``, ``curves``, ``figures``, ``write``, ``pdf``.

SYNTHETIC_PREFIX = "SYNTHETIC-"
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class ReportFiles:
    """What :func:`build_report` wrote.

    Attributes
    ----------
    out_dir, html, results_json : Path
    pdf : Path or None
    figures, tables : tuple of Path
        Every figure file (SVG, and PNG unless left out) and table file (CSV).
    synthetic : bool
    results : AnalysisResults
        The analysis (schema ``ilpkit.results/1``, also in ``results.json``).
    seconds : dict
        Time per stage.
    """

    out_dir: Path
    html: Path
    results_json: Path
    pdf: Path | None
    figures: tuple[Path, ...]
    tables: tuple[Path, ...]
    synthetic: bool
    results: AnalysisResults = field(repr=False)
    seconds: dict[str, float] = field(default_factory=dict)


def is_synthetic(frame: pd.DataFrame) -> bool:
    """True when any patient id starts with ``SYN-`` or any centre is ``SYNTH``."""
    if len(frame) == 0:
        return False
    ids = frame["patient_id"].astype(str)
    return bool(
        ids.str.startswith(SYNTHETIC_ID_PREFIX).any()
        or (frame["center"].astype(str) == SYNTHETIC_CENTER).any()
    )


def _safe_source(url: str) -> str:
    from ilpkit.adapters.db.engine import safe_url
    from ilpkit.config import sqlite_path

    path = sqlite_path(url)
    if path is not None:  # folder and file name only: a shared report must not reveal full paths
        return f"{path.parent.name}/{path.name}" if path.parent.name else path.name
    return safe_url(url)


DEFAULT_MIN_AT_RISK = 10
"""Curves of the report stop where fewer than this many remain at risk."""


def _curves(
    frame: pd.DataFrame, results: AnalysisResults, min_at_risk: int = DEFAULT_MIN_AT_RISK
) -> dict[str, Any]:
    """The curves the figures draw, estimated by the statistics layer, each cut where fewer
    than ``min_at_risk`` remain at risk."""
    from ilpkit.reporting import figures as figs
    from ilpkit.reporting.document import figure_variables
    from ilpkit.reporting.labels import curve_label
    from ilpkit.stats import cohort
    from ilpkit.stats.competing_risks import cumulative_incidence
    from ilpkit.stats.kaplan_meier import kaplan_meier, number_at_risk

    def stop(curve: figs.StepCurve, observed: np.ndarray | None = None) -> figs.StepCurve:
        return figs.stop_at_risk(curve, min_at_risk, observed)

    os_data = cohort.overall_survival(frame)
    lr_data = cohort.local_recurrence(frame)
    os_vars, lr_vars = figure_variables(results)
    out: dict[str, Any] = {
        "os_data": os_data,
        "lr_data": lr_data,
        "os_overall": None,
        "os_by": {},
        "lr_overall": None,
        "lr_death": None,
        "lr_by": {},
        "tnf_lr_curves": (),
        "dm_overall": None,
        "dm_death": None,
    }
    if results.distant_metastasis is not None:
        dm_data = cohort.distant_metastasis(frame)
        t = dm_data["time_years"].to_numpy()
        s = dm_data["status"].to_numpy()
        if (s == 1).any():
            res = cumulative_incidence(t, s)
            risk = partial(number_at_risk, t)
            out["dm_overall"] = stop(figs.cif_curve(res.curve(1), "Distant metastasis", risk), t)
            if (s == 2).any():
                out["dm_death"] = stop(
                    figs.cif_curve(
                        res.curve(2), "Death without distant metastasis", risk, with_band=False
                    ),
                    t,
                )
    if results.overall_survival is not None and len(os_data):
        t = os_data["time_years"].to_numpy()
        e = os_data["event"].to_numpy()
        out["os_overall"] = stop(
            figs.km_curve(kaplan_meier(t, e, conf_type="log-log"), "All patients")
        )
        for var in os_vars:
            values = os_data[var].astype(object).to_numpy()
            curves = []
            for level in results.overall_survival.by[var].groups:
                sel = values == level
                km = kaplan_meier(t[sel], e[sel], conf_type="log-log")
                curves.append(stop(figs.km_curve(km, curve_label(var, level))))
            out["os_by"][var] = tuple(curves)
    if results.local_recurrence is not None and len(lr_data):
        t = lr_data["time_years"].to_numpy()
        s = lr_data["status"].to_numpy()
        if (s == 1).any():
            res = cumulative_incidence(t, s)
            risk = partial(number_at_risk, t)
            out["lr_overall"] = stop(figs.cif_curve(res.curve(1), "Local recurrence", risk), t)
            if (s == 2).any():
                out["lr_death"] = stop(
                    figs.cif_curve(
                        res.curve(2), "Death without local recurrence", risk, with_band=False
                    ),
                    t,
                )
        for var in lr_vars:
            values = lr_data[var].astype(object).to_numpy()
            levels = list(results.local_recurrence.by[var].groups)
            keep = np.isin(values, np.asarray(levels, dtype=object))
            if not (s[keep] == 1).any():
                continue
            res = cumulative_incidence(t[keep], s[keep], values[keep])
            curves = []
            for level in levels:
                times = t[keep][values[keep] == level]
                risk = partial(number_at_risk, times)
                curves.append(
                    stop(figs.cif_curve(res.curve(1, level), curve_label(var, level), risk), times)
                )
            out["lr_by"][var] = tuple(curves)
    if results.tnf_dose is not None and len(lr_data):
        out["tnf_lr_curves"] = _tnf_dose_curves(lr_data, results, stop)
    return out


def _tnf_dose_curves(
    lr_data: pd.DataFrame, results: AnalysisResults, stop: Callable[..., Any]
) -> tuple[Any, ...]:
    """Cumulative incidence of local recurrence per TNF dose group (the groups of the results,
    at their cut), or none when no perfusion had a local recurrence."""
    from ilpkit.reporting import figures as figs
    from ilpkit.stats.competing_risks import cumulative_incidence
    from ilpkit.stats.kaplan_meier import number_at_risk

    assert results.tnf_dose is not None
    low, high = list(results.tnf_dose.groups)
    dose = lr_data["tnf_mg"].to_numpy(dtype=float)
    group = np.where(dose <= results.tnf_dose.cut_mg, low, high).astype(object)
    t = lr_data["time_years"].to_numpy()
    s = lr_data["status"].to_numpy()
    if not (s == 1).any():
        return ()
    res = cumulative_incidence(t, s, group)
    curves = []
    for level in (low, high):
        times = t[group == level]
        if len(times):
            risk = partial(number_at_risk, times)
            curves.append(stop(figs.cif_curve(res.curve(1, level), f"TNF {level}", risk), times))
    return tuple(curves)


def is_report_folder(out_dir: Path) -> bool:
    """True when ``out_dir`` is missing, empty, or holds an earlier report (its manifest)."""
    if not out_dir.exists():
        return True
    return (out_dir / MANIFEST).is_file() or not any(out_dir.iterdir())


def _remove_previous(out_dir: Path) -> None:
    """Delete the figure and table files a previous report in ``out_dir`` listed."""
    manifest = out_dir / MANIFEST
    if not manifest.is_file():
        return
    try:
        listed = json.loads(manifest.read_text(encoding="utf-8")).get("files", [])
    except (OSError, ValueError):
        return
    for rel in listed:
        p = (out_dir / str(rel)).resolve()
        if out_dir.resolve() in p.parents and p.suffix in (".png", ".svg", ".pdf", ".csv"):
            p.unlink(missing_ok=True)


def build_report_from_frame(
    frame: pd.DataFrame,
    out_dir: Path,
    *,
    source: str,
    pdf: bool = False,
    synthetic: bool | None = None,
    options: Any = None,
    progress: StageProgress | None = None,
    chromium: Path | None = None,
    synthetic_seed: int | None = None,
    min_at_risk: int = DEFAULT_MIN_AT_RISK,
    p_style: PStyle = "plain",
    figure_workers: int | None = None,
    png: bool = True,
    journal_figures: bool = False,
) -> ReportFiles:
    """Build the report of a registry already loaded as a DataFrame.

    Parameters
    ----------
    frame : DataFrame
        One row per perfusion, as :func:`ilpkit.services.outcome_analysis.load_frame` returns.
    out_dir : Path
        Folder for ``report.html``, ``results.json``, ``figures/``, ``tables/`` (created).
    source : str
        How the report names the registry (a file path or a URL without password).
    pdf : bool
        Also print ``report.pdf`` with headless Chromium.
    synthetic : bool, optional
        Force the SYNTHETIC marking on (True) or decide from the data (None, default).
        False does not remove the marking from a registry with SYN- ids.
    options : AnalysisOptions, optional
        Passed to :func:`ilpkit.stats.analysis.analyze` (default: everything).
    progress : callable, optional
    chromium : Path, optional
        Chromium executable for ``pdf`` (default /usr/bin/chromium).
    synthetic_seed : int, optional
        The seed ``ilp synth`` made a SYNTHETIC registry with (named in the report).
    min_at_risk : int
        Survival and incidence curves stop where fewer than this many remain at risk.
    p_style : {"plain", "journal"}
        P-values as ``p = 0.008`` (plain) or ``P = .008`` (journal style).
    figure_workers : int, optional
        Processes drawing figures at once (default: one per CPU available; 1 draws them all in
        this process). The files are the same either way.
    png : bool
        Also save every figure as PNG (``figures/*.png``). The report itself shows the SVG;
        without PNG each figure is drawn once instead of twice.
    journal_figures : bool
        Also save every figure for journal submission: PNG at 600 dpi
        (``figures/*-600dpi.png``) and PDF (vector, ``figures/*.pdf``); slower.

    Raises
    ------
    ilpkit.stats.analysis.AnalysisError
        The registry is empty or the options name unknown variables.
    ilpkit.reporting.pdf.PdfError
        ``pdf`` was asked for and Chromium is missing or failed (the other files are written).
    OSError
        The output folder cannot be written.
    """
    from ilpkit.reporting.figures import figure_style
    from ilpkit.stats.analysis import analyze

    clock = _StageClock(progress)
    if pdf:  # fail before the long part when Chromium is missing
        from ilpkit.reporting.pdf import find_chromium

        find_chromium(chromium)
    syn = bool(synthetic) or is_synthetic(frame)
    clock.tick("analyze")
    results = analyze(frame, options, synthetic=syn)
    clock.tick("analyze", 1)
    clock.lap("analyze")
    inputs = _report_inputs(
        frame,
        results,
        syn=syn,
        synthetic_seed=synthetic_seed,
        min_at_risk=min_at_risk,
        p_style=p_style,
        source=source,
        clock=clock,
    )
    renderer = _figure_renderer(figure_workers, png, journal_figures)
    with figure_style():
        doc = _lay_out(inputs, renderer, clock)
        del inputs  # the curves are no longer needed while the figures are drawn
        _draw(doc, renderer, clock)
    written = _write_files(doc, results, out_dir, syn=syn, source=source, clock=clock)
    pdf_path = None
    if pdf:
        pdf_path = _print_pdf(written.html, out_dir, chromium, clock)
    return ReportFiles(
        out_dir=out_dir,
        html=written.html,
        results_json=written.results_json,
        pdf=pdf_path,
        figures=written.figures,
        tables=written.tables,
        synthetic=syn,
        results=results,
        seconds=clock.seconds,
    )


class _StageClock:
    """Progress reports and time per stage of one report build."""

    def __init__(self, progress: StageProgress | None) -> None:
        self.progress = progress
        self.seconds: dict[str, float] = {}
        self._mark = time.perf_counter()

    def tick(self, stage: str, done: int = 0, total: int = 1) -> None:
        """Report ``done`` of ``total`` steps of ``stage`` to the progress callback, if any."""
        if self.progress is not None:
            self.progress(stage, done, total)

    def lap(self, name: str) -> None:
        """Add the time since the previous lap to stage ``name``."""
        now = time.perf_counter()
        self.seconds[name] = self.seconds.get(name, 0.0) + now - self._mark
        self._mark = now


def _report_inputs(
    frame: pd.DataFrame,
    results: AnalysisResults,
    *,
    syn: bool,
    synthetic_seed: int | None,
    min_at_risk: int,
    p_style: PStyle,
    source: str,
    clock: _StageClock,
) -> ReportInputs:
    """Derive the curves and the study flow; gather everything the document lays out."""
    from ilpkit.reporting.document import ReportInputs
    from ilpkit.stats.descriptive import study_flow

    clock.tick("curves")
    curves = _curves(frame, results, min_at_risk)
    flow = study_flow(frame, curves["os_data"])
    clock.tick("curves", 1)
    clock.lap("curves")
    return ReportInputs(
        results=results,
        frame=frame,
        os_data=curves["os_data"],
        lr_data=curves["lr_data"],
        flow=flow,
        os_overall=curves["os_overall"],
        os_by=curves["os_by"],
        lr_overall=curves["lr_overall"],
        lr_death=curves["lr_death"],
        lr_by=curves["lr_by"],
        tnf_lr_curves=curves["tnf_lr_curves"],
        dm_overall=curves["dm_overall"],
        dm_death=curves["dm_death"],
        synthetic=syn,
        synthetic_seed=synthetic_seed if syn else None,
        min_at_risk=min_at_risk,
        p_style=p_style,
        source=source,
        version=__version__,
        generated=datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z").strip(),
    )


def _figure_renderer(
    figure_workers: int | None, png: bool, journal_figures: bool = False
) -> FigureRenderer:
    """The renderer that draws the figures, as SVG and (unless ``png`` is False) PNG, and with
    ``journal_figures`` also as 600-dpi PNG and PDF."""
    from ilpkit.reporting.figures import JOURNAL_FORMATS, FigureRenderer

    formats = ("png", "svg") if png else ("svg",)
    if journal_figures:
        formats = (*formats, *JOURNAL_FORMATS)
    return FigureRenderer(figure_workers, formats)


def _lay_out(inputs: ReportInputs, renderer: FigureRenderer, clock: _StageClock) -> ReportDocument:
    """Lay out the report document; its figures are queued on ``renderer``, not yet drawn."""
    from ilpkit.reporting.document import build_document
    from ilpkit.reporting.figures import deferred_rendering

    def layout_progress(stage: str, done: int, total: int) -> None:
        if stage != "figures":  # the renderer reports figures
            clock.tick(stage, done, total)

    with deferred_rendering(renderer):
        doc = build_document(inputs, layout_progress)
    clock.lap("tables")
    return doc


def _draw(doc: ReportDocument, renderer: FigureRenderer, clock: _StageClock) -> None:
    """Draw the queued figures of ``doc`` (in the renderer's worker processes)."""
    clock.tick("figures", 0, len(doc.figures))
    renderer.run(lambda done, total: clock.tick("figures", done, total))
    clock.lap("figures")


@dataclass(frozen=True)
class _Written:
    html: Path
    results_json: Path
    figures: tuple[Path, ...]
    tables: tuple[Path, ...]


def _write_files(
    doc: ReportDocument,
    results: AnalysisResults,
    out_dir: Path,
    *,
    syn: bool,
    source: str,
    clock: _StageClock,
) -> _Written:
    """Write ``report.html``, the figures, the tables, ``results.json`` and the manifest."""
    from ilpkit.reporting.html import render_html

    clock.tick("write")
    html_text = render_html(doc)
    out_dir.mkdir(parents=True, exist_ok=True)
    _remove_previous(out_dir)
    prefix = SYNTHETIC_PREFIX if syn else ""
    figure_files = _write_figures(doc, out_dir / "figures", prefix)
    table_files = _write_tables(doc, out_dir / "tables", prefix)
    results_json = out_dir / "results.json"
    results_json.write_text(json.dumps(results.to_json_dict(), indent=2) + "\n", encoding="utf-8")
    html = out_dir / "report.html"
    html.write_text(html_text, encoding="utf-8")
    _write_manifest(
        out_dir,
        results,
        syn=syn,
        source=source,
        generated=doc.generated,
        files=(html, results_json, *figure_files, *table_files),
    )
    clock.tick("write", 1)
    clock.lap("write")
    return _Written(html, results_json, figure_files, table_files)


def _write_figures(doc: ReportDocument, fig_dir: Path, prefix: str) -> tuple[Path, ...]:
    """Write every drawn figure file (SVG, PNG; 600-dpi PNG and PDF when drawn) into
    ``fig_dir`` (created)."""
    from ilpkit.reporting.figures import FILE_SUFFIX

    fig_dir.mkdir(exist_ok=True)
    figure_files: list[Path] = []
    for f in doc.figures:
        for ext, data in f.files.items():
            path = fig_dir / f"{prefix}{f.key}{FILE_SUFFIX[ext]}"
            path.write_bytes(data)
            figure_files.append(path)
    return tuple(figure_files)


def _write_tables(doc: ReportDocument, tab_dir: Path, prefix: str) -> tuple[Path, ...]:
    """Write every table of the document as CSV into ``tab_dir`` (created)."""
    tab_dir.mkdir(exist_ok=True)
    table_files: list[Path] = []
    for t in doc.tables:
        path = tab_dir / f"{prefix}{t.key}.csv"
        path.write_text(t.to_csv(), encoding="utf-8")
        table_files.append(path)
    return tuple(table_files)


def _write_manifest(
    out_dir: Path,
    results: AnalysisResults,
    *,
    syn: bool,
    source: str,
    generated: str,
    files: tuple[Path, ...],
) -> None:
    """Write ``manifest.json``: what the report is and every file it wrote."""
    manifest = {
        "report": "ilpkit outcome study report",
        "ilpkit_version": __version__,
        "schema": results.schema_,
        "synthetic": syn,
        "source": source,
        "generated": generated,
        "files": [str(p.relative_to(out_dir)) for p in files],
    }
    (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def _print_pdf(html: Path, out_dir: Path, chromium: Path | None, clock: _StageClock) -> Path:
    """Print ``report.html`` to ``report.pdf`` with headless Chromium."""
    from ilpkit.reporting.pdf import print_to_pdf

    clock.tick("pdf")
    pdf_path = print_to_pdf(html, out_dir / "report.pdf", chromium)
    clock.tick("pdf", 1)
    clock.lap("pdf")
    return pdf_path


def build_report(
    url: str,
    out_dir: Path,
    *,
    pdf: bool = False,
    synthetic: bool | None = None,
    options: Any = None,
    progress: StageProgress | None = None,
    chromium: Path | None = None,
    min_at_risk: int = DEFAULT_MIN_AT_RISK,
    p_style: PStyle = "plain",
    figure_workers: int | None = None,
    png: bool = True,
    journal_figures: bool = False,
) -> ReportFiles:
    """Build the outcome study report of the registry at ``url`` into ``out_dir``.

    See :func:`build_report_from_frame` for the parameters, files and errors.

    Examples
    --------
    >>> files = build_report("sqlite:///registry.sqlite3", Path("report"))  # doctest: +SKIP
    >>> files.html
    PosixPath('report/report.html')
    """
    from ilpkit.services.outcome_analysis import load_registry

    start = time.perf_counter()
    if progress is not None:
        progress("load", 0, 1)
    registry = load_registry(url)
    if progress is not None:
        progress("load", 1, 1)
    loaded = time.perf_counter() - start
    files = build_report_from_frame(
        registry.frame,
        out_dir,
        source=_safe_source(url),
        pdf=pdf,
        synthetic=bool(synthetic) or registry.synthetic,
        options=options,
        progress=progress,
        chromium=chromium,
        synthetic_seed=registry.synthetic_seed,
        min_at_risk=min_at_risk,
        p_style=p_style,
        figure_workers=figure_workers,
        png=png,
        journal_figures=journal_figures,
    )
    files.seconds["load"] = loaded
    return files
