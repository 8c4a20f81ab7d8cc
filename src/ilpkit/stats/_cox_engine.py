"""Vectorised risk-set sums for the Cox partial likelihood (private to :mod:`ilpkit.stats.cox`).

Why this exists: lifelines (CoxPHFitter) and statsmodels (PHReg) carry 90-200 ms of fixed cost per
Cox fit on 1,000 rows, and R's compiled ``coxfit6`` takes 5.6 s on a million rows. Reports refit
dozens of models, so the score and information are computed here with a handful of numpy calls
per Newton step: rows are sorted once by time (descending), risk-set sums are running (cumulative)
sums read at the end of each block of tied times, tied deaths are handled with segment sums, and
the information matrix never forms a per-time ``p x p`` array (see :func:`weighted_information`).

Notation (Kalbfleisch & Prentice 2002, ch. 4; Therneau & Grambsch 2000, ch. 3): for a death time
``t`` with ``d`` deaths ``D(t)`` and risk set ``R(t)``, risks ``r_j = exp(x_j' beta)``, and Efron's
(1977) weights ``f_k = k/d`` (``k = 0..d-1``; Breslow 1974 uses ``f_k = 0``),

    den_k = sum_{R(t)} r_j - f_k sum_{D(t)} r_j,
    a_k   = sum_{R(t)} r_j x_j - f_k sum_{D(t)} r_j x_j,
    C_k   = sum_{R(t)} r_j x_j x_j' - f_k sum_{D(t)} r_j x_j x_j',

    loglik = sum_{deaths} x_i' beta - sum_t sum_k log(den_k)
    U      = sum_{deaths} x_i - sum_t sum_k a_k / den_k
    I      = sum_t sum_k (C_k / den_k - a_k a_k' / den_k^2)

which is exactly what R's survival ``coxfit6.c`` accumulates, one row at a time. Each death row is
given its own ``k``, so the ``(t, k)`` pairs are the death rows themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

# exp() overflows just above 709; shift the linear predictor only when it gets near that, so that
# ordinary fits use exactly R's arithmetic (R never shifts).
_EXP_SAFE = 600.0


@dataclass(frozen=True, eq=False)
class RiskSetLayout:
    """Rows sorted by time (descending) and the tie structure of the death times.

    Attributes
    ----------
    xt : ndarray, shape (p, n)
        Covariates, transposed, in sorted order (centred and scaled by the caller). Stored
        transposed so running sums along rows are contiguous.
    time, event : ndarray, shape (n,)
        Sorted times (descending) and event indicators.
    order : ndarray, shape (n,)
        ``time_original[order] == time``.
    ev_rows : ndarray, shape (m,)
        Sorted-row indices of the ``m`` deaths.
    ev_group : ndarray, shape (m,)
        Index (0..G-1, descending time) of the death time each death belongs to.
    group_size : ndarray, shape (G,)
        Number of deaths ``d`` at each death time.
    group_last_row : ndarray, shape (G,)
        Last sorted row whose time equals the death time: the risk set is rows ``0..last``.
    frac : ndarray, shape (m,)
        Efron's ``k/d`` for each death (all zero for Breslow).
    tied_groups : ndarray, shape (G_t,)
        Death times with ``d > 1`` (empty for Breslow): only these need Efron's correction.
    tied_rows : ndarray, shape (m_t,)
        Sorted-row indices of the deaths at those times, grouped by time.
    tied_start : ndarray, shape (G_t,)
        Where each tied time starts in ``tied_rows`` (for ``np.add.reduceat``).
    tied_group_of_row : ndarray, shape (m_t,)
        Group index (0..G-1) of each row in ``tied_rows``.
    x_ev_sum : ndarray, shape (p,)
        Sum of the covariates over deaths.
    xt_tied : ndarray, shape (p, m_t)
        Covariates of ``tied_rows``.
    group_start : ndarray, shape (G,)
        Where each death time starts in ``ev_rows``.
    seg_start, seg_len : ndarray, shape (G,)
        Rows ``seg_start[t] .. group_last_row[t]`` join the risk set at death time ``t`` (rows
        after the earliest death time are in no risk set).
    event_f : ndarray, shape (n,)
        ``event`` as 0.0/1.0.
    """

    xt: FloatArray
    time: FloatArray
    event: npt.NDArray[np.bool_]
    order: IntArray
    ev_rows: IntArray
    ev_group: IntArray
    group_size: IntArray
    group_last_row: IntArray
    frac: FloatArray
    tied_groups: IntArray
    tied_rows: IntArray
    tied_start: IntArray
    tied_group_of_row: IntArray
    x_ev_sum: FloatArray
    xt_tied: FloatArray
    group_start: IntArray
    seg_start: IntArray
    seg_len: IntArray
    event_f: FloatArray

    @property
    def n(self) -> int:
        return int(self.time.shape[0])

    @property
    def n_events(self) -> int:
        return int(self.ev_rows.shape[0])

    @property
    def n_groups(self) -> int:
        return int(self.group_size.shape[0])

    @property
    def efron(self) -> bool:
        """True when some death time has ties and Efron's correction applies."""
        return bool(self.tied_groups.shape[0] > 0)

    def with_x(self, xt_sorted: FloatArray) -> RiskSetLayout:
        """The same layout over another (transposed, sorted) covariate matrix."""
        return RiskSetLayout(
            xt=xt_sorted,
            time=self.time,
            event=self.event,
            order=self.order,
            ev_rows=self.ev_rows,
            ev_group=self.ev_group,
            group_size=self.group_size,
            group_last_row=self.group_last_row,
            frac=self.frac,
            tied_groups=self.tied_groups,
            tied_rows=self.tied_rows,
            tied_start=self.tied_start,
            tied_group_of_row=self.tied_group_of_row,
            x_ev_sum=xt_sorted[:, self.ev_rows].sum(axis=1),
            xt_tied=np.ascontiguousarray(xt_sorted[:, self.tied_rows]),
            group_start=self.group_start,
            seg_start=self.seg_start,
            seg_len=self.seg_len,
            event_f=self.event_f,
        )

    @property
    def in_risk_sets(self) -> int:
        """Number of leading sorted rows that belong to at least one death-time risk set."""
        return int(self.group_last_row[-1]) + 1

    @property
    def few_times(self) -> bool:
        """Few distinct death times: segment sums beat running sums over all rows."""
        return 8 * self.n_groups < self.n

    @property
    def few_ties(self) -> bool:
        """Deaths are grouped into few times: segment sums beat ``bincount``."""
        return 8 * self.n_groups < self.n_events


def sort_order(time: FloatArray) -> IntArray:
    """Row order by time, descending (the order within tied times does not matter)."""
    order: IntArray = np.argsort(time)[::-1]
    return order


def sorted_transposed(x: FloatArray, order: IntArray) -> FloatArray:
    """``x[order].T`` as a C-contiguous ``(p, n)`` array (the layout the engine works on)."""
    out: FloatArray = np.ascontiguousarray(np.take(x, order, axis=0).T)
    return out


def build_layout(
    xt: FloatArray,
    time: FloatArray,
    event: npt.NDArray[np.bool_],
    order: IntArray,
    efron: bool,
) -> RiskSetLayout:
    """Index the blocks of tied death times of data already sorted by :func:`sort_order`.

    ``xt`` is the transposed, sorted design (:func:`sorted_transposed`); ``time`` and ``event``
    are in sorted order too.
    """
    t = time
    e = event
    n = t.shape[0]
    new_block = np.empty(n, dtype=bool)
    new_block[0] = True
    np.not_equal(t[1:], t[:-1], out=new_block[1:])
    block_id = np.cumsum(new_block) - 1
    last_row_of_block = np.append(np.flatnonzero(new_block[1:]), n - 1)
    ev_rows = np.flatnonzero(e)
    m = ev_rows.shape[0]
    ev_block = block_id[ev_rows]
    # death-time groups: blocks that contain a death, renumbered 0..G-1
    new_group = np.ones(m, dtype=bool)
    new_group[1:] = ev_block[1:] != ev_block[:-1]
    group_start = np.flatnonzero(new_group)
    ev_group = np.cumsum(new_group) - 1
    group_size = np.diff(np.append(group_start, m))
    group_last_row = last_row_of_block[ev_block[group_start]]
    seg_start = np.concatenate(([0], group_last_row[:-1] + 1))
    empty = np.zeros(0, dtype=np.intp)
    if efron and np.any(group_size > 1):
        k = np.arange(m) - group_start[ev_group]
        frac = k / group_size[ev_group]
        tied_groups = np.flatnonzero(group_size > 1)
        in_tied = group_size[ev_group] > 1
        tied_rows = ev_rows[in_tied]
        tied_group_of_row = ev_group[in_tied]
        tied_start = np.flatnonzero(np.diff(np.append(-1, tied_group_of_row)) != 0)
    else:
        frac = np.zeros(m)
        tied_groups = tied_rows = tied_start = tied_group_of_row = empty
    return RiskSetLayout(
        xt=xt,
        time=t,
        event=e,
        order=order,
        ev_rows=ev_rows,
        ev_group=ev_group.astype(np.intp),
        group_size=group_size.astype(np.intp),
        group_last_row=group_last_row.astype(np.intp),
        frac=frac,
        tied_groups=tied_groups.astype(np.intp),
        tied_rows=tied_rows.astype(np.intp),
        tied_start=tied_start.astype(np.intp),
        tied_group_of_row=tied_group_of_row.astype(np.intp),
        x_ev_sum=xt[:, ev_rows].sum(axis=1),
        xt_tied=np.ascontiguousarray(xt[:, tied_rows]),
        group_start=group_start.astype(np.intp),
        seg_start=seg_start.astype(np.intp),
        seg_len=(group_last_row - seg_start + 1).astype(np.intp),
        event_f=e.astype(float),
    )


@dataclass(frozen=True, eq=False)
class RiskSetSums:
    """Risk-set sums at one ``beta``, reduced to one value per death time ``t``.

    ``s0, s1``: sums of ``r`` and ``r x`` over the risk set; ``d0, d1``: the same over the tied
    deaths (tied times only); ``den``: ``den_k`` per death; and per death time the sums over its
    deaths of ``1/den``, ``f/den``, ``1/den^2``, ``f/den^2`` and ``f^2/den^2`` (``c1 .. cff2``).
    """

    eta: FloatArray
    risk: FloatArray  # exp(eta - shift)
    shift: float
    s0: FloatArray  # (G,)
    s1: FloatArray  # (p, G)
    d1: FloatArray  # (p, G_t)
    den: FloatArray  # (m,)
    c1: FloatArray
    c2: FloatArray
    cf: FloatArray  # (G,), zero without ties
    cf2: FloatArray  # (G_t,)
    cff2: FloatArray  # (G_t,)


def work_buffer(layout: RiskSetLayout) -> FloatArray:
    """Scratch space of the shape of ``layout.xt``, reused across calls within one fit.

    Large temporaries are otherwise fresh memory on every Newton step, and the page faults on a
    (p, 1e6) array cost as much as the arithmetic. Never shared between fits or threads.
    """
    return np.empty_like(layout.xt)


def risk_set_sums(
    layout: RiskSetLayout, beta: FloatArray, work: FloatArray | None = None
) -> RiskSetSums:
    """Efron/Breslow risk-set denominators and their per-time reductions.

    ``work``: optional scratch from :func:`work_buffer` (overwritten).
    """
    xt = layout.xt
    if work is None:
        work = work_buffer(layout)
    eta = beta @ xt
    top = float(eta.max()) if eta.size else 0.0
    shift = top - _EXP_SAFE if top > _EXP_SAFE else 0.0
    risk = np.exp(eta - shift) if shift else np.exp(eta)
    glr = layout.group_last_row
    g = layout.ev_group
    n_groups = layout.n_groups
    if layout.few_times:
        end = layout.in_risk_sets
        ss = layout.seg_start
        s0 = np.cumsum(np.add.reduceat(risk[:end], ss))
        xr = np.multiply(xt[:, :end], risk[:end], out=work[:, :end])
        s1 = np.cumsum(np.add.reduceat(xr, ss, axis=1), axis=1)
    else:
        s0 = np.cumsum(risk)[glr]
        np.multiply(xt, risk, out=work)
        np.cumsum(work, axis=1, out=work)
        s1 = np.take(work, glr, axis=1)
    if layout.efron:
        tg = layout.tied_groups
        r_t = risk[layout.tied_rows]
        d0 = np.zeros(n_groups)
        d0[tg] = np.add.reduceat(r_t, layout.tied_start)
        d1 = np.add.reduceat(layout.xt_tied * r_t, layout.tied_start, axis=1)
        f = layout.frac
        den = s0[g] - f * d0[g]
        inv = 1.0 / den
        inv2 = inv * inv
        finv2 = f * inv2
        per_death = np.stack((inv, inv2, f * inv, finv2, f * finv2))
        if layout.few_ties:
            per_time = np.add.reduceat(per_death, layout.group_start, axis=1)
        else:
            per_time = np.stack(
                [np.bincount(g, weights=row, minlength=n_groups) for row in per_death]
            )
        c1, c2, cf = per_time[0], per_time[1], per_time[2]
        cf2, cff2 = per_time[3, tg], per_time[4, tg]
    else:
        den = s0[g]
        d = layout.group_size
        c1 = d / s0
        c2 = c1 / s0
        cf = np.zeros(n_groups)
        d1 = np.zeros((xt.shape[0], 0))
        cf2 = cff2 = np.zeros(0)
    return RiskSetSums(
        eta=eta,
        risk=risk,
        shift=shift,
        s0=s0,
        s1=s1,
        d1=d1,
        den=den,
        c1=c1,
        c2=c2,
        cf=cf,
        cf2=cf2,
        cff2=cff2,
    )


def loglik(layout: RiskSetLayout, sums: RiskSetSums) -> float:
    """Log partial likelihood (Breslow or Efron, as laid out)."""
    m = layout.n_events
    return float(sums.eta[layout.ev_rows].sum() - (np.log(sums.den).sum() + m * sums.shift))


def score(layout: RiskSetLayout, sums: RiskSetSums, h: FloatArray | None = None) -> FloatArray:
    """``sum_deaths h(t_i) (x_i - xbar_k)``; ``h = 1`` gives the score vector ``U``.

    ``sum_k a_k/den_k = s1 c1 - d1 cf`` per death time, so no per-death ``p``-vectors are formed.
    ``h`` holds one weight per death time (length G).
    """
    if h is None:
        out: FloatArray = layout.x_ev_sum - sums.s1 @ sums.c1
        if layout.efron:
            out += sums.d1 @ sums.cf[layout.tied_groups]
        return out
    out = layout.xt[:, layout.ev_rows] @ h[layout.ev_group] - sums.s1 @ (h * sums.c1)
    if layout.efron:
        tg = layout.tied_groups
        out += sums.d1 @ (h[tg] * sums.cf[tg])
    return out


def weighted_information(
    layout: RiskSetLayout,
    sums: RiskSetSums,
    h: FloatArray | None = None,
    work: FloatArray | None = None,
) -> FloatArray:
    """``sum_deaths h(t_i) (C_k/den_k - a_k a_k'/den_k^2)``, without per-time ``p x p`` arrays.

    With ``alpha_t = h_t sum_{k at t} 1/den_k`` and ``A_j = sum_{death times t <= t_j} alpha_t``
    (a reverse running sum), ``sum_t alpha_t sum_{R(t)} r_j x_j x_j' = X' diag(r A) X``; Efron's
    ``- f_k D2(t)`` part subtracts ``r_j h_t sum_k f_k/den_k`` from the weight of each tied death,
    so one ``X' W X`` product carries all second moments. The ``a_k a_k'`` part expands, with
    ``a_k = s1 - f_k d1``, into ``s1 c2 s1' - s1 cf2 d1' - d1 cf2 s1' + d1 cff2 d1'``.
    """
    xt = layout.xt
    c1, c2 = sums.c1, sums.c2
    cf = sums.cf
    if h is not None:
        c1, c2, cf = h * c1, h * c2, h * cf
    end = layout.in_risk_sets
    cum_c1 = np.cumsum(c1[::-1])[::-1]  # sum over death times at or before each death time
    weight = np.repeat(cum_c1, layout.seg_len)
    if layout.efron:
        weight -= layout.event_f[:end] * np.repeat(cf, layout.seg_len)
    weight *= sums.risk[:end]
    xr = xt[:, :end]
    if work is None:
        work = work_buffer(layout)
    info: FloatArray = np.multiply(xr, weight, out=work[:, :end]) @ xr.T
    s1 = sums.s1
    info -= (s1 * c2) @ s1.T
    if layout.efron:
        tg = layout.tied_groups
        cf2, cff2 = sums.cf2, sums.cff2
        if h is not None:
            cf2, cff2 = h[tg] * cf2, h[tg] * cff2
        d1 = sums.d1
        cross = (s1[:, tg] * cf2) @ d1.T
        info += cross + cross.T
        info -= (d1 * cff2) @ d1.T
    return info


def cholesky2(matrix: FloatArray, toler: float) -> tuple[FloatArray, list[int]]:
    """LDL' decomposition with R survival's singularity rule (``cholesky2.c``).

    A pivot below ``toler * max(diag)`` (or non-finite) is set to zero and its column skipped;
    those column indices are returned. Returns ``(lower triangle with D on the diagonal,
    singular columns)``.
    """
    a = np.array(matrix, dtype=float, copy=True)
    p = a.shape[0]
    diag_max = float(np.max(np.diag(a))) if p else 0.0
    eps = toler if diag_max <= 0 else diag_max * toler
    singular: list[int] = []
    for i in range(p):
        pivot = a[i, i]
        if not np.isfinite(pivot) or pivot < eps:
            a[i, i] = 0.0
            singular.append(i)
            continue
        col = a[i + 1 :, i] / pivot
        a[i + 1 :, i + 1 :] -= np.outer(col, col) * pivot
        a[i + 1 :, i] = col
    return a, singular


def singular_columns(matrix: FloatArray, toler: float) -> list[int]:
    """Columns R's ``cholesky2`` would declare singular (fast path: LAPACK Cholesky)."""
    p = matrix.shape[0]
    if p == 0:
        return []
    if np.all(np.isfinite(matrix)):
        diag_max = float(np.max(np.diag(matrix)))
        eps = toler if diag_max <= 0 else diag_max * toler
        try:
            chol = np.linalg.cholesky(matrix)
        except np.linalg.LinAlgError:
            pass
        else:
            if np.all(np.diag(chol) ** 2 >= eps):
                return []
    return cholesky2(matrix, toler)[1]


def score_residuals(layout: RiskSetLayout, sums: RiskSetSums) -> FloatArray:
    """Score residuals ``L_j`` (Therneau & Grambsch 2000, section 7.2), shape ``(p, n)``, sorted.

    With Efron's weights each of the ``d`` deaths at a time ``t`` is a sub-death ``k`` with
    hazard increment ``1/den_k`` and mean ``xbar_k = a_k/den_k``; a tied death's risk weight at
    sub-death ``k`` is ``r_j (1 - f_k)``. Then (as R's ``coxscore2.c``)::

        L_j = delta_j (x_j - mean_k xbar_k(t_j))
              - sum_{t <= t_j} sum_k w_jk r_j (x_j - xbar_k(t)) / den_k

    The columns sum to the score vector ``U``. Breslow: ``f_k = 0``.
    """
    xt = layout.xt
    p, n = xt.shape
    g = layout.ev_group
    n_groups = layout.n_groups
    inv = 1.0 / sums.den  # (m,)
    a = sums.s1[:, g].copy()  # (p, m): a_k = s1 - f_k d1
    f = layout.frac
    if layout.efron:
        tied_pos = np.zeros(n_groups, dtype=np.intp)
        tied_pos[layout.tied_groups] = np.arange(layout.tied_groups.shape[0])
        in_tied = layout.group_size[g] > 1
        cols = np.flatnonzero(in_tied)
        a[:, cols] -= f[cols] * sums.d1[:, tied_pos[g[cols]]]

    def per_group(values: FloatArray) -> FloatArray:
        out: FloatArray = np.add.reduceat(values, layout.group_start, axis=-1)
        return out

    xbar_sum = per_group(a * inv)  # (p, G): sum_k xbar_k
    m_t = per_group(a * (inv * inv))  # (p, G): sum_k a_k / den_k^2
    c1 = per_group(inv)  # (G,): sum_k 1/den_k
    res = np.zeros((p, n))
    # risk part over every death time at or before each row's time (rows after the earliest
    # death time are in no risk set): -r_j (x_j sum 1/den - sum a/den^2), cumulated
    end = layout.in_risk_sets
    cum_c1 = np.cumsum(c1[::-1])[::-1]
    cum_m = np.cumsum(m_t[:, ::-1], axis=1)[:, ::-1]
    seg_of_row = np.repeat(np.arange(n_groups), layout.seg_len)
    r = sums.risk[:end]
    head = res[:, :end]
    np.multiply(xt[:, :end], r * cum_c1[seg_of_row], out=head)
    for j in range(p):  # row by row: no (p, n) temporaries
        head[j] -= r * cum_m[j, seg_of_row]
    np.negative(head, out=head)
    # death part
    d = layout.group_size
    res[:, layout.ev_rows] += xt[:, layout.ev_rows] - (xbar_sum / d)[:, g]
    if layout.efron:
        # tied deaths are at risk with weight (1 - f_k) at their own time: add back f_k parts
        cf = per_group(f * inv)  # (G,)
        mf = per_group(a * (f * inv * inv))  # (p, G)
        rows = layout.tied_rows
        gr = layout.tied_group_of_row
        res[:, rows] += sums.risk[rows] * (xt[:, rows] * cf[gr] - mf[:, gr])
    return res
