"""Limb volume plausibility per limb and perfusion level: one rule for import and planning."""

from __future__ import annotations

from datetime import date

import pytest

from ilpkit.adapters.protocol_file import shipped_protocol_text
from ilpkit.domain.errors import Severity
from ilpkit.domain.plausibility import limb_volume_warning
from ilpkit.domain.validation import parse_record
from ilpkit.planning.limb_volume import limb_volume_from_water_displacement
from ilpkit.planning.plan import make_plan
from ilpkit.planning.protocols import parse_protocol_book

TODAY = date(2026, 11, 27)

# Plausible ranges (Beasley 2012 typical arm 2.5 L, leg 8.6 L; limits per level an inference):
# axillary 1-7 L, brachial 0.5-5 L, iliac 4-25 L, femoral 3-20 L, popliteal 1-8 L.
OUTSIDE = [
    ("arm", "axillary", 12.0, "1 to 7 L"),
    ("arm", "axillary", 0.9, "1 to 7 L"),
    ("arm", "brachial", 5.5, "0.5 to 5 L"),
    ("arm", "brachial", 0.4, "0.5 to 5 L"),
    ("leg", "iliac", 3.5, "4 to 25 L"),
    ("leg", "iliac", 26.0, "4 to 25 L"),
    ("leg", "femoral", 0.4, "3 to 20 L"),
    ("leg", "femoral", 21.0, "3 to 20 L"),
    ("leg", "popliteal", 0.8, "1 to 8 L"),
    ("leg", "popliteal", 9.0, "1 to 8 L"),
]
INSIDE = [
    ("arm", "axillary", 1.0),
    ("arm", "axillary", 7.0),
    ("arm", "axillary", 2.5),
    ("arm", "brachial", 0.5),
    ("leg", "iliac", 25.0),
    ("leg", "femoral", 3.0),
    ("leg", "femoral", 8.6),
    ("leg", "popliteal", 8.0),
]


@pytest.mark.parametrize(("limb", "level", "volume", "rng"), OUTSIDE)
def test_volume_outside_the_range_for_limb_and_level_warns(limb, level, volume, rng):
    message = limb_volume_warning(limb, level, volume)
    assert message is not None
    assert message.startswith(f"{volume:g} L is outside the plausible {rng}")
    assert f"perfused at {level} level" in message
    assert "Beasley 2012" in message


@pytest.mark.parametrize(("limb", "level", "volume"), INSIDE)
def test_volume_inside_the_range_gives_no_warning(limb, level, volume):
    assert limb_volume_warning(limb, level, volume) is None


def test_a_level_of_the_other_limb_is_not_this_rules_business():
    assert limb_volume_warning("arm", "femoral", 40.0) is None
    assert limb_volume_warning("hand", "axillary", 40.0) is None


def test_import_row_gets_a_warning_and_is_kept(row_factory):
    # 0.4 L leg at femoral level with 4 mg melphalan (10 mg/L, so no dose problem)
    row = row_factory(limb_volume_l="0.4", melphalan_mg="4")
    record, problems = parse_record(row, TODAY, line=5)
    assert record is not None
    [warning] = [p for p in problems if p.field == "limb_volume_l"]
    assert warning.severity is Severity.WARNING
    assert warning.line == 5 and warning.value == "0.4"
    assert warning.reason == limb_volume_warning("leg", "femoral", 0.4)


def test_import_row_arm_of_12_litres_warns(row_factory):
    row = row_factory(limb="arm", perfusion_level="axillary", limb_volume_l="12",
                      melphalan_mg="150")  # fmt: skip
    record, problems = parse_record(row, TODAY)
    assert record is not None
    assert [p.field for p in problems if p.severity is Severity.WARNING] == ["limb_volume_l"]


def test_plausible_import_row_has_no_volume_warning(row_factory):
    _, problems = parse_record(row_factory(), TODAY)
    assert problems == []


@pytest.mark.parametrize(("limb", "level", "volume", "rng"), OUTSIDE[:2] + OUTSIDE[6:7])
def test_plan_shows_the_same_warning(limb, level, volume, rng):
    book = parse_protocol_book(shipped_protocol_text())
    plan = make_plan(book, limb, level, limb_volume_from_water_displacement(volume))
    [notice] = [n for n in plan.notices if n.kind == "limb_volume"]
    assert notice.severity == "warning"
    assert notice.message == f"LIMB VOLUME UNLIKELY: {limb_volume_warning(limb, level, volume)}"
    assert rng in notice.message
    assert "Beasley 2012" in notice.source


def test_plan_with_a_plausible_volume_has_no_volume_notice():
    book = parse_protocol_book(shipped_protocol_text())
    plan = make_plan(book, "leg", "femoral", limb_volume_from_water_displacement(8.6))
    assert [n for n in plan.notices if n.kind == "limb_volume"] == []
