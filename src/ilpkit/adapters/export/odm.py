"""CDISC ODM 1.3.2 (Operational Data Model) files of the registry: metadata and clinical data.

The metadata describe the study as the data dictionary does: one study event per patient
(non-repeating) and one per perfusion (repeating), their forms, item groups and items, with data
types, units, range checks (with the reason and source of each limit as the error message) and code
lists. The clinical data hold one ``SubjectData`` per patient. Element order and attributes follow
the ODM 1.3.2 schema (CDISC, ODM1-3-2-foundation.xsd); the tests validate every file written against
that schema. Written with lxml, streaming one subject at a time so that memory stays flat.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from lxml import etree

from ilpkit import __version__
from ilpkit.adapters.export.columns import ColumnMeta, field_meta
from ilpkit.domain.fields import FIELDS, FIELDS_BY_NAME, FORMAT_NAME

ODM_NS = "http://www.cdisc.org/ns/odm/v1.3"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
STUDY_OID = "ILPKIT.TMILP"
MDV_OID = "MDV.REGISTRY_CSV_V1"

_DATA_TYPES = {
    "date": "date",
    "number": "float",
    "integer": "integer",
    "choice": "text",
    "yes/no": "text",
    "identifier": "text",
    "code": "text",
}
_UNIT_OIDS = {
    "L": "MU.L",
    "mg": "MU.MG",
    "cm": "MU.CM",
    "%": "MU.PCT",
    "°C": "MU.CEL",
    "min": "MU.MIN",
}
_UNIT_SYMBOLS = {"L": "L", "mg": "mg", "cm": "cm", "%": "%", "°C": "Cel", "min": "min"}
"""Unit symbols written as UCUM codes (UCUM: L, mg, cm, %, Cel)."""


@dataclass(frozen=True, slots=True)
class ItemGroup:
    """One item group: OID, name and the registry fields it holds."""

    oid: str
    name: str
    fields: tuple[str, ...]


PATIENT_GROUP = ItemGroup(
    "IG.PATIENT", "Patient", tuple(f.name for f in FIELDS if f.level == "patient")
)
PERFUSION_GROUPS = (
    ItemGroup(
        "IG.PERFUSION",
        "Perfusion and doses",
        (
            "ilp_date",
            "limb",
            "perfusion_level",
            "limb_volume_l",
            "limb_volume_method",
            "tnf_mg",
            "melphalan_mg",
        ),
    ),
    ItemGroup(
        "IG.TUMOUR",
        "Tumour",
        (
            "histology",
            "grade",
            "tumor_size_cm",
            "multifocal",
            "presentation",
            "prior_radiotherapy",
        ),
    ),
    ItemGroup(
        "IG.CONDUCT",
        "Conduct of the perfusion",
        ("max_leakage_pct", "wieberdink_grade", "max_tissue_temp_c", "perfusion_minutes"),
    ),
    ItemGroup(
        "IG.OUTCOME",
        "Response and outcome",
        (
            "response",
            "resection_date",
            "resection_margin",
            "amputation_date",
            "local_recurrence_date",
            "distant_metastasis_date",
        ),
    ),
)


def _e(parent: Any, tag: str, **attrs: str) -> Any:
    return etree.SubElement(parent, f"{{{ODM_NS}}}{tag}", {k: v for k, v in attrs.items()})


def _text(parent: Any, tag: str, text: str) -> Any:
    el = _e(parent, tag)
    tt = _e(el, "TranslatedText")
    tt.set(XML_LANG, "en")
    tt.text = text
    return el


def _item_oid(name: str) -> str:
    return f"IT.{name.upper()}"


def _codelist_oid(name: str) -> str:
    return "CL.YES_NO" if FIELDS_BY_NAME[name].kind == "yes/no" else f"CL.{name.upper()}"


def _number(value: float) -> str:
    return f"{value:g}" if value == int(value) else repr(value)


def _range_checks(item: Any, meta: ColumnMeta) -> None:
    rng = meta.range
    if rng is None:
        return
    bounds = []
    if rng.low is not None:
        bounds.append(("GE" if rng.low_inclusive else "GT", rng.low))
    if rng.high is not None:
        bounds.append(("LE" if rng.high_inclusive else "LT", rng.high))
    for comparator, value in bounds:
        check = _e(item, "RangeCheck", Comparator=comparator, SoftHard="Hard")
        _e(check, "CheckValue").text = _number(value)
        if meta.unit in _UNIT_OIDS:
            _e(check, "MeasurementUnitRef", MeasurementUnitOID=_UNIT_OIDS[meta.unit])
        _text(check, "ErrorMessage", f"must be {rng.describe()}: {rng.reason} ({rng.source})")


def metadata_element(study_name: str, created: datetime) -> Any:
    """The ``Study`` element: global variables, units and the metadata version."""
    study = etree.Element(f"{{{ODM_NS}}}Study", OID=STUDY_OID, nsmap={None: ODM_NS})
    gv = _e(study, "GlobalVariables")
    _e(gv, "StudyName").text = study_name
    _e(gv, "StudyDescription").text = (
        "Registry of TNF-alpha + melphalan isolated limb perfusion (TM-ILP) for soft-tissue "
        f"sarcoma, exported by ilpkit {__version__} on {created.date().isoformat()}."
    )
    _e(gv, "ProtocolName").text = "TM-ILP registry"
    basic = _e(study, "BasicDefinitions")
    for unit, oid in _UNIT_OIDS.items():
        mu = _e(basic, "MeasurementUnit", OID=oid, Name=unit)
        _text(mu, "Symbol", _UNIT_SYMBOLS[unit])
    mdv = _e(study, "MetaDataVersion", OID=MDV_OID, Name=FORMAT_NAME)
    protocol = _e(mdv, "Protocol")
    _e(protocol, "StudyEventRef", StudyEventOID="SE.PATIENT", OrderNumber="1", Mandatory="Yes")
    _e(protocol, "StudyEventRef", StudyEventOID="SE.PERFUSION", OrderNumber="2", Mandatory="Yes")
    se = _e(mdv, "StudyEventDef", OID="SE.PATIENT", Name="Patient", Repeating="No", Type="Common")
    _e(se, "FormRef", FormOID="F.PATIENT", Mandatory="Yes")
    se = _e(
        mdv,
        "StudyEventDef",
        OID="SE.PERFUSION",
        Name="Perfusion",
        Repeating="Yes",
        Type="Scheduled",
    )
    _e(se, "FormRef", FormOID="F.PERFUSION", Mandatory="Yes")
    form = _e(mdv, "FormDef", OID="F.PATIENT", Name="Patient", Repeating="No")
    _e(form, "ItemGroupRef", ItemGroupOID=PATIENT_GROUP.oid, Mandatory="Yes")
    form = _e(mdv, "FormDef", OID="F.PERFUSION", Name="Perfusion", Repeating="No")
    for group in PERFUSION_GROUPS:
        _e(form, "ItemGroupRef", ItemGroupOID=group.oid, Mandatory="Yes")
    for group in (PATIENT_GROUP, *PERFUSION_GROUPS):
        ig = _e(mdv, "ItemGroupDef", OID=group.oid, Name=group.name, Repeating="No")
        for order, name in enumerate(group.fields, start=1):
            _e(
                ig,
                "ItemRef",
                ItemOID=_item_oid(name),
                OrderNumber=str(order),
                Mandatory="Yes" if FIELDS_BY_NAME[name].required else "No",
            )
    for spec in FIELDS:
        meta = field_meta(spec.name)
        attrs = {"OID": _item_oid(spec.name), "Name": spec.name, "DataType": _DATA_TYPES[spec.kind]}
        if spec.kind in ("identifier", "code"):
            attrs["Length"] = "32" if spec.name == "center" else "64"
        elif spec.kind in ("choice", "yes/no"):
            values = spec.choices if spec.kind == "choice" else ("yes", "no")
            attrs["Length"] = str(max(len(v) for v in values))
        item = _e(mdv, "ItemDef", **attrs)
        _text(
            item, "Description", spec.description + (f" {spec.reason()}" if spec.reason() else "")
        )
        _text(item, "Question", meta.label)
        if meta.unit in _UNIT_OIDS:
            _e(item, "MeasurementUnitRef", MeasurementUnitOID=_UNIT_OIDS[meta.unit])
        _range_checks(item, meta)
        if spec.kind in ("choice", "yes/no"):
            _e(item, "CodeListRef", CodeListOID=_codelist_oid(spec.name))
        alias = _e(item, "Alias", Context=FORMAT_NAME, Name=spec.name)
        del alias
    yes_no = _e(mdv, "CodeList", OID="CL.YES_NO", Name="yes/no", DataType="text")
    for value in ("yes", "no"):
        cli = _e(yes_no, "CodeListItem", CodedValue=value)
        _text(cli, "Decode", value)
    for spec in FIELDS:
        if spec.kind != "choice":
            continue
        cl = _e(mdv, "CodeList", OID=_codelist_oid(spec.name), Name=spec.name, DataType="text")
        for value, label in field_meta(spec.name).choices:
            cli = _e(cl, "CodeListItem", CodedValue=value)
            _text(cli, "Decode", label)
    return study


_FORMATTERS = {f.name: f.format for f in FIELDS}
_ITEM_OIDS = {f.name: _item_oid(f.name) for f in FIELDS}
_GROUP_OPEN = {
    g.oid: f'<ItemGroupData ItemGroupOID="{g.oid}">' for g in (PATIENT_GROUP, *PERFUSION_GROUPS)
}
_ATTR_ESCAPES = {'"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"}


def _item_group(parts: list[str], group: ItemGroup, row: dict[str, Any]) -> None:
    parts.append(_GROUP_OPEN[group.oid])
    for name in group.fields:
        value = row[name]
        if value is not None:
            text = escape(_FORMATTERS[name](value), _ATTR_ESCAPES)
            parts.append(f'<ItemData ItemOID="{_ITEM_OIDS[name]}" Value="{text}"/>')
    parts.append("</ItemGroupData>")


def subject_xml(patient_id: str, rows: Sequence[dict[str, Any]]) -> str:
    """``SubjectData`` of one patient as XML text: the patient event, then one event per
    perfusion (values escaped for XML attributes)."""
    parts = [
        f'<SubjectData xmlns="{ODM_NS}" SubjectKey="{escape(patient_id, _ATTR_ESCAPES)}">',
        '<StudyEventData StudyEventOID="SE.PATIENT"><FormData FormOID="F.PATIENT">',
    ]
    _item_group(parts, PATIENT_GROUP, rows[0])
    parts.append("</FormData></StudyEventData>")
    for k, row in enumerate(rows, start=1):
        parts.append(
            f'<StudyEventData StudyEventOID="SE.PERFUSION" StudyEventRepeatKey="{k}">'
            '<FormData FormOID="F.PERFUSION">'
        )
        for group in PERFUSION_GROUPS:
            _item_group(parts, group, row)
        parts.append("</FormData></StudyEventData>")
    parts.append("</SubjectData>")
    return "".join(parts)


def subject_element(patient_id: str, rows: Sequence[dict[str, Any]]) -> Any:
    """``SubjectData`` of one patient as an lxml element (parsed from :func:`subject_xml`,
    which is several times faster than building it element by element)."""
    return etree.fromstring(subject_xml(patient_id, rows))


def write_odm(
    patients: Iterable[tuple[str, Sequence[dict[str, Any]]]],
    path: Path,
    created: datetime,
    study_name: str = "TM-ILP registry",
    file_oid: str | None = None,
) -> int:
    """Write an ODM 1.3.2 snapshot file; return the number of subjects written.

    Parameters
    ----------
    patients : iterable of (patient_id, rows)
        Each patient's perfusion rows (plain values keyed by Registry CSV v1 column, in date
        order), e.g. from :func:`ilpkit.adapters.export.columns.frame_rows`.
    path : Path
        File to write (UTF-8 XML).
    created : datetime
        Creation time written in the file (timezone-aware).
    study_name : str
        ``StudyName`` of the global variables.
    file_oid : str, optional
        Identifier of the file (default: derived from the creation time).
    """
    count = 0
    oid = file_oid or f"ILPKIT.EXPORT.{created.strftime('%Y%m%dT%H%M%S')}"
    with etree.xmlfile(str(path), encoding="utf-8") as xf:
        xf.write_declaration()
        attrs = {
            "FileType": "Snapshot",
            "FileOID": oid,
            "CreationDateTime": created.isoformat(timespec="seconds"),
            "ODMVersion": "1.3.2",
            "Originator": f"ilpkit {__version__}",
        }
        with xf.element(f"{{{ODM_NS}}}ODM", attrs, nsmap={None: ODM_NS}):
            xf.write(metadata_element(study_name, created), pretty_print=True)
            with xf.element(
                f"{{{ODM_NS}}}ClinicalData", StudyOID=STUDY_OID, MetaDataVersionOID=MDV_OID
            ):
                for patient_id, rows in patients:
                    xf.write(subject_element(patient_id, rows), pretty_print=True)
                    count += 1
    return count
