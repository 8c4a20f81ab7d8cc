"""Re-imports never lose or duplicate data: absent columns, perfusion ids, case variants,
nothing deleted. Every test runs on a real SQLite file and a real PostgreSQL database."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from ilpkit.domain.errors import RegistryValidationError
from ilpkit.services.registry_export import export_registry
from ilpkit.services.registry_import import import_registry

TODAY = date(2026, 11, 27)

REQUIRED = [
    "patient_id",
    "center",
    "sex",
    "birth_date",
    "last_followup_date",
    "ilp_date",
    "limb",
    "perfusion_level",
    "limb_volume_l",
    "tnf_mg",
    "melphalan_mg",
    "histology",
    "multifocal",
    "presentation",
    "prior_radiotherapy",
]
"""The required columns of Registry CSV v1 as the format defines them."""


def do_import(path: Path, url: str, dry_run: bool = False, **kw):
    return import_registry(path, url, TODAY, "tester", dry_run=dry_run, **kw)


def table_rows(url: str, table: str) -> list[tuple]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(sa.text(f"SELECT * FROM {table} ORDER BY id"))]
    engine.dispose()
    return rows


def registry_rows(url: str) -> dict[str, list[tuple]]:
    return {t: table_rows(url, t) for t in ("patients", "perfusions")}


def query(url: str, sql: str) -> list[tuple]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(sa.text(sql))]
    engine.dispose()
    return rows


def two_patients(row_factory):
    return [
        row_factory(),
        row_factory(
            patient_id="SYN-0002",
            sex="M",
            birth_date="1961-01-02",
            death_date="2004-04-04",
            last_followup_date="2004-04-04",
            limb="arm",
            perfusion_level="brachial",
            limb_volume_l="2.5",
            melphalan_mg="32.5",
            tnf_mg="2",
            histology="leiomyosarcoma",
            response="CR",
            local_recurrence_date="2003-03-03",
        ),
    ]


# --- a column absent from the file leaves stored values untouched ---------------------------


def test_reimport_with_only_required_columns_changes_nothing(db_url, row_factory, csv_file):
    rows = two_patients(row_factory)
    do_import(csv_file(rows), db_url)
    before = registry_rows(db_url)
    report = do_import(csv_file(rows, REQUIRED), db_url)
    assert registry_rows(db_url) == before
    assert (report.perfusions_unchanged, report.perfusions_updated, report.changes) == (2, 0, [])
    assert "death_date" in report.absent_columns
    assert "response" in report.absent_columns
    # the stored values are still there, read with plain SQL
    death = query(db_url, "SELECT death_date FROM patients WHERE patient_id = 'SYN-0002'")
    assert str(death[0][0]) == "2004-04-04"  # SQLite returns text, PostgreSQL a date
    assert sorted(query(db_url, "SELECT response FROM perfusions")) == [("CR",), ("PR",)]


def test_required_only_file_updates_present_columns_and_keeps_the_rest(
    db_url, row_factory, csv_file
):
    rows = two_patients(row_factory)
    do_import(csv_file(rows), db_url)
    rows[0]["tnf_mg"] = "2.5"
    rows[0]["response"] = ""  # not in the file below: must not clear anything
    report = do_import(csv_file(rows, REQUIRED), db_url)
    changes = [(c.key, c.column, c.old, c.new) for c in report.changes]
    assert changes == [("SYN-0001 2001-03-14", "tnf_mg", "3", "2.5")]
    got = query(
        db_url,
        "SELECT f.tnf_mg, f.response, f.resection_margin, f.max_leakage_pct FROM perfusions f "
        "JOIN patients p ON p.id = f.patient_pk WHERE p.patient_id = 'SYN-0001'",
    )
    assert got == [(2.5, "PR", "R0", 0.8)]


def test_present_empty_cell_clears_and_is_listed_before_writing(db_url, row_factory, csv_file):
    rows = two_patients(row_factory)
    do_import(csv_file(rows), db_url)
    before = registry_rows(db_url)
    rows[1]["response"] = ""
    path = csv_file(rows)
    preview = do_import(path, db_url, dry_run=True)
    assert registry_rows(db_url) == before
    cleared = [(c.key, c.column, c.old) for c in preview.changes if c.cleared]
    assert cleared == [("SYN-0002 2001-03-14", "response", "CR")]
    assert preview.values_cleared == 1
    report = do_import(path, db_url)
    assert report.values_cleared == 1 and report.written
    assert sorted(query(db_url, "SELECT response FROM perfusions"), key=str) == [
        ("PR",),
        (None,),
    ]


def test_absent_column_values_take_part_in_the_rules(db_url, row_factory, csv_file):
    rows = two_patients(row_factory)
    do_import(csv_file(rows), db_url)
    before = registry_rows(db_url)
    # SYN-0002 died on 2004-04-04 (stored); a new follow-up date without the death_date column
    # would contradict the stored date of death
    rows[1]["last_followup_date"] = "2005-01-01"
    with pytest.raises(RegistryValidationError) as info:
        do_import(csv_file(rows, REQUIRED), db_url)
    reasons = " ".join(p.reason for p in info.value.problems)
    assert "must equal the date of last follow-up" in reasons
    assert "absent from the file" in reasons
    assert registry_rows(db_url) == before


# --- perfusion_id: a corrected date updates, never adds ------------------------------------


def export_rows(url: str, path: Path) -> list[dict[str, str]]:
    export_registry(url, path, "tester")
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def write_rows(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_export_carries_a_stable_perfusion_id(db_url, row_factory, csv_file, tmp_path):
    do_import(csv_file(two_patients(row_factory)), db_url)
    first = export_rows(db_url, tmp_path / "a.csv")
    second = export_rows(db_url, tmp_path / "b.csv")
    ids = [r["perfusion_id"] for r in first]
    assert len(set(ids)) == 2 and all(ids)
    assert [r["perfusion_id"] for r in second] == ids


def test_corrected_date_with_perfusion_id_updates_the_perfusion(
    db_url, row_factory, csv_file, tmp_path
):
    do_import(csv_file(two_patients(row_factory)), db_url)
    rows = export_rows(db_url, tmp_path / "export.csv")
    pid_of_first = rows[0]["perfusion_id"]
    assert rows[0]["ilp_date"] == "2001-03-14"
    rows[0]["ilp_date"] = "2001-03-15"  # typo corrected
    report = do_import(write_rows(tmp_path / "fixed.csv", rows), db_url)
    assert (report.perfusions_created, report.perfusions_updated) == (0, 1)
    assert [(c.column, c.old, c.new) for c in report.changes] == [
        ("ilp_date", "2001-03-14", "2001-03-15")
    ]
    got = query(db_url, "SELECT perfusion_id, ilp_date FROM perfusions ORDER BY id")
    assert len(got) == 2
    assert got[0][0] == pid_of_first and str(got[0][1]) == "2001-03-15"


def test_unknown_perfusion_id_is_a_clear_error(db_url, row_factory, csv_file, tmp_path):
    do_import(csv_file(two_patients(row_factory)), db_url)
    rows = export_rows(db_url, tmp_path / "export.csv")
    before = registry_rows(db_url)
    rows[0]["perfusion_id"] = "0123456789abcdef0123456789abcdef"
    with pytest.raises(RegistryValidationError) as info:
        do_import(write_rows(tmp_path / "bad.csv", rows), db_url)
    problem = info.value.problems[0]
    assert (problem.line, problem.field) == (2, "perfusion_id")
    assert "not the perfusion_id of any stored perfusion" in problem.reason
    assert registry_rows(db_url) == before


def test_perfusion_id_of_another_patient_is_refused(db_url, row_factory, csv_file, tmp_path):
    do_import(csv_file(two_patients(row_factory)), db_url)
    rows = export_rows(db_url, tmp_path / "export.csv")
    rows[0]["perfusion_id"], rows[1]["perfusion_id"] = rows[1]["perfusion_id"], ""
    with pytest.raises(RegistryValidationError) as info:
        do_import(write_rows(tmp_path / "bad.csv", rows), db_url)
    assert "is the perfusion of patient SYN-0002" in info.value.problems[0].reason


def test_new_perfusion_within_30_days_is_a_probable_duplicate(db_url, row_factory, csv_file):
    do_import(csv_file([row_factory()]), db_url)  # 2001-03-14
    near = row_factory(ilp_date="2001-04-13", resection_date="", resection_margin="")  # 30 days
    far = row_factory(ilp_date="2001-04-14", resection_date="", resection_margin="")  # 31 days
    report = do_import(csv_file([near]), db_url)
    assert report.perfusions_created == 1
    dup = [w for w in report.warnings if "probable duplicate" in w.reason]
    assert len(dup) == 1 and "30 days apart" in dup[0].reason and dup[0].field == "ilp_date"
    report = do_import(csv_file([far]), db_url)
    # 2001-04-14 is 31 days after 2001-03-14 but 1 day after 2001-04-13
    dup = [w for w in report.warnings if "probable duplicate" in w.reason]
    assert len(dup) == 1 and "on 2001-04-13 (1 day apart)" in dup[0].reason
    assert len(query(db_url, "SELECT id FROM perfusions")) == 3


def test_thirty_one_days_apart_is_not_flagged(db_url, row_factory, csv_file):
    do_import(csv_file([row_factory()]), db_url)
    far = row_factory(ilp_date="2001-04-14", resection_date="", resection_margin="")
    report = do_import(csv_file([far]), db_url)
    assert not [w for w in report.warnings if "probable duplicate" in w.reason]


# --- patient ids that differ only in case ---------------------------------------------------


def test_case_variants_in_one_file_are_refused(db_url, row_factory, csv_file):
    rows = [row_factory(), row_factory(patient_id="syn-0001", ilp_date="2001-03-15")]
    with pytest.raises(RegistryValidationError) as info:
        do_import(csv_file(rows), db_url)
    p = info.value.problems[0]
    assert (p.line, p.field, p.value) == (3, "patient_id", "syn-0001")
    assert "differs only in upper/lower case from patient SYN-0001 (line 2)" in p.reason
    assert "--allow-case-variants" in p.reason


def test_case_variant_of_a_stored_patient_is_refused(db_url, row_factory, csv_file):
    do_import(csv_file([row_factory()]), db_url)
    before = registry_rows(db_url)
    with pytest.raises(RegistryValidationError) as info:
        do_import(csv_file([row_factory(patient_id="Syn-0001", ilp_date="2001-03-15")]), db_url)
    assert "stored patient SYN-0001" in info.value.problems[0].reason
    assert registry_rows(db_url) == before


def test_case_variants_allowed_on_request_with_a_warning(db_url, row_factory, csv_file):
    do_import(csv_file([row_factory()]), db_url)
    report = do_import(
        csv_file([row_factory(patient_id="syn-0001", ilp_date="2001-03-15")]),
        db_url,
        allow_case_variants=True,
    )
    assert report.patients_created == 1
    assert any("upper/lower case" in w.reason and not w.is_error for w in report.warnings)
    ids = sorted(r[0] for r in query(db_url, "SELECT patient_id FROM patients"))
    assert ids == ["SYN-0001", "syn-0001"]


# --- nothing is deleted by an import --------------------------------------------------------


def test_records_missing_from_the_file_stay_and_are_counted(db_url, row_factory, csv_file):
    rows = two_patients(row_factory)
    rows.append(row_factory(ilp_date="2003-02-01", resection_date="", resection_margin=""))
    do_import(csv_file(rows), db_url)
    before = registry_rows(db_url)
    report = do_import(csv_file([rows[0]]), db_url)  # only SYN-0001's first perfusion
    assert registry_rows(db_url) == before
    assert (report.patients_not_in_file, report.perfusions_not_in_file) == (1, 2)


# --- what the summary says ------------------------------------------------------------------


def test_cli_summary_names_absent_columns_cleared_values_and_records_not_in_file(
    tmp_path, row_factory, csv_file
):
    from typer.testing import CliRunner

    from ilpkit.cli.main import build_app

    db = str(tmp_path / "r.sqlite3")
    rows = two_patients(row_factory)

    def ilp(*args: str):
        return CliRunner().invoke(build_app(), [*args, "--db", db], catch_exceptions=False)

    assert ilp("import", str(csv_file(rows))).exit_code == 0
    out = " ".join(ilp("import", str(csv_file(rows[:1], REQUIRED))).output.split())
    assert "Not in the file and kept as stored: 1 patients, 1 perfusions" in out
    assert "Columns absent from the file, so their stored values were left as they are" in out
    assert "death_date" in out and "response" in out
    rows[1]["response"] = ""
    result = ilp("validate", str(csv_file(rows)))
    out = " ".join(result.output.split())
    assert result.exit_code == 0
    assert "1 stored values would be cleared" in out and "(cleared)" in out
    assert "Nothing was saved" in out
    result = ilp("import", "--dry-run", str(csv_file(rows)))
    assert "1 stored values would be cleared" in " ".join(result.output.split())
    assert sorted(query(f"sqlite:///{db}", "SELECT response FROM perfusions")) == [("CR",), ("PR",)]


def test_moved_perfusion_frees_its_old_date_for_a_new_row(db_url, row_factory, csv_file, tmp_path):
    do_import(csv_file([row_factory()]), db_url)
    rows = export_rows(db_url, tmp_path / "export.csv")
    moved = dict(rows[0], ilp_date="2001-03-16")  # same perfusion, date corrected
    new = dict(rows[0], perfusion_id="", ilp_date="2001-03-14", tnf_mg="2")  # another one
    report = do_import(write_rows(tmp_path / "both.csv", [moved, new]), db_url)
    assert (report.perfusions_updated, report.perfusions_created) == (1, 1)
    got = query(db_url, "SELECT perfusion_id, ilp_date, tnf_mg FROM perfusions ORDER BY id")
    assert [(str(d), t) for _, d, t in got] == [("2001-03-16", 3.0), ("2001-03-14", 2.0)]
    assert got[0][0] == rows[0]["perfusion_id"]


# --- rows are read, checked and written in chunks: still all or nothing ---------------------


def test_errors_in_several_chunks_are_all_listed_and_nothing_is_written(
    db_url, row_factory, csv_file, monkeypatch
):
    import ilpkit.services.registry_import as service

    monkeypatch.setattr(service, "CHUNK_ROWS", 2)
    do_import(csv_file([row_factory(patient_id="SYN-0100")]), db_url)
    before = registry_rows(db_url)
    rows = [row_factory(patient_id=f"SYN-{i:04d}") for i in range(1, 8)]
    rows[1]["tnf_mg"] = "9"  # line 3, first chunk
    later = {"ilp_date": "2003-02-01", "resection_date": "", "resection_margin": ""}
    rows.append(row_factory(patient_id="SYN-0001", sex="M", **later))  # line 9
    rows.append(row_factory(patient_id="SYN-0004"))  # line 10: same perfusion as line 5
    rows.append(row_factory(patient_id="syn-0006", ilp_date="2001-03-15"))  # line 11
    with pytest.raises(RegistryValidationError) as info:
        do_import(csv_file(rows), db_url)
    found = [(p.line, p.field) for p in info.value.problems if p.is_error]
    assert found == [(3, "tnf_mg"), (9, "sex"), (10, "ilp_date"), (11, "patient_id")]
    by_line = {p.line: p.reason for p in info.value.problems}
    assert "differs from line 2 for patient SYN-0001 ('F')" in by_line[9]
    assert "already has a perfusion on this date (line 5)" in by_line[10]
    assert registry_rows(db_url) == before


def test_chunked_import_equals_the_whole_file(db_url, row_factory, csv_file, monkeypatch):
    import ilpkit.services.registry_import as service

    rows = two_patients(row_factory)
    rows.append(row_factory(ilp_date="2003-02-01", resection_date="", resection_margin=""))
    rows.append(row_factory(patient_id="SYN-0003"))
    monkeypatch.setattr(service, "CHUNK_ROWS", 1)
    report = do_import(csv_file(rows), db_url)
    assert (report.patients_created, report.perfusions_created) == (3, 4)
    again = do_import(csv_file(rows), db_url)
    assert (again.perfusions_unchanged, again.patients_updated, again.changes) == (4, 0, [])


def test_an_empty_registry_keeps_the_perfusion_ids_of_the_file(db_url, row_factory, csv_file):
    row = dict(row_factory(), perfusion_id="P" * 64)
    report = do_import(csv_file([row], [*row_factory().keys(), "perfusion_id"]), db_url)
    assert report.perfusions_created == 1
    assert query(db_url, "SELECT perfusion_id FROM perfusions") == [("P" * 64,)]


def test_failed_first_import_leaves_no_registry_file(tmp_path, row_factory, csv_file):
    """A file with problems imported into a new SQLite registry leaves nothing in the folder."""
    folder = tmp_path / "registry"
    folder.mkdir()
    url = f"sqlite:///{folder / 'new.sqlite3'}"
    bad = csv_file([row_factory(), row_factory(patient_id="SYN-0002", sex="X")])
    with pytest.raises(RegistryValidationError):
        import_registry(bad, url, date(2030, 1, 1), "tester")
    assert list(folder.iterdir()) == []
    good = csv_file([row_factory()])
    import_registry(good, url, date(2030, 1, 1), "tester")
    assert [p.name for p in folder.iterdir()] == ["new.sqlite3"]
