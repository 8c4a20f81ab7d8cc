"""``ilp synth`` as a user runs it, into SQLite and PostgreSQL (the ``db_url`` fixture)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from ilpkit.adapters.db import registry_repository as repo
from ilpkit.adapters.db.engine import make_engine
from ilpkit.cli.main import build_app
from ilpkit.services import synthesize as service
from ilpkit.services.unit_of_work import UnitOfWork

runner = CliRunner()


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


def stored(url: str) -> list:
    with UnitOfWork(url) as uow:
        return list(repo.iter_records(uow.connection))


def table_counts(url: str) -> tuple[int, int, list[str]]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            n_pat = conn.execute(sa.text("SELECT COUNT(*) FROM patients")).scalar_one()
            n_perf = conn.execute(sa.text("SELECT COUNT(*) FROM perfusions")).scalar_one()
            actions = list(
                conn.execute(sa.text("SELECT action FROM audit_log ORDER BY id")).scalars()
            )
    finally:
        engine.dispose()
    return n_pat, n_perf, actions


def test_help_has_examples_and_says_synthetic():
    result = ilp("synth", "--help")
    assert result.exit_code == 0
    assert "Example" in result.output and "SYNTHETIC" in result.output


def test_synth_to_database_equals_importing_its_csv(db_url, tmp_path):
    csv_path = tmp_path / "synthetic-registry.csv"
    result = ilp(
        "synth", "--patients", "300", "--seed", "11", "--db", db_url, "--out", str(csv_path)
    )
    assert result.exit_code == 0, result.output
    assert "SYNTHETIC" in result.output
    n_pat, n_perf, actions = table_counts(db_url)
    assert n_pat == 300 and n_perf > 300
    assert actions == ["synth"]
    # the CSV imports through the validating import, without a problem or a warning
    imported = f"sqlite:///{tmp_path / 'imported.sqlite3'}"
    result = ilp("import", str(csv_path), "--db", imported, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["patients_created"] == 300
    assert report["perfusions_created"] == n_perf
    assert report["warnings"] == []
    # the bulk-inserted registry holds exactly what the import stored
    assert stored(db_url) == stored(imported)


def test_export_of_the_synthetic_database_is_byte_identical_to_its_csv(db_url, tmp_path):
    csv_path = tmp_path / "synthetic.csv"
    assert ilp("synth", "--patients", "150", "--db", db_url, "--out", str(csv_path)).exit_code == 0
    exported = tmp_path / "exported.csv"
    assert ilp("export", str(exported), "--db", db_url).exit_code == 0
    # the export adds the stable perfusion_id as its last column; the rest is byte-identical
    lines = exported.read_text(encoding="utf-8").splitlines()
    assert lines[0].endswith(",perfusion_id")
    ids = [line.rsplit(",", 1)[1] for line in lines[1:]]
    assert len(set(ids)) == len(ids) and all(len(i) == 32 for i in ids)
    stripped = "".join(line.rsplit(",", 1)[0] + "\n" for line in lines)
    assert stripped == csv_path.read_text(encoding="utf-8")


def test_audit_row_describes_the_synthetic_load(db_url):
    assert ilp("synth", "--patients", "50", "--seed", "3", "--db", db_url).exit_code == 0
    with UnitOfWork(db_url) as uow:
        (entry,) = repo.audit_entries(uow.connection)
    assert entry["action"] == "synth"
    assert entry["details"]["synthetic"] is True
    assert entry["details"]["seed"] == 3
    assert entry["details"]["patients"] == 50


def test_a_registry_with_data_is_refused_without_replace(db_url):
    assert ilp("synth", "--patients", "40", "--seed", "1", "--db", db_url).exit_code == 0
    before = stored(db_url)
    result = ilp("synth", "--patients", "60", "--seed", "2", "--db", db_url)
    assert result.exit_code == 1
    assert "already holds 40 patients" in flat(result.output)
    assert "--replace" in result.output and "Traceback" not in result.output
    assert stored(db_url) == before


def test_replace_deletes_the_old_rows_and_keeps_the_audit_log(db_url):
    assert ilp("synth", "--patients", "40", "--seed", "1", "--db", db_url).exit_code == 0
    result = ilp("synth", "--patients", "60", "--seed", "2", "--db", db_url, "--replace")
    assert result.exit_code == 0, result.output
    assert "Replaced 40 patients" in flat(result.output)
    n_pat, _, actions = table_counts(db_url)
    assert n_pat == 60
    assert actions == ["synth", "synth"]


def test_the_registry_takes_ordinary_imports_after_a_bulk_load(db_url, row_factory, csv_file):
    """The id sequence (PostgreSQL) moves past the explicit ids of the bulk load."""
    assert ilp("synth", "--patients", "30", "--db", db_url).exit_code == 0
    path = csv_file([row_factory(patient_id="REAL-0001", center="TEST")])
    result = ilp("import", str(path), "--db", db_url)
    assert result.exit_code == 0, result.output
    assert table_counts(db_url)[0] == 31


def test_a_failed_replace_leaves_the_registry_as_it_was(db_url, monkeypatch):
    assert ilp("synth", "--patients", "25", "--seed", "4", "--db", db_url).exit_code == 0
    before = stored(db_url)

    def broken(*args, **kwargs):
        raise sa.exc.OperationalError("INSERT", {}, Exception("disk full"))

    monkeypatch.setattr(service.bulk, "bulk_insert_registry", broken)
    result = ilp("synth", "--patients", "30", "--db", db_url, "--replace")
    assert result.exit_code == 3
    assert "cannot use the database" in flat(result.output)
    assert stored(db_url) == before


def test_creates_the_schema_of_a_new_registry(tmp_path):
    target = tmp_path / "new.sqlite3"
    result = ilp("synth", "--patients", "10", "--db", str(target))
    assert result.exit_code == 0, result.output
    assert table_counts(f"sqlite:///{target}")[0] == 10


def test_json_output(tmp_path):
    result = ilp("synth", "--out", str(tmp_path / "s.csv"), "--json")
    assert result.exit_code == 0
    payload = json.loads(result.stdout)
    assert payload["synthetic"] is True
    assert payload["n_patients"] == 208 and payload["n_perfusions"] == 231
    assert set(payload["figures"]) >= {"orr", "lr", "limb_salvage", "os_5y"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "say where to write"),
        (("--out", "."), "is a folder"),
        (("--out", "no/such/folder/s.csv"), "does not exist"),
    ],
)
def test_clear_errors(tmp_path, args, message):
    result = ilp("synth", *args, cwd=tmp_path)
    assert result.exit_code == 1
    assert message in flat(result.output) and "Traceback" not in result.output


def test_an_existing_file_is_kept_unless_replace(tmp_path):
    path = tmp_path / "synthetic.csv"
    path.write_text("precious\n")
    result = ilp("synth", "--out", str(path))
    assert result.exit_code == 1 and "already exists" in flat(result.output)
    assert path.read_text() == "precious\n"
    assert ilp("synth", "--out", str(path), "--replace").exit_code == 0
    assert path.read_text().startswith("patient_id,")


def test_a_file_name_without_synthetic_gets_a_tip(tmp_path):
    result = ilp("synth", "--out", str(tmp_path / "registry.csv"))
    assert result.exit_code == 0
    assert "put 'synthetic' in the file name" in flat(result.output)


def test_big_run_shows_progress_and_finishes(tmp_path):
    result = ilp("synth", "--patients", "25000", "--db", str(tmp_path / "big.sqlite3"))
    assert result.exit_code == 0, result.output
    assert "25,000 patients" in flat(result.output)


@pytest.mark.parametrize("route", ["auto", "core"])
def test_every_bulk_route_stores_what_the_import_stores(db_url, route, tmp_path):
    from ilpkit.adapters.db import bulk
    from ilpkit.synthetic import generate_cohort
    from ilpkit.synthetic.registry_text import write_cohort_csv

    cohort = generate_cohort(120, seed=21)
    calls: list[tuple[int, int]] = []
    with UnitOfWork(db_url) as uow:
        bulk.bulk_insert_registry(
            uow.connection,
            dict(cohort.patients),
            dict(cohort.perfusions),
            cohort.perfusion_patient,
            progress=lambda done, total: calls.append((done, total)),
            route=route,
        )
        uow.commit()
    total = cohort.n_patients + cohort.n_perfusions
    assert calls[-1] == (total, total)
    csv_path = write_csv_of(cohort, tmp_path, write_cohort_csv)
    imported = f"sqlite:///{tmp_path / 'imported.sqlite3'}"
    assert ilp("import", str(csv_path), "--db", imported).exit_code == 0
    assert stored(db_url) == stored(imported)


def write_csv_of(cohort, folder: Path, writer) -> Path:
    path = folder / "synthetic.csv"
    writer(cohort, path)
    return path
