"""One table of cross-field rules drives the import's row-by-row validation and the vectorised
check of synthetic cohorts: breaking any rule in a cohort is caught by both, on the same column."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import numpy as np
import pytest
from tests.unit.synthetic.test_cohort_model import rows_as_text

from ilpkit.domain.errors import Severity
from ilpkit.domain.record_rules import RECORD_RULES, RecordRule
from ilpkit.domain.validation import parse_record
from ilpkit.synthetic import generate_cohort
from ilpkit.synthetic.cohort import record_rule_broken, registry_rule_violations

TODAY = date(2026, 1, 1)

# Limits written out by hand (SmPC: label melphalan 13 mg/L arm, 10 mg/L leg, +10% tolerance;
# TNF 3 mg arm, 4 mg leg; per-level plausible volumes in L), not read from the code.
VOLUME_ABOVE_PLAUSIBLE_L = {"axillary": 8.0, "brachial": 6.0, "iliac": 26.0, "femoral": 21.0,
                            "popliteal": 9.0}  # fmt: skip
MELPHALAN_ABOVE_LABEL_MG_PER_L = {"arm": 13.0 * 1.15, "leg": 10.0 * 1.15}


@pytest.fixture(scope="module")
def cohort():
    return generate_cohort(300, seed=3)


def _set(cohort, changes: dict[str, object], row: int):
    """The cohort with the given columns changed on perfusion ``row`` (or on its patient)."""
    patient = int(cohort.perfusion_patient[row])
    patients, perfusions = dict(cohort.patients), dict(cohort.perfusions)
    for name, value in changes.items():
        target, index = (patients, patient) if name in patients else (perfusions, row)
        target[name] = target[name].copy()
        target[name][index] = value
    return replace(cohort, patients=patients, perfusions=perfusions, _cache={})


def _first(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def _break(cohort, rule: RecordRule):
    """The cohort with ``rule`` broken on one perfusion row, and that row's index."""
    cols = cohort.columns()
    limb, level, volume = cols["limb"], cols["perfusion_level"], cols["limb_volume_l"]
    if rule.field == "perfusion_level":
        row = _first(limb == "leg")
        return _set(cohort, {"perfusion_level": "brachial"}, row), row
    if rule.field == "limb_volume_l":
        lv = next(name for name in VOLUME_ABOVE_PLAUSIBLE_L if f"at {name} level" in rule.name)
        row = _first(level == lv)
        return _set(cohort, {"limb_volume_l": VOLUME_ABOVE_PLAUSIBLE_L[lv]}, row), row
    if rule.name == "melphalan per litre out of range":  # 1 mg/L, below 2 mg/L
        row = 0
        return _set(cohort, {"melphalan_mg": float(volume[row]) * 1.0}, row), row
    if rule.field == "melphalan_mg":  # above the label dose of the limb, within 150 mg
        lb = "arm" if rule.name.endswith("arm") else "leg"
        per_l = MELPHALAN_ABOVE_LABEL_MG_PER_L[lb]
        row = _first((limb == lb) & (volume * per_l <= 150))
        return _set(cohort, {"melphalan_mg": float(volume[row]) * per_l}, row), row
    if rule.field == "tnf_mg":
        row = _first(limb == "arm")
        return _set(cohort, {"tnf_mg": 3.5}, row), row
    if rule.field == "resection_margin":
        row = _first(~np.equal(cols["resection_margin"], None) & ~np.isnat(cols["resection_date"]))
        return _set(cohort, {"resection_date": np.datetime64("NaT")}, row), row
    if rule.field == "birth_date":
        row = 0
        return _set(cohort, {"birth_date": np.datetime64("1899-06-01")}, row), row
    if rule.field == "pathological_necrosis_pct":
        row = _first(np.isnat(cols["resection_date"]))
        return _set(cohort, {"pathological_necrosis_pct": 60.0}, row), row
    if rule.field == "amputation_reason":
        row = _first(np.isnat(cols["amputation_date"]))
        return _set(cohort, {"amputation_reason": "toxicity"}, row), row
    if rule.field == "cause_of_death":  # an alive patient with one perfusion (one row)
        single = np.bincount(cohort.perfusion_patient)[cohort.perfusion_patient] == 1
        row = _first(np.isnat(cols["death_date"]) & single)
        return _set(cohort, {"cause_of_death": "sarcoma"}, row), row
    raise AssertionError(f"no way to break {rule.name}")


# The TNF label for a leg (4 mg) is also the top of the field range (0-4 mg): a row breaking it
# is refused by the range before the rule is reached, so only the rule itself is checked.
UNREACHABLE_ROW_BY_ROW = {"TNF above the label dose for the leg"}


@pytest.mark.parametrize(
    "rule", [r for r in RECORD_RULES if r.name not in UNREACHABLE_ROW_BY_ROW], ids=lambda r: r.name
)
def test_a_broken_record_rule_is_caught_row_by_row_and_vectorised(cohort, rule):
    assert not any(record_rule_broken(rule, cohort.columns()))
    broken, row = _break(cohort, rule)
    caught = record_rule_broken(rule, broken.columns())
    assert list(np.flatnonzero(caught)) == [row]
    violations = registry_rule_violations(broken, TODAY)
    assert any(v.startswith(f"{rule.name}") for v in violations) == rule.refused_in_synthetic
    _, problems = parse_record(rows_as_text(broken)[row], TODAY, row + 2)
    found = {(p.field, p.severity) for p in problems}
    assert (rule.field, rule.severity) in found, [p.describe() for p in problems]


def test_leg_tnf_above_the_label_is_caught_by_the_rule_and_the_field_range(cohort):
    rule = next(r for r in RECORD_RULES if r.name in UNREACHABLE_ROW_BY_ROW)
    assert not rule.holds({"limb": "leg", "tnf_mg": 4.5})
    assert rule.holds({"limb": "leg", "tnf_mg": 4.0})
    row = _first(cohort.columns()["limb"] == "leg")
    broken = _set(cohort, {"tnf_mg": 4.5}, row)
    assert list(np.flatnonzero(record_rule_broken(rule, broken.columns()))) == [row]
    _, problems = parse_record(rows_as_text(broken)[row], TODAY, row + 2)
    assert ("tnf_mg", Severity.ERROR) in {(p.field, p.severity) for p in problems}


def test_out_of_range_melphalan_is_not_also_reported_above_the_label(cohort):
    # a 5 L leg at femoral level with 110 mg: 22 mg/L is out of 2-20 mg/L (an error) and above
    # the 10 mg/L label (not reported a second time)
    cols = cohort.columns()
    row = _first((cols["limb"] == "leg") & (cols["perfusion_level"] == "femoral"))
    broken = _set(cohort, {"limb_volume_l": 5.0, "melphalan_mg": 110.0}, row)
    _, problems = parse_record(rows_as_text(broken)[row], TODAY, row + 2)
    melphalan = [p for p in problems if p.field == "melphalan_mg"]
    assert len(melphalan) == 1 and melphalan[0].is_error
    assert melphalan[0].reason.startswith("gives 22.0 mg per litre of limb volume (5 L)")


def test_a_grade_outside_the_catalogue_is_caught_row_by_row_and_vectorised(cohort):
    row = _first(~np.isnan(cohort.columns()["grade"]))
    broken = _set(cohort, {"grade": 4.0}, row)
    assert "grade not 1 or 2 or 3: 1 row(s)" in registry_rule_violations(broken, TODAY)
    _, problems = parse_record(rows_as_text(broken)[row], TODAY, row + 2)
    assert ("grade", Severity.ERROR) in {(p.field, p.severity) for p in problems}
