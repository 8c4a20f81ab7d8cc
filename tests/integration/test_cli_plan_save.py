"""`ilp plan --save` stores the plan; `ilp plans` compares planned and given doses."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from ilpkit.cli.main import build_app

runner = CliRunner()


def run(*args: str):
    return runner.invoke(build_app(), list(args), catch_exceptions=False)


def test_save_then_compare_with_recorded_perfusion(tmp_path, row_factory, csv_file):
    db = str(tmp_path / "r.sqlite3")
    # leg, water-displacement volume 8 L, label protocol: TNF 4 mg; melphalan 10 mg/L x 8 L = 80 mg
    result = run(
        "plan",
        "--limb",
        "leg",
        "--level",
        "femoral",
        "--volume-l",
        "8",
        "--save",
        "SYN-0001",
        "2001-03-14",
        "--db",
        db,
    )
    assert result.exit_code == 0, result.output
    assert "Plan 1 saved" in result.output
    [row] = json.loads(run("plans", "--json", "--db", db).stdout)
    assert row["planned"] == {"limb_volume_l": 8.0, "tnf_mg": 4.0, "melphalan_mg": 80.0}
    assert row["given"] is None
    # the registry row gives TNF 3 mg, melphalan 80 mg
    assert run("import", str(csv_file([row_factory()])), "--db", db).exit_code == 0
    [row] = json.loads(run("plans", "--json", "--db", db).stdout)
    assert row["given"] == {"limb_volume_l": 8.0, "tnf_mg": 3.0, "melphalan_mg": 80.0}
    assert "(differs)" in run("plans", "--db", db).output


def test_save_with_bad_key_is_refused(tmp_path):
    result = run(
        "plan",
        "--limb",
        "leg",
        "--level",
        "femoral",
        "--volume-l",
        "8",
        "--save",
        "bad id",
        "2001-03-14",
        "--db",
        str(tmp_path / "r.sqlite3"),
    )
    assert result.exit_code == 1
    assert "the plan was not saved" in " ".join(result.output.split())
