"""The whole plan: doses, circuit, notices (study protocol, cap, not eligible) and to_dict()."""

from __future__ import annotations

import json

import pytest

from ilpkit.adapters.protocol_file import shipped_protocol_text
from ilpkit.planning.errors import PerfusionSiteError, ProtocolError
from ilpkit.planning.limb_volume import (
    limb_volume_from_circumferences,
    limb_volume_from_water_displacement,
)
from ilpkit.planning.plan import make_plan
from ilpkit.planning.protocols import ProtocolBook, parse_protocol_book

STUDY = """
[protocols.my-trial]
version = "0.3"
title = "Trial arm"
study = true
study_reference = "EudraCT 2099-000000-00"
tnf_mg.arm = { value = 3.0, source = "SmPC" }
tnf_mg.leg = { value = 6.0, source = "trial protocol" }
melphalan_mg_per_l.arm = { value = 13.0, source = "SmPC" }
melphalan_mg_per_l.leg = { value = 10.0, source = "SmPC" }
melphalan_max_mg = { value = 150.0, source = "SmPC" }
"""


@pytest.fixture(scope="module")
def book() -> ProtocolBook:
    return parse_protocol_book(shipped_protocol_text() + STUDY, "test protocols")


def test_worked_example(book):
    # docs/planning.md: V = 19800/pi mL = 6.3025 L; melphalan 10 * 6.3025 = 63.03 mg;
    # flow at most 40 * 6.3025 = 252.1 mL/min, warning below 30 * 6.3025 = 189.1 mL/min
    volume = limb_volume_from_circumferences([56, 48, 40, 36, 30, 24], 10)
    plan = make_plan(book, "leg", "femoral", volume)
    assert plan.doses.tnf_mg.value == 4.0
    assert plan.doses.melphalan_mg == pytest.approx(63.025, abs=1e-3)
    assert plan.circuit.flow_max_ml_per_min == pytest.approx(252.10, abs=1e-2)
    assert plan.circuit.flow_warning_below_ml_per_min == pytest.approx(189.08, abs=1e-2)
    assert [n.kind for n in plan.notices] == []
    assert plan.eligibility.eligible  # nothing given: a warning, not a block
    assert plan.eligibility.findings[0].item == "not_given"


def test_to_dict_is_json_and_has_the_required_keys(book):
    plan = make_plan(
        book,
        "arm",
        "axillary",
        limb_volume_from_water_displacement(2.5),
        protocol_name="reduced-tnf",
        labs={"leukocytes_e9_per_l": 6.0},
    )
    d = json.loads(json.dumps(plan.to_dict()))
    for key in (
        "limb_volume_l",
        "tnf_mg",
        "melphalan_mg",
        "melphalan_mg_per_l",
        "melphalan_capped",
        "protocol",
        "findings",
    ):
        assert key in d
    # arm 2.5 L, reduced-tnf: TNF 1 mg; melphalan 13 * 2.5 = 32.5 mg
    assert (d["limb_volume_l"], d["tnf_mg"], d["melphalan_mg"]) == (2.5, 1.0, 32.5)
    assert d["melphalan_mg_per_l"] == 13.0
    assert d["melphalan_capped"] is False
    assert (d["protocol"], d["protocol_version"], d["study_protocol"]) == (
        "reduced-tnf",
        "1.0",
        False,
    )
    assert (d["limb"], d["perfusion_level"]) == ("arm", "axillary")
    assert d["schema"] == "ilpkit.perfusion-plan/1"
    assert d["protocol_file"] == "test protocols"
    assert [s["item"] for s in d["sources"]][:2] == ["limb volume", "TNF-alpha (arm)"]
    assert d["timeline"][1]["minute"] == 30.0


def test_cap_notice(book):
    # leg 20 L: 10 * 20 = 200 mg, capped to 150 mg = 7.5 mg/L
    plan = make_plan(book, "leg", "iliac", limb_volume_from_water_displacement(20.0))
    [notice] = plan.notices
    assert notice.kind == "melphalan_capped"
    assert "MELPHALAN CAPPED at 150 mg" in notice.message
    assert "200.0 mg" in notice.message and "7.50 mg/L" in notice.message
    d = plan.to_dict()
    assert (d["melphalan_mg"], d["melphalan_capped"], d["melphalan_mg_per_l"]) == (150.0, True, 7.5)
    assert d["melphalan_protocol_mg_per_l"] == 10.0


def test_study_protocol_notice_comes_first(book):
    plan = make_plan(
        book, "leg", "femoral", limb_volume_from_water_displacement(20.0), protocol_name="my-trial"
    )
    kinds = [n.kind for n in plan.notices]
    assert kinds == ["study_protocol", "melphalan_capped"]
    banner = plan.notices[0]
    assert banner.severity == "danger"
    assert banner.message.startswith("STUDY PROTOCOL 'my-trial' version 0.3")
    assert "EudraCT 2099-000000-00" in banner.message
    assert "tnf_mg.leg = 6 mg is above the label 4 mg" in banner.message
    assert plan.to_dict()["study_protocol"] is True
    assert plan.doses.tnf_mg.value == 6.0


def test_not_eligible_notice(book):
    plan = make_plan(
        book,
        "leg",
        "femoral",
        limb_volume_from_water_displacement(8.0),
        labs={"platelets_e9_per_l": 40.0, "severe_ascites": True},
    )
    assert not plan.eligibility.eligible
    notice = plan.notices[0]
    assert notice.kind == "not_eligible"
    assert notice.message.startswith("NOT ELIGIBLE: 2 contraindication(s)")
    assert "Platelets 40 x10^9/L is below 60" in notice.message
    assert plan.to_dict()["eligible"] is False


def test_level_must_match_limb(book):
    with pytest.raises(PerfusionSiteError, match="does not match limb = 'arm'"):
        make_plan(book, "arm", "popliteal", limb_volume_from_water_displacement(2.0))


def test_unknown_protocol(book):
    with pytest.raises(ProtocolError, match="no protocol named 'standard'"):
        make_plan(
            book,
            "arm",
            "brachial",
            limb_volume_from_water_displacement(2.0),
            protocol_name="standard",
        )
