"""The report's numbered tables, built from the analysis results and descriptive summaries.

A :class:`ReportTable` is plain text cells (already formatted) with a kind per row, rendered to
HTML by the template and written to CSV as is. No statistics here: every number comes from
``ilpkit.stats.analysis.analyze`` or ``ilpkit.stats.descriptive``.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pandas as pd

from ilpkit.reporting import formatting as fmt
from ilpkit.reporting.labels import level_label, term_label, variable_label
from ilpkit.reporting.published import PublishedSeries
from ilpkit.stats import cohort
from ilpkit.stats import descriptive as desc
from ilpkit.stats.results import (
    AnalysisResults,
    ChiSquaredTest,
    ComparisonTest,
    CoxModel,
    CoxModelNotEstimable,
    CoxTerm,
    DistantMetastasis,
    GradeDistribution,
    GroupTest,
    LandmarkRecurrence,
    LimbSalvage,
    LocalRecurrence,
    LogisticModel,
    NotRecorded,
    OverallSurvival,
    Proportion,
    ProportionalHazardsTest,
    RecurrenceGroup,
    Response,
    ResponseComparison,
    SurvivalGroup,
    TnfDose,
    Toxicity,
)


@dataclass(frozen=True)
class ReportTable:
    """One numbered table.

    Attributes
    ----------
    key : str
        File stem, e.g. ``table1-baseline``.
    number : int
    title : str
    columns : tuple of str
    rows : tuple of tuple of str
    kinds : tuple of str
        Per row: ``"group"`` (a variable heading), ``"level"`` (indented under it), ``"total"``
        (emphasised) or ``""``.
    note : str
        Footnote: units, denominators, tests.
    numeric : tuple of bool
        Per column: right-align.
    merge_label : bool
        In HTML, show the first two columns (variable, level) as one indented column.

    A cell may hold several lines (``\n``): the first is the value, the others are shown
    smaller underneath (a citation, a note).
    """

    key: str
    number: int
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    kinds: tuple[str, ...] = ()
    note: str = ""
    numeric: tuple[bool, ...] = field(default=())
    merge_label: bool = False

    kind: ClassVar[str] = "table"

    def row_kind(self, i: int) -> str:
        return self.kinds[i] if i < len(self.kinds) else ""

    def to_csv(self) -> str:
        """The table as CSV text (header row, then the rows as displayed).

        Cells that a spreadsheet would run as a formula get a leading apostrophe, as in
        ``ilp export`` (:func:`~ilpkit.adapters.csv.registry_csv.neutralise`).
        """
        from ilpkit.adapters.csv.registry_csv import neutralise

        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([neutralise(c) for c in self.columns])
        writer.writerows([neutralise(c) for c in row] for row in self.rows)
        return out.getvalue()


class _Builder:
    def __init__(self, columns: Sequence[str], numeric: Sequence[bool]):
        self.columns = tuple(columns)
        self.numeric = tuple(numeric)
        self.rows: list[tuple[str, ...]] = []
        self.kinds: list[str] = []

    def add(self, *cells: str, kind: str = "") -> None:
        if len(cells) != len(self.columns):
            raise ValueError(f"row has {len(cells)} cells for {len(self.columns)} columns")
        self.rows.append(tuple(cells))
        self.kinds.append(kind)

    def table(
        self, key: str, number: int, title: str, note: str, merge_label: bool = True
    ) -> ReportTable:
        """The table, its file stem ``table<NN>-<name>`` (the number as in the caption, two
        digits; ``key`` gives the name, with or without a ``tableN-`` prefix)."""
        name = re.sub(r"^table\d+-", "", key)
        return ReportTable(
            f"table{number:02d}-{name}",
            number,
            title,
            self.columns,
            tuple(self.rows),
            tuple(self.kinds),
            note,
            self.numeric,
            merge_label,
        )


# ------------------------------------------------------------------------ characteristics

_CHAR_COLUMNS = ("Characteristic", "Category", "n (%) or median [IQR]", "Missing")
_CHAR_NUMERIC = (False, False, True, True)


def _numeric(b: _Builder, label: str, values: Any, digits: int = 1) -> None:
    s = desc.summarize_numeric(values, label)
    b.add(label, "median [IQR]", fmt.median_iqr(s, digits), fmt.count(s.n_missing), kind="group")


def _categorical(
    b: _Builder,
    label: str,
    values: Any,
    variable: str = "",
    levels: Sequence[str] | None = None,
    by_count: bool = False,
    only: Sequence[str] | None = None,
) -> None:
    s = desc.summarize_categorical(values, levels, label)
    pairs = list(zip(s.levels, s.counts, s.percents, strict=True))
    if by_count:
        pairs.sort(key=lambda p: (-p[1], p[0]))
    if only is not None:
        # a yes/no variable: one line with the count of "yes"
        for lv, c, p in pairs:
            if lv in only:
                b.add(
                    label,
                    level_label(variable, lv),
                    fmt.n_percent(c, p),
                    fmt.count(s.n_missing),
                    kind="group",
                )
        return
    b.add(label, "", "", fmt.count(s.n_missing), kind="group")
    for lv, c, p in pairs:
        b.add("", level_label(variable, lv), fmt.n_percent(c, p), "", kind="level")


def baseline_table(os_data: pd.DataFrame, frame: pd.DataFrame, number: int) -> ReportTable:
    """Table 1: characteristics per patient at the first perfusion.

    Parameters
    ----------
    os_data : DataFrame
        :func:`ilpkit.stats.cohort.overall_survival` (one row per patient, covariates of the
        first perfusion).
    frame : DataFrame
        The registry (for the number of perfusions per patient).
    """
    b = _Builder(_CHAR_COLUMNS, _CHAR_NUMERIC)
    n = len(os_data)
    b.add("Patients", "", fmt.count(n), "", kind="total")
    _numeric(b, "Age at first perfusion, years", os_data["age_years"])
    _categorical(b, "Sex", os_data["sex"], "sex", ["F", "M"])
    per_patient = desc.perfusions_per_patient(frame)
    capped = per_patient.clip(upper=3).map({1: "1", 2: "2", 3: "3 or more"})
    _categorical(b, "Perfusions per patient", capped, "", ["1", "2", "3 or more"])
    _categorical(b, "Limb", os_data["limb"], "limb", ["arm", "leg"])
    _categorical(
        b, "Presentation", os_data["presentation"], "presentation", ["primary", "recurrent"]
    )
    groups = cohort.histology_groups()
    _categorical(b, "Histology", os_data["histology_group"], "histology_group", list(groups.order))
    _categorical(b, "FNCLCC grade", os_data["grade"], "grade", ["1", "2", "3"])
    _numeric(b, "Tumour size (largest diameter), cm", os_data["tumor_size_cm"])
    _categorical(
        b,
        "Tumour size group (AJCC 8th ed. T)",
        os_data["tumor_size_group"],
        "tumor_size_group",
        ["<=5cm", ">5-10cm", ">10-15cm", ">15cm"],
    )
    _categorical(
        b, "Multifocal tumour", os_data["multifocal"], "multifocal", ["yes", "no"], only=["yes"]
    )
    _categorical(
        b,
        "Previous radiotherapy of the limb",
        os_data["prior_radiotherapy"],
        "prior_radiotherapy",
        ["yes", "no"],
        only=["yes"],
    )
    return b.table(
        "table1-baseline",
        number,
        "Baseline characteristics, per patient at the first perfusion",
        f"Per patient (n = {fmt.count(n)}), characteristics of the first perfusion. n (%) of "
        "the patients with the item recorded; median [interquartile range, type 7 quartiles]. "
        "Missing: patients without the item recorded. Histology in the groups TM-ILP series "
        "report (ilpkit/data/histology_groups.toml; UPS/MFH: undifferentiated pleomorphic "
        "sarcoma, formerly malignant fibrous histiocytoma).",
    )


def perfusion_table(frame: pd.DataFrame, lr_data: pd.DataFrame, number: int) -> ReportTable:
    """Table 2: perfusion characteristics, per perfusion.

    Parameters
    ----------
    frame : DataFrame
        The registry (one row per perfusion).
    lr_data : DataFrame
        :func:`ilpkit.stats.cohort.local_recurrence` of the same registry (per-perfusion
        covariates in the same row order, including ``melphalan_mg_per_l``).
    """
    b = _Builder(_CHAR_COLUMNS, _CHAR_NUMERIC)
    n = len(frame)
    b.add("Perfusions", "", fmt.count(n), "", kind="total")
    limb = frame["limb"].reset_index(drop=True)
    level = frame["perfusion_level"].reset_index(drop=True)
    combined = limb.str.capitalize() + ": " + level
    order = [
        f"{lb.capitalize()}: {lv}"
        for lb, lvs in (
            ("arm", ("axillary", "brachial")),
            ("leg", ("iliac", "femoral", "popliteal")),
        )
        for lv in lvs
    ]
    present = set(combined.dropna().unique())
    _categorical(b, "Limb and perfusion level", combined, "", [o for o in order if o in present])
    volume = frame["limb_volume_l"].reset_index(drop=True)
    b.add("Limb volume, L", "", "", fmt.count(int(volume.isna().sum())), kind="group")
    for lb in ("arm", "leg"):
        s = desc.summarize_numeric(volume[limb == lb])
        if s.n:
            b.add("", f"{lb.capitalize()}: median [IQR]", fmt.median_iqr(s, 1), "", kind="level")
    tnf = frame["tnf_mg"].reset_index(drop=True)
    _numeric(b, "TNF-α dose, mg", tnf)
    groups = desc.tnf_dose_group(tnf)
    _categorical(
        b,
        "TNF-α dose group",
        groups,
        "",
        [g for g, _, _ in desc.TNF_DOSE_GROUPS] + [desc.NO_TNF]
        if (groups == desc.NO_TNF).any()
        else [g for g, _, _ in desc.TNF_DOSE_GROUPS],
    )
    _numeric(b, "Melphalan dose, mg", frame["melphalan_mg"], 0)
    per_l = lr_data["melphalan_mg_per_l"].reset_index(drop=True)
    b.add(
        "Melphalan, mg per L of limb volume",
        "",
        "",
        fmt.count(int(per_l.isna().sum())),
        kind="group",
    )
    for lb in ("arm", "leg"):
        s = desc.summarize_numeric(per_l[limb == lb])
        if s.n:
            b.add("", f"{lb.capitalize()}: median [IQR]", fmt.median_iqr(s, 1), "", kind="level")
    _numeric(b, "Highest tissue temperature, °C", frame["max_tissue_temp_c"])
    _numeric(b, "Duration of drug circulation, min", frame["perfusion_minutes"], 0)
    leak = frame["max_leakage_pct"].reset_index(drop=True)
    _numeric(b, "Peak cumulative leakage, %", leak)
    _categorical(
        b,
        "Peak leakage group",
        desc.leakage_group(leak),
        "",
        [g for g, _, _ in desc.LEAKAGE_GROUPS],
    )
    wb = frame["wieberdink_grade"].reset_index(drop=True)
    roman = {1: "I", 2: "II", 3: "III", 4: "IV", 5: "V"}
    wb_text = pd.Series(pd.to_numeric(wb, errors="coerce")).map(roman)
    _categorical(
        b, "Regional toxicity (Wieberdink grade)", wb_text, "", ["I", "II", "III", "IV", "V"]
    )
    return b.table(
        "table2-perfusion",
        number,
        "Perfusion characteristics, per perfusion",
        f"Per perfusion (n = {fmt.count(n)}). TNF-α dose groups: 1–2 mg (reduced dose) and "
        "3–4 mg (standard label dose), as compared by Deroose et al. 2015. Leakage: peak "
        "cumulative leakage to the systemic circulation, % of the circuit dose; 10% is the "
        "stop level of the Beromun label. Wieberdink grades I–V of regional (limb) toxicity "
        "(Wieberdink 1982). Missing: perfusions without the item recorded.",
    )


# ------------------------------------------------------------------------------ results


def response_table(r: Response, number: int) -> ReportTable:
    """Response categories with exact CIs."""
    b = _Builder(("Response (WHO)", "n/N", "% (95% CI)"), (False, True, True))
    names = {
        "cr": "Complete response (CR)",
        "pr": "Partial response (PR)",
        "nc": "No change (NC)",
        "pd": "Progressive disease (PD)",
        "orr": "Overall response (CR + PR)",
    }
    for key, label in names.items():
        p: Proportion = getattr(r, key)
        b.add(label, fmt.n_of(p), fmt.estimate_ci(p), kind="total" if key == "orr" else "")
    return b.table(
        "table3-response",
        number,
        "Tumour response, per perfusion",
        f"Denominator: {fmt.count(r.n_evaluable)} perfusions with an evaluable response; "
        f"{fmt.count(r.n_not_evaluable)} not evaluable (NE) and {fmt.count(r.n_missing)} "
        "without a recorded response are left out. Exact (Clopper–Pearson) 95% CIs.",
        merge_label=False,
    )


def untested_note(
    tests: Mapping[str, ComparisonTest | ResponseComparison | None], what: str = "Not tested"
) -> str:
    """``Not tested: Sex (only one response class present).`` for the comparisons that could
    not be made (p-value null with a ``note``), or an empty string."""
    parts = [
        f"{variable_label(var)} ({t.note})"
        for var, t in tests.items()
        if t is not None and t.p is None and t.note
    ]
    return f" {what}: " + "; ".join(parts) + "." if parts else ""


def _test_name(test: str | None) -> str:
    return {"chi2": "χ²", "fisher": "Fisher exact"}.get(test or "", fmt.DASH)


def test_label(test: str | None) -> str:
    """Name of a 2 x k test in running text (``χ² test``, ``Fisher's exact test``)."""
    return {"chi2": "χ² test", "fisher": "Fisher's exact test"}.get(test or "", "test")


def response_by_table(
    r: Response, number: int, p_style: fmt.PStyle = "plain", repeat_note: str = ""
) -> ReportTable:
    """Overall response by subgroup, with the test used; ``repeat_note``
    (:func:`repeat_perfusion_note`) says how repeat perfusions of a patient are treated."""
    b = _Builder(
        ("Subgroup", "Level", "Responders/evaluable", "ORR % (95% CI)", "Test", "p"),
        (False, False, True, True, False, True),
    )
    for var, entry in r.by.items():
        b.add(
            variable_label(var) + _missing(entry.n_missing),
            "",
            "",
            "",
            _test_name(entry.test) if entry.p is not None or not entry.note else "not tested",
            fmt.pvalue(entry.p, p_style),
            kind="group",
        )
        for lv, g in entry.groups.items():
            b.add(
                "",
                level_label(var, lv),
                fmt.n_of(g.orr),
                fmt.estimate_ci(g.orr),
                "",
                "",
                kind="level",
            )
    return b.table(
        "table4-response-by-subgroup",
        number,
        "Overall response rate (CR + PR) by subgroup, per perfusion",
        "Exact (Clopper–Pearson) 95% CIs. Test: Pearson χ² without continuity correction when "
        "every expected count is at least 5, otherwise Fisher's exact test (two-sided, r × c). "
        "Perfusions with the subgroup variable missing are left out of that comparison."
        + repeat_note
        + untested_note(r.by),
    )


def _missing(n_missing: int) -> str:
    return f" ({fmt.count(n_missing)} missing)" if n_missing else ""


def local_recurrence_table(
    lr: LocalRecurrence, number: int, p_style: fmt.PStyle = "plain", repeat_note: str = ""
) -> ReportTable:
    """Crude local recurrence and cumulative incidence at fixed times, by subgroup with Gray;
    ``repeat_note`` as :func:`response_by_table`."""
    ys = list(lr.at_years)
    cols = ["Subgroup", "Level", "LR / perfusions; crude % (95% CI)"]
    cols += [f"{y}-year CIF" for y in ys] + ["Gray p"]
    b = _Builder(cols, (False, False, True, *([True] * len(ys)), True))

    def cells(entry: LocalRecurrence | RecurrenceGroup) -> list[str]:
        crude = entry.crude
        return [f"{fmt.n_of(crude)}; {fmt.estimate_ci(crude)}"] + [
            fmt.estimate_ci(entry.at_years.get(y)) for y in ys
        ]

    b.add("All perfusions", "", *cells(lr), "", kind="total")
    for var, entry in lr.by.items():
        b.add(
            variable_label(var) + _missing(entry.n_missing),
            "",
            "",
            *([""] * len(ys)),
            fmt.pvalue(entry.gray.p, p_style),
            kind="group",
        )
        for lv, g in entry.groups.items():
            b.add("", level_label(var, lv), *cells(g), "", kind="level")
    return b.table(
        "table5-local-recurrence",
        number,
        "Local recurrence, per perfusion: crude rate and cumulative incidence",
        "Crude: exact (Clopper–Pearson) 95% CI. "
        "CIF: cumulative incidence of local recurrence, % (95% CI), Aalen–Johansen estimate with "
        "death without local recurrence as a competing event "
        f"({fmt.count(lr.deaths_without_lr)} perfusions) and the log(−log) CI, which is "
        "undefined (not shown) where the incidence is 0 or 100% or has no variance. After the "
        "last follow-up of a group the CIF keeps its last value only when that follow-up ended "
        "in local recurrence or death with no one left at risk (the estimate can no longer "
        "change); otherwise it is unknown and shown as a dash. Gray p: Gray's test comparing "
        "the cumulative incidence between the levels."
        + repeat_note
        + untested_note({v: e.gray for v, e in lr.by.items()}, "Gray's test not done"),
    )


def survival_table(os_: OverallSurvival, number: int, p_style: fmt.PStyle = "plain") -> ReportTable:
    """Overall survival at fixed times and median, overall and by subgroup."""
    ys = list(os_.at_years)
    cols = ["Subgroup", "Level", "Deaths / patients"]
    cols += [f"{y}-year OS" for y in ys]
    cols += ["Median, years", "Log-rank p", "Trend p"]
    b = _Builder(cols, (False, False, True, *([True] * len(ys)), True, True, True))

    def cells(entry: OverallSurvival | SurvivalGroup) -> list[str]:
        return (
            [f"{fmt.count(entry.events)} / {fmt.count(entry.n)}"]
            + [fmt.estimate_ci(entry.at_years.get(y)) for y in ys]
            + [fmt.years(entry.median_years)]
        )

    b.add("All patients", "", *cells(os_), "", "", kind="total")
    for var, entry in os_.by.items():
        b.add(
            variable_label(var) + _missing(entry.n_missing),
            "",
            "",
            *([""] * len(ys)),
            "",
            fmt.pvalue(entry.logrank.p, p_style),
            "" if entry.trend is None else fmt.pvalue(entry.trend.p, p_style),
            kind="group",
        )
        for lv, g in entry.groups.items():
            b.add("", level_label(var, lv), *cells(g), "", "", kind="level")
    return b.table(
        "table6-overall-survival",
        number,
        "Overall survival, per patient from the first perfusion",
        "OS: Kaplan–Meier estimate, % (95% CI; Greenwood variance, log(−log) transform); 0% "
        "without a CI once every patient of the group has died, and a dash where the time "
        "lies beyond the last follow-up of a group with patients still alive. Median survival "
        "in years with the Brookmeyer–Crowley 95% CI (NR: not reached). Log-rank test between "
        "the levels; test for trend (scores 1, 2, …) for ordered variables."
        + untested_note({v: e.logrank for v, e in os_.by.items()}, "Log-rank test not done")
        + untested_note({v: e.trend for v, e in os_.by.items()}, "Test for trend not done"),
    )


def cox_table(
    cox: CoxModel | CoxModelNotEstimable, number: int, p_style: fmt.PStyle = "plain"
) -> ReportTable:
    """Univariable and multivariable Cox models of overall survival."""
    b = _Builder(
        (
            "Term",
            "Univariable HR (95% CI)",
            "Univariable p",
            "Multivariable HR (95% CI)",
            "Multivariable p",
            "PH test p",
        ),
        (False, True, True, True, True, True),
    )
    uni = cox.univariable_terms()
    refs = cox.all_reference_levels()
    estimated = isinstance(cox, CoxModel)
    ph: dict[str, ChiSquaredTest] = {}
    if isinstance(cox, CoxModel) and isinstance(cox.ph_test, ProportionalHazardsTest):
        ph = cox.ph_test.rows
    multi = cox.terms
    names = list(multi) + [t for t in uni if t not in multi]
    for term in names:
        v = multi.get(term)
        u = uni.get(term)
        ph_term = ph.get(term) or ph.get(term.split("[")[0])
        b.add(
            term_label(term, refs),
            fmt.hazard_ratio(u),
            fmt.pvalue(None if u is None else u.p, p_style),
            fmt.hazard_ratio(v),
            fmt.pvalue(None if v is None else v.p, p_style),
            fmt.pvalue(None if ph_term is None else ph_term.p, p_style),
        )
    if "GLOBAL" in ph:
        b.add("Global PH test", "", "", "", "", fmt.pvalue(ph["GLOBAL"].p, p_style), kind="total")
    lr_p = cox.lr_test.p if isinstance(cox, CoxModel) else None
    note = (
        "Cox proportional-hazards models of overall survival, "
        f"{cox.ties.capitalize()} method for ties; multivariable model on "
        f"{fmt.count(cox.n)} patients with "
        f"{fmt.count(cox.events)} deaths ({fmt.count(cox.n_excluded)} left out "
        f"for a missing value); likelihood-ratio test {fmt.p_equals(lr_p, p_style)}. Wald "
        "95% CIs and p-values. PH test: score test of proportional hazards on scaled Schoenfeld "
        "residuals (R cox.zph, Kaplan–Meier time transform), per term and global."
    )
    if not estimated and isinstance(cox, CoxModelNotEstimable):
        note += f" The multivariable model is not estimable: {cox.error}."
    uni_notes = [
        f"{term_label(t, refs)} ({u.error})"
        for t, u in (cox.univariable or {}).items()
        if isinstance(u, CoxModelNotEstimable)
    ]
    if uni_notes:
        note += " Univariable model not estimable: " + "; ".join(uni_notes) + "."
    return b.table(
        "table7-cox",
        number,
        "Cox regression of overall survival, per patient from the first perfusion",
        note,
        merge_label=False,
    )


def limb_salvage_table(ls: LimbSalvage, number: int) -> ReportTable:
    """Limb salvage per perfusion and per patient, and amputation-free survival."""
    b = _Builder(("Outcome", "Unit", "n/N", "% (95% CI)"), (False, False, True, True))
    b.add(
        "Limb salvage (no amputation after the perfusion)",
        "perfusion",
        fmt.n_of(ls.per_perfusion),
        fmt.estimate_ci(ls.per_perfusion),
    )
    b.add(
        "Limb salvage (never amputated)",
        "patient",
        fmt.n_of(ls.per_patient),
        fmt.estimate_ci(ls.per_patient),
    )
    afs = ls.amputation_free_survival
    for y, s in afs.at_years.items():
        b.add(
            f"Amputation-free survival at {y} years",
            "perfusion",
            f"n = {fmt.count(afs.n)}",
            fmt.estimate_ci(s),
        )
    return b.table(
        "table8-limb-salvage",
        number,
        "Limb salvage and amputation-free survival, per perfusion and per patient (column Unit)",
        "Exact (Clopper–Pearson) 95% CIs for limb salvage. Amputation-free survival: "
        "Kaplan–Meier, amputation or death as the event, log(−log) 95% CIs "
        f"({fmt.count(afs.events)} events); 0% without a CI once every perfusion has had "
        "the event, and a dash for a time beyond the last follow-up otherwise.",
        merge_label=False,
    )


def comparison_table(
    results: AnalysisResults,
    series: Sequence[PublishedSeries],
    registry_label: str,
    number: int,
) -> ReportTable:
    """This registry beside the published series, each row with its citation."""
    cols = (
        "Series",
        "Patients / perfusions",
        "TNF-α dose",
        "CR",
        "ORR",
        "Local recurrence",
        "Limb salvage",
        "5-year OS",
    )
    b = _Builder(cols, (False,) * len(cols))
    c = results.cohort
    resp, lr, ls = results.response, results.local_recurrence, results.limb_salvage
    os_ = results.overall_survival
    b.add(
        f"{registry_label}\nperfusions {c.first_ilp_date.year}–{c.last_ilp_date.year}; % (95% CI)",
        f"{fmt.count(c.n_patients)} / {fmt.count(c.n_perfusions)}",
        "",
        fmt.estimate_ci(resp.cr if resp else None),
        fmt.estimate_ci(resp.orr if resp else None),
        fmt.estimate_ci(lr.crude if lr else None),
        fmt.estimate_ci(ls.per_perfusion if ls else None),
        fmt.estimate_ci(os_.at_years.get("5") if os_ else None),
        kind="total",
    )
    for s in series:
        t = s.text
        detail = "; ".join(x for x in (s.setting, s.notes) if x)
        b.add(
            "\n".join(x for x in (s.label, detail, s.citation) if x),
            s.size or fmt.DASH,
            s.tnf_dose or fmt.DASH,
            t.get("cr", fmt.DASH),
            t.get("orr", fmt.DASH),
            t.get("local_recurrence", fmt.DASH),
            t.get("limb_salvage", fmt.DASH),
            t.get("os_5y", fmt.DASH),
        )
    return b.table(
        "table9-published-series",
        number,
        "This registry beside published TM-ILP series, in each series' unit (patients or "
        "perfusions)",
        "Published figures as reported in the abstracts (dash: not reported there); units as "
        "in each series (this registry: per perfusion for response, local recurrence and limb "
        "salvage; per patient for survival). Comparisons across series are descriptive only: "
        "patients, TNF doses, response criteria and follow-up differ.",
        merge_label=False,
    )


# ------------------------------------------------------------------------------- toxicity


def _grade_rows(
    b: _Builder, scale: str, dist: GradeDistribution, labels: Mapping[str, str]
) -> None:
    b.add(scale, "", "", "", kind="group")
    for grade, p in dist.grades.items():
        b.add("", labels.get(grade, grade), fmt.n_of(p), fmt.estimate_ci(p), kind="level")


WIEBERDINK_NAMES = {
    "I": "I: no reaction",
    "II": "II: slight erythema and/or oedema",
    "III": "III: considerable erythema or oedema, some blistering",
    "IV": "IV: extensive epidermolysis or deep-tissue damage",
    "V": "V: reaction that may necessitate amputation",
}
"""Short descriptions of the Wieberdink grades (Wieberdink 1982)."""


def regional_toxicity_table(tox: Toxicity, number: int) -> ReportTable:
    """Wieberdink grades I-V and severe toxicity with exact CIs, per perfusion."""
    b = _Builder(("Scale", "Grade", "n/N", "% (95% CI)"), (False, False, True, True))
    _grade_rows(b, "Wieberdink (regional)", tox.wieberdink, WIEBERDINK_NAMES)
    b.add(
        f"Grade {tox.severe_threshold} or higher",
        "",
        fmt.n_of(tox.severe),
        fmt.estimate_ci(tox.severe),
        kind="total",
    )
    w = tox.wieberdink
    return b.table(
        "table10-regional-toxicity",
        number,
        "Regional (limb) toxicity, per perfusion (Wieberdink grade)",
        f"Unit: perfusions. Denominator: {fmt.count(w.n)} perfusions with a Wieberdink grade "
        f"recorded; {fmt.count(w.n_missing)} without one are left out. Exact "
        "(Clopper–Pearson) 95% CIs. Grades after Wieberdink et al. 1982.",
    )


def toxicity_association_table(
    tox: Toxicity, number: int, p_style: fmt.PStyle = "plain"
) -> ReportTable:
    """Severe regional toxicity by factor, with the 2 x k test and the test for trend."""
    b = _Builder(
        ("Factor", "Level", "Severe / perfusions", "% (95% CI)", "Test", "p", "Trend p"),
        (False, False, True, True, False, True, True),
    )
    notes = {}
    for var, a in tox.associations.items():
        test = _test_name(a.test) if a.p is not None or not a.note else "not tested"
        trend = "" if a.trend is None else fmt.pvalue(a.trend.p, p_style)
        b.add(
            variable_label(var) + _missing(a.n_missing),
            "",
            "",
            "",
            test,
            fmt.pvalue(a.p, p_style),
            trend,
            kind="group",
        )
        for lv, p in a.groups.items():
            b.add(
                "", level_label(var, lv), fmt.n_of(p), fmt.estimate_ci(p), "", "", "", kind="level"
            )
        notes[var] = ComparisonTest(statistic=None, df=None, p=a.p, note=a.note)
    definitions = "; ".join(
        f"{variable_label(v)}: {a.definition}" for v, a in tox.associations.items()
    )
    return b.table(
        "table11-toxicity-associations",
        number,
        f"Severe regional toxicity (Wieberdink {tox.severe_threshold}–V) by factor, per perfusion",
        "Unit: perfusions with a Wieberdink grade recorded. Exact (Clopper–Pearson) 95% CIs. "
        "Test: Pearson χ² without continuity correction when every expected count is at least "
        "5, otherwise Fisher's exact test (2 × k). Trend p: Cochran–Armitage test for trend "
        f"over the ordered groups (scores 1, 2, …). Groups: {definitions}." + untested_note(notes),
    )


def toxicity_model_table(
    model: LogisticModel, number: int, p_style: fmt.PStyle = "plain"
) -> ReportTable:
    """Odds ratios of the logistic model of severe regional toxicity."""
    b = _Builder(("Term", "Odds ratio (95% CI)", "p"), (False, True, True))
    for name, t in model.terms.items():
        ci = fmt.interval(*t.ci95, scale=1.0, digits=2)
        b.add(
            term_label(name, {}), f"{fmt.number(t.odds_ratio, 2)} ({ci})", fmt.pvalue(t.p, p_style)
        )
    lr = model.lr_test
    dropped = "; ".join(f"{variable_label(k)} ({v})" for k, v in model.terms_dropped.items())
    return b.table(
        "table12-toxicity-model",
        number,
        f"Logistic model of {model.outcome}, per perfusion",
        f"Unit: perfusions. {fmt.count(model.n)} perfusions with every term recorded, "
        f"{fmt.count(model.events)} events; {fmt.count(model.n_excluded)} left out for a missing "
        "value. Wald 95% CIs and p-values (R glm, binomial). Numbers are per unit (mg/L, "
        "%, °C); dose group and limb against the first level (≤ cut dose; arm). "
        + (
            f"Likelihood-ratio test of the model: χ² = {fmt.number(lr.statistic, 2)}, "
            f"{lr.df} df, {fmt.p_equals(lr.p, p_style)}."
            if lr is not None
            else ""
        )
        + (f" Terms left out: {dropped}." if dropped else ""),
        merge_label=False,
    )


CTCAE_NAMES = {
    "0": "0: none",
    "1": "1: mild",
    "2": "2: moderate",
    "3": "3: severe",
    "4": "4: life-threatening",
    "5": "5: death",
}
CLAVIEN_DINDO_NAMES = {
    "0": "0: no complication",
    "I": "I: no specific treatment",
    "II": "II: drugs, transfusion",
    "IIIa": "IIIa: intervention, no general anaesthesia",
    "IIIb": "IIIb: intervention under general anaesthesia",
    "IVa": "IVa: single-organ dysfunction",
    "IVb": "IVb: multi-organ dysfunction",
    "V": "V: death",
}


def systemic_toxicity_table(tox: Toxicity, number: int) -> ReportTable:
    """Systemic toxicity (CTCAE) and surgical complications (Clavien-Dindo), per perfusion."""
    b = _Builder(("Scale", "Grade", "n/N", "% (95% CI)"), (False, False, True, True))
    _grade_rows(b, f"Systemic toxicity (CTCAE v{tox.ctcae_version})", tox.systemic, CTCAE_NAMES)
    b.add(
        "CTCAE grade 3 or higher",
        "",
        fmt.n_of(tox.systemic_grade_3_or_more),
        fmt.estimate_ci(tox.systemic_grade_3_or_more),
        kind="total",
    )
    _grade_rows(b, "Complication (Clavien–Dindo)", tox.complications, CLAVIEN_DINDO_NAMES)
    b.add(
        "Clavien–Dindo III or higher",
        "",
        fmt.n_of(tox.complications_grade_3_or_more),
        fmt.estimate_ci(tox.complications_grade_3_or_more),
        kind="total",
    )
    return b.table(
        "table13-systemic-toxicity-complications",
        number,
        "Systemic toxicity and surgical complications, per perfusion",
        f"Unit: perfusions. Denominators: {fmt.count(tox.systemic.n)} perfusions with a CTCAE "
        f"grade ({fmt.count(tox.systemic.n_missing)} without), "
        f"{fmt.count(tox.complications.n)} with a Clavien–Dindo grade "
        f"({fmt.count(tox.complications.n_missing)} without). Exact (Clopper–Pearson) 95% CIs. "
        f"Worst grade per perfusion; NCI CTCAE v{tox.ctcae_version}; Clavien–Dindo after Dindo "
        "et al. 2004.",
    )


def tnf_dose_table(tnf: TnfDose, number: int, p_style: fmt.PStyle = "plain") -> ReportTable:
    """Response, local recurrence and severe toxicity by TNF dose group."""
    groups = list(tnf.groups)
    b = _Builder(("Outcome", *groups, "Test", "p"), (False, *([True] * len(groups)), False, True))
    b.add("Perfusions", *(fmt.count(g.n) for g in tnf.groups.values()), "", "")

    def row(label: str, values: Sequence[Proportion], test: GroupTest) -> None:
        name = _test_name(test.test) if test.p is not None or not test.note else "not tested"
        b.add(
            label,
            *(f"{fmt.n_of(p)}; {fmt.estimate_ci(p)}" for p in values),
            name,
            fmt.pvalue(test.p, p_style),
        )

    row("Overall response (CR + PR)", [g.orr for g in tnf.groups.values()], tnf.orr_test)
    row("Complete response", [g.cr for g in tnf.groups.values()], tnf.cr_test)
    lr = tnf.local_recurrence
    for y in ("2", "5"):
        b.add(
            f"Local recurrence, {y}-year CIF",
            *(
                fmt.estimate_ci(lr.groups[g].at_years.get(y)) if g in lr.groups else fmt.DASH
                for g in groups
            ),
            "Gray" if y == "2" else "",
            fmt.pvalue(lr.gray.p, p_style) if y == "2" else "",
        )
    row(
        "Severe regional toxicity (Wieberdink IV–V)",
        [g.severe_toxicity for g in tnf.groups.values()],
        tnf.severe_toxicity_test,
    )
    notes: dict[str, GroupTest | ComparisonTest] = {
        "response": tnf.orr_test,
        "complete response": tnf.cr_test,
        "local recurrence": lr.gray,
        "severe toxicity": tnf.severe_toxicity_test,
    }
    untested = [f"{k} ({t.note})" for k, t in notes.items() if t.p is None and t.note]
    return b.table(
        "table14-tnf-dose",
        number,
        "Outcomes by TNF-α dose group, per perfusion",
        f"Unit: perfusions (a patient perfused twice counts twice). Groups: TNF-α up to and "
        f"including {fmt.number(tnf.cut_mg, 1)} mg and more than that ({tnf.source}). Response "
        "among evaluable perfusions; severe toxicity among perfusions with a Wieberdink grade; "
        "n/N; % (exact 95% CI). CIF: cumulative incidence of local recurrence with death "
        "competing, % (95% CI); Gray's test. Test: Pearson χ² without continuity correction "
        "when every expected count is at least 5, otherwise Fisher's exact test."
        + (" Not tested: " + "; ".join(untested) + "." if untested else ""),
    )


def repeat_perfusion_note(results: AnalysisResults) -> str:
    """What a per-perfusion comparison means when patients had more than one perfusion."""
    c = results.cohort
    repeats = c.n_perfusions - c.n_patients
    if repeats <= 0:
        return ""
    return (
        f" {fmt.count(repeats)} of the {fmt.count(c.n_perfusions)} perfusions were repeat "
        "perfusions of a patient: perfusions of one patient are not independent, and these "
        "tests treat them as if they were (p-values may be somewhat too small); the Cox "
        "models of local recurrence use a robust variance clustered on patient."
    )


def _level_term(
    model: CoxModel | CoxModelNotEstimable | None, var: str, level: str
) -> tuple[bool, CoxTerm | None]:
    """(is the reference level, its coefficient) of one level of a one-factor Cox model: a
    yes/no factor is one term named as the factor (``no`` the reference), a categorical one
    ``NAME[LEVEL]`` against its first level."""
    if model is None or not model.terms:
        return False, None
    if var in model.terms:  # yes/no
        return level == "no", model.terms[var] if level == "yes" else None
    if model.all_reference_levels().get(var) == level:
        return True, None
    return False, model.terms.get(f"{var}[{level}]")


def landmark_recurrence_table(
    lm: LandmarkRecurrence, number: int, p_style: fmt.PStyle = "plain"
) -> ReportTable:
    """Local recurrence by the post-baseline factors from the landmark (unit: perfusion)."""
    months = f"{lm.landmark_months:g}"
    cols = (
        "Factor at the landmark",
        "Level",
        "LR / perfusions",
        "5-year CIF",
        "HR (95% CI)",
        "p",
    )
    b = _Builder(cols, (False, False, True, True, True, True))
    b.add("Perfusions at risk at the landmark", "", fmt.count(lm.n), "", "", "", kind="total")
    for var, entry in lm.by.items():
        model = lm.cox.get(var)
        b.add(
            variable_label(var) + _missing(entry.n_missing),
            "",
            "",
            "",
            "",
            fmt.pvalue(entry.gray.p, p_style),
            kind="group",
        )
        for lv, g in entry.groups.items():
            reference, term = _level_term(model, var, lv)
            b.add(
                "",
                level_label(var, lv),
                fmt.n_of(g.crude),
                fmt.estimate_ci(g.at_years.get("5")),
                "1 (reference)" if reference else fmt.hazard_ratio(term),
                fmt.pvalue(None if term is None else term.p, p_style),
                kind="level",
            )
    not_estimable = [
        f"{variable_label(v)} ({m.error})"
        for v, m in lm.cox.items()
        if isinstance(m, CoxModelNotEstimable)
    ]
    note = (
        f"Landmark analysis at {months} months after the perfusion, per perfusion: perfusions "
        f"still followed and free of local recurrence and death at the landmark "
        f"({fmt.count(lm.n)}; {fmt.count(lm.n_excluded)} left out), time measured from the "
        "landmark, each factor as known at the landmark (response as recorded; margin, "
        "necrosis and adjuvant radiotherapy only when the resection was by then, otherwise "
        "missing). Comparing outcomes by these factors from the perfusion itself would credit "
        "the time before they were known to those who reached them (guarantee-time bias). "
        "CIF: cumulative incidence of local recurrence with death competing, % (95% CI); p of a "
        "factor: Gray's test; HR: cause-specific Cox model of local recurrence (death "
        f"censored), Efron ties, variance {lm.variance}"
        + (
            f" ({fmt.count(lm.patients_with_repeat_perfusions)} patients with more than one "
            "perfusion)"
            if lm.patients_with_repeat_perfusions
            else ""
        )
        + "; p of a level: Wald test against the reference."
        + untested_note({v: e.gray for v, e in lm.by.items()}, "Gray's test not done")
    )
    if not_estimable:
        note += " Cox model not estimable: " + "; ".join(not_estimable) + "."
    if lm.not_recorded:
        note += (
            " Not analysed: "
            + "; ".join(f"{variable_label(v)} ({why})" for v, why in lm.not_recorded.items())
            + "."
        )
    return b.table(
        "table10-landmark-local-recurrence",
        number,
        f"Local recurrence by factors known after the perfusion, per perfusion: landmark "
        f"analysis at {months} months",
        note,
    )


def metastasis_table(dm: DistantMetastasis, number: int) -> ReportTable:
    """Distant metastasis, metastasis-free and sarcoma-specific survival (unit: patient)."""
    ys = list(dm.at_years)
    cols = ["Outcome", "Events / patients", *(f"{y} year{'' if y == '1' else 's'}" for y in ys)]
    b = _Builder(cols, (False, True, *([True] * len(ys))))
    b.add(
        "Distant metastasis, cumulative incidence (death competing)",
        f"{fmt.count(dm.crude.k)} / {fmt.count(dm.n)}",
        *(fmt.estimate_ci(dm.at_years.get(y)) for y in ys),
    )
    mfs = dm.metastasis_free_survival
    b.add(
        "Metastasis-free survival",
        f"{fmt.count(mfs.events)} / {fmt.count(mfs.n)}",
        *(fmt.estimate_ci(mfs.at_years.get(y)) for y in ys),
    )
    sss = dm.sarcoma_specific_survival
    note = (
        "Per patient from the first perfusion. Distant metastasis: Aalen–Johansen cumulative "
        "incidence of the first distant metastasis, death without metastasis as the competing "
        f"event ({fmt.count(dm.deaths_without_metastasis)} patients), log(−log) 95% CI. "
        "Metastasis-free survival: Kaplan–Meier, distant metastasis or death as the event, "
        "log(−log) 95% CI."
    )
    if isinstance(sss, NotRecorded):
        b.add("Sarcoma-specific survival", "not recorded", *([fmt.DASH] * len(ys)))
        note += f" Sarcoma-specific survival not estimated: {sss.not_recorded}."
    else:
        b.add(
            "Sarcoma-specific survival",
            f"{fmt.count(sss.events)} / {fmt.count(sss.n)}",
            *(fmt.estimate_ci(sss.at_years.get(y)) for y in ys),
        )
        sens = sss.sensitivity_unknown_as_sarcoma
        b.add(
            "  sensitivity: unknown cause as sarcoma death",
            f"{fmt.count(sens.events)} / {fmt.count(sens.n)}",
            *(fmt.estimate_ci(sens.at_years.get(y)) for y in ys),
        )
        note += (
            " Sarcoma-specific survival: Kaplan–Meier, death from sarcoma as the event, deaths "
            f"from other causes censored at death ({fmt.count(sss.deaths_other_cause)}); the "
            f"{fmt.count(sss.deaths_unknown_cause)} deaths of unknown or unrecorded cause are "
            "left out of the main analysis and counted as sarcoma deaths in the sensitivity "
            "analysis."
        )
    return b.table(
        "table11-distant-metastasis",
        number,
        "Distant metastasis, metastasis-free and sarcoma-specific survival, per patient",
        note,
        merge_label=False,
    )
