"""``ilp import-redcap``: a hand-made REDCap project into SQLite and PostgreSQL, and each
rejection with its REDCap record id, instrument, instance, field, value and reason."""

from __future__ import annotations

import json
from datetime import date

import pytest
import sqlalchemy as sa
from tests.integration.redcap.conftest import MAPPING, ilp, patient_row, perfusion_row

from ilpkit.adapters.db import registry_repository as repo
from ilpkit.adapters.db.engine import make_engine
from ilpkit.domain.validation import record_values
from ilpkit.services.redcap_import import RedcapImportError, import_redcap
from ilpkit.services.unit_of_work import UnitOfWork

TODAY = date(2026, 11, 27)


def run(project, url, records=None, mapping=MAPPING, dry_run=False, fields=None):
    dictionary, data, path = project(records, mapping, fields)
    return import_redcap(dictionary, data, path, url, TODAY, "tester", dry_run=dry_run)


def problems(project, url, records=None, mapping=MAPPING, fields=None):
    with pytest.raises(RedcapImportError) as info:
        run(project, url, records, mapping, fields=fields)
    return info.value.problems


def stored(url: str) -> list[dict[str, object]]:
    with UnitOfWork(url) as uow:
        return [record_values(r) for r in repo.iter_records(uow.connection)]


def counts(url: str) -> tuple[int, int, int]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            insp = sa.inspect(conn)
            if not insp.has_table("patients"):
                return 0, 0, 0
            return tuple(  # type: ignore[return-value]
                conn.execute(sa.text(f"SELECT COUNT(*) FROM {t}")).scalar_one()
                for t in ("patients", "perfusions", "audit_log")
            )
    finally:
        engine.dispose()


def test_values_are_mapped_and_dates_converted_by_validation_type(project, db_url):
    records = [
        patient_row("101"),
        perfusion_row("101", "1"),
        perfusion_row("101", "2", ilp_dt="2003-02-01", resp="1", side="2", histo="99"),
        patient_row("102", gender="2", dob="01-12-1961", dod="2005-07-09", lfu="07-09-2005"),
        perfusion_row("102", "1", ilp_dt="2002-05-06", side="1", level="4", vol="3",
                      tnf="1", mel="39", multi="1", prior_rt="1", pres="2", resp="4"),
    ]  # fmt: skip
    report = run(project, db_url, records)
    assert (report.records, report.perfusions) == (2, 3)
    rows = stored(db_url)
    by_key = {(r["patient_id"], r["ilp_date"]): r for r in rows}
    first = by_key[("101", date(2001, 3, 14))]
    assert first["center"] == "CA"  # [values]
    assert first["sex"].value == "M"  # type: ignore[attr-defined]
    assert first["birth_date"] == date(1950, 3, 17)  # 17-03-1950, date_dmy
    assert first["last_followup_date"] == date(2008, 6, 30)  # 06-30-2008, date_mdy
    assert first["death_date"] is None
    assert first["limb"].value == "leg" and first["perfusion_level"].value == "femoral"  # type: ignore[attr-defined]
    assert (first["limb_volume_l"], first["tnf_mg"], first["melphalan_mg"]) == (8.0, 3.0, 80.0)
    assert first["response"].value == "NC"  # type: ignore[attr-defined]  # 3 = SD, stored NC
    assert first["multifocal"] is False and first["prior_radiotherapy"] is False
    assert by_key[("101", date(2003, 2, 1))]["histology"].value == "other"  # type: ignore[attr-defined]
    second = by_key[("102", date(2002, 5, 6))]
    assert second["sex"].value == "F"  # type: ignore[attr-defined]
    assert second["birth_date"] == date(1961, 12, 1)
    assert second["death_date"] == date(2005, 7, 9)  # date_ymd
    assert second["limb"].value == "arm" and second["perfusion_level"].value == "axillary"  # type: ignore[attr-defined]
    assert second["multifocal"] is True and second["prior_radiotherapy"] is True
    assert second["presentation"].value == "recurrent"  # type: ignore[attr-defined]


def test_unknown_choice_code_in_the_records_is_refused(project, db_url):
    found = problems(project, db_url, [patient_row("101"), perfusion_row("101", "1", side="7")])
    assert len(found) == 1
    p = found[0]
    assert (p.record_id, p.instrument, p.instance, p.field, p.value) == (
        "101",
        "ilp",
        "1",
        "side",
        "7",
    )
    assert "unknown choice code" in p.reason and "1, 2" in p.reason
    assert counts(db_url)[:2] == (0, 0)


def test_dictionary_code_without_registry_value_is_refused(project, db_url):
    mapping = MAPPING.replace('"99" = "other"\n', "")
    records = [patient_row("101"), perfusion_row("101", "1", histo="99")]
    found = problems(project, db_url, records, mapping)
    assert [(p.record_id, p.instance, p.field, p.value) for p in found] == [
        ("101", "1", "histo", "99")
    ]
    assert "'99' ('Other') has no registry value in [choices.histology]" in found[0].reason


def test_mapping_code_the_dictionary_does_not_define_is_refused(project, db_url):
    mapping = MAPPING.replace('"2" = "leg"', '"2" = "leg"\n"3" = "leg"')
    found = problems(project, db_url, mapping=mapping)
    assert [(p.field, p.value) for p in found] == [("side", "3")]
    assert "unknown choice code '3' in [choices.limb]" in found[0].reason


def test_mapped_field_absent_from_the_dictionary_is_refused(project, db_url):
    found = problems(project, db_url, mapping=MAPPING.replace('"ilp_dt"', '"ilp_datum"'))
    assert [(p.field, p.registry_field) for p in found] == [("ilp_datum", "ilp_date")]
    assert "not a field of the data dictionary" in found[0].reason


def test_required_registry_field_without_mapping_is_refused(project, db_url):
    found = problems(project, db_url, mapping=MAPPING.replace('tnf_mg = "tnf"\n', ""))
    assert [p.field for p in found] == ["tnf_mg"]
    assert "required registry field has no mapping" in found[0].reason


def test_unknown_registry_field_and_checkbox_are_refused(project, db_url):
    mapping = MAPPING.replace("[fields]\n", '[fields]\nlimb_colour = "side"\ngrade = "meds"\n')
    found = problems(project, db_url, mapping=mapping)
    reasons = {p.field: p.reason for p in found}
    assert "is not a registry field" in reasons["limb_colour"]
    assert "is a checkbox field" in reasons["meds"]


def test_repeat_instance_without_its_parent_record_is_refused(project, db_url):
    records = [patient_row("101"), perfusion_row("101", "1"), perfusion_row("102", "1")]
    found = problems(project, db_url, records)
    assert [(p.record_id, p.instrument, p.instance, p.line) for p in found] == [
        ("102", "ilp", "1", 4)
    ]
    assert "repeat instance without its parent record" in found[0].reason
    assert counts(db_url)[:2] == (0, 0)


def test_record_without_perfusion_is_refused(project, db_url):
    found = problems(project, db_url, [patient_row("101"), perfusion_row("101", "1"),
                                       patient_row("103")])  # fmt: skip
    assert [(p.record_id, p.instrument) for p in found] == [("103", "ilp")]
    assert "has no perfusion" in found[0].reason


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        # date_ymd in the dictionary, written day-month-year (REDCap's date_dmy)
        ("dod", "09-07-2005", "year last"),
        ("ilp_dt", "14/03/2001", "year last"),
        # date_dmy in the dictionary, written year-month-day
        ("dob", "1950-03-17", "is written year-month-day (2004-03-17), but day-month-year"),
        # date_mdy in the dictionary, written day-month-year: 30 is no month
        ("lfu", "30-06-2008", "it would be one read day-month-year"),
        ("ilp_dt", "2001-02-30", "not a real calendar date"),
        ("ilp_dt", "14 March 2001", "is not a date written year-month-day"),
    ],
)
def test_dates_in_another_format_are_refused(project, db_url, field, value, reason):
    patient = patient_row("101", **({field: value} if field in ("dod", "dob", "lfu") else {}))
    perfusion = perfusion_row("101", "1", **({field: value} if field == "ilp_dt" else {}))
    if field == "dod":
        patient["lfu"] = "07-09-2005"
    found = problems(project, db_url, [patient, perfusion])
    assert [(p.record_id, p.field, p.value) for p in found] == [("101", field, value)]
    assert reason in found[0].reason
    instrument = "ilp" if field == "ilp_dt" else "baseline"
    assert found[0].instrument == instrument


def test_date_format_ymd_refuses_the_display_order_of_date_dmy(project, db_url):
    mapping = MAPPING.replace('date_format = "validation"', 'date_format = "YMD"')
    found = problems(project, db_url, mapping=mapping)
    # every date of the default records is YYYY-MM-DD except dob (D-M-Y) and lfu (M-D-Y)
    assert sorted(p.field for p in found) == ["dob", "lfu"]


def test_registry_validation_problems_are_told_in_redcap_terms(project, db_url):
    records = [patient_row("101"), perfusion_row("101", "1"), perfusion_row("101", "2", tnf="9",
               ilp_dt="2003-01-01")]  # fmt: skip
    found = problems(project, db_url, records)
    errors = [p for p in found if p.is_error]
    assert [(p.record_id, p.instrument, p.instance, p.field, p.registry_field, p.value)
            for p in errors] == [("101", "ilp", "2", "tnf", "tnf_mg", "9")]  # fmt: skip
    assert "0 to 4 mg" in errors[0].reason
    assert errors[0].line == 4
    assert counts(db_url)[:2] == (0, 0)


def test_registry_problems_show_the_value_as_redcap_holds_it(project, db_url):
    # born 1 January 1850 (D-M-Y): before 1900; arm (1) perfused at femoral level (2)
    records = [patient_row("101", dob="01-01-1850"), perfusion_row("101", "1", side="1")]
    found = {p.field: p for p in problems(project, db_url, records) if p.is_error}
    assert found["dob"].value == "01-01-1850"
    assert "(registry value '1850-01-01')" in found["dob"].reason
    assert (found["level"].instance, found["level"].value) == ("1", "2")
    assert "(registry value 'femoral')" in found["level"].reason


def test_patient_level_problem_names_the_patient_instrument(project, db_url):
    records = [patient_row("101", dob="01-01-1850"), perfusion_row("101", "1")]
    found = [p for p in problems(project, db_url, records) if p.is_error]
    assert found and all(p.record_id == "101" for p in found)
    assert ("baseline", "", "dob") in {(p.instrument, p.instance, p.field) for p in found}


def test_dry_run_writes_nothing(project, db_url):
    run(project, db_url)  # one patient stored, then a dry run of a second one
    before = counts(db_url)
    records = [patient_row("105"), perfusion_row("105", "1", ilp_dt="2004-04-04")]
    report = run(project, db_url, records, dry_run=True)
    assert report.registry.written is False and report.registry.patients_created == 1
    assert counts(db_url) == before


def test_dry_run_without_a_registry_creates_no_file(project, tmp_path):
    dictionary, data, mapping = project()
    target = tmp_path / "new.sqlite3"
    result = ilp(
        "import-redcap", "--dictionary", str(dictionary), "--records", str(data),
        "--mapping", str(mapping), "--dry-run", "--db", f"sqlite:///{target}",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Nothing was saved" in result.stdout
    assert not target.exists()


def test_cli_lists_every_problem_as_json_and_in_a_file(project, tmp_path):
    records = [patient_row("101"), perfusion_row("101", "1", side="7"), perfusion_row("102", "1")]
    dictionary, data, mapping = project(records)
    target = tmp_path / "reg.sqlite3"
    problems_file = tmp_path / "problems.csv"
    result = ilp(
        "import-redcap", "--dictionary", str(dictionary), "--records", str(data),
        "--mapping", str(mapping), "--db", f"sqlite:///{target}", "--json",
        "--problems", str(problems_file),
    )  # fmt: skip
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert payload["ok"] is False
    found = payload["problems"]
    assert {(p["record_id"], p["instrument"], p["instance"], p["field"]) for p in found} == {
        ("101", "ilp", "1", "side"),
        ("102", "ilp", "1", ""),
    }  # fmt: skip
    assert "nothing was saved" in result.stderr
    text = problems_file.read_text(encoding="utf-8")
    assert text.startswith("record_id,instrument,instance,field,registry_field,value,reason")
    assert "repeat instance without its parent record" in text
    assert not target.exists()


def test_unreadable_mapping_is_a_clear_error(project, tmp_path):
    dictionary, data, mapping = project(mapping="[project\n")
    result = ilp(
        "import-redcap", "--dictionary", str(dictionary), "--records", str(data),
        "--mapping", str(mapping), "--db", f"sqlite:///{tmp_path / 'r.sqlite3'}",
    )  # fmt: skip
    assert result.exit_code == 1
    assert "is not valid TOML" in result.stderr and "Traceback" not in result.output


def _longitudinal(data_path, gender_second_event: str) -> None:
    """Rewrite the records as a longitudinal project: record 101 has a row in each of two
    events, and its perfusion instance in the second event."""
    columns = ["study_id", "redcap_event_name", "redcap_repeat_instrument",
               "redcap_repeat_instance", "gender", "dob", "dod", "lfu", "ilp_dt", "side", "level",
               "vol", "tnf", "mel", "histo", "multi", "pres", "prior_rt", "resp"]  # fmt: skip
    first = patient_row("101", redcap_event_name="baseline_arm_1")
    second = {"study_id": "101", "redcap_event_name": "ilp_arm_1",
              "gender": gender_second_event}  # fmt: skip
    perfusion = perfusion_row("101", "1", redcap_event_name="ilp_arm_1")
    with data_path.open("w", encoding="utf-8", newline="") as out:
        import csv

        writer = csv.writer(out)
        writer.writerow(columns)
        for r in (first, second, perfusion):
            writer.writerow([r.get(c, "") for c in columns])


def test_longitudinal_events_are_read_and_conflicts_refused(project, db_url):
    dictionary, data, mapping = project()
    _longitudinal(data, "")
    report = import_redcap(dictionary, data, mapping, db_url, TODAY, "tester")
    assert (report.records, report.perfusions) == (1, 1)
    assert stored(db_url)[0]["sex"].value == "M"  # type: ignore[attr-defined]
    _longitudinal(data, "2")
    with pytest.raises(RedcapImportError) as info:
        import_redcap(dictionary, data, mapping, db_url, TODAY, "tester")
    found = info.value.problems
    assert [(p.record_id, p.field) for p in found] == [("101", "gender")]
    assert "different values on the rows of this record" in found[0].reason


def test_importing_the_same_project_again_changes_nothing(project, db_url):
    records = [patient_row("101"), perfusion_row("101", "1"),
               perfusion_row("101", "2", ilp_dt="2003-02-01")]  # fmt: skip
    run(project, db_url, records)
    again = run(project, db_url, records)
    assert again.registry.perfusions_created == 0
    assert again.registry.perfusions_unchanged == 2
    assert counts(db_url)[:2] == (1, 2)


def test_hostile_values_are_shown_literally(project, tmp_path):
    value = "[bold red]7[/bold red]\x1b[2J"
    records = [patient_row("101"), perfusion_row("101", "1", side=value)]
    dictionary, data, mapping = project(records)
    result = ilp(
        "import-redcap", "--dictionary", str(dictionary), "--records", str(data),
        "--mapping", str(mapping), "--db", f"sqlite:///{tmp_path / 'r.sqlite3'}",
    )  # fmt: skip
    assert result.exit_code == 1
    rows = [line.split("│") for line in result.stderr.splitlines() if "│" in line]
    shown = "".join(cells[5].strip() for cells in rows)  # the value column, folded
    assert shown.replace(" ", "") == "[boldred]7[/boldred]"  # markup shown as written
    assert "\x1b" not in result.stderr


def test_project_without_repeating_instrument_has_one_perfusion_per_record(project, db_url):
    from tests.integration.redcap.conftest import FIELDS

    flat_fields = [(f[0], "baseline", *f[2:]) for f in FIELDS]
    mapping = MAPPING.replace('perfusion_instrument = "ilp"', 'perfusion_instrument = ""')
    one = {**patient_row("201"), **perfusion_row("201", "")}
    one["redcap_repeat_instrument"] = ""
    two = {**patient_row("202", gender="2"), **perfusion_row("202", "", ilp_dt="2004-04-04")}
    two["redcap_repeat_instrument"] = ""
    report = run(project, db_url, [one, two], mapping, fields=flat_fields)
    assert (report.records, report.perfusions) == (2, 2)
    got = {(r["patient_id"], r["ilp_date"]) for r in stored(db_url)}
    assert got == {("201", date(2001, 3, 14)), ("202", date(2004, 4, 4))}


def test_fields_on_the_wrong_instrument_are_refused(project, db_url):
    mapping = MAPPING.replace('tnf_mg = "tnf"', 'tnf_mg = "dob"').replace(
        'sex = "gender"', 'sex = "side"'
    )
    found = problems(project, db_url, mapping=mapping)
    reasons = {p.field: p.reason for p in found}
    assert set(reasons) == {"dob", "side"}
    assert "tnf_mg is a perfusion field" in reasons["dob"] and "'baseline'" in reasons["dob"]
    assert "sex is a patient field" in reasons["side"]


def test_records_file_without_records_is_refused(project, db_url):
    found = problems(project, db_url, [])
    assert [p.reason for p in found] == ["the records file holds no record; nothing to import"]


def test_centre_from_the_data_access_group(project, db_url):
    import csv

    mapping = (
        MAPPING.replace('[values]\ncenter = "CA"\n', "").replace(
            "[fields]\n", '[fields]\ncenter = "redcap_data_access_group"\n'
        )
        + '\n[choices.center]\n"amsterdam_umc" = "AMS"\n'
    )
    dictionary, data, path = project(mapping=mapping)
    rows = [{**patient_row("101"), "redcap_data_access_group": "amsterdam_umc"},
            {**perfusion_row("101", "1"), "redcap_data_access_group": "amsterdam_umc"},
            {**patient_row("102"), "redcap_data_access_group": "rotterdam"},
            {**perfusion_row("102", "1"), "redcap_data_access_group": "rotterdam"}]  # fmt: skip
    columns = ["study_id", "redcap_repeat_instrument", "redcap_repeat_instance",
               "redcap_data_access_group", "gender", "dob", "dod", "lfu", "ilp_dt", "side",
               "level", "vol", "tnf", "mel", "histo", "multi", "pres", "prior_rt",
               "resp"]  # fmt: skip
    with data.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(columns)
        for r in rows:
            writer.writerow([r.get(c, "") for c in columns])
    with pytest.raises(RedcapImportError) as info:  # a group without a centre code
        import_redcap(dictionary, data, path, db_url, TODAY, "tester")
    assert [(p.record_id, p.field, p.value, p.registry_field) for p in info.value.problems] == [
        ("102", "redcap_data_access_group", "rotterdam", "center")
    ]
    assert "has no registry value in [choices.center]" in info.value.problems[0].reason
    path.write_text(mapping + '"rotterdam" = "RTM"\n', encoding="utf-8")
    import_redcap(dictionary, data, path, db_url, TODAY, "tester")
    centres = {r["patient_id"]: r["center"] for r in stored(db_url)}
    assert centres == {"101": "AMS", "102": "RTM"}


def test_the_import_is_audited_under_the_records_file_name(project, db_url):
    run(project, db_url)
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            keys = conn.execute(
                sa.text("SELECT entity_key FROM audit_log WHERE entity = 'import'")
            ).scalars()
            assert list(keys) == ["redcap-records.csv"]
    finally:
        engine.dispose()
