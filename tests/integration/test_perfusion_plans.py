"""Plans are stored with their perfusion key; planned and given doses can be compared."""

from __future__ import annotations

from datetime import date

import pytest

from ilpkit.domain.errors import RegistryValidationError
from ilpkit.services.perfusion_plans import PlanSummary, compare_plans, save_plan
from ilpkit.services.registry_import import import_registry

PLAN = PlanSummary(
    protocol="label",
    study_protocol=False,
    limb="leg",
    perfusion_level="femoral",
    limb_volume_l=8.2,
    tnf_mg=4.0,
    melphalan_mg=82.0,
    melphalan_capped=False,
)


def test_plan_before_and_after_the_perfusion_is_recorded(db_url, row_factory, csv_file):
    save_plan(db_url, "SYN-0001", "2001-03-14", PLAN, {"note": "first"}, "tester")
    [only] = compare_plans(db_url)
    assert (only.patient_id, only.ilp_date, only.recorded) == ("SYN-0001", date(2001, 3, 14), False)
    assert only.to_dict()["given"] is None

    # a revised plan replaces the first in the comparison
    revised = PlanSummary("label", False, "leg", "femoral", 8.0, 3.0, 80.0, False)
    save_plan(db_url, "SYN-0001", "2001-03-14", revised, {"note": "second"}, "tester")
    import_registry(csv_file([row_factory()]), db_url, date(2026, 11, 27), "tester")
    [only] = compare_plans(db_url)
    assert only.recorded
    assert (only.planned_tnf_mg, only.given_tnf_mg) == (3.0, 3.0)
    assert (only.planned_melphalan_mg, only.given_melphalan_mg) == (80.0, 80.0)


def test_plan_key_is_validated(sqlite_url):
    with pytest.raises(RegistryValidationError) as info:
        save_plan(sqlite_url, "bad id!", "2001-13-01", PLAN, {}, "tester")
    assert {p.field for p in info.value.problems} == {"patient_id", "ilp_date"}
