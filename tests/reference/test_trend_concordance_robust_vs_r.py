"""Cochran-Armitage trend test, Harrell's C of a Cox model and the clustered robust Cox variance
against R (stats ``prop.trend.test``, survival ``concordance`` and ``coxph(cluster =)``).

Reference numbers: tests/reference/r_trend_concordance_robust.json, written by
``Rscript tests/reference/r_trend_concordance_robust.R`` (data it fitted on:
tests/reference/data/ctr_*.csv).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from ilpkit.stats.cox import cox_concordance, fit_cox
from ilpkit.stats.trend import prop_trend_test

HERE = Path(__file__).parent
REF = json.loads((HERE / "r_trend_concordance_robust.json").read_text())
RTOL = 1e-6


@pytest.mark.parametrize("case", REF["trend"], ids=lambda c: c["name"])
def test_prop_trend_test_matches_r(case: dict[str, Any]) -> None:
    res = prop_trend_test(case["events"], case["totals"], case["scores"])
    assert res.testable and res.reason is None
    assert res.df == case["df"] == 1
    np.testing.assert_allclose(res.statistic, case["statistic"], rtol=RTOL)
    np.testing.assert_allclose(res.p_value, case["p_value"], rtol=RTOL)


def _fit(run: dict[str, Any], **kwargs: Any) -> Any:
    data = pd.read_csv(HERE / "data" / run["data_file"])
    time_col, event_col = ("stop", "event") if "stop" in data.columns else ("time", "status")
    return data, fit_cox(
        data[run["terms"]].to_numpy(float),
        data[time_col].to_numpy(),
        data[event_col].to_numpy(),
        names=run["terms"],
        **kwargs,
    )


@pytest.mark.parametrize("run", REF["concordance"], ids=lambda r: r["name"])
def test_cox_concordance_matches_r(run: dict[str, Any]) -> None:
    _, fit = _fit(run)
    np.testing.assert_allclose(fit.coef, run["coef"], rtol=RTOL)
    res = cox_concordance(fit)
    np.testing.assert_allclose(res.concordance, run["concordance"], rtol=RTOL)
    np.testing.assert_allclose(res.se, run["concordance_se"], rtol=RTOL)
    np.testing.assert_allclose(res.var, run["var"], rtol=RTOL)
    count = run["count"]
    assert (res.concordant, res.discordant, res.tied_x, res.tied_y, res.tied_xy) == (
        count["concordant"],
        count["discordant"],
        count["tied.x"],
        count["tied.y"],
        count["tied.xy"],
    )


@pytest.mark.parametrize("run", REF["robust"], ids=lambda r: r["name"])
def test_clustered_robust_variance_matches_r(run: dict[str, Any]) -> None:
    data, fit = _fit(run, ties=run["ties"])
    naive = fit.se.copy()
    data, fit = _fit(run, ties=run["ties"], cluster=data[run["cluster"]].to_numpy())
    np.testing.assert_allclose(fit.coef, run["coef"], rtol=RTOL)
    np.testing.assert_allclose(fit.se, run["robust_se"], rtol=RTOL)
    np.testing.assert_allclose(fit.covariance, np.atleast_2d(run["robust_var"]), rtol=RTOL)
    np.testing.assert_allclose(np.sqrt(np.diag(fit.naive_covariance)), run["naive_se"], rtol=RTOL)
    np.testing.assert_allclose(naive, run["naive_se"], rtol=RTOL)
    np.testing.assert_allclose(fit.z, run["robust_z"], rtol=RTOL)
    np.testing.assert_allclose(fit.p_value, run["robust_p"], rtol=RTOL)
    np.testing.assert_allclose(fit.wald_test.statistic, run["wald_test"], rtol=RTOL)
    assert fit.n_clusters == run["n_clusters"]
