"""Reading and writing Registry CSV v1 files.

Reading turns the bytes of a file into rows of cell text keyed by column name, with the line on
which each row starts; every problem with the file as a whole (encoding, header, ragged rows) is
collected and raised together. Field-level rules are the domain's (:mod:`ilpkit.domain.validation`).

Writing neutralises spreadsheet formulas: a cell starting with ``=``, ``+``, ``-``, ``@``, a tab or
a carriage return is written with a leading apostrophe (OWASP "CSV injection" advice); reading
removes that apostrophe again, so export -> import round-trips exactly.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ilpkit.domain.csv_text import SEMICOLON_REASON, semicolon_separated, unicode_encoding
from ilpkit.domain.errors import Problem, RegistryValidationError
from ilpkit.domain.fields import COLUMN_NAMES, FIELDS_BY_NAME, FORMAT_NAME, REQUIRED_COLUMNS

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet treat a cell as a formula (OWASP)."""

MAX_CELL_CHARS = 16 * 1024 * 1024
"""Cells longer than this are refused by the reader itself (16 Mi characters)."""

MAX_FILE_BYTES = 2 * 1024 * 1024 * 1024
"""Files larger than this are refused before reading (2 GiB)."""

MAX_HEADER_COLUMNS = 1000
"""A header with more columns than this is refused at once, before any name is checked."""

MAX_NAMES_SUGGESTED = 20
"""At most this many unknown column names get a "did you mean" suggestion (the search is slow)."""

MAX_SUGGESTED_NAME_CHARS = 64
"""Longer unknown column names get no suggestion (no column name comes near)."""


@dataclass(frozen=True, slots=True)
class CsvRow:
    """One data row: the line it starts on and its cells by column name."""

    line: int
    cells: dict[str, str]


def neutralise(text: str) -> str:
    """Prefix a formula-like cell with an apostrophe so spreadsheets show it as text."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def unneutralise(text: str) -> str:
    """Undo :func:`neutralise`: drop an apostrophe that precedes a formula character."""
    if len(text) >= 2 and text[0] == "'" and text[1] in "=+-@\t\r":
        return text[1:]
    return text


def read_registry_csv(path: Path) -> list[CsvRow]:
    """Read a Registry CSV v1 file into rows of cell text.

    Parameters
    ----------
    path : Path
        The file to read.

    Returns
    -------
    list of CsvRow
        Data rows in file order; completely empty rows are skipped.

    Raises
    ------
    RegistryValidationError
        With every file-level problem: unreadable or empty file, not UTF-8, header problems
        (missing, unknown or duplicated columns), rows with the wrong number of cells.
    """
    try:
        if path.is_dir():
            raise RegistryValidationError([Problem(None, "", str(path), "is a folder, not a file")])
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise RegistryValidationError(
                [Problem(None, "", str(path), f"is {size:,} bytes; at most 2 GiB can be read")]
            )
        data = path.read_bytes()
    except FileNotFoundError:
        raise RegistryValidationError([Problem(None, "", str(path), "no such file")]) from None
    except PermissionError:
        raise RegistryValidationError(
            [Problem(None, "", str(path), "the file cannot be read (permission denied)")]
        ) from None
    except OSError as exc:
        raise RegistryValidationError(
            [Problem(None, "", str(path), f"the file cannot be read ({exc.strerror})")]
        ) from None
    return parse_registry_csv(data)


def _decode(data: bytes) -> str:
    encoding = unicode_encoding(data)
    if encoding is not None:
        raise RegistryValidationError(
            [
                Problem(
                    1,
                    "",
                    "",
                    f"the file is {encoding} text; save it as 'CSV UTF-8 (comma delimited)' and "
                    "import it again",
                )
            ]
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        byte = data[exc.start : exc.start + 1].hex().upper()
        raise RegistryValidationError(
            [
                Problem(
                    line,
                    "",
                    "",
                    f"the file is not UTF-8 text (byte 0x{byte} on this line; often a file saved "
                    "as Latin-1/Windows-1252). Save it as 'CSV UTF-8 (comma delimited)' and "
                    "import it again",
                )
            ]
        ) from None


def parse_registry_csv(data: bytes) -> list[CsvRow]:
    """Parse the bytes of a Registry CSV v1 file; see :func:`read_registry_csv`."""
    text = _decode(data)
    if text.strip() == "":
        raise RegistryValidationError(
            [
                Problem(
                    None,
                    "",
                    "",
                    f"the file is empty: expected a header row with the {FORMAT_NAME} column "
                    "names (see docs/data-dictionary.md)",
                )
            ]
        )
    nul = text.find("\x00")
    if nul >= 0:
        raise RegistryValidationError(
            [
                Problem(
                    text.count("\n", 0, nul) + 1,
                    "",
                    "",
                    "the file contains a NUL byte (it is probably not a text CSV file)",
                )
            ]
        )
    old_limit = csv.field_size_limit()
    csv.field_size_limit(MAX_CELL_CHARS)
    try:
        return _parse_text(text)
    finally:
        csv.field_size_limit(old_limit)


def _parse_text(text: str) -> list[CsvRow]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    problems: list[Problem] = []
    rows: list[CsvRow] = []
    header: list[str] | None = None
    start = 1
    try:
        for cells in reader:
            line, start = start, reader.line_num + 1
            if header is None:
                header = [c.strip() for c in cells]
                if semicolon_separated(header):
                    raise RegistryValidationError([Problem(1, "", "", SEMICOLON_REASON)])
                problems.extend(_header_problems(header))
                if problems:
                    raise RegistryValidationError(problems)
                continue
            if not cells or all(c.strip() == "" for c in cells):
                continue
            if len(cells) != len(header):
                problems.append(
                    Problem(
                        line,
                        "",
                        "",
                        f"this row has {len(cells)} cells but the header has {len(header)} "
                        "columns (a missing or extra comma, or an unclosed quote)",
                    )
                )
                continue
            rows.append(
                CsvRow(line, {h: unneutralise(c) for h, c in zip(header, cells, strict=True)})
            )
    except csv.Error as exc:
        message = str(exc)
        if "field larger than field limit" in message:
            reason = f"a cell is longer than {MAX_CELL_CHARS:,} characters"
        elif "NUL" in message:
            reason = "the file contains a NUL byte (it is probably not a text CSV file)"
        else:
            reason = f"the CSV structure is broken ({message}); check quotes on this line"
        problems.append(Problem(start, "", "", reason))
    if header is None:
        problems.append(Problem(1, "", "", "the file has no header row"))
    if not problems and not rows:
        problems.append(
            Problem(None, "", "", "the file has a header row but no data rows; nothing to import")
        )
    if problems:
        raise RegistryValidationError(problems)
    return rows


def _header_problems(header: list[str]) -> list[Problem]:
    if len(header) > MAX_HEADER_COLUMNS:
        return [
            Problem(
                1,
                "",
                "",
                f"the header has {len(header):,} columns; {FORMAT_NAME} has "
                f"{len(COLUMN_NAMES)} (see docs/data-dictionary.md). Is this the right file?",
            )
        ]
    problems: list[Problem] = []
    seen: set[str] = set()
    suggested = 0
    for position, name in enumerate(header, start=1):
        if name == "":
            problems.append(Problem(1, "", "", f"column {position} of the header has no name"))
        elif name in seen:
            problems.append(Problem(1, name, name, "this column appears more than once"))
        elif name not in FIELDS_BY_NAME:
            hint = None
            if suggested < MAX_NAMES_SUGGESTED and len(name) <= MAX_SUGGESTED_NAME_CHARS:
                suggested += 1
                hint = _closest(name)
            problems.append(
                Problem(
                    1,
                    name,
                    name,
                    f"is not a {FORMAT_NAME} column"
                    + (f" (did you mean '{hint}'?)" if hint else "")
                    + "; see docs/data-dictionary.md",
                )
            )
        seen.add(name)
    for name in REQUIRED_COLUMNS:
        if name not in seen:
            problems.append(Problem(1, name, "", "this required column is missing"))
    return problems


def _closest(name: str) -> str | None:
    import difflib

    match = difflib.get_close_matches(name.lower(), COLUMN_NAMES, n=1, cutoff=0.6)
    return match[0] if match else None


def write_registry_csv(rows: Iterable[Mapping[str, str]], out: io.TextIOBase) -> int:
    """Write rows of cell text as Registry CSV v1 with every column, neutralising formulas.

    Returns the number of data rows written.
    """
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMN_NAMES)
    count = 0
    for row in rows:
        writer.writerow([neutralise(row.get(name, "")) for name in COLUMN_NAMES])
        count += 1
    return count
