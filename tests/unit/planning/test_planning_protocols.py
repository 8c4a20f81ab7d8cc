"""The protocol file: shipped protocols, their sources, and refusal of unsafe or malformed files."""

from __future__ import annotations

import tomllib

import pytest

from ilpkit.adapters.protocol_file import shipped_protocol_text
from ilpkit.domain.perfusion import Limb, PerfusionLevel
from ilpkit.planning.errors import ProtocolError
from ilpkit.planning.protocols import parse_protocol_book

SHIPPED = shipped_protocol_text()

STUDY = """
[protocols.high-tnf-study]
version = "0.1"
title = "Trial arm above the label"
study = true
study_reference = "EudraCT 2099-000000-00"
tnf_mg.arm = { value = 3.0, source = "SmPC" }
tnf_mg.leg = { value = 6.0, source = "trial protocol 6.1" }
melphalan_mg_per_l.arm = { value = 13.0, source = "SmPC" }
melphalan_mg_per_l.leg = { value = 10.0, source = "SmPC" }
melphalan_max_mg = { value = 150.0, source = "SmPC" }
"""


def with_protocol(extra: str) -> str:
    return SHIPPED + "\n" + extra


def problems_of(text: str) -> str:
    with pytest.raises(ProtocolError) as info:
        parse_protocol_book(text, "test.toml")
    return str(info.value)


def test_shipped_protocols_have_the_smpc_values():
    book = parse_protocol_book(SHIPPED)
    assert set(book.protocols) >= {"label", "reduced-tnf", "low-dose-tnf"}
    assert book.default_protocol == "label"
    label = book.protocol("label")
    assert label.tnf_mg["arm"].value == 3.0
    assert label.tnf_mg["leg"].value == 4.0
    assert label.melphalan_mg_per_l[Limb.ARM].value == 13.0
    assert label.melphalan_mg_per_l[Limb.LEG].value == 10.0
    assert label.melphalan_max_mg.value == 150.0
    assert not label.study
    assert label.label_exceedances == ()
    reduced = book.protocol("reduced-tnf")
    assert (reduced.tnf_mg["arm"].value, reduced.tnf_mg["leg"].value) == (1.0, 2.0)
    assert "Deroose 2015" in reduced.tnf_mg["leg"].source
    low = book.protocol("low-dose-tnf")
    assert (low.tnf_mg["arm"].value, low.tnf_mg["leg"].value) == (1.0, 1.0)
    assert "Bonvalot 2009" in low.tnf_mg["arm"].source


def test_shipped_conduct_leakage_and_eligibility_values():
    book = parse_protocol_book(SHIPPED)
    c = book.protocol("label").conduct
    assert (c.priming_volume_ml.low, c.priming_volume_ml.high) == (700.0, 800.0)
    assert (c.priming_haematocrit.low, c.priming_haematocrit.high) == (0.25, 0.30)
    assert c.flow_max_ml_per_l_per_min.value == 40.0
    assert c.flow_warning_below_ml_per_l_per_min.value == 30.0
    assert (c.tissue_temp_target_c.low, c.tissue_temp_target_c.high) == (38.0, 39.5)
    assert c.tissue_temp_warning_c.value == 40.0
    assert (c.tnf_start_min.value, c.melphalan_start_min.value, c.end_min.value) == (0, 30, 90)
    lk = book.leakage
    assert (lk.notify_pct.value, lk.stop_pct.value) == (5.0, 10.0)
    assert lk.standard_fraction.value == 0.10
    assert lk.washout_dextran_min_l.value == 2.0
    # half-lives in hours: 6.01 h; 8.02 d * 24 = 192.48 h; 2.80 d * 24 = 67.2 h
    assert lk.isotope("tc99m").half_life_h.value == 6.01
    assert lk.isotope("I-131").half_life_h.value == pytest.approx(192.48)
    assert lk.isotope("in111").half_life_h.value == pytest.approx(67.2)
    assert {r.key for r in book.eligibility.labs} >= {
        "leukocytes_e9_per_l",
        "haemoglobin_g_per_dl",
        "platelets_e9_per_l",
        "creatinine_umol_per_l",
        "creatinine_clearance_ml_per_min",
        "ast_x_uln",
        "alt_x_uln",
        "alkaline_phosphatase_x_uln",
        "bilirubin_x_uln",
        "calcium_mg_per_dl",
    }


def test_every_number_in_the_shipped_file_has_a_source():
    data = tomllib.loads(SHIPPED)
    missing: list[str] = []

    def walk(node: object, path: str) -> None:
        if isinstance(node, dict):
            has_number = any(k in node for k in ("value", "low", "high"))
            if has_number and not str(node.get("source", "")).strip():
                missing.append(path)
            for key, child in node.items():
                walk(child, f"{path}.{key}")
        elif (
            isinstance(node, int | float)
            and not isinstance(node, bool)
            and not path.endswith((".value", ".low", ".high", "schema_version"))
        ):
            missing.append(path)

    walk(data, "")
    assert missing == []


def test_tnf_by_level_overrides_the_limb_value():
    text = SHIPPED.replace(
        'tnf_mg.leg = { value = 4.0, source = "SmPC: 4 mg for a lower limb" }',
        'tnf_mg.leg = { value = 4.0, source = "SmPC: 4 mg for a lower limb" }\n'
        'tnf_mg.popliteal = { value = 2.5, source = "centre choice" }',
    )
    label = parse_protocol_book(text).protocol("label")
    assert label.tnf_for(Limb.LEG, PerfusionLevel.POPLITEAL)[1].value == 2.5
    assert label.tnf_for(Limb.LEG, PerfusionLevel.FEMORAL) == ("leg", label.tnf_mg["leg"])


def test_conduct_can_be_overridden_per_protocol():
    extra = STUDY + 'conduct.tissue_temp_target_c = { low = 37.0, high = 38.0, source = "trial" }\n'
    book = parse_protocol_book(with_protocol(extra))
    study = book.protocol("high-tnf-study").conduct.tissue_temp_target_c
    assert (study.low, study.high, study.source) == (37.0, 38.0, "trial")
    assert book.protocol("label").conduct.tissue_temp_target_c.low == 38.0


def test_study_protocol_above_the_label_is_accepted_and_flagged():
    book = parse_protocol_book(with_protocol(STUDY))
    study = book.protocol("high-tnf-study")
    assert study.study
    assert study.study_reference == "EudraCT 2099-000000-00"
    assert len(study.label_exceedances) == 1
    assert "tnf_mg.leg = 6 mg is above the label 4 mg for a leg" in study.label_exceedances[0]


def test_protocol_above_the_label_is_refused_unless_it_is_a_study():
    text = with_protocol(
        STUDY.replace("study = true\n", "").replace(
            'study_reference = "EudraCT 2099-000000-00"\n', ""
        )
    )
    message = problems_of(text)
    assert "protocol file test.toml" in message
    assert (
        "protocols.high-tnf-study: tnf_mg.leg = 6 mg is above the label 4 mg for a leg" in message
    )
    assert "set study = true and study_reference" in message


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "melphalan_mg_per_l.leg = { value = 10.0",
            "melphalan_mg_per_l.leg = { value = 12.0",
            "melphalan_mg_per_l.leg = 12 mg/L is above the label 10 mg/L",
        ),
        (
            "melphalan_max_mg = { value = 150.0",
            "melphalan_max_mg = { value = 200.0",
            "melphalan_max_mg = 200 mg is above the label maximum 150 mg",
        ),
        (
            "tnf_mg.arm = { value = 3.0",
            "tnf_mg.arm = { value = 3.5",
            "tnf_mg.arm = 3.5 mg is above the label 3 mg for an arm",
        ),
    ],
)
def test_each_label_ceiling_is_checked(old, new, expected):
    text = SHIPPED.replace(old, new, 1)  # the first occurrence is in the label protocol
    assert text != SHIPPED
    assert expected in problems_of(text)


def test_flow_above_the_label_is_refused_for_a_non_study_protocol():
    text = SHIPPED.replace(
        "flow_max_ml_per_l_per_min = { value = 40.0", "flow_max_ml_per_l_per_min = { value = 45.0"
    )
    assert "flow_max_ml_per_l_per_min = 45 mL/L/min is above the label maximum 40" in problems_of(
        text
    )


def test_study_protocol_needs_a_reference():
    text = with_protocol(STUDY.replace('study_reference = "EudraCT 2099-000000-00"\n', ""))
    assert "protocols.high-tnf-study.study_reference: missing" in problems_of(text)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "schema_version = 1",
            "schema_version = 2",
            "schema_version: found 2; this version of ilpkit reads schema_version = 1",
        ),
        (
            'default_protocol = "label"',
            'default_protocol = "nope"',
            "default_protocol: found 'nope'; must name one of the protocols",
        ),
        (
            'tnf_mg.arm = { value = 3.0, source = "SmPC: 3 mg for an upper limb" }',
            "tnf_mg.arm = 3.0",
            "protocols.label.tnf_mg.arm: found 3.0; every value needs its source",
        ),
        (
            'source = "SmPC: 3 mg for an upper limb"',
            'source = ""',
            "protocols.label.tnf_mg.arm.source: every value needs its source",
        ),
        (
            "tnf_mg.arm = { value = 3.0",
            "tnf_mg.arm = { value = -3.0",
            "protocols.label.tnf_mg.arm.value: -3 mg must be more than 0",
        ),
        (
            "tnf_mg.arm = { value = 3.0",
            'tnf_mg.arm = { value = "3"',
            "protocols.label.tnf_mg.arm.value: must be a number (mg), found '3'",
        ),
        (
            'version = "1.0"',
            "version = 1.0",
            "protocols.label.version: found 1.0; write the version as text",
        ),
        (
            "stop_pct = { value = 10.0",
            "stop_pct = { value = 15.0",
            "leakage.stop_pct: 15% is above the 10% at which the perfusion must be stopped",
        ),
        (
            "notify_pct = { value = 5.0",
            "notify_pct = { value = 10.0",
            "leakage.notify_pct: 10% must be below stop_pct (10%)",
        ),
        (
            "melphalan_start_min = { value = 30.0",
            "melphalan_start_min = { value = 95.0",
            "the timeline must run tnf_start_min < melphalan_start_min < end_min, found 0, 95, 90",
        ),
        (
            "flow_warning_below_ml_per_l_per_min = { value = 30.0",
            "flow_warning_below_ml_per_l_per_min = { value = 45.0",
            "flow_warning_below_ml_per_l_per_min (45 mL/L/min) must be below",
        ),
        (
            "priming_haematocrit = { low = 0.25, high = 0.30",
            "priming_haematocrit = { low = 25, high = 30",
            "conduct.priming_haematocrit.low: 25 is above the highest allowed value 1",
        ),
        ('severity = "blocking"', 'severity = "maybe"', "'maybe' must be 'blocking' or 'warning'"),
        (
            "[protocols.label]\n",
            "[protocols.label]\ntnf_dose = 3\n",
            "protocols.label.tnf_dose: unknown key",
        ),
        ("schema_version = 1", "schema_version = 1\n[[", "not valid TOML"),
    ],
)
def test_malformed_files_are_refused_naming_the_key(old, new, expected):
    assert old in SHIPPED
    message = problems_of(SHIPPED.replace(old, new, 1))
    assert expected in message


def test_all_problems_are_listed_at_once():
    text = SHIPPED.replace("schema_version = 1", "schema_version = 3").replace(
        "stop_pct = { value = 10.0", "stop_pct = { value = 12.0"
    )
    with pytest.raises(ProtocolError) as info:
        parse_protocol_book(text, "mine.toml")
    assert len(info.value.problems) == 2
    assert str(info.value).startswith("protocol file mine.toml: 2 problems:")


def test_unknown_protocol_lists_the_available_ones():
    book = parse_protocol_book(SHIPPED, "shipped")
    with pytest.raises(ProtocolError) as info:
        book.protocol("rotterdam")
    assert "no protocol named 'rotterdam'; available protocols: label, reduced-tnf" in str(
        info.value
    )
