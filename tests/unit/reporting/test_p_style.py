"""One formatting of numbers for the terminal and the report, with the journal p-value style.

Expected strings are written by hand from the conventions in ilpkit.reporting.formatting.
"""

from __future__ import annotations

import pytest
from tests.unit.reporting.test_formatting_and_text import RESULTS

from ilpkit import __version__
from ilpkit.cli.analyze_command import print_results
from ilpkit.reporting import formatting as fmt
from ilpkit.reporting import tables
from ilpkit.reporting.text import written_text


@pytest.mark.parametrize(
    ("p", "plain", "journal"),
    [
        (0.0004, "< 0.001", "< .001"),
        (0.0081, "0.008", ".008"),
        (0.049, "0.049", ".049"),
        (0.62, "0.62", ".62"),
        (0.999, "1.00", "> .99"),
        (None, "–", "–"),
    ],
)
def test_pvalue_styles(p, plain, journal):
    assert fmt.pvalue(p) == plain
    assert fmt.pvalue(p, "plain") == plain
    assert fmt.pvalue(p, "journal") == journal


def test_p_equals_styles():
    assert fmt.p_equals(0.0081, "journal") == "P = .008"
    assert fmt.p_equals(0.0004, "journal") == "P < .001"
    assert fmt.p_equals(0.999, "journal") == "P > .99"
    assert fmt.p_equals(0.0081) == "p = 0.008"
    assert fmt.p_equals(0.0004) == "p < 0.001"


def test_report_text_and_tables_in_journal_style():
    text = " ".join(written_text(RESULTS, __version__, "journal").results)
    assert "FNCLCC grade (P = .010)" in text
    assert RESULTS.overall_survival is not None
    table = tables.survival_table(RESULTS.overall_survival, 6, "journal")
    grade = next(row for row in table.rows if row[0].startswith("FNCLCC grade"))
    assert grade[-2:] == (".010", ".004")
    plain = tables.survival_table(RESULTS.overall_survival, 6)
    grade = next(row for row in plain.rows if row[0].startswith("FNCLCC grade"))
    assert grade[-2:] == ("0.010", "0.004")


def test_terminal_prints_numbers_as_the_report_does(capsys):
    print_results(RESULTS)
    out = " ".join(capsys.readouterr().out.split())
    # ORR 7/10 with its CI, median survival 4.0 (2.0 to not reached), trend p 0.004
    assert "7/10" in out and "70.0% (35.0–93.0)" in out
    assert "median 4.0 (2.0–NR) years" in out
    assert "0.010" in out and "0.004" in out
    assert "1.02 (1.00–1.04)" in out  # Cox hazard ratio as in the report
    assert "<0.001" not in out and "4.00 (" not in out
