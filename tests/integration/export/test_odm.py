"""CDISC ODM 1.3.2 export, validated against the official ODM 1.3.2 XML schema (CDISC, MIT
licence; a copy with its licence is in tests/fixtures/odm-1.3.2)."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from ilpkit.services.registry_export_formats import export_registry_as

SCHEMA_DIR = Path(__file__).parents[2] / "fixtures" / "odm-1.3.2"
NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3"}


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    parser = etree.XMLParser(no_network=True, load_dtd=False, resolve_entities=False)
    return etree.XMLSchema(etree.parse(str(SCHEMA_DIR / "ODM1-3-2.xsd"), parser))


def _items(subject, event_oid: str, repeat: str | None = None) -> dict[str, str]:
    query = f"odm:StudyEventData[@StudyEventOID='{event_oid}']"
    if repeat is not None:
        query = f"odm:StudyEventData[@StudyEventOID='{event_oid}'][@StudyEventRepeatKey='{repeat}']"
    (event,) = subject.xpath(query, namespaces=NS)
    return {i.get("ItemOID"): i.get("Value") for i in event.xpath(".//odm:ItemData", namespaces=NS)}


def test_odm_is_valid_against_the_official_schema(registry, out_dir, schema):
    path = out_dir / "registry.xml"
    report = export_registry_as(registry, path, "odm", "tester")
    assert report.rows == 3
    doc = etree.parse(str(path))
    assert schema.validate(doc), schema.error_log
    root = doc.getroot()
    assert root.get("ODMVersion") == "1.3.2" and root.get("FileType") == "Snapshot"

    subjects = root.xpath("//odm:SubjectData", namespaces=NS)
    assert [s.get("SubjectKey") for s in subjects] == ["SYN-0001", "SYN-0002", "SYN-0003"]
    first = subjects[0]
    assert _items(first, "SE.PATIENT") == {
        "IT.PATIENT_ID": "SYN-0001",
        "IT.CENTER": "SYNTH",
        "IT.SEX": "F",
        "IT.BIRTH_DATE": "1950-05-17",
        "IT.LAST_FOLLOWUP_DATE": "2008-06-30",
    }
    second = _items(first, "SE.PERFUSION", "2")
    assert second["IT.ILP_DATE"] == "2003-02-01"
    assert second["IT.RESPONSE"] == "CR"
    assert second["IT.LOCAL_RECURRENCE_DATE"] == "2004-07-01"
    assert second["IT.MELPHALAN_MG"] == "80"
    assert "IT.RESECTION_DATE" not in second  # empty in the registry: no ItemData

    # metadata: code list of the response, range of the melphalan dose, unit
    decodes = root.xpath(
        "//odm:CodeList[@OID='CL.RESPONSE']/odm:CodeListItem/@CodedValue", namespaces=NS
    )
    assert decodes == ["CR", "PR", "NC", "PD", "NE"]
    (melphalan,) = root.xpath("//odm:ItemDef[@OID='IT.MELPHALAN_MG']", namespaces=NS)
    assert melphalan.get("DataType") == "float"
    checks = {
        c.get("Comparator"): c.findtext("odm:CheckValue", namespaces=NS)
        for c in melphalan.xpath("odm:RangeCheck", namespaces=NS)
    }
    assert checks == {"GT": "0", "LE": "150"}  # more than 0, at most 150 mg (SmPC)
    (unit_ref,) = melphalan.xpath("odm:MeasurementUnitRef/@MeasurementUnitOID", namespaces=NS)
    symbol = root.xpath(
        f"//odm:MeasurementUnit[@OID='{unit_ref}']/odm:Symbol/odm:TranslatedText/text()",
        namespaces=NS,
    )
    assert symbol == ["mg"]
    (ilp_date,) = root.xpath("//odm:ItemDef[@OID='IT.ILP_DATE']/@DataType", namespaces=NS)
    assert ilp_date == "date"


def test_the_schema_check_catches_a_broken_file(sqlite_registry, out_dir, schema):
    """The validation is not vacuous: the same file with one required attribute removed fails."""
    path = out_dir / "registry.xml"
    export_registry_as(sqlite_registry, path, "odm", "tester")
    doc = etree.parse(str(path))
    assert schema.validate(doc)
    (item,) = doc.xpath("//odm:ItemDef[@OID='IT.TNF_MG']", namespaces=NS)
    del item.attrib["DataType"]
    assert not schema.validate(doc)


def test_deidentified_odm_is_valid_and_pseudonymous(sqlite_registry, out_dir, schema):
    from ilpkit.services.deidentify import DeidentifyOptions, pseudonym

    key = b"odm-test-key-0123456789"
    path = out_dir / "shared.xml"
    export_registry_as(sqlite_registry, path, "odm", "tester", deidentify=DeidentifyOptions(key))
    doc = etree.parse(str(path))
    assert schema.validate(doc), schema.error_log
    keys = doc.xpath("//odm:SubjectData/@SubjectKey", namespaces=NS)
    assert sorted(keys) == sorted("SYN-" + pseudonym(key, f"SYN-000{i}") for i in (1, 2, 3))
    assert b"SYN-000" not in path.read_bytes()
    assert (out_dir / "shared.xml.manifest.json").exists()


def test_coarsened_odm_is_valid_with_years_and_age_bands(sqlite_registry, out_dir, schema):
    from ilpkit.services.deidentify import DeidentifyOptions

    options = DeidentifyOptions(b"odm-test-key-0123456789", coarsen_age=True, year_only=True)
    path = out_dir / "coarse.xml"
    export_registry_as(sqlite_registry, path, "odm", "tester", deidentify=options)
    doc = etree.parse(str(path))
    assert schema.validate(doc), schema.error_log
    assert not doc.xpath("//odm:ItemDef[@OID='IT.BIRTH_DATE']", namespaces=NS)
    assert not doc.xpath("//odm:ItemData[@ItemOID='IT.BIRTH_DATE']", namespaces=NS)
    (ilp_type,) = doc.xpath("//odm:ItemDef[@OID='IT.ILP_DATE']/@DataType", namespaces=NS)
    assert ilp_type == "partialDate"
    years = doc.xpath("//odm:ItemData[@ItemOID='IT.ILP_DATE']/@Value", namespaces=NS)
    assert len(years) == 4 and all(len(y) == 4 and y.isdigit() for y in years)
    bands = doc.xpath("//odm:ItemData[@ItemOID='IT.AGE_BAND']/@Value", namespaces=NS)
    # ages at perfusion: 50 and 52 (SYN-0001), 40 (SYN-0002), 60 (SYN-0003): unchanged by shifts
    assert sorted(int(b) for b in bands) == [40, 50, 50, 60]
