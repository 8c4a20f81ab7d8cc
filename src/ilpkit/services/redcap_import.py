"""Use case: import a REDCap project (data dictionary + raw records) through a mapping file.

The REDCap records are turned into Registry CSV v1 rows - one per perfusion, with its patient's
values - written to a temporary file and imported by the registry's own import
(:func:`ilpkit.services.registry_import.import_registry`): the same validation, the same merge
rules, all rows or none. Every problem, whether found here (the mapping, the REDCap structure,
codes and dates) or by the registry's validation, is reported with the REDCap record id,
instrument, instance and field it comes from, its value and the reason; then nothing is saved.

Refused, each with its own message:

- the mapping names a registry field that does not exist, or a REDCap field that is not in the
  data dictionary (or not in the records file); a required registry field has no mapping;
- a coded value (radio, dropdown, yesno) whose code the dictionary does not define, or that the
  mapping gives no registry value; a mapping code the dictionary does not define;
- a repeat instance (``redcap_repeat_instrument`` set) of a record that has no row of its own;
  a record without any perfusion;
- a date that is not written in the expected order (``date_format`` of the mapping; with
  ``validation``, the order of each field's validation type ``date_ymd`` / ``date_dmy`` /
  ``date_mdy``, which is converted), or is not a date.
"""

from __future__ import annotations

import csv
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TextIO

from ilpkit.adapters.csv.registry_csv import FORMULA_STARTS
from ilpkit.adapters.redcap.dictionary import (
    BOOLEAN_TYPES,
    DATE_ORDERS,
    DictionaryField,
    parse_date,
    read_dictionary,
)
from ilpkit.adapters.redcap.mapping_file import RedcapMapping, read_mapping
from ilpkit.adapters.redcap.records import RecordRow, RecordsFile, open_records
from ilpkit.domain.errors import Problem, RegistryValidationError, Severity, shorten
from ilpkit.domain.fields import FIELDS_BY_NAME, FILE_FIELDS, CellError, FieldSpec
from ilpkit.errors import IlpkitError
from ilpkit.services.gc_pause import without_cyclic_gc
from ilpkit.services.registry_import import ImportReport, import_registry

DATA_ACCESS_GROUP = "redcap_data_access_group"
"""REDCap's column of the record's data access group (exported with "export data access
groups"): not a dictionary field, but a patient-level field may be mapped to it (typically
``center``, with a ``[choices.center]`` table from group names to centre codes)."""

UNMAPPABLE_TYPES = ("checkbox", "file", "descriptive", "sql", "slider")
"""REDCap field types that cannot fill a registry field (several values, files, no value)."""


@dataclass(frozen=True, slots=True)
class RedcapProblem:
    """One problem, located in the REDCap project.

    Attributes
    ----------
    record_id, instrument, instance : str
        Where in the records (empty for problems of the mapping or dictionary).
    field : str
        The REDCap field (or mapping entry).
    registry_field : str
        The registry field it maps to, when there is one.
    value : str
        The value as read (or as mapped, for problems found by the registry's validation).
    reason : str
        Why it is refused.
    line : int or None
        Line in the records file.
    """

    record_id: str
    instrument: str
    instance: str
    field: str
    value: str
    reason: str
    registry_field: str = ""
    line: int | None = None
    severity: Severity = Severity.ERROR

    @property
    def is_error(self) -> bool:
        """True when the problem blocks the import."""
        return self.severity is Severity.ERROR

    def describe(self) -> str:
        """One line: ``record 12, perfusion #2, field 'ilp_dt', value '..': reason``."""
        parts = []
        if self.record_id:
            parts.append(f"record {self.record_id}")
        if self.instrument:
            parts.append(self.instrument + (f" #{self.instance}" if self.instance else ""))
        if self.field:
            parts.append(f"field '{self.field}'")
        if self.value:
            parts.append(f"value '{shorten(self.value)}'")
        where = ", ".join(parts)
        return f"{where}: {self.reason}" if where else self.reason

    def to_dict(self) -> dict[str, object]:
        """JSON-serialisable form."""
        return {
            "record_id": self.record_id,
            "instrument": self.instrument,
            "instance": self.instance,
            "field": self.field,
            "registry_field": self.registry_field,
            "value": shorten(self.value),
            "reason": self.reason,
            "line": self.line,
            "severity": self.severity.value,
        }


class RedcapImportError(IlpkitError):
    """The REDCap project cannot be imported; every problem is listed and nothing was saved."""

    def __init__(self, problems: list[RedcapProblem]):
        self.problems = problems
        n = sum(p.is_error for p in problems)
        super().__init__(f"{n} problem(s) found; nothing was saved")


@dataclass(frozen=True, slots=True)
class RedcapImportReport:
    """What the import did (or, for a dry run, would do)."""

    records: int
    perfusions: int
    registry: ImportReport
    warnings: list[RedcapProblem] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        """JSON-serialisable form."""
        return {
            "records": self.records,
            "perfusions": self.perfusions,
            **self.registry.to_dict(),
            "warnings": [w.to_dict() for w in self.warnings],
        }


Converter = Callable[[str], str]
"""REDCap raw text -> Registry CSV v1 text; raises ValueError with the reason."""


@dataclass(frozen=True, slots=True)
class _Column:
    """One Registry CSV v1 column of the import and where its values come from."""

    spec: FieldSpec
    redcap: str  # REDCap field, or "" for a fixed value
    form: str
    convert: Converter
    fixed: str = ""


@dataclass
class _Record:
    record_id: str
    line: int
    base: list[RecordRow] = field(default_factory=list)
    repeats: list[RecordRow] = field(default_factory=list)


def _mapping_problem(
    field_name: str, reason: str, registry: str = "", value: str = ""
) -> RedcapProblem:
    return RedcapProblem("", "", "", field_name, value, reason, registry)


def plan_columns(
    mapping: RedcapMapping, dictionary: list[DictionaryField]
) -> tuple[list[_Column], list[RedcapProblem]]:
    """The registry columns to fill and how, with every problem of the mapping."""
    problems: list[RedcapProblem] = []
    by_name = {f.name: f for f in dictionary}
    forms = {f.form for f in dictionary}
    if dictionary and mapping.record_id != dictionary[0].name:
        problems.append(
            _mapping_problem(
                mapping.record_id,
                "[project] record_id must be the record id field, the first field of the data "
                f"dictionary ('{dictionary[0].name}')",
            )
        )
    instrument = mapping.perfusion_instrument
    if instrument and instrument not in forms:
        problems.append(
            _mapping_problem(
                instrument,
                "[project] perfusion_instrument is not an instrument (Form Name) of the data "
                "dictionary",
            )
        )
    for name in [*mapping.fields, *mapping.values, *mapping.choices]:
        if name not in FIELDS_BY_NAME:
            problems.append(
                _mapping_problem(
                    name, "is not a registry field (see docs/data-dictionary.md)", name
                )
            )
    for name in mapping.values:
        if name in mapping.fields:
            problems.append(
                _mapping_problem(name, "is given both in [fields] and in [values]", name)
            )
    for name in mapping.choices:
        if name in FIELDS_BY_NAME and name not in mapping.fields:
            problems.append(
                _mapping_problem(
                    name, f"[choices.{name}] is given but [fields] has no {name}", name
                )
            )
    columns: list[_Column] = []
    for spec in FILE_FIELDS:
        name = spec.name
        if name in mapping.values:
            fixed = mapping.values[name]
            try:
                spec.parse(fixed)
            except CellError as exc:
                problems.append(_mapping_problem(f"[values] {name}", str(exc), name, fixed))
                continue
            columns.append(_Column(spec, "", "", lambda raw: raw, fixed))
            continue
        redcap = mapping.fields.get(name)
        if redcap is None:
            if spec.required:
                problems.append(
                    _mapping_problem(
                        name,
                        "this required registry field has no mapping: add it to [fields] "
                        "(registry field = REDCap field) or to [values]",
                        name,
                    )
                )
            continue
        f = by_name.get(redcap)
        if f is None and redcap == DATA_ACCESS_GROUP and spec.level == "patient" and dictionary:
            f = DictionaryField(DATA_ACCESS_GROUP, dictionary[0].form, "text", "Data access group")
        if f is None:
            problems.append(
                _mapping_problem(
                    redcap, f"is mapped to {name} but is not a field of the data dictionary", name
                )
            )
            continue
        column, found = _column(spec, f, mapping)
        problems.extend(found)
        if column is None:
            continue
        if (
            instrument
            and spec.level == "perfusion"
            and f.form != instrument
            and spec.name != "patient_id"
        ):
            problems.append(
                _mapping_problem(
                    redcap,
                    f"{name} is a perfusion field, but this field is on the instrument '{f.form}', "
                    f"not on the perfusion instrument '{instrument}'",
                    name,
                )
            )
        elif instrument and spec.level == "patient" and f.form == instrument:
            problems.append(
                _mapping_problem(
                    redcap,
                    f"{name} is a patient field, but this field is on the repeating perfusion "
                    f"instrument '{instrument}'",
                    name,
                )
            )
        columns.append(column)
    return columns, problems


def _column(
    spec: FieldSpec, f: DictionaryField, mapping: RedcapMapping
) -> tuple[_Column | None, list[RedcapProblem]]:
    name = spec.name
    problems: list[RedcapProblem] = []
    if f.field_type in UNMAPPABLE_TYPES:
        return None, [
            _mapping_problem(
                f.name, f"is a {f.field_type} field and cannot fill the registry field {name}", name
            )
        ]
    codes = f.codes
    table = mapping.choices.get(name)
    if codes:
        if table is None and f.field_type in BOOLEAN_TYPES and spec.kind == "yes/no":
            table = {"1": "yes", "0": "no"}
        if table is None:
            return None, [
                _mapping_problem(
                    f.name,
                    f"is a coded {f.field_type} field ({', '.join(codes)}): add "
                    f"[choices.{name}] giving the registry value of each code",
                    name,
                )
            ]
        for code, value in table.items():
            if code not in codes:
                problems.append(
                    _mapping_problem(
                        f.name,
                        f"unknown choice code '{code}' in [choices.{name}]: the data dictionary "
                        f"defines {', '.join(codes)}",
                        name,
                        code,
                    )
                )
            try:
                spec.parse(value)
            except CellError as exc:
                problems.append(_mapping_problem(f"[choices.{name}] {code}", str(exc), name, value))
        return _Column(spec, f.name, f.form, _coded(f, name, codes, table)), problems
    if spec.kind == "date":
        if f.validation and f.validation not in DATE_ORDERS:
            return None, [
                _mapping_problem(
                    f.name,
                    f"is validated as '{f.validation}', not as a date (date_ymd, date_dmy or "
                    f"date_mdy), so it cannot fill the date field {name}",
                    name,
                )
            ]
        order = mapping.date_format
        declared = ""
        if order == "validation":
            order = f.date_order or "YMD"
            declared = f" (the data dictionary declares {f.validation or 'no date validation'})"
        return _Column(spec, f.name, f.form, _dated(order, declared)), problems
    if table is not None:  # a text field recoded: every value must be in the table
        return _Column(spec, f.name, f.form, _recoded(name, table)), []
    if spec.kind == "number" and "comma_decimal" in f.validation:
        return _Column(spec, f.name, f.form, lambda raw: raw.strip().replace(",", ".")), []
    return _Column(spec, f.name, f.form, _plain), []


def _plain(raw: str) -> str:
    if "\n" in raw or "\r" in raw:
        raise ValueError("contains a line break, which no registry field allows")
    return raw.strip()


def _recoded(name: str, table: dict[str, str]) -> Converter:
    def convert(raw: str) -> str:
        text = raw.strip()
        if text == "" or text in table:
            return table.get(text, "")
        raise ValueError(f"has no registry value in [choices.{name}] of the mapping")

    return convert


def _coded(
    f: DictionaryField, name: str, codes: dict[str, str], table: dict[str, str]
) -> Converter:
    def convert(raw: str) -> str:
        code = raw.strip()
        if code == "":
            return ""
        value = table.get(code)
        if value is not None:
            return value
        if code in codes:
            raise ValueError(
                f"the choice code '{code}' ('{codes[code]}') has no registry value in "
                f"[choices.{name}] of the mapping"
            )
        raise ValueError(
            f"unknown choice code: the data dictionary defines {', '.join(codes)} for this field"
        )

    return convert


def _dated(order: str, declared: str) -> Converter:
    def convert(raw: str) -> str:
        text = raw.strip()
        if text == "":
            return ""
        try:
            return parse_date(text, order).isoformat()
        except ValueError as exc:
            raise ValueError(f"{exc}{declared}") from None

    return convert


def import_redcap(
    dictionary_path: Path,
    records_path: Path,
    mapping_path: Path,
    url: str | None,
    today: date,
    actor: str,
    dry_run: bool = False,
) -> RedcapImportReport:
    """Import (or with ``dry_run`` only check) a REDCap project into the registry.

    Parameters
    ----------
    dictionary_path, records_path, mapping_path : Path
        The REDCap data dictionary CSV, its raw records CSV and the mapping file (TOML).
    url : str or None
        Database URL; None with ``dry_run`` checks against an empty registry.
    today : date
        No date may lie after it.
    actor : str
        Who imports, for the audit log.
    dry_run : bool
        Check everything and write nothing.

    Raises
    ------
    RedcapImportError
        With every problem; nothing is written.
    RedcapFileError, MappingFileError
        A file cannot be read at all.
    """
    dictionary = read_dictionary(dictionary_path)
    mapping = read_mapping(mapping_path)
    columns, problems = plan_columns(mapping, dictionary)
    if problems:
        raise RedcapImportError(problems)
    wanted = {c.redcap for c in columns if c.redcap}
    records_file = open_records(records_path, wanted)
    header = records_file.columns
    if header[0] != mapping.record_id:
        problems.append(
            _mapping_problem(
                header[0],
                f"the first column of the records file must be the record id field "
                f"'{mapping.record_id}'",
            )
        )
    for c in columns:
        if c.redcap and c.redcap not in header:
            problems.append(
                _mapping_problem(
                    c.redcap,
                    f"is mapped to {c.spec.name} but is not a column of the records file",
                    c.spec.name,
                )
            )
    if problems:
        raise RedcapImportError(problems)
    instrument = mapping.perfusion_instrument
    # many small objects without cycles: the collector cost 0.7 s of 3.6 s at 100,000
    # perfusions (measured)
    with without_cyclic_gc():
        records, table, origins = _read_records(records_file, columns, mapping, problems)
    if any(p.is_error for p in problems):
        raise RedcapImportError(problems)
    n_records = len(records)
    del records  # only the rows to import are needed from here on
    with tempfile.TemporaryDirectory(prefix="ilp-redcap-") as work:
        path = Path(work) / f"redcap-{records_path.name}"
        with path.open("w", encoding="utf-8", newline="") as out:
            _write_registry_columns(table, [c.spec.name for c in columns], out)
        del table
        try:
            report = import_registry(path, url, today, actor, dry_run=dry_run)
        except RegistryValidationError as exc:
            raise RedcapImportError(
                [_located(p, origins, columns, instrument) for p in exc.problems]
            ) from None
    warnings = [_located(w, origins, columns, instrument) for w in report.warnings]
    return RedcapImportReport(n_records, len(origins), report, warnings)


def _read_records(
    records_file: RecordsFile,
    columns: list[_Column],
    mapping: RedcapMapping,
    problems: list[RedcapProblem],
) -> tuple[dict[str, _Record], dict[str, list[str]], _Origins]:
    """Group the rows by record and build the registry columns (see :func:`_registry_rows`)."""
    records: dict[str, _Record] = {}
    instrument = mapping.perfusion_instrument
    for row in records_file.rows:
        rid = row.record_id
        if rid == "":
            problems.append(
                RedcapProblem(
                    "",
                    row.instrument,
                    row.instance,
                    mapping.record_id,
                    "",
                    "the record id is empty",
                    line=row.line,
                )
            )
            continue
        record = records.get(rid)
        if record is None:
            record = records[rid] = _Record(rid, row.line)
        if row.instrument == "" and row.instance == "":
            record.base.append(row)
        elif row.instrument == instrument or (row.instrument == "" and not instrument):
            record.repeats.append(row)
    table, origins = _registry_rows(records, columns, mapping, problems)
    if not records and not problems:
        problems.append(_mapping_problem("", "the records file holds no record; nothing to import"))
    return records, table, origins


MEMO_VALUES = 50_000
"""Distinct REDCap texts remembered per patient column (converting a text is a pure function
of it, and birth dates, sexes and centres repeat across records)."""


def _memo(convert: Converter) -> Converter:
    known: dict[str, str] = {}

    def cached(raw: str) -> str:
        value = known.get(raw)
        if value is None:
            value = convert(raw)  # raises for text that is refused: never remembered
            if len(known) < MEMO_VALUES:
                known[raw] = value
        return value

    return cached


_FORMULA_FIRST = frozenset(FORMULA_STARTS)


def _write_registry_columns(table: dict[str, list[str]], names: list[str], out: TextIO) -> None:
    """Registry CSV v1 as :func:`ilpkit.adapters.csv.registry_csv.write_registry_csv` writes it
    (formula cells neutralised, which the import undoes), column by column: each distinct text
    is neutralised once."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(names)
    first = _FORMULA_FIRST
    columns = []
    for name in names:
        values = table[name]
        shown = {v: ("'" + v) if v and v[0] in first else v for v in set(values)}
        columns.append([shown[v] for v in values])
    writer.writerows(zip(*columns, strict=True))


_Origin = tuple[str, str, str, int]
"""(record id, instrument, instance, line in the records file) of a Registry CSV row."""


@dataclass(frozen=True, slots=True)
class _Origins:
    """Where each Registry CSV row comes from, and each mapped value as it was in REDCap."""

    rows: list[_Origin]
    raw: dict[str, list[str]]

    def __len__(self) -> int:
        return len(self.rows)


def _registry_rows(
    records: dict[str, _Record],
    columns: list[_Column],
    mapping: RedcapMapping,
    problems: list[RedcapProblem],
) -> tuple[dict[str, list[str]], _Origins]:
    """The Registry CSV v1 rows as columns (column name -> one text per perfusion) and where
    each row and value comes from. Patient values are read per record; perfusion values column
    by column, each distinct REDCap text converted once (a Python call per cell was most of this
    import's own time at 100,000 perfusions)."""
    instrument = mapping.perfusion_instrument
    patient_cols = [c for c in columns if c.spec.level == "patient"]
    perfusion_cols = [c for c in columns if c.spec.level == "perfusion"]
    patients_of_rows: list[dict[str, str]] = []
    raw_patients_of_rows: list[dict[str, str]] = []
    perfusion_rows_all: list[RecordRow] = []
    origins: list[_Origin] = []
    label = instrument or "(record row)"
    record_id = mapping.record_id
    fixed = {c.spec.name: c.fixed for c in perfusion_cols if not c.redcap}
    patient_plan = [(c, _memo(c.convert)) for c in patient_cols]
    for rid, record in records.items():
        if not record.base:
            for r in record.repeats:
                problems.append(
                    RedcapProblem(
                        rid,
                        r.instrument or r.event,
                        r.instance,
                        "",
                        "",
                        "repeat instance without its parent record: the records file has no "
                        f"row of record {rid} outside a repeating instrument (its own row)",
                        line=r.line,
                    )
                )
            continue
        patient: dict[str, str] = dict(fixed)
        patient_raw: dict[str, str] = {}
        base = record.base
        for c, convert in patient_plan:
            if not c.redcap:
                patient[c.spec.name] = c.fixed
                continue
            where = base[0]
            if len(base) == 1:  # the usual case: one row of the record's own
                raw = rid if c.redcap == record_id else where.cells.get(c.redcap, "")
            else:  # one row per event: the field's value is on one of them, or the same on all
                seen: dict[str, RecordRow] = {}
                for r in base:
                    text = rid if c.redcap == record_id else r.cells.get(c.redcap, "")
                    if text.strip():
                        seen.setdefault(text.strip(), r)
                if len(seen) > 1:
                    values = ", ".join(
                        f"'{v}' ({r.event or 'row'} line {r.line})" for v, r in seen.items()
                    )
                    problems.append(
                        RedcapProblem(
                            rid,
                            c.form,
                            "",
                            c.redcap,
                            "",
                            f"has different values on the rows of this record: {values}",
                            c.spec.name,
                            record.line,
                        )
                    )
                    continue
                raw, where = next(iter(seen.items()), ("", base[0]))
            patient_raw[c.spec.name] = raw
            try:
                patient[c.spec.name] = convert(raw)
            except ValueError as exc:
                problems.append(
                    RedcapProblem(rid, c.form, "", c.redcap, raw, str(exc), c.spec.name, where.line)
                )
        if instrument:
            perfusion_rows = record.repeats
        else:
            perfusion_rows = [
                r
                for r in record.base
                if any(r.cells.get(c.redcap, "").strip() for c in perfusion_cols if c.redcap)
            ] + record.repeats
        if not perfusion_rows:
            problems.append(
                RedcapProblem(
                    rid,
                    label,
                    "",
                    "",
                    "",
                    "this record has no perfusion"
                    + (f" (no instance of the instrument '{instrument}')" if instrument else "")
                    + "; the registry holds patients through their perfusions",
                    line=record.line,
                )
            )
            continue
        seen_instances: dict[tuple[str, str], int] = {}
        for r in perfusion_rows:
            key = (r.event, r.instance)
            if instrument:
                if not (r.instance.isascii() and r.instance.isdigit() and int(r.instance) > 0):
                    problems.append(
                        RedcapProblem(
                            rid,
                            r.instrument,
                            r.instance,
                            "redcap_repeat_instance",
                            r.instance,
                            "must be a whole number 1, 2, 3 ...",
                            line=r.line,
                        )
                    )
                    continue
                if key in seen_instances:
                    problems.append(
                        RedcapProblem(
                            rid,
                            r.instrument,
                            r.instance,
                            "redcap_repeat_instance",
                            r.instance,
                            f"this instance appears twice (line "
                            f"{seen_instances[key]} and this line {r.line})",
                            line=r.line,
                        )
                    )
                    continue
                seen_instances[key] = r.line
            patients_of_rows.append(patient)
            raw_patients_of_rows.append(patient_raw)
            perfusion_rows_all.append(r)
            origins.append((rid, r.instrument or label, r.instance or r.event, r.line))
    table: dict[str, list[str]] = {}
    raw_table: dict[str, list[str]] = {}
    for c in patient_cols:
        name = c.spec.name
        table[name] = [p.get(name, "") for p in patients_of_rows]
        raw_table[name] = [p.get(name, "") for p in raw_patients_of_rows]
    for name, value in fixed.items():
        table[name] = [value] * len(perfusion_rows_all)
    found: list[RedcapProblem] = []
    for c in perfusion_cols:
        if not c.redcap:
            continue
        if c.redcap == record_id:
            raws = [o[0] for o in origins]
        else:
            raws = [r.cells.get(c.redcap, "") for r in perfusion_rows_all]
        converted: dict[str, str] = {}
        refused: dict[str, str] = {}
        for raw in set(raws):
            try:
                converted[raw] = c.convert(raw)
            except ValueError as exc:
                refused[raw] = str(exc)
        if refused:
            for k, raw in enumerate(raws):
                if raw in refused:
                    rid, form, instance, line = origins[k]
                    found.append(
                        RedcapProblem(
                            rid, form, instance, c.redcap, raw, refused[raw], c.spec.name, line
                        )
                    )
        table[c.spec.name] = [converted.get(raw, "") for raw in raws]
        raw_table[c.spec.name] = raws
    problems.extend(sorted(found, key=lambda p: p.line or 0))
    return table, _Origins(origins, raw_table)


def _located(
    p: Problem, origins: _Origins, columns: list[_Column], instrument: str
) -> RedcapProblem:
    """A problem of the registry's validation, told in REDCap's terms: the record, instrument,
    instance and field it comes from, and the value as REDCap holds it (with the registry value
    it was mapped to, when that differs)."""
    column = next((c for c in columns if c.spec.name == p.field), None)
    redcap = p.field
    if column is not None:
        redcap = column.redcap or f"[values] {p.field}"
    if p.line is None or p.line < 2 or p.line - 2 >= len(origins):
        return RedcapProblem("", "", "", redcap, p.value, p.reason, p.field, None, p.severity)
    index = p.line - 2
    rid, form, instance, line = origins.rows[index]
    value, reason = p.value, p.reason
    raw = origins.raw.get(p.field)
    if raw is not None and raw[index].strip() != p.value:
        value = raw[index]
        reason = f"{reason} (registry value '{p.value}')" if p.value else reason
    if column is not None and column.spec.level == "patient":
        form, instance = column.form or form, ""
    return RedcapProblem(rid, form, instance, redcap, value, reason, p.field, line, p.severity)


def problems_sorted(problems: list[RedcapProblem]) -> list[RedcapProblem]:
    """Problems in file order (mapping problems first)."""
    return sorted(problems, key=lambda p: (p.line is not None, p.line or 0))
