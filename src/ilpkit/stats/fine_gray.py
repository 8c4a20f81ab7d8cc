"""Fine-Gray proportional subdistribution hazards regression, matching R's ``cmprsk::crr``.

With competing events (death before a local recurrence), the cumulative incidence of the event of
interest, ``F_1(t) = P(T <= t, cause = 1)``, is modelled through its subdistribution hazard
(Fine & Gray 1999)::

    lambda_1(t | x) = -d log(1 - F_1(t | x)) / dt = lambda_10(t) exp(x' beta)

so ``exp(beta)`` is a subdistribution hazard ratio (SHR) and, for a new covariate vector ``x``,
``F_1(t | x) = 1 - exp(-exp(x' beta) Lambda_10(t))``.

Estimation follows Robert Gray's Fortran in cmprsk 2.2-11 (subroutines ``crrfsv``, ``crrf``,
``crrvv``, ``crrfit``) step for step, with its conventions:

* rows are sorted by time; status ``failcode`` is the event of interest, ``cencode`` censoring,
  any other value a competing event;
* the censoring distribution ``G`` is the Kaplan-Meier estimate of ``Surv(time, status ==
  cencode)`` (all rows, one censoring group), read just before each row's time: ``G(t-)``
  (crr evaluates it at ``t (1 - 100 eps)``, so at ``t = 0`` it is ``G(0)``);
* at a failure time ``u`` the risk set holds every row with ``t >= u`` (weight 1) and every row
  with a competing event before ``u`` (weight ``G(u-) / G(t-)``); censored rows and earlier
  failures leave it;
* tied failure times are handled as Breslow's approximation (``d_u / S0(u)``);
* the Newton-Raphson starts at ``beta = 0``, stops when ``max_j |U_j| max(|beta_j|, 1) <
  max(|lik|, 1) gtol`` (``gtol = 1e-6``), takes at most ``maxiter = 10`` steps, each shortened
  by halving until the (negated) log pseudo-likelihood falls by at least ``1e-4`` of the
  predicted decrease (at most 20 halvings);
* the variance is crr's sandwich ``I^-1 (sum_i (eta_i + psi_i)(eta_i + psi_i)') I^-1``, with
  ``eta_i`` the score residual of row ``i`` and ``psi_i`` the term for the estimated censoring
  distribution (Fine & Gray 1999, section 3);
* the baseline cumulative subdistribution hazard jumps by ``d_u / S0(u)`` at each distinct
  failure time (``crrfit``), and ``predict.crr`` gives ``1 - exp(-exp(x' beta) Lambda_10(t))``
  at those times.

The Fortran loops over all pairs of rows (``O(n^2)`` per iteration); here every risk-set sum is a
running sum over the sorted rows (``G(u-) sum_{t_j < u} r_j / G(t_j-)`` for the competing
events), so a fit takes ``O(n p^2)`` per iteration after one sort. The covariates are centred
internally, which changes neither the estimates nor the variance (the baseline hazard is
reported, as by crr, for uncentred covariates).

Not supported: time-varying coefficients (crr's ``cov2``/``tf``), several censoring groups
(``cengroup``), ``subset``/``init``, and R survfit's ``timefix`` merging of times that differ
only by rounding noise.

References
----------
Fine JP, Gray RJ (1999). A proportional hazards model for the subdistribution of a competing
risk. JASA 94:496-509.
Gray RJ (2024). cmprsk: Subdistribution Analysis of Competing Risks. R package 2.2-11.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ilpkit.stats._distributions import normal_quantile, normal_two_sided_p
from ilpkit.stats._survival_arrays import check_times
from ilpkit.stats._survival_arrays import jsonable as _plain

__all__ = ["FineGrayResult", "fit_fine_gray"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

_EPS = float(np.finfo(float).eps)
_EXP_SAFE = 600.0


@dataclass(frozen=True, eq=False)
class FineGrayResult:
    """A fitted Fine-Gray model, laid out as R's ``summary.crr`` prints it.

    Attributes
    ----------
    columns : tuple of str
        Design-matrix column names.
    coef, se, z, p_value : ndarray
        ``beta``, ``sqrt(diag(var))`` (crr's sandwich variance), ``beta / se`` and
        ``2 (1 - Phi(|z|))``.
    sdhr, sdhr_lower, sdhr_upper : ndarray
        Subdistribution hazard ratio ``exp(beta)`` and ``exp(beta -/+ z_{1-a/2} se)``.
    covariance : ndarray, shape (p, p)
        crr's ``var``.
    information : ndarray, shape (p, p)
        crr's ``inf``: minus the second derivative of the log pseudo-likelihood.
    loglik, loglik_null : float
        Log pseudo-likelihood at ``beta`` and at 0 (crr's ``loglik``, ``loglik.null``).
    score : ndarray
        Score at ``beta`` (crr's ``score``).
    failure_times : ndarray
        Distinct times of the event of interest, increasing (crr's ``uftime``).
    baseline_jumps : ndarray
        Jumps of the baseline cumulative subdistribution hazard at ``failure_times`` for
        uncentred covariates (crr's ``bfitj``).
    max_time : float
        Largest follow-up time: predictions are defined on ``[0, max_time]``.
    n, n_events, n_competing, n_censored : int
    converged : bool
    iterations : int
        Newton-Raphson steps taken.
    conf_level : float
    """

    columns: tuple[str, ...]
    coef: FloatArray
    se: FloatArray
    z: FloatArray
    p_value: FloatArray
    sdhr: FloatArray
    sdhr_lower: FloatArray
    sdhr_upper: FloatArray
    covariance: FloatArray
    information: FloatArray
    loglik: float
    loglik_null: float
    score: FloatArray
    failure_times: FloatArray
    baseline_jumps: FloatArray
    max_time: float
    n: int
    n_events: int
    n_competing: int
    n_censored: int
    converged: bool
    iterations: int
    conf_level: float

    def predict(self, x_new: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
        """Cumulative incidence of the event of interest for new covariate rows (``predict.crr``).

        Parameters
        ----------
        x_new : array_like, shape (p,) or (k, p)
            Covariate values in the columns of the fit (uncentred).

        Returns
        -------
        (times, cif)
            ``failure_times`` and ``1 - exp(-exp(x' beta) cumsum(baseline_jumps))``, shape
            ``(m,)`` for one row, ``(m, k)`` for ``k`` rows, as R's ``predict(fit, cov1)``.
        """
        x = np.asarray(x_new, dtype=float)
        one = x.ndim == 1
        x2 = np.atleast_2d(x)
        if x2.shape[1] != self.coef.shape[0]:
            raise ValueError(
                f"x_new has {x2.shape[1]} columns but the model has {self.coef.shape[0]}"
            )
        if not np.all(np.isfinite(x2)):
            raise ValueError("x_new must be finite numbers")
        cum = np.cumsum(self.baseline_jumps)
        lhat = cum[:, None] * np.exp(x2 @ self.coef)[None, :]
        cif: FloatArray = 1.0 - np.exp(-lhat)
        return self.failure_times.copy(), cif[:, 0] if one else cif

    def cif_at(self, x_new: npt.ArrayLike, times: npt.ArrayLike) -> FloatArray:
        """Predicted cumulative incidence at ``times``: the step value at or before each time.

        0 before the first failure time; NaN before 0 or after ``max_time`` (no
        extrapolation beyond the follow-up). Shape ``(len(times),)`` for one covariate row,
        ``(len(times), k)`` for ``k`` rows.
        """
        tp = np.atleast_1d(np.asarray(times, dtype=float))
        ft, cif = self.predict(x_new)
        idx = np.searchsorted(ft, tp, side="right") - 1
        padded = np.concatenate([np.zeros((1, *cif.shape[1:])), cif], axis=0)
        out: FloatArray = padded[idx + 1].astype(float)
        outside = (tp < 0) | (tp > self.max_time)
        out[outside] = np.nan
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python, JSON-serialisable form (NaN -> None)."""
        return {
            "columns": list(self.columns),
            "coef": _plain(self.coef),
            "se": _plain(self.se),
            "z": _plain(self.z),
            "p_value": _plain(self.p_value),
            "sdhr": _plain(self.sdhr),
            "sdhr_lower": _plain(self.sdhr_lower),
            "sdhr_upper": _plain(self.sdhr_upper),
            "covariance": _plain(self.covariance),
            "loglik": _plain(self.loglik),
            "loglik_null": _plain(self.loglik_null),
            "n": self.n,
            "n_events": self.n_events,
            "n_competing": self.n_competing,
            "n_censored": self.n_censored,
            "converged": self.converged,
            "iterations": self.iterations,
            "conf_level": self.conf_level,
        }


# ---------------------------------------------------------------------------------------------
# data layout
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class _Layout:
    """Rows sorted by time (ascending), the censoring weights and the failure-time index."""

    xt: FloatArray  # (p, n) centred covariates, sorted
    time: FloatArray  # (n,)
    failure: npt.NDArray[np.bool_]  # event of interest
    competing: npt.NDArray[np.bool_]
    censored: npt.NDArray[np.bool_]
    g_row: FloatArray  # G(t_i-) of each row (crr's convention)
    comp_inv_g: FloatArray  # 1 / G(t_i-) on competing rows, 0 elsewhere
    first_row: IntArray  # (K,) first sorted row of each distinct failure time
    d: FloatArray  # (K,) failures at each distinct failure time
    g_fail: FloatArray  # (K,) G(u_k-)
    n_fail_le: IntArray  # (n,) distinct failure times <= t_i
    x_fail_sum: FloatArray  # (p,) sum of x over failures
    fail_times: FloatArray  # (K,)


def _censoring_weights(t: FloatArray, censored: npt.NDArray[np.bool_]) -> FloatArray:
    """``G(t_i (1 - 100 eps))`` of the Kaplan-Meier estimate of the censoring distribution,
    exactly as crr reads it (``approx(..., method = "constant", f = 0)``): ``G(t-)`` for
    ``t > 0`` and ``G(0)`` at ``t = 0``. ``t`` is sorted ascending."""
    n = t.shape[0]
    new = np.empty(n, dtype=bool)
    new[0] = True
    np.not_equal(t[1:], t[:-1], out=new[1:])
    block = np.cumsum(new) - 1
    starts = np.flatnonzero(new)
    at_risk = n - starts  # rows with time >= the block's time
    n_cens = np.bincount(block, weights=censored.astype(float), minlength=starts.shape[0])
    km = np.cumprod(1.0 - n_cens / at_risk)  # G just after each distinct time
    before = np.concatenate(([1.0], km[:-1]))
    g_block = before.copy()
    if t[0] == 0.0:  # crr evaluates at 0 itself: the jump at time 0 is included
        g_block[0] = km[0]
    out: FloatArray = g_block[block]
    return out


def _layout(
    x: FloatArray, t: FloatArray, failure: npt.NDArray[np.bool_], censored: npt.NDArray[np.bool_]
) -> tuple[_Layout, IntArray, FloatArray]:
    order: IntArray = np.argsort(t, kind="stable")
    ts = t[order]
    fs = failure[order]
    cs = censored[order]
    xs = np.ascontiguousarray(np.take(x, order, axis=0).T)
    mean = xs.mean(axis=1)
    xs -= mean[:, None]
    g = _censoring_weights(ts, cs)
    fail_rows = np.flatnonzero(fs)
    ft = ts[fail_rows]
    new = np.ones(ft.shape[0], dtype=bool)
    new[1:] = ft[1:] != ft[:-1]
    fail_times = ft[new]
    d = np.diff(np.append(np.flatnonzero(new), ft.shape[0])).astype(float)
    first_row = np.searchsorted(ts, fail_times, side="left").astype(np.intp)
    layout = _Layout(
        xt=xs,
        time=ts,
        failure=fs,
        competing=~fs & ~cs,
        censored=cs,
        g_row=g,
        comp_inv_g=np.where(~fs & ~cs, 1.0 / g, 0.0),
        first_row=first_row,
        d=d,
        g_fail=g[first_row],
        n_fail_le=np.searchsorted(fail_times, ts, side="right").astype(np.intp),
        x_fail_sum=xs[:, fail_rows].sum(axis=1),
        fail_times=fail_times,
    )
    return layout, order, mean


# ---------------------------------------------------------------------------------------------
# the pseudo-likelihood
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class _Sums:
    eta: FloatArray
    risk: FloatArray  # exp(eta - shift)
    shift: float
    s0: FloatArray  # (K,)
    s1: FloatArray  # (p, K)
    comp_w: FloatArray  # (n,) r_j / G(t_j-) on competing rows, else 0


def _before(values: FloatArray, rows: IntArray) -> FloatArray:
    """Sums of ``values`` (last axis) over the rows before each of the increasing ``rows``."""
    if rows.shape[0] == 0:
        return np.zeros((*values.shape[:-1], 0))
    seg = np.add.reduceat(values, np.concatenate(([0], rows)), axis=-1)[..., :-1]
    if rows[0] == 0:  # reduceat gives values[0] for an empty first segment
        seg[..., 0] = 0.0
    out: FloatArray = np.cumsum(seg, axis=-1)
    return out


def _from(values: FloatArray, rows: IntArray) -> FloatArray:
    """Sums of ``values`` (last axis) over the rows from each of the increasing ``rows`` on."""
    seg = np.add.reduceat(values, rows, axis=-1)
    out: FloatArray = np.cumsum(seg[..., ::-1], axis=-1)[..., ::-1]
    return out


def _sums(lay: _Layout, beta: FloatArray, with_s1: bool = True) -> _Sums:
    """Risk-set sums ``S0(u_k)``, ``S1(u_k)`` at each distinct failure time.

    ``S(u) = sum_{t_j >= u} r_j x_j + G(u-) sum_{competing, t_j < u} r_j x_j / G(t_j-)``: two
    segment sums between the first rows of the failure times, cumulated."""
    eta = beta @ lay.xt
    top = float(eta.max()) if eta.size else 0.0
    shift = top - _EXP_SAFE if top > _EXP_SAFE else 0.0
    r = np.exp(eta - shift) if shift else np.exp(eta)
    fr = lay.first_row
    comp_w = r * lay.comp_inv_g
    s0 = _from(r, fr) + lay.g_fail * _before(comp_w, fr)
    if with_s1:
        s1 = _from(lay.xt * r, fr) + lay.g_fail * _before(lay.xt * comp_w, fr)
    else:
        s1 = np.zeros((lay.xt.shape[0], 0))
    return _Sums(eta=eta, risk=r, shift=shift, s0=s0, s1=s1, comp_w=comp_w)


def _neg_loglik(lay: _Layout, sums: _Sums) -> float:
    """crr's objective ``lik``: minus the log pseudo-likelihood."""
    eta_fail = float(sums.eta[lay.failure].sum())
    return -eta_fail + float(np.dot(lay.d, np.log(sums.s0) + sums.shift))


def _row_weights(lay: _Layout, a: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Per row: ``sum_{u_k <= t_i} a_k`` and, for competing rows, ``sum_{u_k > t_i} G(u_k-)
    a_k / G(t_i-)`` (zero on other rows)."""
    cum = np.concatenate(([0.0], np.cumsum(a)))
    ga = lay.g_fail * a
    cum_g = np.concatenate(([0.0], np.cumsum(ga)))
    m = lay.n_fail_le
    w1 = cum[m]
    w2 = (cum_g[-1] - cum_g[m]) * lay.comp_inv_g
    return w1, w2


def _fsv(lay: _Layout, beta: FloatArray) -> tuple[float, FloatArray, FloatArray, _Sums]:
    """crr's ``crrfsv``: objective, its gradient and Hessian (the information)."""
    sums = _sums(lay, beta)
    lik = _neg_loglik(lay, sums)
    a = lay.d / sums.s0
    grad = -lay.x_fail_sum + sums.s1 @ a
    w1, w2 = _row_weights(lay, a)
    w = (w1 + w2) * sums.risk
    info = (lay.xt * w) @ lay.xt.T - (sums.s1 * (a / sums.s0)) @ sums.s1.T
    return lik, grad, info, sums


def _f(lay: _Layout, beta: FloatArray) -> float:
    """crr's ``crrf``: the objective only."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return _neg_loglik(lay, _sums(lay, beta, with_s1=False))


def _score_terms(lay: _Layout, sums: _Sums) -> FloatArray:
    """``eta_i + psi_i`` of every row (crr's ``crrvv``), shape ``(p, n)``, sorted order.

    ``eta_i = delta_i (x_i - xbar(t_i)) - r_i sum_{u <= t_i} (x_i - xbar(u)) dL(u)
    - [competing] r_i / G(t_i-) sum_{u > t_i} G(u-) (x_i - xbar(u)) dL(u)`` with ``dL = d / S0``,
    and ``psi_i = [censored] q(t_i) / Y(t_i) - sum_{censoring times c <= t_i} m_c q(c) / Y(c)^2``
    with ``q(c) = sum_{u >= c} G(u-) dL(u) (C1(c) - xbar(u) C0(c))``, ``C0, C1`` the sums of
    ``r_j / G(t_j-)`` (and ``r_j x_j / G(t_j-)``) over competing events before ``c``, ``Y`` the
    number at risk and ``m_c`` the censorings at ``c`` (Fine & Gray 1999; crr's loops).
    """
    xt = lay.xt
    p, n = xt.shape
    a = lay.d / sums.s0  # (K,)
    xbar = sums.s1 / sums.s0  # (p, K)
    r = sums.risk
    m = lay.n_fail_le
    zero = np.zeros((p, 1))
    cum_a = np.concatenate(([0.0], np.cumsum(a)))
    cum_m1 = np.concatenate((zero, np.cumsum(xbar * a, axis=1)), axis=1)
    ga = lay.g_fail * a
    cum_g = np.concatenate(([0.0], np.cumsum(ga)))
    cum_gm = np.concatenate((zero, np.cumsum(xbar * ga, axis=1)), axis=1)
    comp_scale = sums.comp_w
    w = r * cum_a[m] + comp_scale * (cum_g[-1] - cum_g[m])
    fail = np.flatnonzero(lay.failure)
    k_of_fail = m[fail] - 1
    res = np.empty((p, n))
    for j in range(p):  # row by row: no (p, n) temporaries
        row = res[j]
        np.multiply(xt[j], -w, out=row)
        row += r * cum_m1[j, m]
        row += comp_scale * (cum_gm[j, -1] - cum_gm[j, m])
        row[fail] += xt[j, fail] - xbar[j, k_of_fail]
    if not lay.censored.any():
        return res
    # psi: the estimated censoring distribution, over the blocks of tied times
    t = lay.time
    new = np.empty(n, dtype=bool)
    new[0] = True
    np.not_equal(t[1:], t[:-1], out=new[1:])
    block = np.cumsum(new) - 1
    starts = np.flatnonzero(new)
    m_cens = np.bincount(block, weights=lay.censored.astype(float), minlength=starts.shape[0])
    cb = np.flatnonzero(m_cens > 0)  # blocks with a censoring
    cb_start = starts[cb]
    y = (n - cb_start).astype(float)  # at risk
    cw = sums.comp_w
    c0 = _before(cw, cb_start)
    c1 = _before(xt * cw, cb_start)
    k_lt = np.searchsorted(lay.fail_times, t[cb_start], side="left")  # failures u >= c
    v0 = cum_g[-1] - cum_g[k_lt]
    vx = cum_gm[:, -1:] - cum_gm[:, k_lt]
    q = c1 * v0 - c0 * vx  # (p, C)
    ss2 = -np.cumsum(q * (m_cens[cb] / (y * y)), axis=1)
    # ss2 of the last censoring block at or before each row's (0 before the first)
    pos = np.searchsorted(cb, block, side="right")
    ss2 = np.concatenate((np.zeros((p, 1)), ss2), axis=1)
    cens = np.flatnonzero(lay.censored)
    pos_c = pos[cens] - 1
    for j in range(p):
        res[j] += ss2[j, pos]
        res[j, cens] += q[j, pos_c] / y[pos_c]
    return res


# ---------------------------------------------------------------------------------------------
# fitting
# ---------------------------------------------------------------------------------------------
def _status_codes(status: npt.ArrayLike, n: int) -> Any:
    s = np.asarray(status)
    if s.ndim != 1:
        raise ValueError(f"status must be one-dimensional; got shape {s.shape}")
    if s.shape[0] != n:
        raise ValueError(f"status has {s.shape[0]} values but time has {n}")
    if s.dtype.kind == "f" and np.isnan(s).any():
        i = int(np.flatnonzero(np.isnan(s))[0])
        raise ValueError(f"status has a missing value at row {i}; drop or complete that row")
    if s.dtype.kind == "O" and any(v is None for v in s):
        i = next(j for j, v in enumerate(s) if v is None)
        raise ValueError(f"status has a missing value at row {i}; drop or complete that row")
    return s


def fit_fine_gray(
    x: npt.ArrayLike,
    time: npt.ArrayLike,
    status: npt.ArrayLike,
    *,
    failcode: Any = 1,
    cencode: Any = 0,
    names: Sequence[str] | None = None,
    conf_level: float = 0.95,
    max_iter: int = 10,
    gtol: float = 1e-6,
) -> FineGrayResult:
    """Fit a Fine-Gray subdistribution hazards model exactly as ``cmprsk::crr``.

    Parameters
    ----------
    x : array_like, shape (n, p)
        Design matrix (factors as 0/1 dummies); crr's ``cov1``.
    time : array_like, shape (n,)
        Follow-up time (>= 0).
    status : array_like, shape (n,)
        ``failcode`` = event of interest, ``cencode`` = censored, any other value = a
        competing event.
    failcode, cencode
        Codes of the event of interest and of censoring (crr's defaults 1 and 0).
    names : sequence of str, optional
        Column names (default ``x1, x2, ...``, or a DataFrame's columns).
    conf_level : float
        Level of the intervals of ``exp(beta)``.
    max_iter : int
        crr's ``maxiter`` (Newton-Raphson steps).
    gtol : float
        crr's ``gtol`` (convergence on the score).

    Returns
    -------
    FineGrayResult

    Raises
    ------
    ValueError
        On malformed input, no event of interest, a constant column or a singular
        information matrix.

    Examples
    --------
    >>> res = fit_fine_gray([[0.], [1.], [0.], [1.], [0.], [1.]], [1, 2, 3, 4, 5, 6],
    ...                     [1, 2, 1, 0, 2, 1], names=["arm"])
    >>> res.n_events, res.n_competing, res.n_censored
    (3, 2, 1)
    """
    if not 0 < conf_level < 1:
        raise ValueError(f"conf_level must be between 0 and 1; got {conf_level!r}")
    if max_iter < 0 or int(max_iter) != max_iter:
        raise ValueError(f"max_iter must be a non-negative integer; got {max_iter!r}")
    if names is None and hasattr(x, "columns"):
        names = [str(c) for c in x.columns]
    t = check_times(time).astype(np.float64)
    n = t.shape[0]
    if n == 0:
        raise ValueError("no observations: time is empty")
    s = _status_codes(status, n)
    xa = np.asarray(x, dtype=float)
    if xa.ndim == 1:
        xa = xa[:, None]
    if xa.ndim != 2 or xa.shape[0] != n:
        raise ValueError(f"the design matrix must have {n} rows (one per time); got {xa.shape}")
    p = xa.shape[1]
    if p == 0:
        raise ValueError("the design matrix has no columns; a Fine-Gray model needs a covariate")
    cols = tuple(f"x{i + 1}" for i in range(p)) if names is None else tuple(str(c) for c in names)
    if len(cols) != p:
        raise ValueError(f"{len(cols)} names given for {p} design-matrix columns")
    bad = ~np.isfinite(xa)
    if bad.any():
        j = int(np.flatnonzero(bad.any(axis=0))[0])
        raise ValueError(
            f"covariate {cols[j]!r} has {int(bad[:, j].sum())} missing or infinite value(s); "
            "drop or impute those rows first"
        )
    constant = [cols[j] for j in range(p) if np.all(xa[:, j] == xa[0, j])]
    if constant:
        raise ValueError(f"covariate {constant[0]!r} is constant; it cannot be estimated")
    failure = np.asarray(s == failcode, dtype=bool)
    censored = np.asarray(s == cencode, dtype=bool)
    n_events = int(failure.sum())
    if n_events == 0:
        raise ValueError(
            f"no event of interest (status {failcode!r}) among {n} rows: a Fine-Gray model "
            "needs at least one"
        )
    lay, _order, mean = _layout(xa, t, failure, censored)

    beta = np.zeros(p)
    converged = False
    iterations = 0
    lik = math.nan
    grad = np.full(p, np.nan)
    info = np.full((p, p), np.nan)
    last_sums: _Sums | None = None
    for ll in range(int(max_iter) + 1):
        lik, grad, info, last_sums = _fsv(lay, beta)
        iterations = ll
        if np.max(np.abs(grad) * np.maximum(np.abs(beta), 1.0)) < max(abs(lik), 1.0) * gtol:
            converged = True
            break
        if ll == max_iter:
            break
        try:
            step = -np.linalg.solve(info, grad)
        except np.linalg.LinAlgError as exc:
            raise _singular(cols) from exc
        new = beta + step
        f_new = _f(lay, new)
        halvings = 0
        while not math.isfinite(f_new) or f_new > lik + 1e-4 * float(step @ grad):
            halvings += 1
            step = step * 0.5
            new = beta + step
            f_new = _f(lay, new)
            if halvings > 20:
                break
        if halvings > 20:
            break
        beta = new
    sums = None
    if not converged:
        lik, grad, info, sums = _fsv(lay, beta)
    else:
        sums = last_sums
    assert sums is not None
    try:
        h = np.linalg.inv(info)
    except np.linalg.LinAlgError as exc:
        raise _singular(cols) from exc
    if not np.all(np.isfinite(h)) or np.any(np.diag(info) <= 0):
        raise _singular(cols)
    res = _score_terms(lay, sums)
    meat = res @ res.T
    var = h @ meat @ h.T
    se = np.sqrt(np.diag(var))
    z = beta / se
    pval = normal_two_sided_p(z)
    zcrit = normal_quantile(0.5 + conf_level / 2)
    # crr's bfitj for uncentred covariates: d / S0 with S0 of the raw covariates
    jumps = lay.d / sums.s0 * math.exp(-(float(mean @ beta) + sums.shift))
    lik0 = _f(lay, np.zeros(p))
    with np.errstate(over="ignore"):
        sdhr = np.exp(beta)
        lower = np.exp(beta - zcrit * se)
        upper = np.exp(beta + zcrit * se)
    return FineGrayResult(
        columns=cols,
        coef=beta,
        se=se,
        z=z,
        p_value=pval,
        sdhr=sdhr,
        sdhr_lower=lower,
        sdhr_upper=upper,
        covariance=var,
        information=info,
        loglik=-lik,
        loglik_null=-lik0,
        score=-grad,
        failure_times=lay.fail_times,
        baseline_jumps=jumps,
        max_time=float(t.max()),
        n=n,
        n_events=n_events,
        n_competing=int(lay.competing.sum()),
        n_censored=int(censored.sum()),
        converged=converged,
        iterations=iterations,
        conf_level=conf_level,
    )


def _singular(cols: Sequence[str]) -> ValueError:
    return ValueError(
        "the information matrix is singular: the terms "
        + ", ".join(repr(c) for c in cols)
        + " are collinear, or a term does not vary among the patients at risk"
    )
