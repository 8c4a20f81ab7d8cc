"""Assemble the study report: sections of text, numbered figures and numbered tables.

:func:`build_document` takes :class:`ReportInputs` — the results dict of
``ilpkit.stats.analysis.analyze``, the analysis datasets, the study flow and the curves the
statistics layer estimated — and lays them out as a :class:`ReportDocument`, which
:mod:`ilpkit.reporting.html` renders. Numbers are only formatted here, never computed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import pandas as pd

from ilpkit.reporting import figures as figs
from ilpkit.reporting import formatting as fmt
from ilpkit.reporting import tables
from ilpkit.reporting.comparison import Headline, headline_figures
from ilpkit.reporting.labels import level_label, variable_label
from ilpkit.reporting.published import PublishedSeries, load_published_series
from ilpkit.reporting.text import WrittenText, lower_first, written_text
from ilpkit.stats.descriptive import StudyFlow

Progress = Callable[[str, int, int], None]
"""Called with (stage, done, total)."""

OS_FIGURE_BY: tuple[str, ...] = ("tumor_size_group", "leiomyosarcoma", "multifocal")
"""Subgroups drawn as Kaplan-Meier figures of overall survival (the seed study's factors)."""
LR_FIGURE_BY: tuple[str, ...] = ("multifocal", "prior_radiotherapy")
"""Subgroups drawn as cumulative-incidence figures of local recurrence (the seed study's)."""
RESPONSE_FIGURE_SKIP: tuple[str, ...] = ("histology",)
"""Subgroups left out of the response figure (many sparse levels; they stay in the table)."""


@dataclass(frozen=True)
class ReportInputs:
    """Everything the report shows, already estimated.

    Attributes
    ----------
    results : dict
        ``ilpkit.results/1`` from :func:`ilpkit.stats.analysis.analyze`.
    frame : DataFrame
        The registry, one row per perfusion.
    os_data, lr_data : DataFrame
        :func:`ilpkit.stats.cohort.overall_survival` and
        :func:`~ilpkit.stats.cohort.local_recurrence` of the registry.
    flow : StudyFlow
    os_overall : StepCurve or None
        Kaplan-Meier curve of overall survival.
    os_by : dict of str to tuple of StepCurve
        Kaplan-Meier curves per level of each variable in :data:`OS_FIGURE_BY`.
    lr_overall, lr_death : StepCurve or None
        Cumulative incidence of local recurrence and of death without local recurrence.
    lr_by : dict of str to tuple of StepCurve
        Cumulative incidence of local recurrence per level of each variable.
    synthetic : bool
        Mark every page, figure and file SYNTHETIC.
    source, version, generated, title : str
        Registry (URL without password), ilpkit version, timestamp, report title.
    """

    results: dict[str, Any]
    frame: pd.DataFrame
    os_data: pd.DataFrame
    lr_data: pd.DataFrame
    flow: StudyFlow
    os_overall: figs.StepCurve | None
    os_by: dict[str, tuple[figs.StepCurve, ...]]
    lr_overall: figs.StepCurve | None
    lr_death: figs.StepCurve | None
    lr_by: dict[str, tuple[figs.StepCurve, ...]]
    synthetic: bool
    source: str
    version: str
    generated: str
    title: str = "TM-ILP outcome study report"


@dataclass
class Section:
    """A numbered section: paragraphs, then figures and tables in order."""

    id: str
    number: int
    title: str
    paragraphs: list[str] = field(default_factory=list)
    items: list[Any] = field(default_factory=list)


@dataclass(frozen=True)
class ReportDocument:
    """The laid-out report (what the HTML template renders)."""

    title: str
    source: str
    version: str
    generated: str
    synthetic: bool
    results: dict[str, Any]
    headlines: tuple[Headline, ...]
    seed: PublishedSeries | None
    summary: tuple[str, ...]
    sections: tuple[Section, ...]
    text: WrittenText
    figures: tuple[figs.RenderedFigure, ...]
    tables: tuple[tables.ReportTable, ...]


class _Numbering:
    def __init__(self, synthetic: bool, progress: Progress | None, total: int):
        self.figures: list[figs.RenderedFigure] = []
        self.tables: list[tables.ReportTable] = []
        self.synthetic = synthetic
        self.progress = progress
        self.total = total

    def figure(self, slug: str, title: str, caption: str, draw: Callable[[], Any]) -> Any:
        number = len(self.figures) + 1
        rendered = figs.render_later(
            draw, key=f"fig{number:02d}-{slug}", number=number, title=title, caption=caption
        )
        self.figures.append(rendered)
        if self.progress is not None:
            self.progress("figures", len(self.figures), self.total)
        return rendered

    def table(self, build: Callable[[int], tables.ReportTable]) -> tables.ReportTable:
        t = build(len(self.tables) + 1)
        self.tables.append(t)
        return t


def _p_lines(entry: dict[str, Any], kind: str) -> list[str]:
    if kind == "os":
        lines = [f"Log-rank {fmt.p_equals(entry['logrank'].get('p'))}"]
        if "trend" in entry:
            lines.append(f"Test for trend {fmt.p_equals(entry['trend'].get('p'))}")
        return lines
    return [f"Gray's test {fmt.p_equals(entry['gray'].get('p'))}"]


def _n_figures(inputs: ReportInputs) -> int:
    r = inputs.results
    n = 1  # flow
    if "response" in r:
        n += 2
    if "local_recurrence" in r and inputs.lr_overall is not None:
        n += 1 + len(inputs.lr_by)
    if "overall_survival" in r and inputs.os_overall is not None:
        n += 1 + len(inputs.os_by)
        if (r["overall_survival"].get("cox") or {}).get("terms"):
            n += 1
    return n


def _plural(n: int, word: str) -> str:
    return f"{fmt.count(n)} {word}{'' if n == 1 else 's'}"


def _flow_boxes(flow: StudyFlow, results: dict[str, Any]) -> list[figs.FlowBox]:
    c = results["cohort"]
    m = flow.resection_margins
    margin_text = ", ".join(f"{k} {fmt.count(v)}" for k, v in m.items() if v)
    h = f"{flow.horizon_years:g}"
    n_perf = fmt.count(flow.n_perfusions)
    not_resected = flow.n_perfusions - flow.n_resected
    return [
        figs.FlowBox(
            f"Patients in the registry: {fmt.count(flow.n_patients)}",
            (
                f"{_plural(c['n_centers'], 'centre')}; perfusions {c['first_ilp_date']} to "
                f"{c['last_ilp_date']}",
            ),
        ),
        figs.FlowBox(
            f"Perfusions (TM-ILP): {n_perf}",
            (f"{_plural(flow.n_patients_repeat, 'patient')} with more than one perfusion",),
        ),
        figs.FlowBox(
            f"Response evaluable: {fmt.count(flow.n_response_evaluable)} perfusions",
            (f"of {n_perf} perfusions (WHO best response)",),
            side=(
                f"Not evaluable (NE): {fmt.count(flow.n_response_not_evaluable)}",
                f"No response recorded: {fmt.count(flow.n_response_missing)}",
            ),
            side_title="Left out of the response analysis",
        ),
        figs.FlowBox(
            f"Resected after the perfusion: {fmt.count(flow.n_resected)} perfusions",
            (
                f"of {n_perf} perfusions; margins {margin_text or fmt.DASH}",
                f"amputation after {fmt.count(flow.n_amputated)} of {n_perf} perfusions",
            ),
            side=(f"{fmt.count(not_resected)} of {n_perf} perfusions",),
            side_title="Not resected",
        ),
        figs.FlowBox(
            f"Followed to death or {h} years: {_plural(flow.n_followed, 'patient')}",
            (
                f"of {fmt.count(flow.n_patients)} patients; {fmt.count(flow.n_dead)} died",
                "median follow-up " + fmt.years(c["median_followup_years"]) + " years "
                "(reverse Kaplan–Meier)",
            ),
            side=(f"{_plural(flow.n_censored_early, 'patient')} (censored)",),
            side_title=f"Alive with < {h} years of follow-up",
        ),
    ]


def build_document(inputs: ReportInputs, progress: Progress | None = None) -> ReportDocument:
    """Lay out the report; figures are drawn here (matplotlib) and held as PNG/SVG bytes.

    Must run inside :func:`ilpkit.reporting.figures.figure_style` (the service does this).
    """
    r = inputs.results
    syn = inputs.synthetic
    series = load_published_series()
    seed = next((s for s in series if s.seed), None)
    num = _Numbering(syn, progress, _n_figures(inputs))
    text = written_text(r, inputs.version)
    sections: list[Section] = []
    c = r["cohort"]

    # ---- methods
    sections.append(Section("methods", 1, "Methods", list(text.methods)))

    # ---- cohort
    sec = Section("cohort", 2, "Cohort and follow-up")
    fu = c["median_followup_years"]
    sec.paragraphs.append(
        f"The registry holds {fmt.count(c['n_patients'])} patients and "
        f"{fmt.count(c['n_perfusions'])} perfusions from {_plural(c['n_centers'], 'centre')}, "
        "performed "
        f"between {c['first_ilp_date']} and {c['last_ilp_date']}; the latest follow-up is dated "
        f"{c['last_followup_date']}. Median follow-up was {fmt.years(fu)} years by the reverse "
        "Kaplan–Meier method (95% CI in brackets)."
    )
    flow = inputs.flow
    sec.items.append(
        num.figure(
            "study-flow",
            "Study flow",
            "Numbers of patients and perfusions at each stage (STROBE). Response, resection and "
            "amputation are counted per perfusion; follow-up per patient.",
            lambda: figs.flow_figure(_flow_boxes(flow, r), synthetic=syn),
        )
    )
    sec.items.append(num.table(lambda n: tables.baseline_table(inputs.os_data, inputs.frame, n)))
    sec.items.append(num.table(lambda n: tables.perfusion_table(inputs.frame, inputs.lr_data, n)))
    sections.append(sec)

    # ---- response
    if "response" in r:
        resp = r["response"]
        sec = Section("response", len(sections) + 1, "Tumour response")
        sec.paragraphs.append(
            f"{fmt.count(resp['n_evaluable'])} perfusions had an evaluable response. The overall "
            f"response rate was {fmt.proportion(resp['orr'])}, with complete responses in "
            f"{fmt.proportion(resp['cr'])} and partial responses in {fmt.proportion(resp['pr'])}."
        )
        sec.items.append(num.table(lambda n: tables.response_table(r, n)))
        pub = {} if seed is None else seed.pct
        rows = [
            figs.ProportionRow(
                label,
                resp[k]["estimate"],
                resp[k]["ci95"][0],
                resp[k]["ci95"][1],
                f"{fmt.n_of(resp[k])}  {fmt.percent(resp[k]['estimate'])}",
                reference=pub[k] / 100 if k in pub else None,
            )
            for k, label in (
                ("cr", "Complete (CR)"),
                ("pr", "Partial (PR)"),
                ("nc", "No change (NC)"),
                ("pd", "Progression (PD)"),
                ("orr", "Overall (CR + PR)"),
            )
        ]
        ref_label = f"Published: {seed.label}" if seed else ""
        sec.items.append(
            num.figure(
                "response",
                "Tumour response",
                "Share of evaluable perfusions in each WHO response category, with exact "
                "(Clopper–Pearson) 95% CIs"
                + (f"; diamonds: the figures published by {seed.label}." if seed else "."),
                lambda: figs.response_figure(rows, reference_label=ref_label, synthetic=syn),
            )
        )
        sec.items.append(num.table(lambda n: tables.response_by_table(r, n)))
        sub_rows: list[figs.ProportionRow] = []
        for var, entry in resp["by"].items():
            if var in RESPONSE_FIGURE_SKIP:
                continue
            test = {"chi2": "χ²", "fisher": "Fisher"}.get(entry.get("test") or "", "")
            sub_rows.append(
                figs.ProportionRow(
                    variable_label(var),
                    None,
                    None,
                    None,
                    header=True,
                    right=f"{test} {fmt.p_equals(entry.get('p'))}" if test else "",
                )
            )
            for lv, g in entry["groups"].items():
                o = g["orr"]
                sub_rows.append(
                    figs.ProportionRow(
                        "   " + level_label(var, lv),
                        o["estimate"],
                        o["ci95"][0],
                        o["ci95"][1],
                        f"{fmt.n_of(o)}  {fmt.percent(o['estimate'])}",
                    )
                )
        if sub_rows:
            overall = resp["orr"]["estimate"]
            sec.items.append(
                num.figure(
                    "response-by-subgroup",
                    "Overall response rate by subgroup",
                    "Overall response rate (CR + PR) per level with exact 95% CIs; dashed line: "
                    "all evaluable perfusions. The test (χ² or Fisher's exact) and its p-value "
                    "are given per variable; histology is in the table only.",
                    lambda: figs.subgroup_figure(
                        sub_rows,
                        overall=overall,
                        xlabel="Overall response rate (95% CI)",
                        synthetic=syn,
                    ),
                )
            )
        sections.append(sec)

    # ---- local recurrence
    if "local_recurrence" in r:
        lr = r["local_recurrence"]
        sec = Section("local-recurrence", len(sections) + 1, "Local recurrence")
        five = lr["at_years"].get("5")
        sec.paragraphs.append(
            f"Local recurrence followed {fmt.proportion(lr['crude'])} of perfusions (crude). "
            f"Counting death without local recurrence as a competing event "
            f"({fmt.count(lr['deaths_without_lr'])} perfusions), the 5-year cumulative incidence "
            f"was {fmt.estimate_ci(five)}."
        )
        if inputs.lr_overall is not None:
            lr_overall = inputs.lr_overall
            extra = () if inputs.lr_death is None else (inputs.lr_death,)
            sec.items.append(
                num.figure(
                    "local-recurrence",
                    "Cumulative incidence of local recurrence",
                    "Aalen–Johansen cumulative incidence of local recurrence per perfusion "
                    "(shaded: pointwise 95% CI, log(−log) transform), with death without local "
                    "recurrence as the competing event (dashed). Numbers at risk: perfusions "
                    f"still followed. The axis ends at the last tick with ≥ {figs.MIN_AT_RISK} "
                    "at risk.",
                    lambda: figs.curve_figure(
                        [lr_overall],
                        kind="incidence",
                        ylabel="Cumulative incidence",
                        xlabel="Years since perfusion",
                        extra=extra,
                        synthetic=syn,
                    ),
                )
            )
        for var, curves in inputs.lr_by.items():
            entry = lr["by"][var]
            lines = _p_lines(entry, "lr")
            sec.items.append(
                num.figure(
                    f"local-recurrence-by-{var.replace('_', '-')}",
                    f"Local recurrence by {lower_first(variable_label(var))}",
                    "Cumulative incidence of local recurrence per perfusion by "
                    + lower_first(variable_label(var))
                    + " (death competing; shaded: 95% CI), compared with Gray's test.",
                    partial(
                        figs.curve_figure,
                        curves,
                        kind="incidence",
                        ylabel="Cumulative incidence",
                        xlabel="Years since perfusion",
                        test_text=lines,
                        synthetic=syn,
                    ),
                )
            )
        sec.items.append(num.table(lambda n: tables.local_recurrence_table(r, n)))
        sections.append(sec)

    # ---- overall survival
    if "overall_survival" in r:
        os_ = r["overall_survival"]
        sec = Section("overall-survival", len(sections) + 1, "Overall survival")
        s5 = os_["at_years"].get("5")
        sec.paragraphs.append(
            f"{fmt.count(os_['events'])} of {fmt.count(os_['n'])} patients died. Overall survival "
            f"at 5 years was {fmt.estimate_ci(s5)}; median survival "
            f"{fmt.years(os_['median_years'])} years."
        )
        if inputs.os_overall is not None:
            os_overall = inputs.os_overall
            sec.items.append(
                num.figure(
                    "overall-survival",
                    "Overall survival",
                    "Kaplan–Meier estimate of overall survival per patient from the first "
                    "perfusion; shaded: pointwise 95% CI (Greenwood variance, log(−log) "
                    "transform); tick marks: censored patients. The axis ends at the last tick "
                    f"with ≥ {figs.MIN_AT_RISK} patients at risk.",
                    lambda: figs.curve_figure(
                        [os_overall],
                        kind="survival",
                        ylabel="Overall survival",
                        xlabel="Years since first perfusion",
                        synthetic=syn,
                    ),
                )
            )
        for var, curves in inputs.os_by.items():
            entry = os_["by"][var]
            lines = _p_lines(entry, "os")
            sec.items.append(
                num.figure(
                    f"overall-survival-by-{var.replace('_', '-')}",
                    f"Overall survival by {lower_first(variable_label(var))}",
                    "Kaplan–Meier estimates of overall survival by "
                    + lower_first(variable_label(var))
                    + " (tick marks: censored), compared with the log-rank test"
                    + (" and the test for trend." if "trend" in entry else "."),
                    partial(
                        figs.curve_figure,
                        curves,
                        kind="survival",
                        ylabel="Overall survival",
                        xlabel="Years since first perfusion",
                        test_text=lines,
                        band=False,
                        synthetic=syn,
                    ),
                )
            )
        sec.items.append(num.table(lambda n: tables.survival_table(r, n)))
        cox = os_.get("cox") or {}
        if cox.get("terms"):
            sec.items.append(num.table(lambda n: tables.cox_table(r, n)))
            forest_rows = _forest_rows(cox)
            sec.items.append(
                num.figure(
                    "cox-forest",
                    "Hazard ratios for death (Cox regression)",
                    "Hazard ratios with 95% CIs on a log scale: multivariable model (squares) "
                    "and one model per term (circles). Right of 1: higher risk of death.",
                    lambda: figs.forest_figure(forest_rows, synthetic=syn),
                )
            )
        sections.append(sec)

    # ---- limb salvage
    if "limb_salvage" in r:
        ls = r["limb_salvage"]
        sec = Section("limb-salvage", len(sections) + 1, "Limb salvage")
        sec.paragraphs.append(
            f"The limb was saved after {fmt.proportion(ls['per_perfusion'])} of perfusions and in "
            f"{fmt.proportion(ls['per_patient'])} of patients."
        )
        sec.items.append(num.table(lambda n: tables.limb_salvage_table(r, n)))
        sections.append(sec)

    # ---- published series
    sec = Section("published", len(sections) + 1, "Comparison with published series")
    headlines = headline_figures(r, seed)
    if seed is not None:
        inside = [h for h in headlines if h.published_inside_ci is True]
        with_pub = [h for h in headlines if h.published is not None]
        sec.paragraphs.append(
            f"{len(inside)} of the {len(with_pub)} headline figures of the seed study "
            f"({seed.label}) lie inside this registry's 95% confidence intervals."
        )
    label = "This registry (SYNTHETIC)" if syn else "This registry"
    sec.items.append(num.table(lambda n: tables.comparison_table(r, series, label, n)))
    sections.append(sec)

    return ReportDocument(
        title=inputs.title,
        source=inputs.source,
        version=inputs.version,
        generated=inputs.generated,
        synthetic=syn,
        results=r,
        headlines=tuple(headlines),
        seed=seed,
        summary=text.results,
        sections=tuple(sections),
        text=text,
        figures=tuple(num.figures),
        tables=tuple(num.tables),
    )


def _forest_rows(cox: dict[str, Any]) -> list[figs.ForestRow]:
    from ilpkit.reporting.labels import term_label

    uni: dict[str, Any] = {}
    refs: dict[str, str] = dict(cox.get("reference_levels", {}))
    for u in cox.get("univariable", {}).values():
        uni.update(u.get("terms", {}))
        refs.update(u.get("reference_levels", {}))
    rows = []
    for term, v in cox.get("terms", {}).items():
        u = uni.get(term, {})
        lo, hi = v.get("ci95") or (None, None)
        ulo, uhi = u.get("ci95") or (None, None)
        rows.append(
            figs.ForestRow(
                label=term_label(term, refs),
                hr=v.get("hr"),
                lower=lo,
                upper=hi,
                p=fmt.pvalue(v.get("p")),
                hr_text=fmt.hazard_ratio(v),
                uni_hr=u.get("hr"),
                uni_lower=ulo,
                uni_upper=uhi,
                uni_text=fmt.hazard_ratio(u),
            )
        )
    return rows


def figure_variables(results: dict[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The subgroup variables to draw (those analysed): (overall survival, local recurrence)."""
    os_by = results.get("overall_survival", {}).get("by", {})
    lr_by = results.get("local_recurrence", {}).get("by", {})
    return (
        tuple(v for v in OS_FIGURE_BY if v in os_by and len(os_by[v]["groups"]) >= 2),
        tuple(v for v in LR_FIGURE_BY if v in lr_by and len(lr_by[v]["groups"]) >= 2),
    )


def section_list(doc: ReportDocument) -> Sequence[Section]:
    """The sections (for the table of contents)."""
    return doc.sections
