"""Registry CSV v1 text of a SYNTHETIC cohort, formatted a column at a time.

Each column's distinct values are formatted once with the field catalogue's own
:meth:`~ilpkit.domain.fields.FieldSpec.format` (and, like ``ilp export``, neutralised against
spreadsheet formulas and quoted as the csv module would), then spread to every row by index. The
cells are therefore byte-identical to what
:func:`ilpkit.adapters.csv.registry_csv.write_registry_csv` writes for the same values, while a
million rows take seconds instead of minutes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from ilpkit.adapters.csv.registry_csv import neutralise
from ilpkit.domain.fields import COLUMN_NAMES, FIELDS, FieldSpec
from ilpkit.synthetic.cohort import SyntheticCohort

CHUNK_ROWS = 100_000
"""Rows joined into text at a time (bounds the memory of writing a large cohort)."""

ProgressCallback = Callable[[int, int], None]
"""Called with (rows written, rows in all)."""


def _typed(spec: FieldSpec, value: object) -> object:
    """A distinct value of a column array as the Python value its field formats."""
    if isinstance(value, np.datetime64):
        return value.astype("datetime64[D]").astype(date)
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.floating | float):
        if spec.kind == "integer" or spec.name == "grade":
            return int(value)
        return float(value)
    return value


def _csv_cell(text: str) -> str:
    """``text`` as the csv module writes it (quoted only when it must be)."""
    if not any(ch in text for ch in ',"\r\n'):
        return text
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow([text, ""])
    return buffer.getvalue()[:-2]


def column_cells(spec: FieldSpec, values: np.ndarray) -> np.ndarray:
    """The cell text of every value of one column (``""`` for an empty cell).

    Parameters
    ----------
    spec : FieldSpec
        The column's field (its :meth:`~FieldSpec.format` writes each distinct value).
    values : ndarray
        The column in the typed representation of :mod:`ilpkit.synthetic.cohort`.

    Returns
    -------
    ndarray of object
        One ``str`` per value, shared between equal values.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    if isinstance(uniques, pd.Index | pd.api.extensions.ExtensionArray):
        uniques = np.asarray(uniques)
    if np.issubdtype(uniques.dtype, np.datetime64):
        uniques = uniques.astype("datetime64[D]")
    texts = [_csv_cell(neutralise(spec.format(_typed(spec, u)))) for u in uniques]
    table = np.array([*texts, ""], dtype=object)  # code -1 (empty) picks the last entry
    return table[codes]


def iter_csv_text(
    cohort: SyntheticCohort, chunk_rows: int = CHUNK_ROWS
) -> Iterator[tuple[str, int]]:
    """Registry CSV v1 text of the cohort in pieces: the header, then blocks of rows.

    Yields
    ------
    text : str
        Lines ending in ``\\n``.
    rows : int
        Data rows in this piece (0 for the header).
    """
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(COLUMN_NAMES)
    yield buffer.getvalue(), 0
    cells: list[tuple[np.ndarray, bool]] = []
    for spec in FIELDS:
        if spec.name in cohort.perfusions:
            cells.append((column_cells(spec, cohort.perfusions[spec.name]), False))
        else:
            cells.append((column_cells(spec, cohort.patients[spec.name]), True))
    patient_of = cohort.perfusion_patient
    for start in range(0, cohort.n_perfusions, chunk_rows):
        stop = min(start + chunk_rows, cohort.n_perfusions)
        who = patient_of[start:stop]
        columns = [c[who] if by_patient else c[start:stop] for c, by_patient in cells]
        yield "\n".join(map(",".join, zip(*columns, strict=True))) + "\n", stop - start


def write_cohort_csv(
    cohort: SyntheticCohort, path: Path, progress: ProgressCallback | None = None
) -> int:
    """Write the cohort as a Registry CSV v1 file; return the number of data rows.

    The file is written next to ``path`` and moved into place only when complete, so a failed
    write never leaves a truncated file.
    """
    tmp = path.with_name(path.name + ".partial")
    done = 0
    try:
        with tmp.open("w", encoding="utf-8", newline="") as out:
            for text, rows in iter_csv_text(cohort):
                out.write(text)
                done += rows
                if progress is not None and rows:
                    progress(done, cohort.n_perfusions)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return done
