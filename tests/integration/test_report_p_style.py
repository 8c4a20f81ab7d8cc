"""``ilp report --p-style journal`` writes P-values as journals ask (P = .008, P < .001)."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

from typer.testing import CliRunner

from ilpkit.cli.main import build_app
from ilpkit.services.synthesize import synthesize

runner = CliRunner()


def test_journal_style_in_text_tables_and_figure_lines(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'registry.sqlite3'}"
    synthesize(120, 5, "test", url=url)
    out = tmp_path / "report"
    result = runner.invoke(
        build_app(), ["report", "--db", url, "--out", str(out), "--p-style", "journal"]
    )
    assert result.exit_code == 0, result.output
    html = unescape((out / "report.html").read_text(encoding="utf-8"))
    assert re.search(r"P (=|<|>) \.\d", html)
    assert not re.search(r"\bp (=|<) 0\.\d", html)  # no plain-style p-value left
    survival = (out / "tables" / "SYNTHETIC-table07-overall-survival.csv").read_text("utf-8")
    assert re.search(r",(<|>) ?\.\d+|,\.\d+", survival)
    assert not re.search(r",0\.\d{2,3}(,|$)", survival, re.M)


def test_unknown_p_style_is_refused_and_nothing_written(tmp_path: Path):
    out = tmp_path / "report"
    result = runner.invoke(
        build_app(),
        [
            "report",
            "--db",
            f"sqlite:///{tmp_path / 'r.sqlite3'}",
            "--out",
            str(out),
            "--p-style",
            "apa",
        ],
    )
    assert result.exit_code == 1
    assert "--p-style must be plain or journal, not 'apa'" in result.output
    assert not out.exists()
