"""Cochran-Armitage trend test: hand-computed value and inputs that cannot carry a test."""

from __future__ import annotations

import math

import pytest

from ilpkit.stats.trend import prop_trend_test


def test_two_groups_equals_pearson_chi2_by_hand() -> None:
    # With two groups the trend test is Pearson's chi-squared without continuity correction:
    # table [[2, 8], [6, 4]]: p = 8/20, X2 = 20 (2*4 - 8*6)^2 / (10*10*8*12) = 10/3.
    res = prop_trend_test([2, 6], [10, 10])
    assert res.testable
    assert res.statistic == pytest.approx(10 / 3, rel=1e-12)
    assert res.p_value == pytest.approx(math.erfc(math.sqrt(10 / 3 / 2)), rel=1e-12)


def test_scores_are_invariant_to_linear_change() -> None:
    a = prop_trend_test([1, 3, 7], [10, 10, 10], [1, 2, 3])
    b = prop_trend_test([1, 3, 7], [10, 10, 10], [10, 30, 50])
    assert a.statistic == pytest.approx(b.statistic, rel=1e-12)


@pytest.mark.parametrize(
    ("events", "totals", "scores", "reason"),
    [
        ([5], [10], None, "at least two groups"),
        ([0, 0, 0], [5, 6, 7], None, "no events"),
        ([5, 6, 7], [5, 6, 7], None, "every patient"),
        ([1, 0, 2], [5, 0, 7], None, "no patients"),
        ([1, 2, 3], [5, 6, 7], [2, 2, 2], "same score"),
    ],
)
def test_degenerate_inputs_are_not_testable(events, totals, scores, reason) -> None:
    res = prop_trend_test(events, totals, scores)
    assert not res.testable
    assert res.statistic is None and res.p_value is None
    assert reason in (res.reason or "")
    assert res.to_dict()["reason"] == res.reason


@pytest.mark.parametrize(
    ("events", "totals", "scores"),
    [
        ([1, 2], [3], None),
        ([4, 1], [3, 3], None),
        ([-1, 1], [3, 3], None),
        ([1.5, 1], [3, 3], None),
        ([1, 1], [3, 3], [1, float("nan")]),
    ],
)
def test_malformed_input_is_a_clear_error(events, totals, scores) -> None:
    with pytest.raises(ValueError):
        prop_trend_test(events, totals, scores)
