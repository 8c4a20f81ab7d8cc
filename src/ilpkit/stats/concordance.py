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

The pairs are counted in ``O(n log K)`` (``K`` distinct times) without forming any pair: each
comparable pair is counted once at the highest bit where the time ranks of its two members
differ, from running counts over rows kept sorted by risk-score rank within blocks of equal
higher time bits (one sort, then a stable partition per bit).

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


def _pair_counts(
    key: IntArray, risk: FloatArray, death: npt.NDArray[np.bool_]
) -> tuple[IntArray, IntArray, int, int, IntArray]:
    """Per row: concordant and discordant comparable pairs it belongs to, the totals, and the
    dense rank of each row's risk score.

    A pair (death ``i``, row ``j``) with ``key_j > key_i`` is concordant when ``risk_i >
    risk_j`` and discordant when lower. The pairs are counted by divide and conquer over the
    bits of ``key`` (highest first): the rows stay sorted by (``key`` above the current bit,
    risk rank); within each block the rows whose bit is 0 (lower keys; only their deaths count)
    are compared with those whose bit is 1 through running counts, and a stable partition of
    each block by the bit (``O(n)``, no sort) gives the order for the next bit. One sort in all,
    ``O(n log K)`` for ``K`` distinct keys.

    Ties in the risk score are broken so that the row with the lower key ranks higher: every
    comparable pair tied on the score is then counted as concordant, and those pairs, counted
    separately (within each group of equal scores), are taken off again.
    """
    n = key.shape[0]
    order = np.argsort(risk)  # ties are resolved below
    xs = risk[order]
    new_x = np.empty(n, dtype=bool)
    new_x[0] = True
    np.not_equal(xs[1:], xs[:-1], out=new_x[1:])
    ties = not bool(new_x.all())
    if ties:  # equal scores: the lower key ranks higher
        order = np.lexsort((-key, risk))
        xs = risk[order]
        np.not_equal(xs[1:], xs[:-1], out=new_x[1:])
    k_bits = max(1, int(key.max()).bit_length())
    shift = max(1, (n - 1).bit_length()) + 1
    # one int64 per row: key | position in score order | death, carried through the partitions
    packed = (
        (key[order].astype(np.int64) << shift) | (np.arange(n, dtype=np.int64) << 1) | death[order]
    )
    cd = np.zeros(n, np.int64)  # concordant << 32 | discordant
    idx = np.arange(n, dtype=np.int64)
    low = np.int64((1 << 32) - 1)
    cum = np.zeros(n + 1, np.int64)  # running counts: right rows << 32 | left deaths
    flag = np.empty(n, dtype=bool)
    flag[0] = True
    end = np.array([n], dtype=np.int64)
    total_c = total_d = 0
    for b in range(k_bits - 1, -1, -1):
        above = packed >> (shift + b)
        right = (above & 1).astype(bool)
        parent = above >> 1
        left_death = (packed & 1).astype(bool)
        left_death &= ~right
        np.not_equal(parent[1:], parent[:-1], out=flag[1:])
        np.cumsum((right.astype(np.int64) << 32) | left_death, out=cum[1:])
        starts = np.flatnonzero(flag)
        block = np.cumsum(flag) - 1
        bs = starts[block]
        be = np.concatenate((starts[1:], end))[block]
        c_bs, c_be = cum[bs], cum[be]
        less = cum[:-1] - c_bs  # within the block, rows of lower rank: (right, left deaths)
        greater = c_be - cum[1:]  # rows of higher rank
        # arithmetic rather than np.where: a random mask makes np.where several times slower
        c_left = (less >> 32) * left_death
        d_left = (greater >> 32) * left_death
        total_c += int(c_left.sum())
        total_d += int(d_left.sum())
        c_left += (greater & low) * right
        d_left += (less & low) * right
        c_left <<= 32
        c_left |= d_left
        cd += c_left
        # stable partition of every block: bit 0 first, then bit 1
        r_before = cum[:-1] >> 32
        new_pos = idx - r_before + (c_bs >> 32)
        new_pos += (be - (c_be >> 32) + r_before - new_pos) * right
        moved = np.empty_like(packed)
        moved[new_pos] = packed
        packed = moved
        moved = np.empty_like(cd)
        moved[new_pos] = cd
        cd = moved
    ids = order[(packed >> 1) & np.int64((1 << (shift - 1)) - 1)]
    conc_i = np.empty(n, np.int64)
    disc_i = np.empty(n, np.int64)
    conc_i[ids] = cd >> 32
    disc_i[ids] = cd & low
    if ties:
        # comparable pairs tied on the score, per row, in score order (key descending within)
        ko = key[order]
        do = death[order]
        run = new_x.copy()
        run[1:] |= ko[1:] != ko[:-1]
        g_starts = np.flatnonzero(new_x)
        g_id = np.cumsum(new_x) - 1
        r_starts = np.flatnonzero(run)
        r_id = np.cumsum(run) - 1
        gs = g_starts[g_id]
        ge = np.concatenate((g_starts[1:], end))[g_id]
        rs = r_starts[r_id]
        re = np.concatenate((r_starts[1:], end))[r_id]
        deaths = np.concatenate(([0], np.cumsum(do)))
        as_death = np.where(do, rs - gs, 0)  # rows of the group with a higher key
        tied = as_death + (deaths[ge] - deaths[re])  # + deaths of the group with a lower key
        conc_i[order] -= tied
        total_c -= int(as_death.sum())
    rank = np.empty(n, np.int64)
    rank[order] = np.cumsum(new_x) - 1
    return conc_i, disc_i, total_c, total_d, rank


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
    # time key: a censoring at a death time is later than the death: 2 * time rank + censored
    if n > 1 and bool(np.all(t[1:] <= t[:-1])):  # already sorted (descending), as a Cox fit's
        ascending = t[::-1]
        new = np.empty(n, dtype=bool)
        new[0] = True
        np.not_equal(ascending[1:], ascending[:-1], out=new[1:])
        time_rank = (np.cumsum(new) - 1)[::-1]
    else:
        time_rank = np.unique(t, return_inverse=True)[1].ravel()
    key = 2 * time_rank.astype(np.int64) + ~death
    conc_i, disc_i, concordant, discordant, rank = _pair_counts(key, x, death)
    # comparable pairs of each row: as the death (rows of higher key) and as the row at risk
    # (deaths of lower key); those not concordant or discordant are tied on the score
    n_key = int(key.max()) + 1
    per_key = np.bincount(key, minlength=n_key)
    deaths_per_key = np.bincount(key[death], minlength=n_key)
    higher = n - np.cumsum(per_key)
    deaths_lower = np.cumsum(deaths_per_key) - deaths_per_key
    comparable_i = np.where(death, higher[key], 0) + deaths_lower[key]
    tie_i = comparable_i - conc_i - disc_i
    tied_x = int(np.where(death, higher[key], 0).sum()) - concordant - discordant
    dk = key[death]
    all_tied = int((deaths_per_key * (deaths_per_key - 1) // 2).sum())
    n_rank = int(rank.max()) + 1
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
