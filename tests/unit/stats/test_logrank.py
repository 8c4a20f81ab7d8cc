"""Log-rank (k groups, stratified) and log-rank trend test against R survival 3.5-3 survdiff.

Reference values: tests/reference/r_km_logrank_prop.R → r_km_logrank_prop.json (inputs
included). The R script computes the trend statistic from survdiff's obs / exp / var as
(w'(O−E))² / (w'Vw). Hand-worked examples show their arithmetic.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from ilpkit.stats.logrank import logrank_test, logrank_trend_test

REF = json.loads(
    (Path(__file__).resolve().parents[2] / "reference" / "r_km_logrank_prop.json").read_text()
)
RTOL = 1e-6
ATOL = 1e-10


def arr(v: Any) -> np.ndarray:
    special = {None: math.nan, "NA": math.nan, "NaN": math.nan, "Inf": math.inf}
    if not isinstance(v, list):
        v = [v]
    return np.array([special[x] if x is None or isinstance(x, str) else x for x in v], dtype=float)


def close(actual: Any, expected: Any) -> None:
    exp = np.array(expected, dtype=float) if isinstance(expected, list) else arr(expected)
    np.testing.assert_allclose(
        np.asarray(actual, dtype=float).reshape(exp.shape), exp, rtol=RTOL, atol=ATOL
    )


def frame(run: dict[str, Any]) -> pd.DataFrame:
    """The R input data with rows missing the group (or stratum) dropped, as R's na.omit."""
    raw = REF["data"][run["dataset"]]
    df = pd.DataFrame({k: [None if x == "NA" else x for x in v] for k, v in raw.items()})
    cols = [run["group"]] + ([run["strata"]] if isinstance(run["strata"], str) else [])
    return df.dropna(subset=cols).reset_index(drop=True)


def fit_like_r(run: dict[str, Any], **kwargs: Any) -> Any:
    df = frame(run)
    group = df[run["group"]]
    # character groups carry R's factor level order; numeric groups sort the same way in both
    order = run["groups"] if group.dtype == object else None
    if group.dtype != object:
        group = group.astype(float)
    strata = df[run["strata"]] if isinstance(run["strata"], str) else None
    return logrank_test(
        df["time"].astype(float),
        df["event"].astype(int),
        group,
        strata=strata,
        order=order,
        **kwargs,
    )


@pytest.mark.parametrize("run", REF["logrank"], ids=lambda r: r["name"])
def test_logrank_matches_r_survdiff(run: dict[str, Any]) -> None:
    res = fit_like_r(run)
    assert len(res.groups) == len(run["groups"])
    close(res.n, run["n"])
    close(res.observed, run["observed"])
    close(res.expected, run["expected"])
    close(res.variance, run["variance"])
    close(res.chisq, run["chisq"])
    assert res.df == run["df"]
    close(res.p_value, run["p"])
    json.dumps(res.to_dict())


@pytest.mark.parametrize(
    "run", [r for r in REF["logrank"] if "trend" in r], ids=lambda r: r["name"]
)
def test_trend_test_matches_r(run: dict[str, Any]) -> None:
    res = fit_like_r(run).trend(run["scores"])
    close(res.u, run["trend"]["u"])
    close(res.variance, run["trend"]["variance"])
    close(res.chisq, run["trend"]["chisq"])
    close(res.p_value, run["trend"]["p"])
    assert res.df == 1


def test_trend_scores_as_mapping_and_function_form() -> None:
    run = next(r for r in REF["logrank"] if r["name"] == "pbc_edema_trend")
    df = frame(run)
    res = logrank_trend_test(
        "time", "event", "edema", scores={0.0: 0.0, 0.5: 0.5, 1.0: 1.0}, data=df
    )
    close(res.chisq, run["trend"]["chisq"])


def test_reference_includes_k_groups_strata_and_ties() -> None:
    names = {r["name"] for r in REF["logrank"]}
    assert {"veteran_celltype", "veteran_celltype_by_trt", "colon_rx_by_sex"} <= names
    assert any(len(r["groups"]) >= 4 for r in REF["logrank"])


# ------------------------------------------------------------------------ hand-worked
def test_two_group_example_by_hand() -> None:
    # deaths at 1 (a), 2 (b), 3 (a), 4 (b); nobody censored.
    # t  n  n_a  d  d_a  E_a = d*n_a/n   V = d(n-d)/(n-1) * (n_a/n)(1 - n_a/n)
    # 1  4  2    1  1    2/4 = 0.5        1*3/3 * 0.5*0.5   = 0.25
    # 2  3  1    1  0    1/3              1*2/2 * 1/3*2/3   = 0.222222
    # 3  2  1    1  1    1/2              1*1/1 * 0.5*0.5   = 0.25
    # 4  1  0    1  0    0                (n = 1: no variance)
    # O_a = 2, E_a = 4/3, V = 0.722222;  chi2 = (2 - 4/3)^2 / 0.722222 = 0.615385
    res = logrank_test([1, 2, 3, 4], [1, 1, 1, 1], ["a", "b", "a", "b"])
    assert res.observed.tolist() == [2.0, 2.0]
    np.testing.assert_allclose(res.expected, [4 / 3, 8 / 3], rtol=1e-12)
    v = 0.25 + 2 / 9 + 0.25
    np.testing.assert_allclose(res.variance, [[v, -v], [-v, v]], rtol=1e-12)
    assert res.chisq == pytest.approx((2 - 4 / 3) ** 2 / v, rel=1e-12)
    assert res.df == 1
    # 1 df: p = P(|Z| > sqrt(chi2)) = erfc(sqrt(chi2 / 2))
    assert res.p_value == pytest.approx(math.erfc(math.sqrt(res.chisq / 2)), rel=1e-12)


def test_trend_by_hand_equals_two_group_test() -> None:
    # with 2 groups and scores (0, 1): u = O_b - E_b = 2 - 8/3 = -2/3; w'Vw = V_bb = 0.722222
    res = logrank_trend_test([1, 2, 3, 4], [1, 1, 1, 1], ["a", "b", "a", "b"], scores=[0, 1])
    assert res.u == pytest.approx(-2 / 3, rel=1e-12)
    assert res.variance == pytest.approx(0.25 + 2 / 9 + 0.25, rel=1e-12)
    assert res.chisq == pytest.approx((2 / 3) ** 2 / (0.25 + 2 / 9 + 0.25), rel=1e-12)


def test_censoring_at_an_event_time_stays_in_the_risk_set() -> None:
    # a dies at 2; b censored at 2 -> b is at risk at 2: n=2, E_a = 1/2, V = 1*1/1*1/4 = 0.25
    res = logrank_test([2, 2], [1, 0], ["a", "b"])
    np.testing.assert_allclose(res.expected, [0.5, 0.5])
    assert res.chisq == pytest.approx(0.5**2 / 0.25)


def test_group_order_and_categorical() -> None:
    t = [1, 2, 3, 4, 5, 6]
    e = [1, 1, 1, 1, 1, 0]
    g = ["lo", "hi", "mid", "lo", "hi", "mid"]
    cat = pd.Categorical(g, categories=["lo", "mid", "hi", "unused"], ordered=True)
    a = logrank_test(t, e, cat)
    assert a.groups == ["lo", "mid", "hi"]  # unused category dropped, as R's strata()
    b = logrank_test(t, e, g, order=["lo", "mid", "hi"])
    np.testing.assert_array_equal(a.observed, b.observed)
    assert a.chisq == pytest.approx(logrank_test(t, e, g).chisq, rel=1e-12)
    # default trend scores 1..k follow the group order
    assert a.trend().chisq == pytest.approx(b.trend([1, 2, 3]).chisq, rel=1e-12)


def test_integer_and_float_time_paths_agree() -> None:
    run = next(r for r in REF["logrank"] if r["name"] == "veteran_celltype")
    df = frame(run)
    a = logrank_test(df["time"].astype(np.int64), df["event"], df["celltype"])
    b = logrank_test(df["time"] / 7.0, df["event"], df["celltype"])
    np.testing.assert_allclose(a.variance, b.variance, rtol=1e-13)
    assert a.chisq == pytest.approx(b.chisq, rel=1e-13)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"group": ["a", "a", "a"]}, "at least 2 groups"),
        ({"group": ["a", None, "b"]}, "missing"),
        ({"group": ["a", "b"]}, "same length"),
        ({"time": [1, -1, 2]}, ">= 0"),
        ({"event": [0, 1, 3]}, "coded 0"),
    ],
)
def test_invalid_input_is_rejected(kwargs: dict[str, Any], message: str) -> None:
    args = {"time": [1, 2, 3], "event": [1, 0, 1], "group": ["a", "b", "a"]} | kwargs
    with pytest.raises(ValueError, match=message):
        logrank_test(args["time"], args["event"], args["group"])


def test_trend_scores_validated() -> None:
    res = logrank_test([1, 2, 3, 4], [1, 1, 1, 1], ["a", "b", "a", "b"])
    with pytest.raises(ValueError, match="2 groups"):
        res.trend([1, 2, 3])
    with pytest.raises(ValueError, match="no value"):
        res.trend({"a": 1})


def test_continuous_path_on_large_data_equals_rank_transformed_integer_path() -> None:
    # the test depends on the times only through their order (argsort path vs bincount path)
    rng = np.random.default_rng(11)
    g = rng.integers(0, 3, 60_000)
    t = np.round(rng.exponential(1000.0 / (1 + 0.2 * g)), 3)
    e = rng.integers(0, 2, t.shape[0])
    s = rng.integers(0, 2, t.shape[0])
    ranks = np.unique(t, return_inverse=True)[1]
    a = logrank_test(t, e, g, strata=s)
    b = logrank_test(ranks, e, g, strata=s)
    np.testing.assert_allclose(a.expected, b.expected, rtol=1e-12)
    np.testing.assert_allclose(a.variance, b.variance, rtol=1e-12)
    assert a.chisq == pytest.approx(b.chisq, rel=1e-12)
