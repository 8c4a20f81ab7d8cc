"""``ilp report`` as a user runs it: files, results.json, tables, sections, SYNTHETIC marking."""

from __future__ import annotations

import csv
import json
import os
from collections import Counter
from datetime import date
from html import unescape
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from ilpkit.cli.main import build_app
from ilpkit.services.outcome_analysis import load_frame
from ilpkit.services.registry_import import import_registry
from ilpkit.services.synthesize import synthesize
from ilpkit.stats.analysis import analyze

runner = CliRunner()
COLON_CSV = Path(__file__).parents[1] / "reference" / "data" / "registry_colon.csv"
SECTIONS = (
    "summary",
    "methods",
    "cohort",
    "response",
    "local-recurrence",
    "overall-survival",
    "limb-salvage",
    "regional-toxicity",
    "tnf-dose",
    "distant-metastasis",
    "published",
    "references",
)
N_TABLES = 15
"""Nine tables of the outcome study and the landmark analysis of local recurrence, then
regional toxicity (grades, associations), systemic toxicity and complications, TNF dose, and
distant metastasis; the logistic model of severe toxicity is not estimable on the 150-patient
synthetic registry of these tests (too few grade IV events), so it has no table."""


def ilp(*args: str, cwd: Path | None = None):
    old = Path.cwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        return runner.invoke(build_app(), list(args), catch_exceptions=False)
    finally:
        os.chdir(old)


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def synthetic_url(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('synth') / 'registry.sqlite3'}"
    synthesize(150, 11, "test", url=url)
    return url


@pytest.fixture(scope="module")
def plain_registry(tmp_path_factory) -> tuple[str, Path]:
    """The colon-based registry with ids and centre that do not look synthetic."""
    folder = tmp_path_factory.mktemp("plain")
    text = COLON_CSV.read_text(encoding="utf-8")
    path = folder / "registry.csv"
    path.write_text(text.replace("SYN-COLON-", "PT-").replace(",SYNTH,", ",CTR-A,"), "utf-8")
    url = f"sqlite:///{folder / 'registry.sqlite3'}"
    import_registry(path, url, date.today(), "test")
    return url, path


@pytest.fixture(scope="module")
def synthetic_report(synthetic_url, tmp_path_factory) -> tuple[Path, object]:
    out = tmp_path_factory.mktemp("report") / "out"
    result = ilp("report", "--db", synthetic_url, "--out", str(out))
    return out, result


def test_help_has_examples():
    result = ilp("report", "--help")
    assert result.exit_code == 0
    assert "Example" in result.output and "--pdf" in result.output


def test_report_writes_every_file(synthetic_report):
    out, result = synthetic_report
    assert result.exit_code == 0, result.output
    assert "SYNTHETIC" in result.output and "report.html" in flat(result.output)
    for name in ("report.html", "results.json", "manifest.json"):
        assert (out / name).is_file(), name
    pngs = sorted(p.stem for p in (out / "figures").glob("*.png"))
    svgs = sorted(p.stem for p in (out / "figures").glob("*.svg"))
    assert pngs == svgs and len(pngs) >= 8
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in (out / "figures").glob("*.png"))
    assert len(list((out / "tables").glob("*.csv"))) == N_TABLES
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["synthetic"] is True
    assert all((out / f).is_file() for f in manifest["files"])


def test_results_json_is_exactly_the_analysis(synthetic_report, synthetic_url):
    out, _ = synthetic_report
    written = json.loads((out / "results.json").read_text())
    expected = analyze(load_frame(synthetic_url), synthetic=True).to_json_dict()
    assert written == expected
    analyze_cli = ilp("analyze", "--db", synthetic_url, "--json")
    assert json.loads(analyze_cli.output) == written


def test_every_table_csv_parses(synthetic_report):
    out, _ = synthetic_report
    for path in (out / "tables").glob("*.csv"):
        rows = list(csv.reader(path.open(encoding="utf-8", newline="")))
        assert len(rows) >= 2, path.name
        assert {len(r) for r in rows} == {len(rows[0])}, path.name
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        assert list(frame.columns) == rows[0]


def test_html_has_every_section_figure_and_table(synthetic_report):
    out, _ = synthetic_report
    html = (out / "report.html").read_text(encoding="utf-8")
    for section in SECTIONS:
        assert f'id="{section}"' in html, section
    for n in range(1, N_TABLES + 1):
        assert f"Table {n}.</span>" in html
    n_figures = len(list((out / "figures").glob("*.svg")))
    for n in range(1, n_figures + 1):
        assert f"Figure {n}.</span>" in html
    assert html.count('<img src="data:image/svg+xml;base64,') == n_figures
    # self-contained: no external resource
    assert 'src="http' not in html and 'href="http' not in html and "@import" not in html
    assert "@media print" in html and "@page" in html
    for phrase in (
        "Baseline characteristics, per patient at the first perfusion",
        "Perfusion characteristics, per perfusion",
        "TNF-α dose group",
        "Wieberdink",
        "reverse Kaplan–Meier",
        "Gray's test",
        "Cox regression of overall survival",
        "Deroose",
        "validated against R survival 3.5-3 / cmprsk 2.2-11",
    ):
        assert phrase in unescape(html), phrase


def test_synthetic_registry_is_marked_everywhere(synthetic_report):
    out, _ = synthetic_report
    html = (out / "report.html").read_text(encoding="utf-8")
    assert 'class="synthetic-banner"' in html
    assert "SYNTHETIC DATA — not real patients" in html
    assert "@top-center" in html  # repeated on every printed page
    names = [p.name for p in (out / "figures").iterdir()] + [
        p.name for p in (out / "tables").iterdir()
    ]
    assert names and all(n.startswith("SYNTHETIC-") for n in names)


def _first_perfusions(csv_path: Path) -> list[dict[str, str]]:
    with csv_path.open(encoding="utf-8", newline="") as fh:
        rows = sorted(csv.DictReader(fh), key=lambda r: (r["patient_id"], r["ilp_date"]))
    seen: dict[str, dict[str, str]] = {}
    for r in rows:
        seen.setdefault(r["patient_id"], r)
    return list(seen.values())


def test_plain_registry_report_and_table1_counted_independently(plain_registry, tmp_path):
    url, csv_path = plain_registry
    out = tmp_path / "report"
    result = ilp("report", "--db", url, "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "SYNTHETIC" not in result.output
    html = (out / "report.html").read_text(encoding="utf-8")
    assert 'class="synthetic-banner"' not in html and "@top-center" not in html
    table1 = out / "tables" / "table01-baseline.csv"
    assert table1.is_file()
    rows = list(csv.reader(table1.open(encoding="utf-8", newline="")))
    first = _first_perfusions(csv_path)
    assert rows[1][:3] == ["Patients", "", f"{len(first):,}"]
    sex = Counter(r["sex"] for r in first)
    female = next(r for r in rows if r[1] == "Female")
    assert female[2] == f"{sex['F']:,} ({100 * sex['F'] / len(first):.1f}%)"
    multifocal = next(r for r in rows if r[0] == "Multifocal tumour")
    yes = sum(r["multifocal"] == "yes" for r in first)
    assert multifocal[2] == f"{yes:,} ({100 * yes / len(first):.1f}%)" and multifocal[3] == "0"
    # the colon registry records no leakage: every perfusion counted missing
    table2 = list(csv.reader((out / "tables" / "table02-perfusion.csv").open(encoding="utf-8")))
    leak = next(r for r in table2 if r[0] == "Peak cumulative leakage, %")
    with csv_path.open(encoding="utf-8") as fh:
        assert leak[3] == f"{sum(1 for _ in csv.DictReader(fh)):,}"


def test_rerun_replaces_the_previous_report_files(synthetic_url, tmp_path):
    out = tmp_path / "rep"
    assert ilp("report", "--db", synthetic_url, "--out", str(out)).exit_code == 0
    stale = out / "figures" / "SYNTHETIC-fig99-old.png"
    stale.write_bytes(b"old")
    keep = out / "figures" / "my-notes.txt"
    keep.write_text("mine")
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["files"].append("figures/SYNTHETIC-fig99-old.png")
    (out / "manifest.json").write_text(json.dumps(manifest))
    assert ilp("report", "--db", synthetic_url, "--out", str(out)).exit_code == 0
    assert not stale.exists() and keep.exists()


def test_forced_synthetic_flag_marks_a_plain_registry(plain_registry, tmp_path):
    url, _ = plain_registry
    out = tmp_path / "forced"
    result = ilp("report", "--db", url, "--out", str(out), "--synthetic")
    assert result.exit_code == 0, result.output
    assert 'class="synthetic-banner"' in (out / "report.html").read_text(encoding="utf-8")


def test_empty_registry_is_a_clear_error(tmp_path):
    db = tmp_path / "empty.sqlite3"
    assert ilp("init", "--db", str(db)).exit_code == 0
    result = ilp("report", "--db", str(db), "--out", str(tmp_path / "r"))
    assert result.exit_code == 1
    assert "no perfusions" in flat(result.output) and "Traceback" not in result.output


def test_missing_registry_and_file_as_out_are_clear_errors(tmp_path, synthetic_url):
    result = ilp("report", "--db", str(tmp_path / "nope.sqlite3"), "--out", str(tmp_path / "r"))
    assert result.exit_code == 1 and "there is no registry" in flat(result.output)
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    result = ilp("report", "--db", synthetic_url, "--out", str(a_file))
    assert result.exit_code == 1 and "is a file" in flat(result.output)


def test_pdf_without_chromium_says_how_to_install_it(monkeypatch, tmp_path, synthetic_url):
    from ilpkit.reporting import pdf

    monkeypatch.setattr(pdf, "CHROMIUM", tmp_path / "no-chromium")
    monkeypatch.setattr(pdf.shutil, "which", lambda _name: None)
    result = ilp("report", "--db", synthetic_url, "--out", str(tmp_path / "r"), "--pdf")
    assert result.exit_code == 1
    assert "apt-get install chromium" in flat(result.output)
    assert "Traceback" not in result.output
    assert not (tmp_path / "r").exists()  # refused before any work
