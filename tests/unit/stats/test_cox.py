"""Cox regression and cox.zph against R survival 3.5-3, plus small examples worked by hand.

Reference values come from tests/reference/r_cox_cr.R (run with R; its output
tests/reference/r_cox_cr.json and the data files it fitted on, tests/reference/data/cox_*.csv,
are committed so these tests need no R). Nothing here is copied from ilpkit's own output.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from ilpkit.stats.cox import (
    ConvergenceWarning,
    CoxResult,
    cox_zph,
    design_from_frame,
    fit_cox,
    fit_cox_frame,
)

REF_DIR = Path(__file__).resolve().parents[2] / "reference"
REF = json.loads((REF_DIR / "r_cox_cr.json").read_text())
COX_RUNS: list[dict[str, Any]] = REF["cox"]
RTOL = 1e-6
ATOL = 1e-10


def close(actual: Any, expected: Any, rtol: float = RTOL, atol: float = ATOL) -> None:
    a = np.asarray(actual, dtype=float)
    e = np.asarray(expected, dtype=float)
    np.testing.assert_allclose(a, e, rtol=rtol, atol=atol)


def run_id(run: dict[str, Any]) -> str:
    return f"{run['name']}-{run['ties']}"


def fit_like_r(run: dict[str, Any], **kwargs: Any) -> CoxResult:
    data = pd.read_csv(REF_DIR / "data" / run["data_file"])
    for col, levels in (run["factor_levels"] or {}).items():
        data[col] = pd.Categorical(data[col], categories=levels)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fit_cox_frame(
            data,
            "time",
            "status",
            run["terms"],
            ties=run["ties"],
            max_iter=run["iter_max"],
            **kwargs,
        )


CONVERGED = [r for r in COX_RUNS if not r["warnings"] or "infinite" in r["warnings"][0]]
CONVERGED = [r for r in CONVERGED if r["name"] != "monotone"]


@pytest.mark.parametrize("run", CONVERGED, ids=run_id)
def test_coefficients_match_r(run: dict[str, Any]) -> None:
    fit = fit_like_r(run)
    assert fit.n == run["n"]
    assert fit.n_events == run["nevent"]
    assert fit.iterations == run["iter"]
    close(fit.coef, run["coef"])
    close(fit.se, run["se"])
    close(fit.hazard_ratio, run["exp_coef"])
    close(fit.hr_lower, run["lower95"])
    close(fit.hr_upper, run["upper95"])
    close(fit.z, run["z"])
    close(fit.p_value, run["p"])
    close(fit.covariance, run["var"])
    close(fit.means, run["means"])
    close([fit.loglik_null, fit.loglik], run["loglik"])


@pytest.mark.parametrize("run", CONVERGED, ids=run_id)
def test_global_tests_match_r(run: dict[str, Any]) -> None:
    fit = fit_like_r(run)
    for ours, name in (
        (fit.lr_test, "lr_test"),
        (fit.wald_test, "wald_test"),
        (fit.score_test, "score_test"),
    ):
        ref = run[name]
        close(ours.statistic, ref["statistic"])
        assert ours.df == ref["df"]
        close(ours.p_value, ref["p"])


ZPH_CASES = [(run, transform) for run in COX_RUNS for transform in (run["zph"] or {})]


@pytest.mark.parametrize(
    ("run", "transform"), ZPH_CASES, ids=[f"{run_id(r)}-{t}" for r, t in ZPH_CASES]
)
def test_cox_zph_matches_r(run: dict[str, Any], transform: str) -> None:
    fit = fit_like_r(run)
    ref = run["zph"][transform]
    zph = cox_zph(fit, transform)  # type: ignore[arg-type]
    assert list(zph.rows) == ref["rows"]
    close(zph.chisq, ref["chisq"])
    assert zph.df.tolist() == ref["df"]
    close(zph.p_value, ref["p"])
    assert zph.global_test is not None
    close(zph.global_test.statistic, ref["chisq"][-1])


def test_factor_terms_are_tested_together_as_in_r() -> None:
    run = next(r for r in COX_RUNS if r["name"] == "veteran_multi" and r["ties"] == "efron")
    fit = fit_like_r(run)
    assert fit.columns == (
        "trt",
        "celltype[smallcell]",
        "celltype[adeno]",
        "celltype[large]",
        "karno",
        "diagtime",
        "age",
        "prior",
    )
    assert dict(fit.terms)["celltype"] == (1, 2, 3)
    zph = cox_zph(fit)
    assert zph.df.tolist() == [1, 3, 1, 1, 1, 1, 6 + 2]
    # per-column tests are also available
    single = cox_zph(fit, terms=False, global_test=False)
    assert len(single.rows) == 8
    assert single.global_test is None


def test_iteration_limit_warns_and_returns_rs_iterate() -> None:
    run = next(r for r in COX_RUNS if r["name"] == "lung_multi_iter2")
    assert run["warnings"] == ["Ran out of iterations and did not converge"]
    data = pd.read_csv(REF_DIR / "data" / run["data_file"])
    with pytest.warns(ConvergenceWarning, match="Ran out of iterations and did not converge"):
        fit = fit_cox_frame(data, "time", "status", run["terms"], max_iter=2)
    assert not fit.converged
    assert fit.iterations == run["iter"] == 3
    close(fit.coef, run["coef"])
    close([fit.loglik_null, fit.loglik], run["loglik"])
    close(fit.score_test.statistic, run["score_test"]["statistic"])
    # R 3.5-3 (coxfit6.c) inverts the *undecomposed* information matrix when it runs out of
    # iterations, so its fit$var is diag(1 / I_jj). ilpkit reports the true inverse of I; check
    # it against R's numbers through I_jj = 1 / R's var_jj.
    r_var = np.asarray(run["var"])
    assert np.count_nonzero(r_var - np.diag(np.diag(r_var))) == 0
    close(np.diag(np.linalg.inv(fit.covariance)), 1.0 / np.diag(r_var))


def test_one_iteration_matches_r_without_warning() -> None:
    run = next(r for r in COX_RUNS if r["name"] == "pbc_multi_iter1")
    assert run["warnings"] in ([], None)
    data = pd.read_csv(REF_DIR / "data" / run["data_file"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit = fit_cox_frame(data, "time", "status", run["terms"], ties="breslow", max_iter=1)
    assert not fit.converged
    assert fit.iterations == run["iter"]
    close(fit.coef, run["coef"])
    close(fit.se, run["se"])
    close([fit.loglik_null, fit.loglik], run["loglik"])


def test_monotone_likelihood_warns_of_infinite_coefficient() -> None:
    run = next(r for r in COX_RUNS if r["name"] == "monotone")
    assert "coefficient may be infinite" in run["warnings"][0]
    data = pd.read_csv(REF_DIR / "data" / run["data_file"])
    with pytest.warns(ConvergenceWarning, match="Loglik converged before variable x; coef"):
        fit = fit_cox_frame(data, "time", "status", ["x", "z"])
    assert fit.iterations == run["iter"]
    # the finite parts agree with R; x's coefficient is wherever the iteration stopped
    close(fit.coef, run["coef"], rtol=1e-6)
    close([fit.loglik_null, fit.loglik], run["loglik"])
    close(fit.se[1], run["se"][1])
    assert fit.hr_upper[0] == math.inf


# ---------------------------------------------------------------------------------------------
# worked by hand
# ---------------------------------------------------------------------------------------------
def test_score_test_and_null_loglik_by_hand() -> None:
    # times 1,2,3,4; events 1,1,0,1; x = 0,1,1,0; no ties. At beta = 0 every risk is 1:
    #   t=1: risk set {all 4}, mean x = 2/4 = 0.5, died x=0 -> U += 0 - 0.5;  V = 0.5*0.5 = 0.25
    #   t=2: risk set {2,3,4}, mean x = 2/3,      died x=1 -> U += 1/3;      V = (2/3)(1/3) = 2/9
    #   t=4: risk set {4},    mean x = 0,         died x=0 -> U += 0;        V = 0
    # U = -1/6, I = 1/4 + 2/9 = 17/36, score test = U^2 / I = (1/36) / (17/36) = 1/17
    # loglik(0) = -(log 4 + log 3 + log 1) = -log 12
    fit = fit_cox([[0.0], [1.0], [1.0], [0.0]], [1, 2, 3, 4], [1, 1, 0, 1], names=["x"])
    close(fit.score_test.statistic, 1 / 17, rtol=1e-12)
    close(fit.loglik_null, -math.log(12), rtol=1e-12)
    # the MLE solves U(beta) = 0 with u = e^beta (rows with x = 1 have risk u):
    #   t=1: mean x = 2u/(2 + 2u), died x=0;  t=2: mean x = 2u/(2u + 1), died x=1
    #   -u/(1+u) + 1 - 2u/(1+2u) = 0
    #   <=> -u(1+2u) + (1+u)(1+2u) - 2u(1+u) = 1 - 2u^2 = 0  <=>  u = 1/sqrt(2)
    close(fit.hazard_ratio[0], 1 / math.sqrt(2), rtol=1e-9)


@pytest.mark.parametrize(
    ("ties", "loglik0"),
    [
        # times 1,1,2,3; events 1,1,1,0; x = 1,0,1,0; at beta = 0 risks are 1.
        # Breslow: t=1 two deaths over a risk set of 4 -> -2 log 4; t=2 risk set {3rd,4th} -> -log 2
        ("breslow", -2 * math.log(4) - math.log(2)),
        # Efron: t=1 -> -(log 4 + log(4 - (1/2) * 2)) = -(log 4 + log 3); t=2 -> -log 2
        ("efron", -math.log(4) - math.log(3) - math.log(2)),
    ],
)
def test_tied_deaths_by_hand(ties: str, loglik0: float) -> None:
    # U(0): deaths' x sum to 2; Breslow subtracts 2 * (2/4) at t=1 and 1/2 at t=2 -> U = 1/2;
    # Efron subtracts 2/4 + (2 - 1/2)/(4 - 1) = 1 at t=1, and 1/2 -> U = 1/2 as well.
    # I(0): Breslow 2 * 1/4 + 1/4 = 3/4; Efron (2/4 - 1/4) + (1.5/3 - 0.25) + 1/4 = 3/4.
    # Score test = (1/2)^2 / (3/4) = 1/3 for both.
    fit = fit_cox([1, 0, 1, 0], [1, 1, 2, 3], [1, 1, 1, 0], ties=ties)  # type: ignore[arg-type]
    close(fit.loglik_null, loglik0, rtol=1e-12)
    close(fit.score_test.statistic, 1 / 3, rtol=1e-12)


def test_efron_and_breslow_differ_with_ties_and_agree_without() -> None:
    data = pd.read_csv(REF_DIR / "data" / "cox_lung.csv")
    efron = fit_cox_frame(data, "time", "status", ["age", "sex"])
    breslow = fit_cox_frame(data, "time", "status", ["age", "sex"], ties="breslow")
    assert abs(efron.coef[1] - breslow.coef[1]) > 1e-4  # lung has 26 tied death times
    ovarian = pd.read_csv(REF_DIR / "data" / "cox_ovarian.csv")  # no tied times
    a = fit_cox_frame(ovarian, "time", "status", ["age"])
    b = fit_cox_frame(ovarian, "time", "status", ["age"], ties="breslow")
    close(a.coef, b.coef, rtol=1e-12)


def test_rescaling_a_covariate_rescales_its_coefficient() -> None:
    data = pd.read_csv(REF_DIR / "data" / "cox_pbc.csv")
    x = data[["age", "albumin"]].to_numpy()
    a = fit_cox(x, data.time, data.status, names=["age", "albumin"])
    b = fit_cox(x * [365.25, 1.0], data.time, data.status, names=["age_days", "albumin"])
    close(b.coef, a.coef / [365.25, 1.0], rtol=1e-8)
    close(b.p_value, a.p_value, rtol=1e-8)
    order = np.random.default_rng(7).permutation(len(data))
    c = fit_cox(x[order], data.time.to_numpy()[order], data.status.to_numpy()[order])
    close(c.coef, a.coef, rtol=1e-10)


# ---------------------------------------------------------------------------------------------
# results as data
# ---------------------------------------------------------------------------------------------
def test_summary_and_to_dict() -> None:
    data = pd.read_csv(REF_DIR / "data" / "cox_lung.csv")
    fit = fit_cox_frame(data, "time", "status", ["age", "sex"])
    s = fit.summary
    assert list(s.index) == ["age", "sex"]
    assert list(s.columns) == [
        "coef",
        "exp(coef)",
        "se(coef)",
        "coef lower 95%",
        "coef upper 95%",
        "exp(coef) lower 95%",
        "exp(coef) upper 95%",
        "z",
        "p",
    ]
    close(s["coef lower 95%"], np.log(s["exp(coef) lower 95%"]))
    d = fit.to_dict()
    text = json.dumps(d)  # plain Python only
    assert json.loads(text)["columns"] == ["age", "sex"]
    assert d["ties"] == "efron"
    assert d["terms"] == {"age": [0], "sex": [1]}
    zph = cox_zph(fit).to_dict()
    json.dumps(zph)
    assert [row["term"] for row in zph["rows"]] == ["age", "sex", "GLOBAL"]


def test_to_dict_turns_infinity_into_none() -> None:
    data = pd.read_csv(REF_DIR / "data" / "cox_monotone.csv")
    with pytest.warns(ConvergenceWarning):
        fit = fit_cox_frame(data, "time", "status", ["x", "z"])
    d = fit.to_dict()
    assert d["hr_upper"][0] is None
    json.dumps(d, allow_nan=False)


def test_design_from_frame_codes_factors_like_r() -> None:
    df = pd.DataFrame(
        {
            "arm": ["B", "A", "C", "A"],
            "flag": [True, False, True, False],
            "dose": [1.5, 2.0, 2.5, 3.0],
        }
    )
    x, names, terms = design_from_frame(df, ["arm", "flag", "dose"])
    assert names == ("arm[B]", "arm[C]", "flag", "dose")
    assert terms == {"arm": ["arm[B]", "arm[C]"], "flag": ["flag"], "dose": ["dose"]}
    np.testing.assert_array_equal(
        x,
        [[1, 0, 1, 1.5], [0, 0, 0, 2.0], [0, 1, 1, 2.5], [0, 0, 0, 3.0]],
    )
    cat = pd.DataFrame({"arm": pd.Categorical(["B", "A"], categories=["B", "A", "Z"])})
    x2, names2, _ = design_from_frame(cat, ["arm"])
    assert names2 == ("arm[A]",)  # first category is the reference; unused levels dropped
    np.testing.assert_array_equal(x2, [[0.0], [1.0]])


# ---------------------------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------------------------
def test_no_events_is_an_error() -> None:
    with pytest.raises(ValueError, match="no events among 3 rows"):
        fit_cox([[1.0], [2.0], [3.0]], [1, 2, 3], [0, 0, 0])


def test_collinear_column_is_named() -> None:
    rng = np.random.default_rng(3)
    a = rng.normal(size=40)
    b = rng.normal(size=40)
    x = np.column_stack([a, b, 2 * a - b])
    t = rng.exponential(size=40)
    e = rng.integers(0, 2, size=40)
    e[0] = 1
    with pytest.raises(ValueError, match=r"singular .*'a_minus_b' is constant or a linear comb"):
        fit_cox(x, t, e, names=["a", "b", "a_minus_b"])


def test_constant_column_is_named() -> None:
    with pytest.raises(ValueError, match="'site'"):
        fit_cox(
            [[1.0, 3.0], [2.0, 3.0], [3.0, 3.0], [4.0, 3.0]],
            [1, 2, 3, 4],
            [1, 0, 1, 1],
            names=["age", "site"],
        )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"time": [1, 2, float("nan")]}, "time has 1 missing"),
        ({"time": [1, -2, 3]}, "time must be >= 0; row 1"),
        ({"event": [1, 2, 0]}, r"event must be coded 0 \(censored\) or 1 \(event\); row 1 has 2"),
        ({"event": [1, 0]}, r"time and event must have the same length \(got 3 and 2\)"),
        ({"x": [[1.0], [float("inf")], [2.0]]}, "covariate 'x1' has 1 missing or infinite"),
        ({"x": [[1.0], [2.0]]}, "design matrix has 2 rows but time has 3"),
        ({"names": ["a", "b"]}, "2 names given for 1"),
        ({"ties": "exact"}, "ties must be 'efron' or 'breslow'"),
        ({"conf_level": 95}, "conf_level must be between 0 and 1"),
        ({"max_iter": -1}, "max_iter must be a non-negative integer"),
    ],
)
def test_bad_input_messages(kwargs: dict[str, Any], message: str) -> None:
    args: dict[str, Any] = {"x": [[1.0], [0.0], [1.0]], "time": [1, 2, 3], "event": [1, 1, 0]}
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        fit_cox(**args)


def test_frame_errors_name_the_column() -> None:
    df = pd.DataFrame({"t": [1, 2, 3], "d": [1, 0, 1], "age": [50.0, None, 60.0]})
    with pytest.raises(ValueError, match="covariate 'age' has 1 missing"):
        fit_cox_frame(df, "t", "d", ["age"])
    with pytest.raises(ValueError, match="'weight' is not a column"):
        fit_cox_frame(df, "t", "d", ["weight"])
    with pytest.raises(ValueError, match="column 'time' is not in the data"):
        fit_cox_frame(df, "time", "d")


def test_zph_rejects_log_of_zero_time() -> None:
    fit = fit_cox([[0.0], [1.0], [1.0], [0.0]], [0, 2, 3, 4], [1, 1, 0, 1])
    with pytest.raises(ValueError, match="transform='log' needs every time > 0"):
        cox_zph(fit, "log")
    with pytest.raises(ValueError, match="transform must be"):
        cox_zph(fit, "sqrt")  # type: ignore[arg-type]
