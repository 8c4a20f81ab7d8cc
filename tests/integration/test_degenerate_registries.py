"""Small and one-sided registries: ``ilp analyze`` and ``ilp report`` complete and say what
could not be tested.

Young registries and small centres have subgroup tables with one level or one outcome, no deaths
or no local recurrence. Every section is still produced; a comparison that cannot be made has a
null test and p-value and a note giving the reason.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from html import unescape
from pathlib import Path

import pytest
from tests.conftest import make_row, write_csv
from typer.testing import CliRunner

from ilpkit.cli.main import build_app

runner = CliRunner()

RESPONSES = ("CR", "PR", "NC", "PD")
HISTOLOGIES = ("liposarcoma", "leiomyosarcoma", "undifferentiated_pleomorphic_sarcoma")


def _patient(i: int) -> dict[str, str]:
    """Patient ``i`` of a small varied registry (each column takes two or more values)."""
    year = 2001 + i % 8
    arm = i % 4 == 3
    dead = i % 3 == 0
    followup = f"{year + 1 + i % 7}-06-30"
    row = make_row(
        patient_id=f"PT-{i:04d}",
        center="CTR-A" if i % 2 else "CTR-B",
        sex="F" if i % 2 else "M",
        ilp_date=f"{year}-03-14",
        resection_date=f"{year}-05-20",
        last_followup_date=followup,
        death_date=followup if dead else "",
        histology=HISTOLOGIES[i % 3],
        grade=str(1 + i % 3),
        tumor_size_cm=str(3 + (i * 7) % 20),
        multifocal="yes" if i % 5 == 0 else "no",
        presentation="recurrent" if i % 4 == 1 else "primary",
        prior_radiotherapy="yes" if i % 6 == 2 else "no",
        response=RESPONSES[i % 4],
        local_recurrence_date=f"{year + 1}-01-15" if i % 5 == 2 else "",
    )
    if arm:
        row.update(limb="arm", perfusion_level="axillary", limb_volume_l="2.5", melphalan_mg="30")
    return row


def _rows(n: int = 24, **fixed: str) -> list[dict[str, str]]:
    rows = [_patient(i) for i in range(n)]
    for r in rows:
        r.update(fixed)
    return rows


def _all_leg(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    for r in rows:
        r.update(limb="leg", perfusion_level="femoral", limb_volume_l="8", melphalan_mg="80")
    return rows


def _no_deaths(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    for r in rows:
        r["death_date"] = ""
    return rows


def _all_dead_early(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    for r in rows:
        y = int(r["ilp_date"][:4])
        r["last_followup_date"] = r["death_date"] = f"{y}-12-01"
        r["local_recurrence_date"] = ""
    return rows


def _with_metastases(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """Every fourth patient has a distant metastasis a year after the perfusion."""
    for i, r in enumerate(rows):
        if i % 4 == 1:
            r["distant_metastasis_date"] = f"{int(r['ilp_date'][:4]) + 1}-03-01"
    return rows


def _repeat_perfusions(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """The first six patients have a second perfusion 8 months after the first."""
    for r in rows[:6]:
        year = int(r["ilp_date"][:4])
        rows.append({**r, "ilp_date": f"{year}-11-14", "resection_date": f"{year + 1}-01-10"})
        if r["local_recurrence_date"]:
            r["local_recurrence_date"] = f"{year}-10-01"
    return rows


Case = Callable[[], list[dict[str, str]]]
CASES: dict[str, Case] = {
    "one patient": lambda: _rows(1),
    "no deaths": lambda: _no_deaths(_rows()),
    "no local recurrence": lambda: _rows(local_recurrence_date=""),
    "every response missing": lambda: _rows(response=""),
    "one response class": lambda: _rows(response="CR"),
    "one centre": lambda: _rows(center="CTR-A"),
    "one histology": lambda: _rows(histology="liposarcoma"),
    "every tumour multifocal": lambda: _rows(multifocal="yes"),
    "every perfusion a leg": lambda: _all_leg(_rows()),
    "no grade recorded": lambda: _rows(grade=""),
    "everyone died within a year": lambda: _all_dead_early(_rows()),
    "no toxicity recorded": lambda: _rows(wieberdink_grade=""),
    "one TNF dose group": lambda: _rows(tnf_mg="2"),
    "distant metastases": lambda: _with_metastases(_rows()),
    "no resection": lambda: _rows(resection_date="", resection_margin=""),
    "repeat perfusions": lambda: _repeat_perfusions(_rows()),
}


def ilp(*args: str):
    return runner.invoke(build_app(), list(args))


@pytest.fixture(scope="module", params=sorted(CASES))
def registry(request, tmp_path_factory) -> tuple[str, Path, str]:
    folder = tmp_path_factory.mktemp("degenerate")
    path = write_csv(folder / "registry.csv", CASES[request.param]())
    url = f"sqlite:///{folder / 'registry.sqlite3'}"
    result = ilp("import", str(path), "--db", url)
    assert result.exit_code == 0, result.output
    return url, folder, request.param


def _untestable(entry: dict) -> bool:
    return entry.get("p") is None and bool(entry.get("note"))


def test_analyze_json_completes_and_marks_untestable(registry):
    url, _, name = registry
    result = ilp("analyze", "--json", "--db", url)
    assert result.exit_code == 0, f"{name}: {result.output}"
    r = json.loads(result.stdout)
    for section in (
        "cohort",
        "response",
        "overall_survival",
        "local_recurrence",
        "limb_salvage",
        "distant_metastasis",
    ):
        assert section in r, f"{name}: {section} missing"
    landmark = r["local_recurrence"]["landmark"]
    assert landmark["unit"] == "perfusion"
    for var, entry in landmark["by"].items():
        if entry["gray"]["p"] is None:
            assert _untestable(entry["gray"]), f"{name}: landmark by {var}"
    for var, model in landmark["cox"].items():
        assert model["terms"] or model["note"], f"{name}: landmark Cox of {var} not marked"
    assert landmark["not_recorded"], f"{name}: outcome-study fields absent, not named"
    sss = r["distant_metastasis"]["sarcoma_specific_survival"]
    # no cause of death in these registries: not recorded, with the reason (or, without any
    # death, estimable: nobody died of sarcoma)
    assert sss.get("not_recorded") or sss["events"] == 0, f"{name}: {sss}"
    for var, entry in r["response"]["by"].items():
        if entry["p"] is None:
            assert entry["test"] is None and entry["note"], f"{name}: response by {var}"
    for key, section in (("logrank", "overall_survival"), ("gray", "local_recurrence")):
        for var, entry in r[section]["by"].items():
            if entry[key]["p"] is None:
                assert _untestable(entry[key]), f"{name}: {section} by {var}"
    cox = r["overall_survival"]["cox"]
    if not cox.get("terms"):
        assert cox.get("note"), f"{name}: Cox not marked"
    for term, u in cox["univariable"].items():
        if not u.get("terms"):
            assert u.get("note"), f"{name}: univariable Cox of {term} not marked"
    for entry in _toxicity_tests(r):
        if entry["p"] is None:
            assert _untestable(entry), f"{name}: toxicity or TNF dose test {entry}"
    model = r["toxicity"]["model"]
    assert bool(model["terms"]) != bool(model["note"]), f"{name}: toxicity model not marked"


def _toxicity_tests(r: dict) -> list[dict]:
    """Every test of the toxicity and TNF dose sections."""
    tox, tnf = r["toxicity"], r["tnf_dose"]
    tests = list(tox["associations"].values())
    tests += [a["trend"] for a in tox["associations"].values() if a["trend"] is not None]
    tests += [tnf["orr_test"], tnf["cr_test"], tnf["severe_toxicity_test"]]
    tests.append(tnf["local_recurrence"]["gray"])
    return tests


def test_toxicity_and_tnf_dose_name_what_cannot_be_tested(tmp_path):
    path = write_csv(tmp_path / "r.csv", _rows(wieberdink_grade="", tnf_mg="2"))
    url = f"sqlite:///{tmp_path / 'r.sqlite3'}"
    assert ilp("import", str(path), "--db", url).exit_code == 0
    for endpoint in ("toxicity", "tnf_dose"):
        result = ilp("analyze", "--json", "--endpoint", endpoint, "--db", url)
        assert result.exit_code == 0, result.output
        r = json.loads(result.stdout)
        assert list(r)[-1] == endpoint
    r = json.loads(ilp("analyze", "--json", "--db", url).stdout)
    tox = r["toxicity"]
    assert tox["wieberdink"]["n"] == 0 and tox["wieberdink"]["n_missing"] == 24
    assert tox["severe"] == {"k": 0, "n": 0, "estimate": None, "ci95": [None, None]}
    assert tox["associations"]["limb"]["note"] == "no Wieberdink grade recorded"
    assert tox["model"]["note"] == "not estimable: no Wieberdink grade recorded"
    tnf = r["tnf_dose"]
    assert tnf["groups"][">2 mg"]["n"] == 0 and tnf["groups"]["<=2 mg"]["n"] == 24
    for entry in (tnf["orr_test"], tnf["cr_test"], tnf["local_recurrence"]["gray"]):
        assert entry["p"] is None and entry["note"] == "only one level present (<=2 mg)"


def test_analyze_tables_complete(registry):
    url, _, name = registry
    result = ilp("analyze", "--db", url)
    assert result.exit_code == 0, f"{name}: {result.output}"
    for heading in (
        "Response",
        "Overall survival",
        "Local recurrence",
        "Limb salvage",
        "Distant metastasis",
    ):
        assert heading in result.output, f"{name}: {heading}"


def test_report_completes(registry):
    url, folder, name = registry
    out = folder / "report"
    result = ilp("report", "--db", url, "--out", str(out))
    assert result.exit_code == 0, f"{name}: {result.output}"
    html = (out / "report.html").read_text(encoding="utf-8")
    for section in ("methods", "cohort", "response", "local-recurrence", "overall-survival"):
        assert f'id="{section}"' in html, f"{name}: section {section}"
    r = json.loads((out / "results.json").read_text(encoding="utf-8"))
    tests = [e for e in r["response"]["by"].values()]
    tests += [e["logrank"] for e in r["overall_survival"]["by"].values()]
    tests += [e["gray"] for e in r["local_recurrence"]["by"].values()]
    text = " ".join(unescape(html).split())
    for t in tests:
        if t["p"] is None:
            assert t["note"] in text, f"{name}: note {t['note']!r} not in the report"
    cox = r["overall_survival"]["cox"]
    if not cox["terms"]:
        assert f"Cox model of overall survival was {cox['note']}" in text
    for section in ("regional-toxicity", "tnf-dose"):
        assert f'id="{section}"' in html, f"{name}: section {section}"
    for t in _toxicity_tests(r):
        if t["p"] is None:
            assert t["note"] in text, f"{name}: note {t['note']!r} not in the report"
    model = r["toxicity"]["model"]
    if model["note"]:
        assert f"The logistic model of {model['outcome']} was {model['note']}" in text


def test_one_response_class_is_named(tmp_path):
    path = write_csv(tmp_path / "r.csv", _rows(response="CR"))
    url = f"sqlite:///{tmp_path / 'r.sqlite3'}"
    assert ilp("import", str(path), "--db", url).exit_code == 0
    r = json.loads(ilp("analyze", "--json", "--db", url).stdout)
    sex = r["response"]["by"]["sex"]
    assert sex["test"] is None and sex["p"] is None
    assert sex["note"] == "only one response class present"
    text = ilp("analyze", "--db", url).output
    assert "only one response class present" in " ".join(text.split())


def test_one_level_present_is_named(tmp_path):
    path = write_csv(tmp_path / "r.csv", _rows(multifocal="yes"))
    url = f"sqlite:///{tmp_path / 'r.sqlite3'}"
    assert ilp("import", str(path), "--db", url).exit_code == 0
    r = json.loads(ilp("analyze", "--json", "--db", url).stdout)
    for entry in (
        r["response"]["by"]["multifocal"],
        r["overall_survival"]["by"]["multifocal"]["logrank"],
        r["local_recurrence"]["by"]["multifocal"]["gray"],
    ):
        assert entry["p"] is None
        assert entry["note"] == "only one level present (yes)"


def test_report_contents_numbers_match_headings_and_min_at_risk_option(tmp_path):
    import re

    path = write_csv(tmp_path / "r.csv", _rows())
    url = f"sqlite:///{tmp_path / 'r.sqlite3'}"
    assert ilp("import", str(path), "--db", url).exit_code == 0
    out = tmp_path / "report"
    result = ilp("report", "--db", url, "--out", str(out), "--min-at-risk", "7")
    assert result.exit_code == 0, result.output
    html = (out / "report.html").read_text(encoding="utf-8")
    toc = dict(re.findall(r'<li value="(\d+)"><a href="#([\w-]+)">', html))
    headings = dict(
        re.findall(r'<section id="([\w-]+)">\s*<h2><span class="secnum">(\d+)</span>', html)
    )
    assert headings and {v: k for k, v in toc.items()} == headings
    assert '<li class="unnumbered"><a href="#summary">' in html
    assert "Each curve stops where fewer than 7 patients remain at risk" in html
