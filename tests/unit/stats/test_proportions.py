"""Clopper–Pearson proportions, χ² and Fisher's exact tests against R (binom.test, chisq.test,
fisher.test), plus hand-worked examples and an independent brute-force enumeration for r × c.

Reference values: tests/reference/r_km_logrank_prop.R → r_km_logrank_prop.json.
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from ilpkit.stats.proportions import (
    chi2_test,
    compare_groups,
    contingency_table,
    fisher_test,
    proportion,
)

REF = json.loads(
    (Path(__file__).resolve().parents[2] / "reference" / "r_km_logrank_prop.json").read_text()
)
RTOL = 1e-6
ATOL = 1e-10


def column(dataset: str, name: str) -> pd.Series:
    return pd.Series([None if x == "NA" else x for x in REF["data"][dataset][name]])


# ------------------------------------------------------------------------ proportions
@pytest.mark.parametrize(
    "case", REF["binom"], ids=lambda c: f"{c['x']}of{c['n']}-{c['conf_level']}"
)
def test_clopper_pearson_matches_r_binom_test(case: dict[str, Any]) -> None:
    r = proportion(case["x"], case["n"], conf_level=case["conf_level"])
    assert r.estimate == pytest.approx(case["estimate"], rel=RTOL, abs=ATOL)
    assert r.lower == pytest.approx(case["lower"], rel=RTOL, abs=ATOL)
    assert r.upper == pytest.approx(case["upper"], rel=RTOL, abs=ATOL)


def test_clopper_pearson_edges_by_hand() -> None:
    # k = 0: lower = 0, upper solves (1 - p)^n = alpha/2  ->  1 - 0.025^(1/n)
    r = proportion(0, 10)
    assert r.lower == 0.0
    assert r.upper == pytest.approx(1 - 0.025 ** (1 / 10), rel=1e-12)  # 0.308497
    # k = n: upper = 1, lower solves p^n = alpha/2  ->  0.025^(1/n)
    r = proportion(10, 10)
    assert r.upper == 1.0
    assert r.lower == pytest.approx(0.025 ** (1 / 10), rel=1e-12)  # 0.691503
    # k = 1, n = 2: lower solves 1 - (1-p)^2 = 0.025 -> p = 1 - sqrt(0.975) = 0.012579;
    # upper by symmetry = sqrt(0.975) = 0.987421
    r = proportion(1, 2)
    assert r.lower == pytest.approx(1 - math.sqrt(0.975), rel=1e-10)
    assert r.upper == pytest.approx(math.sqrt(0.975), rel=1e-10)


def test_proportion_from_indicator_array_excludes_missing() -> None:
    s = pd.Series([1, 0, 1, None, 1, 0], dtype="float")
    r = proportion(s)
    assert (r.successes, r.n, r.n_missing) == (3, 5, 1)
    assert r.to_dict()["estimate"] == 0.6
    assert proportion(np.array([True, False, True])).successes == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((11, 10), "between 0 and n"),
        ((-1, 10), "between 0 and n"),
        ((1, 0), "at least 1"),
        ((1.5, 10), "whole numbers"),
        ((3,), "give n"),
        (([0, 2, 1],), "0 or 1"),
    ],
)
def test_proportion_rejects_bad_input(args: tuple[Any, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        proportion(*args)


# ------------------------------------------------------------------------ tables vs R
@pytest.mark.parametrize("case", REF["tables"], ids=lambda c: c["name"])
def test_chisq_matches_r_chisq_test_uncorrected(case: dict[str, Any]) -> None:
    stat, df, p = chi2_test(case["table"])
    assert stat == pytest.approx(case["chisq"]["statistic"], rel=RTOL, abs=ATOL)
    assert df == case["chisq"]["df"]
    assert p == pytest.approx(case["chisq"]["p"], rel=RTOL, abs=ATOL)


@pytest.mark.parametrize("case", REF["tables"], ids=lambda c: c["name"])
def test_fisher_matches_r_fisher_test(case: dict[str, Any]) -> None:
    assert fisher_test(case["table"]) == pytest.approx(case["fisher"]["p"], rel=RTOL, abs=ATOL)


@pytest.mark.parametrize("case", REF["tables"], ids=lambda c: c["name"])
def test_compare_groups_picks_the_test_by_expected_counts(case: dict[str, Any]) -> None:
    res = compare_groups(case["table"])
    np.testing.assert_allclose(res.expected, case["chisq"]["expected"], rtol=RTOL)
    if case["min_expected"] >= 5:
        assert res.test == "chi2"
        assert res.p_value == pytest.approx(case["chisq"]["p"], rel=RTOL, abs=ATOL)
        assert res.df == case["chisq"]["df"]
    else:
        assert res.test == "fisher"
        assert res.statistic is None and res.df is None
        assert res.p_value == pytest.approx(case["fisher"]["p"], rel=RTOL, abs=ATOL)
    json.dumps(res.to_dict())


def test_reference_has_both_branches_and_rxc_fisher() -> None:
    mins = [c["min_expected"] for c in REF["tables"]]
    assert any(m >= 5 for m in mins) and any(m < 5 for m in mins)
    assert any(
        np.array(c["table"]).shape != (2, 2) and c["min_expected"] < 5 for c in REF["tables"]
    )


def test_compare_groups_from_raw_columns_like_r_table() -> None:
    # lung sex x ph.ecog: one patient has ph.ecog missing; R's table() drops that pair
    case = next(c for c in REF["tables"] if c["name"] == "lung_sex_x_ecog")
    res = compare_groups(column("lung", "sex"), column("lung", "ph_ecog"))
    assert res.n_missing == 1
    np.testing.assert_array_equal(res.table, case["table"])
    assert res.row_labels == [1, 2] and res.col_labels == [0, 1, 2, 3]
    assert res.test == "fisher"  # ph.ecog = 3 has expected counts 0.60 and 0.40
    assert res.p_value == pytest.approx(case["fisher"]["p"], rel=RTOL)
    df = pd.DataFrame({"sex": column("lung", "sex"), "ecog": column("lung", "ph_ecog")})
    assert compare_groups("sex", "ecog", data=df).p_value == res.p_value
    forced = compare_groups(column("lung", "sex"), column("lung", "ph_ecog"), test="chi2")
    assert forced.test == "chi2"
    assert forced.p_value == pytest.approx(case["chisq"]["p"], rel=RTOL)


# ------------------------------------------------------------------------ hand-worked
def test_fisher_tea_tasting_by_hand() -> None:
    # [[3, 1], [1, 3]], all margins 4, n = 8: P(x) = C(4,x) C(4,4-x) / C(8,4) = [1,16,36,16,1]/70
    # observed x = 3 (P = 16/70); as or less probable: x = 0, 1, 3, 4 -> 34/70 = 0.485714
    assert fisher_test([[3, 1], [1, 3]]) == pytest.approx(34 / 70, rel=1e-12)


def test_fisher_ties_use_r_tolerance() -> None:
    # [[5, 0], [0, 5]]: P(x=5) = P(x=0) = 1/252; both tails count -> 2/252
    assert fisher_test([[5, 0], [0, 5]]) == pytest.approx(2 / 252, rel=1e-12)


def test_chi2_by_hand() -> None:
    # [[10, 20], [20, 10]]: every expected count 15; X2 = 4 * 5^2 / 15 = 6.666667, 1 df
    # p = P(chi2_1 > X2) = erfc(sqrt(X2 / 2)) = 0.009823
    stat, df, p = chi2_test([[10, 20], [20, 10]])
    assert stat == pytest.approx(20 / 3, rel=1e-12)
    assert df == 1
    assert p == pytest.approx(math.erfc(math.sqrt(10 / 3)), rel=1e-12)


def _fisher_brute_force(table: list[list[int]]) -> float:
    """Independent check: enumerate every table with the observed margins (small tables)."""
    t = np.array(table)
    rows, cols = t.sum(axis=1), t.sum(axis=0)
    n = int(t.sum())

    def prob(x: np.ndarray) -> float:
        num = sum(math.lgamma(v + 1) for v in [*rows, *cols])
        den = math.lgamma(n + 1) + sum(math.lgamma(v + 1) for v in x.ravel())
        return math.exp(num - den)

    p_obs = prob(t)
    total = 0.0
    r, c = t.shape
    # free cells: the top-left (r-1) x (c-1) block; the rest follows from the margins
    ranges = [range(min(rows[i], cols[j]) + 1) for i in range(r - 1) for j in range(c - 1)]
    for free in itertools.product(*ranges):
        x = np.zeros((r, c), dtype=int)
        x[: r - 1, : c - 1] = np.array(free).reshape(r - 1, c - 1)
        x[: r - 1, c - 1] = rows[: r - 1] - x[: r - 1, : c - 1].sum(axis=1)
        x[r - 1, :] = cols - x[: r - 1, :].sum(axis=0)
        if (x < 0).any() or x[r - 1].sum() != rows[r - 1]:
            continue
        p = prob(x)
        if p <= p_obs * (1 + 1e-7):
            total += p
    return total


@pytest.mark.parametrize(
    "table",
    [
        [[3, 0, 2], [1, 4, 1]],
        [[2, 1], [0, 3], [4, 1]],
        [[1, 2, 0], [0, 1, 3], [2, 0, 1]],
        [[2, 0, 1, 1], [0, 3, 1, 0]],
        [[1, 1, 0, 2], [0, 2, 1, 0], [2, 0, 1, 1]],
    ],
)
def test_rxc_fisher_equals_brute_force_enumeration(table: list[list[int]]) -> None:
    assert fisher_test(table) == pytest.approx(_fisher_brute_force(table), rel=1e-10)


# ------------------------------------------------------------------------ API and validation
def test_contingency_table_orders_and_missing() -> None:
    ct = contingency_table(["b", "a", None, "a"], ["x", "y", "x", "x"])
    assert ct.row_labels == ["a", "b"] and ct.col_labels == ["x", "y"]
    assert ct.table.tolist() == [[1, 1], [1, 0]]
    assert ct.n_missing == 1
    ct = contingency_table(["b", "a", "a"], ["x", "y", "x"], row_order=["b", "a"])
    assert ct.row_labels == ["b", "a"]


def test_empty_rows_are_dropped_before_testing() -> None:
    res = compare_groups([[3, 1], [0, 0], [1, 3]])
    assert res.table.shape == (2, 2)
    assert res.row_labels == [0, 2]
    assert res.p_value == pytest.approx(34 / 70, rel=1e-12)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ([[1, 2], [3, -1]], "non-negative whole"),
        ([[1.5, 2], [3, 1]], "non-negative whole"),
        ([[1, 2, 3]], "two non-empty rows"),
        ([1, 2, 3], "two-dimensional"),
    ],
)
def test_bad_tables_are_rejected(table: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        compare_groups(table)


def test_huge_rxc_table_fails_clearly_instead_of_running_for_minutes() -> None:
    big = [[20, 25, 30, 22, 18], [24, 19, 28, 26, 21], [30, 22, 17, 25, 28], [18, 27, 24, 20, 26]]
    with pytest.raises(ValueError, match="too large"):
        fisher_test(big, max_work=100_000)
    with pytest.raises(ValueError, match="test must be"):
        compare_groups([[1, 2], [3, 4]], test="g")  # type: ignore[arg-type]


def test_fisher_falls_back_to_reproducible_monte_carlo_for_huge_tables():
    from ilpkit.stats.proportions import compare_groups

    # R: fisher.test(matrix(c(200,80,300,100,250,120,1,6,150,50,80,20), ncol=2, byrow=TRUE),
    #                workspace=2e8)$p.value = 0.001426957 (exact)
    t = np.array([[200, 80], [300, 100], [250, 120], [1, 6], [150, 50], [80, 20]])
    a = compare_groups(t, max_work=100_000)
    b = compare_groups(t, max_work=100_000)
    assert a.test == "fisher" and "Monte Carlo" in a.reason
    assert a.p_value == b.p_value  # fixed seed
    # 100,000 resamples: Monte Carlo SE about sqrt(0.0014 / 1e5) = 1.2e-4; allow 4 SE
    assert abs(a.p_value - 0.001426957) < 5e-4
