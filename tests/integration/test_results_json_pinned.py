"""The JSON of ``ilp analyze --json`` (schema ``ilpkit.results/1``) keeps its shape.

The files under ``data/results_json/`` were written by ``ilp analyze --json`` before the results
object became typed; every key, its order and every value must stay the same, and the typed
models must read each object and write it back unchanged (keys and order included).

Registries: the reference registry built from R's colon data (every section estimable) and small
one-sided registries (one patient, no deaths, everyone dead within a year, one response class,
no Cox terms) whose comparisons and Cox models cannot all be made.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import write_csv
from tests.integration.test_degenerate_registries import CASES
from typer.testing import CliRunner

from ilpkit.cli.main import build_app

HERE = Path(__file__).parent
PINNED = HERE / "data" / "results_json"
COLON_CSV = HERE.parent / "reference" / "data" / "registry_colon.csv"

REGISTRIES: dict[str, tuple[str | None, tuple[str, ...]]] = {
    "colon": (None, ()),
    "one_patient": ("one patient", ()),
    "no_deaths": ("no deaths", ()),
    "all_dead_early": ("everyone died within a year", ()),
    "one_response_class": ("one response class", ()),
    "no_cox_terms": ("no grade recorded", ("--cox", "")),
}

runner = CliRunner()


def _registry(name: str, folder: Path) -> str:
    case, _ = REGISTRIES[name]
    csv_path = COLON_CSV if case is None else write_csv(folder / "registry.csv", CASES[case]())
    url = f"sqlite:///{folder / 'registry.sqlite3'}"
    result = runner.invoke(build_app(), ["import", str(csv_path), "--db", url])
    assert result.exit_code == 0, result.output
    return url


@pytest.fixture(scope="module", params=sorted(REGISTRIES))
def analysed(request, tmp_path_factory) -> tuple[str, str]:
    """(registry name, stdout of ``ilp analyze --json``)."""
    name = request.param
    url = _registry(name, tmp_path_factory.mktemp(name))
    result = runner.invoke(build_app(), ["analyze", "--json", "--db", url, *REGISTRIES[name][1]])
    assert result.exit_code == 0, result.output
    return name, result.stdout


def same(ours: Any, pinned: Any, path: str = "$", rel_tol: float = 1e-9) -> None:
    """Same keys in the same order, same types, numbers equal to 1e-9 relative
    (1e-6 in a model term whose SE is above 1e3)."""
    assert type(ours) is type(pinned), f"{path}: {type(ours).__name__} != {type(pinned).__name__}"
    if isinstance(pinned, dict):
        assert list(ours) == list(pinned), f"{path}: keys {list(ours)} != {list(pinned)}"
        se = pinned.get("se")
        if isinstance(se, float) and se > 1e3:
            # a coefficient that runs off to infinity (complete separation) stops at an
            # iteration artefact: its huge SE and the numbers made from it differ in the 8th
            # digit between machines; they only need to stay about the same
            rel_tol = 1e-6
        for key in pinned:
            same(ours[key], pinned[key], f"{path}.{key}", rel_tol)
    elif isinstance(pinned, list):
        assert len(ours) == len(pinned), path
        for i, (o, p) in enumerate(zip(ours, pinned, strict=True)):
            same(o, p, f"{path}[{i}]", rel_tol)
    elif isinstance(pinned, float):
        close = math.isclose(ours, pinned, rel_tol=rel_tol, abs_tol=1e-12)
        assert close, f"{path}: {ours} != {pinned}"
    else:
        assert ours == pinned, f"{path}: {ours!r} != {pinned!r}"


def test_json_is_unchanged(analysed):
    name, stdout = analysed
    pinned = json.loads((PINNED / f"{name}.json").read_text(encoding="utf-8"))
    same(json.loads(stdout), pinned)
    assert stdout.startswith('{\n  "schema": "ilpkit.results/1",\n  "synthetic": ')


def test_models_round_trip_the_json_exactly(analysed):
    from ilpkit.stats.results import AnalysisResults

    _, stdout = analysed
    original = json.loads(stdout)
    dumped = AnalysisResults.model_validate(original).model_dump(mode="json", exclude_none=False)
    assert json.dumps(dumped) == json.dumps(original)  # keys, order and values


def test_models_read_the_pinned_files_exactly():
    from ilpkit.stats.results import AnalysisResults

    for path in sorted(PINNED.glob("*.json")):
        original = json.loads(path.read_text(encoding="utf-8"))
        model = AnalysisResults.model_validate(original)
        assert json.dumps(model.model_dump(mode="json")) == json.dumps(original), path.name
