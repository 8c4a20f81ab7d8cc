"""Laboratory values outside their plausible range are refused, naming the likely unit mix-up."""

from __future__ import annotations

import pytest

from ilpkit.adapters.protocol_file import shipped_protocol_text
from ilpkit.planning.eligibility import EligibilityRules, assess_eligibility
from ilpkit.planning.errors import EligibilityInputError, ProtocolError
from ilpkit.planning.protocols import parse_protocol_book


@pytest.fixture(scope="module")
def rules() -> EligibilityRules:
    return parse_protocol_book(shipped_protocol_text()).eligibility


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        # creatinine typed in mg/dL: 2.5 mg/dL x 88.4 = 221 µmol/L
        (
            "creatinine_umol_per_l",
            2.5,
            "2.5 µmol/L is not a plausible creatinine value; in mg/dL that is 221 µmol/L",
        ),
        # 0.9 mg/dL x 88.4 = 79.56 -> 79.6 µmol/L
        ("creatinine_umol_per_l", 0.9, "in mg/dL that is 79.6 µmol/L"),
        # haemoglobin typed in g/L: 120 g/L x 0.1 = 12 g/dL
        (
            "haemoglobin_g_per_dl",
            120.0,
            "120 g/dL is not a plausible haemoglobin value; in g/L that is 12 g/dL",
        ),
        # haemoglobin typed in g/L into the mmol/L field: 130 g/L x 0.06206 = 8.0678 -> 8.07
        ("haemoglobin_mmol_per_l", 130.0, "in g/L that is 8.07 mmol/L"),
        # platelets per µL: 210000 / 1000 = 210 x10^9/L
        ("platelets_e9_per_l", 210000.0, "in /µL that is 210 x10^9/L"),
        # leukocytes per µL: 6100 / 1000 = 6.1 x10^9/L
        ("leukocytes_e9_per_l", 6100.0, "in /µL that is 6.1 x10^9/L"),
        # calcium in mmol/L typed into the mg/dL field: 2.4 x 4.008 = 9.6192 -> 9.62 mg/dL
        ("calcium_mg_per_dl", 2.4, "in mmol/L that is 9.62 mg/dL"),
        # calcium in mg/dL typed into the mmol/L field: 9.6 x 0.2495 = 2.3952 -> 2.4 mmol/L
        ("calcium_mmol_per_l", 9.6, "in mg/dL that is 2.4 mmol/L"),
        # clearance in mL/s: 1.5 x 60 = 90 mL/min
        ("creatinine_clearance_ml_per_min", 1.5, "in mL/s that is 90 mL/min"),
        # AST in U/L instead of a multiple of the upper limit of normal
        ("ast_x_uln", 56.0, "56 x ULN is not a plausible AST value"),
        ("bilirubin_x_uln", 0.0, "0 x ULN is not a plausible bilirubin value"),
    ],
)
def test_implausible_value_is_refused_with_the_unit_mix_up(rules, key, value, expected):
    with pytest.raises(EligibilityInputError) as info:
        assess_eligibility({key: value}, rules)
    message = str(info.value)
    assert expected in message
    assert message.startswith(f"{key} = ")
    assert "Plausible: " in message
    assert "Tietz" in message or "inference" in message


def test_the_message_gives_range_and_unit(rules):
    with pytest.raises(EligibilityInputError) as info:
        assess_eligibility({"creatinine_umol_per_l": 2.5}, rules)
    assert "Plausible: 15-2000 µmol/L" in str(info.value)
    assert "Give the value in µmol/L" in str(info.value)


def test_no_mix_up_named_when_no_conversion_is_plausible(rules):
    # 5000 µmol/L: x 88.4 = 442000, still implausible, so no unit is suggested
    with pytest.raises(EligibilityInputError) as info:
        assess_eligibility({"creatinine_umol_per_l": 5000.0}, rules)
    assert "that is" not in str(info.value)
    assert "5000 µmol/L is not a plausible creatinine value" in str(info.value)


def test_every_implausible_value_is_listed_at_once(rules):
    with pytest.raises(EligibilityInputError) as info:
        assess_eligibility(
            {"creatinine_umol_per_l": 2.5, "platelets_e9_per_l": 210000.0, "ast_x_uln": 1.0}, rules
        )
    message = str(info.value)
    assert message.startswith("2 laboratory values are not plausible")
    assert "creatinine_umol_per_l = 2.5" in message
    assert "platelets_e9_per_l = 210000" in message
    assert "ast_x_uln" not in message


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("creatinine_umol_per_l", 15.0),
        ("creatinine_umol_per_l", 2000.0),
        ("haemoglobin_g_per_dl", 3.0),
        ("haemoglobin_g_per_dl", 25.0),
        ("platelets_e9_per_l", 1.0),
        ("leukocytes_e9_per_l", 0.1),
        ("calcium_mg_per_dl", 20.0),
    ],
)
def test_the_bounds_of_the_plausible_range_are_accepted(rules, key, value):
    assess_eligibility({key: value}, rules)


def test_every_shipped_lab_has_a_sourced_plausible_range(rules):
    for lab in rules.labs:
        assert lab.plausible is not None, lab.key
        assert lab.plausible.low < lab.plausible.high
        assert lab.plausible.source
        for mix in lab.mix_ups:
            assert mix.factor > 0 and mix.source


# the shipped file, edited below as a centre would
_CENTRE = shipped_protocol_text()


def test_a_lab_without_a_plausible_range_is_refused():
    start = _CENTRE.index("[eligibility.labs.creatinine_umol_per_l]")
    line = _CENTRE.index("plausible = ", start)
    text = _CENTRE[:line] + _CENTRE[_CENTRE.index("\n", line) + 1 :]
    with pytest.raises(ProtocolError) as info:
        parse_protocol_book(text)
    assert "eligibility.labs.creatinine_umol_per_l.plausible: missing" in str(info.value)


def test_a_threshold_outside_the_plausible_range_is_refused():
    text = _CENTRE.replace(
        'plausible = { low = 15.0, high = 2000.0, source = "inference: wide margin',
        'plausible = { low = 15.0, high = 100.0, source = "inference: wide margin',
    )
    with pytest.raises(ProtocolError) as info:
        parse_protocol_book(text)
    assert "creatinine_umol_per_l.blocking_above: 150 µmol/L lies outside" in str(info.value)


def test_a_mix_up_without_a_source_is_refused():
    entry = '{ unit = "mg/dL", factor = 88.4, source = "1 mg/dL = 88.4 µmol/L (creatinine'
    assert entry in _CENTRE
    text = _CENTRE.replace(entry + ' 113.12 g/mol)" }', '{ unit = "mg/dL", factor = 88.4 }')
    with pytest.raises(ProtocolError) as info:
        parse_protocol_book(text)
    assert "creatinine_umol_per_l.unit_mix_ups[1].source: missing" in str(info.value)
