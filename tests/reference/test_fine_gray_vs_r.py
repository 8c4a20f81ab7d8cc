"""Fine-Gray model and predictions against R (cmprsk ``crr``/``predict.crr``, survival
``survfit(coxph, newdata)``), and the registry outputs of ``ilp analyze --fine-gray`` and
``ilp predict``.

Reference numbers: tests/reference/r_fine_gray.json, written by
``Rscript tests/reference/r_fine_gray.R`` (data it fitted on: tests/reference/data/fg_*.csv and
the colon-derived registry tests/reference/data/registry_colon.csv).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from ilpkit.stats.cox import fit_cox
from ilpkit.stats.cox_prediction import predict_cox_survival
from ilpkit.stats.fine_gray import fit_fine_gray

HERE = Path(__file__).parent
REF = json.loads((HERE / "r_fine_gray.json").read_text())
RTOL = 1e-6


def _listed(value: Any) -> list[Any]:
    """jsonlite writes a vector of length 1 as a scalar."""
    return value if isinstance(value, list) else [value]


@pytest.mark.parametrize("run", REF["crr"], ids=lambda r: r["name"])
def test_crr_coef_se_p_matches_r(run: dict[str, Any]) -> None:
    data = pd.read_csv(HERE / "data" / run["data_file"])
    terms = _listed(run["terms"])
    fit = fit_fine_gray(data[terms].to_numpy(float), data["time"], data["status"], names=terms)
    assert fit.converged is run["converged"] is True
    assert fit.n == run["n"]
    np.testing.assert_allclose(fit.coef, _listed(run["coef"]), rtol=RTOL)
    np.testing.assert_allclose(fit.se, _listed(run["se"]), rtol=RTOL)
    np.testing.assert_allclose(fit.z, _listed(run["z"]), rtol=RTOL)
    np.testing.assert_allclose(fit.p_value, _listed(run["p"]), rtol=RTOL)
    np.testing.assert_allclose(fit.covariance, np.atleast_2d(run["var"]), rtol=RTOL)
    ci = np.atleast_2d(run["sdhr_ci95"])
    np.testing.assert_allclose(fit.sdhr_lower, ci[:, 0], rtol=RTOL)
    np.testing.assert_allclose(fit.sdhr_upper, ci[:, 1], rtol=RTOL)
    np.testing.assert_allclose(fit.loglik, run["loglik"], rtol=RTOL)
    np.testing.assert_allclose(fit.loglik_null, run["loglik_null"], rtol=RTOL)
    np.testing.assert_allclose(fit.failure_times, _listed(run["uftime"]), rtol=0)
    np.testing.assert_allclose(fit.baseline_jumps, _listed(run["bfitj"]), rtol=RTOL)


@pytest.mark.parametrize("run", REF["crr"], ids=lambda r: r["name"])
def test_predict_crr_matches_r(run: dict[str, Any]) -> None:
    data = pd.read_csv(HERE / "data" / run["data_file"])
    terms = _listed(run["terms"])
    fit = fit_fine_gray(data[terms].to_numpy(float), data["time"], data["status"], names=terms)
    newx = np.atleast_2d(np.asarray(run["newx"], dtype=float))
    times, cif = fit.predict(newx)
    ref = np.asarray(run["predict_cif"], dtype=float).reshape(cif.shape)
    np.testing.assert_allclose(times, _listed(run["uftime"]), rtol=0)
    np.testing.assert_allclose(cif, ref, rtol=RTOL)
    # the step value at or before each time (R: findInterval); nothing after the follow-up
    at = np.asarray(run["at"], dtype=float)
    ours = fit.cif_at(newx, at).T  # (k, times)
    expected = np.atleast_2d(np.asarray(run["cif_at"], dtype=float))
    inside = at <= data["time"].max()
    np.testing.assert_allclose(ours[:, inside], expected[:, inside], rtol=RTOL, atol=1e-15)
    assert np.isnan(ours[:, ~inside]).all()


@pytest.mark.parametrize("run", REF["survfit_newdata"], ids=lambda r: r["name"])
def test_cox_survfit_newdata_matches_r(run: dict[str, Any]) -> None:
    data = pd.read_csv(HERE / "data" / run["data_file"])
    x = data[run["terms"]].to_numpy(float)
    fit = fit_cox(x, data["time"], data["status"], ties=run["ties"])
    np.testing.assert_allclose(fit.coef, run["coef"], rtol=RTOL)
    pred = predict_cox_survival(
        fit, x, data["time"], data["status"], np.asarray(run["newx"], float), run["times"]
    )
    np.testing.assert_allclose(pred.surv, run["surv"], rtol=RTOL)
    # summary.survfit prints the standard error of S: S * se(H)
    np.testing.assert_allclose(pred.surv * pred.se_cumhaz, run["std_err"], rtol=RTOL)
    np.testing.assert_allclose(pred.lower, run["lower"], rtol=RTOL)
    np.testing.assert_allclose(pred.upper, run["upper"], rtol=RTOL)


def test_fine_gray_risk_sets_by_hand() -> None:
    """Log pseudo-likelihood at beta = 0 from the risk sets worked by hand."""
    # events at 1 and 2, a competing event at 3 (still at risk, weight 1), censored at 4:
    # risk sets of 4 and 3 rows
    fit = fit_fine_gray([[0.0], [1.0], [0.0], [1.0]], [1, 2, 3, 4], [1, 1, 2, 0], max_iter=0)
    assert fit.loglik_null == pytest.approx(-np.log(4.0) - np.log(3.0), rel=1e-12)
    # competing event at 1, censored at 2 (censoring KM G = 2/3 from then), events at 3 and 4:
    # the competing row stays in both risk sets with weight G(u-)/G(1-) = 2/3
    fit = fit_fine_gray([[0.0], [1.0], [0.0], [1.0]], [1, 2, 3, 4], [2, 0, 1, 1], max_iter=0)
    assert fit.loglik_null == pytest.approx(-np.log(2 + 2 / 3) - np.log(1 + 2 / 3), rel=1e-12)
    # baseline jumps d / S0 at beta = 0 and the predicted incidence 1 - exp(-cumsum)
    assert fit.baseline_jumps == pytest.approx([1 / (2 + 2 / 3), 1 / (1 + 2 / 3)], rel=1e-12)


# ------------------------------------------------------------- the colon-derived registry


@pytest.fixture(scope="module")
def colon_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    from datetime import date

    from ilpkit.services.registry_import import import_registry

    url = f"sqlite:///{tmp_path_factory.mktemp('fg_colon') / 'registry.sqlite3'}"
    import_registry(HERE / "data" / "registry_colon.csv", url, date(2026, 11, 27), "tester")
    return url


def _cli_json(args: list[str]) -> dict[str, Any]:
    from typer.testing import CliRunner

    from ilpkit.cli.main import build_app

    out = CliRunner().invoke(build_app(), args)
    assert out.exit_code == 0, out.output
    data: dict[str, Any] = json.loads(out.stdout)
    return data


def test_analyze_fine_gray_on_registry_matches_r(colon_db: str) -> None:
    ref = REF["registry_fine_gray"]
    res = _cli_json(
        [
            "analyze", "--json", "--endpoint", "lr", "--by", "sex",
            "--fine-gray", "age_years,tumor_size_cm", "--db", colon_db,
        ]
    )  # fmt: skip
    fg = res["local_recurrence"]["fine_gray"]
    assert (fg["n"], fg["events"], fg["competing_events"]) == (
        ref["n"],
        ref["events"],
        ref["competing"],
    )
    assert fg["note"] is None and fg["converged"] is True
    for i, term in enumerate(ref["terms"]):
        ours = fg["terms"][term]
        np.testing.assert_allclose(ours["coef"], ref["coef"][i], rtol=RTOL)
        np.testing.assert_allclose(ours["se"], ref["se"][i], rtol=RTOL)
        np.testing.assert_allclose(ours["p"], ref["p"][i], rtol=RTOL)
        np.testing.assert_allclose(ours["ci95"], ref["ci95"][i], rtol=RTOL)
        cs = fg["cause_specific"]["terms"][term]
        np.testing.assert_allclose(cs["coef"], ref["cause_specific"]["coef"][i], rtol=RTOL)
        np.testing.assert_allclose(cs["se"], ref["cause_specific"]["se"][i], rtol=RTOL)
        np.testing.assert_allclose(cs["ci95"], ref["cause_specific"]["ci95"][i], rtol=RTOL)


def test_analyze_without_fine_gray_has_no_key(colon_db: str) -> None:
    res = _cli_json(["analyze", "--json", "--endpoint", "lr", "--by", "sex", "--db", colon_db])
    assert "fine_gray" not in res["local_recurrence"]


PROFILE_OPTIONS = ("--age", "--size-cm", "--histology", "--multifocal", "--prior-radiotherapy")


@pytest.mark.parametrize("k", [0, 1])
def test_predict_on_registry_matches_r(colon_db: str, k: int) -> None:
    ref = REF["registry_predict"]
    age, size, lms, multifocal, prior_rt = ref["profiles"][k]
    args = [
        "predict", "--json", "--db", colon_db,
        "--age", repr(age), "--size-cm", repr(size),
        "--histology", "leiomyosarcoma" if lms else "liposarcoma",
        "--multifocal", "yes" if multifocal else "no",
        "--prior-radiotherapy", "yes" if prior_rt else "no",
    ]  # fmt: skip
    res = _cli_json(args)
    model = res["model"]
    assert (model["n"], model["events"]) == (ref["n"], ref["events"])
    assert model["terms"] == ref["terms"]
    np.testing.assert_allclose(model["concordance"], ref["concordance"], rtol=RTOL)
    surv = np.asarray(ref["os_surv"], dtype=float)  # (times, profiles)
    lower = np.asarray(ref["os_lower"], dtype=float)
    upper = np.asarray(ref["os_upper"], dtype=float)
    assert ref["os_times"] == [365.25, 730.5, 1826.25]
    for i, year in enumerate(("1", "2", "5")):
        at = res["overall_survival"]["at_years"][year]
        np.testing.assert_allclose(at["estimate"], surv[i, k], rtol=RTOL)
        np.testing.assert_allclose(at["ci95"], [lower[i, k], upper[i, k]], rtol=RTOL)
        lr = res["local_recurrence"]["at_years"][year]["estimate"]
        np.testing.assert_allclose(lr, ref["lr_cif"][k][i], rtol=RTOL)
    assert res["local_recurrence"]["n"] == ref["lr_n"]
    assert res["local_recurrence"]["events"] == ref["lr_events"]


def test_analyze_fine_gray_terminal_table_and_unknown_term(colon_db: str) -> None:
    from typer.testing import CliRunner

    from ilpkit.cli.main import build_app

    base = ["analyze", "--endpoint", "lr", "--by", "sex", "--db", colon_db]
    out = CliRunner().invoke(build_app(), [*base, "--fine-gray", "age_years,tumor_size_cm"])
    assert out.exit_code == 0, out.output
    text = " ".join(out.stdout.split())
    assert "Fine-Gray model of local recurrence (death competing; n = 911, 456 recurrences" in text
    ref = REF["registry_fine_gray"]
    size = ref["ci95"][1]  # SHR of tumour size and its CI, as printed (2 decimals)
    shr = f"{np.exp(ref['coef'][1]):.2f} ({size[0]:.2f}–{size[1]:.2f})"
    assert shr in text
    bad = CliRunner().invoke(build_app(), [*base, "--fine-gray", "age_years,nonsense"])
    assert bad.exit_code == 1
    assert "unknown --fine-gray term(s) nonsense" in " ".join(bad.stderr.split())
