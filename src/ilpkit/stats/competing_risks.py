"""Cumulative incidence with competing risks, and Gray's test, matching R's ``cmprsk::cuminc``.

With several event types ("causes": local recurrence, death without recurrence, ...), ``1 -
Kaplan-Meier`` of one cause overstates its incidence; the cumulative incidence function (CIF)
of cause ``k``, ``F_k(t) = P(T <= t, cause = k)``, is estimated by the Aalen-Johansen estimator
(Aalen & Johansen 1978; Kalbfleisch & Prentice 2002, ch. 8)::

    F_k(t) = sum_{t_j <= t} S(t_j-) d_kj / n_j

with ``S`` the Kaplan-Meier estimate of freedom from any event, ``n_j`` at risk and ``d_kj``
cause-``k`` events at ``t_j``. Tied times are handled as tied (never broken at random, unlike
lifelines' ``AalenJohansenFitter``, which jitters them), so results are reproducible.

The variance is the delta-method estimate of Aalen (1978) exactly as Robert Gray's Fortran
subroutine ``cinc`` in cmprsk computes it (including its correction for tied events), and groups
are compared with Gray's (1988) k-sample test, subroutine ``crstm`` (weight ``(1 - F(t-))^rho``,
optional strata). Both are ports of that Fortran, vectorised over event times; they agree with
cmprsk 2.2-11 to ~1e-12 (``tests/reference/r_cox_cr.R``).

Confidence intervals: cmprsk gives none. Here they use the log(-log) transform (Choudhury 2002;
Pintilie 2006; the same formula as tidycmprsk): with ``se = sqrt(var)``::

    lower = F^exp(-z se / (F log F)),   upper = F^exp(+z se / (F log F))

(``F log F < 0``, so the lower limit raises ``F`` to a power above 1), which stays in (0, 1).
Where ``F`` is 0 or 1, or the variance is 0, both limits equal ``F``.

References
----------
Aalen O (1978). Nonparametric estimation of partial transition probabilities in multiple
decrement models. Annals of Statistics 6:534-545.
Aalen O, Johansen S (1978). An empirical transition matrix for non-homogeneous Markov chains
based on censored observations. Scand J Statist 5:141-150.
Gray RJ (1988). A class of K-sample tests for comparing the cumulative incidence of a competing
risk. Annals of Statistics 16:1141-1154.
Kalbfleisch JD, Prentice RL (2002). The Statistical Analysis of Failure Time Data, 2nd ed. Wiley.
Choudhury JB (2002). Non-parametric confidence interval estimation for competing risks
analysis: application to contraceptive data. Statistics in Medicine 21:1129-1144.
Pintilie M (2006). Competing Risks: A Practical Perspective. Wiley.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ilpkit.stats._distributions import chisq_sf, normal_quantile
from ilpkit.stats._survival_arrays import check_times, factorize
from ilpkit.stats._survival_arrays import jsonable as _plain
from ilpkit.stats._survival_arrays import python_scalar as _label

if TYPE_CHECKING:
    import pandas as pd

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def cif_confidence_interval(
    estimate: npt.ArrayLike, variance: npt.ArrayLike, conf_level: float = 0.95
) -> tuple[FloatArray, FloatArray]:
    """Pointwise CI for a cumulative incidence, log(-log) transform.

    ``lower = F ** exp(-z se / (F log F))`` and ``upper = F ** exp(z se / (F log F))`` with
    ``z`` the ``(1 + conf_level)/2`` normal quantile (Choudhury 2002; Pintilie 2006), i.e. a
    Wald interval for ``log(-log F)`` with the delta-method SE ``se / (F |log F|)``, mapped back.
    Limits equal ``F`` where ``F`` is 0 or 1 or ``var`` is 0; NaN stays NaN.
    """
    if not 0 < conf_level < 1:
        raise ValueError(f"conf_level must be between 0 and 1; got {conf_level!r}")
    f = np.asarray(estimate, dtype=float)
    v = np.asarray(variance, dtype=float)
    z = normal_quantile(0.5 + conf_level / 2)
    lower = f.copy()
    upper = f.copy()
    ok = (f > 0) & (f < 1) & (v > 0)
    fo = f[ok]
    k = z * np.sqrt(v[ok]) / (fo * np.log(fo))
    lower[ok] = fo ** np.exp(-k)
    upper[ok] = fo ** np.exp(k)
    return lower, upper


@dataclass(frozen=True, eq=False)
class IncidenceCurve:
    """The cumulative incidence of one cause in one group (a right-continuous step function).

    Attributes
    ----------
    cause, group
        Labels (``group`` is None without groups).
    time : ndarray
        Times at which the estimate jumps (cause-``cause`` events), increasing.
    estimate, variance : ndarray
        ``F(t)`` and its variance just after each jump (cmprsk ``cinc``).
    max_time : float
        Largest follow-up time in the group: the curve is defined on ``[0, max_time]``.
    n : int
        Rows in the group.
    """

    cause: Any
    group: Any
    time: FloatArray
    estimate: FloatArray
    variance: FloatArray
    max_time: float
    n: int

    def at(self, times: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
        """Estimate and variance at ``times``: the value at the last jump at or before each time.

        As cmprsk's ``timepoints``: 0 before the first jump, NaN before 0 or after ``max_time``.
        """
        tp = np.atleast_1d(np.asarray(times, dtype=float))
        idx = np.searchsorted(self.time, tp, side="right") - 1
        est = (
            np.where(idx >= 0, self.estimate[np.maximum(idx, 0)], 0.0)
            if self.time.size
            else np.zeros(tp.shape)
        )
        var = (
            np.where(idx >= 0, self.variance[np.maximum(idx, 0)], 0.0)
            if self.time.size
            else np.zeros(tp.shape)
        )
        outside = (tp < 0) | (tp > self.max_time) | np.isnan(tp)
        est = np.where(outside, np.nan, est)
        var = np.where(outside, np.nan, var)
        return est, var

    def confidence_interval(self, conf_level: float = 0.95) -> tuple[FloatArray, FloatArray]:
        """Pointwise CI at each jump (see :func:`cif_confidence_interval`)."""
        return cif_confidence_interval(self.estimate, self.variance, conf_level)

    def to_dict(self, conf_level: float = 0.95) -> dict[str, Any]:
        """Plain-Python form with the CI (NaN -> None)."""
        lower, upper = self.confidence_interval(conf_level)
        return {
            "cause": _label(self.cause),
            "group": _label(self.group),
            "time": _plain(self.time),
            "estimate": _plain(self.estimate),
            "variance": _plain(self.variance),
            "lower": _plain(lower),
            "upper": _plain(upper),
            "conf_level": conf_level,
            "max_time": _plain(self.max_time),
            "n": self.n,
        }


@dataclass(frozen=True, eq=False)
class GrayTest:
    """Gray's (1988) test that a cause's cumulative incidence is equal in all groups.

    ``statistic = s' V^-1 s`` on ``df = groups - 1``, with ``s`` the weighted score of the first
    ``groups - 1`` groups and ``V`` its estimated covariance (summed over strata). ``statistic``
    and ``p_value`` are NaN when ``V`` is singular (cmprsk reports -1 and p = 1). ``p_value`` is
    the chi-square upper tail computed directly; cmprsk's ``1 - pchisq(stat)`` agrees to ~1e-15
    absolute but loses relative precision for very small p.
    """

    cause: Any
    statistic: float
    df: int
    p_value: float
    score: FloatArray
    covariance: FloatArray

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python form (NaN -> None)."""
        return {
            "cause": _label(self.cause),
            "statistic": _plain(self.statistic),
            "df": self.df,
            "p_value": _plain(self.p_value),
            "score": _plain(self.score),
            "covariance": _plain(self.covariance),
        }


@dataclass(frozen=True, eq=False)
class Timepoints:
    """Estimates at chosen times (cmprsk ``timepoints``), one row per curve.

    ``estimate``, ``variance``, ``lower``, ``upper`` have shape ``(len(curves), len(times))``;
    ``labels[i]`` is ``(group, cause)`` of row ``i``.
    """

    labels: tuple[tuple[Any, Any], ...]
    times: FloatArray
    estimate: FloatArray
    variance: FloatArray
    lower: FloatArray
    upper: FloatArray
    conf_level: float

    @property
    def frame(self) -> pd.DataFrame:
        """Long table: group, cause, time, estimate, variance, se, lower, upper."""
        import pandas as pd

        k = len(self.times)
        return pd.DataFrame(
            {
                "group": np.repeat(np.array([g for g, _ in self.labels], dtype=object), k),
                "cause": np.repeat(np.array([c for _, c in self.labels], dtype=object), k),
                "time": np.tile(self.times, len(self.labels)),
                "estimate": self.estimate.ravel(),
                "variance": self.variance.ravel(),
                "se": np.sqrt(self.variance.ravel()),
                "lower": self.lower.ravel(),
                "upper": self.upper.ravel(),
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python form (NaN -> None)."""
        return {
            "labels": [[_label(g), _label(c)] for g, c in self.labels],
            "times": _plain(self.times),
            "estimate": _plain(self.estimate),
            "variance": _plain(self.variance),
            "lower": _plain(self.lower),
            "upper": _plain(self.upper),
            "conf_level": self.conf_level,
        }


@dataclass(frozen=True, eq=False)
class CumulativeIncidenceResult:
    """Cumulative incidence curves per group and cause, and Gray's tests between groups.

    Attributes
    ----------
    curves : tuple of IncidenceCurve
        Ordered cause by cause, groups within cause (cmprsk's order).
    tests : tuple of GrayTest
        One per cause; empty with a single group.
    causes, groups : tuple
        Sorted labels (``groups == (None,)`` without a grouping).
    rho : float
    conf_level : float
    n : int
    """

    curves: tuple[IncidenceCurve, ...]
    tests: tuple[GrayTest, ...]
    causes: tuple[Any, ...]
    groups: tuple[Any, ...]
    rho: float
    conf_level: float
    n: int

    def curve(self, cause: Any, group: Any = None) -> IncidenceCurve:
        """The curve of ``cause`` in ``group`` (omit ``group`` without groups)."""
        for c in self.curves:
            if c.cause == cause and c.group == group:
                return c
        raise KeyError(f"no curve for cause {cause!r}, group {group!r}")

    def test(self, cause: Any) -> GrayTest:
        """Gray's test for ``cause``."""
        for t in self.tests:
            if t.cause == cause:
                return t
        raise KeyError(f"no Gray test for cause {cause!r} (a single group has none)")

    def timepoints(self, times: npt.ArrayLike) -> Timepoints:
        """Estimates, variances and CIs of every curve at ``times`` (:meth:`IncidenceCurve.at`)."""
        tp = np.atleast_1d(np.asarray(times, dtype=float))
        if tp.ndim != 1:
            raise ValueError("times must be one-dimensional")
        est = np.empty((len(self.curves), tp.size))
        var = np.empty_like(est)
        for i, c in enumerate(self.curves):
            est[i], var[i] = c.at(tp)
        lower, upper = cif_confidence_interval(est, var, self.conf_level)
        return Timepoints(
            labels=tuple((c.group, c.cause) for c in self.curves),
            times=tp,
            estimate=est,
            variance=var,
            lower=lower,
            upper=upper,
            conf_level=self.conf_level,
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python, JSON-serialisable form (NaN -> None)."""
        return {
            "causes": [_label(c) for c in self.causes],
            "groups": [_label(g) for g in self.groups],
            "rho": self.rho,
            "conf_level": self.conf_level,
            "n": self.n,
            "curves": [c.to_dict(self.conf_level) for c in self.curves],
            "tests": [t.to_dict() for t in self.tests],
        }


# ---------------------------------------------------------------------------------------------
# input handling
# ---------------------------------------------------------------------------------------------
def _factorize(values: Any, what: str, n: int) -> tuple[IntArray, tuple[Any, ...]]:
    """Codes 0..k-1 in sorted-label order (category order for a pandas Categorical)."""
    if len(values) != n:
        raise ValueError(f"{what} has {len(values)} values but time has {n}")
    codes, labels = factorize(values, name=what)
    return codes.astype(np.int64), tuple(labels)


def _prepare(
    time: npt.ArrayLike, status: npt.ArrayLike, censor_code: Hashable
) -> tuple[FloatArray, IntArray, tuple[Any, ...]]:
    t = check_times(time)
    if t.size == 0:
        raise ValueError("no rows")
    codes, labels = _factorize(status, "status", t.size)
    # code 0 = censored, 1..nc = causes in sorted order
    is_cens = np.array([lab == censor_code for lab in labels], dtype=bool)
    causes = tuple(lab for lab, c in zip(labels, is_cens, strict=True) if not c)
    if not causes:
        raise ValueError(f"no events: every status equals the censoring code {censor_code!r}")
    remap = np.zeros(len(labels), dtype=np.int64)
    remap[~is_cens] = np.arange(1, len(causes) + 1)
    return t, remap[codes], causes


@dataclass(frozen=True)
class _Blocks:
    """Distinct times of (a subset of) the data, with per-status, per-group counts.

    Arrays are time-last so that running sums over time are contiguous.
    """

    time: FloatArray  # (nb,) increasing
    counts: FloatArray  # (nc + 1, ng, nb); status 0 = censored
    at_risk: FloatArray  # (ng, nb) at risk just before each time

    @property
    def events(self) -> FloatArray:
        """Events per cause, group and time: shape (nc, ng, nb)."""
        return self.counts[1:]

    @property
    def any_event(self) -> FloatArray:
        """Events of any cause per group and time: shape (ng, nb)."""
        out: FloatArray = self.counts[1:].sum(axis=0)
        return out


def _blocks(t_sorted: FloatArray, cell: npt.NDArray[np.integer[Any]], ng: int, nc: int) -> _Blocks:
    """``cell = status * ng + group`` per row, rows sorted by time."""
    n = t_sorted.size
    new_block = np.empty(n, dtype=bool)
    new_block[0] = True
    np.not_equal(t_sorted[1:], t_sorted[:-1], out=new_block[1:])
    block_id = np.cumsum(new_block) - 1
    nb = int(block_id[-1]) + 1
    key = cell.astype(np.int64) * nb + block_id
    counts_int = np.bincount(key, minlength=(nc + 1) * ng * nb).reshape(nc + 1, ng, nb)
    counts: FloatArray = counts_int.astype(np.float64)
    per_time = counts.sum(axis=0)  # (ng, nb)
    group_n = per_time.sum(axis=1)
    at_risk = group_n[:, None] - np.cumsum(per_time, axis=1) + per_time
    return _Blocks(time=t_sorted[new_block], counts=counts, at_risk=at_risk)


# ---------------------------------------------------------------------------------------------
# cumulative incidence: cmprsk subroutine cinc
# ---------------------------------------------------------------------------------------------
def _tie_correct(t6: FloatArray, d: FloatArray, rs: FloatArray) -> None:
    """Multiply ``t6`` in place by cinc's ``t5 = 1 - (d - 1)/(rs - 1)`` where ``d > 1``."""
    tied = np.flatnonzero(d > 1)
    if tied.size:
        t6[tied] *= 1.0 - (d[tied] - 1.0) / (rs[tied] - 1.0)


def _cinc(
    rs: FloatArray, d_cause: FloatArray, d_any: FloatArray
) -> list[tuple[npt.NDArray[np.bool_], FloatArray, FloatArray]]:
    """One group, every cause: estimates and Aalen (1978) variances at each cause's jumps.

    Inputs are per distinct time with at least one event of any cause: at risk ``rs`` (nt,),
    events per cause ``d_cause`` (nc, nt) and of any cause ``d_any`` (nt,). Per time, with
    ``fk`` the all-cause KM just before and ``fkn`` just after, ``F`` the CIF just after, and
    ``t5(d) = 1 - (d - 1)/(rs - 1)`` (a correction for ``d`` tied events), cinc accumulates::

        competing (nd2 = nd - nd1 > 0, fkn > 0):
            t6 = fk^2 t5(nd2) nd2 / rs^2,  t3 = 1/fkn,  t4 = F/fkn
        own cause (nd1 > 0):
            t6 = fk^2 t5(nd1) nd1 / rs^2,  t3 = 1/fkn (0 if fkn = 0),  t4 = 1 + t3 F
        v1 += t4^2 t6,  v2 += t3 t4 t6,  v3 += t3^2 t6

    and ``var F = v1 + F^2 v3 - 2 F v2`` at each jump. Returns, per cause, ``(jump mask,
    estimates, variances)``.
    """
    if rs.size == 0:  # a group with no event of any cause: flat curves at 0 (as cmprsk)
        empty = np.zeros(0, dtype=np.float64)
        return [(np.zeros(0, dtype=bool), empty, empty) for _ in d_cause]
    fkn = np.cumprod((rs - d_any) / rs)
    fk = np.empty_like(fkn)
    fk[0] = 1.0
    fk[1:] = fkn[:-1]
    fk2_rs2 = (fk / rs) ** 2
    pos = fkn > 0
    inv_fkn = np.zeros_like(fkn)
    np.divide(1.0, fkn, out=inv_fkn, where=pos)
    inv_fkn2 = inv_fkn * inv_fkn
    out = []
    for nd1 in d_cause:
        nd2 = d_any - nd1
        f = np.cumsum(fk * nd1 / rs)
        # competing-cause terms (all zero where fkn = 0, since then inv_fkn = 0)
        t6 = fk2_rs2 * nd2
        _tie_correct(t6, nd2, rs)
        t4 = f * inv_fkn
        v1 = t4 * t4 * t6
        v2 = inv_fkn * t4 * t6
        v3 = inv_fkn2 * t6
        # own-cause terms
        t6 = fk2_rs2 * nd1
        _tie_correct(t6, nd1, rs)
        t4 = 1.0 + inv_fkn * f
        v1 += t4 * t4 * t6
        v2 += inv_fkn * t4 * t6
        v3 += inv_fkn2 * t6
        v1 = np.cumsum(v1)
        v2 = np.cumsum(v2)
        v3 = np.cumsum(v3)
        jump = nd1 > 0
        fj = f[jump]
        out.append((jump, fj, v1[jump] + fj * fj * v3[jump] - 2.0 * fj * v2[jump]))
    return out


# ---------------------------------------------------------------------------------------------
# Gray's test: cmprsk subroutine crst (one stratum)
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class _Stratum:
    """The parts of ``crst`` that do not depend on the cause: one stratum's at-risk structure.

    Arrays are ``(groups, times)`` over the distinct times with an event of any cause.
    """

    rs: FloatArray  # at risk (1.0 where nobody is, see ``active``)
    active: FloatArray | None  # 1.0 where rs > 0, else 0.0; None when every group is at risk
    d_any: FloatArray
    skm: FloatArray  # all-cause KM per group just after each time
    skmm: FloatArray  # ... just before
    h: FloatArray  # rs / skmm (0 where nobody is at risk)
    tr: FloatArray  # (times,) sum of h over groups
    skmm_rs: FloatArray  # skmm / rs
    inv_skm: FloatArray  # 1 / skm (inf where skm = 0; see ``skm_pos``)
    skm_pos: bool  # every skm > 0
    base: FloatArray  # (groups-1, groups, times): h_i (delta_ik - h_k / tr)


def _stratum(at_risk: FloatArray, d_any: FloatArray) -> _Stratum:
    ng = at_risk.shape[0]
    active = at_risk > 0
    all_active = bool(active.all())
    rs = at_risk if all_active else np.where(active, at_risk, 1.0)
    # factor 1 where nobody is at risk
    skm = np.asarray(np.cumprod((rs - d_any) / rs, axis=1), dtype=np.float64)
    skmm = np.empty_like(skm)
    skmm[:, 0] = 1.0
    skmm[:, 1:] = skm[:, :-1]
    if all_active:
        h = rs / skmm
    else:  # a group whose members have all left has skmm = 0 (if they all failed): h = 0
        h = np.zeros_like(rs)
        np.divide(rs, skmm, out=h, where=active)
    tr = h.sum(axis=0)
    g1 = ng - 1
    base = h[:g1, None, :] * (-(h / tr))[None, :, :]
    idx = np.arange(g1)
    base[idx, idx, :] += h[:g1]
    skm_pos = bool((skm > 0).all())
    with np.errstate(divide="ignore"):
        inv_skm = 1.0 / skm
    return _Stratum(
        rs=rs,
        active=None if all_active else active.astype(float),
        d_any=d_any,
        skm=skm,
        skmm=skmm,
        h=h,
        tr=tr,
        skmm_rs=skmm / rs,
        inv_skm=inv_skm,
        skm_pos=skm_pos,
        base=base,
    )


def _crst(st: _Stratum, d1: FloatArray, rho: float) -> tuple[FloatArray, FloatArray]:
    """Score and covariance (first ng-1 groups) of Gray's test within one stratum.

    ``d1`` (groups, times) counts events of the cause of interest; ``d2 = d_any - d1`` those of
    other causes. In the notation of ``crst``: per group KM ``skm`` (``skmm`` just before) and
    CIF ``f1`` (``f1m`` just before), pooled CIF ``f`` (``fm`` just before), at risk ``rs``,
    ``h_i = rs_i / skmm_i``, ``tr = sum_i h_i``, ``tq = sum_i h_i (1 - f1m_i)``, weight
    ``fb = (1 - fm)^rho``::

        s_i += fb (d1_i - nd1 h_i (1 - f1m_i) / tq)
        a    = fb (diag(h) - h h' / tr),    c += a nd1 / (tr (1 - fm))

    then, for times with ``nd1 > 0`` and groups ``k`` at risk (loop 72), with
    ``t4 = 1 - (1 - f)/skm_k``, ``t5 = 1 - (nd1 - 1)/(tr skmm_k - 1)``,
    ``t3 = t5 skmm_k nd1 / (tr rs_k)`` and ``b_ik = a_ik - t4_k c_ik``::

        v3_k += t4^2 t3,   v2_ik += b_ik t4 t3,   v_ij += sum_k b_ik b_jk t3

    for groups with other-cause events ``d2_k`` (loop 82), with ``t4 = (1 - f)/skm_k``,
    ``t5 = 1 - (d2_k - 1)/(rs_k - 1)`` and ``t3 = t5 skmm_k^2 d2_k / rs_k^2``::

        v3_k += t4^2 t3,   v2_ik -= c_ik t4^2 t3,   v_ij += sum_k c_ik c_jk t4^2 t3

    and finally ``v += c diag(v3) c' + c v2' + v2 c'`` with the final ``c``. Only rows
    ``i < ng - 1`` of ``a`` and ``c`` are needed, so only those are formed.
    """
    ng, nt = d1.shape
    g1 = ng - 1
    active, skm, skmm, h, tr = st.active, st.skm, st.skmm, st.h, st.tr
    rs = st.rs
    d2 = st.d_any - d1
    f1 = np.cumsum(st.skmm_rs * d1, axis=1)  # d1 = 0 where nobody is at risk
    f1m = np.zeros_like(f1)
    f1m[:, 1:] = f1[:, :-1]
    tq = (h * (1.0 - f1m)).sum(axis=0)
    nd1 = d1.sum(axis=0)
    f = np.cumsum(nd1 / tr)
    fm = np.zeros_like(f)
    fm[1:] = f[:-1]
    one_minus_f = 1.0 - f
    skm_pos = st.skm_pos

    with np.errstate(divide="ignore", invalid="ignore"):
        # score (h = 0 where nobody is at risk, and then d1 = 0 too)
        terms = d1[:g1] - nd1 * h[:g1] * (1.0 - f1m[:g1]) / tq
        if rho == 0:
            s = terms.sum(axis=1)
            a = st.base
        else:
            fb = (1.0 - fm) ** rho
            s = (fb * terms).sum(axis=1)
            a = st.base * fb
        cw = nd1 / (tr * (1.0 - fm))
        c = np.cumsum(a * cw, axis=2)  # (g1, ng, nt)

        # own-cause part: every term carries t3, which is 0 unless nd1 > 0 and k is at risk
        t4 = 1.0 - one_minus_f * st.inv_skm
        if not skm_pos:
            t4[skm <= 0] = 1.0
        t3 = st.skmm_rs * (nd1 / tr)
        tied = np.flatnonzero(nd1 > 1)
        if tied.size:
            t3[:, tied] *= 1.0 - (nd1[tied] - 1.0) / (tr[tied] * skmm[:, tied] - 1.0)
        if active is not None:
            t3 *= active
        v3 = (t4 * t4 * t3).sum(axis=1)
        b = c * t4
        np.subtract(a, b, out=b)  # b_ik = a_ik - t4_k c_ik
        v2 = (b * (t4 * t3)).sum(axis=2)
        flat_b = b.reshape(g1, ng * nt)
        v = (flat_b * t3.reshape(ng * nt)) @ flat_b.T

        # competing-cause part: zero unless d2 > 0 (and skm > 0)
        w = (one_minus_f * st.inv_skm * st.skmm_rs) ** 2 * d2
        tied2 = np.flatnonzero((d2 > 1).any(axis=0))
        if tied2.size:
            d2t = d2[:, tied2]
            w[:, tied2] *= np.where(d2t > 1, 1.0 - (d2t - 1.0) / (rs[:, tied2] - 1.0), 1.0)
        if not skm_pos:
            w[skm <= 0] = 0.0
    v3 += w.sum(axis=1)
    v2 -= (c * w).sum(axis=2)
    flat_c = c.reshape(g1, ng * nt)
    v += (flat_c * w.reshape(ng * nt)) @ flat_c.T

    # close
    cf = c[:, :, -1]
    v += (cf * v3) @ cf.T + cf @ v2.T + v2 @ cf.T
    return s, v


def _gray_statistic(s: FloatArray, v: FloatArray) -> float:
    """``s' V^-1 s``; NaN when ``V`` is rank-deficient (R: ``qr()$rank`` with tol 1e-7)."""
    if not np.all(np.isfinite(v)) or not np.all(np.isfinite(s)):
        return math.nan
    r = np.linalg.qr(v, mode="r")
    d = np.abs(np.diag(r))
    if d.size == 0 or d.max() == 0 or np.any(d < 1e-7 * d.max()):
        return math.nan
    return float(s @ np.linalg.solve(v, s))


# ---------------------------------------------------------------------------------------------
# public entry point
# ---------------------------------------------------------------------------------------------
def cumulative_incidence(
    time: npt.ArrayLike,
    status: npt.ArrayLike,
    group: npt.ArrayLike | Sequence[Any] | None = None,
    strata: npt.ArrayLike | Sequence[Any] | None = None,
    *,
    rho: float = 0.0,
    censor_code: Hashable = 0,
    conf_level: float = 0.95,
) -> CumulativeIncidenceResult:
    """Cumulative incidence per cause (and group), with Gray's test: R's ``cmprsk::cuminc``.

    Parameters
    ----------
    time : array_like, shape (n,)
        Time to the first event or to censoring (any unit, >= 0).
    status : array_like, shape (n,)
        Event type; ``censor_code`` (default 0) marks censoring, every other value is a cause.
    group : array_like, optional
        Groups to estimate separately and compare with Gray's test.
    strata : array_like, optional
        Strata for Gray's test (the estimates are not stratified), as ``cuminc(strata=)``.
    rho : float
        Power of the weight ``(1 - F(t-))^rho`` in Gray's test; 0 (default) as in cmprsk.
    censor_code
        The status value that means censored.
    conf_level : float
        Level of the pointwise CIs (log(-log) transform, see :func:`cif_confidence_interval`).

    Returns
    -------
    CumulativeIncidenceResult

    Notes
    -----
    Estimate: Aalen-Johansen ``F_k(t) = sum_{t_j <= t} S(t_j-) d_kj / n_j``; variance:
    Aalen (1978) delta method as cmprsk's ``cinc``; test: Gray (1988) as ``crstm``. R call
    checked against: ``cmprsk::cuminc(ftime, fstatus, group, strata, rho)``.

    Examples
    --------
    >>> res = cumulative_incidence([1, 2, 2, 3, 4, 5], [1, 2, 1, 0, 1, 0])
    >>> res.curve(1).estimate.round(4).tolist()  # 1/6, 1/6 + (5/6)(1/5), 1/3 + (1/2)(1/2)
    [0.1667, 0.3333, 0.5833]
    """
    if not math.isfinite(rho):
        raise ValueError(f"rho must be a finite number; got {rho!r}")
    if not 0 < conf_level < 1:
        raise ValueError(f"conf_level must be between 0 and 1; got {conf_level!r}")
    t, code, causes = _prepare(time, status, censor_code)
    n = t.size
    nc = len(causes)
    if group is None:
        grp = np.zeros(n, dtype=np.int64)
        groups: tuple[Any, ...] = (None,)
    else:
        grp, groups = _factorize(group, "group", n)
    ng = len(groups)
    stc: IntArray | None = None
    if strata is not None:
        stc, strata_labels = _factorize(strata, "strata", n)
        if len(strata_labels) == 1:
            stc = None

    order = np.argsort(t)
    ts = t[order]
    cell = (code * ng + grp).astype(np.int32)[order]  # status and group in one gather
    blk = _blocks(ts, cell, ng, nc)
    events = blk.events
    d_any = blk.any_event

    curves: list[IncidenceCurve] = []
    per_group = []
    for gi in range(ng):
        # largest follow-up time of the group: the last distinct time at which it has rows
        # (at_risk never increases, so that is just before its first zero)
        first_empty = int(np.searchsorted(-blk.at_risk[gi], 0.0, side="left"))
        max_time = float(blk.time[first_empty - 1])
        has = d_any[gi] > 0
        tg = blk.time[has]
        res = _cinc(
            blk.at_risk[gi, has],
            np.ascontiguousarray(np.compress(has, events[:, gi, :], axis=1)),
            d_any[gi, has],
        )
        per_group.append((tg, res, max_time, int(blk.at_risk[gi, 0])))
    for k in range(nc):
        for gi in range(ng):
            tg, res, max_time, n_g = per_group[gi]
            jump, fj, vj = res[k]
            curves.append(
                IncidenceCurve(
                    cause=causes[k],
                    group=groups[gi],
                    time=tg[jump],
                    estimate=fj,
                    variance=vj,
                    max_time=max_time,
                    n=n_g,
                )
            )

    tests: list[GrayTest] = []
    if ng > 1:
        if stc is None:
            strata_blocks = [blk]
        else:
            ss = stc[order]
            strata_blocks = []
            for si in range(int(stc.max()) + 1):
                m = ss == si
                strata_blocks.append(_blocks(ts[m], cell[m], ng, nc))
        stratum_parts = []
        for b in strata_blocks:
            da = b.any_event
            has = da.sum(axis=0) > 0
            ar = np.ascontiguousarray(np.compress(has, b.at_risk, axis=1))
            ev = np.ascontiguousarray(np.compress(has, b.events, axis=2))
            stratum_parts.append((_stratum(ar, np.ascontiguousarray(da[:, has])), ev))
        for k in range(nc):
            s_tot = np.zeros(ng - 1)
            v_tot = np.zeros((ng - 1, ng - 1))
            for st, ev in stratum_parts:
                s_k, v_k = _crst(st, ev[k], rho)
                s_tot += s_k
                v_tot += v_k
            stat = _gray_statistic(s_tot, v_tot)
            p_value = chisq_sf(stat, ng - 1) if math.isfinite(stat) else math.nan
            tests.append(
                GrayTest(
                    cause=causes[k],
                    statistic=stat,
                    df=ng - 1,
                    p_value=p_value,
                    score=s_tot,
                    covariance=v_tot,
                )
            )
    return CumulativeIncidenceResult(
        curves=tuple(curves),
        tests=tuple(tests),
        causes=causes,
        groups=groups,
        rho=float(rho),
        conf_level=conf_level,
        n=n,
    )
