"""Registry validation rules: each rule has a failing and a passing case."""

from __future__ import annotations

from datetime import date

import pytest

from ilpkit.domain.errors import Severity
from ilpkit.domain.validation import check_registry, parse_record

TODAY = date(2026, 11, 27)


def errors_for(row: dict[str, str]) -> list[tuple[str, str]]:
    _, problems = parse_record(row, TODAY, line=7)
    return [(p.field, p.reason) for p in problems if p.severity is Severity.ERROR]


def test_valid_row_gives_typed_record(row_factory):
    record, problems = parse_record(row_factory(), TODAY, line=2)
    assert problems == []
    assert record is not None
    assert record.perfusion.melphalan_mg_per_l == pytest.approx(80 / 8)
    assert record.perfusion.tumour.grade == 2
    assert record.perfusion.tumour.multifocal is False
    assert record.patient.birth_date == date(1950, 5, 17)


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("patient_id", "", "required"),
        ("patient_id", "Jan Jansen", "letters, digits"),
        ("patient_id", "x" * 65, "65 characters"),
        ("patient_id", "1'; DROP TABLE patients;--", "letters, digits"),
        ("patient_id", '=HYPERLINK("http://x")', "letters, digits"),
        ("sex", "X", "allowed values"),
        ("birth_date", "17-05-1950", "YYYY-MM-DD"),
        ("birth_date", "1950-02-30", "real calendar date"),
        ("limb", "foot", "allowed values"),
        ("limb_volume_l", "8600", "0.3 to 30 L"),
        ("limb_volume_l", "0.2", "0.3 to 30 L"),
        ("limb_volume_l", "8,5", "comma"),
        ("limb_volume_l", "nan", "not a number"),
        ("limb_volume_l", "inf", "not a number"),
        ("tnf_mg", "4.5", "0 to 4 mg"),
        ("tnf_mg", "-1", "0 to 4 mg"),
        ("melphalan_mg", "151", "at most 150 mg"),
        ("melphalan_mg", "0", "more than 0"),
        ("tumor_size_cm", "61", "at most 60 cm"),
        ("histology", "osteosarcoma", "allowed values"),
        ("grade", "4", "allowed values"),
        ("multifocal", "maybe", "'yes' or 'no'"),
        ("response", "MR", "allowed values"),
        ("wieberdink_grade", "6", "1 to 5"),
        ("wieberdink_grade", "2.5", "whole number"),
        ("max_leakage_pct", "101", "0 to 100 %"),
    ],
)
def test_field_rules(row_factory, field, value, fragment):
    found = errors_for(row_factory(**{field: value}))
    assert any(f == field and fragment in reason for f, reason in found), found


def test_every_problem_is_reported_not_just_the_first(row_factory):
    found = errors_for(row_factory(sex="X", limb="foot", tnf_mg="9"))
    assert {f for f, _ in found} == {"sex", "limb", "tnf_mg"}


def test_sd_is_read_as_nc_and_case_is_ignored(row_factory):
    record, _ = parse_record(row_factory(response="sd", multifocal="YES", sex="f"), TODAY)
    assert record is not None
    assert record.perfusion.response.value == "NC"
    assert record.perfusion.tumour.multifocal is True


def test_level_must_belong_to_limb(row_factory):
    found = errors_for(
        row_factory(
            limb="arm", perfusion_level="femoral", limb_volume_l="3", melphalan_mg="39", tnf_mg="2"
        )
    )
    assert ("perfusion_level", "is not a level for the arm: use axillary or brachial") in found


def test_melphalan_per_litre_plausibility(row_factory):
    # 150 mg in a 2 L arm = 75 mg/L: far above any label dose -> error
    found = errors_for(
        row_factory(
            limb="arm",
            perfusion_level="axillary",
            limb_volume_l="2",
            melphalan_mg="150",
            tnf_mg="2",
        )
    )
    assert any(f == "melphalan_mg" and "75.0 mg per litre" in r for f, r in found)


def test_melphalan_above_label_is_a_warning_not_an_error(row_factory):
    # leg label 10 mg/L; 96 mg in 8 L = 12 mg/L (> 10 * 1.1 = 11) -> warning, record kept
    record, problems = parse_record(row_factory(melphalan_mg="96"), TODAY)
    assert record is not None
    assert [p.severity for p in problems] == [Severity.WARNING]
    assert "12.0 mg/L" in problems[0].reason


def test_arm_tnf_above_label_is_a_warning(row_factory):
    record, problems = parse_record(
        row_factory(
            limb="arm", perfusion_level="brachial", limb_volume_l="3", melphalan_mg="39", tnf_mg="4"
        ),
        TODAY,
    )
    assert record is not None
    assert any(p.field == "tnf_mg" and p.severity is Severity.WARNING for p in problems)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"ilp_date": "1950-05-17"}, "ilp_date"),  # not after birth
        ({"resection_date": "2001-03-01"}, "resection_date"),  # before perfusion
        ({"local_recurrence_date": "2009-01-01"}, "local_recurrence_date"),  # after follow-up
        ({"amputation_date": "2000-12-31"}, "amputation_date"),
        ({"distant_metastasis_date": "2010-01-01"}, "distant_metastasis_date"),
        ({"death_date": "2008-06-29"}, "death_date"),  # differs from last follow-up
        (
            {"last_followup_date": "2001-03-13", "resection_date": "", "resection_margin": ""},
            "last_followup_date",
        ),
        ({"ilp_date": "2027-01-01"}, "ilp_date"),  # future
        ({"birth_date": "1850-01-01"}, "birth_date"),
        ({"resection_date": "", "resection_margin": "R1"}, "resection_margin"),
    ],
)
def test_chronology(row_factory, overrides, field):
    assert field in {f for f, _ in errors_for(row_factory(**overrides))}


def test_event_on_day_of_perfusion_and_death_on_last_followup_are_valid(row_factory):
    row = row_factory(
        resection_date="2001-03-14", death_date="2008-06-30", local_recurrence_date="2008-06-30"
    )
    assert errors_for(row) == []


def test_patient_fields_must_agree_across_rows(row_factory):
    a, _ = parse_record(row_factory(), TODAY, line=2)
    b, _ = parse_record(
        row_factory(
            ilp_date="2003-01-01", birth_date="1950-05-18", resection_date="", resection_margin=""
        ),
        TODAY,
        line=3,
    )
    problems = check_registry([a, b])
    assert [(p.line, p.field) for p in problems] == [(3, "birth_date")]
    assert "line 2" in problems[0].reason


def test_one_perfusion_per_patient_per_date(row_factory):
    a, _ = parse_record(row_factory(), TODAY, line=2)
    b, _ = parse_record(row_factory(tnf_mg="2"), TODAY, line=5)
    problems = check_registry([a, b])
    assert [(p.line, p.field) for p in problems] == [(5, "ilp_date")]
    assert "already has a perfusion on this date (line 2)" in problems[0].reason


# --- numbers written with other digits, or far too long ------------------------------------------


@pytest.mark.parametrize(
    ("field", "text", "digit"),
    [
        ("tnf_mg", "٢.٥", "ARABIC-INDIC DIGIT TWO"),
        ("limb_volume_l", "２", "FULLWIDTH DIGIT TWO"),
        ("perfusion_minutes", "९०", "DEVANAGARI DIGIT NINE"),
        ("wieberdink_grade", "２", "FULLWIDTH DIGIT TWO"),
        ("ilp_date", "２００１-03-14", "FULLWIDTH DIGIT TWO"),
    ],
)
def test_non_ascii_digits_are_refused_by_name(row_factory, field, text, digit):
    errors = errors_for(row_factory(**{field: text}))
    assert (field, f"uses the digit '{text[0]}' ({digit}); write numbers with the digits 0-9") in (
        errors
    )


def test_integer_beyond_pythons_digit_limit_is_a_clear_problem(row_factory):
    # int() refuses more than 4,300 digits with a ValueError; the cell must get a message and
    # the other problems of the row must still be found
    errors = errors_for(row_factory(wieberdink_grade="9" * 5000, tnf_mg="abc"))
    assert ("wieberdink_grade", "has 5,000 digits; must be 1 to 5") in errors
    assert ("tnf_mg", "is not a number") in errors


def test_decimal_too_large_for_a_float(row_factory):
    errors = errors_for(row_factory(perfusion_minutes="9" * 400))
    (reason,) = [r for f, r in errors if f == "perfusion_minutes"]
    assert reason.startswith("is too large to be a number; must be 1 to ")
