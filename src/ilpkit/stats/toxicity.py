"""Toxicity of the perfusion: regional (Wieberdink), systemic (CTCAE) and surgical complications
(Clavien-Dindo), per perfusion.

:func:`toxicity_section` gives the Wieberdink grade distribution with exact (Clopper-Pearson) 95%
intervals, the rate of severe regional toxicity (grade IV or V), its association with the TNF dose
group, melphalan per litre of limb volume, leakage, tissue temperature and limb (Pearson's
chi-squared or Fisher's exact test of the 2 x k table; Cochran-Armitage test for trend over
ordered groups) and a logistic model of severe toxicity fitted only where the data allow (at
least :data:`MIN_EVENTS_PER_TERM` events and non-events per term). Systemic toxicity and
complications are described. Every grouping and threshold carries its source here and in
docs/methods.md; what cannot be estimated is null with the reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ilpkit.domain.toxicity import CTCAE_VERSION, ClavienDindo
from ilpkit.stats import cohort
from ilpkit.stats._survival_arrays import finite_or_none
from ilpkit.stats.logistic import fit_logistic
from ilpkit.stats.proportions import compare_groups, proportion
from ilpkit.stats.results import (
    ChiSquaredTest,
    ComparisonTest,
    GradeDistribution,
    GroupTest,
    LogisticModel,
    LogisticTerm,
    Proportion,
    Toxicity,
    ToxicityAssociation,
)
from ilpkit.stats.trend import prop_trend_test

_f = finite_or_none

WIEBERDINK_LABELS: tuple[str, ...] = ("I", "II", "III", "IV", "V")
"""Wieberdink grades 1-5 as written in reports (Wieberdink 1982)."""
SEVERE_WIEBERDINK_GRADE = 4
"""Lowest Wieberdink grade counted as severe regional toxicity: IV, 'extensive epidermolysis or
obvious damage to deep tissues, definite functional disturbance, threatening or manifest
compartment syndrome', and V, 'reaction that may necessitate amputation' (Wieberdink 1982). The
choice of IV-V as the severe end point is an inference (clinical-protocol notes, section 6)."""
CTCAE_GRADES: tuple[str, ...] = ("0", "1", "2", "3", "4", "5")
CLAVIEN_DINDO_GRADES: tuple[str, ...] = tuple(g.value for g in ClavienDindo)
MIN_EVENTS_PER_TERM = 10
"""Events (and non-events) needed per term of the logistic model: Peduzzi et al., J Clin
Epidemiol 1996;49:1373-9 (fewer than 10 events per variable bias the coefficients)."""
FISHER_WORK_CAP = 300_000
"""As :data:`ilpkit.stats.analysis.FISHER_WORK_CAP` (larger tables: Monte Carlo p-value)."""

TNF_DOSE_CUT_MG = cohort.TNF_DOSE_CUT_MG
"""Default TNF dose groups: up to and including 2 mg against more than 2 mg, i.e. 1-2 mg against
3-4 mg, the Rotterdam comparison (Deroose, Eur J Cancer 2015;51:367: response 69% vs 70%, local
toxicity 14% vs 23%)."""
TNF_DOSE_SOURCE = (
    "Deroose 2015 (Rotterdam, 3-4 mg 1991-2003 vs 1-2 mg 2003-2012); SmPC label doses 3 mg arm, "
    "4 mg leg"
)


@dataclass(frozen=True, slots=True)
class Grouping:
    """An ordered grouping of a numeric variable: ``(label, above, up to)`` per group, the groups
    adjoining in order.

    A value ``v`` belongs to the group with ``above < v <= up_to`` (``left_closed`` groups take
    ``above <= v < up_to`` instead). ``upper_closed``, when given, says for each group whether it
    includes its upper bound (and so the next group excludes it), for groupings closed on
    different sides (``< 39``, ``39-40``, ``> 40``).
    """

    variable: str
    groups: tuple[tuple[str, float, float], ...]
    source: str
    left_closed: bool = False
    upper_closed: tuple[bool, ...] | None = None

    def _upper_closed(self) -> tuple[bool, ...]:
        if self.upper_closed is not None:
            return self.upper_closed
        return (not self.left_closed,) * len(self.groups)

    def codes(self, values: pd.Series) -> np.ndarray:
        """Position of each value's group in ``groups``; -1 for a missing value (or one in no
        group)."""
        x = values.to_numpy(dtype=float)
        out = np.full(len(x), -1, dtype=np.intp)
        closed = self._upper_closed()
        for i, (_, low, high) in enumerate(self.groups):
            low_closed = not closed[i - 1] if i > 0 else not closed[0]
            above = (x >= low) if low_closed else (x > low)
            below = (x <= high) if closed[i] else (x < high)
            out[above & below] = i
        return out

    def assign(self, values: pd.Series) -> pd.Series:
        """Label of each value's group; None for a missing value."""
        labels = np.array([*(label for label, _, _ in self.groups), None], dtype=object)
        return pd.Series(labels[self.codes(values)], index=values.index, dtype=object)

    def describe(self) -> str:
        return f"{', '.join(label for label, _, _ in self.groups)} ({self.source})"


def tnf_dose_grouping(cut_mg: float = TNF_DOSE_CUT_MG) -> Grouping:
    """TNF dose groups: ``<=cut mg`` and ``>cut mg``."""
    return Grouping(
        "tnf_mg",
        ((f"<={cut_mg:g} mg", -np.inf, cut_mg), (f">{cut_mg:g} mg", cut_mg, np.inf)),
        TNF_DOSE_SOURCE,
    )


MELPHALAN_GROUPING = Grouping(
    "melphalan_mg_per_l",
    (("<=10 mg/L", -np.inf, 10.0), (">10-13 mg/L", 10.0, 13.0), (">13 mg/L", 13.0, np.inf)),
    "cut at the label doses, 10 mg/L leg and 13 mg/L arm (SmPC; Wieberdink 1982)",
)
"""Melphalan per litre of perfused limb volume (melphalan_mg / limb_volume_l)."""
LEAKAGE_GROUPING = Grouping(
    "max_leakage_pct",
    (("<2%", -np.inf, 2.0), ("2-<10%", 2.0, 10.0), (">=10%", 10.0, np.inf)),
    "2%: early-warning level, more than 18 times the systemic TNF exposure (inference from the "
    "Groningen series); 10%: the perfusion is stopped (SmPC)",
    left_closed=True,
)
"""Peak cumulative leakage, % of the circuit dose."""
TEMPERATURE_GROUPING = Grouping(
    "max_tissue_temp_c",
    (("<39 °C", -np.inf, 39.0), ("39-40 °C", 39.0, 40.0), (">40 °C", 40.0, np.inf)),
    "tissue 39-40 °C during melphalan was linked to more limb toxicity (Vrouenraets 2001; "
    "Deroose 2012); above 40 °C beyond mild hyperthermia",
    upper_closed=(False, True, True),
)
"""Highest tissue temperature; a value of exactly 40 °C is in the 39-40 °C group."""

DEFAULT_MODEL_TERMS: tuple[str, ...] = (
    "tnf_dose_group",
    "melphalan_mg_per_l",
    "max_leakage_pct",
    "max_tissue_temp_c",
    "limb",
)
"""Terms of the logistic model of severe regional toxicity (numbers per unit)."""


def _prop(k: int, n: int) -> Proportion:
    if n == 0:
        return Proportion(k=0, n=0, estimate=None, ci95=(None, None))
    r = proportion(int(k), int(n))
    return Proportion(
        k=int(r.successes), n=int(r.n), estimate=_f(r.estimate), ci95=(_f(r.lower), _f(r.upper))
    )


def level_codes(values: pd.Series, levels: Sequence[str]) -> np.ndarray:
    """Position in ``levels`` of each value's text (``str(value)``): -1 where the value is
    missing, ``len(levels)`` for a text that is not one of the levels.

    Counting and testing by these integer codes replaces converting and comparing text once
    per level, most of the section's time on a large registry (docs/performance.md).
    """
    codes, texts = cohort.text_codes(values)
    wanted = list(levels)
    lookup = [wanted.index(t) if t in wanted else len(wanted) for t in texts]
    return np.array([*lookup, -1], dtype=np.intp)[codes]


def _distribution_of(codes: np.ndarray, labels: Sequence[str]) -> GradeDistribution:
    """Grade distribution from :func:`level_codes`-style codes (-1 missing)."""
    known = codes >= 0
    n = int(known.sum())
    counts = np.bincount(codes[known], minlength=len(labels) + 1)
    return GradeDistribution(
        n=n,
        n_missing=int((~known).sum()),
        grades={g: _prop(int(counts[i]), n) for i, g in enumerate(labels)},
    )


def _at_least_of(codes: np.ndarray, labels: Sequence[str], lowest: str) -> Proportion:
    high = (codes >= list(labels).index(lowest)) & (codes < len(labels))
    return _prop(int(high.sum()), int((codes >= 0).sum()))


def _grade_codes(grades: np.ndarray, lowest: int, n_levels: int) -> np.ndarray:
    """Codes of whole-number grades counted from ``lowest``: -1 missing (NaN), ``n_levels``
    for a grade outside the scale."""
    known = ~np.isnan(grades)
    position = np.where(known, grades, lowest) - lowest
    inside = known & (position >= 0) & (position < n_levels) & (position == np.floor(position))
    return np.where(inside, position, np.where(known, n_levels, -1)).astype(np.intp)


SECTION_COVARIATES: tuple[str, ...] = (
    "limb",
    "response",
    "tnf_mg",
    "melphalan_mg_per_l",
    "max_leakage_pct",
    "max_tissue_temp_c",
    "wieberdink_grade",
    "systemic_toxicity_grade",
    "complication_clavien_dindo",
)
"""The covariates the toxicity and TNF-dose sections read (:func:`toxicity_data`)."""


def toxicity_data(
    frame: pd.DataFrame,
    cut_mg: float = TNF_DOSE_CUT_MG,
    covariates: Sequence[str] = cohort.COVARIATE_COLUMNS,
) -> pd.DataFrame:
    """Per-perfusion covariates with ``tnf_dose_group`` (at ``cut_mg``), the grouped
    melphalan, leakage and temperature (``*_group``), ``wieberdink`` (I-V text) and ``severe``
    (1 for grade IV-V, 0 below, NaN when no grade is recorded).

    ``covariates`` limits the covariates carried (default all; they must include ``tnf_mg``,
    the grouped variables and ``wieberdink_grade``)."""
    data = cohort.covariates(frame, covariates, renumber=True)
    data["tnf_dose_group"] = tnf_dose_grouping(cut_mg).assign(data["tnf_mg"])
    for grouping in (MELPHALAN_GROUPING, LEAKAGE_GROUPING, TEMPERATURE_GROUPING):
        data[f"{grouping.variable}_group"] = grouping.assign(data[grouping.variable])
    grade = data["wieberdink_grade"].to_numpy(dtype=float)
    recorded = ~np.isnan(grade)
    labels = np.full(len(grade), None, dtype=object)
    labels[recorded] = np.array(WIEBERDINK_LABELS, dtype=object)[grade[recorded].astype(int) - 1]
    data["wieberdink"] = labels
    data["severe"] = np.where(recorded, (grade >= SEVERE_WIEBERDINK_GRADE).astype(float), np.nan)
    return data


def group_test(labels: pd.Series, outcome: pd.Series, levels: Sequence[str]) -> GroupTest:
    """Chi-squared (every expected count >= 5) or Fisher test of a binary outcome by group."""
    return _group_test(level_codes(labels, levels), cohort.float_values(outcome), levels)


def _group_test(codes: np.ndarray, outcome: np.ndarray, levels: Sequence[str]) -> GroupTest:
    """:func:`group_test` from the :func:`level_codes` of the groups and the outcome (0/1,
    NaN when unknown)."""
    keep = (codes >= 0) & ~np.isnan(outcome)
    c = codes[keep]
    y = outcome[keep].astype(int)
    if ((c == len(levels)) | ((y != 0) & (y != 1))).any():
        raise ValueError("group_test needs groups among the levels and an outcome of 0 or 1")
    table = np.bincount(c * 2 + y, minlength=2 * len(levels)).reshape(len(levels), 2)
    present = [lv for i, lv in enumerate(levels) if table[i].sum() > 0]
    note = None
    if len(c) == 0:
        note = "no record with both values"
    elif len(present) < 2:
        note = f"only one level present ({present[0]})"
    elif table[:, 1].sum() == 0:
        note = "no event in any group"
    elif table[:, 0].sum() == 0:
        note = "every record had the event"
    if note is not None:
        return GroupTest(test=None, statistic=None, df=None, p=None, note=note)
    rows = [list(levels).index(lv) for lv in present]
    cmp = compare_groups(
        pd.DataFrame(table[rows], index=present, columns=[0, 1]), max_work=FISHER_WORK_CAP
    )
    return GroupTest(
        test=cmp.test, statistic=_f(cmp.statistic), df=cmp.df, p=_f(cmp.p_value), note=None
    )


def _association(
    data: pd.DataFrame,
    column: str,
    levels: Sequence[str],
    ordered: bool,
    definition: str,
    codes_of_rows: np.ndarray | None = None,
) -> ToxicityAssociation:
    """Severe toxicity by the levels of ``column`` (its :func:`level_codes`, when known, in
    ``codes_of_rows``)."""
    severe_all = data["severe"].to_numpy(dtype=float)
    graded = ~np.isnan(severe_all)
    if codes_of_rows is None:
        codes_of_rows = level_codes(data[column], levels)
    codes = codes_of_rows[graded]
    severe = severe_all[graded]
    groups = {}
    for i, lv in enumerate(levels):
        rows = codes == i
        groups[lv] = _prop(int(severe[rows].sum()), int(rows.sum()))
    if not graded.any():
        test = GroupTest(
            test=None, statistic=None, df=None, p=None, note="no Wieberdink grade recorded"
        )
    else:
        test = _group_test(codes, severe, levels)
    trend = None
    if ordered:
        present = [lv for lv in levels if groups[lv].n > 0]
        if test.note is not None:
            trend = ComparisonTest(statistic=None, df=None, p=None, note=test.note)
        else:
            res = prop_trend_test(
                [groups[lv].k for lv in present],
                [groups[lv].n for lv in present],
                [float(levels.index(lv) + 1) for lv in present],
            )
            trend = ComparisonTest(
                statistic=_f(res.statistic),
                df=1 if res.testable else None,
                p=_f(res.p_value),
                note=res.reason,
            )
    return ToxicityAssociation(
        ordered=ordered,
        definition=definition,
        groups=groups,
        n_missing=int((codes < 0).sum()),
        test=test.test,
        statistic=test.statistic,
        df=test.df,
        p=test.p,
        note=test.note,
        trend=trend,
    )


def associations(data: pd.DataFrame, cut_mg: float) -> dict[str, ToxicityAssociation]:
    """Severe regional toxicity by each candidate factor (see the module docstring)."""
    out = {}
    for grouping in (tnf_dose_grouping(cut_mg), MELPHALAN_GROUPING, LEAKAGE_GROUPING,
                     TEMPERATURE_GROUPING):  # fmt: skip
        name = "tnf_dose_group" if grouping.variable == "tnf_mg" else f"{grouping.variable}_group"
        out[name] = _association(
            data,
            name,
            [g for g, _, _ in grouping.groups],
            True,
            grouping.describe(),
            grouping.codes(data[grouping.variable]),  # the groups of the column, as codes
        )
    out["limb"] = _association(data, "limb", ["arm", "leg"], False, "arm, leg")
    return out


def _term(coef: float, se: float, z: float, p: float, lo: float, hi: float) -> LogisticTerm:
    return LogisticTerm(
        coef=_f(coef),
        se=_f(se),
        odds_ratio=_f(np.exp(coef)),
        ci95=(_f(np.exp(lo)), _f(np.exp(hi))),
        z=_f(z),
        p=_f(p),
    )


def _design_column(
    data: pd.DataFrame, term: str, levels: Mapping[str, Sequence[str]]
) -> tuple[str, np.ndarray] | str:
    """(column name, values) of one model term, or the reason it is left out."""
    values = data[term]
    if term in levels:  # two-level categorical: the second level against the first
        wanted = list(levels[term])
        codes = level_codes(values, wanted)
        counts = np.bincount(codes[codes >= 0], minlength=len(wanted) + 1)
        order = [lv for i, lv in enumerate(wanted) if counts[i] > 0]
        if len(order) < 2:
            return f"only one level present ({order[0]})" if order else "no value recorded"
        if len(order) > 2:
            return "more than two levels"
        return f"{term}[{order[1]}]", (codes == wanted.index(order[1])).astype(float)
    x = values.to_numpy(dtype=float)
    if np.nanmin(x) == np.nanmax(x):
        return f"the same value in every perfusion ({np.nanmin(x):g})"
    return term, x


def logistic_model(
    data: pd.DataFrame, terms: Sequence[str] = DEFAULT_MODEL_TERMS, cut_mg: float = TNF_DOSE_CUT_MG
) -> LogisticModel:
    """Logistic model of severe regional toxicity, estimated where the data allow."""
    outcome = f"Wieberdink grade {WIEBERDINK_LABELS[SEVERE_WIEBERDINK_GRADE - 1]} or higher"
    severe = data["severe"].to_numpy(dtype=float)
    graded = ~np.isnan(severe)
    rows = graded.copy()  # graded, with every term recorded
    for t in terms:
        rows &= data[t].notna().to_numpy()
    sub = data.loc[rows, list(terms)]  # one copy of the columns the model uses
    n_excluded = int(graded.sum() - rows.sum())
    levels = {
        "tnf_dose_group": [g for g, _, _ in tnf_dose_grouping(cut_mg).groups],
        "limb": ["arm", "leg"],
    }
    y = severe[rows]
    events = int(y.sum())

    def empty(reason: str, dropped: dict[str, str]) -> LogisticModel:
        return LogisticModel(
            outcome=outcome,
            terms_requested=list(terms),
            terms_dropped=dropped,
            n=len(sub),
            events=events,
            n_excluded=n_excluded,
            min_events_per_term=MIN_EVENTS_PER_TERM,
            intercept=None,
            terms={},
            deviance=None,
            null_deviance=None,
            aic=None,
            lr_test=None,
            note=f"not estimable: {reason}",
        )

    if not graded.any():
        return empty("no Wieberdink grade recorded", {})
    if len(sub) == 0:
        return empty("no perfusion has every term recorded", {})
    dropped: dict[str, str] = {}
    names: list[str] = []
    columns: list[np.ndarray] = []
    for t in terms:
        col = _design_column(sub, t, levels)
        if isinstance(col, str):
            dropped[t] = col
        else:
            names.append(col[0])
            columns.append(col[1])
    if not names:
        return empty("no term varies between perfusions", dropped)
    limiting = min(events, len(sub) - events)
    if limiting < MIN_EVENTS_PER_TERM * len(names):
        which = "events" if events <= len(sub) - events else "non-events"
        return empty(
            f"{limiting} {which} for {len(names)} term(s): fewer than {MIN_EVENTS_PER_TERM} per "
            "term (Peduzzi 1996)",
            dropped,
        )
    fit = fit_logistic(np.column_stack(columns), y, names)
    if not fit.estimable:
        return empty(fit.reason or "the model could not be fitted", dropped)
    parts = [
        _term(fit.coef[i], fit.se[i], fit.z[i], fit.p[i], fit.lower[i], fit.upper[i])
        for i in range(len(fit.names))
    ]
    return LogisticModel(
        outcome=outcome,
        terms_requested=list(terms),
        terms_dropped=dropped,
        n=fit.n,
        events=fit.events,
        n_excluded=n_excluded,
        min_events_per_term=MIN_EVENTS_PER_TERM,
        intercept=parts[0],
        terms=dict(zip(names, parts[1:], strict=True)),
        deviance=_f(fit.deviance),
        null_deviance=_f(fit.null_deviance),
        aic=_f(fit.aic),
        lr_test=ChiSquaredTest(statistic=_f(fit.lr_statistic), df=fit.lr_df, p=_f(fit.lr_p)),
        note=None,
    )


def toxicity_section(frame: pd.DataFrame, cut_mg: float = TNF_DOSE_CUT_MG) -> Toxicity:
    """Regional toxicity with its associations and model; systemic toxicity and complications.

    Parameters
    ----------
    frame : DataFrame
        The registry frame, one row per perfusion.
    cut_mg : float
        TNF doses up to and including this form the low-dose group.
    """
    data = toxicity_data(frame, cut_mg, SECTION_COVARIATES)
    wieberdink = _grade_codes(data["wieberdink_grade"].to_numpy(dtype=float), 1, 5)
    systemic = _grade_codes(
        data["systemic_toxicity_grade"].to_numpy(dtype=float), 0, len(CTCAE_GRADES)
    )
    complications = level_codes(data["complication_clavien_dindo"], CLAVIEN_DINDO_GRADES)
    graded = data["severe"].dropna()
    return Toxicity(
        unit="perfusion",
        wieberdink=_distribution_of(wieberdink, WIEBERDINK_LABELS),
        severe_threshold=WIEBERDINK_LABELS[SEVERE_WIEBERDINK_GRADE - 1],
        severe=_prop(int(graded.sum()), len(graded)),
        associations=associations(data, cut_mg),
        model=logistic_model(data, DEFAULT_MODEL_TERMS, cut_mg),
        ctcae_version=CTCAE_VERSION,
        systemic=_distribution_of(systemic, CTCAE_GRADES),
        systemic_grade_3_or_more=_at_least_of(systemic, CTCAE_GRADES, "3"),
        complications=_distribution_of(complications, CLAVIEN_DINDO_GRADES),
        complications_grade_3_or_more=_at_least_of(complications, CLAVIEN_DINDO_GRADES, "IIIa"),
    )
