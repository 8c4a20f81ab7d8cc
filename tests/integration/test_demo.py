"""``ilp demo`` as installed: one command gives a SYNTHETIC registry, its report and headlines."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest


def installed_ilp() -> str:
    candidate = Path(sys.executable).parent / "ilp"
    return str(candidate) if candidate.exists() else (shutil.which("ilp") or "ilp")


def run_demo(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [installed_ilp(), "demo", "--dir", str(folder)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "COLUMNS": "200"},
    )


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    folder = tmp_path_factory.mktemp("demo") / "ilp-demo"
    return folder, run_demo(folder)


def test_demo_exits_0_and_says_synthetic(demo_run):
    _, result = demo_run
    assert result.returncode == 0, result.stderr
    assert "SYNTHETIC" in result.stdout
    assert "Traceback" not in result.stderr


def test_demo_creates_registry_of_208_synthetic_patients(demo_run):
    folder, _ = demo_run
    db = folder / "registry.sqlite3"
    assert db.is_file()
    with sqlite3.connect(db) as conn:
        ids = [r[0] for r in conn.execute("SELECT patient_id FROM patients")]
        centres = {r[0] for r in conn.execute("SELECT center FROM patients")}
    assert len(ids) == 208 and all(i.startswith("SYN-") for i in ids)
    assert centres == {"SYNTH"}


def test_demo_writes_the_report(demo_run):
    folder, result = demo_run
    report = folder / "report"
    assert (report / "report.html").is_file()
    assert json.loads((report / "results.json").read_text())["cohort"]["n_patients"] == 208
    assert any((report / "figures").glob("SYNTHETIC-*.svg"))
    assert any((report / "tables").glob("SYNTHETIC-*.csv"))
    assert str(report / "report.html") in " ".join(result.stdout.split())


def test_demo_prints_headlines_beside_the_published_ones(demo_run):
    folder, result = demo_run
    out = " ".join(result.stdout.split())
    assert "Deroose 2011" in out
    results = json.loads((folder / "report" / "results.json").read_text())
    orr = results["response"]["orr"]
    lo, hi = orr["ci95"]
    # ours with the 95% CI, next to the published 71%
    assert f"{100 * orr['estimate']:.1f}% ({100 * lo:.1f}–{100 * hi:.1f})" in out
    for label, published in (
        ("Overall response", "71%"),
        ("Complete response", "18%"),
        ("Partial response", "53%"),
        ("Local recurrence", "30%"),
        ("5-year overall", "42%"),
        ("Limb salvage", "81%"),
    ):
        assert label in out and published in out, label


def test_demo_runs_again_on_the_same_folder(demo_run):
    folder, _ = demo_run
    again = run_demo(folder)
    assert again.returncode == 0, again.stderr
    with sqlite3.connect(folder / "registry.sqlite3") as conn:
        assert conn.execute("SELECT COUNT(*) FROM patients").fetchone()[0] == 208
        assert conn.execute("SELECT COUNT(*) FROM perfusions").fetchone()[0] == 231


def test_demo_refuses_a_registry_with_real_looking_patients(tmp_path, row_factory, csv_file):
    folder = tmp_path / "d"
    folder.mkdir()
    path = csv_file([row_factory(patient_id="PT-0001", center="AMC")])
    done = subprocess.run(
        [installed_ilp(), "import", str(path), "--db", str(folder / "registry.sqlite3")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = run_demo(folder)
    assert result.returncode == 1
    assert "not SYNTHETIC" in " ".join(result.stderr.split())


def test_demo_draws_each_figure_once_as_svg_and_says_how_to_get_png(demo_run):
    folder, result = demo_run
    report = folder / "report"
    html = (report / "report.html").read_text(encoding="utf-8")
    n_figures = html.count('<img src="data:image/svg+xml;base64,')
    files = sorted((report / "figures").iterdir())
    assert n_figures >= 8 and len(files) == n_figures
    assert all(p.suffix == ".svg" and p.read_bytes().startswith(b"<?xml") for p in files)
    manifest = json.loads((report / "manifest.json").read_text(encoding="utf-8"))
    assert sorted(f for f in manifest["files"] if f.startswith("figures/")) == [
        f"figures/{p.name}" for p in files
    ]
    out = " ".join(result.stdout.split())
    assert "PNG too: ilp report --db" in out


def test_demo_report_has_the_toxicity_and_tnf_dose_sections(demo_run):
    folder, _ = demo_run
    html = (folder / "report" / "report.html").read_text(encoding="utf-8")
    for section, title in (("regional-toxicity", "Regional toxicity"), ("tnf-dose", "TNF dose")):
        assert f'id="{section}"' in html and title in html
    assert "Regional (limb) toxicity, per perfusion (Wieberdink grade)" in html
    assert "Outcomes by TNF-α dose group, per perfusion" in html
    assert list((folder / "report" / "figures").glob("*local-recurrence-by-tnf-dose.svg"))
    results = json.loads((folder / "report" / "results.json").read_text())
    assert results["toxicity"]["unit"] == results["tnf_dose"]["unit"] == "perfusion"
    assert results["toxicity"]["wieberdink"]["n"] == 231  # every synthetic perfusion is graded


def test_demo_report_shows_every_outcome_study_section(demo_run):
    """Landmark, distant metastasis, the Fine-Gray model next to the cause-specific Cox model,
    and the published series, on the synthetic cohort."""
    folder, _ = demo_run
    html = (folder / "report" / "report.html").read_text(encoding="utf-8")
    assert 'id="distant-metastasis"' in html
    assert "landmark analysis at 3 months" in html
    assert "Fine-Gray and cause-specific hazard ratios" in html
    figures = folder / "report" / "figures"
    for name in ("fine-gray-forest", "distant-metastasis", "published-series"):
        assert list(figures.glob(f"*{name}.svg")), name
    results = json.loads((folder / "report" / "results.json").read_text())
    fine_gray = results["local_recurrence"]["fine_gray"]
    assert set(fine_gray["terms"]) == {"tumor_size_cm", "multifocal", "prior_radiotherapy"}
    assert fine_gray["n"] == 231
    assert results["distant_metastasis"]["unit"] == "patient"
