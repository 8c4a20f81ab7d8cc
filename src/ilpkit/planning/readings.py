"""Leakage readings from CSV text: columns ``minute,counts_per_s``.

Parses bytes or text that the caller has read (no file access here). Every bad line is reported with
its line number (line 1 is the header), the column, the value and the reason. Numbers are written
with the digits 0-9 and a decimal point; a file separated by semicolons, a file that is not UTF-8
text, a duplicated column or a cell longer than 128 KiB is refused with a message saying so.

Example file::

    minute,counts_per_s
    0,152
    5,160
    10,171
"""

from __future__ import annotations

import csv
import io
import math
from collections import Counter
from dataclasses import dataclass

from ilpkit.domain.csv_text import (
    DECIMAL_PATTERN,
    SAVE_AS_CSV,
    SEMICOLON_REASON,
    foreign_digit_reason,
    semicolon_separated,
    unicode_encoding,
)
from ilpkit.planning.errors import LeakageInputError

COLUMNS = ("minute", "counts_per_s")

MAX_FIELD_CHARS = 128 * 1024
"""Longest cell read (the csv module's own limit, 128 KiB); a longer one is refused."""


@dataclass(frozen=True, slots=True)
class Reading:
    """One row of a readings file.

    Attributes
    ----------
    line : int
        Line number in the file (1 = header).
    minute : float
        Minutes since the calibration.
    counts_per_s : float
        Count rate over the heart.
    """

    line: int
    minute: float
    counts_per_s: float


def decode_readings(data: bytes) -> str:
    """Decode the bytes of a readings file (UTF-8, with or without a byte-order mark).

    Raises
    ------
    LeakageInputError
        The file is UTF-16 or UTF-32 text, is not UTF-8 text (the line and byte are named), or
        holds NUL bytes (a binary file, not CSV).
    """
    encoding = unicode_encoding(data)
    if encoding is not None:
        raise LeakageInputError(f"the file is {encoding} text; {SAVE_AS_CSV} and try again")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        byte = data[error.start : error.start + 1].hex().upper()
        raise LeakageInputError(
            f"line {line}: the file is not UTF-8 text (byte 0x{byte}; a binary file, or text "
            f"saved as Latin-1/Windows-1252); {SAVE_AS_CSV} and try again"
        ) from None
    return text


def parse_readings_bytes(data: bytes) -> tuple[Reading, ...]:
    """:func:`decode_readings`, then :func:`parse_readings_csv`."""
    return parse_readings_csv(decode_readings(data))


def parse_readings_csv(text: str) -> tuple[Reading, ...]:
    """Parse leakage readings from CSV text.

    Parameters
    ----------
    text : str
        CSV with a header naming the columns ``minute`` and ``counts_per_s`` (other columns, e.g.
        notes, are ignored); blank lines are skipped.

    Returns
    -------
    tuple of Reading
        At least one reading, minutes at least 0 and strictly increasing, counts at least 0.

    Raises
    ------
    LeakageInputError
        With every problem found (the message lists up to 20): missing or duplicated columns, a
        file separated by semicolons, a row with the wrong number of fields, a value that is not a
        number written with the digits 0-9, a negative minute or count, a minute not after the
        previous one, a NUL byte or a cell over 128 KiB, or no readings at all.
    """
    text = text.lstrip("\ufeff")
    nul = text.find("\x00")
    if nul >= 0:
        raise LeakageInputError(
            f"line {text.count(chr(10), 0, nul) + 1}: the file contains a NUL byte (it is "
            "probably a binary file, not a CSV text file)"
        )
    numbered = _rows(text)
    if not numbered:
        raise LeakageInputError(
            "the readings file is empty; it needs a header line 'minute,counts_per_s' and one "
            "line per reading"
        )
    header_line, header = numbered[0]
    if semicolon_separated(header):
        raise LeakageInputError(f"line {header_line}: {SEMICOLON_REASON}")
    names = [h.strip().lower() for h in header]
    duplicated = sorted(n for n, count in Counter(names).items() if n and count > 1)
    if duplicated:
        raise LeakageInputError(
            f"line {header_line}: the header names the column(s) {', '.join(duplicated[:5])} "
            "more than once; each column may appear only once"
        )
    missing = [c for c in COLUMNS if c not in names]
    if missing:
        shown = ",".join(header)
        if len(shown) > 200:
            shown = f"{shown[:200]}... ({len(header):,} columns)"
        raise LeakageInputError(
            f"line {header_line}: the header {shown!r} lacks the column(s) "
            f"{', '.join(missing)}; the first line must be 'minute,counts_per_s'"
        )
    index = {c: names.index(c) for c in COLUMNS}
    problems: list[str] = []
    readings: list[Reading] = []
    previous: tuple[int, float] | None = None  # (line, minute) of the last row with a valid minute
    for line, row in numbered[1:]:
        if len(row) != len(header):
            problems.append(
                f"line {line}: expected {len(header)} values ({','.join(names)}), found "
                f"{len(row)} ({','.join(row)!r}); use a dot for decimals"
            )
            continue
        values: dict[str, float] = {}
        for column in COLUMNS:
            raw = row[index[column]].strip()
            reason = _number_problem(raw)
            if reason is None:
                number = float(raw)
                if not math.isfinite(number) or number < 0:
                    reason = "must be a number of at least 0"
                else:
                    values[column] = number
                    continue
            problems.append(f"line {line}, column '{column}', value '{raw}': {reason}")
        minute = values.get("minute")
        if minute is not None:
            if previous is not None and minute <= previous[1]:
                problems.append(
                    f"line {line}, column 'minute', value '{minute:g}': must be later than the "
                    f"previous reading (minute {previous[1]:g} on line {previous[0]}); minutes "
                    "must increase"
                )
            previous = (line, minute)
        if len(values) == len(COLUMNS):
            readings.append(Reading(line, values["minute"], values["counts_per_s"]))
    if problems:
        raise LeakageInputError(problems)
    if not readings:
        raise LeakageInputError(
            f"the readings file has a header (line {header_line}) but no readings"
        )
    return tuple(readings)


def _rows(text: str) -> list[tuple[int, list[str]]]:
    """Non-blank rows with the line each starts on; a broken CSV structure is an error."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    numbered: list[tuple[int, list[str]]] = []
    start = 1
    old_limit = csv.field_size_limit()
    csv.field_size_limit(MAX_FIELD_CHARS)
    try:
        for row in reader:
            if any(c.strip() for c in row):
                numbered.append((start, row))
            start = reader.line_num + 1
    except csv.Error as error:
        if "field larger than field limit" in str(error):
            reason = (
                f"a cell is longer than {MAX_FIELD_CHARS // 1024} KiB; this is not a readings file"
            )
        else:
            reason = f"the CSV structure is broken ({error}); check the quotes on this line"
        raise LeakageInputError(f"line {start}: {reason}") from None
    finally:
        csv.field_size_limit(old_limit)
    return numbered


def _number_problem(raw: str) -> str | None:
    """Why ``raw`` is not a number written with the digits 0-9 and a point, else None."""
    if DECIMAL_PATTERN.fullmatch(raw):
        return None
    foreign = foreign_digit_reason(raw)
    if foreign:
        return foreign
    if "," in raw and DECIMAL_PATTERN.fullmatch(raw.replace(",", ".")):
        return "uses a comma; write decimals with a point (e.g. 3.5)"
    return "not a number"
