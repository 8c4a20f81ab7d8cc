"""``ilp redcap-mapping`` on a hand-made REDCap project whose names and labels differ from the
registry's: what it matches, what it lists as not matched, and that the completed file imports."""

from __future__ import annotations

import tomllib
from datetime import date

from tests.integration.redcap.conftest import ilp, patient_row, perfusion_row

from ilpkit.services.redcap_import import import_redcap

EXPECTED = {  # judged by hand from the labels in conftest.FIELDS
    "patient_id": "study_id",
    "sex": "gender",
    "birth_date": "dob",
    "death_date": "dod",
    "last_followup_date": "lfu",
    "ilp_date": "ilp_dt",
    "limb": "side",
    "perfusion_level": "level",
    "limb_volume_l": "vol",
    "tnf_mg": "tnf",
    "melphalan_mg": "mel",
    "histology": "histo",
    "multifocal": "multi",
    "presentation": "pres",
    "prior_radiotherapy": "prior_rt",
    "response": "resp",
}


def test_suggested_mapping_matches_by_name_label_and_choice_labels(project, tmp_path):
    dictionary, data, _ = project()
    out = tmp_path / "suggested.toml"
    result = ilp("redcap-mapping", "--dictionary", str(dictionary), "--out", str(out))
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    mapping = tomllib.loads(text)
    assert mapping["project"] == {
        "record_id": "study_id",
        "perfusion_instrument": "ilp",
        "date_format": "YMD",
    }
    assert mapping["fields"] == EXPECTED
    assert mapping["choices"]["sex"] == {"1": "M", "2": "F"}
    assert mapping["choices"]["presentation"] == {"1": "primary", "2": "recurrent"}
    assert mapping["choices"]["response"] == {"1": "CR", "2": "PR", "3": "NC", "4": "PD"}
    assert mapping["choices"]["histology"] == {"1": "liposarcoma", "2": "leiomyosarcoma",
                                               "99": "other"}  # fmt: skip
    assert mapping["choices"]["multifocal"] == {"1": "yes", "0": "no"}
    # what is not matched is a commented entry, and listed
    assert '# center = ""  # required;' in text
    assert '# tumor_size_cm = ""  # optional;' in text
    assert "center" in " ".join(result.stdout.split())
    # completed by the user (centre code, dates as the validation types show them), it imports
    completed = text.replace('date_format = "YMD"', 'date_format = "validation"').replace(
        "[values]\n", '[values]\ncenter = "CA"\n'
    )
    out.write_text(completed, encoding="utf-8")
    report = import_redcap(dictionary, data, out, None, date(2026, 11, 27), "tester", dry_run=True)
    assert (report.records, report.perfusions) == (1, 1)
    assert report.registry.perfusions_created == 1


def test_choice_code_without_a_matching_label_is_commented(project, tmp_path):
    from tests.integration.redcap.conftest import FIELDS

    fields = [f if f[0] != "resp" else ("resp", "ilp", "radio", "Response",
              "1, CR | 2, PR | 3, SD | 4, PD | 9, Unknown", "") for f in FIELDS]  # fmt: skip
    dictionary, _, _ = project([patient_row("1"), perfusion_row("1", "1")], fields=fields)
    out = tmp_path / "m.toml"
    result = ilp("redcap-mapping", "--dictionary", str(dictionary), "--out", str(out))
    assert result.exit_code == 0
    assert "# 9 = \"\"  # 'Unknown': no registry value matched" in out.read_text(encoding="utf-8")
    assert "Codes of response without a registry value: 9." in " ".join(result.stdout.split())
