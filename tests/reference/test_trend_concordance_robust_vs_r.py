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
import pytest

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
