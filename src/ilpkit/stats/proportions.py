"""Proportions with exact confidence intervals, and comparison of groups in a contingency table.

Defined as in R and tested against it (``tests/reference/r_km_logrank_prop.R``):

=====================  ==========================================================================
ilpkit                 R
=====================  ==========================================================================
``proportion``         ``binom.test(k, n, conf.level = 0.95)$conf.int`` (Clopper–Pearson)
``chi2_test``          ``chisq.test(table, correct = FALSE)``
``fisher_test``        ``fisher.test(table)`` (two-sided; any r × c table)
``compare_groups``     χ² if every expected count >= 5, otherwise Fisher's exact test
=====================  ==========================================================================

SciPy 1.17's ``fisher_exact`` is exact only for 2 × 2 tables (larger tables need a Monte Carlo
or permutation ``method``), so the r × c exact test is implemented here by a network
algorithm over the columns of the table (Mehta & Patel 1983), exact for the small tables of a
clinical study; see :func:`fisher_test` for its limits.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy.special import (
    betaincinv,  # inverse regularised incomplete beta = beta distribution quantile
    chdtrc,  # chi-squared upper tail, chdtrc(df, x)
    gammaln,
)

from ilpkit.errors import IlpkitError
from ilpkit.stats._survival_arrays import column, factorize, jsonable, readonly

__all__ = [
    "GroupComparisonResult",
    "ProportionResult",
    "chi2_test",
    "compare_groups",
    "contingency_table",
    "fisher_test",
    "proportion",
]

#: Relative tolerance for "as or less probable than the observed table" — R's
#: ``fisher.test`` uses ``relErr = 1 + 1e-7`` for 2 x 2 tables (and 3.45e-7 in FEXACT).
FISHER_REL_TOL = 1e-7
#: Default cap on the work of the exact r x c enumeration (partial tables examined).
FISHER_MAX_WORK = 20_000_000


# --------------------------------------------------------------------------- proportion
@dataclass(frozen=True)
class ProportionResult:
    """A proportion with its exact (Clopper–Pearson) confidence interval.

    Attributes
    ----------
    successes, n : int
        Count and denominator (after excluding missing values).
    estimate, lower, upper : float
        ``successes / n`` and its confidence limits.
    n_missing : int
        Missing values excluded (array input only).
    """

    successes: int
    n: int
    estimate: float
    lower: float
    upper: float
    conf_level: float
    n_missing: int = 0
    method: str = "Clopper-Pearson exact"

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "successes": self.successes,
                "n": self.n,
                "estimate": self.estimate,
                "lower": self.lower,
                "upper": self.upper,
                "conf_level": self.conf_level,
                "n_missing": self.n_missing,
                "method": self.method,
            }
        )


def proportion(x: Any, n: int | None = None, *, conf_level: float = 0.95) -> ProportionResult:
    """Proportion with the exact Clopper–Pearson confidence interval (Clopper & Pearson 1934).

    ``lower = B⁻¹(α/2; k, n − k + 1)`` (0 if k = 0) and ``upper = B⁻¹(1 − α/2; k + 1, n − k)``
    (1 if k = n), with ``B⁻¹`` the beta quantile function and ``α = 1 − conf_level``; identical
    to R ``binom.test(k, n, conf.level = conf_level)$conf.int``.

    Parameters
    ----------
    x : int, or array-like of {0, 1} / bool
        The number of successes (with ``n``), or one indicator per subject (without ``n``;
        missing values — NaN/None — are excluded and counted in ``n_missing``).
    n : int, optional
        Number of trials, when ``x`` is a count.
    conf_level : float, default 0.95

    Examples
    --------
    >>> r = proportion(0, 10)
    >>> round(r.upper, 6)   # 1 - 0.025 ** (1 / 10)
    0.308497
    """
    level = float(conf_level)
    if not 0.0 < level < 1.0:
        raise ValueError(f"conf_level must be strictly between 0 and 1, got {conf_level!r}")
    n_missing = 0
    if n is None:
        if np.ndim(x) == 0:
            raise ValueError("give n (number of trials) with a count, or pass an array of 0/1")
        arr = np.asarray(
            x.to_numpy(dtype=np.float64, na_value=np.nan) if hasattr(x, "to_numpy") else x,
            dtype=np.float64,
        ).reshape(-1)
        miss = np.isnan(arr)
        n_missing = int(miss.sum())
        arr = arr[~miss]
        if not np.isin(arr, (0.0, 1.0)).all():
            bad = arr[~np.isin(arr, (0.0, 1.0))][0]
            raise ValueError(f"indicator values must be 0 or 1 (or True/False); found {bad!r}")
        k, nn = int(arr.sum()), int(arr.shape[0])
    else:
        if not _is_int(x) or not _is_int(n):
            raise ValueError(f"successes and n must be whole numbers (got {x!r}, {n!r})")
        k, nn = int(x), int(n)
    if nn < 1:
        raise ValueError("n must be at least 1")
    if not 0 <= k <= nn:
        raise ValueError(f"successes must be between 0 and n={nn} (got {k})")
    alpha = (1.0 - level) / 2.0
    lower = 0.0 if k == 0 else float(betaincinv(k, nn - k + 1, alpha))
    upper = 1.0 if k == nn else float(betaincinv(k + 1, nn - k, 1.0 - alpha))
    return ProportionResult(k, nn, k / nn, lower, upper, level, n_missing)


def _is_int(v: Any) -> bool:
    if isinstance(v, (bool, np.bool_)):
        return False
    if isinstance(v, (int, np.integer)):
        return True
    return isinstance(v, (float, np.floating)) and float(v).is_integer()


# --------------------------------------------------------------------------- tables
@dataclass(frozen=True)
class ContingencyTable:
    """Cross-tabulation of two categorical variables (complete pairs only)."""

    table: np.ndarray
    row_labels: list[Any]
    col_labels: list[Any]
    n_missing: int


def contingency_table(
    rows: Any,
    cols: Any,
    *,
    row_order: Sequence[Any] | None = None,
    col_order: Sequence[Any] | None = None,
) -> ContingencyTable:
    """Cross-tabulate two categorical arrays (R ``table(rows, cols)``).

    Pairs where either value is missing are excluded and counted in ``n_missing`` (R's
    ``table`` excludes NA by default). Labels are ordered as the categories of a pandas
    Categorical, else sorted, unless ``row_order`` / ``col_order`` are given.
    """
    import pandas as pd

    r = pd.Series(rows.array if isinstance(rows, pd.Series) else rows).reset_index(drop=True)
    c = pd.Series(cols.array if isinstance(cols, pd.Series) else cols).reset_index(drop=True)
    if r.shape[0] != c.shape[0]:
        raise ValueError(f"the two variables differ in length ({r.shape[0]} and {c.shape[0]})")
    if r.shape[0] == 0:
        raise ValueError("no observations: the variables are empty")
    keep = ~(r.isna().to_numpy() | c.isna().to_numpy())
    n_missing = int((~keep).sum())
    r, c = r[keep], c[keep]
    rc, rl = factorize(r, order=row_order, name="rows")
    cc, cl = factorize(c, order=col_order, name="columns")
    tab = np.bincount(rc * len(cl) + cc, minlength=len(rl) * len(cl)).reshape(len(rl), len(cl))
    return ContingencyTable(readonly(tab), rl, cl, n_missing)


@dataclass(frozen=True)
class GroupComparisonResult:
    """Test of independence of rows and columns of a contingency table.

    Attributes
    ----------
    test : {"chi2", "fisher"}
        Which test produced ``p_value``.
    statistic : float or None
        Pearson χ² (None for Fisher's test, whose p-value is a sum of table probabilities).
    df : int or None
        χ² degrees of freedom ``(r − 1)(c − 1)`` (None for Fisher's test).
    p_value : float
    table, expected : ndarray
        Observed counts and expected counts under independence (rows/columns whose total is
        zero are dropped before testing).
    row_labels, col_labels : list
    n, n_missing : int
        Subjects tabulated; subjects excluded for a missing value.
    reason : str
        Why this test was chosen.
    """

    test: Literal["chi2", "fisher"]
    statistic: float | None
    df: int | None
    p_value: float
    table: np.ndarray
    expected: np.ndarray
    row_labels: list[Any]
    col_labels: list[Any]
    n: int
    n_missing: int
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "test": self.test,
                "statistic": self.statistic,
                "df": self.df,
                "p_value": self.p_value,
                "table": self.table,
                "expected": self.expected,
                "row_labels": self.row_labels,
                "col_labels": self.col_labels,
                "n": self.n,
                "n_missing": self.n_missing,
                "reason": self.reason,
            }
        )


def _as_table(table: Any) -> np.ndarray:
    t = np.asarray(table.to_numpy() if hasattr(table, "to_numpy") else table)
    if t.ndim != 2:
        raise ValueError(f"a contingency table must be two-dimensional (got shape {t.shape})")
    try:
        tf = t.astype(np.float64)
    except (TypeError, ValueError):
        raise ValueError("contingency table entries must be numbers") from None
    if not np.isfinite(tf).all() or (tf < 0).any() or not np.array_equal(tf, np.round(tf)):
        raise ValueError("contingency table entries must be non-negative whole numbers")
    return tf.astype(np.int64)


def _expected(t: np.ndarray) -> np.ndarray:
    return np.outer(t.sum(axis=1), t.sum(axis=0)) / t.sum()


def _nonempty(t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Drop rows / columns whose total is zero; need >= 2 of each left."""
    rk = np.flatnonzero(t.sum(axis=1) > 0)
    ck = np.flatnonzero(t.sum(axis=0) > 0)
    if rk.shape[0] < 2 or ck.shape[0] < 2:
        raise ValueError(
            "comparing groups needs at least two non-empty rows and two non-empty columns "
            f"(table has {rk.shape[0]} non-empty row(s) and {ck.shape[0]} non-empty column(s))"
        )
    return t[np.ix_(rk, ck)], rk, ck


def chi2_test(table: Any) -> tuple[float, int, float]:
    """Pearson χ² test of independence without continuity correction.

    ``X² = Σ (O − E)² / E`` with ``E = row total × column total / n``, on ``(r − 1)(c − 1)``
    df (Pearson 1900); as R ``chisq.test(table, correct = FALSE)``.

    Returns
    -------
    (statistic, df, p_value)
    """
    t, _, _ = _nonempty(_as_table(table))
    e = _expected(t)
    stat = float(((t - e) ** 2 / e).sum())
    df = (t.shape[0] - 1) * (t.shape[1] - 1)
    return stat, df, float(chdtrc(df, stat))


def fisher_test(table: Any, *, max_work: int = FISHER_MAX_WORK) -> float:
    """Two-sided p-value of Fisher's exact test for an r × c table (as R ``fisher.test``).

    The p-value is the total probability, under independence with all margins fixed
    (multivariate hypergeometric, ``P(T) = Π R_i! Π C_j! / (n! Π x_ij!)``), of the tables
    no more probable than the observed one (Fisher 1935; Freeman & Halton 1951), with R's
    relative tolerance 1e-7 for ties.

    2 × 2 tables: summed over the hypergeometric support, as R. Larger tables: a network
    algorithm (Mehta & Patel 1983) walks the columns, merging partial tables with the same
    remaining row totals and the same probability so far, and adds or discards whole
    sub-networks whose best / worst completion (bounded by relaxing one set of margins) is
    entirely below / above the observed probability.

    Parameters
    ----------
    table : array-like of non-negative int, shape (r, c)
    max_work : int
        Cap on the partial tables examined; beyond it a ValueError is raised rather than
        running for minutes. Tables of a clinical study (n of a few hundred, up to ~5 × 5)
        stay far below the default. For a larger table use the χ² test, or a Monte Carlo
        p-value (``scipy.stats.fisher_exact(table, method=scipy.stats.MonteCarloMethod())``).
    """
    t, _, _ = _nonempty(_as_table(table))
    if t.shape == (2, 2):
        return _fisher_2x2(t)
    return _fisher_rxc(t, max_work)


def _fisher_2x2(t: np.ndarray) -> float:
    """R: ``d <- dhyper(support, m, n, k); sum(d[d <= d[x - lo + 1] * (1 + 1e-7)])``."""
    m = int(t[:, 0].sum())
    n = int(t[:, 1].sum())
    k = int(t[0, :].sum())
    x = int(t[0, 0])
    lo, hi = max(0, k - n), min(k, m)
    s = np.arange(lo, hi + 1)
    # log dhyper(s; m, n, k) = log C(m, s) + log C(n, k - s) - log C(m + n, k)
    logd = _lchoose(m, s) + _lchoose(n, k - s) - _lchoose(m + n, np.array([k]))[0]
    d = np.exp(logd - logd.max())
    d /= d.sum()
    p = float(d[d <= d[x - lo] * (1.0 + FISHER_REL_TOL)].sum())
    return min(p, 1.0)


def _lchoose(n: int, k: np.ndarray) -> np.ndarray:
    return np.asarray(gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1), dtype=np.float64)


def _compositions(caps: np.ndarray, total: int) -> tuple[np.ndarray, np.ndarray]:
    """All integer vectors x with ``sum(x) = total`` and ``0 <= x <= caps[v]``, for every row v.

    Returns ``(parent, x)``: ``x[q]`` is a composition for caps row ``parent[q]``; ``parent`` is
    non-decreasing.
    """
    v, m = caps.shape
    rest = np.zeros((v, m + 1), dtype=np.int64)
    rest[:, :m] = np.cumsum(caps[:, ::-1], axis=1)[:, ::-1]  # rest[:, i] = caps[:, i:].sum()
    parent = np.arange(v)
    used = np.zeros(v, dtype=np.int64)
    parts: list[np.ndarray] = []
    for i in range(m):
        left = total - used
        lo = np.maximum(0, left - rest[parent, i + 1])
        hi = np.minimum(caps[parent, i], left)
        cnt = hi - lo + 1
        rep = np.repeat(np.arange(parent.shape[0]), cnt)
        offs = np.arange(rep.shape[0]) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        val = lo[rep] + offs
        parts = [p[rep] for p in parts]
        parts.append(val)
        parent = parent[rep]
        used = used[rep] + val
    return parent, np.column_stack(parts)


def _even(caps: np.ndarray, total: np.ndarray, lf: np.ndarray) -> np.ndarray:
    """max of ``−Σ log x_i!`` subject to ``Σ x_i = total``, ``0 <= x_i <= caps_i``, per row.

    ``caps`` (rows sorted ascending): the most even split (water-filling) is optimal because
    ``Σ log x!`` is Schur-convex.
    """
    u, m = caps.shape
    k = np.arange(m)
    before = np.zeros((u, m + 1), dtype=np.int64)
    before[:, 1:] = np.cumsum(caps, axis=1)
    left = total[:, None] - before[:, :m]
    capped = caps <= left // (m - k)
    not_capped = ~capped
    has = not_capped.any(axis=1)
    b = np.where(has, np.argmax(not_capped, axis=1), m)
    lf_caps = np.zeros((u, m + 1))
    lf_caps[:, 1:] = np.cumsum(lf[caps], axis=1)
    rows = np.arange(u)
    acc = lf_caps[rows, b]
    bb = np.minimum(b, m - 1)
    rem_left = left[rows, bb]
    n_rem = m - bb
    q, r = np.divmod(rem_left, n_rem)
    q = np.maximum(q, 0)
    acc = acc + np.where(has, r * lf[q + 1] + (n_rem - r) * lf[q], 0.0)
    return np.asarray(-acc)


def _concentrated(caps: np.ndarray, total: np.ndarray, lf: np.ndarray) -> np.ndarray:
    """min of ``−Σ log x_i!`` under the same constraints: fill the largest caps first.

    ``caps`` rows sorted descending; the greedy vector majorises every feasible one.
    """
    u, m = caps.shape
    before = np.zeros((u, m), dtype=np.int64)
    before[:, 1:] = np.cumsum(caps, axis=1)[:, : m - 1]
    take = np.clip(total[:, None] - before, 0, caps)
    return np.asarray(-lf[take].sum(axis=1))


def _bounds(keys: np.ndarray, cols: np.ndarray, lf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bounds on ``−Σ log x_ij!`` over all completions with row totals ``keys[u]`` (sorted
    ascending) and column totals ``cols``: an upper bound of the maximum and a lower bound of
    the minimum, each the tighter of two relaxations (drop the row totals, or the column
    totals, leaving independent columns, or rows)."""
    u = keys.shape[0]
    desc = keys[:, ::-1]
    ub1 = np.zeros(u)
    lb1 = np.zeros(u)
    for c in cols:
        tot = np.full(u, c, dtype=np.int64)
        ub1 += _even(keys, tot, lf)
        lb1 += _concentrated(desc, tot, lf)
    c_asc = np.broadcast_to(np.sort(cols), (u, cols.shape[0]))
    c_desc = c_asc[:, ::-1]
    ub2 = np.zeros(u)
    lb2 = np.zeros(u)
    for i in range(keys.shape[1]):
        ub2 += _even(c_asc, keys[:, i], lf)
        lb2 += _concentrated(c_desc, keys[:, i], lf)
    return np.minimum(ub1, ub2), np.maximum(lb1, lb2)


def _unique_rows(a: np.ndarray, max_value: int) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(a, axis=0, return_inverse=True)``, via one int64 code per row when the
    entries (all in ``0..max_value``) fit, which is several times faster."""
    base = max_value + 1
    if a.shape[1] * math.log2(base) < 62:
        weights = base ** np.arange(a.shape[1], dtype=np.int64)
        codes = a @ weights
        _, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
        return a[first], inverse.reshape(-1)
    keys, inverse = np.unique(a, axis=0, return_inverse=True)
    return keys, inverse.reshape(-1)


class FisherTooLargeError(IlpkitError, ValueError):
    """The exact r x c enumeration would exceed its work cap."""


MONTE_CARLO_RESAMPLES = 100_000
MONTE_CARLO_SEED = 20111030


def fisher_monte_carlo(
    table: Any, resamples: int = MONTE_CARLO_RESAMPLES, seed: int = MONTE_CARLO_SEED
) -> float:
    """Monte Carlo p-value of Fisher's exact test for an r x c table (fixed seed, reproducible).

    Tables with the observed margins are drawn by Patefield's algorithm (scipy.stats.random_table);
    ``p = (1 + #{simulated tables at most as probable as the observed one}) / (B + 1)``, as R
    ``fisher.test(simulate.p.value = TRUE, B = resamples)`` (Hope 1968). Used only where the
    exact network algorithm would exceed its work cap.
    """
    t = _as_table(table)
    rows, cols = t.sum(axis=1), t.sum(axis=0)
    rng = np.random.default_rng(seed)
    if t.shape[1] == 2:
        # r x 2: the first column is one multivariate hypergeometric draw from the row totals
        first = rng.multivariate_hypergeometric(rows.astype(np.int64), int(cols[0]), size=resamples)
        sims = np.stack([first, rows[None, :] - first], axis=2)
    else:
        from scipy.stats import random_table  # imported here: scipy.stats is slow to import

        sims = random_table(rows, cols, seed=rng).rvs(size=resamples)
    # log P(table) = const - sum(log x_ij!); "at most as probable" = larger sum(log x!)
    observed = float(gammaln(t + 1.0).sum())
    simulated = gammaln(sims + 1.0).sum(axis=(1, 2))
    almost = 1e-7 * max(1.0, abs(observed))  # R's relative tolerance for ties in probability
    count = int((simulated >= observed - almost).sum())
    return (1 + count) / (resamples + 1)


def _too_large(t: np.ndarray, ntot: int, max_work: int) -> ValueError:
    return FisherTooLargeError(
        f"table {t.shape[0]}x{t.shape[1]} with n={ntot} is too large for the exact "
        f"r x c Fisher test (work cap {max_work:,} exceeded); use the chi-squared test or a "
        "Monte Carlo p-value (scipy.stats.fisher_exact with "
        "method=scipy.stats.MonteCarloMethod())"
    )


def _fisher_rxc(t: np.ndarray, max_work: int) -> float:
    """Network algorithm; see :func:`fisher_test`.

    Stage j assigns column j. A node is the multiset of remaining row totals (sorted); an
    entry is (node, kernel value so far ``−Σ log x!``, number of partial tables). At each
    stage, entries whose every completion is at most as probable as the observed table are
    added in closed form (``Σ_completions Π 1/x! = N'! / (Π r! Π c!)``), entries none of whose
    completions can qualify are dropped, the rest branch on the next column. The last two
    columns are summed exactly.
    """
    if t.shape[0] > t.shape[1]:
        t = t.T  # the state (remaining row totals) is the shorter dimension
    ntot = int(t.sum())
    # columns smallest first (measured fastest: early stages branch little, and the
    # remaining-row states then merge well)
    cols = np.sort(t.sum(axis=0))
    lf = gammaln(np.arange(ntot + 2, dtype=np.float64) + 1.0)
    const = float(lf[t.sum(axis=1)].sum() + lf[cols].sum() - lf[ntot])
    thr = float(-lf[t].sum()) + FISHER_REL_TOL  # log scale: relative tolerance on P
    keys = np.sort(t.sum(axis=1))[None, :].astype(np.int64)
    node = np.zeros(1, dtype=np.intp)
    past = np.zeros(1)
    mult = np.ones(1)
    pval = 0.0
    work = 0
    ncol = cols.shape[0]
    for j in range(ncol - 1):
        rem = cols[j:]
        ub, lb = _bounds(keys, rem, lf)
        log_all = lf[keys.sum(axis=1)] - lf[keys].sum(axis=1) - lf[rem].sum()
        take = past + ub[node] <= thr
        if take.any():
            pval += float(np.sum(mult[take] * np.exp(const + past[take] + log_all[node[take]])))
        keep = ~take & (past + lb[node] <= thr)
        if not keep.any():
            break
        node, past, mult = node[keep], past[keep], mult[keep]
        used, node_local = np.unique(node, return_inverse=True)
        node_local = node_local.reshape(-1)
        caps = keys[used]
        parent, x = _compositions(caps, int(cols[j]))
        step = -lf[x].sum(axis=1)
        rest = caps[parent] - x
        n_nodes = used.shape[0]
        ne = np.bincount(node_local, minlength=n_nodes)
        nc = np.bincount(parent, minlength=n_nodes)
        work += int(x.shape[0]) + int(np.dot(ne, nc))
        if work > max_work:
            raise _too_large(t, ntot, max_work)
        e_start = np.cumsum(ne) - ne
        c_start = np.cumsum(nc) - nc
        if j == ncol - 2:
            # the last column is forced: sum the completed tables exactly, node by node
            value = step - lf[rest].sum(axis=1)
            for v in range(n_nodes):
                vals = np.sort(value[c_start[v] : c_start[v] + nc[v]])
                top = vals[-1]
                csum = np.concatenate(([0.0], np.cumsum(np.exp(vals - top))))
                pe = past[e_start[v] : e_start[v] + ne[v]]
                pos = np.searchsorted(vals, thr - pe, side="right")
                me = mult[e_start[v] : e_start[v] + ne[v]]
                pval += float(np.sum(me * np.exp(const + pe + top) * csum[pos]))
            break
        rest.sort(axis=1)
        # every open entry of a node pairs with every child of that node
        sizes = ne * nc
        seg = np.repeat(np.arange(n_nodes), sizes)
        within = np.arange(seg.shape[0]) - np.repeat(np.cumsum(sizes) - sizes, sizes)
        ei = e_start[seg] + within // nc[seg]
        ci = c_start[seg] + within % nc[seg]
        keys, child_code = _unique_rows(rest, ntot)
        code = child_code[ci]
        new_past = past[ei] + step[ci]
        new_mult = mult[ei]
        # merge entries with the same node and (to 1e-9) the same kernel value
        pkey = np.round(new_past * 1e9).astype(np.int64)
        order = np.lexsort((pkey, code))
        code, pkey = code[order], pkey[order]
        first = np.flatnonzero(
            np.concatenate(([True], (code[1:] != code[:-1]) | (pkey[1:] != pkey[:-1])))
        )
        node = code[first]
        past = new_past[order][first]
        mult = np.add.reduceat(new_mult[order], first)
    return min(pval, 1.0)


# --------------------------------------------------------------------------- comparison
TestChoice = Literal["auto", "chi2", "fisher"]


def compare_groups(
    x: Any,
    y: Any = None,
    *,
    test: TestChoice = "auto",
    row_order: Sequence[Any] | None = None,
    col_order: Sequence[Any] | None = None,
    data: Any = None,
    max_work: int = FISHER_MAX_WORK,
) -> GroupComparisonResult:
    """Compare the distribution of a categorical variable between groups.

    Rule (``test="auto"``): Pearson χ² without continuity correction when every expected
    count is >= 5, otherwise Fisher's exact test (two-sided, any r × c). The test used is
    reported in ``result.test`` with the reason.

    Parameters
    ----------
    x : array-like, column name, or 2-D table
        Group of each subject (rows of the table) — or, with ``y`` omitted, a contingency table
        of counts (2-D array or DataFrame).
    y : array-like or column name, optional
        The categorical outcome of each subject (columns of the table).
    test : {"auto", "chi2", "fisher"}, default "auto"
        Force a test, or apply the rule above.
    row_order, col_order : sequence, optional
        Label order of rows / columns (array input).
    data : pandas.DataFrame, optional
        If given, ``x`` and ``y`` may be column names.
    max_work : int
        See :func:`fisher_test`.

    Returns
    -------
    GroupComparisonResult
    """
    if test not in ("auto", "chi2", "fisher"):
        raise ValueError(f"test must be 'auto', 'chi2' or 'fisher', got {test!r}")
    if y is None:
        raw = _as_table(column(data, x, "x"))
        rl = list(range(raw.shape[0]))
        cl = list(range(raw.shape[1]))
        if hasattr(x, "index") and hasattr(x, "columns"):
            rl, cl = list(x.index), list(x.columns)
        n_missing = 0
    else:
        ct = contingency_table(
            column(data, x, "x"), column(data, y, "y"), row_order=row_order, col_order=col_order
        )
        raw, rl, cl, n_missing = np.asarray(ct.table), ct.row_labels, ct.col_labels, ct.n_missing
    t, rk, ck = _nonempty(raw)
    e = _expected(t)
    min_e = float(e.min())
    use: Literal["chi2", "fisher"]
    if test == "auto":
        use = "chi2" if min_e >= 5 else "fisher"
        reason = (
            f"all expected counts >= 5 (smallest {min_e:.2f}): Pearson chi-squared test"
            if use == "chi2"
            else f"an expected count < 5 (smallest {min_e:.2f}): Fisher's exact test"
        )
    else:
        use = test
        name = "Pearson chi-squared" if use == "chi2" else "Fisher's exact"
        reason = f"{name} test requested"
    if use == "chi2":
        stat, df, p = chi2_test(t)
        statistic: float | None = stat
        dfo: int | None = df
    else:
        statistic, dfo = None, None
        try:
            p = fisher_test(t, max_work=max_work)
        except FisherTooLargeError:
            p = fisher_monte_carlo(t)
            reason += (
                f"; the table is too large for exact enumeration, so the p-value is a Monte Carlo "
                f"estimate ({MONTE_CARLO_RESAMPLES:,} tables with the same margins, fixed seed "
                f"{MONTE_CARLO_SEED}; as R fisher.test(simulate.p.value = TRUE))"
            )
    return GroupComparisonResult(
        test=use,
        statistic=statistic,
        df=dfo,
        p_value=p,
        table=readonly(t),
        expected=readonly(e),
        row_labels=[rl[i] for i in rk],
        col_labels=[cl[i] for i in ck],
        n=int(t.sum()),
        n_missing=n_missing,
        reason=reason,
    )
