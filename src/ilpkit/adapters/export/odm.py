"""CDISC ODM 1.3.2 (Operational Data Model) files of the registry: metadata and clinical data.

The metadata describe the study as the data dictionary does: one study event per patient
(non-repeating) and one per perfusion (repeating), their forms, item groups and items, with data
types, units, range checks (with the reason and source of each limit as the error message) and code
lists. The clinical data hold one ``SubjectData`` per patient. Element order and attributes follow
the ODM 1.3.2 schema (CDISC, ODM1-3-2-foundation.xsd); the tests validate every file written against
that schema. Written with lxml, streaming one subject at a time so that memory stays flat.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from lxml import etree

from ilpkit import __version__
from ilpkit.adapters.export.columns import ColumnMeta, column_meta, field_meta
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
        (
            "max_leakage_pct",
            "wieberdink_grade",
            "max_tissue_temp_c",
            "perfusion_minutes",
            "systemic_toxicity_grade",
            "complication_clavien_dindo",
        ),
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
            "adjuvant_radiotherapy",
            "pathological_necrosis_pct",
            "amputation_reason",
        ),
    ),
)


AGE_BAND = "age_band"
"""Item of a coarsened export: age at the perfusion, 5-year band (lower bound)."""


@dataclass(frozen=True, slots=True)
class Layout:
    """The item groups of one export and how its dates are written.

    Attributes
    ----------
    patient : ItemGroup
    perfusion : tuple of ItemGroup
    year_only : bool
        Dates are years only (``partialDate`` items).
    """

    patient: ItemGroup
    perfusion: tuple[ItemGroup, ...]
    year_only: bool = False

    @property
    def groups(self) -> tuple[ItemGroup, ...]:
        """Every item group, patient first."""
        return (self.patient, *self.perfusion)


def layout(age_band: bool = False, year_only: bool = False) -> Layout:
    """The layout of a full export, or of a coarsened one: with ``age_band`` the birth date is
    left out and the perfusion group holds the age band; with ``year_only`` dates are years."""
    if not age_band:
        return Layout(PATIENT_GROUP, PERFUSION_GROUPS, year_only)
    patient = ItemGroup(
        PATIENT_GROUP.oid,
        PATIENT_GROUP.name,
        tuple(f for f in PATIENT_GROUP.fields if f != "birth_date"),
    )
    first = PERFUSION_GROUPS[0]
    perfusion = (
        ItemGroup(first.oid, first.name, (first.fields[0], AGE_BAND, *first.fields[1:])),
        *PERFUSION_GROUPS[1:],
    )
    return Layout(patient, perfusion, year_only)


FULL_LAYOUT = layout()


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


def metadata_element(study_name: str, created: datetime, lay: Layout = FULL_LAYOUT) -> Any:
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
    _e(form, "ItemGroupRef", ItemGroupOID=lay.patient.oid, Mandatory="Yes")
    form = _e(mdv, "FormDef", OID="F.PERFUSION", Name="Perfusion", Repeating="No")
    for group in lay.perfusion:
        _e(form, "ItemGroupRef", ItemGroupOID=group.oid, Mandatory="Yes")
    names = set()
    for group in lay.groups:
        ig = _e(mdv, "ItemGroupDef", OID=group.oid, Name=group.name, Repeating="No")
        for order, name in enumerate(group.fields, start=1):
            names.add(name)
            spec_or_none = FIELDS_BY_NAME.get(name)
            _e(
                ig,
                "ItemRef",
                ItemOID=_item_oid(name),
                OrderNumber=str(order),
                Mandatory="Yes" if spec_or_none is not None and spec_or_none.required else "No",
            )
    if AGE_BAND in names:
        item = _e(mdv, "ItemDef", OID=_item_oid(AGE_BAND), Name=AGE_BAND, DataType="integer")
        _text(
            item,
            "Description",
            "Age at the perfusion in completed years, in 5-year bands, written as the lower "
            "bound of the band (60 = 60 to 64 years); the birth date is not exported.",
        )
        _text(item, "Question", column_meta(AGE_BAND).label)
    for spec in FIELDS:
        if spec.name not in names:
            continue
        meta = field_meta(spec.name)
        data_type = _DATA_TYPES[spec.kind]
        if spec.kind == "date" and lay.year_only:
            data_type = "partialDate"
        attrs = {"OID": _item_oid(spec.name), "Name": spec.name, "DataType": data_type}
        if spec.kind in ("identifier", "code"):
            attrs["Length"] = "32" if spec.name == "center" else "64"
        elif spec.kind in ("choice", "yes/no"):
            values = spec.choices if spec.kind == "choice" else ("yes", "no")
            attrs["Length"] = str(max(len(v) for v in values))
        item = _e(mdv, "ItemDef", **attrs)
        description = spec.description + (f" {spec.reason()}" if spec.reason() else "")
        if spec.kind == "date" and lay.year_only:
            description += " Coarsened: the year only."
        _text(item, "Description", description)
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


_FORMATTERS: dict[str, Callable[[object], str]] = {f.name: f.format for f in FIELDS}
_FORMATTERS[AGE_BAND] = str
_ITEM_OIDS = {name: _item_oid(name) for name in (*(f.name for f in FIELDS), AGE_BAND)}
_GROUP_OPEN = {
    g.oid: f'<ItemGroupData ItemGroupOID="{g.oid}">' for g in (PATIENT_GROUP, *PERFUSION_GROUPS)
}
_ATTR_ESCAPES = {'"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"}


def _item_group(parts: list[str], group: ItemGroup, row: dict[str, Any]) -> None:
    parts.append(_GROUP_OPEN[group.oid])
    for name in group.fields:
        value = row.get(name)
        if value is not None:
            text = escape(_FORMATTERS[name](value), _ATTR_ESCAPES)
            parts.append(f'<ItemData ItemOID="{_ITEM_OIDS[name]}" Value="{text}"/>')
    parts.append("</ItemGroupData>")


def subject_xml(patient_id: str, rows: Sequence[dict[str, Any]], lay: Layout = FULL_LAYOUT) -> str:
    """``SubjectData`` of one patient as XML text: the patient event, then one event per
    perfusion (values escaped for XML attributes)."""
    parts = [
        f'<SubjectData xmlns="{ODM_NS}" SubjectKey="{escape(patient_id, _ATTR_ESCAPES)}">',
        '<StudyEventData StudyEventOID="SE.PATIENT"><FormData FormOID="F.PATIENT">',
    ]
    _item_group(parts, lay.patient, rows[0])
    parts.append("</FormData></StudyEventData>")
    for k, row in enumerate(rows, start=1):
        parts.append(
            f'<StudyEventData StudyEventOID="SE.PERFUSION" StudyEventRepeatKey="{k}">'
            '<FormData FormOID="F.PERFUSION">'
        )
        for group in lay.perfusion:
            _item_group(parts, group, row)
        parts.append("</FormData></StudyEventData>")
    parts.append("</SubjectData>")
    return "".join(parts)


def subject_element(
    patient_id: str, rows: Sequence[dict[str, Any]], lay: Layout = FULL_LAYOUT
) -> Any:
    """``SubjectData`` of one patient as an lxml element (parsed from :func:`subject_xml`,
    which is several times faster than building it element by element)."""
    return etree.fromstring(subject_xml(patient_id, rows, lay))


def write_odm(
    patients: Iterable[tuple[str, Sequence[dict[str, Any]]]],
    path: Path,
    created: datetime,
    study_name: str = "TM-ILP registry",
    file_oid: str | None = None,
    lay: Layout = FULL_LAYOUT,
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
    lay : Layout
        The item groups (see :func:`layout`; coarsened exports leave out the birth date and
        write years for dates: rows then hold ``age_band`` and whole years).
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
            xf.write(metadata_element(study_name, created, lay), pretty_print=True)
            with xf.element(
                f"{{{ODM_NS}}}ClinicalData", StudyOID=STUDY_OID, MetaDataVersionOID=MDV_OID
            ):
                for patient_id, rows in patients:
                    xf.write(subject_element(patient_id, rows, lay), pretty_print=True)
                    count += 1
    return count
