"""SPSS, Stata, SAS transport and Parquet exports, read back with pyreadstat and pyarrow
(and with R's haven where R is installed)."""

from __future__ import annotations

import math
import os
import shutil
import subprocess
from datetime import date
from typing import NoReturn

import pyarrow.parquet as pq
import pyreadstat
import pytest

from ilpkit.services.registry_export_formats import export_registry_as

READERS = {"sav": pyreadstat.read_sav, "dta": pyreadstat.read_dta, "xpt": pyreadstat.read_xport}
RESPONSE_LABELS = {  # the order of the WHO categories in the data dictionary: CR, PR, NC, PD, NE
    1: "CR: complete response",
    2: "PR: partial response",
    3: "NC: no change",
    4: "PD: progressive disease",
    5: "NE: not evaluable",
}


def _read(fmt, path):
    frame, meta = READERS[fmt](str(path))
    return frame, meta


@pytest.mark.parametrize("fmt", ["sav", "dta"])
def test_spss_and_stata_labels_codes_and_dates(registry, out_dir, fmt):
    path = out_dir / f"registry.{fmt}"
    report = export_registry_as(registry, path, fmt, "tester")
    assert report.rows == 4 and report.patients == 3
    frame, meta = _read(fmt, path)
    assert list(frame["patient_id"]) == ["SYN-0001", "SYN-0001", "SYN-0002", "SYN-0003"]
    # value labels: response 1 = CR ...
    labels = {int(k): v for k, v in meta.variable_value_labels["response"].items()}
    assert labels == RESPONSE_LABELS
    assert [RESPONSE_LABELS[int(c)][:2] for c in frame["response"]] == ["PR", "CR", "NC", "NE"]
    sex = {int(k): v for k, v in meta.variable_value_labels["sex"].items()}
    assert sex == {1: "M: male", 2: "F: female"}
    assert [sex[int(c)][0] for c in frame["sex"]] == ["F", "F", "M", "F"]
    yes_no = {int(k): v for k, v in meta.variable_value_labels["multifocal"].items()}
    assert yes_no == {0: "no", 1: "yes"}
    assert list(frame["multifocal"]) == [0, 0, 1, 0]
    # dates are dates, missing dates missing
    assert list(frame["ilp_date"]) == [
        date(2001, 3, 14),
        date(2003, 2, 1),
        date(2002, 9, 30),
        date(2000, 6, 15),
    ]
    assert frame["death_date"][2] == date(2006, 1, 9)
    assert _missing(frame["death_date"][0])
    # numbers, missing numbers
    assert list(frame["melphalan_mg"]) == [80, 80, 39, 80]
    assert frame["tumor_size_cm"][1] == 6 and math.isnan(frame["tumor_size_cm"][2])
    # grade coded by its own number
    assert [None if math.isnan(g) else int(g) for g in frame["grade"]] == [2, 2, None, 3]
    # variable labels
    assert meta.column_names_to_labels["melphalan_mg"] == "Total melphalan dose in mg"
    assert meta.column_names_to_labels["limb_volume_l"] == "Perfused limb volume in litres (L)"
    assert meta.column_names_to_labels["ilp_date"] == "Date of the isolated limb perfusion"


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def test_sas_transport_text_values_and_dates(registry, out_dir):
    path = out_dir / "registry.xpt"
    export_registry_as(registry, path, "xpt", "tester")
    frame, meta = _read("xpt", path)
    assert list(frame["response"]) == ["PR", "CR", "NC", "NE"]
    assert list(frame["histology"])[2] == "synovial_sarcoma"
    assert frame["amputation_date"][3] == date(2001, 1, 10)
    assert meta.original_variable_types["ilp_date"].startswith("DATE")
    assert meta.column_names_to_labels["tnf_mg"] == "TNF-alpha (tasonermin) dose in mg"
    assert meta.column_names_to_labels["max_tissue_temp_c"].isascii()


def test_parquet_types_and_labels(registry, out_dir):
    path = out_dir / "registry.parquet"
    export_registry_as(registry, path, "parquet", "tester")
    table = pq.read_table(path)
    assert str(table.schema.field("ilp_date").type) == "date32[day]"
    assert str(table.schema.field("multifocal").type) == "bool"
    assert table.schema.field("tnf_mg").metadata[b"unit"] == b"mg"
    data = table.to_pydict()
    assert data["response"] == ["PR", "CR", "NC", "NE"]
    assert data["death_date"] == [None, None, date(2006, 1, 9), None]
    assert data["wieberdink_grade"] == [2, 2, None, 2]


@pytest.mark.parametrize("fmt", ["sav", "dta", "xpt", "parquet"])
def test_one_row_per_patient(sqlite_registry, out_dir, fmt):
    path = out_dir / f"patients.{fmt}"
    report = export_registry_as(sqlite_registry, path, fmt, "tester", per="patient")
    assert report.rows == 3
    if fmt == "parquet":
        data = pq.read_table(path).to_pydict()
    else:
        frame, _ = _read(fmt, path)
        data = {c: list(frame[c]) for c in frame.columns}
    assert data["patient_id"] == ["SYN-0001", "SYN-0002", "SYN-0003"]
    assert [int(n) for n in data["n_perfusions"]] == [2, 1, 1]
    assert data["ilp_date_1"] == [date(2001, 3, 14), date(2002, 9, 30), date(2000, 6, 15)]
    assert data["ilp_date_2"][0] == date(2003, 2, 1)
    assert all(_missing(v) for v in data["ilp_date_2"][1:])
    assert "melphalan_mg_2" in data and "birth_date" in data and "birth_date_1" not in data


def _r_unavailable(reason: str) -> NoReturn:
    """Skip with ``reason``, or fail when CI is set (.ci/run installs R and haven)."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set: the R reference check must run, not skip)")
    pytest.skip(reason)


def test_read_back_with_r_haven(registry, out_dir):
    """Reference reader: R's haven (skips where R or haven is not installed, fails under CI)."""
    rscript = shutil.which("Rscript")
    if rscript is None:
        _r_unavailable("R is not installed (Rscript not found): the haven reference check needs it")
    probe = subprocess.run([rscript, "-e", "library(haven)"], capture_output=True, text=True)
    if probe.returncode != 0:
        _r_unavailable("R's haven package is not installed")
    for fmt, reader in (("sav", "read_sav"), ("dta", "read_dta")):
        path = out_dir / f"registry.{fmt}"
        export_registry_as(registry, path, fmt, "tester")
        script = (
            f"d <- haven::{reader}('{path}'); "
            "cat(as.character(haven::as_factor(d$response)), sep='|'); cat('\\n'); "
            "cat(format(d$ilp_date), sep='|'); cat('\\n'); cat(class(d$ilp_date))"
        )
        out = subprocess.run([rscript, "-e", script], capture_output=True, text=True, check=True)
        lines = out.stdout.strip().splitlines()
        assert lines[0].split("|") == [
            "PR: partial response",
            "CR: complete response",
            "NC: no change",
            "NE: not evaluable",
        ]
        assert lines[1].split("|") == ["2001-03-14", "2003-02-01", "2002-09-30", "2000-06-15"]
        assert lines[2] == "Date"


def test_exports_of_a_synthetic_registry_say_so(
    sqlite_registry, out_dir, tmp_path, csv_file, row_factory
):
    """Patients made by ilp synth (ids SYN-..., centre SYNTH) mark every file SYNTHETIC; a
    registry of other patients does not get the mark."""
    from lxml import etree

    from ilpkit.services.registry_import import import_registry

    export_registry_as(sqlite_registry, out_dir / "s.sav", "sav", "tester")
    export_registry_as(sqlite_registry, out_dir / "s.parquet", "parquet", "tester")
    export_registry_as(sqlite_registry, out_dir / "s.xml", "odm", "tester")
    _, meta = pyreadstat.read_sav(str(out_dir / "s.sav"), metadataonly=True)
    assert meta.file_label == "SYNTHETIC DATA - ilpkit TM-ILP registry"
    title = pq.read_schema(out_dir / "s.parquet").metadata[b"title"].decode()
    assert title.startswith("SYNTHETIC DATA")
    names = etree.parse(str(out_dir / "s.xml")).xpath("//*[local-name()='StudyName']/text()")
    assert names == ["SYNTHETIC DATA - TM-ILP registry"]

    real = f"sqlite:///{tmp_path / 'real.sqlite3'}"
    rows = [row_factory(patient_id="A-1", center="RTM")]
    import_registry(csv_file(rows), real, date(2030, 1, 1), "tester")
    export_registry_as(real, out_dir / "r.sav", "sav", "tester")
    _, meta = pyreadstat.read_sav(str(out_dir / "r.sav"), metadataonly=True)
    assert meta.file_label == "ilpkit TM-ILP registry export"
