"""Results sections of the landmark analyses (see :mod:`ilpkit.stats.landmark`).

- :func:`landmark_recurrence_section`: local recurrence per perfusion by response, resection
  margin, adjuvant radiotherapy and pathological necrosis, from the landmark (cumulative
  incidence with death competing, Gray's test, cause-specific Cox models with a robust variance
  clustered on patient when a patient has repeat perfusions);
- :func:`landmark_survival_section`: overall survival per patient by the post-baseline factors
  asked for with ``--by``/``--cox`` (Kaplan-Meier, log-rank, Cox).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ilpkit.stats import cohort
from ilpkit.stats.analysis import (
    CoxModel,
    CoxModelNotEstimable,
    Ties,
    _cox_model,
    _recurrence_comparison,
    _survival_comparison,
    cox_design,
)
from ilpkit.stats.cox import ConvergenceWarning, fit_cox
from ilpkit.stats.landmark import (
    LANDMARK_MONTHS_DEFAULT,
    POST_BASELINE,
    landmark,
    not_recorded,
)
from ilpkit.stats.results import LandmarkRecurrence, LandmarkSurvival, Variance

ROBUST: Variance = "robust, clustered on patient"
MODEL_BASED: Variance = "model-based"


LANDMARK_COLUMNS = ("resection_days",)
"""Covariates the landmark itself needs besides the factors (resection on or before it)."""


def repeat_patients(data: pd.DataFrame) -> int:
    """Patients with more than one row (perfusion) in ``data``."""
    counts = np.bincount(cohort.patient_codes(data)) if len(data) else np.zeros(0, dtype=int)
    return int((counts > 1).sum())


def cause_specific_cox(
    data: pd.DataFrame,
    term: str,
    ties: Ties,
    clustered: bool,
    patients: np.ndarray | None = None,
) -> CoxModel | CoxModelNotEstimable:
    """Cox model of local recurrence (``status == 1``; death and end of follow-up censored) on
    one term, with the robust variance clustered on ``patient_id`` when ``clustered``
    (``patients``: :func:`ilpkit.stats.cohort.patient_codes` of ``data``, when known)."""
    # arrays of the columns the model uses: copying the dataset's columns for each term was
    # the slow part
    event = (data["status"].to_numpy() == 1).astype(int)
    keep = data[term].notna().to_numpy()
    reason: str | None = None
    if not keep.any():
        reason = f"no perfusion has {term} recorded"
    elif int(event[keep].sum()) == 0:
        reason = "no local recurrence"
    if reason is None:
        try:
            design = cox_design(data[[term]], [term])
            rows = design.keep
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                fit = fit_cox(
                    design.x,
                    data["time_years"].to_numpy()[rows],
                    event[rows],
                    names=design.names,
                    terms=design.terms,
                    ties=ties,
                    cluster=(
                        (cohort.patient_codes(data) if patients is None else patients)[rows]
                        if clustered
                        else None
                    ),
                )
            infinite = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
            if not infinite:
                return _cox_model(fit, design)
            reason = (
                "a hazard ratio is infinite or zero (a level without local recurrence: "
                "monotone likelihood); see the cumulative incidence and Gray's test"
            )
        except (ValueError, np.linalg.LinAlgError) as exc:
            reason = str(exc)
    return CoxModelNotEstimable(
        ties=ties,
        n=int(keep.sum()),
        events=int(event[keep].sum()),
        n_excluded=int((~keep).sum()),
        terms={},
        error=reason,
        note=f"not estimable: {reason}",
    )


def _factors(frame: pd.DataFrame, factors: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    usable: list[str] = []
    missing: dict[str, str] = {}
    for f in factors:
        reason = not_recorded(frame, f)
        if reason is None:
            usable.append(f)
        else:
            missing[f] = reason
    return usable, missing


def landmark_recurrence_section(
    frame: pd.DataFrame,
    years: Sequence[int],
    months: float = LANDMARK_MONTHS_DEFAULT,
    ties: Ties = "efron",
    factors: Sequence[str] = POST_BASELINE,
) -> LandmarkRecurrence:
    """Local recurrence by the post-baseline ``factors`` from a landmark ``months`` after the
    perfusion (unit: perfusion)."""
    usable, missing = _factors(frame, factors)
    carried = [c for c in cohort.COVARIATE_COLUMNS if c in {*usable, *LANDMARK_COLUMNS}]
    lm = landmark(cohort.local_recurrence(frame, carried), months)
    data = lm.data
    patients = cohort.patient_codes(data)
    repeats = int((np.bincount(patients) > 1).sum()) if len(data) else 0
    clustered = repeats > 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cox = {f: cause_specific_cox(data, f, ties, clustered, patients) for f in usable}
    return LandmarkRecurrence(
        unit="perfusion",
        landmark_months=lm.months,
        competing_risk="death",
        n=len(data),
        n_excluded=lm.n_excluded,
        variance=ROBUST if clustered else MODEL_BASED,
        patients_with_repeat_perfusions=repeats,
        by={f: _recurrence_comparison(data, f, years) for f in usable},
        cox=cox,
        not_recorded=missing,
    )


def landmark_survival_section(
    frame: pd.DataFrame,
    by: Sequence[str],
    cox_terms: Sequence[str],
    years: Sequence[int],
    months: float,
    ties: Ties = "efron",
) -> LandmarkSurvival:
    """Overall survival (per patient, first perfusion) from a landmark by the post-baseline
    factors in ``by``, and a Cox model of ``cox_terms`` when any of them is post-baseline."""
    from ilpkit.stats.analysis import cox_section

    lm = landmark(cohort.overall_survival(frame), months)
    data = lm.data
    post_by = [v for v in by if v in POST_BASELINE]
    post_cox = [t for t in cox_terms if t in POST_BASELINE]
    usable, missing = _factors(frame, list(dict.fromkeys([*post_by, *post_cox])))
    cox = None
    if post_cox and all(t in usable for t in post_cox):
        cox = cox_section(data, cox_terms, ties)
    return LandmarkSurvival(
        unit="patient",
        landmark_months=lm.months,
        n=len(data),
        n_excluded=lm.n_excluded,
        by={v: _survival_comparison(data, v, years) for v in post_by if v in usable},
        cox=cox,
        not_recorded=missing,
    )
