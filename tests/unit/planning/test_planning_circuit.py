"""Circuit, temperature and timeline targets; perfusion site checks."""

from __future__ import annotations

import pytest

from ilpkit.adapters.protocol_file import shipped_protocol_text
from ilpkit.domain.perfusion import Limb, PerfusionLevel
from ilpkit.planning.circuit import (
    ConductTargets,
    build_timeline,
    check_flow,
    check_tissue_temperature,
    plan_circuit,
)
from ilpkit.planning.errors import PerfusionSiteError, PlanningError
from ilpkit.planning.perfusion_site import resolve_site
from ilpkit.planning.protocols import parse_protocol_book


@pytest.fixture(scope="module")
def targets() -> ConductTargets:
    return parse_protocol_book(shipped_protocol_text()).protocol("label").conduct


def test_flow_scales_with_the_limb_volume(targets):
    # 8 L leg: maximum 40 * 8 = 320 mL/min, warning below 30 * 8 = 240 mL/min
    c = plan_circuit(8.0, targets)
    assert c.flow_max_ml_per_min == pytest.approx(320.0)
    assert c.flow_warning_below_ml_per_min == pytest.approx(240.0)
    # 2.5 L arm: 40 * 2.5 = 100 mL/min, 30 * 2.5 = 75 mL/min
    c = plan_circuit(2.5, targets)
    assert (c.flow_max_ml_per_min, c.flow_warning_below_ml_per_min) == pytest.approx((100, 75))
    assert (c.priming_volume_ml.low, c.priming_volume_ml.high) == (700.0, 800.0)


def test_flow_check(targets):
    # 8 L: 330 mL/min = 41.25 mL/L/min, above 40
    above = check_flow(330.0, 8.0, targets)
    assert above is not None and above.severity == "danger"
    assert "41.2 mL/L/min" in above.message and "above the maximum 40 mL/L/min" in above.message
    # 230 mL/min = 28.75 mL/L/min, below 30: hypoxia warning
    below = check_flow(230.0, 8.0, targets)
    assert below is not None and below.severity == "warning"
    assert "hypoxia" in below.message
    # 280 mL/min = 35 mL/L/min: fine; the bounds themselves are fine (320 = 40, 240 = 30)
    assert check_flow(280.0, 8.0, targets) is None
    assert check_flow(320.0, 8.0, targets) is None
    assert check_flow(240.0, 8.0, targets) is None


def test_flow_check_refuses_nonsense(targets):
    with pytest.raises(PlanningError, match="flow = -5 mL/min"):
        check_flow(-5.0, 8.0, targets)
    with pytest.raises(PlanningError, match="limb volume = 0 L"):
        check_flow(300.0, 0.0, targets)


def test_temperature_warning_only_during_melphalan(targets):
    hot = check_tissue_temperature(40.0, 45.0, targets)  # minute 45: melphalan circulates
    assert hot is not None and hot.severity == "warning"
    assert "while melphalan circulates" in hot.message
    early = check_tissue_temperature(40.0, 10.0, targets)  # TNF only: outside target only
    assert early is not None and early.severity == "notice"
    assert check_tissue_temperature(39.0, 45.0, targets) is None
    warm = check_tissue_temperature(39.9, 45.0, targets)  # above 39.5, below 40
    assert warm is not None and warm.severity == "notice"
    cold = check_tissue_temperature(37.0, 45.0, targets)
    assert cold is not None and "outside the target 38-39.5 °C" in cold.message


def test_timeline(targets):
    steps = build_timeline(targets, 4.0, 86.0)
    assert [s.minute for s in steps] == [0.0, 30.0, 90.0]
    assert "TNF-alpha 4 mg" in steps[0].event
    assert "melphalan 86.0 mg" in steps[1].event
    assert "washout" in steps[2].event
    assert all("Eggermont 1996" in s.source for s in steps)


@pytest.mark.parametrize(
    ("limb", "level", "expected"),
    [
        ("leg", "iliac", (Limb.LEG, PerfusionLevel.ILIAC)),
        ("LEG", "Popliteal", (Limb.LEG, PerfusionLevel.POPLITEAL)),
        ("arm", "brachial", (Limb.ARM, PerfusionLevel.BRACHIAL)),
    ],
)
def test_site_ok(limb, level, expected):
    assert resolve_site(limb, level) == expected


@pytest.mark.parametrize(
    ("limb", "level", "expected"),
    [
        (
            "leg",
            "axillary",
            "level = 'axillary' does not match limb = 'leg': a leg is perfused at "
            "iliac, femoral or popliteal level",
        ),
        (
            "arm",
            "femoral",
            "level = 'femoral' does not match limb = 'arm': an arm is perfused at "
            "axillary or brachial level",
        ),
        ("foot", "femoral", "limb = 'foot': unknown limb; use 'arm' or 'leg'"),
        ("leg", "knee", "level = 'knee': unknown perfusion level; use one of iliac, femoral"),
    ],
)
def test_site_mismatch_is_refused(limb, level, expected):
    with pytest.raises(PerfusionSiteError) as info:
        resolve_site(limb, level)
    assert expected in str(info.value)
