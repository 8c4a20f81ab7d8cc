"""docs/data-dictionary.md is generated from the code and must not drift from it."""

from __future__ import annotations

from pathlib import Path

from ilpkit.domain.fields import COLUMN_NAMES, REQUIRED_COLUMNS, data_dictionary_markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "data-dictionary.md"

REQUIRED_BY_FORMAT = {
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
}
HISTOLOGY_REQUIRED = [
    "leiomyosarcoma",
    "liposarcoma",
    "myxofibrosarcoma",
    "undifferentiated_pleomorphic_sarcoma",
    "synovial_sarcoma",
    "mpnst",
    "angiosarcoma",
    "epithelioid_sarcoma",
    "clear_cell_sarcoma",
    "rhabdomyosarcoma",
    "kaposi_sarcoma",
    "other",
]


def test_doc_matches_code():
    assert DOC.read_text(encoding="utf-8") == data_dictionary_markdown(), (
        "docs/data-dictionary.md is out of date: run `ilp dictionary --out docs/data-dictionary.md`"
    )


def test_required_columns_are_those_of_the_format(row_factory):
    assert set(REQUIRED_COLUMNS) == REQUIRED_BY_FORMAT
    # documented optional columns that a Registry CSV v1 file may leave out
    assert set(COLUMN_NAMES) - set(row_factory()) == {
        "limb_volume_method",
        "adjuvant_radiotherapy",
        "pathological_necrosis_pct",
        "systemic_toxicity_grade",
        "complication_clavien_dindo",
        "amputation_reason",
        "cause_of_death",
    }


def test_dictionary_lists_every_column_and_histology():
    text = data_dictionary_markdown()
    for name in COLUMN_NAMES:
        assert f"| `{name}` |" in text
    for h in HISTOLOGY_REQUIRED:
        assert f"`{h}`" in text
