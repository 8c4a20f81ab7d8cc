"""``ilp analyze`` refuses post-baseline factors without a landmark and analyses them with one;
``--endpoint metastasis``; repeat perfusions make the recurrence Cox models clustered."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.conftest import make_row, write_csv
from typer.testing import CliRunner

from ilpkit.cli.main import build_app

runner = CliRunner()


def _rows() -> list[dict[str, str]]:
    rows = []
    for i in range(30):
        year = 2001 + i % 6
        dead = i % 3 == 0
        fu = f"{year + 2 + i % 5}-06-30"
        rows.append(
            make_row(
                patient_id=f"SYN-{i:04d}",
                ilp_date=f"{year}-03-14",
                resection_date=f"{year}-05-{10 + i % 15:02d}",
                resection_margin=("R0", "R1", "R2")[i % 3],
                response=("CR", "PR", "NC", "PD")[i % 4],
                last_followup_date=fu,
                death_date=fu if dead else "",
                local_recurrence_date=f"{year + 1}-01-15" if i % 4 == 1 else "",
                distant_metastasis_date=f"{year + 1}-06-15" if i % 5 == 2 else "",
            )
        )
    # patients 0-4 have a second perfusion, 10 months after the first
    for i in range(5):
        first = rows[i]
        year = int(first["ilp_date"][:4])
        rows.append(
            {
                **first,
                "ilp_date": f"{year}-11-14",
                "resection_date": "",
                "resection_margin": "",
                "response": "PR",
                "local_recurrence_date": f"{year + 1}-09-01" if i % 2 else "",
                "distant_metastasis_date": "",
            }
        )
    return rows


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> str:
    folder: Path = tmp_path_factory.mktemp("landmark")
    path = write_csv(folder / "registry.csv", _rows())
    url = f"sqlite:///{folder / 'registry.sqlite3'}"
    result = runner.invoke(build_app(), ["import", str(path), "--db", url])
    assert result.exit_code == 0, result.output
    return url


def ilp(*args: str):
    return runner.invoke(build_app(), list(args))


@pytest.mark.parametrize(
    "args",
    [
        ("--cox", "response"),
        ("--by", "response"),
        ("--by", "resection_margin"),
        ("--cox", "age_years,adjuvant_radiotherapy"),
        ("--by", "necrosis_group"),
    ],
)
def test_post_baseline_factor_refused_without_landmark(db, args):
    result = ilp("analyze", "--db", db, *args)
    usage_error = ilp("analyze", "--db", db, "--ties", "exact")
    assert result.exit_code == usage_error.exit_code == 1
    text = " ".join(result.output.split())
    assert "known only after the perfusion" in text
    assert "immortal-time bias" in text
    assert "--landmark-months 3" in text
    assert "Traceback" not in result.output


def test_post_baseline_factor_accepted_with_landmark(db):
    result = ilp(
        "analyze", "--db", db, "--json", "--endpoint", "os", "--by", "response",
        "--cox", "age_years,response", "--landmark-months", "3",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    os_ = json.loads(result.stdout)["overall_survival"]
    assert "response" not in os_["by"]
    assert os_["landmark"]["landmark_months"] == 3
    assert os_["landmark"]["unit"] == "patient"
    assert set(os_["landmark"]["by"]["response"]["groups"]) == {"CR", "PR", "NC", "PD"}
    assert "response[PR]" in os_["landmark"]["cox"]["terms"]
    assert os_["cox"] == {}  # the Cox model with a post-baseline term is the landmark one


def test_landmark_tables_print(db):
    result = ilp("analyze", "--db", db, "--by", "response", "--landmark-months", "6")
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "landmark 6 months" in text
    assert "Distant metastasis per patient" in text
    assert "Sarcoma-specific survival: not recorded" in text
    # 35 perfusions of 30 patients: the per-perfusion tests say they assume independence
    assert "5 perfusions are repeat perfusions of a patient" in text


def test_bad_landmark_is_a_usage_error(db):
    result = ilp("analyze", "--db", db, "--landmark-months", "0")
    assert result.exit_code == 1
    assert "--landmark-months must be more than 0" in result.output


def test_repeat_perfusions_give_clustered_recurrence_cox_and_patient_level_metastasis(db):
    result = ilp("analyze", "--db", db, "--json", "--endpoint", "all")
    assert result.exit_code == 0, result.output
    r = json.loads(result.stdout)
    lm = r["local_recurrence"]["landmark"]
    assert lm["unit"] == "perfusion"
    assert lm["patients_with_repeat_perfusions"] == 5
    assert lm["variance"] == "robust, clustered on patient"
    assert lm["cox"]["resection_margin"]["terms"]
    dm = r["distant_metastasis"]
    assert dm["unit"] == "patient" and dm["n"] == 30  # patients, not the 35 perfusions
    assert dm["crude"]["k"] == 6  # i % 5 == 2 among 30 patients
    assert r["distant_metastasis"]["metastasis_free_survival"]["unit"] == "patient"


def test_endpoint_metastasis_alone(db):
    result = ilp("analyze", "--db", db, "--json", "--endpoint", "metastasis")
    assert result.exit_code == 0, result.output
    r = json.loads(result.stdout)
    assert "distant_metastasis" in r and "overall_survival" not in r
