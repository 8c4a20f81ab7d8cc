"""Landmark analyses of factors known only after the perfusion (post-baseline factors).

Tumour response and the resection (its margin, the pathological necrosis of the specimen and the
decision on adjuvant radiotherapy) happen AFTER the perfusion. Comparing outcomes by such a
factor from the day of the perfusion is biased: a perfusion can only be counted as, say,
"resected R0" if the patient lived (and stayed free of recurrence) long enough to be resected,
so that group is guaranteed event-free time that the others are not (guarantee-time or
immortal-time bias; Anderson, Cain & Gelber 1983; Dafni 2011). The landmark method removes it:

1. choose a landmark time ``L`` after the perfusion (default 3 months, by which the WHO response
   has been assessed and most resections done);
2. keep the perfusions (or patients) still followed and free of the event at ``L``: follow-up
   time strictly greater than ``L``; those with the event, death or end of follow-up by ``L``
   are left out and counted;
3. take the factor as it was known at ``L``: the response as recorded (the registry holds no
   assessment date; the protocol assesses it before the landmark); the resection margin,
   necrosis and adjuvant radiotherapy only when the resection was on or before ``L`` (otherwise
   the factor is unknown at the landmark and counted as missing);
4. measure time from ``L`` (time - ``L``).

A month is 365.25 / 12 days, so 3 months are 91.3125 days.

References
----------
Anderson JR, Cain KC, Gelber RD (1983). Analysis of survival by tumor response. J Clin Oncol
1:710-719. Dafni U (2011). Landmark analysis at the 25-year landmark point. Circ Cardiovasc Qual
Outcomes 4:363-371.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ilpkit.stats.cohort import DAYS_PER_YEAR

POST_BASELINE: tuple[str, ...] = (
    "response",
    "resection_margin",
    "adjuvant_radiotherapy",
    "necrosis_group",
)
"""Factors known only after the perfusion; analysed only as landmark analyses."""

RESECTION_FACTORS: tuple[str, ...] = (
    "resection_margin",
    "adjuvant_radiotherapy",
    "necrosis_group",
)
"""Post-baseline factors that come from the resection: known at the landmark only when the
resection was on or before it."""

REGISTRY_COLUMN = {
    "response": "response",
    "resection_margin": "resection_margin",
    "adjuvant_radiotherapy": "adjuvant_radiotherapy",
    "necrosis_group": "pathological_necrosis_pct",
}
"""The registry column each post-baseline factor comes from."""

LANDMARK_MONTHS_DEFAULT = 3.0
"""Default landmark: 3 months after the perfusion (WHO response is assessed about 8 weeks after
TM-ILP and the resection follows within 2-3 months in the seed study's protocol)."""

DAYS_PER_MONTH = DAYS_PER_YEAR / 12.0


def landmark_days(months: float) -> float:
    """The landmark in days (``months * 365.25 / 12``)."""
    return float(months) * DAYS_PER_MONTH


def refusal_message(variables: list[str]) -> str:
    """Why an analysis by a post-baseline factor from the perfusion is refused, and what to do."""
    names = ", ".join(variables)
    return (
        f"{names} is known only after the perfusion (post-baseline): comparing outcomes by it "
        "from the day of the perfusion counts the time before the response was assessed or the "
        "tumour resected as event-free time of those who reached that point (guarantee-time or "
        "immortal-time bias). Analyse it as a landmark analysis instead: add "
        "--landmark-months 3 (outcomes from 3 months after the perfusion, among those still "
        "followed and event-free then, by the factor as known at 3 months)"
    )


@dataclass(frozen=True, slots=True)
class LandmarkData:
    """An analysis dataset restricted and re-timed at a landmark.

    Attributes
    ----------
    data : DataFrame
        Rows still followed and event-free after the landmark, ``time_days``/``time_years``
        measured from it, post-baseline factors as known at the landmark.
    n_excluded : int
        Rows left out: event, competing event or end of follow-up on or before the landmark.
    months, days : float
        The landmark.
    """

    data: pd.DataFrame
    n_excluded: int
    months: float
    days: float


def landmark(data: pd.DataFrame, months: float = LANDMARK_MONTHS_DEFAULT) -> LandmarkData:
    """Restrict an analysis dataset of :mod:`ilpkit.stats.cohort` to a landmark.

    Parameters
    ----------
    data : DataFrame
        With ``time_days`` (from the perfusion) and the covariates (including
        ``resection_days``).
    months : float
        The landmark, months after the perfusion (> 0).

    Returns
    -------
    LandmarkData
    """
    if not np.isfinite(months) or months <= 0:
        raise ValueError(f"the landmark must be a positive number of months, not {months}")
    cut = landmark_days(months)
    keep = data["time_days"].to_numpy(dtype=float) > cut
    out = data.take(np.flatnonzero(keep))  # a new frame of its own (one copy)
    out.index = pd.RangeIndex(len(out))
    out["time_days"] = out["time_days"].astype(float) - cut
    out["time_years"] = out["time_days"] / DAYS_PER_YEAR
    if "resection_days" in out.columns:
        resected = (out["resection_days"] <= cut).to_numpy()
    else:
        resected = np.zeros(len(out), dtype=bool)
    for var in RESECTION_FACTORS:
        if var in out.columns:
            out[var] = out[var].astype(object).where(resected, None)
    return LandmarkData(out, int((~keep).sum()), float(months), cut)


def not_recorded(frame: pd.DataFrame, factor: str) -> str | None:
    """Why a post-baseline factor cannot be analysed in this registry, or None when it can:
    the registry has no such column, or no perfusion has it recorded."""
    column = REGISTRY_COLUMN[factor]
    if column not in frame.columns:
        return f"not recorded: the registry has no {column} field"
    if not frame[column].notna().any():
        return f"not recorded: no perfusion has {column} recorded"
    return None
