"""``ilp export-redcap``: the files REDCap's tools take, the round trip through
``redcap-mapping`` and ``import-redcap``, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path

import sqlalchemy as sa
from tests.integration.redcap.conftest import HEADER, ilp

from ilpkit.adapters.db import bulk
from ilpkit.adapters.db.engine import make_engine
from ilpkit.services.registry_import import import_registry
from ilpkit.services.unit_of_work import UnitOfWork

TODAY = date(2026, 11, 27)


def read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def audit_actions(url: str) -> list[tuple[str, str]]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return [
                (a, d)
                for a, d in conn.execute(
                    sa.text("SELECT action, details FROM audit_log ORDER BY id")
                )
            ]
    finally:
        engine.dispose()


def small_registry(url: str, csv_file, row_factory) -> None:
    rows = [
        row_factory(),  # SYN-0001 leg femoral, liposarcoma grade 2, PR, 12.5 cm
        row_factory(ilp_date="2003-02-01", response="CR", resection_date="", resection_margin=""),
        row_factory(
            patient_id="-SYN-2",
            sex="M",
            birth_date="1940-01-02",
            death_date="2006-05-05",
            last_followup_date="2006-05-05",
            ilp_date="2002-06-07",
            limb="arm",
            perfusion_level="axillary",
            limb_volume_l="3.25",
            tnf_mg="1",
            melphalan_mg="39",
            histology="other",
            grade="",
            multifocal="yes",
            response="SD",
            tumor_size_cm="",
            resection_date="",
            resection_margin="",
            max_leakage_pct="0.05",
        ),
    ]
    import_registry(csv_file(rows), url, TODAY, "tester")


def test_dictionary_and_records_are_what_redcap_takes(db_url, csv_file, row_factory, tmp_path):
    small_registry(db_url, csv_file, row_factory)
    out = tmp_path / "redcap"
    result = ilp("export-redcap", str(out), "--db", db_url)
    assert result.exit_code == 0, result.output
    with (out / "data_dictionary.csv").open(encoding="utf-8", newline="") as handle:
        assert next(csv.reader(handle)) == HEADER  # REDCap's header, in REDCap's order
    fields = {r["Variable / Field Name"]: r for r in read(out / "data_dictionary.csv")}
    first = next(iter(fields))
    assert first == "record_id" and fields[first]["Form Name"] == "patient"
    assert {r["Form Name"] for r in fields.values()} == {"patient", "follow_up", "perfusion"}
    assert fields["last_followup_date"]["Form Name"] == "follow_up"
    assert fields["ilp_date"]["Form Name"] == "perfusion"
    assert fields["perfusion_id"]["Form Name"] == "perfusion"
    t = "Text Validation Type OR Show Slider Number"
    assert (fields["birth_date"]["Field Type"], fields["birth_date"][t]) == ("text", "date_ymd")
    assert fields["birth_date"]["Text Validation Min"] == "1900-01-01"
    # TNF 0-4 mg (SmPC), written from the registry's own limits
    assert (fields["tnf_mg"][t], fields["tnf_mg"]["Text Validation Min"],
            fields["tnf_mg"]["Text Validation Max"]) == ("number", "0", "4")  # fmt: skip
    assert fields["wieberdink_grade"][t] == "integer"
    assert fields["multifocal"]["Field Type"] == "yesno"
    choices = "Choices, Calculations, OR Slider Labels"
    assert fields["sex"]["Field Type"] == "radio"
    assert fields["sex"][choices] == "1, M: male | 2, F: female"
    assert fields["response"][choices].startswith("1, CR: complete response | 2, PR")
    assert fields["histology"]["Field Type"] == "dropdown"
    assert "checkbox" not in {r["Field Type"] for r in fields.values()}
    assert fields["tnf_mg"]["Required Field?"] == "y"
    assert fields["tumor_size_cm"]["Required Field?"] == ""

    records = read(out / "records.csv")
    with (out / "records.csv").open(encoding="utf-8", newline="") as handle:
        columns = next(csv.reader(handle))
    assert columns[:3] == ["record_id", "redcap_repeat_instrument", "redcap_repeat_instance"]
    data_fields = [n for n, r in fields.items() if r["Field Type"] != "descriptive"]
    assert sorted(columns[3:]) == sorted(data_fields[1:])
    # sorted by patient id: "-SYN-2" before "SYN-0001"
    keys = [(r["record_id"], r["redcap_repeat_instrument"], r["redcap_repeat_instance"])
            for r in records]  # fmt: skip
    assert keys == [
        ("-SYN-2", "", ""),
        ("-SYN-2", "perfusion", "1"),
        ("SYN-0001", "", ""),
        ("SYN-0001", "perfusion", "1"),
        ("SYN-0001", "perfusion", "2"),
    ]
    patient, perfusion = records[0], records[1]
    assert patient["sex"] == "1" and patient["birth_date"] == "1940-01-02"  # M = code 1
    assert patient["ilp_date"] == "" and perfusion["sex"] == ""
    assert perfusion["limb"] == "1" and perfusion["perfusion_level"] == "4"  # arm, axillary
    assert perfusion["multifocal"] == "1" and perfusion["prior_radiotherapy"] == "0"
    assert perfusion["response"] == "3"  # SD is stored as NC, code 3
    assert perfusion["limb_volume_l"] == "3.25" and perfusion["max_leakage_pct"] == "0.05"
    assert perfusion["grade"] == "" and perfusion["tumor_size_cm"] == ""
    assert len(perfusion["perfusion_id"]) == 32
    # an id starting with '-' is written as it is: an apostrophe would become part of it
    assert records[0]["record_id"] == "-SYN-2"
    assert "start with '-'" in " ".join(result.stdout.split())

    actions = audit_actions(db_url)
    action, details = actions[-1]
    details = json.loads(details) if isinstance(details, str) else details
    assert action == "export" and details["format"] == "redcap"
    assert (details["patients"], details["perfusions"], details["rows"]) == (2, 3, 5)


def test_existing_files_are_kept_without_replace(db_url, csv_file, row_factory, tmp_path):
    small_registry(db_url, csv_file, row_factory)
    out = tmp_path / "redcap"
    out.mkdir()
    (out / "records.csv").write_text("keep me", encoding="utf-8")
    n_audit = len(audit_actions(db_url))
    result = ilp("export-redcap", str(out), "--db", db_url)
    assert result.exit_code == 1
    assert "already exists" in result.stderr and "--replace" in result.stderr
    assert (out / "records.csv").read_text(encoding="utf-8") == "keep me"
    assert not (out / "data_dictionary.csv").exists()
    assert len(audit_actions(db_url)) == n_audit
    result = ilp("export-redcap", str(out), "--db", db_url, "--replace")
    assert result.exit_code == 0, result.output
    assert (out / "records.csv").read_text(encoding="utf-8").startswith("record_id,")
    assert sorted(p.name for p in out.iterdir()) == ["data_dictionary.csv", "records.csv"]


def test_round_trip_gives_the_identical_registry(db_url, tmp_path):
    """export-redcap -> redcap-mapping -> import-redcap into an empty registry: the Registry
    CSV export of both registries is byte for byte the same, perfusion ids included."""
    result = ilp("synth", "--patients", "400", "--seed", "11", "--db", db_url)
    assert result.exit_code == 0, result.output
    before = tmp_path / "before.csv"
    assert ilp("export", str(before), "--db", db_url).exit_code == 0
    out = tmp_path / "redcap"
    assert ilp("export-redcap", str(out), "--db", db_url).exit_code == 0
    mapping = tmp_path / "mapping.toml"
    result = ilp(
        "redcap-mapping", "--dictionary", str(out / "data_dictionary.csv"), "--out", str(mapping)
    )
    assert result.exit_code == 0, result.output
    assert "0 not matched" in " ".join(result.stdout.split())
    with UnitOfWork(db_url, write=True) as uow:  # empty the registry (the audit log stays)
        bulk.delete_registry_rows(uow.connection)
        uow.commit()
    args = ["--dictionary", str(out / "data_dictionary.csv"), "--records",
            str(out / "records.csv"), "--mapping", str(mapping), "--db", db_url]  # fmt: skip
    result = ilp("import-redcap", *args)
    assert result.exit_code == 0, result.output
    after = tmp_path / "after.csv"
    assert ilp("export", str(after), "--db", db_url).exit_code == 0
    text = before.read_text(encoding="utf-8")
    assert text.count("\n") > 400
    assert after.read_text(encoding="utf-8") == text
    # the mapping refuses to be overwritten
    result = ilp(
        "redcap-mapping", "--dictionary", str(out / "data_dictionary.csv"), "--out", str(mapping)
    )
    assert result.exit_code == 1 and "already exists" in result.stderr


def test_empty_registry_is_refused(db_url, tmp_path):
    assert ilp("init", "--db", db_url).exit_code == 0
    result = ilp("export-redcap", str(tmp_path / "out"), "--db", db_url)
    assert result.exit_code == 1 and "no perfusions" in result.stderr
    assert not (tmp_path / "out").exists()
