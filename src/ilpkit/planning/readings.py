"""Leakage readings from CSV text: columns ``minute,counts_per_s``.

Parses text that the caller has read (no file access here). Every bad line is reported with its line
number (line 1 is the header), the column, the value and the reason.

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
from dataclasses import dataclass

from ilpkit.planning.errors import LeakageInputError

COLUMNS = ("minute", "counts_per_s")


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
        With every problem found (the message lists up to 20): missing columns, a row with the
        wrong number of fields, a value that is not a number, a negative minute or count, a
        minute not after the previous one, or no readings at all.
    """
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    numbered = [(i, row) for i, row in enumerate(rows, start=1) if any(c.strip() for c in row)]
    if not numbered:
        raise LeakageInputError(
            "the readings file is empty; it needs a header line 'minute,counts_per_s' and one "
            "line per reading"
        )
    header_line, header = numbered[0]
    names = [h.strip().lower() for h in header]
    missing = [c for c in COLUMNS if c not in names]
    if missing:
        raise LeakageInputError(
            f"line {header_line}: the header {','.join(header)!r} lacks the column(s) "
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
            try:
                number = float(raw)
            except ValueError:
                problems.append(f"line {line}, column '{column}', value '{raw}': not a number")
                continue
            if not math.isfinite(number) or number < 0:
                problems.append(
                    f"line {line}, column '{column}', value '{raw}': must be a number of at least 0"
                )
                continue
            values[column] = number
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
