"""Kaplan–Meier survival curves, survival at fixed times, quantiles and median follow-up.

Every number here is defined as in R's ``survival`` package (version 3.5), and tested against it
(``tests/reference/r_km_logrank_prop.R``):

===========================  ===================================================================
ilpkit                       R
===========================  ===================================================================
``kaplan_meier``             ``survfit(Surv(time, event) ~ 1, conf.type = <conf_type>)``
``.survival_at(times)``      ``summary(fit, times = times, extend = FALSE)``
``.quantile(p)``/``.median`` ``quantile(fit, probs = p)`` (= ``print(fit)``; see ``quantile``)
``median_follow_up``         ``quantile(survfit(Surv(time, 1 - event) ~ 1, ...), 0.5)``
``.number_at_risk(times)``   ``summary(fit, times = times, extend = TRUE)$n.risk``
===========================  ===================================================================

Note the one deliberate difference from R's defaults: the confidence interval transform
defaults to ``conf_type="log-log"`` (R's default is ``"log"``); it is always an explicit,
recorded argument.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

import numpy as np

from ilpkit.stats._distributions import normal_quantile
from ilpkit.stats._survival_arrays import (
    TIMEFIX_TOLERANCE,
    check_time_event,
    column,
    jsonable,
    readonly,
    tabulate,
)

__all__ = [
    "ConfType",
    "FollowUpResult",
    "KaplanMeierResult",
    "SurvivalAtTimes",
    "SurvivalQuantile",
    "kaplan_meier",
    "median_follow_up",
    "number_at_risk",
]

ConfType = Literal["log-log", "log", "plain"]
CONF_TYPES: tuple[str, ...] = get_args(ConfType)


def _check_conf(conf_type: str, conf_level: float) -> float:
    if conf_type not in CONF_TYPES:
        raise ValueError(f"conf_type must be one of {CONF_TYPES}, got {conf_type!r}")
    level = float(conf_level)
    if not 0.0 < level < 1.0:
        raise ValueError(f"conf_level must be strictly between 0 and 1, got {conf_level!r}")
    return level


def confidence_band(
    surv: np.ndarray, se_log: np.ndarray, conf_type: str, conf_level: float
) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise confidence limits for S(t), transcribed from R ``survival:::survfit_confint``.

    With ``z = Φ⁻¹(1 − (1 − conf_level)/2)`` and ``σ(t)`` the standard error of ``log S(t)``
    (Greenwood):

    * ``"plain"``:   ``S ± z σ S``, clipped to [0, 1] (Klein & Moeschberger eq. 4.3.1);
    * ``"log"``:     ``exp(log S ± z σ)``, upper clipped at 1; undefined (NaN) where S = 0;
    * ``"log-log"``: ``exp(−exp(log(−log S) ∓ z σ / log S))`` (Kalbfleisch & Prentice 1980,
      Borgan & Liestøl 1990); undefined (NaN) where S = 0 or S = 1, exactly as R.
    """
    z = normal_quantile(1.0 - (1.0 - conf_level) / 2.0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if conf_type == "plain":
            half = se_log * surv * z
            return np.maximum(surv - half, 0.0), np.minimum(surv + half, 1.0)
        if conf_type == "log":
            xx = np.where(surv == 0, np.nan, surv)
            lx = np.log(xx)
            return np.exp(lx - z * se_log), np.minimum(np.exp(lx + z * se_log), 1.0)
        xx = np.where((surv == 0) | (surv == 1), np.nan, surv)
        lx = np.log(xx)
        se2 = z * se_log / lx
        lll = np.log(-lx)
        return np.exp(-np.exp(lll - se2)), np.exp(-np.exp(lll + se2))


def _findq(x: np.ndarray, y: np.ndarray, p: float, tol: float) -> float:
    """R ``survival:::findq`` for a single probability ``p`` (y = 1 − curve, may hold NaN)."""
    if not np.any(~np.isnan(y)) or np.nanmax(y) < p:
        return float("nan")
    xmax = x[-1]
    # duplicated(y): keep first occurrence of each value (NaN equal to NaN)
    yk = np.where(np.isnan(y), np.inf, y)
    _, first = np.unique(yk, return_index=True)
    first.sort()
    x, y = x[first], y[first]
    n = y.shape[0]
    ok = ~np.isnan(y)
    yy = y[ok]
    ii = np.flatnonzero(ok)  # 0-based positions in the de-duplicated (x, y)
    order = np.argsort(yy, kind="stable")
    yy, ii = yy[order], ii[order]

    def approx_right(xs: np.ndarray) -> int | None:
        # approx(xs, ii, p, method = "constant", f = 1, rule = 1): index of the first xs >= p
        if p < xs[0] or p > xs[-1]:
            return None
        return int(ii[int(np.searchsorted(xs, p, side="left"))])

    i1 = approx_right(yy + tol)
    i2 = approx_right(yy - tol)
    quant = float("nan") if i1 is None or i2 is None else (x[i1] + x[i2]) / 2.0
    if p == 0:
        quant = float(x[0])
    if not np.isnan(y[n - 1]) and abs(p - y[n - 1]) < tol and i1 is not None:
        quant = (x[i1] + xmax) / 2.0
    return float(quant)


@dataclass(frozen=True)
class SurvivalQuantile:
    """A quantile of the survival distribution with its confidence interval.

    Attributes
    ----------
    p : float
        Probability: the quantile is the time by which a fraction ``p`` has had the event
        (``p = 0.5``: median survival).
    time, lower, upper : float
        Estimate and confidence limits; NaN when the curve (or the limit curve) does not fall
        to ``1 − p`` within follow-up ("not reached").
    """

    p: float
    time: float
    lower: float
    upper: float
    conf_type: str
    conf_level: float

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "p": self.p,
                "time": self.time,
                "lower": self.lower,
                "upper": self.upper,
                "conf_type": self.conf_type,
                "conf_level": self.conf_level,
            }
        )


@dataclass(frozen=True)
class SurvivalAtTimes:
    """Survival read off a Kaplan–Meier curve at chosen times (R ``summary(fit, times=)``).

    Attributes
    ----------
    time : ndarray
        The requested times, sorted; without ``extend`` those after the last observed time are
        dropped (as R).
    n_risk : ndarray of int
        Number at risk at ``time`` (observations with follow-up ``>= time``).
    n_event, n_censor : ndarray of int
        Events / censorings in the interval (previous requested time, ``time``] (first interval
        from time 0).
    surv, std_err, lower, upper : ndarray
        S(t), Greenwood standard error of S(t), and confidence limits of the last step at or
        before ``time``.
    """

    time: np.ndarray
    n_risk: np.ndarray
    n_event: np.ndarray
    n_censor: np.ndarray
    surv: np.ndarray
    std_err: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    conf_type: str
    conf_level: float
    extend: bool

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "time": self.time,
                "n_risk": self.n_risk,
                "n_event": self.n_event,
                "n_censor": self.n_censor,
                "surv": self.surv,
                "std_err": self.std_err,
                "lower": self.lower,
                "upper": self.upper,
                "conf_type": self.conf_type,
                "conf_level": self.conf_level,
                "extend": self.extend,
            }
        )


@dataclass(frozen=True)
class KaplanMeierResult:
    """A Kaplan–Meier curve with Greenwood standard errors and pointwise confidence limits.

    One row per distinct observed time (event or censoring), as R's ``survfit`` object.

    Attributes
    ----------
    time : ndarray
        Distinct observed times, increasing.
    n_risk, n_event, n_censor : ndarray of int
        At risk just before, events at, and censorings at ``time``.
    surv : ndarray
        ``S(t) = Π_{t_i <= t} (1 − d_i / n_i)`` (Kaplan & Meier 1958).
    std_err_log : ndarray
        Standard error of ``log S(t)``: ``sqrt(Σ d_i / (n_i (n_i − d_i)))`` (Greenwood 1926);
        ``inf`` where S(t) = 0. This is R's ``fit$std.err``.
    std_err : ndarray
        Standard error of S(t): ``S(t) · std_err_log`` (R's ``summary(fit)$std.err``).
    lower, upper : ndarray
        Pointwise confidence limits (see :func:`confidence_band`); NaN where undefined, as R.
    conf_type, conf_level :
        The interval transform and level used.
    n, n_events : int
        Observations and events in total.
    """

    time: np.ndarray
    n_risk: np.ndarray
    n_event: np.ndarray
    n_censor: np.ndarray
    surv: np.ndarray
    std_err_log: np.ndarray
    std_err: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    conf_type: str
    conf_level: float
    n: int
    n_events: int

    # ------------------------------------------------------------------ reading the curve
    def _with_time0(self) -> dict[str, np.ndarray]:
        """The curve with a row at time 0 (S = 1, SE 0, CI [1, 1]), as R's ``survfit0``."""
        rows = {
            "time": self.time,
            "n_risk": self.n_risk,
            "n_event": self.n_event,
            "n_censor": self.n_censor,
            "surv": self.surv,
            "std_err_log": self.std_err_log,
            "lower": self.lower,
            "upper": self.upper,
        }
        if self.time[0] == 0:
            return rows
        first = {
            "time": 0.0,
            "n_risk": self.n_risk[0],
            "n_event": 0,
            "n_censor": 0,
            "surv": 1.0,
            "std_err_log": 0.0,
            "lower": 1.0,
            "upper": 1.0,
        }
        return {k: np.concatenate(([first[k]], a)).astype(a.dtype) for k, a in rows.items()}

    def survival_at(
        self, times: Sequence[float] | np.ndarray, *, extend: bool = False
    ) -> SurvivalAtTimes:
        """Survival, its SE and CI at given times, as R ``summary(fit, times=, extend=)``.

        Parameters
        ----------
        times : sequence of float
            Times (same unit as the data), sorted internally. Must be finite.
        extend : bool, default False
            False (R's default): times after the last observed time are dropped, since the
            curve is not defined there. True: they are kept with ``n_risk = 0`` and the last
            value of the curve carried forward.

        Raises
        ------
        ValueError
            Non-finite times, or no time left to report (all after the last observed time).
        """
        req = np.sort(np.asarray(times, dtype=np.float64).reshape(-1))
        if not np.isfinite(req).all():
            raise ValueError("times must be finite")
        if not extend:
            req = req[req <= self.time[-1]]
            if req.shape[0] == 0:
                raise ValueError(
                    f"all requested times are after the last observed time ({self.time[-1]:g}); "
                    "use extend=True to carry the last value forward"
                )
        c = self._with_time0()
        t0 = c["time"]
        i1 = np.searchsorted(t0, req, side="right")  # rows with time <= t
        row = np.maximum(i1, 1) - 1
        i2 = np.searchsorted(t0, req, side="left")  # rows with time < t
        n_risk = np.concatenate((c["n_risk"], [0]))[i2]
        cum_ev = np.concatenate(([0], np.cumsum(c["n_event"])))[i1]
        cum_ce = np.concatenate(([0], np.cumsum(c["n_censor"])))[i1]
        surv = c["surv"][row]
        with np.errstate(invalid="ignore"):
            std_err = c["std_err_log"][row] * surv
        return SurvivalAtTimes(
            time=readonly(req),
            n_risk=readonly(n_risk),
            n_event=readonly(np.diff(cum_ev, prepend=0)),
            n_censor=readonly(np.diff(cum_ce, prepend=0)),
            surv=readonly(surv),
            std_err=readonly(std_err),
            lower=readonly(c["lower"][row]),
            upper=readonly(c["upper"][row]),
            conf_type=self.conf_type,
            conf_level=self.conf_level,
            extend=extend,
        )

    def number_at_risk(self, times: Sequence[float] | np.ndarray) -> np.ndarray:
        """Number at risk (follow-up ``>= t``) at each of ``times``, in the order given.

        For the table under a Kaplan–Meier plot; times after the end of follow-up give 0
        (R ``summary(fit, times, extend = TRUE)$n.risk``).
        """
        req = np.asarray(times, dtype=np.float64).reshape(-1)
        if not np.isfinite(req).all():
            raise ValueError("times must be finite")
        i2 = np.searchsorted(self.time, req, side="left")
        return np.concatenate((self.n_risk, [0]))[i2]

    def quantile(self, p: float) -> SurvivalQuantile:
        """Time by which a fraction ``p`` has had the event, with its confidence interval.

        The estimate is the first time the curve drops to ``1 − p`` or below; the limits are the
        same read off the lower and upper confidence curves (Brookmeyer & Crowley 1982 — the
        interval is the set of times whose pointwise CI contains ``1 − p``). Where the curve is
        exactly ``1 − p`` over an interval, the midpoint of that interval is used. This
        transcribes R ``survival:::findq`` (``quantile.survfit``) with its tolerance
        ``sqrt(.Machine$double.eps)``.

        R's ``print.survfit`` computes the median with a separate routine that agrees except
        when the curve *ends* (last follow-up) exactly at ``1 − p``: ``quantile()`` — and this
        method — then give the midpoint between the time the level was reached and the last
        follow-up time; ``print()`` gives the time the level was reached.

        Parameters
        ----------
        p : float
            In [0, 1]; 0.5 gives the median.
        """
        if not 0.0 <= float(p) <= 1.0:
            raise ValueError(f"p must be in [0, 1], got {p!r}")
        p = float(p)
        x = np.concatenate(([0.0], self.time))
        tol = TIMEFIX_TOLERANCE
        est = _findq(x, np.concatenate(([0.0], 1.0 - self.surv)), p, tol)
        low = _findq(x, np.concatenate(([0.0], 1.0 - self.lower)), p, tol)
        up = _findq(x, np.concatenate(([0.0], 1.0 - self.upper)), p, tol)
        return SurvivalQuantile(p, est, low, up, self.conf_type, self.conf_level)

    def median(self) -> SurvivalQuantile:
        """Median survival time with its confidence interval (``self.quantile(0.5)``)."""
        return self.quantile(0.5)

    # ------------------------------------------------------------------ output
    def to_dict(self) -> dict[str, Any]:
        """Plain-Python dict (lists, floats; NaN and inf → None)."""
        return jsonable(
            {
                "time": self.time,
                "n_risk": self.n_risk,
                "n_event": self.n_event,
                "n_censor": self.n_censor,
                "surv": self.surv,
                "std_err": self.std_err,
                "std_err_log": self.std_err_log,
                "lower": self.lower,
                "upper": self.upper,
                "conf_type": self.conf_type,
                "conf_level": self.conf_level,
                "n": self.n,
                "n_events": self.n_events,
            }
        )

    def to_frame(self) -> Any:
        """The curve as a pandas DataFrame (one row per distinct time)."""
        import pandas as pd

        return pd.DataFrame(
            {
                "time": self.time,
                "n_risk": self.n_risk,
                "n_event": self.n_event,
                "n_censor": self.n_censor,
                "surv": self.surv,
                "std_err": self.std_err,
                "lower": self.lower,
                "upper": self.upper,
            }
        )


def kaplan_meier(
    time: Any,
    event: Any,
    *,
    conf_type: ConfType = "log-log",
    conf_level: float = 0.95,
    timefix: bool = True,
    data: Any = None,
) -> KaplanMeierResult:
    """Kaplan–Meier estimate of the survival function with Greenwood SEs and pointwise CIs.

    ``S(t) = Π_{t_i <= t} (1 − d_i / n_i)`` over distinct times ``t_i`` with ``d_i`` events among
    ``n_i`` at risk (Kaplan & Meier 1958). ``Var[log S(t)] = Σ_{t_i <= t} d_i / (n_i (n_i − d_i))``
    (Greenwood 1926). Confidence limits: see ``conf_type``. Equivalent to R
    ``survfit(Surv(time, event) ~ 1, conf.type = conf_type, conf.int = conf_level)``.

    Parameters
    ----------
    time : array-like of float, or column name
        Follow-up time, >= 0, in any unit (e.g. days); must be complete (no NaN).
    event : array-like of {0, 1} or bool, or column name
        1 = event (e.g. death, local progression) at ``time``; 0 = censored.
    conf_type : {"log-log", "log", "plain"}, default "log-log"
        Transform for the pointwise confidence interval, named as R's ``conf.type``.
        "log-log" (Kalbfleisch & Prentice 1980) keeps limits inside (0, 1) and is our default;
        note that R's default is "log".
    conf_level : float, default 0.95
    timefix : bool, default True
        Treat times equal up to floating-point error as tied (R ``aeqSurv``).
    data : pandas.DataFrame, optional
        If given, ``time`` and ``event`` may be column names.

    Returns
    -------
    KaplanMeierResult

    Examples
    --------
    >>> km = kaplan_meier([5, 8, 8, 12, 20], [1, 1, 0, 1, 0])
    >>> km.surv.round(3).tolist()
    [0.8, 0.6, 0.3, 0.3]
    >>> km.median().time
    12.0
    """
    level = _check_conf(conf_type, conf_level)
    t, e = check_time_event(column(data, time, "time"), column(data, event, "event"))
    tab = tabulate(t, e, timefix=timefix)
    return _km_from_counts(
        tab.time, tab.n_risk[0], tab.n_event[0], tab.n_censor[0], conf_type, level
    )


def _km_from_counts(
    time: np.ndarray,
    n_risk: np.ndarray,
    n_event: np.ndarray,
    n_censor: np.ndarray,
    conf_type: str,
    conf_level: float,
) -> KaplanMeierResult:
    d = n_event.astype(np.float64)
    nr = n_risk.astype(np.float64)
    surv = np.cumprod(1.0 - d / nr)
    with np.errstate(divide="ignore", invalid="ignore"):
        green = np.cumsum(np.where(d > 0, d / (nr * (nr - d)), 0.0))
        se_log = np.sqrt(green)
        se = se_log * surv
    lower, upper = confidence_band(surv, se_log, conf_type, conf_level)
    return KaplanMeierResult(
        time=readonly(time),
        n_risk=readonly(n_risk),
        n_event=readonly(n_event),
        n_censor=readonly(n_censor),
        surv=readonly(surv),
        std_err_log=readonly(se_log),
        std_err=readonly(se),
        lower=readonly(lower),
        upper=readonly(upper),
        conf_type=conf_type,
        conf_level=conf_level,
        n=int(n_risk[0]),
        n_events=int(n_event.sum()),
    )


@dataclass(frozen=True)
class FollowUpResult:
    """Median follow-up by the reverse Kaplan–Meier method.

    Attributes
    ----------
    median, lower, upper : float
        Median potential follow-up and its confidence limits (NaN if not reached).
    n : int
        Patients.
    n_censored : int
        Patients censored (alive / event-free at last contact) — the "events" of the
        reverse curve.
    method : str
        Text for the methods section.
    curve : KaplanMeierResult
        The reverse Kaplan–Meier curve itself (not included in :meth:`to_dict`).
    """

    median: float
    lower: float
    upper: float
    conf_type: str
    conf_level: float
    n: int
    n_censored: int
    method: str
    curve: KaplanMeierResult = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        return jsonable(
            {
                "median": self.median,
                "lower": self.lower,
                "upper": self.upper,
                "conf_type": self.conf_type,
                "conf_level": self.conf_level,
                "n": self.n,
                "n_censored": self.n_censored,
                "method": self.method,
            }
        )


def median_follow_up(
    time: Any,
    event: Any,
    *,
    conf_type: ConfType = "log-log",
    conf_level: float = 0.95,
    timefix: bool = True,
    data: Any = None,
) -> FollowUpResult:
    """Median follow-up by reverse Kaplan–Meier (Schemper & Smith 1996).

    The Kaplan–Meier estimator is applied with the event indicator reversed (censoring is the
    "event"; an observed event censors follow-up), and its median and CI are read off as in
    :meth:`KaplanMeierResult.quantile`. Equivalent to R
    ``quantile(survfit(Surv(time, 1 - event) ~ 1, conf.type = conf_type), 0.5)``.

    Parameters are as for :func:`kaplan_meier`; ``event`` is the *outcome* event indicator.
    """
    level = _check_conf(conf_type, conf_level)
    t, e = check_time_event(column(data, time, "time"), column(data, event, "event"))
    rev = ~e
    tab = tabulate(t, rev, timefix=timefix)
    curve = _km_from_counts(
        tab.time, tab.n_risk[0], tab.n_event[0], tab.n_censor[0], conf_type, level
    )
    med = curve.median()
    return FollowUpResult(
        median=med.time,
        lower=med.lower,
        upper=med.upper,
        conf_type=conf_type,
        conf_level=level,
        n=curve.n,
        n_censored=curve.n_events,
        method=(
            "reverse Kaplan-Meier (Schemper & Smith 1996), "
            f"{round(level * 100)}% CI with {conf_type} transform"
        ),
        curve=curve,
    )


def number_at_risk(
    time: Any, times: Sequence[float] | np.ndarray, *, timefix: bool = True, data: Any = None
) -> np.ndarray:
    """Number of subjects with follow-up ``>= t`` for each ``t`` in ``times`` (plot tables).

    Same as :meth:`KaplanMeierResult.number_at_risk` on a curve of these data (R
    ``summary(fit, times, extend = TRUE)$n.risk``), without fitting the curve: follow-up
    times equal up to floating-point error are merged first (``timefix``, as R).

    Parameters
    ----------
    time : array-like of float, or column name
        Follow-up times (>= 0, complete).
    times : sequence of float
        Times at which to count, in any order; returned in the same order.
    """
    t = np.asarray(column(data, time, "time"))
    t, e = check_time_event(t, np.zeros(t.reshape(-1).shape[0], dtype=bool))
    req = np.asarray(times, dtype=np.float64).reshape(-1)
    if not np.isfinite(req).all():
        raise ValueError("times must be finite")
    tab = tabulate(t, e, timefix=timefix)
    i2 = np.searchsorted(tab.time, req, side="left")
    return np.concatenate((tab.n_risk[0], [0]))[i2]
