"""Pre-operative eligibility against the SmPC contraindications."""

from __future__ import annotations

import math

import pytest

from ilpkit.adapters.protocol_file import shipped_protocol_text
from ilpkit.planning.eligibility import (
    EligibilityRules,
    FindingSeverity,
    assess_eligibility,
    parse_eligibility_entries,
)
from ilpkit.planning.errors import EligibilityInputError
from ilpkit.planning.protocols import parse_protocol_book

NORMAL = {
    "leukocytes_e9_per_l": 6.1,
    "haemoglobin_g_per_dl": 13.2,
    "platelets_e9_per_l": 240.0,
    "creatinine_umol_per_l": 80.0,
    "ast_x_uln": 0.8,
    "alt_x_uln": 0.9,
    "alkaline_phosphatase_x_uln": 1.0,
    "bilirubin_x_uln": 0.5,
    "calcium_mg_per_dl": 9.6,
    "severe_ascites": False,
    "severe_limb_lymphoedema": False,
    "cannot_receive_vasopressors": False,
    "cannot_receive_anticoagulants": False,
    "cannot_have_isotope_monitoring": False,
    "cannot_have_limb_hyperthermia": False,
}


@pytest.fixture(scope="module")
def rules() -> EligibilityRules:
    return parse_protocol_book(shipped_protocol_text()).eligibility


def test_normal_values_are_eligible_without_findings(rules):
    result = assess_eligibility(NORMAL, rules)
    assert result.eligible
    assert result.findings == ()
    # creatinine clearance was not given, but creatinine stands in for it
    statuses = {c.item: c.status for c in result.checks}
    assert statuses["creatinine_clearance_ml_per_min"] == "not_given"
    assert statuses["leukocytes_e9_per_l"] == "ok"


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        # SmPC: leukocytes < 2.5, haemoglobin < 9, platelets < 60, creatinine > 150,
        # clearance < 50, AST/ALT/ALP > 2 x ULN, bilirubin > 1.25 x ULN, calcium > 12 mg/dL
        ("leukocytes_e9_per_l", 2.4, "Leukocytes 2.4 x10^9/L is below 2.5"),
        ("haemoglobin_g_per_dl", 8.9, "Haemoglobin 8.9 g/dL is below 9"),
        ("haemoglobin_mmol_per_l", 5.5, "Haemoglobin 5.5 mmol/L is below 5.585"),
        ("platelets_e9_per_l", 59.0, "Platelets 59 x10^9/L is below 60"),
        ("creatinine_umol_per_l", 151.0, "Creatinine 151 µmol/L is above 150"),
        ("creatinine_clearance_ml_per_min", 49.0, "Creatinine clearance 49 mL/min is below 50"),
        ("ast_x_uln", 2.1, "AST 2.1 x ULN is above 2"),
        ("alt_x_uln", 2.5, "ALT 2.5 x ULN is above 2"),
        ("alkaline_phosphatase_x_uln", 3.0, "Alkaline phosphatase 3 x ULN is above 2"),
        ("bilirubin_x_uln", 1.3, "Bilirubin 1.3 x ULN is above 1.25"),
        ("calcium_mg_per_dl", 12.1, "Calcium 12.1 mg/dL is above 12"),
        ("calcium_mmol_per_l", 3.1, "Calcium 3.1 mmol/L is above 2.994"),
    ],
)
def test_each_laboratory_contraindication_blocks(rules, key, value, message):
    values = {**NORMAL, key: value}
    result = assess_eligibility(values, rules)
    assert not result.eligible
    [finding] = result.findings
    assert finding.severity is FindingSeverity.BLOCKING
    assert finding.item == key
    assert message in finding.message
    assert "SmPC section 4.3" in finding.source


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("leukocytes_e9_per_l", 2.5),
        ("haemoglobin_g_per_dl", 9.0),
        ("platelets_e9_per_l", 60.0),
        ("creatinine_umol_per_l", 150.0),
        ("ast_x_uln", 2.0),
        ("bilirubin_x_uln", 1.25),
        ("calcium_mg_per_dl", 12.0),
    ],
)
def test_values_at_the_limit_do_not_block(rules, key, value):
    # the SmPC limits are strict ("< 2.5", "> 150"): the limit itself is allowed
    assert assess_eligibility({**NORMAL, key: value}, rules).eligible


@pytest.mark.parametrize("key", [k for k, v in NORMAL.items() if isinstance(v, bool)])
def test_each_yes_no_contraindication_blocks(rules, key):
    result = assess_eligibility({**NORMAL, key: True}, rules)
    assert not result.eligible
    assert result.blocking[0].item == key
    assert "contraindication present" in result.blocking[0].message


def test_missing_items_are_one_warning(rules):
    result = assess_eligibility({"leukocytes_e9_per_l": 2.0}, rules)
    assert not result.eligible
    blocking, warning = result.findings
    assert blocking.severity is FindingSeverity.BLOCKING
    assert warning.severity is FindingSeverity.WARNING
    assert warning.item == "not_given"
    # haemoglobin g/dL and mmol/L are one item; creatinine and its clearance are one item
    assert "Haemoglobin, Platelets, Creatinine or Creatinine clearance, AST" in warning.message
    assert warning.message.count("Haemoglobin") == 1
    # 8 laboratory groups (all but leukocytes) + 6 yes/no items
    assert warning.message.startswith("14 item(s) not given")


def test_parse_entries(rules):
    values = parse_eligibility_entries(
        ["leukocytes_e9_per_l=6.1, platelets_e9_per_l=210", "Severe_Ascites=no", "ast_x_uln=1"],
        rules,
    )
    assert values == {
        "leukocytes_e9_per_l": 6.1,
        "platelets_e9_per_l": 210.0,
        "severe_ascites": False,
        "ast_x_uln": 1.0,
    }
    assert parse_eligibility_entries(["cannot_receive_vasopressors=YES"], rules) == {
        "cannot_receive_vasopressors": True
    }


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        (["leukocytes"], "'leukocytes': write each value as KEY=VALUE"),
        (["wbc=6"], "'wbc' is not a known eligibility item; known items: leukocytes_e9_per_l"),
        (["leukocytes_e9_per_l=6,1"], "'1': write each value as KEY=VALUE"),
        (["leukocytes_e9_per_l=six"], "leukocytes_e9_per_l = 'six': not a number"),
        (["severe_ascites=maybe"], "severe_ascites = 'maybe': answer yes or no"),
        (["ast_x_uln=1", "ast_x_uln=2"], "'ast_x_uln' is given twice"),
    ],
)
def test_bad_entries_are_refused(rules, entries, expected):
    with pytest.raises(EligibilityInputError) as info:
        parse_eligibility_entries(entries, rules)
    assert expected in str(info.value)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"leukocytes_e9_per_l": -1.0}, "leukocytes_e9_per_l = -1: a laboratory value must be"),
        ({"leukocytes_e9_per_l": math.nan}, "leukocytes_e9_per_l = nan"),
        ({"leukocytes_e9_per_l": True}, "leukocytes_e9_per_l = True: not a number"),
        ({"severe_ascites": 1.0}, "severe_ascites = 1.0: answer yes or no"),
        ({"hb": 12.0}, "'hb' is not a known eligibility item"),
    ],
)
def test_bad_values_are_refused(rules, values, expected):
    with pytest.raises(EligibilityInputError) as info:
        assess_eligibility(values, rules)
    assert expected in str(info.value)
