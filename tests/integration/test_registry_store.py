"""Import, re-import, export and round trip on a real SQLite file and a real PostgreSQL server."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from ilpkit.domain.errors import RegistryValidationError
from ilpkit.services.registry_export import export_registry
from ilpkit.services.registry_import import import_registry
from ilpkit.services.registry_summary import summarise_registry

TODAY = date(2026, 11, 27)


def snapshot(url: str) -> dict[str, list[tuple]]:
    """Every row of every registry table, read directly with SQL (independent of ilpkit)."""
    engine = sa.create_engine(url)
    out: dict[str, list[tuple]] = {}
    with engine.connect() as conn:
        for table in ("patients", "perfusions", "audit_log"):
            if sa.inspect(conn).has_table(table):
                rows = conn.execute(sa.text(f"SELECT * FROM {table} ORDER BY id")).all()
                out[table] = [tuple(r) for r in rows]
    engine.dispose()
    return out


def do_import(path: Path, url: str, dry_run: bool = False):
    return import_registry(path, url, TODAY, "tester", dry_run=dry_run)


def three_rows(row_factory):
    return [
        row_factory(),
        row_factory(
            ilp_date="2003-02-01",
            resection_date="",
            resection_margin="",
            local_recurrence_date="2005-07-01",
        ),
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
            response="",
            grade="",
        ),
    ]


def test_import_stores_every_value(db_url, row_factory, csv_file):
    report = do_import(csv_file(three_rows(row_factory)), db_url)
    assert (report.patients_created, report.perfusions_created) == (2, 3)
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        row = conn.execute(
            sa.text(
                "SELECT p.patient_id, p.death_date, f.limb, f.limb_volume_l, f.melphalan_mg, "
                "f.grade, f.response, f.multifocal FROM perfusions f JOIN patients p "
                "ON p.id = f.patient_pk WHERE p.patient_id = 'SYN-0002'"
            )
        ).one()
    engine.dispose()
    assert str(row.death_date) == "2004-04-04"  # SQLite returns text, PostgreSQL a date
    assert (row.limb, row.limb_volume_l, row.melphalan_mg) == ("arm", 2.5, 32.5)
    assert (row.grade, row.response, bool(row.multifocal)) == (None, None, False)


def test_reimport_creates_no_duplicates(db_url, row_factory, csv_file):
    path = csv_file(three_rows(row_factory))
    do_import(path, db_url)
    before = snapshot(db_url)
    report = do_import(path, db_url)
    after = snapshot(db_url)
    assert (report.perfusions_created, report.perfusions_updated) == (0, 0)
    assert report.perfusions_unchanged == 3
    assert after["patients"] == before["patients"]
    assert after["perfusions"] == before["perfusions"]


def test_reimport_with_changes_updates_and_says_so(db_url, row_factory, csv_file):
    rows = three_rows(row_factory)
    do_import(csv_file(rows), db_url)
    rows[0]["tnf_mg"] = "2"
    rows[0]["response"] = "CR"
    rows[2]["last_followup_date"] = rows[2]["death_date"] = "2005-01-01"
    report = do_import(csv_file(rows), db_url)
    assert (report.perfusions_updated, report.patients_updated) == (1, 1)
    changes = {(c.entity, c.key, c.column, c.old, c.new) for c in report.changes}
    assert ("perfusion", "SYN-0001 2001-03-14", "tnf_mg", "3", "2") in changes
    assert ("perfusion", "SYN-0001 2001-03-14", "response", "PR", "CR") in changes
    assert ("patient", "SYN-0002", "death_date", "2004-04-04", "2005-01-01") in changes
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        audit = conn.execute(
            sa.text("SELECT entity, entity_key, details FROM audit_log WHERE entity = 'perfusion'")
        ).all()
        tnf = conn.execute(sa.text("SELECT tnf_mg FROM perfusions ORDER BY id")).scalars().all()
    engine.dispose()
    assert tnf == [2.0, 3.0, 2.0]
    assert len(audit) == 1
    assert audit[0].entity_key == "SYN-0001 2001-03-14"


def test_patient_change_conflicting_with_stored_perfusion_is_refused(db_url, row_factory, csv_file):
    rows = three_rows(row_factory)
    do_import(csv_file(rows), db_url)
    before = snapshot(db_url)
    # re-import only the first perfusion of SYN-0001 with a follow-up date before its second
    # stored perfusion (2003-02-01): the stored record would become inconsistent
    changed = [row_factory(last_followup_date="2002-01-01")]
    with pytest.raises(RegistryValidationError) as info:
        do_import(csv_file(changed), db_url)
    assert "stored perfusion of patient SYN-0001 on 2003-02-01" in info.value.problems[0].reason
    assert snapshot(db_url) == before


def test_export_import_round_trip(db_url, row_factory, csv_file, tmp_path):
    rows = three_rows(row_factory)
    rows.append(
        row_factory(
            patient_id="-A1",
            ilp_date="2004-01-01",
            resection_date="",
            resection_margin="",
            limb_volume_l="7.25",
            melphalan_mg="72.5",
        )
    )
    do_import(csv_file(rows), db_url)
    first = tmp_path / "first.csv"
    second = tmp_path / "second.csv"
    assert export_registry(db_url, first, "tester") == 4
    assert "'-A1" in first.read_text()  # formula-like id neutralised for spreadsheets
    stored = snapshot(db_url)
    report = do_import(first, db_url)
    assert report.perfusions_unchanged == 4
    assert snapshot(db_url)["perfusions"] == stored["perfusions"]
    export_registry(db_url, second, "tester")
    assert second.read_bytes() == first.read_bytes()


def test_round_trip_into_a_new_database(row_factory, csv_file, tmp_path):
    url_a = f"sqlite:///{tmp_path / 'a.sqlite3'}"
    url_b = f"sqlite:///{tmp_path / 'b.sqlite3'}"
    do_import(csv_file(three_rows(row_factory)), url_a)
    export_registry(url_a, tmp_path / "a.csv", "t")
    do_import(tmp_path / "a.csv", url_b)
    export_registry(url_b, tmp_path / "b.csv", "t")
    assert (tmp_path / "a.csv").read_text() == (tmp_path / "b.csv").read_text()


def test_summary(db_url, row_factory, csv_file):
    do_import(csv_file(three_rows(row_factory)), db_url)
    s = summarise_registry(db_url)
    assert (s.n_patients, s.n_perfusions, s.n_centers, s.n_deaths) == (2, 3, 1, 1)
    assert (s.first_ilp_date, s.last_ilp_date) == (date(2001, 3, 14), date(2003, 2, 1))
    # follow-up from first perfusion: SYN-0001 alive 2001-03-14 -> 2008-06-30 = 2665 days;
    # SYN-0002 died 2001-03-14 -> 2004-04-04 = 1117 days. Reverse Kaplan-Meier (death censors
    # follow-up): the only "event" is the end of follow-up at 2665 days, with one at risk, so
    # the curve falls from 1 to 0 there: median 2665 days.
    assert s.median_followup_years == pytest.approx(2665 / 365.25)


HOSTILE = {
    "latin1": lambda header, row: (header + "\n" + row.replace("SYNTH", "Sé")).encode("latin-1"),
    "empty": lambda header, row: b"",
    "missing_column": lambda header, row: (header.replace("tnf_mg,", "") + "\n" + row).encode(),
    "duplicated_column": lambda header, row: (header + ",sex\n" + row + ",F").encode(),
    "ragged": lambda header, row: (header + "\n" + row + "\n" + row + ",x").encode(),
    "newline_in_cell": lambda header, row: (
        header + "\n" + row.replace("SYN-0009", '"SYN\n0009"', 1)
    ).encode(),
    "megabyte_cell": lambda header, row: (
        header + "\n" + row.replace("SYNTH", "C" * 1_048_576)
    ).encode(),
    "formula": lambda header, row: (
        header + "\n" + row.replace("SYN-0009", "=cmd|'/C calc'!A0")
    ).encode(),
    "sql": lambda header, row: (
        header + "\n" + row.replace("SYN-0009", "x'); DROP TABLE patients;--")
    ).encode(),
    "nul": lambda header, row: (header + "\n" + row + "\x00").encode(),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_file_leaves_database_unchanged(case, db_url, row_factory, csv_file, tmp_path):
    do_import(csv_file(three_rows(row_factory)), db_url)
    before = snapshot(db_url)
    good = csv_file([row_factory(patient_id="SYN-0009")])
    header, row = good.read_text().splitlines()
    # the hostile file also carries a valid new row: it must not be half-imported
    valid = row_factory(patient_id="SYN-0010")
    valid_line = ",".join(valid[c] for c in header.split(","))
    hostile = tmp_path / f"{case}.csv"
    hostile.write_bytes(HOSTILE[case](header, valid_line + "\n" + row))
    with pytest.raises(RegistryValidationError) as info:
        do_import(hostile, db_url)
    assert info.value.problems
    for p in info.value.problems:
        assert p.reason and "Traceback" not in p.reason
    assert snapshot(db_url) == before


def test_formula_like_but_valid_id_is_stored_verbatim(db_url, row_factory, csv_file):
    do_import(csv_file([row_factory(patient_id="-1")]), db_url)
    engine = sa.create_engine(db_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT patient_id FROM patients")).scalar_one() == "-1"
    engine.dispose()


def test_dry_run_writes_nothing(db_url, row_factory, csv_file):
    rows = three_rows(row_factory)
    do_import(csv_file(rows[:1]), db_url)
    before = snapshot(db_url)
    report = do_import(csv_file(rows), db_url, dry_run=True)
    assert (report.perfusions_created, report.perfusions_unchanged, report.written) == (2, 1, False)
    assert snapshot(db_url) == before
