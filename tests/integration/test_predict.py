"""``ilp predict`` on SQLite and PostgreSQL: predictions, refusals that name the option and the
range or levels seen, the terminal statement of the model, and the calibration plot.

The numbers themselves are checked against R in tests/reference/test_fine_gray_vs_r.py; here
the registry is the colon-derived one of tests/reference/data/registry_colon.csv (synthetic).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ilpkit.cli.main import build_app
from ilpkit.services.registry_import import import_registry

CSV = Path(__file__).resolve().parents[1] / "reference" / "data" / "registry_colon.csv"
runner = CliRunner()
PROFILE = [
    "--age", "62", "--size-cm", "14", "--histology", "leiomyosarcoma",
    "--multifocal", "no", "--prior-radiotherapy", "yes",
]  # fmt: skip


def _run(db: str, *args: str) -> tuple[int, str, str]:
    out = runner.invoke(build_app(), ["predict", "--db", db, *args])
    return out.exit_code, out.stdout, out.stderr


def test_predict_outputs_refusals_and_calibration(db_url: str, tmp_path: Path) -> None:
    import_registry(CSV, db_url, date(2026, 11, 27), "tester")
    # JSON: every year present, estimates within (0, 1), CI around the estimate
    code, out, err = _run(db_url, *PROFILE, "--json")
    assert code == 0, err
    res = json.loads(out)
    assert res["schema"] == "ilpkit.prediction/1"
    assert set(res["overall_survival"]["at_years"]) == {"1", "2", "5"}
    for at in res["overall_survival"]["at_years"].values():
        lo, hi = at["ci95"]
        assert 0 < lo < at["estimate"] < hi <= 1
    lr = [res["local_recurrence"]["at_years"][y]["estimate"] for y in ("1", "2", "5")]
    assert 0 < lr[0] <= lr[1] <= lr[2] < 1
    assert res["model"]["terms"] == [
        "age_years", "tumor_size_cm", "leiomyosarcoma", "multifocal", "prior_radiotherapy",
    ]  # fmt: skip
    assert res["covariates"]["histology"]["levels"] == ["leiomyosarcoma", "liposarcoma"]
    assert "calibration" not in res
    # --terms: only the values those terms need
    code, out, err = _run(
        db_url, "--terms", "age_years,tumor_size_cm", "--age", "60", "--size-cm", "10", "--json"
    )
    assert code == 0, err
    assert json.loads(out)["model"]["columns"] == ["age_years", "tumor_size_cm"]
    # terminal: the table, the model's n and events, and its limits
    code, out, err = _run(db_url, *PROFILE)
    assert code == 0, err
    assert "n = 911 patients" in " ".join(out.split())
    assert "Limits:" in out and "in-sample" in out
    # a missing value names the option
    code, out, err = _run(db_url, "--age", "62")
    assert code == 1 and "--size-cm is required" in " ".join(err.split())
    # out of range / level not seen: refused, saying what was seen
    code, out, err = _run(db_url, *PROFILE[:2], "--size-cm", "40", *PROFILE[4:])
    text = " ".join(err.split())
    assert code == 1 and "--size-cm 40 is outside the range seen in the registry" in text
    assert "0.5 to 33.5 cm" in text and "extrapolate" in text
    bad = [*PROFILE[:4], "--histology", "angiosarcoma", *PROFILE[6:]]
    code, out, err = _run(db_url, *bad)
    text = " ".join(err.split())
    assert code == 1 and "--histology angiosarcoma is not a level seen" in text
    assert "leiomyosarcoma, liposarcoma" in text
    # calibration plot: PNG and SVG written, groups in the JSON
    png = tmp_path / "cal.png"
    code, out, err = _run(db_url, *PROFILE, "--calibration-plot", str(png), "--json")
    assert code == 0, err
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    cal = json.loads(out)["calibration"]
    assert cal["grouping"] == "quintiles" and len(cal["groups"]) == 5
    assert sum(g["n"] for g in cal["groups"]) == 911
    svg = tmp_path / "cal.svg"
    code, out, err = _run(db_url, *PROFILE, "--calibration-plot", str(svg))
    assert code == 0, err
    assert b"<svg" in svg.read_bytes()[:500]
    code, out, err = _run(db_url, *PROFILE, "--calibration-plot", str(tmp_path / "cal.pdf"))
    assert code == 1 and "must end in .png or .svg" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--terms", "response", "--age", "1"], "response cannot be used for a prediction"),
        (["--terms", "age_years", "--age", "nan"], "--age must be a finite number"),
        (
            ["--terms", "histology", "--histology", "[bold]x\x1b[2J"],
            "--histology [bold]x is not a level seen",  # shown as written, escapes removed
        ),
    ],
)
def test_predict_bad_terms_and_values_are_refused(
    sqlite_url: str, args: list[str], message: str
) -> None:
    import_registry(CSV, sqlite_url, date(2026, 11, 27), "tester")
    code, _out, err = _run(sqlite_url, *args)
    assert code == 1 and message in " ".join(err.split())
    assert "Traceback" not in err and "\x1b" not in err
