"""Binary logistic regression by iteratively reweighted least squares: R's ``glm(binomial)``.

:func:`fit_logistic` fits ``logit P(y = 1) = b0 + x b`` by Fisher scoring (for the canonical
logit link this is Newton-Raphson) and returns coefficients, standard errors from the inverse
Fisher information, Wald z statistics and p-values, Wald 95% intervals, deviances and the
likelihood-ratio test of the model, as ``summary(glm(y ~ x, family = binomial))`` gives them
(checked against R to a relative 1e-6 in tests/reference/test_toxicity_vs_r.py).

No exception is raised for data that cannot carry the model: the result is marked
``estimable = False`` with the reason (no events, events in every record, fewer records than
coefficients, collinear terms, complete or quasi-complete separation, no convergence).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import special

MAX_ITERATIONS = 100
"""Fisher-scoring iterations at most (R's default is 25 with a looser tolerance)."""
TOLERANCE = 1e-12
"""Convergence: relative change of the deviance below this (R: ``glm.control(epsilon)``,
default 1e-8; tighter here, so that the estimates are those of the maximum itself)."""
SEPARATION_PROBABILITY = 1e-10
"""A fitted probability closer than this to 0 or 1 means (quasi-)complete separation: the
maximum-likelihood estimate does not exist (R warns 'fitted probabilities numerically 0 or 1
occurred')."""


@dataclass(frozen=True, slots=True)
class LogisticResult:
    """A fitted logistic model, or why it could not be fitted.

    Attributes
    ----------
    names : tuple of str
        ``(Intercept)`` then the term names, in column order.
    coef, se, z, p, lower, upper : ndarray
        Coefficients (log odds ratios), standard errors, Wald z, two-sided p-values and the
        Wald 95% interval ``coef -/+ 1.959964 se``; NaN when not estimable.
    n : int
        Records fitted.
    events : int
        Records with ``y = 1``.
    deviance, null_deviance : float
        ``-2 log L`` of the model and of the intercept-only model.
    lr_statistic, lr_df, lr_p : float, int, float
        Likelihood-ratio test of all terms together.
    aic : float
        ``deviance + 2 (number of coefficients)``.
    iterations : int
    converged : bool
    estimable : bool
    reason : str or None
        Why the model could not be estimated (None when it was).
    """

    names: tuple[str, ...]
    coef: np.ndarray
    se: np.ndarray
    z: np.ndarray
    p: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    n: int
    events: int
    deviance: float
    null_deviance: float
    lr_statistic: float
    lr_df: int
    lr_p: float
    aic: float
    iterations: int
    converged: bool
    estimable: bool
    reason: str | None


def _not_estimable(names: tuple[str, ...], n: int, events: int, reason: str) -> LogisticResult:
    nan = np.full(len(names), np.nan)
    return LogisticResult(
        names, nan, nan, nan, nan, nan, nan, n, events,
        float("nan"), float("nan"), float("nan"), len(names) - 1, float("nan"), float("nan"),
        0, False, False, reason,
    )  # fmt: skip


def _deviance(y: np.ndarray, mu: np.ndarray) -> float:
    """Binomial deviance of 0/1 outcomes: ``-2 sum log P(y_i)``."""
    with np.errstate(divide="ignore"):
        return float(-2.0 * np.sum(np.where(y == 1, np.log(mu), np.log1p(-mu))))


def fit_logistic(x: np.ndarray, y: np.ndarray, names: Sequence[str]) -> LogisticResult:
    """Fit ``y ~ x`` with an intercept by maximum likelihood (logit link).

    Parameters
    ----------
    x : ndarray, shape (n, k)
        Term values (no intercept column; dummy-coded already).
    y : ndarray, shape (n,)
        Outcome, 0 or 1.
    names : sequence of str
        The k term names.

    Returns
    -------
    LogisticResult
        Equal to R ``glm(y ~ x, family = binomial)``; ``estimable = False`` with the reason
        when the data cannot carry the model.

    Examples
    --------
    >>> res = fit_logistic(np.array([[0.], [0.], [1.], [1.], [1.], [0.]]),
    ...                    np.array([0, 1, 1, 1, 0, 0]), ["x"])
    >>> round(float(res.coef[1]), 6)  # log odds ratio: log((2/1) / (1/2))
    1.386294
    """
    xa = np.asarray(x, dtype=float)
    ya = np.asarray(y, dtype=float).ravel()
    if xa.ndim == 1:
        xa = xa.reshape(-1, 1)
    all_names = ("(Intercept)", *names)
    n, events = len(ya), int(ya.sum())
    if xa.shape != (n, len(names)):
        raise ValueError(f"x has shape {xa.shape}; expected ({n}, {len(names)})")
    if not np.all(np.isin(ya, (0.0, 1.0))):
        raise ValueError("y must be 0 or 1")
    if not np.all(np.isfinite(xa)):
        raise ValueError("x must hold finite numbers (leave out records with a missing value)")
    if events == 0:
        return _not_estimable(all_names, n, events, "no events")
    if events == n:
        return _not_estimable(all_names, n, events, "every record had the event")
    design = np.column_stack([np.ones(n), xa])
    k = design.shape[1]
    if n <= k:
        return _not_estimable(
            all_names, n, events, f"{n} records for {k} coefficients: too few to fit the model"
        )
    if np.linalg.matrix_rank(design) < k:
        return _not_estimable(all_names, n, events, "the terms are collinear (or a term is "
                              "constant)")  # fmt: skip
    # start as R's binomial()$initialize: mu = (y + 0.5) / 2
    mu = (ya + 0.5) / 2.0
    eta = special.logit(mu)
    dev_old = _deviance(ya, mu)
    beta = np.zeros(k)
    converged = False
    iterations = 0
    separated = False
    for iterations in range(1, MAX_ITERATIONS + 1):  # noqa: B007 - read after the loop
        w = mu * (1.0 - mu)
        if np.any(w <= 0.0):  # a fitted probability of exactly 0 or 1
            separated = True
            break
        z = eta + (ya - mu) / w
        # weighted least squares by the normal equations (k x k; the design has full rank)
        weighted = design * w[:, None]
        beta = np.linalg.solve(design.T @ weighted, weighted.T @ z)
        eta = design @ beta
        mu = special.expit(eta)
        dev = _deviance(ya, mu)
        if abs(dev - dev_old) / (abs(dev) + 0.1) < TOLERANCE:
            converged = True
            break
        dev_old = dev
    if separated or np.any(mu < SEPARATION_PROBABILITY) or np.any(mu > 1 - SEPARATION_PROBABILITY):
        return _not_estimable(
            all_names, n, events,
            "complete or quasi-complete separation (fitted probabilities of 0 or 1): the "
            "maximum-likelihood estimate does not exist",
        )  # fmt: skip
    if not converged:
        return _not_estimable(
            all_names, n, events, f"the fit did not converge in {MAX_ITERATIONS} iterations"
        )
    w = mu * (1.0 - mu)
    info = design.T @ (design * w[:, None])
    cov = np.linalg.inv(info)
    se = np.sqrt(np.diag(cov))
    zstat = beta / se
    # scipy.stats.norm.sf / .ppf and chi2.sf are these special functions; importing
    # scipy.stats itself took about 0.5 s of every `ilp analyze` (docs/performance.md)
    p = 2.0 * special.ndtr(-np.abs(zstat))
    q = float(special.ndtri(0.975))
    deviance = _deviance(ya, mu)
    p0 = events / n
    null_deviance = float(-2.0 * (events * np.log(p0) + (n - events) * np.log1p(-p0)))
    lr = max(null_deviance - deviance, 0.0)
    return LogisticResult(
        names=all_names,
        coef=beta,
        se=se,
        z=zstat,
        p=p,
        lower=beta - q * se,
        upper=beta + q * se,
        n=n,
        events=events,
        deviance=deviance,
        null_deviance=null_deviance,
        lr_statistic=lr,
        lr_df=k - 1,
        lr_p=float(special.chdtrc(k - 1, lr)),
        aic=deviance + 2.0 * k,
        iterations=iterations,
        converged=True,
        estimable=True,
        reason=None,
    )
