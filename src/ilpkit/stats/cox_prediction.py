"""Survival predicted by a Cox model for new covariate values, as R's ``survfit(coxph, newdata)``.

For a covariate vector ``z`` the predicted survival is ``S(t | z) = exp(-H0(t) exp(z' beta))``
(R's default ``stype = 2``), with the baseline cumulative hazard ``H0`` of the fit's tie method
(``ctype``: Breslow for a Breslow fit, Efron's for an Efron fit, as survfit.coxph chooses). At a
time with ``d`` deaths, risk-set sum ``S0``, and ``D0`` the risk summed over those deaths,
Efron's increments are (R survival ``agsurv`` / ``agsurv5.c``)::

    dH0 = sum_{k<d} 1 / den_k,   dV = sum_{k<d} 1 / den_k^2,
    dX  = sum_{k<d} (S1 - (k/d) D1) / den_k^2,          den_k = S0 - (k/d) D0

(Breslow: ``d / S0``, ``d / S0^2`` and ``d S1 / S0^2``). The variance of ``H(t | z)`` is that of
Tsiatis (1981) as survfit computes it::

    var H(t | z) = exp(2 z' beta) [ V(t) + a(t)' Var(beta) a(t) ],  a(t) = H0(t) z - X(t)

with ``V, X`` the running sums of ``dV, dX``. The interval is R's default ``conf.type = "log"``:
``S exp(-/+ z_{0.975} se)`` with ``se = sqrt(var H)``, the upper limit capped at 1. Values at a
time are those of the step function at or before it (``summary(fit, times = )``); after the
last follow-up time nothing is reported (NaN), as ``summary(..., extend = FALSE)`` leaves the
time out. Centring the covariates changes none of these (they are computed on centred ones).

References
----------
Tsiatis AA (1981). A large sample study of Cox's regression model. Annals of Statistics 9:93-108.
Therneau TM, Grambsch PM (2000). Modeling Survival Data: Extending the Cox Model. Springer, ch. 10.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ilpkit.stats._distributions import normal_quantile
from ilpkit.stats.cox import CoxResult

__all__ = ["PredictedSurvival", "predict_cox_survival"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class PredictedSurvival:
    """Predicted survival at the requested times, one column per covariate row.

    Attributes
    ----------
    times : ndarray, shape (m,)
    surv, se_cumhaz, lower, upper : ndarray, shape (m, k)
        ``S(t | z)``, the standard error of ``H(t | z)`` (R's ``fit$std.err``; ``summary``
        prints ``S * se_cumhaz``) and the log-type confidence limits; NaN after the last
        follow-up time.
    """

    times: FloatArray
    surv: FloatArray
    se_cumhaz: FloatArray
    lower: FloatArray
    upper: FloatArray


def predict_cox_survival(
    fit: CoxResult,
    x: npt.ArrayLike,
    time: npt.ArrayLike,
    event: npt.ArrayLike,
    x_new: npt.ArrayLike,
    times: npt.ArrayLike,
    conf_level: float = 0.95,
) -> PredictedSurvival:
    """``summary(survfit(fit, newdata = x_new), times = times)`` of R survival.

    Parameters
    ----------
    fit : CoxResult
        The model fitted on ``x, time, event`` (its ``coef``, ``covariance`` and ``ties``).
    x : array_like, shape (n, p)
        The design matrix the model was fitted on.
    time, event : array_like, shape (n,)
        Its follow-up times and 0/1 events.
    x_new : array_like, shape (k, p) or (p,)
        Covariate rows to predict for.
    times : array_like
        Times (in the unit of ``time``) at which to report.
    conf_level : float

    Returns
    -------
    PredictedSurvival
    """
    xa = np.asarray(x, dtype=float)
    if xa.ndim == 1:
        xa = xa[:, None]
    t = np.asarray(time, dtype=float)
    e = np.asarray(event).astype(bool)
    z = np.atleast_2d(np.asarray(x_new, dtype=float))
    tp = np.atleast_1d(np.asarray(times, dtype=float))
    beta = np.asarray(fit.coef, dtype=float)
    p = beta.shape[0]
    if xa.shape != (t.shape[0], p) or z.shape[1] != p:
        raise ValueError("the design matrices do not match the model's coefficients")
    centre = xa.mean(axis=0)
    xc = xa - centre
    r = np.exp(xc @ beta)
    utimes, block = np.unique(t, return_inverse=True)
    nb = utimes.shape[0]
    nrisk = np.cumsum(np.bincount(block, weights=r, minlength=nb)[::-1])[::-1]
    xsum = np.stack(
        [
            np.cumsum(np.bincount(block, weights=r * xc[:, j], minlength=nb)[::-1])[::-1]
            for j in range(p)
        ],
        axis=1,
    )  # (nb, p)
    d = np.bincount(block, weights=e.astype(float), minlength=nb)
    if fit.ties == "efron":
        erisk = np.bincount(block[e], weights=r[e], minlength=nb)
        xsum2 = np.stack(
            [np.bincount(block[e], weights=(r * xc[:, j])[e], minlength=nb) for j in range(p)],
            axis=1,
        )
        # one term per death: k = 0..d-1 within its time
        dblock = np.sort(block[e])
        first = np.searchsorted(dblock, dblock, side="left")
        k = np.arange(dblock.shape[0]) - first
        frac = k / d[dblock]
        den = nrisk[dblock] - frac * erisk[dblock]
        inv = 1.0 / den
        haz = np.bincount(dblock, weights=inv, minlength=nb).astype(float)
        varhaz = np.bincount(dblock, weights=inv * inv, minlength=nb).astype(float)
        xbar = np.stack(
            [
                np.bincount(
                    dblock,
                    weights=(xsum[dblock, j] - frac * xsum2[dblock, j]) * inv * inv,
                    minlength=nb,
                )
                for j in range(p)
            ],
            axis=1,
        )
    else:
        haz = d / nrisk
        varhaz = d / (nrisk * nrisk)
        xbar = xsum * (d / (nrisk * nrisk))[:, None]
    cumhaz = np.cumsum(haz)
    varh = np.cumsum(varhaz)
    xcum = np.cumsum(xbar, axis=0)  # (nb, p)
    zc = z - centre
    risk2 = np.exp(zc @ beta)  # (k,)
    idx = np.searchsorted(utimes, tp, side="right") - 1
    inside = (tp >= 0) & (tp <= utimes[-1])
    m, kk = tp.shape[0], z.shape[0]
    surv = np.full((m, kk), np.nan)
    se = np.full((m, kk), np.nan)
    vmat = np.asarray(fit.covariance, dtype=float)
    for i in range(m):
        if not inside[i]:
            continue
        if idx[i] < 0:  # before the first time: S = 1, no variance
            surv[i] = 1.0
            se[i] = 0.0
            continue
        h0 = cumhaz[idx[i]]
        a = h0 * zc - xcum[idx[i]]  # (k, p)
        quad = np.einsum("ij,jk,ik->i", a, vmat, a)
        surv[i] = np.exp(-h0 * risk2)
        se[i] = np.sqrt((varh[idx[i]] + quad) * risk2 * risk2)
    zq = normal_quantile(0.5 + conf_level / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        pos = np.where(surv > 0, surv, np.nan)
        lower = np.exp(np.log(pos) - zq * se)
        upper = np.minimum(np.exp(np.log(pos) + zq * se), 1.0)
    return PredictedSurvival(times=tp, surv=surv, se_cumhaz=se, lower=lower, upper=upper)
