"""A small hand-made REDCap project (dictionary, records, mapping) with known values.

Written out by hand - not by ilpkit's REDCap export - in the layout of REDCap's own files:
the dictionary header of REDCap's Online Designer, coded choices ``code, label | ...``, a
repeating instrument ``ilp`` (redcap_repeat_instrument / redcap_repeat_instance), dates as each
field's validation type declares (date_dmy, date_ymd, date_mdy).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ilpkit.cli.main import build_app

HEADER = [
    "Variable / Field Name",
    "Form Name",
    "Section Header",
    "Field Type",
    "Field Label",
    "Choices, Calculations, OR Slider Labels",
    "Field Note",
    "Text Validation Type OR Show Slider Number",
    "Text Validation Min",
    "Text Validation Max",
    "Identifier?",
    "Branching Logic (Show field only if...)",
    "Required Field?",
    "Custom Alignment",
    "Question Number (surveys only)",
    "Matrix Group Name",
    "Matrix Ranking?",
    "Field Annotation",
]

# name, form, type, label, choices, validation
FIELDS = [
    ("study_id", "baseline", "text", "Study ID", "", ""),
    ("gender", "baseline", "radio", "Gender", "1, Male | 2, Female", ""),
    ("dob", "baseline", "text", "Date of birth", "", "date_dmy"),
    ("dod", "baseline", "text", "Date of death", "", "date_ymd"),
    ("lfu", "baseline", "text", "Last follow-up", "", "date_mdy"),
    ("intro", "ilp", "descriptive", "Perfusion", "", ""),
    ("ilp_dt", "ilp", "text", "Date of ILP", "", "date_ymd"),
    ("side", "ilp", "radio", "Limb", "1, Arm | 2, Leg", ""),
    (
        "level",
        "ilp",
        "dropdown",
        "Level",
        "1, Iliac | 2, Femoral | 3, Popliteal | 4, Axillary | 5, Brachial",
        "",
    ),
    ("vol", "ilp", "text", "Limb volume (L)", "", "number"),
    ("tnf", "ilp", "text", "TNF dose (mg)", "", "number"),
    ("mel", "ilp", "text", "Melphalan dose (mg)", "", "number"),
    ("histo", "ilp", "dropdown", "Histology", "1, Liposarcoma | 2, Leiomyosarcoma | 99, Other", ""),
    ("multi", "ilp", "yesno", "Multifocal", "", ""),
    ("pres", "ilp", "radio", "Presentation", "1, Primary | 2, Recurrence", ""),
    ("prior_rt", "ilp", "yesno", "Prior radiotherapy", "", ""),
    ("resp", "ilp", "radio", "Response", "1, CR | 2, PR | 3, SD | 4, PD", ""),
    ("meds", "ilp", "checkbox", "Other drugs", "1, A | 2, B", ""),
]

RECORD_COLUMNS = [
    "study_id",
    "redcap_repeat_instrument",
    "redcap_repeat_instance",
    "gender",
    "dob",
    "dod",
    "lfu",
    "baseline_complete",
    "ilp_dt",
    "side",
    "level",
    "vol",
    "tnf",
    "mel",
    "histo",
    "multi",
    "pres",
    "prior_rt",
    "resp",
    "meds___1",
    "meds___2",
    "ilp_complete",
]

MAPPING = """
[project]
record_id = "study_id"
perfusion_instrument = "ilp"
date_format = "validation"

[fields]
patient_id = "study_id"
sex = "gender"
birth_date = "dob"
death_date = "dod"
last_followup_date = "lfu"
ilp_date = "ilp_dt"
limb = "side"
perfusion_level = "level"
limb_volume_l = "vol"
tnf_mg = "tnf"
melphalan_mg = "mel"
histology = "histo"
multifocal = "multi"
presentation = "pres"
prior_radiotherapy = "prior_rt"
response = "resp"

[values]
center = "CA"

[choices.sex]
"1" = "M"
"2" = "F"

[choices.limb]
"1" = "arm"
"2" = "leg"

[choices.perfusion_level]
"1" = "iliac"
"2" = "femoral"
"3" = "popliteal"
"4" = "axillary"
"5" = "brachial"

[choices.histology]
"1" = "liposarcoma"
"2" = "leiomyosarcoma"
"99" = "other"

[choices.presentation]
"1" = "primary"
"2" = "recurrent"

[choices.response]
"1" = "CR"
"2" = "PR"
"3" = "NC"
"4" = "PD"
"""


def patient_row(record: str, **values: str) -> dict[str, str]:
    """The record's own row: 1 = male, born 17 March 1950 (D-M-Y), followed to 30 June 2008."""
    row = {"study_id": record, "gender": "1", "dob": "17-03-1950", "dod": "", "lfu": "06-30-2008"}
    row["baseline_complete"] = "2"
    row.update(values)
    return row


def perfusion_row(record: str, instance: str, **values: str) -> dict[str, str]:
    """An instance of the repeating ``ilp`` instrument: leg, femoral, 8 L, 3 mg TNF, 80 mg
    melphalan, liposarcoma, unifocal, primary, no prior radiotherapy, SD."""
    row = {
        "study_id": record,
        "redcap_repeat_instrument": "ilp",
        "redcap_repeat_instance": instance,
        "ilp_dt": "2001-03-14",
        "side": "2",
        "level": "2",
        "vol": "8",
        "tnf": "3",
        "mel": "80",
        "histo": "1",
        "multi": "0",
        "pres": "1",
        "prior_rt": "0",
        "resp": "3",
        "meds___1": "0",
        "meds___2": "1",
        "ilp_complete": "2",
    }
    row.update(values)
    return row


@pytest.fixture
def project(tmp_path: Path) -> Callable[..., tuple[Path, Path, Path]]:
    """Write the dictionary, the given records (default: one patient, one perfusion) and the
    mapping (optionally edited); return their paths."""

    def _write(
        records: list[dict[str, str]] | None = None,
        mapping: str = MAPPING,
        fields: list[tuple[str, ...]] | None = None,
    ) -> tuple[Path, Path, Path]:
        folder = tmp_path / "project"
        folder.mkdir(exist_ok=True)
        dictionary = folder / "dictionary.csv"
        with dictionary.open("w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(HEADER)
            for name, form, ftype, label, choices, validation in fields or FIELDS:
                row = [""] * len(HEADER)
                row[0], row[1], row[3], row[4], row[5], row[7] = (
                    name,
                    form,
                    ftype,
                    label,
                    choices,
                    validation,
                )
                writer.writerow(row)
        rows = records if records is not None else [patient_row("101"), perfusion_row("101", "1")]
        data = folder / "records.csv"
        with data.open("w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(RECORD_COLUMNS)
            for r in rows:
                writer.writerow([r.get(c, "") for c in RECORD_COLUMNS])
        path = folder / "mapping.toml"
        path.write_text(mapping, encoding="utf-8")
        return dictionary, data, path

    return _write


runner = CliRunner()


def ilp(*args: str, cwd: Path | None = None):
    """Run ``ilp`` in-process (optionally in ``cwd``)."""
    old = Path.cwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        return runner.invoke(build_app(), list(args), catch_exceptions=False)
    finally:
        os.chdir(old)
