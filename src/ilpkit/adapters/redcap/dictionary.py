"""The REDCap data dictionary (CSV): reading, writing, coded choices and date validation types.

The header of a data dictionary downloaded from REDCap's Online Designer is, in this order,
:data:`DICTIONARY_COLUMNS` (REDCap's own test projects, e.g. REDCapR
``inst/test-data/projects/validation-types-1/dictionary.csv``). The metadata exported through the
API has the same columns under short names (:data:`API_COLUMN_NAMES`); both are read.

Choices of radio, dropdown and checkbox fields are written ``code, label | code, label``: the code
is the text before the first comma (labels may contain commas). Date fields are text fields with
the validation type ``date_ymd``, ``date_dmy`` or ``date_mdy``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from ilpkit.errors import IlpkitError

DICTIONARY_COLUMNS: tuple[str, ...] = (
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
)
"""Header of a REDCap data dictionary CSV, in REDCap's order."""

API_COLUMN_NAMES: tuple[str, ...] = (
    "field_name",
    "form_name",
    "section_header",
    "field_type",
    "field_label",
    "select_choices_or_calculations",
    "field_note",
    "text_validation_type_or_show_slider_number",
    "text_validation_min",
    "text_validation_max",
    "identifier",
    "branching_logic",
    "required_field",
    "custom_alignment",
    "question_number",
    "matrix_group_name",
    "matrix_ranking",
    "field_annotation",
)
"""The same columns as named by REDCap's API metadata export."""

_REQUIRED = DICTIONARY_COLUMNS[:8]
"""Columns without which a dictionary cannot be read (the others may be absent)."""

CHOICE_TYPES = ("radio", "dropdown", "checkbox")
"""Field types whose choices are listed as ``code, label | ...``."""

BOOLEAN_TYPES = {"yesno": (("1", "Yes"), ("0", "No")), "truefalse": (("1", "True"), ("0", "False"))}
"""Field types with fixed codes (REDCap stores 1 and 0)."""

NO_DATA_TYPES = ("descriptive",)
"""Field types that hold no value (no column in the records)."""

DATE_ORDERS: dict[str, str] = {"date_ymd": "YMD", "date_dmy": "DMY", "date_mdy": "MDY"}
"""REDCap date validation types and the order of year (Y), month (M) and day (D) they show."""

ORDER_EXAMPLES = {"YMD": "2004-03-17", "DMY": "17-03-2004", "MDY": "03-17-2004"}


class RedcapFileError(IlpkitError):
    """A REDCap file cannot be read; ``problems`` lists (line, reason) pairs."""

    def __init__(self, path: Path, problems: list[tuple[int | None, str]]):
        self.path = path
        self.problems = problems
        where = "; ".join(
            (f"line {line}: " if line is not None else "") + reason for line, reason in problems
        )
        super().__init__(f"{path.name}: {where}")


@dataclass(frozen=True, slots=True)
class DictionaryField:
    """One row of a REDCap data dictionary (one field)."""

    name: str
    form: str
    field_type: str
    label: str
    choices_text: str = ""
    note: str = ""
    validation: str = ""
    validation_min: str = ""
    validation_max: str = ""
    section_header: str = ""
    identifier: str = ""
    branching_logic: str = ""
    required: str = ""
    annotation: str = ""
    line: int = 0
    choices: tuple[tuple[str, str], ...] = field(default=())

    @property
    def codes(self) -> dict[str, str]:
        """Coded choices of the field, code -> label (fixed 1/0 for yesno and truefalse)."""
        if self.field_type in BOOLEAN_TYPES:
            return dict(BOOLEAN_TYPES[self.field_type])
        return dict(self.choices)

    @property
    def date_order(self) -> str | None:
        """``YMD``, ``DMY`` or ``MDY`` for a date field, else None."""
        return DATE_ORDERS.get(self.validation)

    def row(self) -> list[str]:
        """The dictionary row (columns of :data:`DICTIONARY_COLUMNS`)."""
        return [
            self.name,
            self.form,
            self.section_header,
            self.field_type,
            self.label,
            self.choices_text,
            self.note,
            self.validation,
            self.validation_min,
            self.validation_max,
            self.identifier,
            self.branching_logic,
            self.required,
            "",
            "",
            "",
            "",
            self.annotation,
        ]


def parse_choices(text: str) -> tuple[tuple[str, str], ...]:
    """``"1, Yes | 2, No"`` -> ``(("1", "Yes"), ("2", "No"))``.

    Raises
    ------
    ValueError
        A choice without a comma, with an empty code, or a code listed twice.
    """
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for part in text.split("|"):
        if not part.strip():
            continue
        code, comma, label = part.partition(",")
        code = code.strip()
        if not comma or not code:
            raise ValueError(f"the choice '{part.strip()}' is not written 'code, label'")
        if code in seen:
            raise ValueError(f"the choice code '{code}' is listed twice")
        seen.add(code)
        out.append((code, label.strip()))
    return tuple(out)


def format_choices(choices: Iterable[tuple[str, str]]) -> str:
    """``(("1", "Yes"), ("2", "No"))`` -> ``"1, Yes | 2, No"`` (the inverse of
    :func:`parse_choices`; labels must not contain ``|``)."""
    return " | ".join(f"{code}, {label}" for code, label in choices)


def read_dictionary(path: Path) -> list[DictionaryField]:
    """Read a REDCap data dictionary CSV (UTF-8, with or without a byte-order mark).

    Raises
    ------
    RedcapFileError
        The file cannot be read, its header lacks a required column, or rows are malformed
        (every such problem is listed).
    """
    text = _read_text(path)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise RedcapFileError(path, [(None, "the file is empty")]) from None
    except csv.Error as exc:
        raise RedcapFileError(path, [(1, f"the CSV structure is broken ({exc})")]) from None
    position = _positions(header)
    missing = [c for c in _REQUIRED if c not in position]
    if missing:
        raise RedcapFileError(
            path,
            [
                (
                    1,
                    "this is not a REDCap data dictionary: the header lacks "
                    + ", ".join(f"'{c}'" for c in missing),
                )
            ],
        )
    problems: list[tuple[int | None, str]] = []
    fields: list[DictionaryField] = []
    names: set[str] = set()
    try:
        for cells in reader:
            line = reader.line_num
            if not cells or all(c.strip() == "" for c in cells):
                continue

            def get(column: str, cells: Sequence[str] = cells) -> str:
                i = position.get(column)
                return cells[i].strip() if i is not None and i < len(cells) else ""

            name = get(DICTIONARY_COLUMNS[0])
            if not name:
                problems.append((line, "a row has no 'Variable / Field Name'"))
                continue
            if name in names:
                problems.append((line, f"the field '{name}' is defined twice"))
                continue
            names.add(name)
            field_type = get("Field Type").lower()
            choices_text = get(DICTIONARY_COLUMNS[5])
            choices: tuple[tuple[str, str], ...] = ()
            if field_type in CHOICE_TYPES:
                try:
                    choices = parse_choices(choices_text)
                except ValueError as exc:
                    problems.append((line, f"field '{name}': {exc}"))
            fields.append(
                DictionaryField(
                    name=name,
                    form=get("Form Name"),
                    field_type=field_type,
                    label=get("Field Label"),
                    choices_text=choices_text,
                    note=get("Field Note"),
                    validation=get(DICTIONARY_COLUMNS[7]).lower(),
                    validation_min=get("Text Validation Min"),
                    validation_max=get("Text Validation Max"),
                    section_header=get("Section Header"),
                    identifier=get("Identifier?"),
                    branching_logic=get(DICTIONARY_COLUMNS[11]),
                    required=get("Required Field?"),
                    annotation=get("Field Annotation"),
                    line=line,
                    choices=choices,
                )
            )
    except csv.Error as exc:
        problems.append((reader.line_num, f"the CSV structure is broken ({exc})"))
    if not fields and not problems:
        problems.append((None, "the dictionary defines no field"))
    if problems:
        raise RedcapFileError(path, problems)
    return fields


def _positions(header: list[str]) -> dict[str, int]:
    """Column positions by REDCap's Online Designer names (API names translated)."""
    api = dict(zip(API_COLUMN_NAMES, DICTIONARY_COLUMNS, strict=True))
    return {api.get(name, name): i for i, name in enumerate(header)}


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise RedcapFileError(path, [(None, "no such file")]) from None
    except IsADirectoryError:
        raise RedcapFileError(path, [(None, "is a folder, not a file")]) from None
    except OSError as exc:
        raise RedcapFileError(path, [(None, f"cannot be read ({exc.strerror})")]) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise RedcapFileError(
            path,
            [(line, "the file is not UTF-8 text; export it from REDCap again (CSV, UTF-8)")],
        ) from None


def write_dictionary(fields: Iterable[DictionaryField], out: io.TextIOBase) -> int:
    """Write a data dictionary CSV; return the number of fields written."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(DICTIONARY_COLUMNS)
    count = 0
    for f in fields:
        writer.writerow(f.row())
        count += 1
    return count


def parse_date(text: str, order: str) -> date:
    """Read a REDCap date written in ``order`` (``YMD``, ``DMY`` or ``MDY``).

    The parts are separated by ``-`` or ``/`` (REDCap shows ``-``; spreadsheets often write
    ``/``); the year has four digits, day and month one or two.

    Raises
    ------
    ValueError
        With the reason: written in another order (which one), or not a date at all.
    """
    parts = _date_parts(text)
    if parts is None:
        raise ValueError(f"is not a date written {_describe(order)}")
    year_first = len(parts[0]) == 4 and len(parts[1]) <= 2 and len(parts[2]) <= 2
    year_last = len(parts[2]) == 4 and len(parts[0]) <= 2 and len(parts[1]) <= 2
    if order == "YMD" and year_last:
        raise ValueError(
            "is written with the year last (day-month-year or month-day-year, REDCap's "
            f"date_dmy / date_mdy), but {_describe(order)} is expected"
        )
    if order != "YMD" and year_first:
        raise ValueError(f"is written {_describe('YMD')}, but {_describe(order)} is expected")
    if not (year_first if order == "YMD" else year_last):
        raise ValueError(f"is not a date written {_describe(order)}")
    values = dict(zip(order, parts, strict=True))
    try:
        return date(int(values["Y"]), int(values["M"]), int(values["D"]))
    except ValueError:
        day, month = int(values["D"]), int(values["M"])
        if order != "YMD" and month > 12 and 1 <= day <= 12:
            swapped = "MDY" if order == "DMY" else "DMY"
            raise ValueError(
                f"is not a real calendar date read {_describe(order)} (it would be one read "
                f"{_describe(swapped)})"
            ) from None
        raise ValueError(f"is not a real calendar date read {_describe(order)}") from None


def _describe(order: str) -> str:
    names = {"YMD": "year-month-day", "DMY": "day-month-year", "MDY": "month-day-year"}
    return f"{names[order]} ({ORDER_EXAMPLES[order]})"


def _date_parts(text: str) -> tuple[str, str, str] | None:
    separator = "-" if "-" in text else "/"
    parts = text.strip().split(separator)
    if len(parts) != 3 or not all(p.isascii() and p.isdigit() for p in parts):
        return None
    return parts[0], parts[1], parts[2]
