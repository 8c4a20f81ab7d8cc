"""Limb volume: the truncated-cone formula against hand-worked values, and every bad input."""

from __future__ import annotations

import math

import pytest

from ilpkit.domain.perfusion import VolumeMethod
from ilpkit.planning.errors import LimbVolumeError
from ilpkit.planning.limb_volume import (
    frustum_volume_ml,
    limb_volume_from_circumferences,
    limb_volume_from_water_displacement,
)


def test_cylinder_segment_equals_pi_r_squared_h():
    # C1 = C2 = 30 cm, h = 10 cm is a cylinder: r = 30/(2*pi) cm,
    # V = pi * r^2 * h = pi * 900/(4*pi^2) * 10 = 2250/pi = 716.197 mL
    assert frustum_volume_ml(30.0, 30.0, 10.0) == pytest.approx(716.197, abs=1e-3)


def test_cone_segment_matches_radius_form():
    # C1 = 40, C2 = 20, h = 12: radii r1 = 20/pi, r2 = 10/pi.
    # Frustum pi*h/3*(r1^2 + r1*r2 + r2^2) = 4*pi*(400 + 200 + 100)/pi^2 = 2800/pi = 891.27 mL
    assert frustum_volume_ml(40.0, 20.0, 12.0) == pytest.approx(891.268, abs=1e-3)


def test_three_circumferences_sum_two_segments():
    # [40, 30, 20] every 10 cm:
    # segment 1: 10*(1600 + 1200 + 900)/(12*pi) = 37000/(12*pi)
    # segment 2: 10*(900 + 600 + 400)/(12*pi)  = 19000/(12*pi)
    # total 56000/(12*pi) = 1485.45 mL = 1.48545 L
    v = limb_volume_from_circumferences([40.0, 30.0, 20.0], spacing_cm=10.0)
    assert v.limb_volume_l == pytest.approx(1.48545, abs=1e-5)
    assert v.segment_volumes_ml == pytest.approx((981.46, 503.99), abs=1e-2)
    assert v.method is VolumeMethod.CIRCUMFERENCES
    assert v.spacing_cm == 10.0


def test_worked_example_from_the_docs():
    # docs/planning.md: leg 56, 48, 40, 36, 30, 24 cm every 10 cm.
    # bracket sums C1^2 + C1*C2 + C2^2 per segment:
    # 3136+2688+2304 = 8128; 2304+1920+1600 = 5824; 1600+1440+1296 = 4336;
    # 1296+1080+900 = 3276;  900+720+576 = 2196;  total 23760
    # V = 10 * 23760 / (12*pi) = 19800/pi = 6302.5 mL
    v = limb_volume_from_circumferences([56, 48, 40, 36, 30, 24], spacing_cm=10)
    assert v.limb_volume_l == pytest.approx(6.3025, abs=1e-4)
    assert len(v.segment_volumes_ml) == 5


def test_order_of_measurement_does_not_change_the_volume():
    # the formula is symmetric in C1, C2: proximal-to-distal or reversed gives the same sum
    a = limb_volume_from_circumferences([56, 48, 40, 36], 10)
    b = limb_volume_from_circumferences([36, 40, 48, 56], 10)
    assert a.limb_volume_l == pytest.approx(b.limb_volume_l)


def test_water_displacement_is_kept_as_measured():
    v = limb_volume_from_water_displacement(8.6)
    assert v.limb_volume_l == 8.6
    assert v.method is VolumeMethod.WATER_DISPLACEMENT
    assert v.circumferences_cm == ()
    assert "water displacement" in v.source


def test_to_dict_is_plain_data():
    d = limb_volume_from_circumferences([30, 30], 10).to_dict()
    assert d["method"] == "circumferences"
    assert d["circumferences_cm"] == [30.0, 30.0]
    assert "frustum" in str(d["source"])


@pytest.mark.parametrize(
    ("circumferences", "spacing", "expected"),
    [
        ([], 10, "0 circumference(s) given (none); at least two are needed"),
        ([30.0], 10, "1 circumference(s) given (30 cm); at least two are needed"),
        ([30.0, 0.0], 10, "circumference 2 of 2 = 0 cm: a circumference must be more than 0 cm"),
        ([-5.0, 30.0], 10, "circumference 1 of 2 = -5 cm: a circumference must be more than 0"),
        (
            [30.0, 120.0],
            10,
            "circumference 2 of 2 = 120 cm: a limb circumference of more than "
            "100 cm is not plausible",
        ),
        ([30.0, math.nan], 10, "circumference 2 of 2 = nan: not a finite number"),
        ([30.0, "3O"], 10, "circumference 2 of 2 = '3O': not a number"),
        ([30.0, 30.0], 0.5, "spacing_cm = 0.5 cm: the spacing must be 1 to 15 cm"),
        ([30.0, 30.0], 20, "spacing_cm = 20 cm: the spacing must be 1 to 15 cm"),
        # 2 segments of 1 cm at 10 cm circumference: 2 * 1*300/(12*pi) = 15.9 mL = 0.0159 L
        (
            [10.0, 10.0, 10.0],
            1,
            "limb volume = 0.0159155 L (estimated from the circumferences): must be 0.3 to 30 L",
        ),
        # 11 segments of 15 cm at 100 cm: 11 * 15 * 30000/(12*pi) = 131.3 L
        (
            [100.0] * 12,
            15,
            "must be 0.3 to 30 L; a perfused limb volume outside 0.3-30 L is not "
            "physiologically plausible",
        ),
    ],
)
def test_bad_circumference_input_is_refused_with_a_clear_message(circumferences, spacing, expected):
    with pytest.raises(LimbVolumeError) as info:
        limb_volume_from_circumferences(circumferences, spacing)
    assert expected in str(info.value)


@pytest.mark.parametrize(
    ("volume", "expected"),
    [
        (0.2, "limb volume = 0.2 L (measured): must be 0.3 to 30 L"),
        (45.0, "limb volume = 45 L (measured): must be 0.3 to 30 L"),
        (8600.0, "check the unit (litres, not millilitres)"),
        (-1.0, "limb volume = -1 L (measured)"),
        (math.inf, "volume_l = inf: not a finite number"),
    ],
)
def test_bad_measured_volume_is_refused(volume, expected):
    with pytest.raises(LimbVolumeError) as info:
        limb_volume_from_water_displacement(volume)
    assert expected in str(info.value)


def test_volume_limits_are_inclusive():
    assert limb_volume_from_water_displacement(0.3).limb_volume_l == 0.3
    assert limb_volume_from_water_displacement(30.0).limb_volume_l == 30.0
    # spacing 1 and 15 cm are allowed: 2 segments... [50, 50] every 15 cm:
    # 15 * 7500/(12*pi) = 2984.2 mL
    v = limb_volume_from_circumferences([50.0, 50.0], 15.0)
    assert v.limb_volume_l == pytest.approx(2.9842, abs=1e-4)
