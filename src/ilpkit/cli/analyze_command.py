"""``ilp analyze``: the outcome statistics of the registry as Rich tables or one JSON object."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from ilpkit import config
from ilpkit.cli.console import DbOption, JsonOption, fail, safe, stdout
from ilpkit.cli.database import database_errors
from ilpkit.cli.database import require_existing_sqlite as _require_existing_sqlite
from ilpkit.reporting import formatting as fmt
from ilpkit.reporting.labels import level_label, term_label, variable_label

if TYPE_CHECKING:
    from ilpkit.stats.results import (
        AnalysisResults,
        ComparisonTest,
        CoxModel,
        CoxModelNotEstimable,
        DistantMetastasis,
        LandmarkRecurrence,
        LandmarkSurvival,
        LocalRecurrence,
        OverallSurvival,
        Proportion,
        RecurrenceComparison,
        Response,
        ResponseComparison,
        SurvivalComparison,
        TnfDose,
        Toxicity,
    )

LONGEST_WORD = 19
"""Width of the name column at least: the longest word of a label (``Dermatofibrosarcoma``)."""


def _table(title: str, *columns: str) -> Table:
    """A results table that fits 80 columns: the first column (names, which may wrap at
    spaces) takes the room left; numbers and intervals never wrap."""
    t = Table(title=title, box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False)
    t.add_column(columns[0], overflow="fold", ratio=1, min_width=LONGEST_WORD)
    for name in columns[1:]:
        t.add_column(name, no_wrap=True, justify="right")
    return t


Comparison = TypeVar(
    "Comparison", "ResponseComparison", "SurvivalComparison", "RecurrenceComparison"
)


def _subgroup_rows(
    t: Table,
    by: Mapping[str, Comparison],
    cells: Callable[[Any], Sequence[str]],
    test_cells: Callable[[Comparison], Sequence[str]],
) -> list[str]:
    """Add a heading row per variable (with its test) and one row per level; return the
    notes of comparisons that could not be made."""
    notes: list[str] = []
    n_blank = len(t.columns) - 1
    for var, entry in by.items():
        head = test_cells(entry)
        missing = f" ({entry.n_missing} missing)" if entry.n_missing else ""
        t.add_row(
            f"[bold]{safe(variable_label(var))}[/bold]{missing}",
            *([""] * (n_blank - len(head))),
            *head,
        )
        for lv, g in entry.groups.items():
            t.add_row("  " + safe(level_label(var, lv)), *cells(g))
        notes.extend(f"{variable_label(var)}: {n}" for n in _notes(entry))
    return notes


def _notes(entry: ResponseComparison | SurvivalComparison | RecurrenceComparison) -> list[str]:
    """Why the comparisons of one variable could not be made."""
    from ilpkit.stats.results import RecurrenceComparison, ResponseComparison, SurvivalComparison

    tests: list[tuple[str, ComparisonTest | None]] = []
    if isinstance(entry, SurvivalComparison):
        tests = [("log-rank", entry.logrank), ("trend", entry.trend)]
    elif isinstance(entry, RecurrenceComparison):
        tests = [("Gray's test", entry.gray)]
    out = [
        f"{name} not tested ({test.note})"
        for name, test in tests
        if test is not None and test.p is None and test.note
    ]
    if isinstance(entry, ResponseComparison) and entry.p is None and entry.note:
        out.append(f"not tested ({entry.note})")
    return out


def _print_notes(out: Console, notes: list[str]) -> None:
    for note in notes:
        out.print(safe(f"  Note - {note}."))


def print_results(r: AnalysisResults) -> None:
    """Render the analysis results as Rich tables (80 columns suffice)."""
    out = stdout()
    c = r.cohort
    if r.synthetic:
        out.print(
            "[bold reverse] SYNTHETIC DATA [/bold reverse] this registry was made by ilp synth; "
            "its numbers describe no real patient."
        )
    out.print(
        f"[bold]Cohort[/bold]: {c.n_patients:,} patients, {c.n_perfusions:,} perfusions, "
        f"{c.n_centers} centre(s); perfusions {c.first_ilp_date} to {c.last_ilp_date}; "
        f"median follow-up {fmt.years(c.median_followup_years)} years (reverse Kaplan-Meier)."
    )
    if r.response is not None:
        _print_response(out, r.response)
        _print_repeat_note(out, r)
    if r.overall_survival is not None:
        _print_overall_survival(out, r.overall_survival)
    if r.local_recurrence is not None:
        _print_local_recurrence(out, r.local_recurrence)
        _print_repeat_note(out, r)
    if r.limb_salvage is not None:
        ls = r.limb_salvage
        out.print(
            f"[bold]Limb salvage[/bold]: per perfusion {fmt.proportion(ls.per_perfusion)}; "
            f"per patient {fmt.proportion(ls.per_patient)}."
        )
    if r.toxicity is not None:
        _print_toxicity(out, r.toxicity)
    if r.tnf_dose is not None:
        _print_tnf_dose(out, r.tnf_dose)
    if r.distant_metastasis is not None:
        _print_distant_metastasis(out, r.distant_metastasis)


def _print_toxicity(out: Console, tox: Toxicity) -> None:
    w = tox.wieberdink
    t = _table(
        f"Regional toxicity (Wieberdink), {w.n} perfusions ({w.n_missing} not recorded)",
        "grade",
        "n/N",
        "% (exact 95% CI)",
    )
    for grade, p in w.grades.items():
        t.add_row(grade, fmt.n_of(p), fmt.estimate_ci(p))
    t.add_row(
        f"{tox.severe_threshold} or higher", fmt.n_of(tox.severe), fmt.estimate_ci(tox.severe)
    )
    out.print(t)
    t = _table(
        f"Grade {tox.severe_threshold} or higher by factor (per perfusion)",
        "factor",
        "n/N",
        "% (95% CI)",
        "p",
        "trend p",
    )
    notes: list[str] = []
    for var, a in tox.associations.items():
        trend = "" if a.trend is None else fmt.pvalue(a.trend.p)
        t.add_row(f"[bold]{safe(variable_label(var))}[/bold]", "", "", fmt.pvalue(a.p), trend)
        for lv, p in a.groups.items():
            t.add_row("  " + safe(lv), fmt.n_of(p), fmt.estimate_ci(p), "", "")
        if a.p is None and a.note:
            notes.append(f"{variable_label(var)}: not tested ({a.note})")
    out.print(t)
    _print_notes(out, notes)
    model = tox.model
    if model.note is not None:
        out.print(safe(f"Logistic model of {model.outcome}: {model.note}."))
    else:
        t = _table(
            f"Logistic model of {model.outcome} ({model.n} perfusions, {model.events} events)",
            "term",
            "OR (95% CI)",
            "p",
        )
        for name, term in model.terms.items():
            ci = fmt.interval(*term.ci95, scale=1.0, digits=2)
            t.add_row(safe(name), f"{fmt.number(term.odds_ratio, 2)} ({ci})", fmt.pvalue(term.p))
        out.print(t)
    out.print(
        f"[bold]Systemic toxicity[/bold] (CTCAE v{safe(tox.ctcae_version)}) grade 3 or higher: "
        f"{fmt.proportion(tox.systemic_grade_3_or_more)}; [bold]complications[/bold] "
        f"(Clavien-Dindo) grade III or higher: {fmt.proportion(tox.complications_grade_3_or_more)}."
    )


def _print_tnf_dose(out: Console, tnf: TnfDose) -> None:
    groups = list(tnf.groups.values())
    t = _table(
        "Outcomes by TNF dose group (per perfusion; n/N, %)",
        "outcome",
        *(safe(label) for label in tnf.groups),
        "p",
    )

    def cell(p: Proportion) -> str:
        return f"{fmt.n_of(p)} {fmt.percent(p.estimate)}"

    t.add_row("perfusions", *(fmt.count(g.n) for g in groups), "")
    t.add_row("ORR", *(cell(g.orr) for g in groups), fmt.pvalue(tnf.orr_test.p))
    t.add_row("CR", *(cell(g.cr) for g in groups), fmt.pvalue(tnf.cr_test.p))
    t.add_row(
        "severe toxicity",
        *(cell(g.severe_toxicity) for g in groups),
        fmt.pvalue(tnf.severe_toxicity_test.p),
    )
    out.print(t)
    gray = tnf.local_recurrence.gray
    out.print(
        f"Local recurrence by TNF dose group: Gray's test p = {fmt.pvalue(gray.p)}"
        + (f" ({safe(gray.note)})" if gray.note else "")
        + "."
    )
    notes = [
        f"{name}: not tested ({test.note})"
        for name, test in (
            ("response", tnf.orr_test),
            ("complete response", tnf.cr_test),
            ("severe toxicity", tnf.severe_toxicity_test),
        )
        if test.p is None and test.note
    ]
    _print_notes(out, notes)


def _print_repeat_note(out: Console, r: AnalysisResults) -> None:
    """Under per-perfusion comparisons: repeat perfusions of a patient are not independent."""
    repeats = r.cohort.n_perfusions - r.cohort.n_patients
    if repeats > 0:
        _print_notes(
            out,
            [
                f"{repeats} perfusions are repeat perfusions of a patient; the tests above "
                "treat perfusions as independent (p-values may be somewhat too small)"
            ],
        )


def _print_landmark_recurrence(out: Console, lm: LandmarkRecurrence) -> None:
    """Local recurrence by the post-baseline factors from the landmark (unit: perfusion)."""
    months = f"{lm.landmark_months:g}"
    t = _table(
        f"Local recurrence by factors known after the perfusion: landmark {months} months "
        f"(perfusions; {lm.n} at risk at the landmark, {lm.n_excluded} left out; time from "
        f"the landmark; Cox variance {lm.variance})",
        "factor at landmark",
        "LR/n",
        "5-year CIF (95% CI)",
        "HR (95% CI)",
        "Gray p",
    )
    notes = _subgroup_rows(
        t,
        lm.by,
        lambda g: (fmt.n_of(g.crude), fmt.estimate_ci(g.at_years.get("5")), "", ""),
        lambda e: (fmt.pvalue(e.gray.p),),
    )
    if lm.by:
        out.print(t)
    for var, model in lm.cox.items():
        refs = model.all_reference_levels()
        hrs = "; ".join(
            f"{term_label(term, refs)} HR {fmt.hazard_ratio(v)} (p {fmt.pvalue(v.p)})"
            for term, v in model.terms.items()
        )
        text = hrs or (model.note or "not estimable")
        notes.append(f"cause-specific Cox of {variable_label(var)}: {text}")
    notes.extend(f"{variable_label(f)}: {why}" for f, why in lm.not_recorded.items())
    _print_notes(out, notes)


def _print_landmark_survival(out: Console, lm: LandmarkSurvival) -> None:
    months = f"{lm.landmark_months:g}"
    t = _table(
        f"Overall survival by factors known after the perfusion: landmark {months} months "
        f"(patients; {lm.n} alive and followed at the landmark, {lm.n_excluded} left out)",
        "factor at landmark",
        "deaths/n",
        "5-year (95% CI)",
        "log-rank p",
    )
    notes = _subgroup_rows(
        t,
        lm.by,
        lambda g: (
            f"{fmt.count(g.events)}/{fmt.count(g.n)}",
            fmt.estimate_ci(g.at_years.get("5")),
            "",
        ),
        lambda e: (fmt.pvalue(e.logrank.p),),
    )
    if lm.by:
        out.print(t)
    notes.extend(f"{variable_label(f)}: {why}" for f, why in lm.not_recorded.items())
    _print_notes(out, notes)
    if lm.cox is not None:
        out.print(f"Cox model from the landmark ({months} months):")
        _print_cox(out, lm.cox)


def _print_distant_metastasis(out: Console, dm: DistantMetastasis) -> None:
    """Distant metastasis, metastasis-free and sarcoma-specific survival (unit: patient)."""
    from ilpkit.stats.results import NotRecorded

    at = "; ".join(f"{y}-y {fmt.estimate_ci(s)}" for y, s in dm.at_years.items())
    out.print(
        f"[bold]Distant metastasis[/bold] per patient ({dm.n} patients, from the first "
        f"perfusion): {fmt.n_of(dm.crude)} with metastasis; cumulative incidence (death "
        f"competing) {at}."
    )
    mfs = dm.metastasis_free_survival
    at = "; ".join(f"{y}-y {fmt.estimate_ci(s)}" for y, s in mfs.at_years.items())
    out.print(
        f"[bold]Metastasis-free survival[/bold] ({mfs.n} patients, {mfs.events} metastases "
        f"or deaths): {at}."
    )
    sss = dm.sarcoma_specific_survival
    if isinstance(sss, NotRecorded):
        out.print(
            f"[bold]Sarcoma-specific survival[/bold]: not recorded ({safe(sss.not_recorded)})."
        )
        return
    at = "; ".join(f"{y}-y {fmt.estimate_ci(s)}" for y, s in sss.at_years.items())
    sens = sss.sensitivity_unknown_as_sarcoma
    at_s = "; ".join(f"{y}-y {fmt.estimate_ci(s)}" for y, s in sens.at_years.items())
    out.print(
        f"[bold]Sarcoma-specific survival[/bold] ({sss.n} patients, {sss.events} deaths from "
        f"sarcoma, {sss.deaths_other_cause} from other causes censored, "
        f"{sss.deaths_unknown_cause} of unknown cause left out): {at}. Sensitivity analysis "
        f"(unknown cause counted as sarcoma death, {sens.n} patients): {at_s}."
    )


def _print_response(out: Console, resp: Response) -> None:
    t = _table(
        f"Response (WHO), {resp.n_evaluable} evaluable perfusions "
        f"({resp.n_not_evaluable} NE and {resp.n_missing} missing left out)",
        "category",
        "n/N",
        "% (exact 95% CI)",
    )
    for cat in ("cr", "pr", "nc", "pd", "orr"):
        p: Proportion = getattr(resp, cat)
        t.add_row(cat.upper(), fmt.n_of(p), fmt.estimate_ci(p))
    out.print(t)
    t = _table("Overall response rate by subgroup", "subgroup", "n/N", "ORR (95% CI)", "test", "p")
    notes = _subgroup_rows(
        t,
        resp.by,
        lambda g: (fmt.n_of(g.orr), fmt.estimate_ci(g.orr), "", ""),
        lambda e: (e.test or "none", fmt.pvalue(e.p)),
    )
    out.print(t)
    _print_notes(out, notes)


def _print_overall_survival(out: Console, os_: OverallSurvival) -> None:
    at = "; ".join(f"{y}-y {fmt.estimate_ci(s)}" for y, s in os_.at_years.items())
    out.print(
        f"[bold]Overall survival[/bold] ({os_.n} patients, {os_.events} deaths): {at}; "
        f"median {fmt.years(os_.median_years)} years."
    )
    t = _table(
        "Overall survival by subgroup (Kaplan-Meier, log-log 95% CI; log-rank)",
        "subgroup",
        "deaths/n",
        "5-year (95% CI)",
        "log-rank p",
        "trend p",
    )
    notes = _subgroup_rows(
        t,
        os_.by,
        lambda g: (
            f"{fmt.count(g.events)}/{fmt.count(g.n)}",
            fmt.estimate_ci(g.at_years.get("5")),
            "",
            "",
        ),
        lambda e: (fmt.pvalue(e.logrank.p), "" if e.trend is None else fmt.pvalue(e.trend.p)),
    )
    if os_.by:
        out.print(t)
    _print_notes(out, notes)
    if os_.cox is not None:
        _print_cox(out, os_.cox)
    if os_.landmark is not None:
        _print_landmark_survival(out, os_.landmark)


def _print_local_recurrence(out: Console, lr: LocalRecurrence) -> None:
    at = "; ".join(f"{y}-y {fmt.estimate_ci(s)}" for y, s in lr.at_years.items())
    out.print(
        f"[bold]Local recurrence[/bold] per perfusion: crude {fmt.proportion(lr.crude)}; "
        f"cumulative incidence (death competing) {at}."
    )
    t = _table(
        "Local recurrence by subgroup (crude; 5-year cumulative incidence; Gray)",
        "subgroup",
        "LR/n",
        "crude %",
        "5-year CIF (95% CI)",
        "Gray p",
    )
    notes = _subgroup_rows(
        t,
        lr.by,
        lambda g: (
            fmt.n_of(g.crude),
            fmt.percent(g.crude.estimate),
            fmt.estimate_ci(g.at_years.get("5")),
            "",
        ),
        lambda e: (fmt.pvalue(e.gray.p),),
    )
    if lr.by:
        out.print(t)
    _print_notes(out, notes)
    if lr.fine_gray is not None:
        _print_fine_gray(out, lr)


def _print_fine_gray(out: Console, lr: LocalRecurrence) -> None:
    """The Fine-Gray subdistribution hazard ratios next to the cause-specific Cox ones."""
    from ilpkit.stats.results import FineGrayModel

    fg = lr.fine_gray
    if not isinstance(fg, FineGrayModel):
        note = fg.note if fg is not None else "not asked for"
        out.print(safe(f"Fine-Gray model of local recurrence: {note}."))
        return
    t = _table(
        f"Fine-Gray model of local recurrence (death competing; n = {fg.n}, {fg.events} "
        f"recurrences, {fg.competing_events} deaths without, {fg.n_excluded} left out)",
        "term",
        "SHR (95% CI)",
        "p",
        "cause-specific\nHR (95% CI)",
        "p",
    )
    cs = fg.cause_specific.terms if fg.cause_specific is not None else {}
    for term, v in fg.terms.items():
        c = cs.get(term)
        t.add_row(
            safe(term_label(term, fg.reference_levels)),
            fmt.ratio_ci(v.sdhr, v.ci95),
            fmt.pvalue(v.p),
            fmt.hazard_ratio(c),
            fmt.pvalue(None if c is None else c.p),
        )
    out.print(t)
    if lr.landmark is not None:
        _print_landmark_recurrence(out, lr.landmark)


def _print_cox(out: Console, cox: CoxModel | CoxModelNotEstimable) -> None:
    """The Cox models: multivariable and univariable hazard ratios, or why they are missing."""
    uni_terms = cox.univariable_terms()
    notes = [
        f"univariable model of {term} {u.note}"
        for term, u in (cox.univariable or {}).items()
        if u.note
    ]
    multi = cox.terms
    if cox.note:
        notes.insert(0, f"multivariable model {cox.note}")
    names = list(multi) + [t for t in uni_terms if t not in multi]
    if names:
        t = _table(
            f"Cox model of overall survival ({cox.ties} ties; n = {cox.n}, "
            f"{cox.events} deaths, {cox.n_excluded} left out for missing values)",
            "term",
            "multivariable\nHR (95% CI)",
            "p",
            "univariable\nHR (95% CI)",
            "p",
        )
        refs = cox.all_reference_levels()
        for term in names:
            v = multi.get(term)
            u = uni_terms.get(term)
            t.add_row(
                safe(term_label(term, refs)),
                fmt.hazard_ratio(v),
                fmt.pvalue(None if v is None else v.p),
                fmt.hazard_ratio(u),
                fmt.pvalue(None if u is None else u.p),
            )
        out.print(t)
    else:
        out.print("[bold]Cox model of overall survival[/bold]: not estimable.")
    _print_notes(out, notes)


def analyze_cmd(
    db: DbOption = None,
    endpoint: Annotated[
        str,
        typer.Option(
            "--endpoint",
            help="os, lr, response, limb_salvage, toxicity, tnf_dose, metastasis or all.",
        ),
    ] = "all",
    by: Annotated[
        list[str] | None,
        typer.Option("--by", help="Subgroup variable (repeatable). Default: the standard set."),
    ] = None,
    cox: Annotated[
        str | None,
        typer.Option("--cox", help="Cox model terms, comma-separated (e.g. age_years,grade)."),
    ] = None,
    ties: Annotated[str, typer.Option("--ties", help="efron (as R) or breslow.")] = "efron",
    tnf_cut_mg: Annotated[
        float,
        typer.Option(
            "--tnf-cut-mg",
            help="TNF dose groups: up to and including this (mg) against more. Default 2 "
            "(1-2 mg vs 3-4 mg, Deroose 2015).",
        ),
    ] = 2.0,
    fine_gray: Annotated[
        str | None,
        typer.Option(
            "--fine-gray",
            help="Fine-Gray model of local recurrence (death competing), terms comma-separated "
            "(e.g. age_years,tumor_size_cm).",
        ),
    ] = None,
    landmark_months: Annotated[
        float | None,
        typer.Option(
            "--landmark-months",
            metavar="M",
            help="Landmark (months after the perfusion) for factors known only after it "
            "(response, resection_margin, adjuvant_radiotherapy, necrosis_group): needed to "
            "use them in --by or --cox; e.g. 3. The local-recurrence landmark analysis uses "
            "it too (3 months when not given).",
        ),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Outcome statistics of the registry, identical to R's survival and cmprsk.

    Response, overall survival, local recurrence (death as competing risk), limb
    salvage, toxicity (Wieberdink, CTCAE, Clavien-Dindo), outcomes by TNF dose
    group, and distant metastasis (with metastasis-free and sarcoma-specific
    survival). Factors known only after the perfusion (response, resection margin,
    adjuvant radiotherapy, necrosis) are analysed from a landmark
    (--landmark-months).

    --json prints one object with the schema ilpkit.results/1 (docs/results-schema.md).

    [b]Examples[/b]

      ilp analyze
      ilp analyze --endpoint os --by grade --by tumor_size_group --cox age_years,grade
      ilp analyze --by response --landmark-months 3
      ilp analyze --json > results.json
      ilp analyze --json --endpoint lr --fine-gray age_years,tumor_size_cm
    """
    from ilpkit.services.outcome_analysis import analyze_registry
    from ilpkit.stats.analysis import (
        DEFAULT_BY,
        DEFAULT_COX,
        ENDPOINTS,
        AnalysisError,
        AnalysisOptions,
        check_variables,
    )

    if ties not in ("efron", "breslow"):
        fail(f"--ties must be efron or breslow, not '{ties}'")
    endpoints = ENDPOINTS if endpoint == "all" else (endpoint,)
    if endpoint != "all" and endpoint not in ENDPOINTS:
        fail(f"--endpoint must be one of {', '.join(ENDPOINTS)} or all, not '{endpoint}'")
    if not 0 < tnf_cut_mg < 4:
        fail(f"--tnf-cut-mg must be more than 0 and less than 4 (mg), not {tnf_cut_mg:g}")
    terms = DEFAULT_COX if cox is None else tuple(t.strip() for t in cox.split(",") if t.strip())
    options = AnalysisOptions(
        endpoints=endpoints,
        by=tuple(by) if by else DEFAULT_BY,
        cox=terms,
        ties=ties,  # type: ignore[arg-type]
        extra={"tnf_dose_cut_mg": tnf_cut_mg},
        fine_gray=()
        if fine_gray is None
        else tuple(t.strip() for t in fine_gray.split(",") if t.strip()),
        landmark_months=landmark_months,
    )
    try:
        check_variables(options.by, options.cox, options.landmark_months)
    except AnalysisError as exc:
        fail(str(exc))
    url = config.database_url(db)
    _require_existing_sqlite(url)
    try:
        with database_errors(url):
            results = analyze_registry(url, options)
    except AnalysisError as exc:
        fail(str(exc))
    if json_output:
        typer.echo(json.dumps(results.to_json_dict(), indent=2))
    else:
        print_results(results)


def register(app: typer.Typer) -> None:
    """Register ``ilp analyze`` on ``app``."""
    app.command("analyze")(analyze_cmd)
