"""A dry run (``ilp validate --db``, ``ilp import --dry-run``) reads the registry and writes
nothing: the same problems, warnings and summary as the import, without the write lock, without
using id sequence numbers, and without a write transaction on a SQLite file. Every test that
touches storage runs on a real SQLite file and a real PostgreSQL database."""

from __future__ import annotations

import csv
import os
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from ilpkit.domain.errors import RegistryValidationError
from ilpkit.services import registry_import
from ilpkit.services.registry_export import export_registry
from ilpkit.services.registry_import import import_registry
from ilpkit.services.unit_of_work import UnitOfWork

TODAY = date(2026, 11, 27)


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch):
    """Two rows a chunk, so that later chunks must see what earlier ones would have written."""
    monkeypatch.setattr(registry_import, "CHUNK_ROWS", 2)


def run(path: Path, url: str, dry_run: bool, **kw):
    """The report, or the problems raised, as plain data."""
    try:
        report = import_registry(path, url, TODAY, "tester", dry_run=dry_run, **kw)
    except RegistryValidationError as exc:
        return {"problems": [p.to_dict() for p in exc.problems]}
    out = report.to_dict()
    assert out.pop("written") is (not dry_run)
    return out


def dry_then_real(path: Path, url: str, **kw) -> tuple[dict, dict]:
    """The dry run's result, then the import's (run after it, on the same registry)."""
    return run(path, url, True, **kw), run(path, url, False, **kw)


def base_rows(row_factory) -> list[dict[str, str]]:
    return [
        row_factory(),
        row_factory(ilp_date="2003-01-10", resection_date="2003-03-01"),
        row_factory(
            patient_id="SYN-0002",
            sex="M",
            birth_date="1961-01-02",
            limb="arm",
            perfusion_level="brachial",
            limb_volume_l="2.5",
            melphalan_mg="32.5",
            tnf_mg="2",
            response="CR",
        ),
    ]


def rows_of(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_new_patients_and_a_probable_duplicate(db_url, row_factory, csv_file):
    import_registry(csv_file(base_rows(row_factory)), db_url, TODAY, "tester")
    rows = [
        row_factory(patient_id="SYN-0010"),
        row_factory(patient_id="SYN-0011", sex="M"),
        row_factory(patient_id="SYN-0010", ilp_date="2001-03-30"),  # 16 days: a warning
        row_factory(patient_id="SYN-0001", ilp_date="2003-01-20", resection_date="2003-03-10"),
        row_factory(patient_id="SYN-0012"),
    ]
    dry, real = dry_then_real(csv_file(rows), db_url)
    assert dry == real
    # the counts as the file says (3 new patients, 5 new perfusions, 2 warnings)
    assert (dry["patients_created"], dry["perfusions_created"]) == (3, 5)
    assert len(dry["warnings"]) == 2
    assert (dry["patients_not_in_file"], dry["perfusions_not_in_file"]) == (1, 3)


def test_changed_and_cleared_values_across_chunks(db_url, row_factory, csv_file):
    rows = base_rows(row_factory)
    import_registry(csv_file(rows), db_url, TODAY, "tester")
    rows[0]["last_followup_date"] = "2009-01-31"  # a patient value, on rows in two chunks
    rows[1]["last_followup_date"] = "2009-01-31"
    rows[1]["tnf_mg"] = "2.5"
    rows[2]["response"] = ""  # cleared
    rows.append(row_factory(patient_id="SYN-0002", ilp_date="2004-02-02", sex="M",
                            birth_date="1961-01-02", limb="arm", perfusion_level="brachial",
                            limb_volume_l="2.5", melphalan_mg="32.5", tnf_mg="2",
                            resection_date="2004-03-01"))  # fmt: skip
    dry, real = dry_then_real(csv_file(rows), db_url)
    assert dry == real
    assert (dry["patients_updated"], dry["perfusions_updated"], dry["perfusions_created"]) == (
        1,
        2,
        1,
    )
    assert dry["values_cleared"] == 1
    changes = {(c["key"], c["column"], c["old"], c["new"]) for c in dry["changes"]}
    assert changes == {
        ("SYN-0001", "last_followup_date", "2008-06-30", "2009-01-31"),
        ("SYN-0001 2003-01-10", "tnf_mg", "3", "2.5"),
        ("SYN-0002 2001-03-14", "response", "CR", ""),
    }


def test_a_perfusion_moved_by_its_id_frees_its_date_for_a_later_chunk(
    db_url, row_factory, csv_file, tmp_path
):
    import_registry(csv_file(base_rows(row_factory)), db_url, TODAY, "tester")
    exported = tmp_path / "export.csv"
    export_registry(db_url, exported, "tester")
    rows = rows_of(exported)
    moved = next(r for r in rows if r["patient_id"] == "SYN-0001" and r["ilp_date"] == "2001-03-14")
    moved["ilp_date"] = "2001-02-01"
    others = [r for r in rows if r is not moved]
    # the moved row first, then (another chunk) a row without id on the old date: a new one
    again = dict(moved, perfusion_id="", ilp_date="2001-03-14")
    columns = list(rows[0])
    dry, real = dry_then_real(csv_file([moved, *others, again], columns), db_url)
    assert dry == real
    assert (dry["perfusions_updated"], dry["perfusions_created"]) == (1, 1)


def test_problems_are_the_same(db_url, row_factory, csv_file):
    rows = base_rows(row_factory)
    import_registry(csv_file(rows), db_url, TODAY, "tester")
    # a death date before the stored perfusion of 2003 that the file does not mention
    file_rows = [
        rows[0] | {"death_date": "2002-01-01", "last_followup_date": "2002-01-01"},
        row_factory(patient_id="syn-0002"),  # a case variant of a stored patient
        row_factory(patient_id="SYN-0020"),
        row_factory(
            patient_id="SYN-0020", sex="M", ilp_date="2002-02-02", resection_date="2002-03-01"
        ),
    ]
    dry, real = dry_then_real(csv_file(file_rows), db_url)
    assert dry == real
    fields = sorted((p["line"], p["field"]) for p in dry["problems"])
    assert fields == [
        (2, "last_followup_date"),
        (2, "resection_date"),
        (3, "patient_id"),
        (5, "sex"),
    ]


def test_case_variants_allowed_across_chunks(db_url, row_factory, csv_file):
    import_registry(csv_file(base_rows(row_factory)), db_url, TODAY, "tester")
    rows = [
        row_factory(patient_id="SYN-0030"),
        row_factory(patient_id="SYN-0031"),
        row_factory(patient_id="syn-0030", ilp_date="2002-02-02", resection_date="2002-03-01"),
        row_factory(patient_id="syn-0001", ilp_date="2002-02-02", resection_date="2002-03-01"),
    ]
    dry, real = dry_then_real(csv_file(rows), db_url, allow_case_variants=True)
    assert dry == real
    assert len(dry["warnings"]) == 2


def test_restricted_to_centres(db_url, row_factory, csv_file):
    rows = base_rows(row_factory)
    rows.append(row_factory(patient_id="OTHER-1", center="ELSE"))
    import_registry(csv_file(rows), db_url, TODAY, "tester")
    file_rows = [
        row_factory(patient_id="SYN-0040"),
        row_factory(patient_id="other-1"),  # another centre's patient, in another spelling
        row_factory(patient_id="SYN-0041"),
    ]
    dry, real = dry_then_real(csv_file(file_rows), db_url, centers={"SYNTH"})
    assert dry == real
    assert [p["field"] for p in dry["problems"]] == ["patient_id"]
    ok, real_ok = dry_then_real(csv_file([file_rows[0], file_rows[2]]), db_url, centers={"SYNTH"})
    assert ok == real_ok
    assert (ok["patients_not_in_file"], ok["perfusions_not_in_file"]) == (2, 3)


# --- nothing is written, no lock is taken -----------------------------------------------------


def sequences(url: str) -> list[int]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        out = [
            conn.execute(sa.text(f"SELECT last_value FROM {t}_id_seq")).scalar_one()
            for t in ("patients", "perfusions")
        ]
    engine.dispose()
    return out


@pytest.mark.postgres
def test_postgresql_sequences_do_not_move(postgres_url, row_factory, csv_file):
    import_registry(csv_file(base_rows(row_factory)), postgres_url, TODAY, "tester")
    before = sequences(postgres_url)
    assert before == [2, 3]
    path = csv_file([row_factory(patient_id=f"SYN-1{i:03d}") for i in range(5)])
    report = import_registry(path, postgres_url, TODAY, "tester", dry_run=True)
    assert (report.patients_created, report.perfusions_created) == (5, 5)
    assert sequences(postgres_url) == before


def test_dry_run_while_another_writer_holds_the_lock(db_url, row_factory, csv_file, monkeypatch):
    """A dry run only reads: it neither waits for nor takes the write lock."""
    import_registry(csv_file(base_rows(row_factory)), db_url, TODAY, "tester")
    monkeypatch.setenv("ILP_LOCK_TIMEOUT_S", "0.5")
    path = csv_file([row_factory(patient_id="SYN-0050")])
    with UnitOfWork(db_url):  # a writer holds the lock throughout
        report = import_registry(path, db_url, TODAY, "tester", dry_run=True)
    assert report.patients_created == 1


def test_sqlite_file_is_left_untouched(sqlite_url, row_factory, csv_file, monkeypatch):
    import_registry(csv_file(base_rows(row_factory)), sqlite_url, TODAY, "tester")
    rows = base_rows(row_factory)
    rows[0]["tnf_mg"] = "2.5"
    rows.append(row_factory(patient_id="SYN-0060"))
    path = csv_file(rows)
    db = Path(sa.make_url(sqlite_url).database or "")
    stat = db.stat()
    listing = sorted(os.listdir(db.parent))
    seen: list[bool] = []
    original = UnitOfWork.__init__

    def spy(self, url, migrate=None, *, write=True, require_registry=True):
        seen.append(write)
        original(self, url, migrate, write=write, require_registry=require_registry)

    monkeypatch.setattr(UnitOfWork, "__init__", spy)
    report = import_registry(path, sqlite_url, TODAY, "tester", dry_run=True)
    assert (report.perfusions_updated, report.patients_created) == (1, 1)
    assert seen == [False]  # one unit of work, reading (the file opened with mode=ro)
    after = db.stat()
    assert (after.st_mtime_ns, after.st_size) == (stat.st_mtime_ns, stat.st_size)
    assert sorted(os.listdir(db.parent)) == listing  # no -journal or -wal file left
