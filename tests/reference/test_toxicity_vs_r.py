"""Logistic regression, the toxicity analysis and the TNF dose comparison against R (``glm``
binomial, ``binom.test``, ``chisq.test`` / ``fisher.test``, ``prop.trend.test``, ``cmprsk``).

Reference numbers: tests/reference/r_toxicity_logistic.json, written by
``Rscript tests/reference/r_toxicity_logistic.R`` from R's mtcars and infert data; the registry
(tests/reference/data/registry_infert_toxicity.csv) is a Registry CSV v1 file that the R script
builds from infert and analyses itself.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from ilpkit.services.outcome_analysis import analyze_registry
from ilpkit.services.registry_import import import_registry
from ilpkit.stats.analysis import AnalysisOptions
from ilpkit.stats.logistic import fit_logistic

HERE = Path(__file__).parent
REF = json.loads((HERE / "r_toxicity_logistic.json").read_text(encoding="utf-8"))
RTOL = 1e-6


@pytest.mark.parametrize("case", REF["models"], ids=lambda c: c["name"])
def test_logistic_regression_matches_r_glm(case: dict[str, Any]) -> None:
    data = pd.read_csv(HERE / "data" / case["data_file"])
    fit = fit_logistic(data[case["terms"]].to_numpy(float), data[case["outcome"]], case["terms"])
    assert fit.estimable and fit.reason is None
    assert list(fit.names) == case["names"]
    for ours, name in ((fit.coef, "coef"), (fit.se, "se"), (fit.z, "z"), (fit.p, "p")):
        np.testing.assert_allclose(ours, case[name], rtol=RTOL, err_msg=name)
    for name in ("deviance", "null_deviance", "aic", "lr_statistic", "lr_p"):
        np.testing.assert_allclose(getattr(fit, name), case[name], rtol=RTOL, err_msg=name)
    assert fit.lr_df == case["lr_df"]


def test_logistic_regression_marks_what_it_cannot_fit() -> None:
    x = np.array([[1.0], [2.0], [3.0], [4.0]])
    assert fit_logistic(x, np.zeros(4), ["x"]).reason == "no events"
    assert fit_logistic(x, np.ones(4), ["x"]).reason == "every record had the event"
    separated = fit_logistic(x, np.array([0, 0, 1, 1]), ["x"])
    assert not separated.estimable and "separation" in (separated.reason or "")
    collinear = fit_logistic(np.column_stack([x, 2 * x]), np.array([0, 1, 0, 1]), ["a", "b"])
    assert not collinear.estimable and "collinear" in (collinear.reason or "")


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    folder = tmp_path_factory.mktemp("infert")
    url = f"sqlite:///{folder / 'registry.sqlite3'}"
    report = import_registry(
        HERE / "data" / REF["registry"]["data_file"], url, date(2026, 1, 1), "tester"
    )
    assert report.written and report.perfusions_created == 248 and report.warnings == []
    return analyze_registry(url, AnalysisOptions(endpoints=("toxicity", "tnf_dose")))


def _check_distribution(ours, ref: dict[str, Any]) -> None:
    assert list(ours.grades) == list(ref)
    for grade, r in ref.items():
        p = ours.grades[grade]
        assert (p.k, p.n) == (r["k"], r["n"]), grade
        np.testing.assert_allclose(p.ci95, [r["lower"], r["upper"]], rtol=RTOL, err_msg=grade)


def test_grade_distributions_match_binom_test(results) -> None:
    ref = REF["registry"]
    tox = results.toxicity
    _check_distribution(tox.wieberdink, ref["wieberdink"])
    _check_distribution(tox.systemic, ref["systemic"])
    _check_distribution(tox.complications, ref["complications"])
    assert tox.unit == "perfusion" and tox.ctcae_version == "5.0"
    # grade IV or V: R's severe = wieberdink_grade >= 4, counted by hand from the reference
    severe = ref["wieberdink"]["IV"]["k"] + ref["wieberdink"]["V"]["k"]
    assert (tox.severe.k, tox.severe.n) == (severe, 248)


def _check_test(ours: Any, ref: dict[str, Any]) -> None:
    assert ours.test == ref["test"]
    np.testing.assert_allclose(ours.p, ref["p"], rtol=RTOL)
    if ref["test"] == "chi2":
        np.testing.assert_allclose(ours.statistic, ref["statistic"], rtol=RTOL)
        assert ours.df == ref["df"]
    else:
        assert ours.statistic is None and ours.df is None


@pytest.mark.parametrize("name", sorted(REF["registry"]["associations"]))
def test_associations_match_r(results, name: str) -> None:
    ref = REF["registry"]["associations"][name]
    ours = results.toxicity.associations[name]
    present = {lv: g for lv, g in ours.groups.items() if g.n > 0}
    assert list(present) == ref["levels"]
    assert [g.k for g in present.values()] == ref["k"]
    assert [g.n for g in present.values()] == ref["n"]
    _check_test(ours, ref)
    if "trend" in ref:
        np.testing.assert_allclose(ours.trend.statistic, ref["trend"]["statistic"], rtol=RTOL)
        np.testing.assert_allclose(ours.trend.p, ref["trend"]["p"], rtol=RTOL)
    else:
        assert ours.trend is None


def test_logistic_model_of_severe_toxicity_matches_r(results) -> None:
    ref = REF["registry"]["model"]
    model = results.toxicity.model
    assert model.note is None and model.terms_dropped == {}
    assert ["(Intercept)", *model.terms] == ref["names"]
    terms = [model.intercept, *model.terms.values()]
    for name in ("coef", "se", "z", "p"):
        ours = [getattr(t, name) for t in terms]
        np.testing.assert_allclose(ours, ref[name], rtol=RTOL, err_msg=name)
    np.testing.assert_allclose(
        [t.odds_ratio for t in terms], np.exp(ref["coef"]), rtol=RTOL, err_msg="odds ratio"
    )
    for name in ("deviance", "null_deviance", "aic"):
        np.testing.assert_allclose(getattr(model, name), ref[name], rtol=RTOL, err_msg=name)
    np.testing.assert_allclose(model.lr_test.statistic, ref["lr_statistic"], rtol=RTOL)
    assert model.lr_test.df == ref["lr_df"]


def test_tnf_dose_comparison_matches_r(results) -> None:
    ref = REF["registry"]["tnf_dose"]
    tnf = results.tnf_dose
    assert tnf.unit == "perfusion" and tnf.cut_mg == 2.0
    low, high = tnf.groups["<=2 mg"], tnf.groups[">2 mg"]
    assert [low.n, high.n] == ref["n"]
    assert [low.orr.k, high.orr.k] == ref["orr_k"]
    assert [low.cr.k, high.cr.k] == ref["cr_k"]
    _check_test(tnf.orr_test, ref["orr"])
    _check_test(tnf.cr_test, ref["cr"])
    _check_test(tnf.severe_toxicity_test, ref["severe"])
    gray = tnf.local_recurrence.gray
    np.testing.assert_allclose(gray.statistic, ref["gray"]["statistic"], rtol=RTOL)
    np.testing.assert_allclose(gray.p, ref["gray"]["p"], rtol=RTOL)
    assert gray.df == ref["gray"]["df"]
    groups = tnf.local_recurrence.groups
    for label, est, var in (
        ("<=2 mg", ref["cif_low"], ref["var_low"]),
        (">2 mg", ref["cif_high"], ref["var_high"]),
    ):
        at = [groups[label].at_years[y] for y in ("1", "2")]
        np.testing.assert_allclose([a.estimate for a in at], est, rtol=RTOL)
        np.testing.assert_allclose([a.variance for a in at], var, rtol=RTOL)
