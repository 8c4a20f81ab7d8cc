"""HL7 FHIR R4 / mCODE export: one transaction Bundle per patient, every resource parsed with
``fhir.resources`` (FHIR R4B models, the release of fhir.resources closest to R4 4.0.1 that works
with pydantic 2; the resources used here are the same in R4 and R4B)."""

from __future__ import annotations

import json

from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle

from ilpkit.services.registry_export_formats import export_registry_as

MCODE = "http://hl7.org/fhir/us/mcode/StructureDefinition/"


def _bundles(folder):
    return {
        p.stem: json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))
    }


def _of(bundle, resource_type):
    return [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == resource_type
    ]


def test_every_resource_parses_with_fhir_resources(registry, out_dir):
    folder = out_dir / "fhir"
    report = export_registry_as(registry, folder, "fhir", "tester")
    bundles = _bundles(folder)
    assert report.rows == 3 and set(bundles) == {"SYN-0001", "SYN-0002", "SYN-0003"}
    count = 0
    for bundle in bundles.values():
        Bundle.model_validate(bundle)
        assert bundle["type"] == "transaction"
        for entry in bundle["entry"]:
            resource = entry["resource"]
            get_fhir_model_class(resource["resourceType"]).model_validate(resource)
            assert entry["fullUrl"].startswith("urn:uuid:")
            assert entry["request"]["method"] == "POST"
            count += 1
    # SYN-0001: patient, 1 condition, 2 x (size, ILP, 2 drugs, response), resection, recurrence
    assert len(bundles["SYN-0001"]["entry"]) == 1 + 1 + 2 * 5 + 1 + 1
    # SYN-0002: patient, condition, ILP, 2 drugs, response, metastasis (no size recorded)
    # SYN-0003: patient, condition, size, ILP, 2 drugs, response, amputation
    assert count == 14 + (1 + 1 + 1 + 2 + 1 + 1) + (1 + 1 + 1 + 1 + 2 + 1 + 1)


def test_content_codes_and_profiles(sqlite_registry, out_dir):
    folder = out_dir / "fhir"
    export_registry_as(sqlite_registry, folder, "fhir", "tester")
    bundles = _bundles(folder)
    one = bundles["SYN-0001"]
    (patient,) = _of(one, "Patient")
    assert patient["meta"]["profile"] == [MCODE + "mcode-cancer-patient"]
    assert [i["value"] for i in patient["identifier"]] == ["SYN-0001"]
    assert "name" not in patient and "address" not in patient
    assert patient["gender"] == "female" and patient["birthDate"] == "1950-05-17"

    (condition,) = _of(one, "Condition")
    histology = condition["extension"][0]
    assert histology["url"] == MCODE + "mcode-histology-morphology-behavior"
    coding = histology["valueCodeableConcept"]["coding"][0]
    # liposarcoma = ICD-O-3 8850/3 "Liposarcoma, NOS"
    assert (coding["system"], coding["code"]) == (
        "http://terminology.hl7.org/CodeSystem/icd-o-3",
        "8850/3",
    )
    site = condition["bodySite"][0]["coding"][0]
    assert (site["system"], site["code"]) == ("http://snomed.info/sct", "61685007")  # lower limb

    sizes = _of(one, "Observation")
    (size,) = [o for o in sizes if o["code"]["coding"][0]["code"] == "21889-1"][1:]
    assert size["component"][0]["valueQuantity"] == {
        "value": 6.0,
        "unit": "cm",
        "system": "http://unitsofmeasure.org",
        "code": "cm",
    }
    assert size["effectiveDateTime"] == "2003-02-01"

    procedures = _of(one, "Procedure")
    ilps = [p for p in procedures if "coding" not in p["code"]]
    assert [p["performedDateTime"] for p in ilps] == ["2001-03-14", "2003-02-01"]
    assert all(p["code"] == {"text": p["code"]["text"]} for p in ilps)  # text only, no code
    drugs = _of(one, "MedicationAdministration")
    assert sorted(
        (d["medicationCodeableConcept"]["text"], d["dosage"]["dose"]["value"]) for d in drugs
    ) == [
        ("Melphalan", 80.0),
        ("Melphalan", 80.0),
        ("Tasonermin (TNF-alpha-1a)", 3.0),
        ("Tasonermin (TNF-alpha-1a)", 3.0),
    ]
    assert {d["meta"]["profile"][0] for d in drugs} == {
        MCODE + "mcode-cancer-related-medication-administration"
    }

    statuses = [o for o in _of(one, "Observation") if o["code"]["coding"][0]["code"] == "97509-4"]
    values = sorted(o["valueCodeableConcept"]["coding"][0]["code"] for o in statuses)
    # PR and CR: improved (268910001); local recurrence: worsened (271299001)
    assert values == ["268910001", "268910001", "271299001"]

    three = bundles["SYN-0003"]
    (condition,) = _of(three, "Condition")
    assert condition["extension"][0]["valueCodeableConcept"]["coding"][0]["code"] == "8832/1"
    amputations = [
        p
        for p in _of(three, "Procedure")
        if p["code"].get("coding", [{}])[0].get("code") == "81723002"
    ]
    assert [a["performedDateTime"] for a in amputations] == ["2001-01-10"]
    two = bundles["SYN-0002"]
    (patient,) = _of(two, "Patient")
    assert patient["deceasedDateTime"] == "2006-01-09"
    (condition,) = _of(two, "Condition")
    assert condition["bodySite"][0]["coding"][0]["code"] == "53120007"  # upper limb


def test_fast_uuid5_equals_the_standard_library():
    import uuid

    from ilpkit.adapters.export import fhir

    for name in ("SYN-0001/patient", "P0123abcd/ilp/2", "é/condition/other/leg"):
        assert fhir.uuid5(name) == str(uuid.uuid5(fhir._NAMESPACE, name))


def test_deidentified_bundles_carry_only_the_pseudonym(sqlite_registry, out_dir):
    from ilpkit.services.deidentify import DeidentifyOptions, pseudonym

    key = b"fhir-test-key-0123456789"
    folder = out_dir / "fhir"
    export_registry_as(sqlite_registry, folder, "fhir", "tester", deidentify=DeidentifyOptions(key))
    expected = {"SYN-" + pseudonym(key, f"SYN-000{i}") for i in (1, 2, 3)}
    bundles = _bundles(folder)
    assert set(bundles) == expected | {"manifest"}
    for name in expected:
        text = json.dumps(bundles[name])
        assert "SYN-000" not in text
        (patient,) = _of(bundles[name], "Patient")
        assert patient["identifier"][0]["value"] == name
        Bundle.model_validate(bundles[name])
    one = bundles["SYN-" + pseudonym(key, "SYN-0001")]
    (patient,) = _of(one, "Patient")
    assert patient["birthDate"] < "1950-05-17"  # shifted into the past


def test_coarsened_bundles_have_years_and_no_birth_date(sqlite_registry, out_dir):
    from ilpkit.services.deidentify import DeidentifyOptions

    options = DeidentifyOptions(b"fhir-test-key-0123456789", coarsen_age=True, year_only=True)
    folder = out_dir / "fhir"
    export_registry_as(sqlite_registry, folder, "fhir", "tester", deidentify=options)
    bundles = {k: v for k, v in _bundles(folder).items() if k != "manifest"}
    assert len(bundles) == 3
    for bundle in bundles.values():
        for entry in bundle["entry"]:
            resource = entry["resource"]
            get_fhir_model_class(resource["resourceType"]).model_validate(resource)
        (patient,) = _of(bundle, "Patient")
        assert "birthDate" not in patient
        for procedure in _of(bundle, "Procedure"):
            year = procedure["performedDateTime"]
            assert len(year) == 4 and year.isdigit()
