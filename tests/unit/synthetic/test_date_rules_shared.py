"""One table of date rules drives the import's row-by-row validation and the vectorised check
of synthetic cohorts: breaking any rule in a cohort is caught by both, on the same column."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import numpy as np
import pytest
from tests.unit.synthetic.test_cohort_model import rows_as_text

from ilpkit.domain.date_rules import DATE_RULES, DateRule
from ilpkit.domain.validation import parse_record
from ilpkit.synthetic import generate_cohort
from ilpkit.synthetic.cohort import registry_rule_violations

TODAY = date(2026, 1, 1)
DAY = np.timedelta64(1, "D")


@pytest.fixture(scope="module")
def cohort():
    return generate_cohort(300, seed=3)


def _break(cohort, rule: DateRule):
    """The cohort with ``rule`` broken on one perfusion row, and that row's index."""
    cols = cohort.columns()
    first, then = cols[rule.first], cols[rule.then]
    rows = np.flatnonzero(~np.isnat(first) & ~np.isnat(then))
    row = int(rows[0])
    patient = int(cohort.perfusion_patient[row])
    # first one day after then ("before", "not after"), or one day before it ("same day")
    value = then[row] + DAY if rule.relation != "same day" else then[row] - DAY
    patients, perfusions = dict(cohort.patients), dict(cohort.perfusions)
    if rule.first in patients:
        patients[rule.first] = patients[rule.first].copy()
        patients[rule.first][patient] = value
    else:
        perfusions[rule.first] = perfusions[rule.first].copy()
        perfusions[rule.first][row] = value
    return replace(cohort, patients=patients, perfusions=perfusions, _cache={}), row


@pytest.mark.parametrize("rule", DATE_RULES, ids=lambda r: r.name)
def test_a_broken_date_rule_is_caught_row_by_row_and_vectorised(cohort, rule):
    broken, row = _break(cohort, rule)
    violations = registry_rule_violations(broken, TODAY)
    assert any(v.startswith(f"{rule.name}: ") for v in violations), violations
    _, problems = parse_record(rows_as_text(broken)[row], TODAY, row + 2)
    assert rule.field in {p.field for p in problems if p.is_error}, [p.describe() for p in problems]


def test_row_by_row_messages_name_the_dates():
    rule = next(
        r for r in DATE_RULES if r.field == "amputation_date" and r.then == "amputation_date"
    )
    assert rule.message.format(first="2010-05-01", then="2010-04-01") == (
        "the amputation date is before the perfusion date (2010-05-01)"
    )
