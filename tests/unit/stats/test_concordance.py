"""Harrell's C against a pair-by-pair count written from the definition."""

from __future__ import annotations

import numpy as np
import pytest

from ilpkit.stats.concordance import concordance_index


def brute_force(time, event, risk):
    n = len(time)
    inf = np.zeros((n, 3))
    tied_y = tied_xy = 0
    for i in range(n):
        if not event[i]:
            continue
        for j in range(n):
            if j == i:
                continue
            if time[j] > time[i] or (time[j] == time[i] and not event[j]):
                k = 0 if risk[i] > risk[j] else 1 if risk[i] < risk[j] else 2
                inf[i, k] += 1
                inf[j, k] += 1
            elif time[j] == time[i] and event[j] and j > i:
                if risk[i] == risk[j]:
                    tied_xy += 1
                else:
                    tied_y += 1
    c, d, t = inf.sum(axis=0) / 2
    npair = c + d + t
    somers = (c - d) / npair
    dfbeta = (inf[:, 0] - inf[:, 1]) / npair - somers / npair * inf.sum(axis=1)
    return (somers + 1) / 2, float(dfbeta @ dfbeta) / 4, (c, d, t, tied_y, tied_xy)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_matches_pairwise_definition_with_ties(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 120
    time = rng.integers(1, 15, n)  # many tied times
    event = rng.random(n) < 0.6
    risk = rng.integers(0, 6, n).astype(float)  # many tied scores
    c, var, counts = brute_force(time, event, risk)
    res = concordance_index(time, event, risk)
    assert res.concordance == pytest.approx(c, rel=1e-12)
    assert res.var == pytest.approx(var, rel=1e-12)
    assert (res.concordant, res.discordant, res.tied_x, res.tied_y, res.tied_xy) == counts


def test_perfect_and_reversed_scores() -> None:
    time = [1, 2, 3, 4, 5]
    event = [1, 1, 1, 1, 1]
    assert concordance_index(time, event, [5, 4, 3, 2, 1]).concordance == 1.0
    assert concordance_index(time, event, [1, 2, 3, 4, 5]).concordance == 0.0
    assert concordance_index(time, event, [1, 1, 1, 1, 1]).concordance == 0.5


def test_no_comparable_pair_is_nan_and_bad_input_is_an_error() -> None:
    res = concordance_index([1, 2], [0, 0], [1, 2])
    assert np.isnan(res.concordance) and res.to_dict()["concordance"] is None
    with pytest.raises(ValueError, match="risk has"):
        concordance_index([1, 2], [1, 0], [1])
    with pytest.raises(ValueError, match="finite"):
        concordance_index([1, 2], [1, 0], [1, float("nan")])


@pytest.mark.parametrize("tied_scores", [True, False])
@pytest.mark.parametrize("sort_times", [True, False])
def test_matches_pairwise_definition_sorted_times_and_distinct_scores(
    tied_scores: bool, sort_times: bool
) -> None:
    rng = np.random.default_rng(7)
    n = 150
    time = rng.integers(1, 25, n).astype(float)
    if sort_times:  # time-descending rows, as a Cox fit keeps them
        time = np.sort(time)[::-1]
    event = rng.random(n) < 0.5
    risk = rng.integers(0, 5, n).astype(float) if tied_scores else rng.normal(size=n)
    c, var, counts = brute_force(time, event, risk)
    res = concordance_index(time, event, risk)
    assert res.concordance == pytest.approx(c, rel=1e-12)
    assert res.var == pytest.approx(var, rel=1e-12)
    assert (res.concordant, res.discordant, res.tied_x, res.tied_y, res.tied_xy) == counts
