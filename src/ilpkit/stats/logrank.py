"""Log-rank test for k groups (optionally stratified) and the log-rank test for trend.

Defined as R's ``survival::survdiff(Surv(time, event) ~ group [+ strata(s)], rho = 0)`` and
tested against it (``tests/reference/r_km_logrank_prop.R``).

At each distinct event time ``t`` (within each stratum) with ``d`` events among ``n`` at risk,
of whom ``n_g`` are in group ``g`` (Mantel 1966; Peto & Peto 1972):

* expected events ``E_g = Σ_t d n_g / n``; observed ``O_g = Σ_t d_g``;
* variance ``V_gh = Σ_t d (n − d) / (n − 1) · (n_g / n) (δ_gh − n_h / n)`` (hypergeometric);
* ``χ² = (O − E)ᵀ V⁻ (O − E)`` on ``k − 1`` df, computed as R does: groups with ``E_g = 0``
  are dropped, then the first remaining group, and the reduced system is solved.

Test for trend (ordered groups with scores ``w``; Peto et al. 1977, Collett 2015 §2.6):
``χ²_trend = (wᵀ(O − E))² / (wᵀ V w)`` on 1 df.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ilpkit.stats._distributions import chisq_sf
from ilpkit.stats._survival_arrays import (
    check_time_event,
    column,
    factorize,
    jsonable,
    readonly,
    tabulate,
)

__all__ = ["LogRankResult", "TrendTestResult", "logrank_test", "logrank_trend_test"]


@dataclass(frozen=True)
class TrendTestResult:
    """Log-rank test for trend across ordered groups.

    Attributes
    ----------
    groups : list
        Group labels, in order; ``scores`` aligned with them.
    scores : ndarray
        Scores ``w`` (default ``1, 2, …, k`` in group order).
    u : float
        ``wᵀ(O − E)``; positive when groups with higher scores have more events than expected.
    variance : float
        ``wᵀ V w``.
    chisq, df, p_value :
        ``u² / variance`` on 1 df.
    """

    groups: list[Any]
    scores: np.ndarray
    u: float
    variance: float
    chisq: float
    df: int
    p_value: float

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "test": "log-rank test for trend",
                "groups": self.groups,
                "scores": self.scores,
                "u": self.u,
                "variance": self.variance,
                "chisq": self.chisq,
                "df": self.df,
                "p_value": self.p_value,
            }
        )


@dataclass(frozen=True)
class LogRankResult:
    """Log-rank (Mantel–Haenszel) test comparing survival between k groups.

    Attributes
    ----------
    groups : list
        Group labels; ``n``, ``observed``, ``expected`` and rows/columns of ``variance`` follow
        this order.
    n : ndarray of int
        Observations per group.
    observed, expected : ndarray
        Events observed / expected under the null, summed over strata.
    variance : ndarray, shape (k, k)
        Variance–covariance matrix of ``observed − expected``, summed over strata.
    chisq, df, p_value :
        The test statistic, its degrees of freedom and the upper-tail χ² p-value.
    strata : list or None
        Stratum labels for a stratified test.
    """

    groups: list[Any]
    n: np.ndarray
    observed: np.ndarray
    expected: np.ndarray
    variance: np.ndarray
    chisq: float
    df: int
    p_value: float
    strata: list[Any] | None = None

    def trend(self, scores: Sequence[float] | Mapping[Any, float] | None = None) -> TrendTestResult:
        """Log-rank test for trend from this result's O, E and V.

        Parameters
        ----------
        scores : sequence aligned with ``groups``, or mapping label → score, optional
            Default ``1, 2, …, k`` in the order of ``groups`` (use ``order=`` in
            :func:`logrank_test` to set that order).
        """
        k = len(self.groups)
        if scores is None:
            w = np.arange(1, k + 1, dtype=np.float64)
        elif isinstance(scores, Mapping):
            missing = [g for g in self.groups if g not in scores]
            if missing:
                raise ValueError(f"scores has no value for group(s) {missing!r}")
            w = np.array([float(scores[g]) for g in self.groups])
        else:
            w = np.asarray(scores, dtype=np.float64).reshape(-1)
            if w.shape[0] != k:
                raise ValueError(f"scores has {w.shape[0]} values but there are {k} groups")
        if not np.isfinite(w).all():
            raise ValueError("scores must be finite")
        u = float(w @ (self.observed - self.expected))
        var = float(w @ self.variance @ w)
        if not var > 0:
            raise ValueError("the trend variance wᵀVw is zero (constant scores or no events)")
        stat = u * u / var
        return TrendTestResult(
            groups=list(self.groups),
            scores=readonly(w),
            u=u,
            variance=var,
            chisq=stat,
            df=1,
            p_value=chisq_sf(stat, 1),
        )

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "test": "log-rank",
                "groups": self.groups,
                "n": self.n,
                "observed": self.observed,
                "expected": self.expected,
                "variance": self.variance,
                "chisq": self.chisq,
                "df": self.df,
                "p_value": self.p_value,
                "strata": self.strata,
            }
        )


def logrank_test(
    time: Any,
    event: Any,
    group: Any,
    *,
    strata: Any = None,
    order: Sequence[Any] | None = None,
    timefix: bool = True,
    data: Any = None,
) -> LogRankResult:
    """Log-rank test of equal survival in k >= 2 groups (R ``survdiff``, ``rho = 0``).

    Parameters
    ----------
    time : array-like of float, or column name
        Follow-up time (>= 0, complete).
    event : array-like of {0, 1} or bool, or column name
        1 = event, 0 = censored.
    group : array-like, or column name
        Group of each observation (any hashable labels; no missing values).
    strata : array-like, or column name, optional
        Stratifying variable: O, E and V are computed within strata and summed
        (R ``survdiff(Surv(time, event) ~ group + strata(s))``).
    order : sequence, optional
        Order of the group labels in the result (default: categories of a pandas
        Categorical, else sorted labels). Matters only for presentation and for trend scores.
    timefix : bool, default True
        Merge times equal up to floating-point error (R ``aeqSurv``).
    data : pandas.DataFrame, optional
        If given, the arguments above may be column names.

    Returns
    -------
    LogRankResult

    Examples
    --------
    >>> r = logrank_test([1, 2, 3, 4], [1, 1, 1, 1], ["a", "b", "a", "b"])
    >>> r.observed.tolist(), r.expected.round(4).tolist()
    ([2.0, 2.0], [1.3333, 2.6667])
    """
    t, e = check_time_event(column(data, time, "time"), column(data, event, "event"))
    g_codes, labels = factorize(column(data, group, "group"), order=order, name="group")
    if g_codes.shape[0] != t.shape[0]:
        raise ValueError(
            f"group must have the same length as time (got {g_codes.shape[0]} and {t.shape[0]})"
        )
    k = len(labels)
    if k < 2:
        raise ValueError(f"the log-rank test needs at least 2 groups; found {k}: {labels!r}")
    if strata is None:
        s_codes, s_labels, n_strata = None, None, 1
        codes = g_codes
    else:
        s_codes, s_labels = factorize(column(data, strata, "strata"), name="strata")
        if s_codes.shape[0] != t.shape[0]:
            raise ValueError(
                "strata must have the same length as time "
                f"(got {s_codes.shape[0]} and {t.shape[0]})"
            )
        n_strata = len(s_labels)
        codes = s_codes * k + g_codes
    tab = tabulate(t, e, codes, n_strata * k, timefix=timefix)
    m = tab.time.shape[0]
    # (stratum, group, time) -> (group, stratum-time cell): one column per time within stratum
    d_g = tab.n_event.reshape(n_strata, k, m).transpose(1, 0, 2).reshape(k, n_strata * m)
    n_g = tab.n_risk.reshape(n_strata, k, m).transpose(1, 0, 2).reshape(k, n_strata * m)
    d = d_g.sum(axis=0)
    cells = np.flatnonzero(d)  # only times with an event contribute
    d_g = d_g[:, cells]
    n_g = n_g[:, cells].astype(np.float64)
    d = d[cells].astype(np.float64)
    n_t = n_g.sum(axis=0)
    p = n_g / n_t  # share of each group in the risk set, (k, cells)
    many = n_t > 1
    w = np.zeros_like(n_t)
    w[many] = d[many] * (n_t[many] - d[many]) / (n_t[many] - 1)
    observed = d_g.sum(axis=1).astype(np.float64)
    expected = p @ d
    variance = np.diag(p @ w) - (p * w) @ p.T
    stat, df = _chisq(observed, expected, variance)
    n_per_group = np.bincount(g_codes, minlength=k)
    return LogRankResult(
        groups=list(labels),
        n=readonly(n_per_group),
        observed=readonly(observed),
        expected=readonly(expected),
        variance=readonly(variance),
        chisq=stat,
        df=df,
        p_value=chisq_sf(stat, df) if df > 0 else 1.0,
        strata=None if s_labels is None else list(s_labels),
    )


def _chisq(o: np.ndarray, e: np.ndarray, v: np.ndarray) -> tuple[float, int]:
    """R survdiff: drop groups with E = 0, then the first group; solve the reduced system."""
    keep = np.flatnonzero(e > 0)
    df = keep.shape[0] - 1
    if df < 1:
        return 0.0, max(df, 0)
    idx = keep[1:]
    diff = (o - e)[idx]
    try:
        sol = np.linalg.solve(v[np.ix_(idx, idx)], diff)
    except np.linalg.LinAlgError:
        raise ValueError(
            "the log-rank variance matrix is singular (a group has no one at risk at any "
            "event time shared with the others); merge or drop that group"
        ) from None
    return float(sol @ diff), int(df)


def logrank_trend_test(
    time: Any,
    event: Any,
    group: Any,
    *,
    scores: Sequence[float] | Mapping[Any, float] | None = None,
    order: Sequence[Any] | None = None,
    strata: Any = None,
    timefix: bool = True,
    data: Any = None,
) -> TrendTestResult:
    """Log-rank test for trend across ordered groups: ``(wᵀ(O − E))² / (wᵀ V w)`` on 1 df.

    ``O``, ``E`` and ``V`` are those of :func:`logrank_test` (R ``survdiff``), so this is the
    statistic computed in R as ``sum(w * (obs - exp))^2 / (t(w) %*% var %*% w)``.

    Parameters
    ----------
    scores : sequence aligned with the ordered groups, or mapping label → score, optional
        Default ``1, 2, …, k``.
    order : sequence, optional
        Order of the groups (e.g. ``["G1", "G2", "G3"]``); default as :func:`logrank_test`.
    Other parameters are as for :func:`logrank_test`.
    """
    return logrank_test(
        time, event, group, strata=strata, order=order, timefix=timefix, data=data
    ).trend(scores)
