"""What each exported column is: its label, kind and the readable names of its values.

The exporters of statistics files and ODM take their variable labels, value labels, types and
ranges from here; the definitions themselves come from the field catalogue of Registry CSV v1
(:data:`ilpkit.domain.fields.FIELDS`), so an export and the data dictionary never disagree.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from ilpkit.domain.fields import FIELDS_BY_NAME, FieldSpec
from ilpkit.domain.limits import Range
from ilpkit.domain.tumour import HISTOLOGY_LABELS

CHOICE_NAMES: dict[str, dict[str, str]] = {
    "sex": {"M": "male", "F": "female"},
    "response": {
        "CR": "complete response",
        "PR": "partial response",
        "NC": "no change",
        "PD": "progressive disease",
        "NE": "not evaluable",
    },
    "resection_margin": {
        "R0": "no residual tumour",
        "R1": "microscopic residual tumour",
        "R2": "macroscopic residual tumour",
    },
    "grade": {"1": "FNCLCC grade 1", "2": "FNCLCC grade 2", "3": "FNCLCC grade 3"},
    "histology": {h.value: label for h, label in HISTOLOGY_LABELS.items()},
    "complication_clavien_dindo": {
        "0": "no complication",
        "I": "no specific treatment",
        "II": "pharmacological treatment",
        "IIIa": "intervention without general anaesthesia",
        "IIIb": "intervention under general anaesthesia",
        "IVa": "single-organ dysfunction",
        "IVb": "multi-organ dysfunction",
        "V": "death",
    },
    "amputation_reason": {
        "recurrence": "local recurrence",
        "toxicity": "toxicity",
        "non_response": "no response",
        "other": "other reason",
    },
    "cause_of_death": {
        "sarcoma": "sarcoma",
        "other": "other cause",
        "unknown": "cause not established",
    },
}
"""Readable names of coded values, in the words of the data dictionary (docs/data-dictionary.md)."""


@dataclass(frozen=True, slots=True)
class ColumnMeta:
    """One exported column.

    Attributes
    ----------
    name : str
        Column (variable) name.
    label : str
        Variable label: what the column holds, in one line.
    kind : str
        The Registry CSV v1 kind (``date``, ``choice``, ``yes/no``, ``number``, ``integer``,
        ``identifier``, ``code``), or ``year`` / ``text`` for derived columns.
    choices : tuple of (str, str)
        For choice columns: each stored value and its readable label, in code order.
    unit : str
        Unit of a number (``mg``, ``L``, ``cm``, ...), empty when none.
    range : Range or None
        Allowed range of a number, with its reason and source.
    required : bool
        Whether the registry requires a value.
    field : str
        The registry field this column comes from (for ``ilp_date_2``: ``ilp_date``).
    """

    name: str
    label: str
    kind: str
    choices: tuple[tuple[str, str], ...] = ()
    unit: str = ""
    range: Range | None = None
    required: bool = False
    field: str = ""


def short_label(spec: FieldSpec) -> str:
    """The description of a field up to its first sentence or colon (a variable label)."""
    text = spec.description
    for stop in (":", ". ", ";"):
        cut = text.find(stop)
        if cut > 0:
            text = text[:cut]
    return text.rstrip(".")


def choice_labels(spec: FieldSpec) -> tuple[tuple[str, str], ...]:
    """Each allowed value of a choice field with a readable label, e.g. ``("CR", "CR: complete
    response")``; values without a longer name are their own label."""
    names = CHOICE_NAMES.get(spec.name, {})
    out = []
    for value in spec.choices:
        name = names.get(value)
        if name is None:
            out.append((value, value.replace("_", " ")))
        else:
            out.append((value, f"{value}: {name}"))
    return tuple(out)


def field_meta(name: str, *, column: str | None = None, prefix: str = "") -> ColumnMeta:
    """Metadata of the column ``column`` (default ``name``) holding registry field ``name``."""
    spec = FIELDS_BY_NAME[name]
    rng = spec.range
    return ColumnMeta(
        name=column or name,
        label=prefix + short_label(spec),
        kind=spec.kind,
        choices=choice_labels(spec) if spec.kind == "choice" else (),
        unit=rng.unit if rng is not None else _UNITS.get(name, ""),
        range=rng,
        required=spec.required,
        field=name,
    )


_UNITS = {"limb_volume_l": "L", "tnf_mg": "mg", "melphalan_mg": "mg", "tumor_size_cm": "cm"}
"""Units of numbers without a range (a field with a range takes the range's unit)."""


def frame_rows(frame: pd.DataFrame) -> Iterator[dict[str, Any]]:
    """The rows of a registry frame as plain Python values.

    Dates become :class:`datetime.date`, missing values ``None``, integers ``int``, yes/no
    ``bool`` and numbers ``float``.
    """
    columns: dict[str, list[Any]] = {}
    for name in frame.columns:
        col = frame[name]
        present = col.notna().to_numpy()
        if pd.api.types.is_datetime64_any_dtype(col.dtype):
            values: np.ndarray[Any, Any] = np.asarray(col.dt.date, dtype=object)
        elif isinstance(col.dtype, pd.Int64Dtype):
            values = np.asarray(col.astype(object), dtype=object)
        else:
            values = col.to_numpy(dtype=object)
        values = values.copy()
        values[~present] = None
        if col.dtype == float:
            values[present] = [float(v) for v in values[present]]
        elif isinstance(col.dtype, pd.Int64Dtype) or col.dtype.kind == "i":
            values[present] = [int(v) for v in values[present]]
        elif col.dtype == bool:
            values = np.asarray([bool(v) for v in values], dtype=object)
        columns[name] = values.tolist()
    names = list(columns)
    for row in zip(*columns.values(), strict=True):
        yield dict(zip(names, row, strict=True))


def as_date(value: object) -> date | None:
    """``value`` as a date (None for a missing value)."""
    if value is None:
        return None
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.date()
    if isinstance(value, date):
        return value
    raise TypeError(f"not a date: {value!r}")


def metadata_by_name(columns: list[ColumnMeta]) -> Mapping[str, ColumnMeta]:
    """Index a column list by name."""
    return {c.name: c for c in columns}


AGE_BAND_YEARS = 5
"""Width of the age bands written by age coarsening."""


def column_meta(name: str) -> ColumnMeta:
    """Metadata of an exported column, from its name.

    Recognised: every Registry CSV v1 field; ``<field>_year`` (the year of a date, written by
    year-only coarsening); ``age_band`` (age at the perfusion in 5-year bands); ``n_perfusions``;
    and ``<column>_<k>`` for the k-th perfusion of a patient in a one-row-per-patient file.
    """
    if name in FIELDS_BY_NAME:
        return field_meta(name)
    if name == "age_band":
        return ColumnMeta(
            name,
            f"Age at the perfusion, {AGE_BAND_YEARS}-year band (completed years)",
            "age_band",
            unit="a",
            field="birth_date",
        )
    if name == "n_perfusions":
        return ColumnMeta(name, "Number of perfusions of the patient", "integer", required=True)
    if name.endswith("_year") and name[: -len("_year")] in FIELDS_BY_NAME:
        base = field_meta(name[: -len("_year")])
        return ColumnMeta(name, f"{base.label} (year only)", "year", field=base.field)
    head, _, tail = name.rpartition("_")
    if head and tail.isdigit():
        base = column_meta(head)
        return ColumnMeta(
            name,
            f"Perfusion {tail}: {base.label}",
            base.kind,
            base.choices,
            base.unit,
            base.range,
            False,
            base.field,
        )
    raise KeyError(f"unknown export column {name!r}")


def age_band_label(low: int) -> str:
    """``60`` -> ``"60-64"``."""
    return f"{low}-{low + AGE_BAND_YEARS - 1}"
