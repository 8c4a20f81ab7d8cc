"""Cumulative incidence and Gray's test against R cmprsk 2.2-11, plus examples worked by hand.

Reference values come from tests/reference/r_cox_cr.R (its output tests/reference/r_cox_cr.json
and the data it used, tests/reference/data/cr_*.csv, are committed; no R needed here). cmprsk
returns each curve as the corners of a step function: time = (0, t1, t1, t2, t2, ..., tk, tk,
t_max) and est = (0, 0, F(t1), F(t1), F(t2), ..., F(tk), F(tk)); the jumps are at the even
positions 2, 4, ..., 2k (0-based).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ilpkit.stats.competing_risks import (
    CumulativeIncidenceResult,
    cif_confidence_interval,
    cumulative_incidence,
)

REF_DIR = Path(__file__).resolve().parents[2] / "reference"
REF = json.loads((REF_DIR / "r_cox_cr.json").read_text())
CR_RUNS: list[dict[str, Any]] = REF["cuminc"]
RTOL = 1e-6
ATOL = 1e-10


def close(actual: Any, expected: Any, rtol: float = RTOL, atol: float = ATOL) -> None:
    np.testing.assert_allclose(
        np.asarray(actual, dtype=float), np.asarray(expected, dtype=float), rtol=rtol, atol=atol
    )


def fit_like_r(run: dict[str, Any]) -> CumulativeIncidenceResult:
    data = pd.read_csv(REF_DIR / "data" / run["data_file"])
    return cumulative_incidence(
        data["time"],
        data["status"],
        group=data[run["group"]] if run["group"] else None,
        strata=data[run["strata"]] if run["strata"] else None,
        rho=run["rho"],
    )


def run_id(run: dict[str, Any]) -> str:
    return str(run["name"])


@pytest.mark.parametrize("run", CR_RUNS, ids=run_id)
def test_curves_match_cmprsk(run: dict[str, Any]) -> None:
    res = fit_like_r(run)
    assert len(res.curves) == len(run["curves"])
    for ours, ref in zip(res.curves, run["curves"], strict=True):
        # cmprsk names curves "group cause" (just "1 cause" without groups)
        group_label, cause_label = ref["name"].rsplit(" ", 1)
        assert str(ours.cause) == cause_label
        if run["group"]:
            assert str(ours.group) == group_label
        x = np.asarray(ref["time"], dtype=float)
        f = np.asarray(ref["est"], dtype=float)
        v = np.asarray(ref["var"], dtype=float)
        k = (len(x) - 2) // 2
        jumps = slice(2, 2 * k + 1, 2)
        close(ours.time, x[jumps], rtol=0, atol=0)
        close(ours.estimate, f[jumps])
        close(ours.variance, v[jumps])
        assert ours.max_time == x[-1]


TESTED = [r for r in CR_RUNS if r["tests"]]


@pytest.mark.parametrize("run", TESTED, ids=run_id)
def test_gray_test_matches_cmprsk(run: dict[str, Any]) -> None:
    res = fit_like_r(run)
    ref = run["tests"]
    assert [str(t.cause) for t in res.tests] == ref["cause"]
    close([t.statistic for t in res.tests], ref["stat"])
    assert [t.df for t in res.tests] == ref["df"]
    # cmprsk computes p as 1 - pchisq(stat), which loses digits for small p: compare with
    # pchisq(stat, lower.tail = FALSE) tightly and with cmprsk's own figure to ~1e-13.
    close([t.p_value for t in res.tests], ref["p_upper_tail"])
    close([t.p_value for t in res.tests], ref["pv"], rtol=0, atol=1e-13)


TIMEPOINTS = [r for r in CR_RUNS if r["timepoints"]]


@pytest.mark.parametrize("run", TIMEPOINTS, ids=run_id)
def test_timepoints_match_cmprsk(run: dict[str, Any]) -> None:
    res = fit_like_r(run)
    ref = run["timepoints"]
    tp = res.timepoints(ref["times"])
    labels = [f"{g} {c}" if run["group"] else f"1 {c}" for g, c in tp.labels]
    assert labels == ref["rows"]
    est = np.array(ref["est"], dtype=float)  # JSON null (R's NA) -> nan
    var = np.array(ref["var"], dtype=float)
    np.testing.assert_array_equal(np.isnan(tp.estimate), np.isnan(est))
    close(tp.estimate[~np.isnan(est)], est[~np.isnan(est)])
    close(tp.variance[~np.isnan(var)], var[~np.isnan(var)])
    # CIs: R's values of est^exp(-+z se / (est log est)); R gives NaN where est = 0, ilpkit
    # gives the zero-width interval [0, 0] there.
    lower = np.array(ref["lower95"], dtype=float)
    upper = np.array(ref["upper95"], dtype=float)
    defined = ~np.isnan(lower)
    close(tp.lower[defined], lower[defined])
    close(tp.upper[defined], upper[defined])
    at_zero = ~defined & (est == 0)
    assert np.all(tp.lower[at_zero] == 0) and np.all(tp.upper[at_zero] == 0)


# ---------------------------------------------------------------------------------------------
# worked by hand
# ---------------------------------------------------------------------------------------------
def test_estimates_and_first_variance_by_hand() -> None:
    # times 1, 2, 2, 3, 4, 5; status 1, 2, 1, 0, 1, 0 (0 = censored)
    # t=1: 6 at risk, 1 cause-1 event: F1 = 1/6;            all-cause KM S = 5/6
    # t=2: 5 at risk, one of each cause: F1 += S(2-) * 1/5 = (5/6)(1/5) -> 1/3,
    #                                    F2  = (5/6)(1/5) = 1/6;    S = (5/6)(3/5) = 1/2
    # t=3: censored;  t=4: 2 at risk, 1 cause-1 event: F1 += (1/2)(1/2) -> 7/12; S = 1/4
    # check: F1 + F2 + S = 7/12 + 2/12 + 3/12 = 1
    res = cumulative_incidence([1, 2, 2, 3, 4, 5], [1, 2, 1, 0, 1, 0])
    c1 = res.curve(1)
    close(c1.time, [1, 2, 4], rtol=0)
    close(c1.estimate, [1 / 6, 1 / 3, 7 / 12], rtol=1e-14)
    close(res.curve(2).estimate, [1 / 6], rtol=1e-14)
    assert c1.max_time == 5
    # Aalen variance at t=1 as in cinc: rs = 6, fk = 1, fkn = 5/6, F = 1/6, one event:
    #   t6 = fk^2 * 1 / rs^2 = 1/36,  t3 = 1/fkn = 6/5,  t4 = 1 + t3 F = 1.2
    #   v1 = t4^2 t6 = 0.04,  v2 = t3 t4 t6 = 0.04,  v3 = t3^2 t6 = 0.04
    #   var = v1 + F^2 v3 - 2 F v2 = 0.04 (1 + 1/36 - 1/3) = 0.04 * 25/36 = 1/36
    close(c1.variance[0], 1 / 36, rtol=1e-14)
    # step-function look-ups: before 0 and after the last follow-up are undefined (NaN)
    est, var = c1.at([-1, 0, 0.5, 1, 3.9, 4, 5, 5.1])
    np.testing.assert_allclose(
        est, [np.nan, 0, 0, 1 / 6, 1 / 3, 7 / 12, 7 / 12, np.nan], rtol=1e-14
    )
    assert var[1] == 0 and math.isnan(var[-1])


def test_gray_test_two_groups_by_hand() -> None:
    # Two groups, no competing events, no censoring before the events:
    #   group A: events (cause 1) at t=1 and t=3; group B: event at t=2, censored at 4.
    # With rho = 0 and a single cause, Gray's score for group A is
    #   s = sum_t [d1_A - nd1 h_A (1 - F1_A(t-)) / sum_r h_r (1 - F1_r(t-))],  h_r = rs_r/S_r(t-)
    # t=1: rs = (2, 2), S = (1, 1), F1 = (0, 0): h = (2, 2); s += 1 - 1 * 2/4 = 1/2
    # t=2: rs = (1, 2), S_A = 1/2 so h_A = 2, F1_A = 1/2; h_B = 2, F1_B = 0
    #      tq = 2 * 1/2 + 2 * 1 = 3; s += 0 - 1 * 2 * (1/2) / 3 = -1/3
    # t=3: rs = (1, 1), h_A = 2, F1_A = 1/2; S_B = 1/2 so h_B = 2, F1_B = 1/2
    #      tq = 1 + 1 = 2; s += 1 - 1 * 2 * (1/2) / 2 = 1/2
    # s = 1/2 - 1/3 + 1/2 = 2/3
    res = cumulative_incidence([1, 3, 2, 4], [1, 1, 1, 0], group=["A", "A", "B", "B"])
    (test,) = res.tests
    close(test.score, [2 / 3], rtol=1e-12)
    assert test.df == 1
    close(test.statistic, test.score[0] ** 2 / test.covariance[0, 0], rtol=1e-12)


def test_confidence_interval_formula() -> None:
    # F = 0.5, var = 0.01 (se 0.1), 95%: k = z se / (F log F) = 1.959964 * 0.1 / (0.5 log 0.5)
    z = stats.norm.ppf(0.975)
    k = z * 0.1 / (0.5 * math.log(0.5))
    lower, upper = cif_confidence_interval([0.5, 0.0, 1.0], [0.01, 0.0, 0.0])
    close(lower[0], 0.5 ** math.exp(-k), rtol=1e-14)
    close(upper[0], 0.5 ** math.exp(k), rtol=1e-14)
    assert 0 < lower[0] < 0.5 < upper[0] < 1
    assert lower[1] == upper[1] == 0 and lower[2] == upper[2] == 1
    with pytest.raises(ValueError, match="conf_level"):
        cif_confidence_interval([0.5], [0.01], conf_level=1.5)


# ---------------------------------------------------------------------------------------------
# properties
# ---------------------------------------------------------------------------------------------
def test_results_do_not_depend_on_row_order() -> None:
    data = pd.read_csv(REF_DIR / "data" / "cr_colon.csv")  # heavily tied times
    a = cumulative_incidence(data.time, data.status, data.rx)
    shuffled = data.sample(frac=1.0, random_state=11)
    b = cumulative_incidence(shuffled.time, shuffled.status, shuffled.rx)
    for ca, cb in zip(a.curves, b.curves, strict=True):
        np.testing.assert_array_equal(ca.time, cb.time)
        close(ca.estimate, cb.estimate, rtol=1e-13)
        close(ca.variance, cb.variance, rtol=1e-12)
    close([t.statistic for t in a.tests], [t.statistic for t in b.tests], rtol=1e-10)


def test_cif_and_survival_sum_to_one_at_every_event_time() -> None:
    data = pd.read_csv(REF_DIR / "data" / "cr_mgus2.csv")
    res = cumulative_incidence(data.time, data.status)
    times = np.unique(data.time[data.status > 0])
    f1, _ = res.curve(1).at(times)
    f2, _ = res.curve(2).at(times)
    # all-cause Kaplan-Meier computed directly
    t = data.time.to_numpy()
    d = data.status.to_numpy() > 0
    surv = np.cumprod([1 - np.sum(d & (t == s)) / np.sum(t >= s) for s in times])
    close(f1 + f2 + surv, np.ones_like(surv), rtol=1e-12)


def test_single_group_has_no_test() -> None:
    res = cumulative_incidence([1, 2, 3], [1, 2, 0])
    assert res.tests == ()
    assert res.groups == (None,)
    with pytest.raises(KeyError, match="a single group has none"):
        res.test(1)
    with pytest.raises(KeyError, match="no curve for cause 3"):
        res.curve(3)


def test_string_status_and_custom_censor_code() -> None:
    res = cumulative_incidence(
        [1, 2, 3, 4], ["relapse", "death", "alive", "relapse"], censor_code="alive"
    )
    assert res.causes == ("death", "relapse")
    # t=1: 4 at risk, relapse: F = 1/4, S = 3/4; t=2 death: S = 1/2; t=4: 1 at risk, relapse:
    # F += S(4-) * 1/1 = 1/2
    close(res.curve("relapse").estimate, [0.25, 0.75], rtol=1e-14)


def test_to_dict_and_frame() -> None:
    data = pd.read_csv(REF_DIR / "data" / "cr_pbc.csv")
    res = cumulative_incidence(data.time, data.status, data.trt)
    d = res.to_dict()
    json.dumps(d, allow_nan=False)
    assert d["groups"] == [1, 2] and d["causes"] == [1, 2]
    assert set(d["curves"][0]) >= {"time", "estimate", "variance", "lower", "upper"}
    tp = res.timepoints([1000, 9999])
    frame = tp.frame
    assert list(frame.columns) == [
        "group",
        "cause",
        "time",
        "estimate",
        "variance",
        "se",
        "lower",
        "upper",
    ]
    assert len(frame) == 4 * 2
    assert frame["estimate"].isna().sum() == 4  # 9999 is past every group's follow-up
    assert json.loads(json.dumps(tp.to_dict()))["estimate"][0][1] is None


# ---------------------------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"time": [1, float("nan"), 3]}, "time has 1 missing"),
        ({"time": [1, -1, 3]}, "time must be >= 0; row 1"),
        ({"status": [0, 0, 0]}, "no events"),
        ({"status": [1, 0]}, "status has 2 values but time has 3"),
        ({"group": ["a", None, "b"]}, "group has 1 missing value"),
        ({"strata": [1, 2]}, "strata has 2 values"),
        ({"rho": float("inf")}, "rho must be a finite number"),
        ({"conf_level": 0}, "conf_level must be between 0 and 1"),
    ],
)
def test_bad_input_messages(kwargs: dict[str, Any], message: str) -> None:
    args: dict[str, Any] = {"time": [1, 2, 3], "status": [1, 2, 0], "group": ["a", "a", "b"]}
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        cumulative_incidence(**args)


def test_group_without_any_event_gives_flat_curve_and_gray_test_as_cmprsk():
    # R: cuminc(c(1:8), c(1,2,0,1,0,0,0,0), rep(c("a","b"), each = 4))$Tests
    #    cause 1: stat 3.116277, pv 0.0775137; cause 2: stat 0.972973, pv 0.3239398
    res = cumulative_incidence(
        [1, 2, 3, 4, 5, 6, 7, 8], [1, 2, 0, 1, 0, 0, 0, 0], ["a"] * 4 + ["b"] * 4
    )
    assert res.test(1).statistic == pytest.approx(3.116277, rel=1e-6)
    assert res.test(1).p_value == pytest.approx(0.0775137, rel=1e-5)
    assert res.test(2).statistic == pytest.approx(0.972973, rel=1e-6)
    est, var = res.curve(1, "b").at([1.0, 6.0])
    assert est.tolist() == [0.0, 0.0] and var.tolist() == [0.0, 0.0]
