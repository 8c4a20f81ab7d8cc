"""How registry fields are written for REDCap: numbers, codes and instruments."""

from __future__ import annotations

from ilpkit.domain.fields import FIELDS_BY_NAME
from ilpkit.services.redcap_export import _number, choice_codes, form_of, redcap_dictionary


def test_numbers_are_positional_and_never_start_with_a_minus():
    assert _number(-0.0) == "0"  # a stored negative zero
    assert _number(0.00001) == "0.00001"  # REDCap's number validation takes no exponent
    assert _number(8.0) == "8"
    assert _number(3.25) == "3.25"
    assert _number(None) == ""


def test_choices_are_coded_in_dictionary_order():
    assert choice_codes(FIELDS_BY_NAME["response"]) == [
        ("1", "CR", "CR: complete response"),
        ("2", "PR", "PR: partial response"),
        ("3", "NC", "NC: no change"),
        ("4", "PD", "PD: progressive disease"),
        ("5", "NE", "NE: not evaluable"),
    ]
    assert choice_codes(FIELDS_BY_NAME["limb"]) == [("1", "arm", "arm"), ("2", "leg", "leg")]


def test_instruments():
    assert form_of(FIELDS_BY_NAME["center"]) == "patient"
    assert form_of(FIELDS_BY_NAME["death_date"]) == "follow_up"
    assert form_of(FIELDS_BY_NAME["resection_date"]) == "perfusion"
    names = [f.name for f in redcap_dictionary(synthetic=True)]
    assert names[:2] == ["record_id", "synthetic_notice"]
    assert "synthetic_notice" not in [f.name for f in redcap_dictionary()]
    assert names[-1] == "perfusion_id"
