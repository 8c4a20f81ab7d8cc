"""Cochran–Armitage test for a trend in proportions over ordered groups.

Defined as R's ``prop.trend.test(x, n, score)`` (package stats) and tested against it
(``tests/reference/r_trend_concordance_robust.R``).

The test asks whether the proportion of events ``x_i / n_i`` rises or falls linearly with a
score ``s_i`` given to each ordered group (default ``1, 2, ..., k``). R computes it as the
regression sum of squares of a weighted linear regression of ``x_i / n_i`` on ``s_i`` with
weights ``w_i = n_i / (p (1 - p))``, ``p = sum x / sum n``; in closed form::

    X^2 = [ sum_i n_i (f_i - fbar)(s_i - sbar) ]^2 / [ p (1 - p) sum_i n_i (s_i - sbar)^2 ]

with ``f_i = x_i / n_i`` and ``fbar = p``, ``sbar = sum n_i s_i / sum n_i``, on 1 degree of
freedom (Cochran 1954; Armitage 1955). This is the form without the ``N / (N - 1)`` factor,
as in R (Agresti 2002, section 5.3.5 gives the same statistic).

References
----------
Cochran WG (1954). Some methods for strengthening the common chi-squared tests.
Biometrics 10:417-451.
Armitage P (1955). Tests for linear trends in proportions and frequencies. Biometrics
11:375-386.
Agresti A (2002). Categorical Data Analysis, 2nd ed. Wiley.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ilpkit.stats._distributions import chisq_sf
from ilpkit.stats._survival_arrays import jsonable

__all__ = ["TrendTestResult", "prop_trend_test"]


@dataclass(frozen=True)
class TrendTestResult:
    """Result of :func:`prop_trend_test`.

    Attributes
    ----------
    statistic : float or None
        The chi-squared statistic (``None`` when not testable).
    df : int
        Degrees of freedom (always 1).
    p_value : float or None
        ``P(chi2_1 > statistic)`` (``None`` when not testable).
    testable : bool
        False when the data cannot carry a trend test; ``reason`` then says why.
    reason : str or None
        Why the test was not done, in plain words.
    events, totals, scores : tuple
        The inputs, per group, in order.
    method : str
    """

    statistic: float | None
    df: int
    p_value: float | None
    testable: bool
    reason: str | None
    events: tuple[int, ...]
    totals: tuple[int, ...]
    scores: tuple[float, ...]
    method: str = "Chi-squared test for trend in proportions (Cochran-Armitage)"

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python, JSON-serialisable form."""
        return jsonable(
            {
                "statistic": self.statistic,
                "df": self.df,
                "p_value": self.p_value,
                "testable": self.testable,
                "reason": self.reason,
                "events": list(self.events),
                "totals": list(self.totals),
                "scores": list(self.scores),
                "method": self.method,
            }
        )


def _not_testable(
    reason: str, x: Sequence[int], n: Sequence[int], s: Sequence[float]
) -> TrendTestResult:
    return TrendTestResult(
        statistic=None,
        df=1,
        p_value=None,
        testable=False,
        reason=reason,
        events=tuple(int(v) for v in x),
        totals=tuple(int(v) for v in n),
        scores=tuple(float(v) for v in s),
    )


def prop_trend_test(
    events: Sequence[int] | np.ndarray,
    totals: Sequence[int] | np.ndarray,
    scores: Sequence[float] | np.ndarray | None = None,
) -> TrendTestResult:
    """Cochran–Armitage chi-squared test for a linear trend in proportions.

    Parameters
    ----------
    events : sequence of int
        Number of events ``x_i`` in each ordered group.
    totals : sequence of int
        Group sizes ``n_i`` (``0 <= x_i <= n_i``).
    scores : sequence of float, optional
        Score of each group; default ``1, 2, ..., k`` (R's ``seq_along(x)``).

    Returns
    -------
    TrendTestResult
        The statistic, ``df = 1`` and the p-value, equal to R's
        ``prop.trend.test(x, n, score)``. When the data cannot carry the test — fewer than two
        groups, an empty group, no events or events in every patient, or all scores equal — the
        result is marked ``testable = False`` with the reason; no exception is raised for those.

    Raises
    ------
    ValueError
        On malformed input: lengths that differ, negative or non-integer counts, more events
        than patients in a group, or non-finite scores.

    Notes
    -----
    With ``p = sum x / sum n``, ``sbar = sum n_i s_i / sum n_i``::

        X^2 = [ sum_i (x_i - n_i p)(s_i - sbar) ]^2 / [ p (1 - p) sum_i n_i (s_i - sbar)^2 ]

    on 1 df (Cochran 1954; Armitage 1955); R's ``prop.trend.test`` computes the same number as
    the regression sum of squares of ``lm(x/n ~ score, weights = n / (p (1 - p)))``.

    Examples
    --------
    >>> res = prop_trend_test([83, 90, 129, 70], [86, 93, 136, 82])  # R's ?prop.test smokers
    >>> round(res.statistic, 4), res.df
    (8.2249, 1)
    """
    x = np.asarray(events, dtype=float).ravel()
    n = np.asarray(totals, dtype=float).ravel()
    s = np.arange(1.0, x.shape[0] + 1) if scores is None else np.asarray(scores, float).ravel()
    if not (x.shape == n.shape == s.shape):
        raise ValueError(
            f"events, totals and scores must have one value per group; got {x.shape[0]}, "
            f"{n.shape[0]} and {s.shape[0]} values"
        )
    for name, arr in (("events", x), ("totals", n)):
        if not np.all(np.isfinite(arr)) or np.any(arr < 0) or np.any(arr != np.round(arr)):
            raise ValueError(f"{name} must be whole numbers >= 0; got {arr.tolist()}")
    if not np.all(np.isfinite(s)):
        raise ValueError(f"scores must be finite numbers; got {s.tolist()}")
    over = np.flatnonzero(x > n)
    if over.size:
        i = int(over[0])
        raise ValueError(f"group {i + 1} has {int(x[i])} events but only {int(n[i])} patients")
    xi, ni, si = x.astype(int).tolist(), n.astype(int).tolist(), s.tolist()
    if x.shape[0] < 2:
        return _not_testable("a trend needs at least two groups", xi, ni, si)
    if np.any(n == 0):
        empty = ", ".join(str(int(i) + 1) for i in np.flatnonzero(n == 0))
        return _not_testable(f"group(s) {empty} have no patients", xi, ni, si)
    n_tot = float(n.sum())
    p = float(x.sum()) / n_tot
    if p == 0.0:
        return _not_testable("no events in any group", xi, ni, si)
    if p == 1.0:
        return _not_testable("every patient had the event", xi, ni, si)
    sbar = float((n * s).sum()) / n_tot
    ds = s - sbar
    sxx = float((n * ds * ds).sum())
    if not sxx > 0 or np.all(s == s[0]):
        return _not_testable("all groups have the same score", xi, ni, si)
    num = float(((x - n * p) * ds).sum())
    stat = num * num / (p * (1.0 - p) * sxx)
    return TrendTestResult(
        statistic=stat,
        df=1,
        p_value=chisq_sf(stat, 1),
        testable=True,
        reason=None,
        events=tuple(xi),
        totals=tuple(ni),
        scores=tuple(float(v) for v in si),
    )
