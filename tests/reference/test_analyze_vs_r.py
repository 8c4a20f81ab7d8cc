"""`ilp analyze --json` on a registry built from R's colon data equals R survival/cmprsk.

tests/reference/r_registry_colon.R writes the registry file and R's values; this test imports the
file with ilpkit, runs the analysis and compares every number R reported (rtol 1e-6, or 1e-10
absolute near zero).
"""

from __future__ import annotations

import json
import math
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ilpkit.cli.main import build_app
from ilpkit.services.outcome_analysis import analyze_registry
from ilpkit.services.registry_import import import_registry
from ilpkit.stats.analysis import AnalysisOptions

HERE = Path(__file__).parent
R = json.loads((HERE / "r_registry_colon.json").read_text())
CSV = HERE / "data" / "registry_colon.csv"


def assert_close(ours: Any, ref: Any, path: str = "") -> int:
    """Compare every number in ``ref`` with ``ours`` (recursively); return how many."""
    if isinstance(ref, dict):
        assert isinstance(ours, dict), path
        n = 0
        for key, value in ref.items():
            assert key in ours, f"{path}.{key} missing"
            n += assert_close(ours[key], value, f"{path}.{key}")
        return n
    if isinstance(ref, list):
        assert isinstance(ours, list) and len(ours) == len(ref), path
        return sum(
            assert_close(o, r, f"{path}[{i}]")
            for i, (o, r) in enumerate(zip(ours, ref, strict=True))
        )
    if isinstance(ref, str):
        assert ours == ref, path
        return 0
    if ref is None:
        assert ours is None, path
        return 0
    assert ours is not None, f"{path}: ours is None, R gives {ref}"
    if not math.isfinite(float(ref)):
        return 0
    assert math.isclose(float(ours), float(ref), rel_tol=1e-6, abs_tol=1e-10), (
        f"{path}: ours {ours!r} vs R {ref!r}"
    )
    return 1


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('colon') / 'registry.sqlite3'}"
    import_registry(CSV, url, date(2026, 11, 27), "tester")
    return url


@pytest.fixture(scope="module")
def results(db) -> dict[str, Any]:
    from ilpkit.stats.analysis import DEFAULT_BY

    # R's reference analyses the registry histology (two types here) as well as the defaults
    options = AnalysisOptions(by=(*DEFAULT_BY, "histology"))
    return analyze_registry(db, options).to_json_dict()


def test_cohort(results):
    assert results["schema"] == "ilpkit.results/1"
    assert assert_close(results["cohort"], R["cohort"]) == 5


def test_response(results):
    assert assert_close(results["response"], R["response"]) > 60


def test_overall_survival_km_logrank_trend(results):
    ref = {k: v for k, v in R["overall_survival"].items() if k != "cox"}
    assert assert_close(results["overall_survival"], ref) > 150


def test_cox_efron_multivariable_and_univariable(results):
    ours = results["overall_survival"]["cox"]
    ref = dict(R["overall_survival"]["cox"]["efron"])
    assert assert_close(ours, ref) > 30
    for term, uni in R["overall_survival"]["cox"]["univariable"].items():
        assert_close(ours["univariable"][term], uni, f"univariable.{term}")


def test_cox_breslow(db):
    options = AnalysisOptions(endpoints=("os",), by=(), ties="breslow")
    res = analyze_registry(db, options).to_json_dict()
    ref = dict(R["overall_survival"]["cox"]["breslow"])
    assert assert_close(res["overall_survival"]["cox"], ref) > 30


def test_local_recurrence_cif_and_gray(results):
    assert assert_close(results["local_recurrence"], R["local_recurrence"]) > 100


def test_limb_salvage(results):
    assert assert_close(results["limb_salvage"], R["limb_salvage"]) == 10


def test_cli_json_is_the_same_object(db):
    out = CliRunner().invoke(build_app(), ["analyze", "--json", "--db", db])
    assert out.exit_code == 0, out.output
    payload = json.loads(out.stdout)
    assert_close(payload["overall_survival"]["at_years"], R["overall_survival"]["at_years"])
    assert set(payload) >= {
        "schema",
        "cohort",
        "response",
        "overall_survival",
        "local_recurrence",
        "limb_salvage",
    }
