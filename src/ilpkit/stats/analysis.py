"""The outcome study: every statistic of ``ilp analyze`` and the report, as one results object.

:func:`analyze` takes the registry DataFrame (one row per perfusion, as loaded by
``ilpkit.adapters.db.registry_frame.load_registry_frame``) and returns an
:class:`~ilpkit.stats.results.AnalysisResults` (schema ``ilpkit.results/1``, models in
:mod:`ilpkit.stats.results`, documented in docs/results-schema.md): cohort and follow-up,
response, overall survival with Kaplan-Meier, log-rank and Cox models, local recurrence with
cumulative incidence (death competing) and Gray's test, and limb salvage. Rendering is elsewhere
(``ilpkit.cli``, ``ilpkit.reporting``).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from ilpkit.stats import cohort
from ilpkit.stats._survival_arrays import finite_or_none
from ilpkit.stats.competing_risks import cif_confidence_interval, cumulative_incidence
from ilpkit.stats.cox import CoxResult, cox_concordance, cox_zph, fit_cox
from ilpkit.stats.design import CATEGORICAL as CATEGORICAL  # re-exported
from ilpkit.stats.design import CLINICAL_ORDER as CLINICAL_ORDER  # re-exported
from ilpkit.stats.design import (
    NUMERIC,
    ORDERED,
    AnalysisError,
    Design,
    cox_design,
)
from ilpkit.stats.design import YES_NO as YES_NO  # re-exported
from ilpkit.stats.design import ordered_levels as _ordered_levels
from ilpkit.stats.fine_gray import fit_fine_gray
from ilpkit.stats.kaplan_meier import KaplanMeierResult, kaplan_meier, median_follow_up
from ilpkit.stats.landmark import LANDMARK_MONTHS_DEFAULT, POST_BASELINE, refusal_message
from ilpkit.stats.logrank import logrank_test
from ilpkit.stats.proportions import compare_groups, proportion
from ilpkit.stats.results import (
    SCHEMA,
    AmputationFreeSurvival,
    AnalysisResults,
    CauseSpecificCox,
    ChiSquaredTest,
    Cohort,
    ComparisonTest,
    CoxModel,
    CoxModelNotEstimable,
    CoxTerm,
    FineGrayModel,
    FineGrayModelNotEstimable,
    FineGrayTerm,
    IncidenceAt,
    LimbSalvage,
    LocalRecurrence,
    MedianFollowUp,
    MedianTime,
    OverallSurvival,
    Proportion,
    ProportionalHazardsTest,
    ProportionalHazardsTestError,
    RecurrenceComparison,
    RecurrenceGroup,
    Response,
    ResponseComparison,
    ResponseGroup,
    SurvivalAt,
    SurvivalComparison,
    SurvivalGroup,
    TnfDose,
    Toxicity,
    TrendTest,
)

__all__ = ["SCHEMA", "AnalysisError", "AnalysisOptions", "AnalysisResults", "analyze"]
ENDPOINTS = ("os", "lr", "response", "limb_salvage", "toxicity", "tnf_dose", "metastasis")
DEFAULT_BY: tuple[str, ...] = (
    "multifocal",
    "prior_radiotherapy",
    "presentation",
    "histology_group",
    "leiomyosarcoma",
    "grade",
    "tumor_size_group",
    "sex",
)
"""Subgroup variables analysed when none are named (the seed study's factors and the usual
prognostic ones)."""
DEFAULT_COX: tuple[str, ...] = (
    "age_years",
    "tumor_size_cm",
    "leiomyosarcoma",
    "multifocal",
    "prior_radiotherapy",
    "presentation",
)
"""Terms of the default Cox models of overall survival (univariable each, and together)."""
AT_YEARS: tuple[int, ...] = (1, 2, 5)

Ties = Literal["efron", "breslow"]

FISHER_WORK_CAP = 300_000
"""Work cap of the exact r x c Fisher enumeration in a report (about 0.05 s); larger tables get
the reproducible Monte Carlo p-value (stats.proportions.fisher_monte_carlo)."""


@dataclass(frozen=True)
class AnalysisOptions:
    """What to analyse.

    Attributes
    ----------
    endpoints : tuple of str
        Any of ``os``, ``lr``, ``response``, ``limb_salvage``, ``toxicity``, ``tnf_dose``,
        ``metastasis``.
    by : tuple of str
        Subgroup variables (registry column names, ``leiomyosarcoma``, ``tumor_size_group``).
    cox : tuple of str
        Cox model terms: numeric columns, yes/no columns (yes = 1) and categorical columns
        (dummy per level against the first level, written ``NAME[LEVEL]``).
    ties : {"efron", "breslow"}
    years : tuple of int
        Times (years) at which survival and incidence are reported.
    fine_gray : tuple of str
        Terms of a Fine-Gray model of local recurrence (death competing); empty: no model.
    landmark_months : float, optional
        Landmark for the post-baseline factors (``response``, ``resection_margin``,
        ``adjuvant_radiotherapy``, ``necrosis_group``): required to name one in ``by`` or
        ``cox`` (:mod:`ilpkit.stats.landmark`); the local-recurrence landmark analysis uses it,
        or 3 months when None.
    """

    endpoints: tuple[str, ...] = ENDPOINTS
    by: tuple[str, ...] = DEFAULT_BY
    cox: tuple[str, ...] = DEFAULT_COX
    ties: Ties = "efron"
    years: tuple[int, ...] = AT_YEARS
    extra: dict[str, Any] = field(default_factory=dict)
    fine_gray: tuple[str, ...] = ()
    landmark_months: float | None = None


_f = finite_or_none


def _prop(k: int, n: int) -> Proportion:
    """k/n with the exact 95% CI; all null for n = 0."""
    if n == 0:
        return Proportion(k=0, n=0, estimate=None, ci95=(None, None))
    result = proportion(int(k), int(n))
    return Proportion(
        k=int(result.successes),
        n=int(result.n),
        estimate=_f(result.estimate),
        ci95=(_f(result.lower), _f(result.upper)),
    )


def check_variables(
    by: Sequence[str], cox: Sequence[str], landmark_months: float | None = None
) -> None:
    """Raise :class:`AnalysisError` naming any unknown subgroup variable or Cox term, or a
    post-baseline factor (response, resection...) asked for without a landmark."""
    known_by = set(cohort.COVARIATES)
    bad = [v for v in by if v not in known_by]
    if bad:
        raise AnalysisError(
            f"unknown --by variable(s) {', '.join(bad)}; choose from {', '.join(sorted(known_by))}"
        )
    known_cox = set(cohort.COVARIATES) | set(NUMERIC)
    bad = [v for v in cox if v not in known_cox]
    if bad:
        raise AnalysisError(
            f"unknown --cox term(s) {', '.join(bad)}; choose from {', '.join(sorted(known_cox))}"
        )
    post = [v for v in dict.fromkeys([*by, *cox]) if v in POST_BASELINE]
    if post and landmark_months is None:
        raise AnalysisError(refusal_message(post))
    if landmark_months is not None and not (0 < landmark_months < 120):
        raise AnalysisError(
            f"--landmark-months must be more than 0 and less than 120, not {landmark_months:g}"
        )


@dataclass(frozen=True)
class _Split:
    """Rows with a known value of one variable, its levels in order, and each level's rows."""

    known: pd.DataFrame
    levels: list[str]
    codes: np.ndarray
    texts: list[str]

    @property
    def text(self) -> pd.Series:
        """The value of each known row as text."""
        return pd.Series(
            np.array(self.texts, dtype=object)[self.codes], index=self.known.index, dtype=object
        )

    def level_rows(self) -> list[tuple[str, pd.DataFrame]]:
        code = {t: i for i, t in enumerate(self.texts)}
        return [(lv, self.known[self.codes == code[lv]]) for lv in self.levels]


def _split(data: pd.DataFrame, var: str) -> _Split:
    codes, texts = cohort.text_codes(data[var])
    known_rows = codes >= 0
    known = data[known_rows]
    return _Split(known, _ordered_levels(texts, var), codes[known_rows], texts)


def _untested(note: str) -> ComparisonTest:
    """A comparison that cannot be made: statistic and p-value null, with the reason."""
    return ComparisonTest(statistic=None, df=None, p=None, note=note)


def _levels_note(levels: Sequence[str]) -> str | None:
    """Why a subgroup variable cannot be compared, or None when two or more levels are present."""
    if not levels:
        return "no value recorded"
    if len(levels) == 1:
        return f"only one level present ({levels[0]})"
    return None


# ------------------------------------------------------------------------------ cohort


def cohort_section(frame: pd.DataFrame, os_data: pd.DataFrame) -> Cohort:
    """Counts, accrual dates and median follow-up by reverse Kaplan-Meier (years)."""
    fu = median_follow_up(os_data["time_years"], os_data["event"], conf_type="log-log")
    return Cohort(
        n_patients=int(frame["patient_id"].nunique()),
        n_perfusions=len(frame),
        n_centers=int(frame["center"].nunique()),
        first_ilp_date=frame["ilp_date"].min().date(),
        last_ilp_date=frame["ilp_date"].max().date(),
        last_followup_date=frame["last_followup_date"].max().date(),
        median_followup_years=MedianFollowUp(
            estimate=_f(fu.median), ci95=(_f(fu.lower), _f(fu.upper)), method=fu.method
        ),
    )


# ---------------------------------------------------------------------------- response


def response_section(frame: pd.DataFrame, by: Sequence[str]) -> Response:
    """Response categories and ORR with exact CIs; ORR by subgroup with chi2 or Fisher."""
    data = cohort.response(frame)
    ev = data.evaluable
    n = len(ev)
    counts = ev["response"].value_counts()
    return Response(
        unit="perfusion",
        n_evaluable=n,
        n_not_evaluable=data.n_not_evaluable,
        n_missing=data.n_missing,
        cr=_prop(int(counts.get("CR", 0)), n),
        pr=_prop(int(counts.get("PR", 0)), n),
        nc=_prop(int(counts.get("NC", 0)), n),
        pd=_prop(int(counts.get("PD", 0)), n),
        orr=_prop(int(ev["objective"].sum()), n),
        by={var: _response_comparison(ev, var) for var in by},
    )


def _response_comparison(ev: pd.DataFrame, var: str) -> ResponseComparison:
    """ORR by the levels of ``var`` among evaluable perfusions, with chi2 or Fisher."""
    split = _split(ev, var)
    sub, levels = split.known, split.levels
    groups = {
        lv: ResponseGroup(orr=_prop(int(g["objective"].sum()), len(g)))
        for lv, g in split.level_rows()
    }
    n_missing = int(ev[var].isna().sum())
    note = "no evaluable response" if len(ev) == 0 else _levels_note(levels)
    if note is None and sub["objective"].nunique() < 2:
        note = "only one response class present"
    if note is None:
        try:
            cmp = compare_groups(
                split.text.to_numpy(),
                sub["objective"].to_numpy(),
                row_order=levels,
                col_order=[0, 1],
                max_work=FISHER_WORK_CAP,
            )
        except ValueError as exc:
            note = str(exc)
        else:
            return ResponseComparison(
                groups=groups,
                n_missing=n_missing,
                test=cmp.test,
                statistic=_f(cmp.statistic),
                df=cmp.df,
                p=_f(cmp.p_value),
                note=None,
            )
    return ResponseComparison(
        groups=groups, n_missing=n_missing, test=None, statistic=None, df=None, p=None, note=note
    )


# -------------------------------------------------------------------------- survival


def _survival_at(km: KaplanMeierResult, years: Sequence[int]) -> dict[str, SurvivalAt]:
    """Survival at each time, as R ``summary(fit, times, extend = TRUE)`` where the curve has
    reached 0 (every patient of the group has had the event, so S(t) = 0 from then on, with no
    CI), and unknown (null) after the last follow-up of a curve that has not reached 0."""
    out: dict[str, SurvivalAt] = {}
    last = float(km.time[-1]) if len(km.time) else 0.0
    reached_zero = bool(len(km.surv)) and float(km.surv[-1]) == 0.0
    for y in years:
        if y > last:
            out[str(y)] = SurvivalAt(
                estimate=0.0 if reached_zero else None, ci95=(None, None), n_at_risk=0
            )
            continue
        s = km.survival_at([float(y)])
        out[str(y)] = SurvivalAt(
            estimate=_f(s.surv[0]),
            ci95=(_f(s.lower[0]), _f(s.upper[0])),
            n_at_risk=int(s.n_risk[0]),
        )
    return out


def _median(km: KaplanMeierResult) -> MedianTime:
    med = km.median()
    return MedianTime(estimate=_f(med.time), ci95=(_f(med.lower), _f(med.upper)))


def survival_section(
    data: pd.DataFrame, by: Sequence[str], years: Sequence[int], unit: Literal["patient"]
) -> OverallSurvival:
    """Kaplan-Meier (log-log CIs) overall and by subgroup with the log-rank test (and trend);
    ``cox`` is left None (see :func:`cox_section`)."""
    km = kaplan_meier(data["time_years"], data["event"], conf_type="log-log")
    return OverallSurvival(
        unit=unit,
        n=len(data),
        events=int(data["event"].sum()),
        at_years=_survival_at(km, years),
        median_years=_median(km),
        by={var: _survival_comparison(data, var, years) for var in by},
    )


def _survival_comparison(data: pd.DataFrame, var: str, years: Sequence[int]) -> SurvivalComparison:
    """Kaplan-Meier by the levels of ``var`` with the log-rank test (and trend if ordered)."""
    split = _split(data, var)
    sub, levels = split.known, split.levels
    groups = {}
    for lv, g in split.level_rows():
        gkm = kaplan_meier(g["time_years"], g["event"], conf_type="log-log")
        groups[lv] = SurvivalGroup(
            n=len(g),
            events=int(g["event"].sum()),
            at_years=_survival_at(gkm, years),
            median_years=_median(gkm),
        )
    note = _levels_note(levels)
    if note is None and sub["event"].sum() == 0:
        note = "no deaths"
    lr = None
    if note is None:
        try:
            lr = logrank_test(
                sub["time_years"].to_numpy(),
                sub["event"].to_numpy(),
                split.text.to_numpy(),
                order=levels,
            )
        except ValueError as exc:
            note = str(exc)
    if lr is None:
        logrank = _untested(note or "not testable")
    else:
        logrank = ComparisonTest(statistic=_f(lr.chisq), df=int(lr.df), p=_f(lr.p_value), note=None)
    trend = None
    if lr is not None and var in ORDERED and len(levels) >= 3:
        scores = {lv: i + 1 for i, lv in enumerate(levels)}
        try:
            tr = lr.trend()
        except ValueError as exc:
            trend = TrendTest(statistic=None, df=None, p=None, note=str(exc), scores=scores)
        else:
            trend = TrendTest(
                statistic=_f(tr.chisq), df=int(tr.df), p=_f(tr.p_value), note=None, scores=scores
            )
    return SurvivalComparison(
        groups=groups, n_missing=int(data[var].isna().sum()), logrank=logrank, trend=trend
    )


# ------------------------------------------------------------------------------- Cox


def cox_terms(fit: CoxResult) -> dict[str, CoxTerm]:
    """Each coefficient of a Cox fit as a typed term (coef, SE, HR with CI, z, p)."""
    return {
        name: CoxTerm(
            coef=_f(fit.coef[i]),
            se=_f(fit.se[i]),
            hr=_f(fit.hazard_ratio[i]),
            ci95=(_f(fit.hr_lower[i]), _f(fit.hr_upper[i])),
            z=_f(fit.z[i]),
            p=_f(fit.p_value[i]),
        )
        for i, name in enumerate(fit.columns)
    }


def _cox_model(fit: CoxResult, design: Design, with_concordance: bool = False) -> CoxModel:
    terms = cox_terms(fit)
    ph_test: ProportionalHazardsTest | ProportionalHazardsTestError
    try:
        zph = cox_zph(fit)
        ph_test = ProportionalHazardsTest(
            transform=zph.transform,
            rows={
                r: ChiSquaredTest(
                    statistic=_f(zph.chisq[i]), df=int(zph.df[i]), p=_f(zph.p_value[i])
                )
                for i, r in enumerate(zph.rows)
            },
        )
    except (ValueError, np.linalg.LinAlgError) as exc:
        ph_test = ProportionalHazardsTestError(error=str(exc))
    model = CoxModel(
        ties=fit.ties,  # type: ignore[arg-type]
        n=int(fit.n),
        events=int(fit.n_events),
        n_excluded=design.n_excluded,
        reference_levels=design.reference,
        terms=terms,
        loglik=_f(fit.loglik),
        loglik_null=_f(fit.loglik_null),
        lr_test=ChiSquaredTest(
            statistic=_f(fit.lr_test.statistic),
            df=int(fit.lr_test.df),
            p=_f(fit.lr_test.p_value),
        ),
        converged=bool(fit.converged),
        ph_test=ph_test,
        note=None,
    )
    if with_concordance:  # setting the fields marks them set, so they are dumped
        cindex = cox_concordance(fit)
        model.concordance = _f(cindex.concordance)
        model.concordance_se = _f(cindex.se)
    return model


def _fit_cox_terms(
    data: pd.DataFrame, terms: Sequence[str], ties: Ties, with_concordance: bool = False
) -> CoxModel | CoxModelNotEstimable:
    """One Cox model of ``terms``; a model that cannot be estimated is returned with empty
    ``terms`` and ``note`` ("not estimable: " and the reason) instead of raising.
    ``with_concordance``: also Harrell's C and its SE (the multivariable model)."""
    keep = np.ones(len(data), dtype=bool)
    for t in terms:
        keep &= data[t].notna().to_numpy()
    reason: str | None = None
    if not keep.any():
        reason = "no patient has " + (
            f"{terms[0]} recorded" if len(terms) == 1 else "every term recorded"
        )
    elif int(data.loc[keep, "event"].sum()) == 0:
        reason = "no deaths"
    if reason is None:
        try:
            design = cox_design(data, terms)
            sub = data[design.keep]
            fit = fit_cox(
                design.x,
                sub["time_years"].to_numpy(),
                sub["event"].to_numpy(),
                names=design.names,
                terms=design.terms,
                ties=ties,
            )
            return _cox_model(fit, design, with_concordance)
        except (ValueError, np.linalg.LinAlgError) as exc:
            reason = str(exc)
    return CoxModelNotEstimable(
        ties=ties,
        n=int(keep.sum()),
        events=int(data.loc[keep, "event"].sum()),
        n_excluded=int((~keep).sum()),
        terms={},
        error=reason,
        note=f"not estimable: {reason}",
    )


def cox_section(
    data: pd.DataFrame, terms: Sequence[str], ties: Ties
) -> CoxModel | CoxModelNotEstimable | None:
    """Multivariable Cox model of ``terms`` plus a univariable model per term.

    A model that cannot be estimated (no deaths, a term with one level, collinear terms) has
    empty ``terms`` and a ``note`` saying why. No terms: None (an empty object in the JSON)."""
    if not terms:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = _fit_cox_terms(data, terms, ties, with_concordance=True)
        out.univariable = {t: _fit_cox_terms(data, [t], ties) for t in terms}
    return out


# --------------------------------------------------------------------- competing risks


def _cif_at(time_years: Any, status: Any, years: Sequence[int]) -> dict[str, IncidenceAt]:
    """Cumulative incidence of local recurrence (status 1; death, status 2, competing) at each
    time, as cmprsk ``timepoints`` within follow-up.

    After the last follow-up the incidence stays unknown (null) unless the group's last
    follow-up ended in an event (local recurrence or death) with no one left at risk: the
    probability of being free of both has reached 0, so the estimate can no longer change and
    keeps its final value (as S(t) = 0 of a Kaplan-Meier curve that reached 0). The log(-log)
    CI is undefined where the incidence is 0 or 1 or its variance 0 (null there).
    """
    t = np.asarray(time_years, dtype=float)
    st = np.asarray(status)
    times = np.asarray(years, dtype=float)
    max_time = float(t.max()) if t.size else 0.0
    last = t == max_time
    complete = bool(t.size) and bool((st[last] != 0).all())
    if (st == 1).any():
        curve = cumulative_incidence(t, st).curve(1)
        est, var = curve.at(times)
        if complete:
            final_est, final_var = curve.at(np.array([max_time]))
            beyond = times > max_time
            est = np.where(beyond, final_est[0], est)
            var = np.where(beyond, final_var[0], var)
    else:
        inside = (times >= 0) & ((times <= max_time) | complete)
        est = np.where(inside, 0.0, np.nan)
        var = np.where(inside, 0.0, np.nan)
    lo, hi = cif_confidence_interval(est, var)
    defined = (est > 0) & (est < 1) & (var > 0)
    return {
        str(y): IncidenceAt(
            estimate=_f(est[i]),
            variance=_f(var[i]),
            ci95=(_f(lo[i]), _f(hi[i])) if defined[i] else (None, None),
        )
        for i, y in enumerate(years)
    }


def local_recurrence_section(
    data: pd.DataFrame, by: Sequence[str], years: Sequence[int]
) -> LocalRecurrence:
    """Crude LR and cumulative incidence (death competing), by subgroup with Gray's test."""
    return LocalRecurrence(
        unit="perfusion",
        competing_risk="death",
        crude=_prop(int((data["status"] == 1).sum()), len(data)),
        deaths_without_lr=int((data["status"] == 2).sum()),
        at_years=_cif_at(data["time_years"], data["status"], years),
        by={var: _recurrence_comparison(data, var, years) for var in by},
    )


def _recurrence_comparison(
    data: pd.DataFrame, var: str, years: Sequence[int]
) -> RecurrenceComparison:
    """Local recurrence by the levels of ``var`` with Gray's test."""
    # only the columns used: filtering every covariate of a wide dataset is the slow part
    data = data[["time_years", "status", var]]
    split = _split(data, var)
    sub, levels = split.known, split.levels
    groups = {
        lv: RecurrenceGroup(
            crude=_prop(int((g["status"] == 1).sum()), len(g)),
            at_years=_cif_at(g["time_years"], g["status"], years),
        )
        for lv, g in split.level_rows()
    }
    gray_test = None
    note = _levels_note(levels)
    if note is None and not (sub["status"] == 1).any():
        note = "no local recurrence"
    if note is None:
        try:
            res = cumulative_incidence(
                sub["time_years"].to_numpy(),
                sub["status"].to_numpy(),
                split.text.to_numpy(),
            )
            gray = res.test(1)
        except (ValueError, KeyError) as exc:
            note = str(exc)
        else:
            gray_test = ComparisonTest(
                statistic=_f(gray.statistic), df=int(gray.df), p=_f(gray.p_value), note=None
            )
    return RecurrenceComparison(
        groups=groups,
        n_missing=int(data[var].isna().sum()),
        gray=gray_test if gray_test is not None else _untested(note or "not testable"),
    )


def fine_gray_section(
    data: pd.DataFrame, terms: Sequence[str], ties: Ties = "efron"
) -> FineGrayModel | FineGrayModelNotEstimable | None:
    """Fine-Gray model of local recurrence (``status`` 1; death without it, 2, competing) on
    ``terms``, with the cause-specific Cox model of the same terms (deaths censored).

    A model that cannot be estimated has empty ``terms`` and a ``note`` saying why; no terms:
    None."""
    if not terms:
        return None
    keep = np.ones(len(data), dtype=bool)
    for t in terms:
        keep &= data[t].notna().to_numpy()
    status = data["status"].to_numpy()
    n_events = int((status[keep] == 1).sum())
    n_competing = int((status[keep] == 2).sum())
    reason: str | None = None
    if not keep.any():
        reason = "no perfusion has " + (
            f"{terms[0]} recorded" if len(terms) == 1 else "every term recorded"
        )
    elif n_events == 0:
        reason = "no local recurrence"
    if reason is None:
        try:
            design = cox_design(data, terms)
            sub = data[design.keep]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fit = fit_fine_gray(
                    design.x,
                    sub["time_years"].to_numpy(),
                    sub["status"].to_numpy(),
                    names=design.names,
                )
            if not np.all(np.isfinite(fit.se)):
                raise ValueError("the variance is not finite (a term may not vary)")
        except (ValueError, np.linalg.LinAlgError, AnalysisError) as exc:
            reason = str(exc)
        else:
            return FineGrayModel(
                n=fit.n,
                events=fit.n_events,
                competing_events=fit.n_competing,
                n_excluded=design.n_excluded,
                reference_levels=design.reference,
                terms={
                    name: FineGrayTerm(
                        coef=_f(fit.coef[i]),
                        se=_f(fit.se[i]),
                        sdhr=_f(fit.sdhr[i]),
                        ci95=(_f(fit.sdhr_lower[i]), _f(fit.sdhr_upper[i])),
                        z=_f(fit.z[i]),
                        p=_f(fit.p_value[i]),
                    )
                    for i, name in enumerate(fit.columns)
                },
                loglik=_f(fit.loglik),
                loglik_null=_f(fit.loglik_null),
                converged=bool(fit.converged),
                cause_specific=_cause_specific(design, sub, ties),
                note=None,
            )
    return FineGrayModelNotEstimable(
        n=int(keep.sum()),
        events=n_events,
        competing_events=n_competing,
        n_excluded=int((~keep).sum()),
        terms={},
        error=reason,
        note=f"not estimable: {reason}",
    )


def _cause_specific(design: Design, sub: pd.DataFrame, ties: Ties) -> CauseSpecificCox | None:
    """Cause-specific Cox model of local recurrence (deaths censored); None if not estimable."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = fit_cox(
                design.x,
                sub["time_years"].to_numpy(),
                (sub["status"] == 1).to_numpy(),
                names=design.names,
                ties=ties,
            )
    except (ValueError, np.linalg.LinAlgError):
        return None
    return CauseSpecificCox(
        ties=ties,
        terms=cox_terms(fit),
    )


# ------------------------------------------------------------------------ limb salvage


def limb_salvage_section(frame: pd.DataFrame, years: Sequence[int]) -> LimbSalvage:
    """Limb salvage per perfusion and per patient (exact CIs), and amputation-free survival."""
    afs = cohort.amputation_free_survival(frame)
    per_patient = cohort.limb_salvage_per_patient(frame)
    km = kaplan_meier(afs["time_years"], afs["event"], conf_type="log-log")
    return LimbSalvage(
        per_perfusion=_prop(int(afs["limb_salvaged"].sum()), len(afs)),
        per_patient=_prop(int(per_patient["limb_salvaged"].sum()), len(per_patient)),
        amputation_free_survival=AmputationFreeSurvival(
            unit="perfusion",
            n=len(afs),
            events=int(afs["event"].sum()),
            at_years=_survival_at(km, years),
        ),
    )


# ----------------------------------------------------------------------------- whole


def _baseline(variables: Sequence[str]) -> tuple[str, ...]:
    """The variables known at the perfusion (post-baseline ones go to landmark analyses)."""
    return tuple(v for v in variables if v not in POST_BASELINE)


def _overall_survival(
    frame: pd.DataFrame, os_data: pd.DataFrame, opts: AnalysisOptions
) -> OverallSurvival:
    from ilpkit.stats.landmark_sections import landmark_survival_section

    section = survival_section(os_data, _baseline(opts.by), opts.years, unit="patient")
    post_cox = any(t in POST_BASELINE for t in opts.cox)
    section.cox = cox_section(os_data, () if post_cox else opts.cox, opts.ties)
    if opts.landmark_months is not None and (post_cox or len(_baseline(opts.by)) < len(opts.by)):
        section.landmark = landmark_survival_section(
            frame, opts.by, opts.cox, opts.years, opts.landmark_months, opts.ties
        )
    return section


def _local_recurrence(frame: pd.DataFrame, opts: AnalysisOptions) -> LocalRecurrence:
    from ilpkit.stats.landmark_sections import landmark_recurrence_section

    data = cohort.local_recurrence(frame)
    section = local_recurrence_section(data, _baseline(opts.by), opts.years)
    if opts.fine_gray:
        section.fine_gray = fine_gray_section(data, opts.fine_gray, opts.ties)
    months = opts.landmark_months or LANDMARK_MONTHS_DEFAULT
    section.landmark = landmark_recurrence_section(frame, opts.years, months, opts.ties)
    return section


def analyze(
    frame: pd.DataFrame, options: AnalysisOptions | None = None, *, synthetic: bool = False
) -> AnalysisResults:
    """Run the outcome study on a registry frame (schema ``ilpkit.results/1``).

    Parameters
    ----------
    frame : DataFrame
        One row per perfusion with the Registry CSV v1 columns (dates as datetime64).
    options : AnalysisOptions, optional
        Endpoints, subgroup variables, Cox terms and ties; defaults analyse everything.
    synthetic : bool
        The registry is SYNTHETIC (made by ``ilp synth``): copied to ``results.synthetic``.

    Returns
    -------
    AnalysisResults
        ``model_dump(mode="json")`` is the JSON of ``ilp analyze --json`` and ``results.json``.

    Raises
    ------
    AnalysisError
        For an empty registry or unknown variables.
    """
    opts = options or AnalysisOptions()
    if len(frame) == 0:
        raise AnalysisError("the registry holds no perfusions; import some first")
    bad = [e for e in opts.endpoints if e not in ENDPOINTS]
    if bad:
        raise AnalysisError(
            f"unknown endpoint(s) {', '.join(bad)}; choose from {', '.join(ENDPOINTS)}"
        )
    check_variables(opts.by, opts.cox, opts.landmark_months)
    bad_fg = [v for v in opts.fine_gray if v not in set(cohort.COVARIATES) | set(NUMERIC)]
    if bad_fg:
        known = sorted(set(cohort.COVARIATES) | set(NUMERIC))
        raise AnalysisError(
            f"unknown --fine-gray term(s) {', '.join(bad_fg)}; choose from {', '.join(known)}"
        )
    post_fg = [v for v in opts.fine_gray if v in POST_BASELINE]
    if post_fg:
        raise AnalysisError(
            f"--fine-gray {', '.join(post_fg)}: known only after the perfusion, so it cannot be "
            "a baseline term of a model timed from the perfusion (guarantee-time bias); "
            "local recurrence by these factors is in the landmark analysis "
            "(local_recurrence.landmark)"
        )
    from ilpkit.stats.metastasis import distant_metastasis_section

    # Every section shares one preparation of the covariates and first perfusions.
    with cohort.shared_preparation():
        os_data = cohort.overall_survival(frame)
        endpoints = opts.endpoints
        baseline_by = _baseline(opts.by)
        return AnalysisResults(
            schema=SCHEMA,
            synthetic=bool(synthetic),
            cohort=cohort_section(frame, os_data),
            response=response_section(frame, baseline_by) if "response" in endpoints else None,
            overall_survival=_overall_survival(frame, os_data, opts) if "os" in endpoints else None,
            local_recurrence=_local_recurrence(frame, opts) if "lr" in endpoints else None,
            limb_salvage=limb_salvage_section(frame, opts.years)
            if "limb_salvage" in endpoints
            else None,
            toxicity=_toxicity(frame, opts) if "toxicity" in endpoints else None,
            tnf_dose=_tnf_dose(frame, opts) if "tnf_dose" in endpoints else None,
            distant_metastasis=distant_metastasis_section(frame, opts.years)
            if "metastasis" in endpoints
            else None,
        )


def _tnf_cut_mg(opts: AnalysisOptions) -> float:
    """The TNF dose cut (``extra["tnf_dose_cut_mg"]``, default 2 mg: 1-2 mg vs 3-4 mg)."""
    return float(opts.extra.get("tnf_dose_cut_mg", cohort.TNF_DOSE_CUT_MG))


def _toxicity(frame: pd.DataFrame, opts: AnalysisOptions) -> Toxicity:
    from ilpkit.stats.toxicity import toxicity_section

    return toxicity_section(frame, _tnf_cut_mg(opts))


def _tnf_dose(frame: pd.DataFrame, opts: AnalysisOptions) -> TnfDose:
    from ilpkit.stats.tnf_dose import tnf_dose_section

    return tnf_dose_section(frame, tuple(opts.years), _tnf_cut_mg(opts))
