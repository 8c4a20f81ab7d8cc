"""The prognostic calculator behind ``ilp predict``: survival and local recurrence for one patient.

From the registry (one row per perfusion), two models of the same terms are fitted on the rows
with every term recorded:

* overall survival per patient (from the first perfusion; :func:`ilpkit.stats.cohort.
  overall_survival`): a Cox model with Efron ties, and the survival predicted for the given
  covariates with its log-type 95% interval, equal to R ``summary(survfit(coxph(...),
  newdata), times = c(1, 2, 5) * 365.25)`` (:mod:`ilpkit.stats.cox_prediction`);
* local recurrence per perfusion (from the perfusion; death without local recurrence
  competing): a Fine-Gray model and the cumulative incidence predicted as R ``predict.crr``
  (the step value at or before each time; :mod:`ilpkit.stats.fine_gray`).

The calculator never extrapolates: a numeric value outside the range seen in the model's data,
or a level not seen there, is refused with the range or levels seen. Predictions after the
registry's last follow-up are null. Harrell's C of the Cox model (R ``concordance(coxph)``) and
the apparent calibration of 5-year survival (:func:`calibration`) are in-sample: they describe
how the model fits the registry it was fitted on, not how it would do on new patients.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ilpkit.errors import IlpkitError
from ilpkit.stats import cohort
from ilpkit.stats._survival_arrays import finite_or_none as _f
from ilpkit.stats.cox import CoxResult, cox_concordance, fit_cox
from ilpkit.stats.cox_prediction import predict_cox_survival
from ilpkit.stats.design import YES_NO, Design, cox_design
from ilpkit.stats.fine_gray import fit_fine_gray
from ilpkit.stats.kaplan_meier import kaplan_meier
from ilpkit.stats.prediction_results import (
    PREDICTION_SCHEMA,
    Calibration,
    CalibrationGroup,
    CovariateSeen,
    PredictedIncidenceAt,
    PredictedLocalRecurrence,
    PredictedOverallSurvival,
    PredictedSurvivalAt,
    PredictionModel,
    Prognosis,
)

__all__ = [
    "DEFAULT_TERMS",
    "INPUTS",
    "PredictionError",
    "calibration",
    "predict",
]

AT_YEARS: tuple[int, ...] = (1, 2, 5)

INPUTS: dict[str, str] = {
    "age_years": "--age",
    "tumor_size_cm": "--size-cm",
    "histology": "--histology",
    "multifocal": "--multifocal",
    "prior_radiotherapy": "--prior-radiotherapy",
    "presentation": "--presentation",
    "grade": "--grade",
    "sex": "--sex",
    "limb": "--limb",
}
"""Inputs of the calculator (pre-treatment facts about the patient and tumour) and the
``ilp predict`` option that gives each."""

TERM_INPUT: dict[str, str] = {
    "age_years": "age_years",
    "tumor_size_cm": "tumor_size_cm",
    "leiomyosarcoma": "histology",
    "histology": "histology",
    "multifocal": "multifocal",
    "prior_radiotherapy": "prior_radiotherapy",
    "presentation": "presentation",
    "grade": "grade",
    "sex": "sex",
    "limb": "limb",
}
"""Model terms the calculator accepts and the input each is computed from (``leiomyosarcoma``
is yes when the histology is leiomyosarcoma)."""

DEFAULT_TERMS: tuple[str, ...] = (
    "age_years",
    "tumor_size_cm",
    "leiomyosarcoma",
    "multifocal",
    "prior_radiotherapy",
)
"""The seed study's prognostic factors held by the registry (Deroose 2011: tumour size and
leiomyosarcoma histology for survival; multifocal tumours and previous radiotherapy for local
recurrence), with age at the perfusion."""

NUMERIC_INPUTS = ("age_years", "tumor_size_cm")
UNITS = {"age_years": "years", "tumor_size_cm": "cm"}
MIN_QUINTILE_EVENTS = 50
"""Quintiles of predicted risk need at least 50 deaths (10 per group on average); below that,
tertiles."""
MIN_CALIBRATION_EVENTS = 6
CALIBRATION_YEARS = 5


class PredictionError(IlpkitError, ValueError):
    """The prediction cannot be made as asked (missing or out-of-range value, unknown term)."""


@dataclass(frozen=True)
class _Fitted:
    """A model's data, design and fit (or why it could not be fitted)."""

    data: pd.DataFrame
    design: Design | None
    note: str | None


def check_terms(terms: Sequence[str]) -> tuple[str, ...]:
    """The terms, or :class:`PredictionError` naming an unknown or repeated one."""
    out = tuple(t.strip() for t in terms if t.strip())
    if not out:
        raise PredictionError("--terms names no term")
    bad = [t for t in out if t not in TERM_INPUT]
    if bad:
        raise PredictionError(
            f"--terms: {', '.join(bad)} cannot be used for a prediction; choose from "
            f"{', '.join(TERM_INPUT)} (facts known before the perfusion)"
        )
    if len(set(out)) != len(out):
        raise PredictionError(f"--terms names a term twice: {', '.join(out)}")
    return out


def _parse(values: Mapping[str, str | float | None], terms: Sequence[str]) -> dict[str, object]:
    """The value of each input the terms need; :class:`PredictionError` names a missing one."""
    out: dict[str, object] = {}
    for term in terms:
        name = TERM_INPUT[term]
        raw = values.get(name)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            raise PredictionError(
                f"{INPUTS[name]} is required: the model has the term {term} and needs a value "
                "for each term"
            )
        if name in NUMERIC_INPUTS:
            try:
                number = float(raw)
            except ValueError:
                raise PredictionError(
                    f"{INPUTS[name]} must be a number ({UNITS[name]}), not {raw!r}"
                ) from None
            if not math.isfinite(number):
                raise PredictionError(f"{INPUTS[name]} must be a finite number, not {raw!r}")
            out[name] = number
        else:
            text = str(raw).strip()
            out[name] = text.lower() if name in YES_NO else text
    return out


def _term_value(term: str, given: Mapping[str, object]) -> object:
    value = given[TERM_INPUT[term]]
    if term == "leiomyosarcoma":
        return "yes" if str(value).lower() == "leiomyosarcoma" else "no"
    return value


def _seen(data: pd.DataFrame, term: str, given: Mapping[str, object], what: str) -> CovariateSeen:
    """The range or levels of ``term``'s input among ``data``; refuse a value outside them."""
    name = TERM_INPUT[term]
    value = given[name]
    if name in NUMERIC_INPUTS:
        col = data[term].to_numpy(dtype=float)
        lo, hi = float(col.min()), float(col.max())
        assert isinstance(value, float)
        if not lo <= value <= hi:
            raise PredictionError(
                f"{INPUTS[name]} {value:g} is outside the range seen in the registry "
                f"({lo:.1f} to {hi:.1f} {UNITS[name]} among the {what}): the model would "
                "extrapolate beyond its data, so no prediction is made"
            )
        return CovariateSeen(value=value, minimum=lo, maximum=hi, levels=None)
    source = "histology" if term == "leiomyosarcoma" else term
    levels = sorted({str(v) for v in data[source].dropna()})
    if str(value) not in levels:
        raise PredictionError(
            f"{INPUTS[name]} {value!s} is not a level seen in the registry (seen among the "
            f"{what}: {', '.join(levels) or 'none'}): the model has no data for it, so no "
            "prediction is made"
        )
    return CovariateSeen(value=str(value), minimum=None, maximum=None, levels=levels)


def _complete(data: pd.DataFrame, terms: Sequence[str]) -> pd.DataFrame:
    keep = np.ones(len(data), dtype=bool)
    for t in terms:
        keep &= data[t].notna().to_numpy()
    return data[keep]


def _design_row(design: Design, terms: Sequence[str], given: Mapping[str, object]) -> np.ndarray:
    """The design-matrix row of the given values (as :func:`cox_design` codes the data)."""
    row: list[float] = []
    for term in terms:
        value = _term_value(term, given)
        for col in design.terms[term]:
            if col == term:
                row.append(float(value == "yes") if term in YES_NO else float(value))  # type: ignore[arg-type]
            else:
                level = col[len(term) + 1 : -1]
                row.append(float(str(value) == level))
    return np.asarray(row, dtype=float)


def _fit_design(data: pd.DataFrame, terms: Sequence[str], event: str) -> _Fitted:
    if len(data) == 0:
        return _Fitted(data, None, "no row has every term recorded")
    if not (data[event] == 1).any():
        return _Fitted(data, None, "no event")
    try:
        return _Fitted(data, cox_design(data, terms), None)
    except (ValueError, IlpkitError) as exc:
        return _Fitted(data, None, str(exc))


def _cox(os_data: pd.DataFrame, design: Design) -> CoxResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit_cox(
            design.x,
            os_data["time_years"].to_numpy(),
            os_data["event"].to_numpy(),
            names=design.names,
            terms=design.terms,
            ties="efron",
        )


def predict(
    frame: pd.DataFrame,
    values: Mapping[str, str | float | None],
    terms: Sequence[str] = DEFAULT_TERMS,
    *,
    synthetic: bool = False,
    years: Sequence[int] = AT_YEARS,
) -> Prognosis:
    """Predict overall survival and local recurrence for one patient.

    Parameters
    ----------
    frame : DataFrame
        The registry, one row per perfusion (Registry CSV v1 columns).
    values : mapping
        Input name (see :data:`INPUTS`) to value: numbers for ``age_years`` and
        ``tumor_size_cm``, registry text for the others (``yes``/``no``, a histology name...).
    terms : sequence of str
        Model terms (see :data:`TERM_INPUT`).
    synthetic : bool
        The registry is SYNTHETIC.
    years : sequence of int

    Returns
    -------
    Prognosis

    Raises
    ------
    PredictionError
        Unknown term, missing value, a value outside the range seen or a level not seen.
    """
    terms = check_terms(terms)
    given = _parse(values, terms)
    if len(frame) == 0:
        raise PredictionError("the registry holds no perfusions; import some first")
    os_all = cohort.overall_survival(frame)
    lr_all = cohort.local_recurrence(frame)
    os_data = _complete(os_all, terms)
    lr_data = _complete(lr_all, terms)
    if len(os_data) == 0:
        raise PredictionError(
            "no patient has every term recorded (" + ", ".join(terms) + "); no model can be fitted"
        )
    covariates: dict[str, CovariateSeen] = {}
    for term in terms:
        name = TERM_INPUT[term]
        if name not in covariates:
            covariates[name] = _seen(os_data, term, given, f"{len(os_data)} patients of the model")
        if len(lr_data):
            _seen(lr_data, term, given, f"{len(lr_data)} perfusions of the model")
    times = np.asarray(years, dtype=float)
    keys = [str(y) for y in years]

    # overall survival: Cox
    os_fit = _fit_design(os_data, terms, "event")
    model: PredictionModel | None = None
    os_at = {k: PredictedSurvivalAt(estimate=None, ci95=(None, None)) for k in keys}
    os_note: str | None = None
    if os_fit.design is None:
        os_note = f"not estimable: {os_fit.note}"
    else:
        try:
            fit = _cox(os_data, os_fit.design)
        except (ValueError, np.linalg.LinAlgError) as exc:
            os_note = f"not estimable: {exc}"
        else:
            row = _design_row(os_fit.design, terms, given)
            pred = predict_cox_survival(
                fit,
                os_fit.design.x,
                os_data["time_years"].to_numpy(),
                os_data["event"].to_numpy(),
                row[None, :],
                times,
            )
            os_at = {
                k: PredictedSurvivalAt(
                    estimate=_f(pred.surv[i, 0]),
                    ci95=(_f(pred.lower[i, 0]), _f(pred.upper[i, 0])),
                )
                for i, k in enumerate(keys)
            }
            cindex = cox_concordance(fit)
            model = PredictionModel(
                n=fit.n,
                events=fit.n_events,
                terms=list(terms),
                columns=list(fit.columns),
                ties="efron",
                concordance=_f(cindex.concordance),
                concordance_se=_f(cindex.se),
            )
    # local recurrence: Fine-Gray
    lr_fit = _fit_design(lr_data, terms, "event")
    lr_at = {k: PredictedIncidenceAt(estimate=None) for k in keys}
    lr_note: str | None = None
    if lr_fit.design is None:
        lr_note = f"not estimable: {lr_fit.note}"
    else:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fg = fit_fine_gray(
                    lr_fit.design.x,
                    lr_data["time_years"].to_numpy(),
                    lr_data["status"].to_numpy(),
                    names=lr_fit.design.names,
                )
            if not np.all(np.isfinite(fg.se)):
                raise ValueError("the variance is not finite (a term may not vary)")
        except (ValueError, np.linalg.LinAlgError) as exc:
            lr_note = f"not estimable: {exc}"
        else:
            cif = fg.cif_at(_design_row(lr_fit.design, terms, given), times)
            lr_at = {k: PredictedIncidenceAt(estimate=_f(cif[i])) for i, k in enumerate(keys)}
    status = lr_data["status"].to_numpy()
    limits = [
        f"Fitted on this registry's {len(os_data)} patients ({int(os_data['event'].sum())} "
        f"deaths) and {len(lr_data)} perfusions ({int((status == 1).sum())} local "
        "recurrences); rows missing a term are left out.",
        "Discrimination (Harrell's C) and calibration are in-sample (apparent): the model has "
        "not been validated on other patients.",
        "Proportional (subdistribution) hazards and linear effects of age and size are assumed; "
        "only the terms listed are accounted for.",
        "No prediction outside the ranges and levels seen in the registry, nor after its last "
        "follow-up.",
    ]
    if synthetic:
        limits.insert(0, "SYNTHETIC registry: these numbers describe no real patient.")
    return Prognosis(
        schema=PREDICTION_SCHEMA,
        synthetic=bool(synthetic),
        covariates=covariates,
        overall_survival=PredictedOverallSurvival(unit="patient", at_years=os_at, note=os_note),
        local_recurrence=PredictedLocalRecurrence(
            unit="perfusion",
            competing_risk="death",
            n=len(lr_data),
            events=int((status == 1).sum()),
            competing_events=int((status == 2).sum()),
            at_years=lr_at,
            note=lr_note,
        ),
        model=model,
        limits=limits,
    )


def calibration(frame: pd.DataFrame, terms: Sequence[str] = DEFAULT_TERMS) -> Calibration:
    """Apparent calibration of the Cox model's 5-year survival.

    Patients of the model are ordered by predicted 5-year risk (1 - predicted survival) and cut
    into quintiles (at least :data:`MIN_QUINTILE_EVENTS` deaths) or tertiles of near-equal size;
    in each group the mean predicted 5-year survival is set against the Kaplan-Meier estimate
    (log-log 95% CI).

    Raises
    ------
    PredictionError
        When the model cannot be fitted or has fewer than :data:`MIN_CALIBRATION_EVENTS` deaths.
    """
    terms = check_terms(terms)
    os_data = _complete(cohort.overall_survival(frame), terms)
    fitted = _fit_design(os_data, terms, "event")
    if fitted.design is None:
        raise PredictionError(f"no calibration: the Cox model is not estimable ({fitted.note})")
    events = int(os_data["event"].sum())
    if events < MIN_CALIBRATION_EVENTS:
        raise PredictionError(
            f"no calibration: {events} deaths are too few (at least {MIN_CALIBRATION_EVENTS})"
        )
    fit = _cox(os_data, fitted.design)
    t = os_data["time_years"].to_numpy()
    e = os_data["event"].to_numpy()
    pred = predict_cox_survival(
        fit, fitted.design.x, t, e, fitted.design.x, [float(CALIBRATION_YEARS)]
    ).surv[0]
    k = 5 if events >= MIN_QUINTILE_EVENTS else 3
    order = np.argsort(-pred, kind="stable")  # lowest risk first
    groups: list[CalibrationGroup] = []
    for idx in np.array_split(order, k):
        km = kaplan_meier(t[idx], e[idx], conf_type="log-log")
        if float(t[idx].max()) >= CALIBRATION_YEARS:
            s = km.survival_at([float(CALIBRATION_YEARS)])
            obs, ci = _f(s.surv[0]), (_f(s.lower[0]), _f(s.upper[0]))
        else:
            obs, ci = None, (None, None)
        known = pred[idx][np.isfinite(pred[idx])]  # none when follow-up ends before 5 years
        groups.append(
            CalibrationGroup(
                n=len(idx),
                events=int(e[idx].sum()),
                predicted=_f(float(known.mean())) if known.size else None,
                observed=obs,
                observed_ci95=ci,
            )
        )
    return Calibration(
        years=CALIBRATION_YEARS,
        grouping="quintiles" if k == 5 else "tertiles",
        groups=groups,
    )
