"""REDCap file formats: coded choices, dates by validation type, the dictionary reader, the
records reader and the hand-written TOML of the mapping file."""

from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ilpkit.adapters.redcap.dictionary import (
    RedcapFileError,
    format_choices,
    parse_choices,
    parse_date,
    read_dictionary,
)
from ilpkit.adapters.redcap.mapping_file import (
    Entry,
    MappingFileError,
    RedcapMapping,
    read_mapping,
    render_mapping,
    toml_key,
    toml_string,
)
from ilpkit.adapters.redcap.records import open_records


def test_choices_are_split_at_the_first_comma():
    assert parse_choices("1, Yes | 2, No") == (("1", "Yes"), ("2", "No"))
    assert parse_choices("0, Zero|1, One, or more") == (("0", "Zero"), ("1", "One, or more"))
    assert format_choices([("1", "Yes"), ("2", "No")]) == "1, Yes | 2, No"


@pytest.mark.parametrize("text", ["1 Yes | 2, No", "1, Yes | 1, Again", " , empty code"])
def test_malformed_choices_are_refused(text):
    with pytest.raises(ValueError):
        parse_choices(text)


@pytest.mark.parametrize(
    ("text", "order", "expected"),
    [
        ("2004-03-17", "YMD", date(2004, 3, 17)),
        ("17-03-2004", "DMY", date(2004, 3, 17)),
        ("03-17-2004", "MDY", date(2004, 3, 17)),
        ("17/3/2004", "DMY", date(2004, 3, 17)),
        ("2004/03/17", "YMD", date(2004, 3, 17)),
        ("01-02-2004", "DMY", date(2004, 2, 1)),
        ("01-02-2004", "MDY", date(2004, 1, 2)),
    ],
)
def test_dates_are_read_in_the_declared_order(text, order, expected):
    assert parse_date(text, order) == expected


@pytest.mark.parametrize(
    ("text", "order", "reason"),
    [
        ("17-03-2004", "YMD", "year last"),
        ("2004-03-17", "DMY", "written year-month-day"),
        ("17-03-2004", "MDY", "it would be one read day-month-year"),
        ("2004-02-30", "YMD", "not a real calendar date"),
        ("17.03.2004", "DMY", "is not a date"),
        ("2004-3", "YMD", "is not a date"),
        ("٢٠٠٤-03-17", "YMD", "is not a date"),
    ],
)
def test_dates_in_another_order_are_refused(text, order, reason):
    with pytest.raises(ValueError, match=reason):
        parse_date(text, order)


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_dictionary_is_read_with_designer_or_api_column_names(tmp_path):
    designer = _write(
        tmp_path / "d.csv",
        '\ufeff"Variable / Field Name","Form Name","Section Header","Field Type","Field Label",'
        '"Choices, Calculations, OR Slider Labels","Field Note",'
        '"Text Validation Type OR Show Slider Number"\n'
        'record_id,form_1,,text,"Record ID",,,\n'
        'sex,form_1,,radio,Sex,"1, Male | 2, Female",,\n'
        "dob,form_1,,text,Born,,,date_dmy\n"
        "ok,form_1,,yesno,OK?,,,\n",
    )
    fields = read_dictionary(designer)
    assert [f.name for f in fields] == ["record_id", "sex", "dob", "ok"]
    assert fields[1].codes == {"1": "Male", "2": "Female"}
    assert fields[2].date_order == "DMY"
    assert fields[3].codes == {"1": "Yes", "0": "No"}
    api = _write(
        tmp_path / "m.csv",
        "field_name,form_name,section_header,field_type,field_label,"
        "select_choices_or_calculations,field_note,text_validation_type_or_show_slider_number\n"
        'record_id,f,,text,ID,,,\nsex,f,,dropdown,Sex,"1, M | 2, F",,\n',
    )
    assert read_dictionary(api)[1].codes == {"1": "M", "2": "F"}


def test_broken_dictionaries_are_refused_with_every_problem(tmp_path):
    with pytest.raises(RedcapFileError, match="not a REDCap data dictionary"):
        read_dictionary(_write(tmp_path / "x.csv", "name,form\na,b\n"))
    header = ",".join(
        f'"{c}"'
        for c in (
            "Variable / Field Name", "Form Name", "Section Header", "Field Type", "Field Label",
            "Choices, Calculations, OR Slider Labels", "Field Note",
            "Text Validation Type OR Show Slider Number",
        )
    )  # fmt: skip
    bad = _write(tmp_path / "y.csv", header + '\na,f,,radio,A,"1 One",,\na,f,,text,A,,,\n')
    with pytest.raises(RedcapFileError) as info:
        read_dictionary(bad)
    assert [line for line, _ in info.value.problems] == [2, 3]
    with pytest.raises(RedcapFileError, match="no such file"):
        read_dictionary(tmp_path / "missing.csv")


def test_records_keep_the_wanted_columns_and_the_repeat_columns(tmp_path):
    path = _write(
        tmp_path / "r.csv",
        "study_id,redcap_event_name,redcap_repeat_instrument,redcap_repeat_instance,a,b\n"
        "1,visit_1_arm_1,,,x,y\n"
        "1,visit_1_arm_1,ilp,2,,z\n",
    )
    records = open_records(path, {"b"})
    rows = list(records.rows)
    assert records.columns[0] == "study_id"
    assert [(r.line, r.record_id, r.event, r.instrument, r.instance, r.cells) for r in rows] == [
        (2, "1", "visit_1_arm_1", "", "", {"b": "y"}),
        (3, "1", "visit_1_arm_1", "ilp", "2", {"b": "z"}),
    ]
    ragged = _write(tmp_path / "s.csv", "id,a\n1,2\n3\n")
    with pytest.raises(RedcapFileError, match="line 3"):
        list(open_records(ragged, {"a"}).rows)


@given(st.text())
def test_toml_strings_read_back_as_written(text):
    assert tomllib.loads(f"{toml_key(text or 'k')} = {toml_string(text)}") == {(text or "k"): text}


def test_written_mapping_reads_back(tmp_path):
    text = render_mapping(
        ["a comment\nwith a line break and \x00 a NUL"],
        RedcapMapping("record_id", "ilp", "DMY"),
        [Entry("sex", 'gen"der', "note\nbreak"), Entry("grade", None, "not matched")],
        {"sex": [Entry("1", "M"), Entry("x y", "F"), Entry("9", None, "unknown")]},
    )
    path = _write(tmp_path / "m.toml", text)
    mapping = read_mapping(path)
    assert mapping == RedcapMapping(
        "record_id", "ilp", "DMY", {"sex": 'gen"der'}, {}, {"sex": {"1": "M", "x y": "F"}}
    )


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("[project\n", "is not valid TOML"),
        ('[project]\nrecord_id = "id"\ndate_format = "Y-M-D"\n', "is not one of"),
        ("[project]\nrecord_id = 1\n", "must be text in quotes"),
        ('[project]\nrecord_id = "id"\n[extra]\n', "unknown table [extra]"),
        ("[fields]\n", "record_id (the REDCap record id field) is missing"),
    ],
)
def test_bad_mapping_files_are_refused(tmp_path, text, reason):
    with pytest.raises(MappingFileError) as info:
        read_mapping(_write(tmp_path / "m.toml", text))
    assert reason in str(info.value)
