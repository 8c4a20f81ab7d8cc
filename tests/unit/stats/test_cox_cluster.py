"""Robust (clustered) Cox variance: properties that hold whatever R says."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ilpkit.stats._cox_engine import risk_set_sums, score_residuals
from ilpkit.stats.cox import fit_cox

DATA = Path(__file__).parents[2] / "reference" / "data"


@pytest.fixture(scope="module")
def lung() -> pd.DataFrame:
    return pd.read_csv(DATA / "ctr_lung.csv")


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_score_residuals_sum_to_the_score(lung: pd.DataFrame, ties: str) -> None:
    # At beta = 0 the score U(0) is non-zero; its value is sum_j L_j.
    x = lung[["age", "sex"]].to_numpy(float)
    fit = fit_cox(x, lung.time, lung.status, max_iter=0, ties=ties)
    layout = fit._data.layout
    sums = risk_set_sums(layout, np.zeros(2))
    resid = score_residuals(layout, sums)
    # the score by hand, on the centred and scaled covariates: sum over deaths of x_i - xbar(t_i)
    t, e, xt = layout.time, layout.event, layout.xt
    u = np.zeros(2)
    for i in np.flatnonzero(e):
        at_risk = t >= t[i]
        tied = (t == t[i]) & e
        d = int(tied.sum())
        k = int(np.flatnonzero(np.flatnonzero(tied) == i)[0])
        w = at_risk.astype(float) - (k / d if ties == "efron" else 0.0) * tied
        u += xt[:, i] - (xt * w).sum(axis=1) / w.sum()
    np.testing.assert_allclose(resid.sum(axis=1), u, rtol=1e-10)


def test_cluster_labels_do_not_matter_only_the_grouping(lung: pd.DataFrame) -> None:
    x = lung[["age", "sex"]].to_numpy(float)
    ids = lung.inst.to_numpy()
    a = fit_cox(x, lung.time, lung.status, cluster=ids)
    b = fit_cox(x, lung.time, lung.status, cluster=[f"centre {i * 7 + 1}" for i in ids])
    np.testing.assert_allclose(a.covariance, b.covariance, rtol=1e-12)
    assert a.n_clusters == b.n_clusters == len(set(ids))
    plain = fit_cox(x, lung.time, lung.status)
    np.testing.assert_allclose(a.coef, plain.coef, rtol=1e-12)  # only the variance changes
    np.testing.assert_allclose(a.naive_covariance, plain.covariance, rtol=1e-12)
    assert plain.naive_covariance is None and plain.n_clusters is None


def test_one_cluster_per_row_differs_from_one_big_cluster(lung: pd.DataFrame) -> None:
    x = lung[["age"]].to_numpy(float)
    fit = fit_cox(x, lung.time, lung.status, cluster=np.zeros(len(lung)))
    # a single cluster sums dfbeta over all rows: sum_j L_j I^-1 = U I^-1 ~ 0 at convergence
    assert fit.se[0] < 1e-6


def test_bad_cluster_is_a_clear_error(lung: pd.DataFrame) -> None:
    x = lung[["age"]].to_numpy(float)
    with pytest.raises(ValueError, match="cluster has 3 values"):
        fit_cox(x, lung.time, lung.status, cluster=[1, 2, 3])
    ids = lung.inst.to_numpy(float)
    ids[4] = np.nan
    with pytest.raises(ValueError, match="first at row 5"):
        fit_cox(x, lung.time, lung.status, cluster=ids)
