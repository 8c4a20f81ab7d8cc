"""A plan is refused for a limb or level other than the recorded perfusion's; `ilp plans` shows
limb and level."""

from __future__ import annotations

import json
from datetime import date

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from ilpkit.adapters.db.tables import perfusion_plans
from ilpkit.cli.main import build_app
from ilpkit.domain.errors import RegistryValidationError
from ilpkit.services.perfusion_plans import PlanSummary, compare_plans, save_plan
from ilpkit.services.registry_import import import_registry

TODAY = date(2026, 11, 27)


def plan(limb: str, level: str) -> PlanSummary:
    return PlanSummary("label", False, limb, level, 2.5, 3.0, 32.5, False)


def count_plans(url: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(sa.select(sa.func.count()).select_from(perfusion_plans)).scalar_one()
            )
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("limb", "level", "field", "words"),
    [
        # the registry row (conftest) is a leg perfused at femoral level
        ("arm", "axillary", "limb", "this plan is for an arm perfusion at axillary level"),
        (
            "leg",
            "popliteal",
            "perfusion_level",
            "this plan is for a leg perfusion at popliteal level",
        ),
        ("leg", "iliac", "perfusion_level", "this plan is for a leg perfusion at iliac level"),
    ],
)
def test_plan_for_another_site_than_the_recorded_perfusion_is_refused(
    db_url, row_factory, csv_file, limb, level, field, words
):
    import_registry(csv_file([row_factory()]), db_url, TODAY, "tester")
    with pytest.raises(RegistryValidationError) as info:
        save_plan(db_url, "SYN-0001", "2001-03-14", plan(limb, level), {}, "tester")
    [problem] = info.value.problems
    assert problem.field == field
    assert "recorded as a leg perfusion at femoral level" in problem.reason
    assert words in problem.reason
    assert count_plans(db_url) == 0


def test_plan_for_the_recorded_site_is_saved_and_listed_with_it(db_url, row_factory, csv_file):
    import_registry(csv_file([row_factory()]), db_url, TODAY, "tester")
    save_plan(db_url, "SYN-0001", "2001-03-14", plan("leg", "femoral"), {}, "tester")
    # a plan for a perfusion not yet recorded can be for any site
    save_plan(db_url, "SYN-0002", "2002-01-10", plan("arm", "brachial"), {}, "tester")
    rows = {r.patient_id: r for r in compare_plans(db_url)}
    assert (rows["SYN-0001"].limb, rows["SYN-0001"].perfusion_level) == ("leg", "femoral")
    assert (rows["SYN-0001"].recorded_limb, rows["SYN-0001"].recorded_perfusion_level) == (
        "leg",
        "femoral",
    )
    assert rows["SYN-0002"].to_dict()["limb"] == "arm"
    assert rows["SYN-0002"].to_dict()["perfusion_level"] == "brachial"
    assert rows["SYN-0002"].to_dict()["recorded_limb"] is None


def run(*args: str):
    return CliRunner().invoke(build_app(), list(args), env={"COLUMNS": "200"})


def test_cli_refuses_an_arm_plan_against_a_recorded_leg_perfusion(tmp_path, row_factory, csv_file):
    db = str(tmp_path / "r.sqlite3")
    assert run("import", str(csv_file([row_factory()])), "--db", db).exit_code == 0
    result = run(
        "plan", "--limb", "arm", "--level", "axillary", "--volume-l", "2.5",
        "--save", "SYN-0001", "2001-03-14", "--db", db,
    )  # fmt: skip
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert "the plan was not saved" in text
    assert "recorded as a leg perfusion at femoral level" in text
    assert "saved for patient" not in text
    assert json.loads(run("plans", "--json", "--db", db).stdout) == []


def test_cli_plans_shows_limb_and_level(tmp_path):
    db = str(tmp_path / "r.sqlite3")
    saved = run(
        "plan", "--limb", "arm", "--level", "brachial", "--volume-l", "1.5",
        "--save", "SYN-0009", "2026-12-03", "--db", db,
    )  # fmt: skip
    assert saved.exit_code == 0, saved.output
    table = run("plans", "--db", db)
    assert table.exit_code == 0
    assert "arm brachial" in table.output
    [row] = json.loads(run("plans", "--json", "--db", db).stdout)
    assert (row["limb"], row["perfusion_level"]) == ("arm", "brachial")
