"""HL7 FHIR R4 (4.0.1) transaction Bundles with mCODE STU4 profiles, one per patient.

Each Bundle holds: the Patient (pseudonymous identifier only; sex, birth date, date of death);
the primary cancer Condition per distinct histology and limb (histology as ICD-O-3 morphology in
the mCODE histology extension, body site as SNOMED CT); per perfusion the tumour size Observation,
the perfusion itself as a cancer-related surgical Procedure, the TNF-alpha and melphalan doses as
MedicationAdministrations (part of that Procedure), the response as a cancer disease status
Observation; and the outcome events: resection and amputation as Procedures, local recurrence and
distant metastasis as disease status Observations (worsened).

Every code used, with the source that verifies it, is in :data:`CODES` and docs/interop.md. Where
no verified code exists (isolated limb perfusion, tasonermin, melphalan, the soft-tissue sarcoma
disorder) the concept is sent as text only, never with an invented code. Resources are built as
plain JSON-ready dicts for speed (constant parts such as codes and profiles are shared, cached
objects: never modify a returned Bundle in place); the tests parse every resource with
``fhir.resources``.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson

from ilpkit.adapters.export.columns import CHOICE_NAMES
from ilpkit.domain.tumour import HISTOLOGY_LABELS, Histology

SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
ICD_O_3 = "http://terminology.hl7.org/CodeSystem/icd-o-3"
UCUM = "http://unitsofmeasure.org"
MCODE = "http://hl7.org/fhir/us/mcode/StructureDefinition/"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
DEFAULT_IDENTIFIER_SYSTEM = "urn:ilpkit:patient-id"
"""Identifier system of the pseudonymous patient id; a deployment may name its own URI."""

_NAMESPACE = uuid.UUID("5b3f0e52-8d0a-4a8e-9d3e-6f0a3c2b9e11")
"""Namespace of the resource UUIDs (uuid5 of patient id and resource role): re-exports agree."""
_NAMESPACE_BYTES = _NAMESPACE.bytes

HISTOLOGY_ICD_O_3: dict[Histology, tuple[str, str]] = {
    Histology.LEIOMYOSARCOMA: ("8890/3", "Leiomyosarcoma, NOS"),
    Histology.LIPOSARCOMA: ("8850/3", "Liposarcoma, NOS"),
    Histology.MYXOFIBROSARCOMA: ("8811/3", "Myxofibrosarcoma"),
    Histology.UNDIFFERENTIATED_PLEOMORPHIC_SARCOMA: ("8802/3", "Giant cell sarcoma"),
    Histology.SYNOVIAL_SARCOMA: ("9040/3", "Synovial sarcoma, NOS"),
    Histology.MPNST: ("9540/3", "Malignant peripheral nerve sheath tumor, NOS"),
    Histology.ANGIOSARCOMA: ("9120/3", "Hemangiosarcoma"),
    Histology.EPITHELIOID_SARCOMA: ("8804/3", "Epithelioid sarcoma, NOS"),
    Histology.CLEAR_CELL_SARCOMA: ("9044/3", "Clear cell sarcoma, NOS"),
    Histology.RHABDOMYOSARCOMA: ("8900/3", "Rhabdomyosarcoma, NOS"),
    Histology.KAPOSI_SARCOMA: ("9140/3", "Kaposi sarcoma"),
    Histology.FIBROSARCOMA: ("8810/3", "Fibrosarcoma, NOS"),
    Histology.ALVEOLAR_SOFT_PART_SARCOMA: ("9581/3", "Alveolar soft part sarcoma"),
    Histology.EXTRASKELETAL_MYXOID_CHONDROSARCOMA: ("9231/3", "Myxoid chondrosarcoma"),
    Histology.DERMATOFIBROSARCOMA_PROTUBERANS: ("8832/1", "Dermatofibrosarcoma protuberans, NOS"),
    Histology.OTHER: ("8800/3", "Sarcoma, NOS"),
}
"""ICD-O-3 morphology/behaviour code and ICD-O-3.2 term of each histology (IACR ICD-O-3.2)."""

LIMB_SITE: dict[str, tuple[str, str]] = {
    "arm": ("53120007", "Upper limb structure (body structure)"),
    "leg": ("61685007", "Lower limb structure (body structure)"),
}
"""SNOMED CT body structures of the perfused limb."""

RESPONSE_STATUS: dict[str, tuple[str, str]] = {
    "CR": ("268910001", "Patient's condition improved (finding)"),
    "PR": ("268910001", "Patient's condition improved (finding)"),
    "NC": ("359746009", "Patient's condition stable (finding)"),
    "PD": ("271299001", "Patient's condition worsened (finding)"),
    "NE": ("709137006", "Patient condition undetermined (finding)"),
}
"""WHO response mapped to mCODE ConditionStatusTrendVS (a required binding); the WHO category
itself is kept in the concept's text."""

WORSENED = ("271299001", "Patient's condition worsened (finding)")
MALIGNANT_NEOPLASM = ("363346000", "Malignant neoplastic disease (disorder)")
AMPUTATION = ("81723002", "Amputation (procedure)")
SURGICAL_PROCEDURE = ("387713003", "Surgical procedure (procedure)")

CODES: tuple[tuple[str, str, str, str], ...] = (
    (SNOMED, MALIGNANT_NEOPLASM[0], MALIGNANT_NEOPLASM[1], "mCODE STU4 VS_CancerCondition.fsh"),
    (SNOMED, LIMB_SITE["arm"][0], LIMB_SITE["arm"][1], "MII oncology module (Strahlentherapie)"),
    (SNOMED, LIMB_SITE["leg"][0], LIMB_SITE["leg"][1], "MII oncology module (Strahlentherapie)"),
    (SNOMED, AMPUTATION[0], AMPUTATION[1], "HL7 pediatric cancer IG SD_Procedure.fsh"),
    (SNOMED, SURGICAL_PROCEDURE[0], SURGICAL_PROCEDURE[1], "mCODE STU4 VS_Other.fsh"),
    (SNOMED, "268910001", "Patient's condition improved (finding)", "mCODE STU4 VS_Other.fsh"),
    (SNOMED, "359746009", "Patient's condition stable (finding)", "mCODE STU4 VS_Other.fsh"),
    (SNOMED, "271299001", "Patient's condition worsened (finding)", "mCODE STU4 VS_Other.fsh"),
    (SNOMED, "709137006", "Patient condition undetermined (finding)", "mCODE STU4 VS_Other.fsh"),
    (LOINC, "21889-1", "Size Tumor", "mCODE STU4 SD_TumorSize.fsh"),
    (LOINC, "33728-7", "Size.maximum dimension in Tumor", "mCODE STU4 SD_TumorSize.fsh"),
    (LOINC, "97509-4", "Cancer Disease Progression", "mCODE STU4 SD_DiseaseStatus.fsh"),
)
"""Every SNOMED CT and LOINC code written (besides ICD-O-3 and UCUM), with its source."""

TEXT_ONLY: tuple[tuple[str, str], ...] = (
    ("Isolated limb perfusion with TNF-alpha and melphalan (TM-ILP)", "Procedure.code"),
    ("Tasonermin (TNF-alpha-1a)", "MedicationAdministration.medicationCodeableConcept"),
    ("Melphalan", "MedicationAdministration.medicationCodeableConcept"),
)
"""Concepts sent as text only: no code for them could be verified."""


def uuid5(name: str) -> str:
    """``str(uuid.uuid5(_NAMESPACE, name))`` without building UUID objects (RFC 4122, 4.3:
    SHA-1 of namespace and name, version 5, RFC 4122 variant); a test checks the equality."""
    digest = bytearray(hashlib.sha1(_NAMESPACE_BYTES + name.encode("utf-8")).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _coding(system: str, code: str, display: str) -> dict[str, Any]:
    return {"system": system, "code": code, "display": display}


@lru_cache(maxsize=4096)
def _concept(system: str, code: str, display: str, text: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"coding": [_coding(system, code, display)]}
    if text:
        out["text"] = text
    return out


def _mg(value: float) -> dict[str, Any]:
    return {"value": value, "unit": "mg", "system": UCUM, "code": "mg"}


def _iso(value: date | int | None) -> str | None:
    """A FHIR date: ``YYYY-MM-DD``, or ``YYYY`` for a year (a coarsened export)."""
    if value is None:
        return None
    if isinstance(value, int):
        return f"{value:04d}"
    return value.isoformat()


class _Bundle:
    """Collects the entries of one patient's transaction Bundle."""

    def __init__(self, patient_id: str) -> None:
        self.patient_id = patient_id
        self.entries: list[dict[str, Any]] = []

    def url(self, role: str) -> str:
        return f"urn:uuid:{uuid5(f'{self.patient_id}/{role}')}"

    def add(self, role: str, resource: dict[str, Any], if_none_exist: str | None = None) -> str:
        full_url = self.url(role)
        request: dict[str, Any] = {"method": "POST", "url": resource["resourceType"]}
        if if_none_exist:
            request["ifNoneExist"] = if_none_exist
        self.entries.append({"fullUrl": full_url, "resource": resource, "request": request})
        return full_url

    def to_dict(self) -> dict[str, Any]:
        return {"resourceType": "Bundle", "type": "transaction", "entry": self.entries}


@lru_cache(maxsize=64)
def _profile(name: str) -> dict[str, Any]:
    return {"profile": [MCODE + name]}


def patient_bundle(
    patient_id: str,
    rows: Sequence[dict[str, Any]],
    identifier_system: str = DEFAULT_IDENTIFIER_SYSTEM,
) -> dict[str, Any]:
    """The transaction Bundle of one patient.

    Parameters
    ----------
    patient_id : str
        The (pseudonymous) patient identifier.
    rows : sequence of dict
        The patient's perfusion rows in date order: plain values keyed by Registry CSV v1 column.
    identifier_system : str
        URI of the identifier system of ``patient_id``.

    Returns
    -------
    dict
        A FHIR R4 Bundle (``type`` transaction) as JSON-ready data.
    """
    first = rows[0]
    b = _Bundle(patient_id)
    patient: dict[str, Any] = {
        "resourceType": "Patient",
        "meta": _profile("mcode-cancer-patient"),
        "identifier": [
            {
                "use": "secondary",
                "system": identifier_system,
                "value": patient_id,
                "assigner": {"display": f"centre {first['center']}"},
            }
        ],
        "gender": {"M": "male", "F": "female"}[str(first["sex"])],
    }
    if first.get("birth_date") is not None:  # left out by age coarsening
        patient["birthDate"] = _iso(first["birth_date"])
    if first["death_date"] is not None:
        patient["deceasedDateTime"] = _iso(first["death_date"])
    else:
        patient["deceasedBoolean"] = False
    subject = {
        "reference": b.add("patient", patient, f"identifier={identifier_system}|{patient_id}")
    }

    conditions: dict[tuple[str, str], str] = {}
    for k, row in enumerate(rows, start=1):
        limb = str(row["limb"])
        histology = Histology(row["histology"])
        site_code, site_display = LIMB_SITE[limb]
        site = _concept(SNOMED, site_code, site_display, f"{limb} ({row['perfusion_level']})")
        key = (histology.value, limb)
        if key not in conditions:
            morphology, term = HISTOLOGY_ICD_O_3[histology]
            condition = {
                "resourceType": "Condition",
                "meta": _profile("mcode-primary-cancer-condition"),
                "extension": [
                    {
                        "url": MCODE + "mcode-histology-morphology-behavior",
                        "valueCodeableConcept": _concept(
                            ICD_O_3, morphology, term, HISTOLOGY_LABELS[histology]
                        ),
                    }
                ],
                "verificationStatus": _concept(CONDITION_VERIFICATION, "confirmed", "Confirmed"),
                "category": [
                    _concept(CONDITION_CATEGORY, "problem-list-item", "Problem List Item")
                ],
                "code": _concept(
                    SNOMED,
                    *MALIGNANT_NEOPLASM,
                    f"Soft-tissue sarcoma of the {limb}: {HISTOLOGY_LABELS[histology]}",
                ),
                "bodySite": [site],
                "subject": subject,
            }
            conditions[key] = b.add(f"condition/{histology.value}/{limb}", condition)
        focus = [{"reference": conditions[key]}]
        when = _iso(row["ilp_date"])

        if row["tumor_size_cm"] is not None:
            b.add(
                f"tumor-size/{k}",
                {
                    "resourceType": "Observation",
                    "meta": _profile("mcode-tumor-size"),
                    "status": "final",
                    "category": [_concept(OBSERVATION_CATEGORY, "exam", "Exam")],
                    "code": _concept(LOINC, "21889-1", "Size Tumor"),
                    "subject": subject,
                    "focus": focus,
                    "effectiveDateTime": when,
                    "component": [
                        {
                            "code": _concept(LOINC, "33728-7", "Size.maximum dimension in Tumor"),
                            "valueQuantity": {
                                "value": row["tumor_size_cm"],
                                "unit": "cm",
                                "system": UCUM,
                                "code": "cm",
                            },
                        }
                    ],
                },
            )
        ilp = b.add(
            f"ilp/{k}",
            {
                "resourceType": "Procedure",
                "meta": _profile("mcode-cancer-related-surgical-procedure"),
                "status": "completed",
                "code": {"text": TEXT_ONLY[0][0]},
                "subject": subject,
                "performedDateTime": when,
                "reasonReference": focus,
                "bodySite": [site],
            },
        )
        for role, text, dose in (
            ("tnf", TEXT_ONLY[1][0], row["tnf_mg"]),
            ("melphalan", TEXT_ONLY[2][0], row["melphalan_mg"]),
        ):
            b.add(
                f"{role}/{k}",
                {
                    "resourceType": "MedicationAdministration",
                    "meta": _profile("mcode-cancer-related-medication-administration"),
                    "status": "completed",
                    "medicationCodeableConcept": {"text": text},
                    "subject": subject,
                    "partOf": [{"reference": ilp}],
                    "effectiveDateTime": when,
                    "reasonReference": focus,
                    "dosage": {
                        "text": f"{dose:g} mg into the isolated limb perfusion circuit",
                        "route": {"text": "Isolated limb perfusion (regional intra-arterial)"},
                        "dose": _mg(float(dose)),
                    },
                },
            )
        if row["response"] is not None:
            code, display = RESPONSE_STATUS[str(row["response"])]
            words = CHOICE_NAMES["response"][str(row["response"])]
            b.add(
                f"response/{k}",
                _status(
                    subject,
                    focus,
                    None,
                    _concept(SNOMED, code, display, f"WHO response {row['response']}: {words}"),
                    {"reference": ilp},
                ),
            )
        if row["resection_date"] is not None:
            resection: dict[str, Any] = {
                "resourceType": "Procedure",
                "meta": _profile("mcode-cancer-related-surgical-procedure"),
                "status": "completed",
                "code": _concept(
                    SNOMED, *SURGICAL_PROCEDURE, "Resection of the tumour (remnant) after ILP"
                ),
                "subject": subject,
                "performedDateTime": _iso(row["resection_date"]),
                "reasonReference": focus,
                "bodySite": [site],
            }
            if row["resection_margin"] is not None:
                margin = str(row["resection_margin"])
                names = CHOICE_NAMES["resection_margin"]
                resection["outcome"] = {"text": f"{margin}: {names[margin]}"}
            b.add(f"resection/{k}", resection)
        if row["amputation_date"] is not None:
            b.add(
                f"amputation/{k}",
                {
                    "resourceType": "Procedure",
                    "meta": _profile("mcode-cancer-related-surgical-procedure"),
                    "status": "completed",
                    "code": _concept(SNOMED, *AMPUTATION, f"Amputation of the {limb}"),
                    "subject": subject,
                    "performedDateTime": _iso(row["amputation_date"]),
                    "reasonReference": focus,
                    "bodySite": [site],
                },
            )
        for name, words in (
            ("local_recurrence_date", "Local recurrence"),
            ("distant_metastasis_date", "Distant metastasis"),
        ):
            if row[name] is not None:
                b.add(
                    f"{name}/{k}",
                    _status(
                        subject,
                        focus,
                        _iso(row[name]),
                        _concept(SNOMED, *WORSENED, f"{words} after the ILP of {when}"),
                        None,
                    ),
                )
    return b.to_dict()


def _status(
    subject: dict[str, Any],
    focus: list[dict[str, Any]],
    when: str | None,
    value: dict[str, Any],
    part_of: dict[str, Any] | None,
) -> dict[str, Any]:
    obs: dict[str, Any] = {
        "resourceType": "Observation",
        "meta": _profile("mcode-cancer-disease-status"),
        "status": "final",
        "code": _concept(LOINC, "97509-4", "Cancer Disease Progression"),
        "subject": subject,
        "focus": focus,
    }
    if part_of is not None:
        obs["partOf"] = [part_of]
    if when is not None:
        obs["effectiveDateTime"] = when
    obs["valueCodeableConcept"] = value
    return obs


def write_bundle(bundle: dict[str, Any], path: Path) -> None:
    """Write one Bundle as compact UTF-8 JSON (orjson: about 7 times faster than the standard
    library's encoder on these Bundles)."""
    path.write_bytes(orjson.dumps(bundle))
