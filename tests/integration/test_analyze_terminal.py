"""``ilp analyze`` tables in an 80-column terminal: nothing cut, intervals on one line."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from ilpkit.cli.main import build_app
from ilpkit.domain.tumour import HISTOLOGY_LABELS
from ilpkit.services.synthesize import synthesize

runner = CliRunner()


@pytest.fixture(scope="module")
def registry(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('term') / 'registry.sqlite3'}"
    synthesize(150, 11, "test", url=url)
    return url


def _ci(entry: dict) -> str:
    lo, hi = entry["ci95"]
    return f"{100 * entry['estimate']:.1f}% ({100 * lo:.1f}–{100 * hi:.1f})"


def test_tables_fit_80_columns_without_cutting(registry):
    result = runner.invoke(build_app(), ["analyze", "--db", registry], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "…" not in result.output
    r = json.loads(runner.invoke(build_app(), ["analyze", "--json", "--db", registry]).stdout)
    intervals = [_ci(g["orr"]) for e in r["response"]["by"].values() for g in e["groups"].values()]
    intervals += [
        _ci(g["at_years"]["5"])
        for e in r["overall_survival"]["by"].values()
        for g in e["groups"].values()
        if g["at_years"]["5"]["ci95"][0] is not None
    ]
    assert intervals
    for ci in intervals:
        assert any(ci in line for line in lines), f"{ci} is not whole on one line"
    # the default tables show histology groups; the registry's types are asked for by name
    by_type = runner.invoke(
        build_app(),
        ["analyze", "--db", registry, "--endpoint", "response", "--by", "histology"],
        env={"COLUMNS": "80"},
    )
    assert by_type.exit_code == 0, by_type.output
    assert max(len(line) for line in by_type.output.splitlines()) <= 80
    words = set(re.findall(r"[\w-]+", by_type.output))
    for label in HISTOLOGY_LABELS.values():
        for word in re.findall(r"[\w-]+", label):
            if label.split()[0] in by_type.output:
                assert word in words, f"{word!r} of {label!r} was cut"
