"""Assemble the study report: sections of text, numbered figures and numbered tables.

:func:`build_document` takes :class:`ReportInputs` — the :class:`AnalysisResults` of
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

from ilpkit.progress import StageProgress
from ilpkit.reporting import figures as figs
from ilpkit.reporting import formatting as fmt
from ilpkit.reporting import tables
from ilpkit.reporting.comparison import Headline, headline_figures
from ilpkit.reporting.labels import level_label, term_label, variable_label
from ilpkit.reporting.published import PublishedSeries, load_published_series
from ilpkit.reporting.text import WrittenText, lower_first, written_text
from ilpkit.stats.descriptive import StudyFlow
from ilpkit.stats.results import (
    AnalysisResults,
    Cohort,
    ComparisonTest,
    CoxModel,
    CoxModelNotEstimable,
    DistantMetastasis,
    FineGrayModel,
    LimbSalvage,
    LocalRecurrence,
    OverallSurvival,
    Proportion,
    Response,
    TnfDose,
    Toxicity,
)

Progress = StageProgress
"""Called with (stage, done, total); the report draws its figures as stage ``figures``."""

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
    results : AnalysisResults
        From :func:`ilpkit.stats.analysis.analyze`.
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
    dm_overall, dm_death : StepCurve or None
        Cumulative incidence of distant metastasis and of death without it (per patient).
    synthetic : bool
        Mark every page, figure and file SYNTHETIC.
    synthetic_seed : int or None
        The seed ``ilp synth`` made a SYNTHETIC registry with, when recorded.
    min_at_risk : int
        The curves stop where fewer than this many remain at risk (said in each caption).
    p_style : {"plain", "journal"}
        How p-values are written (:func:`ilpkit.reporting.formatting.pvalue`).
    source, version, generated, title : str
        Registry (URL without password), ilpkit version, timestamp, report title.
    """

    results: AnalysisResults
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
    synthetic_seed: int | None = None
    min_at_risk: int = figs.MIN_AT_RISK
    p_style: fmt.PStyle = "plain"
    tnf_lr_curves: tuple[figs.StepCurve, ...] = ()
    """Cumulative incidence of local recurrence per TNF dose group (empty when not drawn)."""
    dm_overall: figs.StepCurve | None = None
    dm_death: figs.StepCurve | None = None


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
    results: AnalysisResults
    headlines: tuple[Headline, ...]
    seed: PublishedSeries | None
    summary: tuple[str, ...]
    sections: tuple[Section, ...]
    text: WrittenText
    figures: tuple[figs.RenderedFigure, ...]
    tables: tuple[tables.ReportTable, ...]


@dataclass(frozen=True)
class _PendingFigure:
    """A figure laid out but not drawn yet: its number, file slug, title, caption and drawer."""

    number: int
    slug: str
    title: str
    caption: str
    draw: Callable[[], Any]


class _Layout:
    """Numbers tables as they are built and figures as they are laid out; the figures are
    drawn afterwards (:meth:`draw_figures`), once their total is known for progress."""

    def __init__(self) -> None:
        self.pending: list[_PendingFigure] = []
        self.tables: list[tables.ReportTable] = []

    def figure(
        self, slug: str, title: str, caption: str, draw: Callable[[], Any]
    ) -> _PendingFigure:
        pending = _PendingFigure(len(self.pending) + 1, slug, title, caption, draw)
        self.pending.append(pending)
        return pending

    def table(self, build: Callable[[int], tables.ReportTable]) -> tables.ReportTable:
        t = build(len(self.tables) + 1)
        self.tables.append(t)
        return t

    def draw_figures(
        self, sections: Sequence[Section], progress: Progress | None
    ) -> tuple[figs.RenderedFigure, ...]:
        """Draw every figure in order and put it in its section in place of its layout."""
        rendered: dict[int, figs.RenderedFigure] = {}
        for f in self.pending:
            rendered[f.number] = figs.render_later(
                f.draw,
                key=f"fig{f.number:02d}-{f.slug}",
                number=f.number,
                title=f.title,
                caption=f.caption,
            )
            if progress is not None:
                progress("figures", f.number, len(self.pending))
        for sec in sections:
            sec.items = [
                rendered[item.number] if isinstance(item, _PendingFigure) else item
                for item in sec.items
            ]
        return tuple(rendered[f.number] for f in self.pending)


def _test_line(name: str, test: ComparisonTest, p_style: fmt.PStyle) -> str:
    if test.p is None and test.note:
        return f"{name}: not tested ({test.note})"
    return f"{name} {fmt.p_equals(test.p, p_style)}"


def _plural(n: int, word: str) -> str:
    return f"{fmt.count(n)} {word}{'' if n == 1 else 's'}"


def _flow_boxes(flow: StudyFlow, c: Cohort) -> list[figs.FlowBox]:
    m = flow.resection_margins
    margin_text = ", ".join(f"{k} {fmt.count(v)}" for k, v in m.items() if v)
    h = f"{flow.horizon_years:g}"
    n_perf = fmt.count(flow.n_perfusions)
    not_resected = flow.n_perfusions - flow.n_resected
    return [
        figs.FlowBox(
            f"Patients in the registry: {fmt.count(flow.n_patients)}",
            (
                f"{_plural(c.n_centers, 'centre')}; perfusions {c.first_ilp_date} to "
                f"{c.last_ilp_date}",
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
                "median follow-up " + fmt.years(c.median_followup_years) + " years "
                "(reverse Kaplan–Meier)",
            ),
            side=(f"{_plural(flow.n_censored_early, 'patient')} (censored)",),
            side_title=f"Alive with < {h} years of follow-up",
        ),
    ]


def _stops(inputs: ReportInputs, unit: str) -> str:
    return (
        f"Each curve stops where fewer than {inputs.min_at_risk} {unit} remain at risk; "
        f"the axis ends at the last tick with at least {figs.MIN_AT_RISK} at risk."
    )


def _cohort_section(inputs: ReportInputs, layout: _Layout, number: int) -> Section:
    c = inputs.results.cohort
    sec = Section("cohort", number, "Cohort and follow-up")
    sec.paragraphs.append(
        f"The registry holds {fmt.count(c.n_patients)} patients and "
        f"{fmt.count(c.n_perfusions)} perfusions from {_plural(c.n_centers, 'centre')}, "
        "performed "
        f"between {c.first_ilp_date} and {c.last_ilp_date}; the latest follow-up is dated "
        f"{c.last_followup_date}. Median follow-up was {fmt.years(c.median_followup_years)} "
        "years by the reverse Kaplan–Meier method (95% CI in brackets)."
    )
    boxes = _flow_boxes(inputs.flow, c)
    sec.items.append(
        layout.figure(
            "study-flow",
            "Study flow",
            "Numbers of patients and perfusions at each stage (STROBE). Response, resection and "
            "amputation are counted per perfusion; follow-up per patient.",
            lambda: figs.flow_figure(boxes, synthetic=inputs.synthetic),
        )
    )
    sec.items.append(layout.table(lambda n: tables.baseline_table(inputs.os_data, inputs.frame, n)))
    sec.items.append(
        layout.table(lambda n: tables.perfusion_table(inputs.frame, inputs.lr_data, n))
    )
    return sec


RESPONSE_CATEGORIES: tuple[tuple[str, str], ...] = (
    ("cr", "Complete (CR)"),
    ("pr", "Partial (PR)"),
    ("nc", "No change (NC)"),
    ("pd", "Progression (PD)"),
    ("orr", "Overall (CR + PR)"),
)
"""Rows of the response figure: field of :class:`Response` and label."""


def _proportion_row(
    label: str, p: Proportion, reference: float | None = None
) -> figs.ProportionRow:
    return figs.ProportionRow(
        label,
        p.estimate,
        p.ci95[0],
        p.ci95[1],
        f"{fmt.n_of(p)}  {fmt.percent(p.estimate)}",
        reference=reference,
    )


def _response_subgroup_rows(resp: Response, p_style: fmt.PStyle) -> list[figs.ProportionRow]:
    rows: list[figs.ProportionRow] = []
    for var, entry in resp.by.items():
        if var in RESPONSE_FIGURE_SKIP:
            continue
        test = {"chi2": "χ²", "fisher": "Fisher"}.get(entry.test or "", "")
        right = (
            f"{test} {fmt.p_equals(entry.p, p_style)}"
            if test
            else f"not tested ({entry.note})"
            if entry.note
            else ""
        )
        rows.append(
            figs.ProportionRow(variable_label(var), None, None, None, header=True, right=right)
        )
        for lv, g in entry.groups.items():
            rows.append(_proportion_row("   " + level_label(var, lv), g.orr))
    return rows


def _response_section(
    inputs: ReportInputs, resp: Response, seed: PublishedSeries | None, layout: _Layout, number: int
) -> Section:
    syn = inputs.synthetic
    sec = Section("response", number, "Tumour response")
    sec.paragraphs.append(
        f"{fmt.count(resp.n_evaluable)} perfusions had an evaluable response. The overall "
        f"response rate was {fmt.proportion(resp.orr)}, with complete responses in "
        f"{fmt.proportion(resp.cr)} and partial responses in {fmt.proportion(resp.pr)}."
    )
    sec.items.append(layout.table(lambda n: tables.response_table(resp, n)))
    pub = {} if seed is None else seed.pct
    rows = [
        _proportion_row(label, getattr(resp, k), pub[k] / 100 if k in pub else None)
        for k, label in RESPONSE_CATEGORIES
    ]
    ref_label = f"Published: {seed.label}" if seed else ""
    sec.items.append(
        layout.figure(
            "response",
            "Tumour response",
            "Share of evaluable perfusions in each WHO response category, with exact "
            "(Clopper–Pearson) 95% CIs"
            + (f"; diamonds: the figures published by {seed.label}." if seed else "."),
            lambda: figs.response_figure(rows, reference_label=ref_label, synthetic=syn),
        )
    )
    repeat_note = tables.repeat_perfusion_note(inputs.results)
    sec.items.append(
        layout.table(lambda n: tables.response_by_table(resp, n, inputs.p_style, repeat_note))
    )
    sub_rows = _response_subgroup_rows(resp, inputs.p_style)
    if sub_rows:
        overall = resp.orr.estimate
        sec.items.append(
            layout.figure(
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
    return sec


def _local_recurrence_section(
    inputs: ReportInputs, lr: LocalRecurrence, layout: _Layout, number: int
) -> Section:
    syn = inputs.synthetic
    sec = Section("local-recurrence", number, "Local recurrence")
    sec.paragraphs.append(
        f"Local recurrence followed {fmt.proportion(lr.crude)} of perfusions (crude). "
        f"Counting death without local recurrence as a competing event "
        f"({fmt.count(lr.deaths_without_lr)} perfusions), the 5-year cumulative incidence "
        f"was {fmt.estimate_ci(lr.at_years.get('5'))}."
    )
    if inputs.lr_overall is not None:
        lr_overall = inputs.lr_overall
        extra = () if inputs.lr_death is None else (inputs.lr_death,)
        sec.items.append(
            layout.figure(
                "local-recurrence",
                "Cumulative incidence of local recurrence",
                "Aalen–Johansen cumulative incidence of local recurrence per perfusion "
                "(shaded: pointwise 95% CI, log(−log) transform), with death without local "
                "recurrence as the competing event (dashed). Numbers at risk: perfusions "
                "still followed. " + _stops(inputs, "perfusions"),
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
        label = lower_first(variable_label(var))
        sec.items.append(
            layout.figure(
                f"local-recurrence-by-{var.replace('_', '-')}",
                f"Local recurrence by {label}",
                f"Cumulative incidence of local recurrence per perfusion by {label}"
                " (death competing; shaded: 95% CI), compared with Gray's test. "
                + _stops(inputs, "perfusions"),
                partial(
                    figs.curve_figure,
                    curves,
                    kind="incidence",
                    ylabel="Cumulative incidence",
                    xlabel="Years since perfusion",
                    test_text=[_test_line("Gray's test", lr.by[var].gray, inputs.p_style)],
                    synthetic=syn,
                ),
            )
        )
    repeat_note = tables.repeat_perfusion_note(inputs.results)
    sec.items.append(
        layout.table(lambda n: tables.local_recurrence_table(lr, n, inputs.p_style, repeat_note))
    )
    if lr.fine_gray is not None:
        _fine_gray_items(sec, lr, layout, syn, inputs.p_style)
    landmark = lr.landmark
    if landmark is not None:
        sec.paragraphs.append(
            "Response, resection margin, adjuvant radiotherapy and pathological necrosis are "
            "known only after the perfusion, so local recurrence by these factors is analysed "
            f"from a landmark {landmark.landmark_months:g} months after the perfusion "
            f"({fmt.count(landmark.n)} perfusions still followed and free of local recurrence "
            "and death then), by each factor as known at the landmark."
        )
        sec.items.append(
            layout.table(lambda n: tables.landmark_recurrence_table(landmark, n, inputs.p_style))
        )
    return sec


def _metastasis_section(
    inputs: ReportInputs, dm: DistantMetastasis, layout: _Layout, number: int
) -> Section:
    """Distant metastasis (figure: cumulative incidence, death competing), metastasis-free and
    sarcoma-specific survival (table), per patient from the first perfusion."""
    syn = inputs.synthetic
    sec = Section("distant-metastasis", number, "Distant metastasis")
    sec.paragraphs.append(
        f"{fmt.proportion(dm.crude)} of patients developed distant metastases. Counting death "
        "without distant metastasis as a competing event "
        f"({fmt.count(dm.deaths_without_metastasis)} patients), the 5-year cumulative "
        "incidence of distant metastasis was "
        f"{fmt.estimate_ci(dm.at_years.get('5'))}; metastasis-free survival at 5 years was "
        f"{fmt.estimate_ci(dm.metastasis_free_survival.at_years.get('5'))}."
    )
    if inputs.dm_overall is not None:
        dm_overall = inputs.dm_overall
        extra = () if inputs.dm_death is None else (inputs.dm_death,)
        sec.items.append(
            layout.figure(
                "distant-metastasis",
                "Cumulative incidence of distant metastasis",
                "Aalen–Johansen cumulative incidence of distant metastasis per patient from the "
                "first perfusion (shaded: pointwise 95% CI, log(−log) transform), with death "
                "without distant metastasis as the competing event (dashed). Numbers at risk: "
                "patients still followed. " + _stops(inputs, "patients"),
                lambda: figs.curve_figure(
                    [dm_overall],
                    kind="incidence",
                    ylabel="Cumulative incidence",
                    xlabel="Years since first perfusion",
                    extra=extra,
                    synthetic=syn,
                ),
            )
        )
    sec.items.append(layout.table(lambda n: tables.metastasis_table(dm, n)))
    return sec


def _fine_gray_items(
    sec: Section, lr: LocalRecurrence, layout: _Layout, syn: bool, p_style: fmt.PStyle
) -> None:
    """The Fine-Gray model of local recurrence: a paragraph and a forest plot of its
    subdistribution hazard ratios next to the cause-specific Cox hazard ratios."""
    fg = lr.fine_gray
    if not isinstance(fg, FineGrayModel) or not fg.terms:
        note = "not asked for" if fg is None else fg.note
        sec.paragraphs.append(f"The Fine-Gray model of local recurrence was {note}.")
        return
    sec.paragraphs.append(
        f"Competing-risks regression (Fine-Gray, death without local recurrence competing) on "
        f"{fmt.count(fg.n)} perfusions with {fmt.count(fg.events)} local recurrences and "
        f"{fmt.count(fg.competing_events)} deaths without it "
        f"({fmt.count(fg.n_excluded)} left out for a missing value). A subdistribution hazard "
        "ratio describes the effect on the cumulative incidence of local recurrence; the "
        "cause-specific hazard ratio (deaths censored) describes the effect on the rate of "
        "local recurrence among perfusions still free of it and alive."
    )
    cs = {} if fg.cause_specific is None else fg.cause_specific.terms
    rows = []
    for term, v in fg.terms.items():
        c = cs.get(term)
        rows.append(
            figs.ForestRow(
                label=term_label(term, fg.reference_levels),
                hr=v.sdhr,
                lower=v.ci95[0],
                upper=v.ci95[1],
                p=fmt.pvalue(v.p, p_style),
                hr_text=fmt.ratio_ci(v.sdhr, v.ci95),
                uni_hr=None if c is None else c.hr,
                uni_lower=None if c is None else c.ci95[0],
                uni_upper=None if c is None else c.ci95[1],
                uni_text=fmt.hazard_ratio(c),
            )
        )
    sec.items.append(
        layout.figure(
            "fine-gray-forest",
            "Local recurrence: Fine-Gray and cause-specific hazard ratios",
            "Subdistribution hazard ratios of the Fine-Gray model (squares; p-values are "
            "theirs) and cause-specific Cox hazard ratios (circles), with 95% CIs on a log "
            "scale. Right of 1: more local recurrence.",
            lambda: figs.forest_figure(
                rows,
                synthetic=syn,
                headers=("Ratio (95% CI)", "Cause-specific HR", "Fine-Gray SHR"),
                legend=("Fine-Gray subdistribution HR", "Cause-specific HR (deaths censored)"),
                axis_label="Hazard ratio (log scale)",
            ),
        )
    )


def _overall_survival_section(
    inputs: ReportInputs, os_: OverallSurvival, layout: _Layout, number: int
) -> Section:
    syn = inputs.synthetic
    sec = Section("overall-survival", number, "Overall survival")
    sec.paragraphs.append(
        f"{fmt.count(os_.events)} of {fmt.count(os_.n)} patients died. Overall survival "
        f"at 5 years was {fmt.estimate_ci(os_.at_years.get('5'))}; median survival "
        f"{fmt.years(os_.median_years)} years."
    )
    if inputs.os_overall is not None:
        os_overall = inputs.os_overall
        sec.items.append(
            layout.figure(
                "overall-survival",
                "Overall survival",
                "Kaplan–Meier estimate of overall survival per patient from the first "
                "perfusion; shaded: pointwise 95% CI (Greenwood variance, log(−log) "
                "transform); tick marks: censored patients. " + _stops(inputs, "patients"),
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
        entry = os_.by[var]
        label = lower_first(variable_label(var))
        lines = [_test_line("Log-rank", entry.logrank, inputs.p_style)]
        if entry.trend is not None:
            lines.append(_test_line("Test for trend", entry.trend, inputs.p_style))
        sec.items.append(
            layout.figure(
                f"overall-survival-by-{var.replace('_', '-')}",
                f"Overall survival by {label}",
                f"Kaplan–Meier estimates of overall survival by {label}"
                " (tick marks: censored), compared with the log-rank test"
                + (" and the test for trend. " if entry.trend is not None else ". ")
                + _stops(inputs, "patients"),
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
    sec.items.append(layout.table(lambda n: tables.survival_table(os_, n, inputs.p_style)))
    if os_.cox is not None:
        _cox_items(sec, os_.cox, layout, syn, inputs.p_style)
    return sec


def _cox_items(
    sec: Section,
    cox: CoxModel | CoxModelNotEstimable,
    layout: _Layout,
    syn: bool,
    p_style: fmt.PStyle,
) -> None:
    """The Cox table and forest plot, or why the multivariable model is missing."""
    any_uni = any(u.terms for u in (cox.univariable or {}).values())
    if cox.note and not cox.terms:
        sec.paragraphs.append(f"The multivariable Cox model of overall survival was {cox.note}.")
    if cox.terms or any_uni:
        sec.items.append(layout.table(lambda n: tables.cox_table(cox, n, p_style)))
    if cox.terms:
        forest_rows = _forest_rows(cox, p_style)
        sec.items.append(
            layout.figure(
                "cox-forest",
                "Hazard ratios for death (Cox regression)",
                "Hazard ratios with 95% CIs on a log scale: multivariable model (squares) "
                "and one model per term (circles). Right of 1: higher risk of death.",
                lambda: figs.forest_figure(forest_rows, synthetic=syn),
            )
        )


def _limb_salvage_section(ls: LimbSalvage, layout: _Layout, number: int) -> Section:
    sec = Section("limb-salvage", number, "Limb salvage")
    sec.paragraphs.append(
        f"The limb was saved after {fmt.proportion(ls.per_perfusion)} of perfusions and in "
        f"{fmt.proportion(ls.per_patient)} of patients."
    )
    sec.items.append(layout.table(lambda n: tables.limb_salvage_table(ls, n)))
    return sec


def _toxicity_section(inputs: ReportInputs, tox: Toxicity, layout: _Layout, number: int) -> Section:
    sec = Section("regional-toxicity", number, "Regional toxicity")
    w = tox.wieberdink
    if w.n == 0:
        sec.paragraphs.append(
            "No Wieberdink grade of regional toxicity is recorded: regional toxicity cannot be "
            "described."
        )
    else:
        sec.paragraphs.append(
            f"Regional (limb) toxicity was graded (Wieberdink) after {fmt.count(w.n)} perfusions; "
            f"grade {tox.severe_threshold} or higher followed {fmt.proportion(tox.severe)} of "
            "them. The unit of every figure here is the perfusion."
        )
    model = tox.model
    if model.note is not None:
        sec.paragraphs.append(f"The logistic model of {model.outcome} was {model.note}.")
    sec.items.append(layout.table(lambda n: tables.regional_toxicity_table(tox, n)))
    sec.items.append(
        layout.table(lambda n: tables.toxicity_association_table(tox, n, inputs.p_style))
    )
    if model.terms:
        sec.items.append(
            layout.table(lambda n: tables.toxicity_model_table(model, n, inputs.p_style))
        )
    sec.items.append(layout.table(lambda n: tables.systemic_toxicity_table(tox, n)))
    return sec


def _tnf_dose_section(inputs: ReportInputs, tnf: TnfDose, layout: _Layout, number: int) -> Section:
    sec = Section("tnf-dose", number, "TNF dose")
    low, high = (tnf.groups[g] for g in tnf.groups)
    labels = list(tnf.groups)
    gray = _test_line("Gray's test", tnf.local_recurrence.gray, inputs.p_style)
    orr_test = _test_line(
        tables.test_label(tnf.orr_test.test), _as_test(tnf.orr_test), inputs.p_style
    )
    sec.paragraphs.append(
        f"Perfusions with TNF-α {labels[0]} ({fmt.count(low.n)}) and {labels[1]} "
        f"({fmt.count(high.n)}) are compared, as Rotterdam compared 1–2 mg with 3–4 mg "
        "(Deroose 2015); the unit is the perfusion. Overall response "
        f"{fmt.proportion(low.orr)} against {fmt.proportion(high.orr)} "
        f"({orr_test}); "
        f"local recurrence: {gray}."
    )
    if inputs.tnf_lr_curves:
        curves = inputs.tnf_lr_curves
        syn = inputs.synthetic
        sec.items.append(
            layout.figure(
                "local-recurrence-by-tnf-dose",
                "Local recurrence by TNF-α dose group",
                "Cumulative incidence of local recurrence per perfusion by TNF-α dose group "
                "(death competing; shaded: 95% CI), compared with Gray's test. "
                + _stops(inputs, "perfusions"),
                partial(
                    figs.curve_figure,
                    curves,
                    kind="incidence",
                    ylabel="Cumulative incidence",
                    xlabel="Years since perfusion",
                    test_text=[
                        _test_line("Gray's test", tnf.local_recurrence.gray, inputs.p_style)
                    ],
                    synthetic=syn,
                ),
            )
        )
    sec.items.append(layout.table(lambda n: tables.tnf_dose_table(tnf, n, inputs.p_style)))
    return sec


def _as_test(test: Any) -> ComparisonTest:
    """A 2 x k test as a :class:`ComparisonTest` (for :func:`_test_line`)."""
    return ComparisonTest(statistic=test.statistic, df=test.df, p=test.p, note=test.note)


def _published_section(
    inputs: ReportInputs,
    series: Sequence[PublishedSeries],
    seed: PublishedSeries | None,
    headlines: Sequence[Headline],
    layout: _Layout,
    number: int,
) -> Section:
    sec = Section("published", number, "Comparison with published series")
    if seed is not None:
        inside = [h for h in headlines if h.published_inside_ci is True]
        with_pub = [h for h in headlines if h.published is not None]
        sec.paragraphs.append(
            f"{len(inside)} of the {len(with_pub)} headline figures of the seed study "
            f"({seed.label}) lie inside this registry's 95% confidence intervals."
        )
    if inputs.synthetic:
        sec.paragraphs.append(synthetic_calibration_note(inputs.synthetic_seed))
    label = "This registry (SYNTHETIC)" if inputs.synthetic else "This registry"
    sec.items.append(
        layout.table(lambda n: tables.comparison_table(inputs.results, series, label, n))
    )
    panels = published_panels(headlines, series, label)
    if any(p.points for p in panels):
        syn = inputs.synthetic
        sec.items.append(
            layout.figure(
                "published-series",
                "This registry beside published TM-ILP series",
                "Overall response (CR + PR), complete response, crude local recurrence and "
                "limb salvage: this registry (square, exact 95% CI; per perfusion) and every "
                "published series that reports the figure as one percentage (open diamond, as "
                "published, in the series' own unit; sources in the table above and in "
                "ilpkit/data/published_series.toml). Descriptive only: patients, TNF doses, "
                "response criteria and follow-up differ between series.",
                lambda: figs.published_forest_figure(panels, synthetic=syn),
            )
        )
    return sec


PUBLISHED_OUTCOMES: tuple[tuple[str, str], ...] = (
    ("orr", "Overall response (CR + PR)"),
    ("cr", "Complete response"),
    ("local_recurrence", "Local recurrence (crude)"),
    ("limb_salvage", "Limb salvage"),
)
"""Outcomes of the published-series forest plot (keys of the published-series data file)."""


def published_panels(
    headlines: Sequence[Headline], series: Sequence[PublishedSeries], registry_label: str
) -> list[figs.PublishedPanel]:
    """One panel per outcome: this registry's figure, then every series reporting it."""
    mine = {h.key: h for h in headlines}
    panels = []
    for key, title in PUBLISHED_OUTCOMES:
        points: list[figs.PublishedPoint] = []
        h = mine.get(key)
        if h is not None and h.estimate is not None:
            points.append(
                figs.PublishedPoint(registry_label, h.estimate, h.ci95[0], h.ci95[1], registry=True)
            )
        for s in series:
            if key in s.pct:
                points.append(figs.PublishedPoint(s.label, s.pct[key] / 100.0))
        panels.append(figs.PublishedPanel(title, tuple(points)))
    return panels


def build_document(inputs: ReportInputs, progress: Progress | None = None) -> ReportDocument:
    """Lay out the report; figures are drawn here (matplotlib) and held as PNG/SVG bytes.

    Must run inside :func:`ilpkit.reporting.figures.figure_style` (the service does this).
    """
    r = inputs.results
    series = load_published_series()
    seed = next((s for s in series if s.seed), None)
    layout = _Layout()
    text = written_text(r, inputs.version, inputs.p_style)
    sections = [
        Section("methods", 1, "Methods", list(text.methods)),
        _cohort_section(inputs, layout, 2),
    ]
    if r.response is not None:
        sections.append(_response_section(inputs, r.response, seed, layout, len(sections) + 1))
    if r.local_recurrence is not None:
        sections.append(
            _local_recurrence_section(inputs, r.local_recurrence, layout, len(sections) + 1)
        )
    if r.overall_survival is not None:
        sections.append(
            _overall_survival_section(inputs, r.overall_survival, layout, len(sections) + 1)
        )
    if r.limb_salvage is not None:
        sections.append(_limb_salvage_section(r.limb_salvage, layout, len(sections) + 1))
    if r.toxicity is not None:
        sections.append(_toxicity_section(inputs, r.toxicity, layout, len(sections) + 1))
    if r.tnf_dose is not None:
        sections.append(_tnf_dose_section(inputs, r.tnf_dose, layout, len(sections) + 1))
    if r.distant_metastasis is not None:
        sections.append(
            _metastasis_section(inputs, r.distant_metastasis, layout, len(sections) + 1)
        )
    headlines = headline_figures(r, seed)
    sections.append(_published_section(inputs, series, seed, headlines, layout, len(sections) + 1))
    figures = layout.draw_figures(sections, progress)
    return ReportDocument(
        title=inputs.title,
        source=inputs.source,
        version=inputs.version,
        generated=inputs.generated,
        synthetic=inputs.synthetic,
        results=r,
        headlines=tuple(headlines),
        seed=seed,
        summary=text.results,
        sections=tuple(sections),
        text=text,
        figures=figures,
        tables=tuple(layout.tables),
    )


def synthetic_calibration_note(seed: int | None) -> str:
    """What the agreement of a SYNTHETIC registry with the published figures means."""
    from ilpkit.synthetic.cohort_model import DEFAULT_PATIENTS, DEFAULT_SEED

    chosen = (
        f"The demo's default seed ({DEFAULT_SEED}) was chosen among 5,000 seeds (0–4,999) as "
        f"the one whose {DEFAULT_PATIENTS}-patient cohort sits closest to the published figures"
    )
    if seed == DEFAULT_SEED:
        made = f"This registry is SYNTHETIC: ilp synth made it with seed {seed}. " + chosen
    else:
        made = (
            "This registry is SYNTHETIC: ilp synth made it"
            + (f" with seed {seed}" if seed is not None else "")
            + " from a model calibrated to the published figures. "
            + chosen
        )
    return (
        made + ", so the agreement shown below is calibration, not an independent "
        "replication of the published results."
    )


def _forest_rows(cox: CoxModel | CoxModelNotEstimable, p_style: fmt.PStyle) -> list[figs.ForestRow]:
    uni = cox.univariable_terms()
    refs = cox.all_reference_levels()
    rows = []
    for term, v in cox.terms.items():
        u = uni.get(term)
        ulo, uhi = (None, None) if u is None else u.ci95
        rows.append(
            figs.ForestRow(
                label=term_label(term, refs),
                hr=v.hr,
                lower=v.ci95[0],
                upper=v.ci95[1],
                p=fmt.pvalue(v.p, p_style),
                hr_text=fmt.hazard_ratio(v),
                uni_hr=None if u is None else u.hr,
                uni_lower=ulo,
                uni_upper=uhi,
                uni_text=fmt.hazard_ratio(u),
            )
        )
    return rows


def figure_variables(results: AnalysisResults) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The subgroup variables to draw (those analysed): (overall survival, local recurrence)."""
    os_by = {} if results.overall_survival is None else results.overall_survival.by
    lr_by = {} if results.local_recurrence is None else results.local_recurrence.by
    return (
        tuple(v for v in OS_FIGURE_BY if v in os_by and len(os_by[v].groups) >= 2),
        tuple(v for v in LR_FIGURE_BY if v in lr_by and len(lr_by[v].groups) >= 2),
    )


def section_list(doc: ReportDocument) -> Sequence[Section]:
    """The sections (for the table of contents)."""
    return doc.sections
