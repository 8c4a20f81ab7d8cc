"""Descriptive summaries for Table 1 and the study flow: n (%), median [IQR], missing counts.

The report's baseline tables (STROBE item 14a: characteristics of the participants and the
number with missing data for each variable) are built from these summaries; the report itself
only formats them. Everything is vectorised (numpy/pandas), so that a registry of a million
perfusions is summarised in well under a second per variable.

Conventions
-----------
- Percentages are of the **non-missing** values; the missing count is reported separately.
- Quartiles are by linear interpolation between order statistics (Hyndman & Fan 1996 type 7;
  R's default ``quantile(type = 7)``, numpy's ``"linear"``).

References
----------
Hyndman RJ, Fan Y (1996). Sample quantiles in statistical packages. The American Statistician
50:361-365.
von Elm E, Altman DG, Egger M, et al. (2007). The Strengthening the Reporting of Observational
Studies in Epidemiology (STROBE) statement. Lancet 370:1453-1457.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ilpkit.stats._survival_arrays import finite_or_none

__all__ = [
    "LEAKAGE_GROUPS",
    "TNF_DOSE_GROUPS",
    "CategoricalSummary",
    "NumericSummary",
    "StudyFlow",
    "leakage_group",
    "perfusions_per_patient",
    "study_flow",
    "summarize_categorical",
    "summarize_numeric",
    "tnf_dose_group",
]

TNF_DOSE_GROUPS: tuple[tuple[str, float, float], ...] = (
    ("1–2 mg", 0.0, 2.0),
    ("3–4 mg", 2.0, 4.0),
)
"""TNF-alpha dose groups, (label, above, up to and including) in mg: the reduced-dose practice
(1-2 mg, Rotterdam from 2003) against the standard dose (3 mg arm / 4 mg leg; Beromun SmPC), as
compared by Deroose et al., Eur J Cancer 2015;51:367. A dose of 0 mg (no TNF) is its own group."""

NO_TNF = "none (0 mg)"

LEAKAGE_GROUPS: tuple[tuple[str, float, float], ...] = (
    ("≤ 2%", -math.inf, 2.0),
    ("> 2% to < 10%", 2.0, 10.0),
    ("≥ 10%", 10.0, math.inf),
)
"""Peak cumulative leakage groups, % of the circuit dose. 10% is the level at which the
perfusion is stopped (Beromun SmPC); above 2% systemic TNF exposure was 18 times higher in a
Groningen series, an early-warning level (inference from that series). The middle group is
2 < x < 10; the last includes 10."""


_plain = finite_or_none


@dataclass(frozen=True)
class CategoricalSummary:
    """Counts of a categorical variable.

    Attributes
    ----------
    name : str
    levels : tuple of str
        Levels in display order (the requested order, then any other observed level, sorted).
    counts : tuple of int
        Count per level.
    n : int
        Non-missing values (the denominator of the percentages).
    n_missing : int
    """

    name: str
    levels: tuple[str, ...]
    counts: tuple[int, ...]
    n: int
    n_missing: int

    @property
    def percents(self) -> tuple[float | None, ...]:
        """Percentage of the non-missing values per level (None when nothing is recorded)."""
        if self.n == 0:
            return tuple(None for _ in self.counts)
        return tuple(100.0 * c / self.n for c in self.counts)

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python form."""
        return {
            "name": self.name,
            "n": self.n,
            "n_missing": self.n_missing,
            "levels": [
                {"level": lv, "count": c, "percent": p}
                for lv, c, p in zip(self.levels, self.counts, self.percents, strict=True)
            ],
        }


@dataclass(frozen=True)
class NumericSummary:
    """Median, quartiles and range of a numeric variable.

    Attributes
    ----------
    name : str
    n, n_missing : int
        Non-missing and missing values.
    median, q1, q3 : float or None
        Median and first/third quartiles (type 7); None when no value is recorded.
    minimum, maximum, mean : float or None
    """

    name: str
    n: int
    n_missing: int
    median: float | None
    q1: float | None
    q3: float | None
    minimum: float | None
    maximum: float | None
    mean: float | None

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python form."""
        return {
            "name": self.name,
            "n": self.n,
            "n_missing": self.n_missing,
            "median": self.median,
            "q1": self.q1,
            "q3": self.q3,
            "min": self.minimum,
            "max": self.maximum,
            "mean": self.mean,
        }


def _as_series(values: Any) -> pd.Series:
    if isinstance(values, pd.Series):
        return values.reset_index(drop=True)
    return pd.Series(np.asarray(values, dtype=object))


def summarize_categorical(
    values: Any, levels: Sequence[str] | None = None, name: str = ""
) -> CategoricalSummary:
    """Counts per level, with the missing values counted apart.

    Parameters
    ----------
    values : array-like
        One value per unit (patient or perfusion); None/NaN is missing. Values are compared as
        text (``str(value)``), so ``2`` and ``"2"`` are the same level.
    levels : sequence of str, optional
        Display order; levels listed here appear even with a count of 0. Observed levels not
        listed follow, sorted.
    name : str
        Variable name, carried into the result.

    Returns
    -------
    CategoricalSummary

    Examples
    --------
    >>> s = summarize_categorical(["yes", "no", None, "yes"], levels=["yes", "no"])
    >>> s.counts, s.n, s.n_missing
    ((2, 1), 3, 1)
    """
    series = _as_series(values)
    n_missing = int(series.isna().sum())
    observed: dict[str, int] = {}
    for key, c in series.value_counts(dropna=True, sort=False).items():
        text = str(key)
        observed[text] = observed.get(text, 0) + int(c)
    order = list(levels or [])
    order += sorted(k for k in observed if k not in order)
    return CategoricalSummary(
        name=name,
        levels=tuple(order),
        counts=tuple(observed.get(lv, 0) for lv in order),
        n=len(series) - n_missing,
        n_missing=n_missing,
    )


def summarize_numeric(values: Any, name: str = "") -> NumericSummary:
    """Median, quartiles (type 7), range and mean, with the missing count.

    Parameters
    ----------
    values : array-like of float
        NaN (or None) is missing.
    name : str

    Returns
    -------
    NumericSummary

    Examples
    --------
    >>> s = summarize_numeric([1.0, 2.0, 3.0, 4.0, None])
    >>> s.median, s.q1, s.q3, s.n_missing
    (2.5, 1.75, 3.25, 1)
    """
    x = pd.to_numeric(_as_series(values), errors="coerce").to_numpy(dtype=np.float64)
    ok = np.isfinite(x)
    v = x[ok]
    n = int(v.shape[0])
    if n == 0:
        return NumericSummary(name, 0, int((~ok).sum()), None, None, None, None, None, None)
    q1, med, q3 = np.quantile(v, [0.25, 0.5, 0.75], method="linear")
    return NumericSummary(
        name=name,
        n=n,
        n_missing=int((~ok).sum()),
        median=_plain(med),
        q1=_plain(q1),
        q3=_plain(q3),
        minimum=_plain(v.min()),
        maximum=_plain(v.max()),
        mean=_plain(v.mean()),
    )


def _group(values: Any, groups: tuple[tuple[str, float, float], ...]) -> pd.Series:
    x = pd.to_numeric(_as_series(values), errors="coerce").to_numpy(dtype=np.float64)
    out = np.full(x.shape[0], None, dtype=object)
    for label, above, upto in groups:
        out[(x > above) & (x <= upto)] = label
    return pd.Series(out)


def tnf_dose_group(tnf_mg: Any) -> pd.Series:
    """TNF-alpha dose group of each perfusion (see :data:`TNF_DOSE_GROUPS`).

    0 mg gives ``"none (0 mg)"``; a missing dose stays missing (None).

    Examples
    --------
    >>> tnf_dose_group([1, 2, 3, 4, 0, None]).tolist()
    ['1–2 mg', '1–2 mg', '3–4 mg', '3–4 mg', 'none (0 mg)', None]
    """
    out = _group(tnf_mg, TNF_DOSE_GROUPS)
    x = pd.to_numeric(_as_series(tnf_mg), errors="coerce").to_numpy(dtype=np.float64)
    out[x == 0] = NO_TNF
    return out


def leakage_group(leakage_pct: Any) -> pd.Series:
    """Peak leakage group of each perfusion (see :data:`LEAKAGE_GROUPS`); missing stays None.

    Examples
    --------
    >>> leakage_group([0.0, 2.0, 2.5, 10.0, None]).tolist()
    ['≤ 2%', '≤ 2%', '> 2% to < 10%', '≥ 10%', None]
    """
    x = pd.to_numeric(_as_series(leakage_pct), errors="coerce").to_numpy(dtype=np.float64)
    out = np.full(x.shape[0], None, dtype=object)
    out[x <= 2.0] = LEAKAGE_GROUPS[0][0]
    out[(x > 2.0) & (x < 10.0)] = LEAKAGE_GROUPS[1][0]
    out[x >= 10.0] = LEAKAGE_GROUPS[2][0]
    return pd.Series(out)


@dataclass(frozen=True)
class StudyFlow:
    """Numbers at each stage of the study (STROBE item 13, flow diagram).

    Attributes
    ----------
    n_patients, n_perfusions : int
    n_patients_repeat : int
        Patients with more than one perfusion.
    n_response_evaluable, n_response_not_evaluable, n_response_missing : int
        Perfusions with a WHO response other than NE; with NE; without a recorded response.
    n_resected : int
        Perfusions followed by a resection of the tumour (remnant).
    resection_margins : dict of str to int
        Resected perfusions by margin (R0, R1, R2, ``unknown``).
    n_amputated : int
        Perfusions followed by an amputation.
    horizon_years : float
        Follow-up horizon for ``n_followed``.
    n_followed : int
        Patients followed until death or for at least ``horizon_years`` after the first perfusion.
    n_dead : int
        Patients who died.
    n_censored_early : int
        Patients alive at last contact with less than ``horizon_years`` of follow-up.
    """

    n_patients: int
    n_perfusions: int
    n_patients_repeat: int
    n_response_evaluable: int
    n_response_not_evaluable: int
    n_response_missing: int
    n_resected: int
    resection_margins: dict[str, int]
    n_amputated: int
    horizon_years: float
    n_followed: int
    n_dead: int
    n_censored_early: int

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python form."""
        return dict(self.__dict__)


def study_flow(frame: pd.DataFrame, os_data: pd.DataFrame, horizon_years: float = 5.0) -> StudyFlow:
    """Count the patients and perfusions at each stage of the study.

    Parameters
    ----------
    frame : DataFrame
        The registry, one row per perfusion (Registry CSV v1 columns).
    os_data : DataFrame
        The overall-survival dataset of the same registry
        (:func:`ilpkit.stats.cohort.overall_survival`): ``time_years`` and ``event`` per patient.
    horizon_years : float
        Follow-up counted as complete at death or after this many years (the seed study required
        a potential follow-up of at least 5 years).

    Returns
    -------
    StudyFlow

    Notes
    -----
    Response counts follow the response dataset of ``ilpkit.stats.cohort.response``: NE and
    missing responses are left out of the evaluable perfusions.
    """
    response = frame["response"]
    n_missing = int(response.isna().sum())
    n_ne = int((response == "NE").sum())
    resected = frame["resection_date"].notna().to_numpy()
    margin = frame["resection_margin"][resected]
    margins = {m: int((margin == m).sum()) for m in ("R0", "R1", "R2")}
    margins["unknown"] = int(margin.isna().sum())
    per_patient = frame["patient_id"].value_counts(sort=False)
    event = os_data["event"].to_numpy() == 1
    long = os_data["time_years"].to_numpy() >= horizon_years
    return StudyFlow(
        n_patients=int(per_patient.shape[0]),
        n_perfusions=len(frame),
        n_patients_repeat=int((per_patient > 1).sum()),
        n_response_evaluable=len(frame) - n_missing - n_ne,
        n_response_not_evaluable=n_ne,
        n_response_missing=n_missing,
        n_resected=int(resected.sum()),
        resection_margins=margins,
        n_amputated=int(frame["amputation_date"].notna().sum()),
        horizon_years=float(horizon_years),
        n_followed=int((event | long).sum()),
        n_dead=int(event.sum()),
        n_censored_early=int((~event & ~long).sum()),
    )


def perfusions_per_patient(frame: pd.DataFrame) -> pd.Series:
    """Number of perfusions of each patient (one value per patient)."""
    return frame["patient_id"].value_counts(sort=False).reset_index(drop=True)
