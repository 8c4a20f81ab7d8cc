"""Leakage readings CSV: good files parse; bad lines are reported with their line numbers."""

from __future__ import annotations

import pytest

from ilpkit.planning.errors import LeakageInputError
from ilpkit.planning.readings import Reading, parse_readings_csv


def test_good_file():
    text = "\ufeffminute,counts_per_s\n0,125\n\n5,131.5\n10,140\n"
    assert parse_readings_csv(text) == (
        Reading(2, 0.0, 125.0),
        Reading(4, 5.0, 131.5),
        Reading(5, 10.0, 140.0),
    )


def test_columns_in_any_order_and_extra_columns_ignored():
    text = "Counts_Per_S, minute ,note\n125,0,start\n131,5,\n"
    assert [(r.minute, r.counts_per_s) for r in parse_readings_csv(text)] == [
        (0.0, 125.0),
        (5.0, 131.0),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "the readings file is empty"),
        ("\n\n", "the readings file is empty"),
        (
            "minute,counts\n0,1\n",
            "line 1: the header 'minute,counts' lacks the column(s) counts_per_s",
        ),
        ("minute,counts_per_s\n", "has a header (line 1) but no readings"),
        (
            "minute,counts_per_s\n0,abc\n",
            "line 2, column 'counts_per_s', value 'abc': not a number",
        ),
        (
            "minute,counts_per_s\n0,-5\n",
            "line 2, column 'counts_per_s', value '-5': must be a number of at least 0",
        ),
        ("minute,counts_per_s\n-1,5\n", "line 2, column 'minute', value '-1': must be a number"),
        (
            "minute,counts_per_s\n0,5\n0,6\n",
            "line 3, column 'minute', value '0': must be later "
            "than the previous reading (minute 0 on line 2)",
        ),
        (
            "minute,counts_per_s\n0,5\n1,6,7\n",
            "line 3: expected 2 values (minute,counts_per_s), found 3",
        ),
        ("minute,counts_per_s\n0,5\n1\n", "line 3: expected 2 values"),
        (
            "minute,counts_per_s\n0,nan\n",
            "line 2, column 'counts_per_s', value 'nan': not a number",
        ),
    ],
)
def test_bad_files_are_refused_with_line_numbers(text, expected):
    with pytest.raises(LeakageInputError) as info:
        parse_readings_csv(text)
    assert expected in str(info.value)


def test_every_bad_line_is_reported():
    text = "minute,counts_per_s\n0,125\n5,abc\n4,140\n7,-3\n8,1,2\n"
    with pytest.raises(LeakageInputError) as info:
        parse_readings_csv(text)
    problems = info.value.problems
    assert [p.split(",")[0].split(":")[0] for p in problems] == [
        "line 3",
        "line 4",
        "line 5",
        "line 6",
    ]
    # line 3 has a valid minute (5): line 4's minute 4 is out of order
    assert "minute 5 on line 3" in problems[1]
    assert str(info.value).startswith("4 problems:")


def test_long_lists_are_shortened():
    text = "minute,counts_per_s\n" + "".join(f"{i},x\n" for i in range(30))
    with pytest.raises(LeakageInputError) as info:
        parse_readings_csv(text)
    assert len(info.value.problems) == 30
    assert "... and 10 more" in str(info.value)


# --- files saved in the wrong form, hostile cells ------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "minute,counts_per_s\n٢,150\n",
            "line 2, column 'minute', value '٢': uses the digit '٢' (ARABIC-INDIC DIGIT TWO); "
            "write numbers with the digits 0-9",
        ),
        (
            "minute,counts_per_s\n0,１５０\n",
            "line 2, column 'counts_per_s', value '１５０': uses the digit '１' "
            "(FULLWIDTH DIGIT ONE)",
        ),
        ("minute,counts_per_s\n0,१५०\n", "uses the digit '१' (DEVANAGARI DIGIT ONE)"),
        ("minute,counts_per_s\n0,1_50\n", "value '1_50': not a number"),
        ("minute,counts_per_s\n0,inf\n", "value 'inf': not a number"),
        ('minute,counts_per_s\n0,"150,5"\n', "value '150,5': uses a comma; write decimals"),
        (
            "minute,counts_per_s,minute\n0,150,1\n",
            "line 1: the header names the column(s) minute more than once",
        ),
        (
            "Minute, counts_per_s ,notes,notes\n0,150,a,b\n",
            "line 1: the header names the column(s) notes more than once",
        ),
        ("minute;counts_per_s\n0;150\n", "line 1: this file is separated by semicolons"),
        (
            "minute,counts_per_s\n0,1" + "5" * 140_000 + "\n",
            "line 2: a cell is longer than 128 KiB",
        ),
        ("minute,counts_per_s\n0,150\n5,1\x0060\n", "line 3: the file contains a NUL byte"),
        ('minute,counts_per_s\n0,150\n5,"160\n', "line 3: the CSV structure is broken"),
    ],
)
def test_hostile_files_get_clear_messages(text, expected):
    with pytest.raises(LeakageInputError) as info:
        parse_readings_csv(text)
    assert expected in str(info.value)


def test_a_long_header_is_shortened_in_the_message():
    header = ",".join(f"c{i}" for i in range(100_000))
    with pytest.raises(LeakageInputError) as info:
        parse_readings_csv(f"{header}\n")
    message = str(info.value)
    assert "(100,000 columns)" in message and len(message) < 500


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("minute,counts_per_s\n0,150\n".encode("utf-16"), "the file is UTF-16 text"),
        ("minute,counts_per_s\n0,150\n".encode("utf-32"), "the file is UTF-32 text"),
        (b"minute,counts_per_s\n0,150\n5,\xe9\n", "line 3: the file is not UTF-8 text (byte 0xE9"),
        (bytes(range(256)), "line 2: the file is not UTF-8 text (byte 0x80"),
    ],
)
def test_bytes_that_are_not_utf8_text(data, expected):
    from ilpkit.planning.readings import parse_readings_bytes

    with pytest.raises(LeakageInputError) as info:
        parse_readings_bytes(data)
    assert expected in str(info.value)


def test_utf8_bytes_with_bom_parse():
    from ilpkit.planning.readings import parse_readings_bytes

    rows = parse_readings_bytes("\ufeffminute,counts_per_s\n0,150\n".encode())
    assert [(r.minute, r.counts_per_s) for r in rows] == [(0.0, 150.0)]
