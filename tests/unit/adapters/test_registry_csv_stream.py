"""Reading a Registry CSV v1 file row by row: same rules as reading it whole."""

from __future__ import annotations

import pytest

from ilpkit.adapters.csv.registry_csv import open_registry_csv, read_registry_csv
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


def test_rows_are_read_one_at_a_time(tmp_path):
    path = tmp_path / "big.csv"
    path.write_text(HEADER + "\n" + (ROW + "\n") * 20_000, encoding="utf-8")
    with open_registry_csv(path) as reader:
        rows = iter(reader)
        first = next(rows)
        assert first.line == 2 and first.cells["tnf_mg"] == "3"
        assert reader.bytes_read < path.stat().st_size / 2  # the rest is not read yet
        assert sum(1 for _ in rows) == 19_999
    assert reader.n_lines == 20_001
    assert reader.problems == []


def test_latin1_byte_late_in_the_file_is_found_before_header_problems(tmp_path):
    path = tmp_path / "latin1.csv"
    text = "patient_id,centre\n" + "SYN-1,X\n" * 50 + "SYN-2,Sé\n"
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(RegistryValidationError) as info:
        open_registry_csv(path)
    (problem,) = info.value.problems
    assert problem.line == 52 and "not UTF-8" in problem.reason


def test_ragged_rows_are_collected_after_the_last_row(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text(f"{HEADER}\n{ROW}\n{ROW},x\n{ROW}\n", encoding="utf-8")
    with open_registry_csv(path) as reader:
        assert [r.line for r in reader] == [2, 4]
    assert [p.line for p in reader.problems] == [3]
    with pytest.raises(RegistryValidationError):
        read_registry_csv(path)


def test_lone_carriage_returns_end_lines(tmp_path):
    path = tmp_path / "mac.csv"
    path.write_bytes(f"{HEADER}\r{ROW}\r{ROW}\r".encode())
    assert [r.line for r in read_registry_csv(path)] == [2, 3]
