"""REDCap raw records (CSV "raw data", or the API's flat CSV): reading and writing.

One row per record and event, plus one row per instance of a repeating instrument. The record
id field is the first column; the special columns are ``redcap_event_name`` (longitudinal
projects), ``redcap_repeat_instrument`` (the form name of a repeating instrument, empty on the
record's own row) and ``redcap_repeat_instance`` (1, 2, ...). Values are raw: coded choices are
their codes, yes/no fields 1/0 (REDCapR ``inst/test-data/projects/``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ilpkit.adapters.redcap.dictionary import RedcapFileError

EVENT = "redcap_event_name"
REPEAT_INSTRUMENT = "redcap_repeat_instrument"
REPEAT_INSTANCE = "redcap_repeat_instance"
SPECIAL_COLUMNS = (EVENT, REPEAT_INSTRUMENT, REPEAT_INSTANCE)

MAX_CELL_CHARS = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class RecordRow:
    """One row of a records file: where it starts and the non-empty cells that were asked for
    (a missing cell is an empty one)."""

    line: int
    record_id: str
    event: str
    instrument: str
    instance: str
    cells: dict[str, str]


@dataclass
class RecordsFile:
    """An open records file: its header and its rows, read one at a time."""

    path: Path
    columns: list[str]
    rows: Iterator[RecordRow]


def open_records(path: Path, wanted: Iterable[str]) -> RecordsFile:
    """Open a REDCap records CSV; its rows keep only the ``wanted`` columns (and the record id).

    Raises
    ------
    RedcapFileError
        The file cannot be read or is empty; rows with the wrong number of cells raise while
        iterating, with their line.
    """
    try:
        handle = path.open("r", encoding="utf-8-sig", newline="")
    except FileNotFoundError:
        raise RedcapFileError(path, [(None, "no such file")]) from None
    except IsADirectoryError:
        raise RedcapFileError(path, [(None, "is a folder, not a file")]) from None
    except OSError as exc:
        raise RedcapFileError(path, [(None, f"cannot be read ({exc.strerror})")]) from None
    reader = csv.reader(handle)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        handle.close()
        raise RedcapFileError(path, [(None, "the file is empty")]) from None
    except (UnicodeDecodeError, csv.Error):
        handle.close()
        raise RedcapFileError(path, [(1, "the header cannot be read as UTF-8 CSV")]) from None
    if not header or not header[0]:
        handle.close()
        raise RedcapFileError(path, [(1, "the first column (the record id) has no name")])
    return RecordsFile(path, header, _rows(path, handle, reader, header, set(wanted)))


def _rows(
    path: Path,
    handle: io.TextIOBase,
    reader: Any,
    header: Sequence[str],
    wanted: set[str],
) -> Iterator[RecordRow]:
    position = {name: i for i, name in enumerate(header)}
    keep = [(name, position[name]) for name in header[1:] if name in wanted]
    special = [position.get(name) for name in SPECIAL_COLUMNS]
    line = reader.line_num
    old_limit = csv.field_size_limit(MAX_CELL_CHARS)
    try:
        with handle:
            for cells in reader:
                start, line = line + 1, reader.line_num
                if not cells or (not cells[0].strip() and all(not c.strip() for c in cells)):
                    continue  # an empty row (a row with a record id is never empty)
                if len(cells) != len(header):
                    raise RedcapFileError(
                        path,
                        [
                            (
                                start,
                                f"this row has {len(cells)} cells but the header has "
                                f"{len(header)} columns",
                            )
                        ],
                    )
                event, instrument, instance = (
                    cells[i].strip() if i is not None else "" for i in special
                )
                yield RecordRow(
                    start,
                    cells[0].strip(),
                    event,
                    instrument,
                    instance,
                    {name: cells[i] for name, i in keep if cells[i]},
                )
    except UnicodeDecodeError:
        raise RedcapFileError(path, [(line + 1, "the file is not UTF-8 text")]) from None
    except csv.Error as exc:
        raise RedcapFileError(path, [(line + 1, f"the CSV structure is broken ({exc})")]) from None
    finally:
        csv.field_size_limit(old_limit)


def write_records(columns: Sequence[str], rows: Iterable[Sequence[str]], out: io.TextIOBase) -> int:
    """Write a records CSV (header, then rows); return the number of rows written.

    Cells are written as they are: REDCap's import stores every character, so an apostrophe
    added against spreadsheet formulas would become part of the value (the caller makes sure no
    value can start with a formula character, see :mod:`ilpkit.services.redcap_export`).
    """
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
    return count
