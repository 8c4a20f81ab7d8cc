"""Reading hostile Registry CSV v1 files: each gets a clear, located error."""

from __future__ import annotations

import io

import pytest

from ilpkit.adapters.csv.registry_csv import (
    neutralise,
    parse_registry_csv,
    unneutralise,
    write_registry_csv,
)
from ilpkit.domain.errors import RegistryValidationError

HEADER = (
    "patient_id,center,sex,birth_date,death_date,last_followup_date,ilp_date,limb,"
    "perfusion_level,limb_volume_l,tnf_mg,melphalan_mg,histology,grade,tumor_size_cm,multifocal,"
    "presentation,prior_radiotherapy"
)
ROW = (
    "SYN-1,SYNTH,F,1950-05-17,,2008-06-30,2001-03-14,leg,femoral,8,3,80,liposarcoma,2,12,no,"
    "primary,no"
)


def problems_of(data: bytes) -> list[str]:
    with pytest.raises(RegistryValidationError) as info:
        parse_registry_csv(data)
    return [p.describe() for p in info.value.problems]


def test_reads_rows_with_line_numbers():
    rows = parse_registry_csv(f"{HEADER}\n{ROW}\n\n{ROW}\n".encode())
    assert [r.line for r in rows] == [2, 4]  # the blank line 3 is skipped
    assert rows[0].cells["tnf_mg"] == "3"


def test_utf8_bom_is_accepted():
    rows = parse_registry_csv(("\ufeff" + f"{HEADER}\n{ROW}\n").encode("utf-8"))
    assert rows[0].cells["patient_id"] == "SYN-1"


def test_empty_file():
    assert problems_of(b"") == [
        "the file is empty: expected a header row with the Registry CSV v1 column names "
        "(see docs/data-dictionary.md)"
    ]
    assert "empty" in problems_of(b"  \n\n")[0]


def test_header_only():
    assert "no data rows" in problems_of(f"{HEADER}\n".encode())[0]


def test_latin1_file_names_the_line():
    data = f"{HEADER}\n{ROW}\n".encode() + "SYN-2,Rotterdam-é".encode("latin-1") + b"\n"
    found = problems_of(data)
    assert found[0].startswith("line 3: the file is not UTF-8 text (byte 0xE9")


def test_utf16_file():
    assert "UTF-16" in problems_of(f"{HEADER}\n{ROW}\n".encode("utf-16"))[0]


def test_missing_unknown_and_duplicated_columns():
    header = HEADER.replace("sex,", "").replace("tnf_mg", "tnf") + ",grade"
    found = problems_of(f"{header}\n{ROW}\n".encode())
    assert "line 1, column 'tnf', value 'tnf': is not a Registry CSV v1 column" in found[0]
    assert "did you mean 'tnf_mg'?" in found[0]
    assert "line 1, column 'grade', value 'grade': this column appears more than once" in found
    assert "line 1, column 'sex': this required column is missing" in found
    assert "line 1, column 'tnf_mg': this required column is missing" in found


def test_ragged_rows_are_all_listed():
    data = f"{HEADER}\n{ROW}\n{ROW},extra\n{ROW[:-3]}\n".encode()
    assert problems_of(data) == [
        "line 3: this row has 19 cells but the header has 18 columns (a missing or extra comma, "
        "or an unclosed quote)",
        "line 4: this row has 17 cells but the header has 18 columns (a missing or extra comma, "
        "or an unclosed quote)",
    ]


def test_quoted_newline_keeps_its_starting_line():
    row = ROW.replace("SYN-1", '"SYN\n1"')
    rows = parse_registry_csv(f"{HEADER}\n{row}\n{ROW}\n".encode())
    assert [r.line for r in rows] == [2, 4]
    assert rows[0].cells["patient_id"] == "SYN\n1"


def test_nul_byte():
    assert "NUL byte" in problems_of(f"{HEADER}\n{ROW}\x00\n".encode())[0]


def test_megabyte_cell_is_read_then_rejected_by_the_domain():
    big = "A" * 1_048_576
    rows = parse_registry_csv(f"{HEADER}\n{ROW.replace('SYN-1', big)}\n".encode())
    assert len(rows[0].cells["patient_id"]) == 1_048_576


def test_unclosed_quote():
    found = problems_of(f'{HEADER}\n"{ROW}\n'.encode())
    assert found and found[0].startswith("line 2")


@pytest.mark.parametrize("cell", ["=1+1", "+1", "-A1", "@SUM(A1)", "\tx"])
def test_formula_cells_are_neutralised_and_restored(cell):
    assert neutralise(cell) == "'" + cell
    assert unneutralise(neutralise(cell)) == cell


def test_plain_cells_untouched():
    assert neutralise("SYN-1") == "SYN-1"
    assert unneutralise("'quoted") == "'quoted"


def test_writer_neutralises():
    out = io.StringIO()
    write_registry_csv([{"patient_id": "-A1", "center": "X"}], out)
    assert out.getvalue().splitlines()[1].startswith("'-A1,X,")


# --- files saved in the wrong form ---------------------------------------------------------------


@pytest.mark.parametrize("codec", ["utf-32", "utf-32-le", "utf-32-be"])
def test_utf32_file_is_named_utf32(codec):
    data = f"{HEADER}\n{ROW}\n".encode(codec)
    if codec != "utf-32":  # the -le/-be codecs write no byte-order mark: add it as Excel does
        data = "\ufeff".encode(codec) + data
    (message,) = problems_of(data)
    assert "UTF-32 text" in message and "UTF-16" not in message


def test_utf16_file_is_still_named_utf16():
    (message,) = problems_of(f"{HEADER}\n{ROW}\n".encode("utf-16"))
    assert "UTF-16 text" in message


def test_semicolon_separated_file_is_recognised():
    data = f"{HEADER.replace(',', ';')}\n{ROW.replace(',', ';')}\n".encode()
    (message,) = problems_of(data)
    assert message.startswith("line 1:")
    assert "separated by semicolons" in message and "comma delimited" in message


def test_million_column_header_is_refused_at_once(monkeypatch):
    import time

    from ilpkit.adapters.csv import registry_csv

    calls = []
    closest = registry_csv._closest
    monkeypatch.setattr(registry_csv, "_closest", lambda name: calls.append(name) or closest(name))
    header = ",".join(f"column_{i}" for i in range(1_000_000))
    started = time.perf_counter()
    (message,) = problems_of(f"{header}\n".encode())
    elapsed = time.perf_counter() - started
    # 29 columns of the original format + 6 optional outcome-study columns
    assert "the header has 1,000,000 columns" in message and "Registry CSV v1 has 35" in message
    assert calls == []  # no per-column fuzzy search
    assert elapsed < 10  # about 0.3 s; the fuzzy search of every name took minutes


def test_unknown_column_suggestions_are_bounded(monkeypatch):
    from ilpkit.adapters.csv import registry_csv

    calls = []
    closest = registry_csv._closest
    monkeypatch.setattr(registry_csv, "_closest", lambda name: calls.append(name) or closest(name))
    unknown = [f"extra_{i}" for i in range(500)] + ["x" * 10_000]
    problems = problems_of(f"{HEADER},tnf_mgg,{','.join(unknown)}\n{ROW}\n".encode())
    assert len(calls) == registry_csv.MAX_NAMES_SUGGESTED
    assert "x" * 10_000 not in calls  # a long name is never searched
    assert any("did you mean 'tnf_mg'" in p for p in problems)
    assert sum("is not a Registry CSV v1 column" in p for p in problems) == 502
