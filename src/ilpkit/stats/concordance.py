"""Harrell's concordance (C) of a risk score with a censored survival time, as R's ``concordance``.

Defined as survival 3.5-3's ``concordance(coxph fit)`` (``concordancefit`` with its defaults
``timewt = "n"``, ``reverse = TRUE`` for a Cox model) and tested against it
(``tests/reference/r_trend_concordance_robust.R``).

A pair of patients ``(i, j)`` is *comparable* when ``i`` dies at ``t_i`` and ``j`` is still at
risk then: ``t_j > t_i``, or ``t_j = t_i`` with ``j`` censored (a patient censored at a death
time counts as at risk at it, as in R). Two deaths at the same time are tied on time
(``tied_y``; ``tied_xy`` when their scores are tied as well) and are not comparable. A
comparable pair is *concordant* when the patient who died first has the higher risk score,
*discordant* when lower, and *tied on the predictor* (``tied_x``) when equal, so that::

    C = (concordant + tied_x / 2) / (concordant + discordant + tied_x)

Every comparable pair has weight 1 (``timewt = "n"``). The variance is R's infinitesimal
jackknife: with Somers' ``d = 2C - 1`` and ``N`` comparable pairs, each patient's influence is
``(c_i - d_i) / N - (d / N) (c_i + d_i + t_i)``, where ``c_i, d_i, t_i`` count the
concordant, discordant and predictor-tied pairs patient ``i`` belongs to (as the one who died
or the one at risk), and ``var(C) = sum_i influence_i^2 / 4``.

The pairs are counted in ``O(n log^2 n)`` with sorted arrays (no pair is formed): each
comparable pair is counted once at the highest bit where the time ranks of its two members
differ, with ``np.searchsorted`` over the risk-score ranks of the other half.

Not supported: case weights, strata, ``(start, stop]`` data, R's ``timefix`` merging of times
that differ only by rounding noise, and ``timewt`` other than ``"n"``.

References
----------
Harrell FE, Califf RM, Pryor DB, Lee KL, Rosati RA (1982). Evaluating the yield of medical
tests. JAMA 247:2543-2546.
Therneau TM, Atkinson EJ (2023). The concordance statistic. Vignette of the R survival package.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ilpkit.stats._survival_arrays import check_time_event, jsonable

__all__ = ["ConcordanceResult", "concordance_index"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class ConcordanceResult:
    """Harrell's C with its infinitesimal-jackknife variance and the pair counts.

    Attributes
    ----------
    concordance : float
        ``(concordant + tied_x / 2) / (concordant + discordant + tied_x)``; NaN without a
        comparable pair.
    var, se : float
        R's ``var`` and ``sqrt(var)``.
    concordant, discordant, tied_x, tied_y, tied_xy : int
        Pair counts, named as R's ``count``.
    n : int
    """

    concordance: float
    var: float
    se: float
    concordant: int
    discordant: int
    tied_x: int
    tied_y: int
    tied_xy: int
    n: int

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python, JSON-serialisable form (NaN -> None)."""
        return jsonable(
            {
                "concordance": self.concordance,
                "se": self.se,
                "var": self.var,
                "count": {
                    "concordant": self.concordant,
                    "discordant": self.discordant,
                    "tied_x": self.tied_x,
                    "tied_y": self.tied_y,
                    "tied_xy": self.tied_xy,
                },
                "n": self.n,
            }
        )


def _dense_rank(values: npt.ArrayLike) -> IntArray:
    """0-based dense ranks (equal values share a rank)."""
    _, inv = np.unique(np.asarray(values), return_inverse=True)
    out: IntArray = inv.astype(np.int64).ravel()
    return out


def _split_counts(
    haystack: IntArray, needles: IntArray, needle_base: IntArray, k: np.int64
) -> tuple[IntArray, IntArray, IntArray]:
    """For each of the sorted ``needles``: how many ``haystack`` values (sorted) of its pair
    (``[base, base + k)``) are below, equal to and above it.

    Both arrays are sorted, which makes ``np.searchsorted`` several times faster than on
    needles in random order."""
    start = np.searchsorted(haystack, needle_base, "left")
    below = np.searchsorted(haystack, needles, "left")
    upto = np.searchsorted(haystack, needles, "right")
    stop = np.searchsorted(haystack, needle_base + k, "left")
    return below - start, upto - below, stop - upto


def _pair_counts(
    key: IntArray, rank: IntArray, death: npt.NDArray[np.bool_], n_rank: int
) -> tuple[IntArray, IntArray, IntArray, IntArray, IntArray, IntArray]:
    """Per patient: pairs with every death of lower ``key`` and every row of higher ``key``.

    For each death ``i``: over rows ``j`` with ``key_j > key_i``, how many have a lower, higher
    and equal ``rank`` (``lo, hi, eq``). For each row ``j``: over deaths ``i`` with
    ``key_i < key_j``, how many have a higher, lower and equal ``rank`` (``up, down, same``).
    """
    n = key.shape[0]
    lo = np.zeros(n, np.int64)
    hi = np.zeros(n, np.int64)
    eq = np.zeros(n, np.int64)
    up = np.zeros(n, np.int64)
    down = np.zeros(n, np.int64)
    same = np.zeros(n, np.int64)
    n_bits = max(1, int(key.max()).bit_length()) if n else 1
    k = np.int64(n_rank)
    for b in range(n_bits):
        side = (key >> b) & 1
        base = (key >> (b + 1)) * k
        value = base + rank
        rows_r = np.flatnonzero(side == 1)
        rows_l = np.flatnonzero((side == 0) & death)
        if not (rows_r.size and rows_l.size):
            continue
        rows_r = rows_r[np.argsort(value[rows_r], kind="stable")]
        rows_l = rows_l[np.argsort(value[rows_l], kind="stable")]
        v_right, v_left = value[rows_r], value[rows_l]
        # deaths on the left against every row on the right (higher key) of the same pair
        lt, eq_n, gt = _split_counts(v_right, v_left, base[rows_l], k)
        lo[rows_l] += lt
        eq[rows_l] += eq_n
        hi[rows_l] += gt
        # rows on the right against the deaths on the left of the same pair
        lt, eq_n, gt = _split_counts(v_left, v_right, base[rows_r], k)
        down[rows_r] += lt
        same[rows_r] += eq_n
        up[rows_r] += gt
    return lo, hi, eq, up, down, same


def concordance_index(
    time: npt.ArrayLike, event: npt.ArrayLike, risk: npt.ArrayLike
) -> ConcordanceResult:
    """Harrell's C of a risk score (higher = shorter survival), equal to R's ``concordance``.

    Parameters
    ----------
    time : array_like, shape (n,)
        Follow-up time.
    event : array_like, shape (n,)
        1/True = death (event) at ``time``, 0/False = censored.
    risk : array_like, shape (n,)
        Risk score, e.g. the linear predictor ``x' beta`` of a Cox model; a higher score
        predicts an earlier event.

    Returns
    -------
    ConcordanceResult
        Equal to ``concordance(coxph(...))`` of R survival 3.5-3 (or
        ``concordance(Surv(time, event) ~ risk, reverse = TRUE)``): ``concordance``, ``var``
        (``se = sqrt(var)``) and ``count``.

    Raises
    ------
    ValueError
        On malformed time or event, a risk score of another length, or a non-finite score.

    Notes
    -----
    ``C = (concordant + tied_x / 2) / (concordant + discordant + tied_x)`` over comparable
    pairs (the earlier time is a death; a censoring at a death time is later than the death);
    ``var = sum_i [(c_i - d_i) / N - (somers_d / N) (c_i + d_i + t_i)]^2 / 4`` (R's
    ``concordancefit``; Therneau & Atkinson, *The concordance statistic*).

    Examples
    --------
    >>> res = concordance_index([1, 2, 3, 4], [1, 1, 1, 0], [4, 3, 1, 2])
    >>> res.concordant, res.discordant, round(res.concordance, 4)
    (5, 1, 0.8333)
    """
    t, e = check_time_event(time, event)
    x = np.asarray(risk, dtype=float).ravel()
    n = t.shape[0]
    if x.shape[0] != n:
        raise ValueError(f"risk has {x.shape[0]} values but time has {n}")
    if not np.all(np.isfinite(x)):
        raise ValueError("risk scores must be finite numbers")
    death = np.asarray(e, dtype=bool)
    # time key: a censoring at a death time is later than the death ((t, censored) order)
    order_key = np.lexsort((~death, t))
    key = np.empty(n, np.int64)
    tk = t[order_key]
    ck = ~death[order_key]
    new = np.ones(n, dtype=bool)
    if n > 1:
        new[1:] = (tk[1:] != tk[:-1]) | (ck[1:] != ck[:-1])
    key[order_key] = np.cumsum(new) - 1
    rank = _dense_rank(x)
    n_rank = int(rank.max()) + 1 if n else 1
    lo, hi, eq, up, down, same = _pair_counts(key, rank, death, n_rank)
    # a comparable pair is concordant when the death has the higher score
    conc_i = lo + up
    disc_i = hi + down
    tie_i = eq + same
    concordant = int(lo.sum())
    discordant = int(hi.sum())
    tied_x = int(eq.sum())
    # deaths tied on time: all pairs among them, and those also tied on the score
    dk = key[death]
    _, d_per_time = np.unique(dk, return_counts=True)
    all_tied = int((d_per_time * (d_per_time - 1) // 2).sum())
    _, d_per_time_score = np.unique(dk * np.int64(n_rank) + rank[death], return_counts=True)
    tied_xy = int((d_per_time_score * (d_per_time_score - 1) // 2).sum())
    n_pairs = concordant + discordant + tied_x
    if n_pairs == 0:
        c = var = float("nan")
    else:
        somers = (concordant - discordant) / n_pairs
        c = (somers + 1.0) / 2.0
        dfbeta = (conc_i - disc_i) / n_pairs - (somers / n_pairs) * (conc_i + disc_i + tie_i)
        var = float(np.dot(dfbeta, dfbeta)) / 4.0
    return ConcordanceResult(
        concordance=c,
        var=var,
        se=float(np.sqrt(var)),
        concordant=concordant,
        discordant=discordant,
        tied_x=tied_x,
        tied_y=all_tied - tied_xy,
        tied_xy=tied_xy,
        n=n,
    )
