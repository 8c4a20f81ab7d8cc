"""Normal and chi-square functions without SciPy (stats._distributions), against SciPy.

SciPy's ``special.chdtrc``, ``ndtri`` and ``ndtr`` (Cephes and Boost) are the independent
reference, on dense grids: df 1 to 100, x from 1e-8 to 2000, p from 1e-12 to 1 - 1e-12. Where the
value is above 1e-300 the relative difference reached is below 3e-13 for the chi-square tail
(7e-13 at df 1000), 1e-15 for the normal quantile and 6e-14 for the two-sided normal p-value;
the tests ask 1e-12.
The edge values (x = 0, negative, infinite, NaN; df = 0, negative, fractional) are SciPy's, as the
callers relied on them.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special

from ilpkit.stats._distributions import (
    chisq_sf,
    chisq_sf_array,
    normal_quantile,
    normal_two_sided_p,
)

RTOL = 1e-12
TINY = 1e-300
X_GRID = np.unique(
    np.concatenate(
        [
            np.geomspace(1e-8, 2000.0, 1201),
            np.arange(0.5, 2000.5, 0.5),  # whole and half values, where df/2 terms meet x/2
        ]
    )
)


def _relative_error(ours: np.ndarray, ref: np.ndarray) -> np.ndarray:
    return np.abs(ours - ref) / np.abs(ref)


@pytest.mark.parametrize("df", range(1, 101))
def test_chisq_upper_tail_agrees_with_scipy(df: int) -> None:
    ours = chisq_sf_array(X_GRID, df)
    ref = special.chdtrc(df, X_GRID)
    above = ref > TINY
    assert above.sum() > 1000
    worst = _relative_error(ours[above], ref[above]).max()
    assert worst <= RTOL, f"df={df}: {worst:.3g}"
    # below 1e-300 the value underflows (or is subnormal) in both
    assert np.all(ours[~above] <= 1e-290)
    assert np.all(ours >= 0.0)


@pytest.mark.parametrize("df", [150, 151, 500, 999, 1000])
def test_chisq_upper_tail_large_df(df: int) -> None:
    x = df + np.linspace(-5.0, 30.0, 71) * math.sqrt(2.0 * df)
    x = x[x > 0]
    ours = chisq_sf_array(x, df)
    ref = special.chdtrc(df, x)
    above = ref > TINY
    assert _relative_error(ours[above], ref[above]).max() <= RTOL


def test_chisq_closed_forms_by_hand() -> None:
    # df = 2: exp(-x/2); df = 1: erfc(sqrt(x/2)); df = 3: erfc(sqrt(x/2)) + sqrt(2x/pi) e^(-x/2)
    for x in (1e-6, 0.3, 3.84, 10.0, 200.0):
        assert chisq_sf(x, 2) == pytest.approx(math.exp(-x / 2), rel=1e-15)
        assert chisq_sf(x, 1) == pytest.approx(math.erfc(math.sqrt(x / 2)), rel=1e-15)
        three = math.erfc(math.sqrt(x / 2)) + math.sqrt(2 * x / math.pi) * math.exp(-x / 2)
        assert chisq_sf(x, 3) == pytest.approx(three, rel=1e-14)


def test_chisq_no_premature_underflow() -> None:
    # erfc(sqrt(700)) and exp(-700) are near the bottom of the double range, the sum is not
    x, df = 1400.0, 99
    assert chisq_sf(x, df) == pytest.approx(float(special.chdtrc(df, x)), rel=RTOL)
    assert 1e-250 < chisq_sf(x, df) < 1e-200


@pytest.mark.parametrize(
    ("x", "df"),
    [
        (0.0, 1),
        (0.0, 4),
        (-1.0, 1),
        (-1e-15, 2),
        (0.0, 0),
        (1.0, 0),
        (-1.0, 0),
        (math.inf, 0),
        (math.inf, 1),
        (math.inf, 6),
        (math.nan, 1),
        (1.0, math.nan),
        (1.0, -1),
        (1e-300, 1),
        (1e-300, 2),
        (1e-320, 3),
        (2.0, 1.5),
        (0.0, 0.5),
        (7.0, 2.25),
    ],
)
def test_chisq_edge_values_are_scipys(x: float, df: float) -> None:
    ref = float(special.chdtrc(df, x))
    got = chisq_sf(x, df)
    assert got == ref or (math.isnan(got) and math.isnan(ref))
    arr = chisq_sf_array([x], [df])
    assert arr.shape == (1,)
    assert arr[0] == ref or (math.isnan(arr[0]) and math.isnan(ref))


def test_chisq_array_broadcasts_df_and_x() -> None:
    x = np.array([[0.5, 3.0, 12.0]])
    df = np.array([[1], [2], [7]])
    got = chisq_sf_array(x, df)
    assert got.shape == (3, 3)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, special.chdtrc(df, x), rtol=RTOL)


def test_normal_quantile_agrees_with_scipy() -> None:
    tail = np.geomspace(1e-12, 0.5, 4001)
    p = np.unique(np.concatenate([tail, 1.0 - tail, np.linspace(1e-12, 1.0 - 1e-12, 20001)]))
    ours = np.array([normal_quantile(v) for v in p])
    ref = special.ndtri(p)
    nonzero = ref != 0.0
    assert _relative_error(ours[nonzero], ref[nonzero]).max() <= RTOL
    assert np.all(ours[~nonzero] == 0.0)
    # the quantiles the confidence intervals use
    for level in (0.8, 0.9, 0.95, 0.99):
        q = 0.5 + level / 2
        assert normal_quantile(q) == pytest.approx(float(special.ndtri(q)), rel=1e-15)


@pytest.mark.parametrize("p", [0.0, 1.0, -0.1, 1.1, math.nan, math.inf])
def test_normal_quantile_edges_are_scipys(p: float) -> None:
    ref = float(special.ndtri(p))
    got = normal_quantile(p)
    assert got == ref or (math.isnan(got) and math.isnan(ref))


def test_normal_two_sided_p_agrees_with_scipy() -> None:
    z = np.concatenate([np.linspace(-40.0, 40.0, 80001), np.geomspace(1e-12, 40.0, 2001)])
    ours = normal_two_sided_p(z)
    ref = 2.0 * special.ndtr(-np.abs(z))
    above = ref > TINY
    assert _relative_error(ours[above], ref[above]).max() <= RTOL
    assert np.all(ours[~above] <= 1e-290)


def test_normal_two_sided_p_edges_and_shape() -> None:
    z = np.array([[0.0, math.inf], [-math.inf, math.nan]])
    got = normal_two_sided_p(z)
    assert got.shape == (2, 2)
    assert got.dtype == np.float64
    assert got[0, 0] == 1.0 and got[0, 1] == 0.0 and got[1, 0] == 0.0 and math.isnan(got[1, 1])
    assert normal_two_sided_p(1.959963984540054).shape == ()
