"""Reading and writing Registry CSV v1 files.

Reading turns the bytes of a file into rows of cell text keyed by column name, with the line on
which each row starts; every problem with the file as a whole (encoding, header, ragged rows) is
collected and raised together. Field-level rules are the domain's (:mod:`ilpkit.domain.validation`).

Writing neutralises spreadsheet formulas: a cell starting with ``=``, ``+``, ``-``, ``@``, a tab or
a carriage return is written with a leading apostrophe (OWASP "CSV injection" advice); reading
removes that apostrophe again, so export -> import round-trips exactly.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from ilpkit.domain.csv_text import SEMICOLON_REASON, semicolon_separated, unicode_encoding
from ilpkit.domain.errors import Problem, RegistryValidationError
from ilpkit.domain.fields import (
    COLUMN_NAMES,
    FIELDS_BY_NAME,
    FILE_COLUMN_NAMES,
    FORMAT_NAME,
    REQUIRED_COLUMNS,
)

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
    with open_registry_csv(path) as reader:
        rows = list(reader)
    if reader.problems:
        raise RegistryValidationError(reader.problems)
    return rows


def _open_problem(path: Path, reason: str) -> RegistryValidationError:
    return RegistryValidationError([Problem(None, "", str(path), reason)])


def open_registry_csv(path: Path) -> RegistryCsvReader:
    """Open a Registry CSV v1 file for reading row by row (memory does not grow with the file).

    The header is read and checked at once; file-level problems found while iterating (rows with
    the wrong number of cells, broken quoting) are collected in :attr:`RegistryCsvReader.problems`
    and must be checked by the caller after the last row. A file that is not UTF-8 text raises
    at the line where that shows.

    Raises
    ------
    RegistryValidationError
        When the file cannot be opened, is empty, or its header is wrong.
    """
    try:
        if path.is_dir():
            raise _open_problem(path, "is a folder, not a file")
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise _open_problem(path, f"is {size:,} bytes; at most 2 GiB can be read")
        handle = path.open("rb")
    except FileNotFoundError:
        raise _open_problem(path, "no such file") from None
    except PermissionError:
        raise _open_problem(path, "the file cannot be read (permission denied)") from None
    except OSError as exc:
        raise _open_problem(path, f"the file cannot be read ({exc.strerror})") from None
    try:
        n_lines = _prescan(handle)
        handle.seek(0)
        return RegistryCsvReader(_decoded_lines(handle), size, handle, n_lines=n_lines)
    except BaseException:
        handle.close()
        raise


_BLOCK_BYTES = 1 << 20


def _prescan(handle: io.BufferedReader) -> int:
    """Check the whole file's encoding and NUL bytes before any row is read; count its lines.

    A file that is not UTF-8 text is refused as a whole, as :func:`parse_registry_csv` does,
    before header or row problems are looked at.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines = 0
    first = True
    while block := handle.read(_BLOCK_BYTES):
        if first and block.startswith((b"\xff\xfe", b"\xfe\xff")):
            _decode(block[:2])  # refused with the advice for UTF-16 files
        first = False
        try:
            decoder.decode(block)
        except UnicodeDecodeError as exc:
            _raise_on_line(handle, lines + block.count(b"\n", 0, exc.start))
        nul = block.find(b"\x00")
        if nul >= 0:
            raise RegistryValidationError(
                [
                    Problem(
                        lines + block.count(b"\n", 0, nul) + 1,
                        "",
                        "",
                        "the file contains a NUL byte (it is probably not a text CSV file)",
                    )
                ]
            )
        lines += block.count(b"\n")
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        _raise_on_line(handle, lines)
    return lines


def _raise_on_line(handle: io.BufferedReader, newlines_before: int) -> None:
    """Raise the decoding problem of the line after ``newlines_before`` line breaks."""
    handle.seek(0)
    for number, data in enumerate(handle):
        if number == newlines_before:
            try:
                _decode(data)
            except RegistryValidationError as exc:
                raise RegistryValidationError(
                    [replace(p, line=number + 1) for p in exc.problems]
                ) from None
            break
    raise RegistryValidationError(
        [Problem(newlines_before + 1, "", "", "the file is not UTF-8 text")]
    )


def _decoded_lines(raw: Iterable[bytes]) -> Iterator[str]:
    """Decode a byte stream line by line with the rules for a whole file (:func:`_decode`)."""
    for number, data in enumerate(raw):
        try:
            text = _decode(data)
        except RegistryValidationError as exc:
            raise RegistryValidationError(
                [replace(p, line=number + 1) for p in exc.problems]
            ) from None
        if "\r" in text.rstrip("\r\n"):
            yield from _OLD_MAC_BREAK.split(text)  # lines ended by a lone carriage return
        else:
            yield text


_OLD_MAC_BREAK = re.compile(r"(?<=\r)(?!\n)")


@dataclass
class RegistryCsvReader:
    """Rows of an open Registry CSV v1 file, read one at a time.

    Attributes
    ----------
    columns : list of str
        The header's column names.
    problems : list of Problem
        File-level problems met so far (complete once every row was read).
    size_bytes : int
        Size of the file.
    n_lines : int
        Line breaks in the file, for progress estimates.
    """

    lines: Iterator[str]
    size_bytes: int
    handle: io.BufferedReader | None = None
    columns: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    bytes_read: int = 0
    n_lines: int = 0

    def __post_init__(self) -> None:
        self._rows = _iter_rows(self._counted(), self.problems, self.columns)
        self._first = next(self._rows, None)
        if self.problems and not self.columns:
            raise RegistryValidationError(self.problems)

    def _counted(self) -> Iterator[str]:
        for line in self.lines:
            self.bytes_read += len(line)
            yield line

    def __iter__(self) -> Iterator[CsvRow]:
        if self._first is not None:
            first, self._first = self._first, None
            yield first
        yield from self._rows

    def __enter__(self) -> RegistryCsvReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the file."""
        if self.handle is not None:
            self.handle.close()
            self.handle = None


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
    problems: list[Problem] = []
    rows = list(_iter_rows(io.StringIO(text, newline=""), problems, []))
    if problems:
        raise RegistryValidationError(problems)
    return rows


def _empty_file() -> RegistryValidationError:
    return RegistryValidationError(
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


def _checked_lines(lines: Iterable[str], seen_text: list[bool]) -> Iterator[str]:
    for number, line in enumerate(lines, start=1):
        if "\x00" in line:
            raise RegistryValidationError(
                [
                    Problem(
                        number,
                        "",
                        "",
                        "the file contains a NUL byte (it is probably not a text CSV file)",
                    )
                ]
            )
        if not seen_text[0] and line.strip() != "":
            seen_text[0] = True
        yield line


def _iter_rows(
    lines: Iterable[str], problems: list[Problem], header: list[str]
) -> Iterator[CsvRow]:
    """Rows of CSV text given line by line; ``header`` is filled in, ``problems`` collected.

    Header problems, an empty file and a NUL byte raise at once; rows with the wrong number of
    cells and broken quoting are appended to ``problems`` (reading stops at broken quoting).
    """
    seen_text = [False]
    reader = csv.reader(_checked_lines(lines, seen_text), strict=True)
    old_limit = csv.field_size_limit()
    csv.field_size_limit(MAX_CELL_CHARS)
    has_header = False
    n_rows = 0
    start = 1
    try:
        for cells in reader:
            line, start = start, reader.line_num + 1
            if not has_header:
                if not seen_text[0]:
                    continue
                header.extend(c.strip() for c in cells)
                has_header = True
                if semicolon_separated(header):
                    raise RegistryValidationError([Problem(1, "", "", SEMICOLON_REASON)])
                found = _header_problems(header)
                if found:
                    problems.extend(found)
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
            n_rows += 1
            yield CsvRow(
                line,
                {
                    h: unneutralise(c) if c[:1] == "'" else c
                    for h, c in zip(header, cells, strict=True)
                },
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
    finally:
        csv.field_size_limit(old_limit)
    if not seen_text[0]:
        raise _empty_file()
    if not has_header:
        problems.append(Problem(1, "", "", "the file has no header row"))
        raise RegistryValidationError(problems)
    if not problems and not n_rows:
        problems.append(
            Problem(None, "", "", "the file has a header row but no data rows; nothing to import")
        )


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


def write_registry_csv(
    rows: Iterable[Mapping[str, str]],
    out: io.TextIOBase,
    columns: Sequence[str] = FILE_COLUMN_NAMES,
) -> int:
    """Write rows of cell text as Registry CSV v1, neutralising formulas.

    ``columns`` defaults to every column, the perfusion_id included (as ``ilp export`` writes).
    Returns the number of data rows written.
    """
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    count = 0
    for row in rows:
        writer.writerow([neutralise(row.get(name, "")) for name in columns])
        count += 1
    return count
