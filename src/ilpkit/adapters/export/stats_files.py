"""SPSS (.sav), Stata (.dta), SAS transport (.xpt) and Parquet files of a registry table.

Written with pyreadstat (ReadStat) and pyarrow. Every column carries its variable label; coded
columns (choices, yes/no, age bands) are written as whole-number codes with value labels in SPSS
and Stata (e.g. ``response`` 1 = "CR: complete response"), as the text value in SAS transport
files (which hold no value labels: SAS keeps formats in a separate catalogue), and as dictionary
(categorical) columns in Parquet. Dates are written as dates in every format.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from ilpkit.adapters.export.columns import ColumnMeta, age_band_label

StatsFormat = Literal["sav", "dta", "xpt", "parquet"]

YES_NO_LABELS: dict[int | float, str] = {0: "no", 1: "yes"}
LABEL_LIMITS = {"sav": 256, "dta": 80, "xpt": 40, "parquet": 10_000}
"""Longest variable label each format holds (Stata: 80 characters; SAS transport: 40)."""
FILE_LABEL = "ilpkit TM-ILP registry export"
SYNTHETIC_FILE_LABEL = "SYNTHETIC DATA - ilpkit TM-ILP registry"
"""The file label of an export of a registry made by ``ilp synth`` (at most 40 characters,
as SAS transport files allow)."""

_MEASURE = {
    "choice": "nominal",
    "yes/no": "nominal",
    "identifier": "nominal",
    "code": "nominal",
    "age_band": "ordinal",
    "number": "scale",
    "integer": "scale",
    "year": "scale",
    "date": "scale",
}


def _label(meta: ColumnMeta, fmt: str) -> str:
    """The variable label: the column's label, its unit when the label does not name it, in
    plain ASCII for the unit (SAS transport files are not Unicode), cut to the format's limit."""
    text = meta.label
    unit = meta.unit.replace("°C", "degrees C")
    if meta.kind == "number" and unit and not text.endswith(f" {unit}") and unit not in text:
        text += f" ({unit})"
    return text[: LABEL_LIMITS[fmt]]


def _dates(col: pd.Series) -> np.ndarray[Any, Any]:
    values = np.asarray(pd.to_datetime(col).dt.date, dtype=object)
    values[col.isna().to_numpy()] = None
    return values


def _present(col: pd.Series) -> np.ndarray[Any, Any]:
    return np.asarray(col.notna().to_numpy(), dtype=bool)


def _coded(col: pd.Series, meta: ColumnMeta) -> tuple[np.ndarray[Any, Any], dict[int | float, str]]:
    """Whole-number codes (float, NaN when missing) and their value labels."""
    present = _present(col)
    out = np.full(len(col), np.nan)
    if meta.kind == "choice":
        codes = {value: i for i, (value, _) in enumerate(meta.choices, start=1)}
        labels: dict[int | float, str] = {
            i: label for i, (_, label) in enumerate(meta.choices, start=1)
        }
        out[present] = [codes[str(v)] for v in col[present]]
        return out, labels
    if meta.kind == "yes/no":
        out[present] = [1.0 if bool(v) else 0.0 for v in col[present]]
        return out, dict(YES_NO_LABELS)
    if meta.kind == "age_band":
        lows = sorted({int(v) for v in col[present]})
        out[present] = col[present].astype(float).to_numpy()
        return out, {low: age_band_label(low) for low in lows}
    raise ValueError(f"column {meta.name} is not coded")


def _numeric(col: pd.Series) -> np.ndarray[Any, Any]:
    return pd.to_numeric(col, errors="raise").astype(float).to_numpy()


def _text(col: pd.Series) -> np.ndarray[Any, Any]:
    values = col.to_numpy(dtype=object).copy()
    values[~_present(col)] = ""
    return np.asarray([str(v) for v in values], dtype=object)


def readstat_frame(
    frame: pd.DataFrame, columns: Sequence[ColumnMeta], fmt: StatsFormat
) -> tuple[pd.DataFrame, dict[str, dict[int | float, str]]]:
    """The frame converted for pyreadstat, and the value labels of its coded columns."""
    data: dict[str, Any] = {}
    value_labels: dict[str, dict[int | float, str]] = {}
    for meta in columns:
        col = frame[meta.name]
        if meta.kind == "date":
            data[meta.name] = _dates(col)
        elif meta.kind in ("choice", "yes/no", "age_band"):
            if fmt == "xpt" and meta.kind != "yes/no":
                if meta.kind == "age_band":
                    present = _present(col)
                    text = np.full(len(col), "", dtype=object)
                    text[present] = [age_band_label(int(v)) for v in col[present]]
                    data[meta.name] = text
                else:
                    data[meta.name] = _text(col)
            else:
                codes, labels = _coded(col, meta)
                data[meta.name] = codes
                if fmt != "xpt":
                    value_labels[meta.name] = labels
        elif meta.kind in ("number", "integer", "year"):
            data[meta.name] = _numeric(col)
        else:
            data[meta.name] = _text(col)
    return pd.DataFrame(data, index=range(len(frame))), value_labels


def write_readstat(
    frame: pd.DataFrame,
    columns: Sequence[ColumnMeta],
    path: Path,
    fmt: StatsFormat,
    synthetic: bool = False,
) -> None:
    """Write an SPSS, Stata or SAS transport file with variable (and value) labels.

    Parameters
    ----------
    frame : DataFrame
        The table; one column per entry of ``columns``.
    columns : sequence of ColumnMeta
        What each column is (label, kind, choices).
    path : Path
        File to write.
    fmt : {"sav", "dta", "xpt"}
    """
    import pyreadstat

    data, value_labels = readstat_frame(frame, columns, fmt)
    labels: dict[str, str | None] = {m.name: _label(m, fmt) for m in columns}
    if fmt == "sav":
        pyreadstat.write_sav(
            data,
            str(path),
            file_label=SYNTHETIC_FILE_LABEL if synthetic else FILE_LABEL,
            column_labels=labels,
            variable_value_labels=value_labels,
            variable_measure={m.name: _MEASURE.get(m.kind, "nominal") for m in columns},
        )
    elif fmt == "dta":
        pyreadstat.write_dta(
            data,
            str(path),
            file_label=SYNTHETIC_FILE_LABEL if synthetic else FILE_LABEL,
            column_labels=labels,
            variable_value_labels=value_labels,
        )
    elif fmt == "xpt":
        pyreadstat.write_xport(
            data,
            str(path),
            file_label=(SYNTHETIC_FILE_LABEL if synthetic else FILE_LABEL)[:40],
            column_labels=labels,
            table_name="ILPREG",
            file_format_version=8,
        )
    else:
        raise ValueError(f"not a ReadStat format: {fmt}")


def write_parquet(
    frame: pd.DataFrame, columns: Sequence[ColumnMeta], path: Path, synthetic: bool = False
) -> None:
    """Write a Parquet file: dates as ``date32``, choices as dictionary columns, yes/no as
    booleans; each field's metadata holds its ``label`` (and ``unit``), the file's metadata a
    ``title``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrays = []
    fields = []
    for meta in columns:
        col = frame[meta.name]
        present = _present(col)
        if meta.kind == "date":
            array = pa.array(_dates(col), type=pa.date32())
        elif meta.kind == "choice":
            cats = [value for value, _ in meta.choices]
            values = col.to_numpy(dtype=object).copy()
            values[~present] = None
            array = pa.array(pd.Categorical(values, categories=cats))
        elif meta.kind == "yes/no":
            array = pa.array([bool(v) if p else None for v, p in zip(col, present, strict=True)])
        elif meta.kind == "age_band":
            bands = [
                age_band_label(int(v)) if p else None for v, p in zip(col, present, strict=True)
            ]
            array = pa.array(pd.Categorical(bands)).cast(pa.dictionary(pa.int8(), pa.string()))
        elif meta.kind in ("integer", "year"):
            array = pa.array(pd.array(col, dtype="Int64"), type=pa.int64())
        elif meta.kind == "number":
            array = pa.array(_numeric(col), mask=~present, type=pa.float64())
        else:
            values = col.to_numpy(dtype=object).copy()
            values[~present] = None
            array = pa.array(values, type=pa.string())
        field_meta = {"label": meta.label}
        if meta.unit:
            field_meta["unit"] = meta.unit
        fields.append(pa.field(meta.name, array.type, metadata=field_meta))
        arrays.append(array)
    schema = pa.schema(
        fields, metadata={"title": SYNTHETIC_FILE_LABEL if synthetic else FILE_LABEL}
    )
    table = pa.Table.from_arrays(arrays, schema=schema)
    pq.write_table(table, str(path))
