"""Doses: TNF-alpha per limb, melphalan per litre and the 150 mg cap, worked by hand."""

from __future__ import annotations

import pytest

from ilpkit.adapters.protocol_file import shipped_protocol_text
from ilpkit.domain.perfusion import Limb, PerfusionLevel
from ilpkit.planning.dosing import plan_doses
from ilpkit.planning.errors import LimbVolumeError
from ilpkit.planning.protocols import ProtocolBook, parse_protocol_book


@pytest.fixture(scope="module")
def book() -> ProtocolBook:
    return parse_protocol_book(shipped_protocol_text())


def test_label_leg(book):
    # leg 8.6 L: TNF 4 mg; melphalan 10 mg/L * 8.6 L = 86 mg, below 150 mg
    d = plan_doses(book.protocol("label"), Limb.LEG, PerfusionLevel.FEMORAL, 8.6)
    assert d.tnf_mg.value == 4.0
    assert d.melphalan_mg == pytest.approx(86.0)
    assert d.melphalan_mg_per_l == pytest.approx(10.0)
    assert not d.melphalan_capped


def test_label_arm(book):
    # arm 2.5 L: TNF 3 mg; melphalan 13 mg/L * 2.5 L = 32.5 mg
    d = plan_doses(book.protocol("label"), Limb.ARM, PerfusionLevel.AXILLARY, 2.5)
    assert d.tnf_mg.value == 3.0
    assert d.melphalan_mg == pytest.approx(32.5)
    assert not d.melphalan_capped


def test_cap_binds_for_a_large_leg(book):
    # leg 16 L: 10 * 16 = 160 mg > 150 mg, so 150 mg = 150/16 = 9.375 mg/L
    d = plan_doses(book.protocol("label"), Limb.LEG, PerfusionLevel.ILIAC, 16.0)
    assert d.melphalan_capped
    assert d.melphalan_uncapped_mg == pytest.approx(160.0)
    assert d.melphalan_mg == 150.0
    assert d.melphalan_mg_per_l == pytest.approx(9.375)
    assert d.melphalan_protocol_mg_per_l.value == 10.0


def test_cap_binds_for_a_large_arm(book):
    # arm 11.6 L: 13 * 11.6 = 150.8 mg > 150 mg
    d = plan_doses(book.protocol("label"), Limb.ARM, PerfusionLevel.BRACHIAL, 11.6)
    assert d.melphalan_capped
    assert d.melphalan_mg == 150.0


def test_cap_does_not_bind_at_exactly_150_mg(book):
    # leg 15 L: 10 * 15 = 150 mg, equal to the cap: not capped
    d = plan_doses(book.protocol("label"), Limb.LEG, PerfusionLevel.FEMORAL, 15.0)
    assert d.melphalan_mg == pytest.approx(150.0)
    assert not d.melphalan_capped


@pytest.mark.parametrize(
    ("protocol", "limb", "level", "tnf_mg"),
    [
        ("reduced-tnf", Limb.ARM, PerfusionLevel.AXILLARY, 1.0),
        ("reduced-tnf", Limb.LEG, PerfusionLevel.POPLITEAL, 2.0),
        ("low-dose-tnf", Limb.ARM, PerfusionLevel.BRACHIAL, 1.0),
        ("low-dose-tnf", Limb.LEG, PerfusionLevel.ILIAC, 1.0),
    ],
)
def test_reduced_and_low_dose_tnf(book, protocol, limb, level, tnf_mg):
    d = plan_doses(book.protocol(protocol), limb, level, 5.0)
    assert d.tnf_mg.value == tnf_mg
    # melphalan stays at the label rate: 13 or 10 mg/L * 5 L
    assert d.melphalan_mg == pytest.approx(65.0 if limb is Limb.ARM else 50.0)


def test_volume_outside_the_plausible_range_is_refused(book):
    with pytest.raises(LimbVolumeError, match="limb volume = 8600 L"):
        plan_doses(book.protocol("label"), Limb.LEG, PerfusionLevel.FEMORAL, 8600.0)
