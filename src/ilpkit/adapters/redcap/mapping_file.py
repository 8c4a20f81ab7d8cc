"""The mapping file of ``ilp import-redcap`` (TOML): which REDCap field fills which registry field.

Layout (every table but ``[project]`` and ``[fields]`` is optional)::

    [project]
    record_id = "record_id"            # the REDCap record id field (first column of the records)
    perfusion_instrument = "perfusion" # repeating instrument, one perfusion per instance;
                                       # "" = one perfusion per record (its own row)
    date_format = "YMD"                # how the records file writes dates (see DATE_FORMATS)

    [fields]                           # registry field = REDCap field
    patient_id = "record_id"
    ilp_date = "ilp_date"

    [values]                           # registry field = the same value for every record
    center = "CA"

    [choices.sex]                      # REDCap code = registry value
    "1" = "M"
    "2" = "F"

Read with :mod:`tomllib`; written by :func:`render_mapping` by hand (no TOML writer is needed for
this flat layout): every key and value is a TOML basic string, escaped by :func:`toml_string`.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ilpkit.errors import IlpkitError

DATE_FORMATS: dict[str, str] = {
    "YMD": "every date YYYY-MM-DD (REDCap's raw export, its API, and its import default)",
    "DMY": "every date DD-MM-YYYY (REDCap's import with the date format DMY)",
    "MDY": "every date MM-DD-YYYY (REDCap's import with the date format MDY)",
    "validation": "each date field in the order of its validation type: date_ymd YYYY-MM-DD, "
    "date_dmy DD-MM-YYYY, date_mdy MM-DD-YYYY",
}
"""Accepted ``date_format`` values and what each means."""

DEFAULT_DATE_FORMAT = "YMD"
_TABLES = ("project", "fields", "values", "choices")
_PROJECT_KEYS = ("record_id", "perfusion_instrument", "date_format")


class MappingFileError(IlpkitError):
    """The mapping file cannot be used; ``problems`` lists every reason."""

    def __init__(self, path: Path, problems: list[str]):
        self.path = path
        self.problems = problems
        super().__init__(f"{path.name}: " + "; ".join(problems))


@dataclass(frozen=True, slots=True)
class RedcapMapping:
    """A REDCap project mapped onto Registry CSV v1.

    Attributes
    ----------
    record_id : str
        The REDCap record id field.
    perfusion_instrument : str
        The repeating instrument holding one perfusion per instance; empty when each record's
        own row is its one perfusion.
    date_format : str
        One of :data:`DATE_FORMATS`.
    fields : dict
        Registry field -> REDCap field.
    values : dict
        Registry field -> a fixed value for every record.
    choices : dict
        Registry field -> (REDCap code -> registry value).
    """

    record_id: str
    perfusion_instrument: str = ""
    date_format: str = DEFAULT_DATE_FORMAT
    fields: dict[str, str] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)
    choices: dict[str, dict[str, str]] = field(default_factory=dict)


def read_mapping(path: Path) -> RedcapMapping:
    """Read a mapping file.

    Raises
    ------
    MappingFileError
        Not TOML, unknown tables or keys, values that are not text, an unknown date format.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise MappingFileError(path, ["no such file"]) from None
    except IsADirectoryError:
        raise MappingFileError(path, ["is a folder, not a file"]) from None
    except UnicodeDecodeError:
        raise MappingFileError(path, ["the file is not UTF-8 text"]) from None
    except OSError as exc:
        raise MappingFileError(path, [f"cannot be read ({exc.strerror})"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise MappingFileError(path, [f"is not valid TOML ({exc})"]) from None
    problems: list[str] = []
    for key in data:
        if key not in _TABLES:
            problems.append(f"unknown table [{key}]; the tables are {', '.join(_TABLES)}")
    project = _table(data, "project", problems)
    for key in project:
        if key not in _PROJECT_KEYS:
            problems.append(f"[project] has an unknown key '{key}'")
    record_id = _text(project.get("record_id", ""), "[project] record_id", problems)
    if not record_id:
        problems.append("[project] record_id (the REDCap record id field) is missing")
    instrument = _text(
        project.get("perfusion_instrument", ""), "[project] perfusion_instrument", problems
    )
    date_format = _text(
        project.get("date_format", DEFAULT_DATE_FORMAT), "[project] date_format", problems
    )
    if date_format not in DATE_FORMATS:
        problems.append(
            f"[project] date_format '{date_format}' is not one of {', '.join(DATE_FORMATS)}"
        )
    fields = _texts(_table(data, "fields", problems), "fields", problems)
    values = _texts(_table(data, "values", problems), "values", problems)
    choices: dict[str, dict[str, str]] = {}
    for name, table in _table(data, "choices", problems).items():
        if not isinstance(table, dict):
            problems.append(f"[choices] {name} must be a table [choices.{name}]")
            continue
        choices[name] = _texts(table, f"choices.{name}", problems)
    if problems:
        raise MappingFileError(path, problems)
    return RedcapMapping(record_id, instrument, date_format, fields, values, choices)


def _table(data: dict[str, object], name: str, problems: list[str]) -> dict[str, object]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        problems.append(f"'{name}' must be a table [{name}]")
        return {}
    return value


def _text(value: object, where: str, problems: list[str]) -> str:
    if isinstance(value, str):
        return value.strip()
    problems.append(f"{where} must be text in quotes, not {value!r}")
    return ""


def _texts(table: dict[str, object], where: str, problems: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in table.items():
        text = _text(value, f"[{where}] {key}", problems)
        if text:
            out[key.strip()] = text
    return out


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f"}
_ESCAPES["\r"] = "\\r"


def toml_string(text: str) -> str:
    """``text`` as a TOML basic string (quoted; control characters and DEL escaped)."""
    out = []
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def toml_key(text: str) -> str:
    """A TOML key: bare when it is letters, digits, ``_`` and ``-``, quoted otherwise."""
    if text and all(c.isascii() and (c.isalnum() or c in "_-") for c in text):
        return text
    return toml_string(text)


def _comment(text: str) -> str:
    """One comment line's text: no line break can end the comment early, and no control
    character (which TOML forbids in comments) is written."""
    text = "".join("?" if ord(c) < 0x20 or ord(c) == 0x7F else c for c in " ".join(text.split()))
    return text


@dataclass(frozen=True, slots=True)
class Entry:
    """One line of a written table: ``key = value``, commented out when ``value`` is None."""

    key: str
    value: str | None
    note: str = ""


def render_mapping(
    header: Iterable[str],
    project: RedcapMapping,
    fields: Iterable[Entry],
    choices: dict[str, list[Entry]],
) -> str:
    """The text of a mapping file: comment lines, [project], [fields], [values], [choices.*].

    Entries whose value is None are written as comments (``# key = ""  # note``): what could not
    be matched, for the user to fill in.
    """
    lines = [f"# {_comment(h)}" if h else "#" for h in header]
    lines += [
        "",
        "[project]",
        f"record_id = {toml_string(project.record_id)}",
        f"perfusion_instrument = {toml_string(project.perfusion_instrument)}",
        f"date_format = {toml_string(project.date_format)}",
        "",
        "[fields]",
    ]
    lines += [_entry(e) for e in fields]
    lines += [
        "",
        "[values]",
        "# registry field = a value for every record, e.g. the centre code of a single-centre",
        '# project: center = "CA"',
    ]
    for name, entries in choices.items():
        lines += ["", f"[choices.{toml_key(name)}]"]
        lines += [_entry(e) for e in entries]
    return "\n".join(lines) + "\n"


def _entry(e: Entry) -> str:
    note = f"  # {_comment(e.note)}" if e.note else ""
    if e.value is None:
        return f'# {toml_key(e.key)} = ""{note}'
    return f"{toml_key(e.key)} = {toml_string(e.value)}{note}"
