"""Analysis datasets, derived in ONE place from the registry (one row per perfusion).

Every statistic, the report and the dashboards use these functions, so an endpoint means the same
thing everywhere. The definitions are documented in docs/methods.md:

- **overall survival (OS)**, per patient: from the first perfusion to death from any cause;
  patients alive are censored at the date of last follow-up.
- **local recurrence (LR)**, per perfusion: from that perfusion to the local recurrence; death
  without local recurrence is the competing event; censored at the date of last follow-up.
- **distant-metastasis-free survival (DMFS)**, per patient: from the first perfusion to the first
  distant metastasis or death, whichever comes first; censored at last follow-up.
- **amputation-free survival (AFS)**, per perfusion: from the perfusion to amputation or death;
  **limb salvage**: a perfusion not followed by an amputation (per perfusion), a patient who never
  had an amputation (per patient).
- **response**, per perfusion: WHO category; NE (not evaluable) and missing responses are left out
  of the denominator and counted.
- **distant metastasis (DM)**, per patient: from the first perfusion to the first distant
  metastasis; death without distant metastasis is the competing event.
- **sarcoma-specific survival (SSS)**, per patient: from the first perfusion to death from
  sarcoma; deaths from other causes are censored at death; deaths of unknown (or unrecorded)
  cause are left out (main analysis) or counted as sarcoma deaths (sensitivity analysis).

Time is in days between dates; years = days / 365.25.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd

DAYS_PER_YEAR = 365.25
"""Days per year for converting follow-up times (Julian year)."""

TUMOR_SIZE_GROUPS: tuple[tuple[str, float, float], ...] = (
    ("<=5cm", 0.0, 5.0),
    (">5-10cm", 5.0, 10.0),
    (">10-15cm", 10.0, 15.0),
    (">15cm", 15.0, np.inf),
)
"""Tumour-size groups by largest diameter, (label, above, up to and including) in cm: the AJCC
8th edition T categories for trunk and extremity sarcoma (T1 <= 5, T2 > 5-10, T3 > 10-15,
T4 > 15 cm). The seed study does not state its cut-off."""

TNF_DOSE_CUT_MG = 2.0
"""TNF doses up to and including this (mg) form the low-dose group: 1-2 mg against 3-4 mg, the
Rotterdam comparison (Deroose, Eur J Cancer 2015;51:367)."""
TNF_DOSE_GROUPS: tuple[tuple[str, float, float], ...] = (
    ("<=2 mg", -np.inf, TNF_DOSE_CUT_MG),
    (">2 mg", TNF_DOSE_CUT_MG, np.inf),
)
"""TNF dose groups, (label, above, up to and including) in mg."""

COVARIATES: tuple[str, ...] = (
    "multifocal",
    "prior_radiotherapy",
    "presentation",
    "histology",
    "leiomyosarcoma",
    "grade",
    "tumor_size_group",
    "sex",
    "limb",
    "response",
    "resection_margin",
    "adjuvant_radiotherapy",
    "complication_clavien_dindo",
    "amputation_reason",
    "cause_of_death",
    "tnf_dose_group",
    "histology_group",
    "necrosis_group",
)
"""Categorical covariates carried into every analysis dataset, as registry text ('yes', '2').
``response``, ``resection_margin``, ``adjuvant_radiotherapy`` and ``necrosis_group`` are known
only after the perfusion (post-baseline: see :mod:`ilpkit.stats.landmark`)."""

NECROSIS_THRESHOLD_PCT = 50.0
"""Pathological necrosis groups: > 50% vs <= 50% of the resected tumour. Source: Deroose JP et
al. 2010 (radiotherapy after TM-ILP and resection): no local recurrence after an R0 resection
with > 50% necrosis; the threshold of that series."""

NECROSIS_GROUPS = ("<=50%", ">50%")
"""Labels of the pathological necrosis groups (``necrosis_group``)."""

HISTOLOGY_GROUPS_FILE = "histology_groups.toml"


@dataclass(frozen=True, slots=True)
class HistologyGroups:
    """The histology grouping of the report (``ilpkit/data/histology_groups.toml``).

    Attributes
    ----------
    order : tuple of str
        Group keys in table order, ``other`` last.
    labels : dict of str to str
        Readable name of each group.
    of_code : dict of str to str
        Group of each registry histology code listed in the file (others: ``other``).
    other : str
        Key of the group of every code not listed.
    source : str
        Where the grouping comes from.
    """

    order: tuple[str, ...]
    labels: dict[str, str]
    of_code: dict[str, str]
    other: str
    source: str


@cache
def histology_groups() -> HistologyGroups:
    """Read the shipped histology grouping (cached)."""
    raw = (resources.files("ilpkit.data") / HISTOLOGY_GROUPS_FILE).read_text(encoding="utf-8")
    data = tomllib.loads(raw)
    other = str(data["other_key"])
    order = [str(g["key"]) for g in data["groups"]] + [other]
    labels = {str(g["key"]): str(g["label"]) for g in data["groups"]}
    labels[other] = str(data["other_label"])
    of_code = {str(c): str(g["key"]) for g in data["groups"] for c in g["codes"]}
    return HistologyGroups(tuple(order), labels, of_code, other, str(data["source"]))


def histology_group(histology: pd.Series) -> pd.Series:
    """Group of each histology code (:func:`histology_groups`); missing stays None."""
    groups = histology_groups()
    codes, uniques = pd.factorize(histology.to_numpy(dtype=object), use_na_sentinel=True)
    table = np.array([groups.of_code.get(u, groups.other) for u in uniques] + [None], dtype=object)
    return pd.Series(table[codes], index=histology.index, dtype=object)


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    """A column of the registry frame, or all None when the registry has no such column."""
    if name in frame.columns:
        return frame[name]
    return pd.Series([None] * len(frame), index=frame.index, dtype=object)


def necrosis_group(necrosis_pct: pd.Series) -> pd.Series:
    """``>50%`` or ``<=50%`` of pathological necrosis (:data:`NECROSIS_THRESHOLD_PCT`)."""
    if necrosis_pct.dtype == object:
        pct = pd.to_numeric(necrosis_pct, errors="coerce").to_numpy(dtype=float)
    else:
        pct = float_values(necrosis_pct)
    out = np.array(NECROSIS_GROUPS, dtype=object)[(pct > NECROSIS_THRESHOLD_PCT).astype(np.intp)]
    out[np.isnan(pct)] = None
    return pd.Series(out, index=necrosis_pct.index, dtype=object)


NUMERIC_COVARIATES: tuple[str, ...] = (
    "age_years",
    "tumor_size_cm",
    "limb_volume_l",
    "tnf_mg",
    "melphalan_mg",
    "melphalan_mg_per_l",
    "pathological_necrosis_pct",
    "wieberdink_grade",
    "systemic_toxicity_grade",
    "max_leakage_pct",
    "max_tissue_temp_c",
)
"""Numeric covariates carried into every analysis dataset (missing values NaN); the toxicity
grades are ordered whole numbers (Wieberdink 1-5, CTCAE 0-5)."""


_YES_NO_TEXT = np.array(["no", "yes"], dtype=object)
"""'no' / 'yes' as shared string objects, indexed by a 0/1 flag."""


def _labels_of(flags: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """``labels[flags]`` as an object array (one shared string object per label)."""
    return labels[flags.astype(np.intp)]


def _yes_no(values: pd.Series) -> pd.Series:
    if values.dtype == bool:
        return pd.Series(_labels_of(values.to_numpy(), _YES_NO_TEXT), index=values.index)
    return values.map({True: "yes", False: "no"})


def _optional_yes_no(values: pd.Series) -> pd.Series:
    """'yes' / 'no' for a recorded value, None for a missing one (pandas ``boolean`` or bool, or
    text ``yes``/``no`` in a frame built by hand)."""
    if values.dtype == object:
        mapped = values.map({True: "yes", False: "no", "yes": "yes", "no": "no"})
        return mapped.astype(object).where(mapped.notna(), None)
    flags = values.astype("boolean")
    known = flags.notna().to_numpy()
    out = _labels_of(flags.to_numpy(dtype=bool, na_value=False), _YES_NO_TEXT)
    out[~known] = None
    return pd.Series(out, index=values.index, dtype=object)


def float_values(values: pd.Series) -> np.ndarray:
    """A numeric column as a new float array (NaN for missing, pandas <NA> included)."""
    if values.dtype == np.float64:
        return values.to_numpy(dtype=float, copy=True)
    if isinstance(values.dtype, pd.api.extensions.ExtensionDtype) or values.dtype == object:
        return values.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    return values.to_numpy(dtype=float, copy=True)


def _optional_number(frame: pd.DataFrame, name: str) -> pd.Series:
    """A numeric column as float (NaN when missing; Int64 <NA> too); all NaN when absent."""
    if name not in frame.columns:
        return pd.Series(np.nan, index=frame.index, dtype=float)
    return pd.Series(float_values(frame[name]), index=frame.index, dtype=float)


def _text_values(values: pd.Series) -> np.ndarray:
    """A text column as a new object array with None for every missing value."""
    out = values.to_numpy(dtype=object, copy=True)
    out[pd.isna(out)] = None
    return out


def _optional_text(frame: pd.DataFrame, name: str) -> pd.Series:
    """A text column with None for missing values; all None when the column is absent."""
    if name not in frame.columns:
        return pd.Series(None, index=frame.index, dtype=object)
    return pd.Series(_text_values(frame[name]), index=frame.index, dtype=object)


def _interval_labels(
    values: np.ndarray, upper_edges: Sequence[float], labels: Sequence[str], lowest: float
) -> np.ndarray:
    """Label of the interval ``(above, up to and including]`` holding each value; None for a
    missing value or one at or below ``lowest`` (``pd.cut`` with ``right=True``)."""
    edges = np.array([lowest, *upper_edges], dtype=float)
    index = np.searchsorted(edges, values, side="left")
    inside = (index >= 1) & (index < len(edges)) & ~np.isnan(values)
    table = np.array([None, *labels], dtype=object)
    return table[np.where(inside, index, 0)]


def text_codes(values: pd.Series) -> tuple[np.ndarray, list[str]]:
    """The text of each value (``str(value)``) as an integer code, -1 where it is missing, and
    the texts by code (first appearance first).

    One hashing pass (``pd.factorize``) instead of converting every value to text and comparing
    the texts once per level, which took most of a subgroup comparison's time on a large
    registry (docs/performance.md).
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    texts: dict[str, int] = {}
    remap = np.array([texts.setdefault(str(u), len(texts)) for u in uniques] + [-1], dtype=np.intp)
    return remap[codes], list(texts)


def tumor_size_group(size_cm: pd.Series) -> pd.Series:
    """Assign each tumour size (cm) to its AJCC T group label; NaN stays missing (None)."""
    edges = [0.0] + [hi for _, _, hi in TUMOR_SIZE_GROUPS]
    labels = [label for label, _, _ in TUMOR_SIZE_GROUPS]
    groups = pd.cut(size_cm, bins=edges, labels=labels, right=True, include_lowest=False)
    return groups.astype(object).where(groups.notna(), None)


_SHARED: ContextVar[dict[tuple[str, int], tuple[pd.DataFrame, Any]] | None] = ContextVar(
    "ilpkit_shared_preparation", default=None
)


@contextmanager
def shared_preparation() -> Iterator[None]:
    """Within this block, the covariates and the first perfusions of a frame are prepared once
    per frame object and shared by every analysis (each caller gets its own copy of the
    covariates). Frames must not be changed in place inside the block. Nested blocks share the
    outer one's preparation.
    """
    if _SHARED.get() is not None:
        yield
        return
    token = _SHARED.set({})
    try:
        yield
    finally:
        _SHARED.reset(token)


def _shared(kind: str, frame: pd.DataFrame) -> Any:
    cache_ = _SHARED.get()
    hit = None if cache_ is None else cache_.get((kind, id(frame)))
    # The cache holds the frame itself, so its id cannot be reused while the entry lives.
    return hit[1] if hit is not None and hit[0] is frame else None


def _share(kind: str, frame: pd.DataFrame, value: Any) -> None:
    cache_ = _SHARED.get()
    if cache_ is not None:
        cache_[(kind, id(frame))] = (frame, value)


def _covariate_columns(frame: pd.DataFrame, names: Sequence[str]) -> dict[str, Any]:
    """The covariate columns ``names`` of ``frame`` (arrays), each derived once per frame inside
    :func:`shared_preparation` (and kept read-only there)."""
    sharing = _SHARED.get() is not None
    shared = _shared("covariates", frame)
    columns: dict[str, Any] = {} if shared is None else shared
    if shared is None:
        _share("covariates", frame, columns)
    for name in names:
        if name not in columns:
            values = _COVARIATE[name](frame)
            if sharing and isinstance(values, np.ndarray):
                values.flags.writeable = False
            columns[name] = values
    return columns


def covariates(
    frame: pd.DataFrame, columns: Sequence[str] | None = None, *, renumber: bool = False
) -> pd.DataFrame:
    """Per-perfusion covariates as analyses use them (prepared once per frame inside
    :func:`shared_preparation`; every call returns a new frame of its own).

    Categorical ones are the registry's text (``yes``/``no``, grade ``1``-``3``, histology name),
    plus ``leiomyosarcoma`` (yes/no), ``tumor_size_group``, ``histology_group`` and
    ``necrosis_group``; numeric ones include ``age_years`` at the perfusion and
    ``melphalan_mg_per_l``; ``resection_days`` is the time from the perfusion to the resection
    (NaN without one), for landmark analyses. Columns the registry lacks
    (``adjuvant_radiotherapy``, ``pathological_necrosis_pct``) give None.

    Parameters
    ----------
    frame : DataFrame
        The registry frame (or some of its rows), one row per perfusion.
    columns : sequence of str, optional
        Only these covariates (of :data:`COVARIATE_COLUMNS`), in this order; default all.
    renumber : bool
        Index the rows 0..n-1 instead of with ``frame``'s index.
    """
    names = COVARIATE_COLUMNS if columns is None else columns
    return _frame_of(
        {},
        _covariate_columns(frame, names),
        names,
        pd.RangeIndex(len(frame)) if renumber else frame.index,
    )


def _frame_of(
    first: dict[str, Any], cov: dict[str, Any], names: Sequence[str], index: pd.Index
) -> pd.DataFrame:
    """One new frame of the ``first`` columns followed by the covariates ``names``, assembled
    once (every value copied once; adding covariates column by column and copying the result
    moved every object column several times)."""
    data = dict(first)
    for name in names:
        data[name] = cov[name]
    return pd.DataFrame(data, index=index, copy=True)


def _grade_text(grade: pd.Series) -> np.ndarray:
    """Grade as registry text ('1'-'3'), None when missing."""
    if pd.api.types.is_integer_dtype(grade.dtype):
        known = grade.notna().to_numpy()
        whole = grade.to_numpy(dtype=np.int64, na_value=0)
        if known.any() and whole[known].min() >= 0 and whole[known].max() < 100:
            table = np.array([str(g) for g in range(int(whole[known].max()) + 1)], dtype=object)
            out = table[np.where(known, whole, 0)]
            out[~known] = None
            return out
    text = grade.astype("string").astype(object).where(grade.notna(), None)
    return text.to_numpy(dtype=object)


def _tnf_dose_group(frame: pd.DataFrame) -> np.ndarray:
    tnf = float_values(frame["tnf_mg"])
    labels = np.array([g for g, _, _ in TNF_DOSE_GROUPS], dtype=object)
    group = _labels_of(tnf > TNF_DOSE_CUT_MG, labels)
    group[np.isnan(tnf)] = None
    return group


def _adjuvant_radiotherapy(frame: pd.DataFrame) -> np.ndarray:
    if "adjuvant_radiotherapy" not in frame.columns:
        return np.full(len(frame), None, dtype=object)
    return _optional_yes_no(frame["adjuvant_radiotherapy"]).to_numpy()


def _resection_days(frame: pd.DataFrame) -> np.ndarray:
    resection = pd.to_datetime(_column(frame, "resection_date"))
    return (resection - frame["ilp_date"]).dt.days.astype(float).to_numpy()


_COVARIATE: dict[str, Callable[[pd.DataFrame], Any]] = {
    "multifocal": lambda f: _yes_no(f["multifocal"]).to_numpy(),
    "prior_radiotherapy": lambda f: _yes_no(f["prior_radiotherapy"]).to_numpy(),
    "presentation": lambda f: _as_is(f["presentation"]),
    "histology": lambda f: _as_is(f["histology"]),
    "leiomyosarcoma": lambda f: _labels_of(
        (f["histology"] == "leiomyosarcoma").to_numpy(dtype=bool), _YES_NO_TEXT
    ),
    "grade": lambda f: _grade_text(f["grade"]),
    "tumor_size_group": lambda f: _interval_labels(
        float_values(f["tumor_size_cm"]),
        [hi for _, _, hi in TUMOR_SIZE_GROUPS],
        [g for g, _, _ in TUMOR_SIZE_GROUPS],
        0.0,
    ),
    "sex": lambda f: _as_is(f["sex"]),
    "limb": lambda f: _as_is(f["limb"]),
    "response": lambda f: _as_is(f["response"]),
    "resection_margin": lambda f: _as_is(f["resection_margin"]),
    "histology_group": lambda f: histology_group(f["histology"]).to_numpy(),
    "necrosis_group": lambda f: necrosis_group(_column(f, "pathological_necrosis_pct")).to_numpy(),
    "age_years": lambda f: ((f["ilp_date"] - f["birth_date"]).dt.days / DAYS_PER_YEAR).to_numpy(),
    "tumor_size_cm": lambda f: float_values(f["tumor_size_cm"]),
    "limb_volume_l": lambda f: float_values(f["limb_volume_l"]),
    "tnf_mg": lambda f: float_values(f["tnf_mg"]),
    "melphalan_mg": lambda f: float_values(f["melphalan_mg"]),
    "melphalan_mg_per_l": lambda f: (
        float_values(f["melphalan_mg"]) / float_values(f["limb_volume_l"])
    ),
    "tnf_dose_group": _tnf_dose_group,
    "adjuvant_radiotherapy": _adjuvant_radiotherapy,
    "complication_clavien_dindo": lambda f: _optional_text(
        f, "complication_clavien_dindo"
    ).to_numpy(),
    "amputation_reason": lambda f: _optional_text(f, "amputation_reason").to_numpy(),
    "cause_of_death": lambda f: _optional_text(f, "cause_of_death").to_numpy(),
    "pathological_necrosis_pct": lambda f: _optional_number(
        f, "pathological_necrosis_pct"
    ).to_numpy(),
    "wieberdink_grade": lambda f: _optional_number(f, "wieberdink_grade").to_numpy(),
    "systemic_toxicity_grade": lambda f: _optional_number(f, "systemic_toxicity_grade").to_numpy(),
    "max_leakage_pct": lambda f: _optional_number(f, "max_leakage_pct").to_numpy(),
    "max_tissue_temp_c": lambda f: _optional_number(f, "max_tissue_temp_c").to_numpy(),
    "resection_days": _resection_days,
}
"""How each covariate is derived from the registry frame: as arrays (one shared string object
per label, numpy comparisons), only the columns an analysis asks for, assembled into one frame
once; the same values as the column-by-column pandas operations they replaced, several times
faster on a large registry (docs/performance.md)."""

COVARIATE_COLUMNS: tuple[str, ...] = tuple(_COVARIATE)
"""The columns of :func:`covariates`, in order."""


def _as_is(values: pd.Series) -> Any:
    """A registry column as it is (a new object array for text)."""
    return values.to_numpy(copy=True) if values.dtype == object else values.array


def _days(later: pd.Series, earlier: pd.Series) -> np.ndarray:
    return (later - earlier).dt.days.to_numpy(dtype=float)


def _first_perfusions(frame: pd.DataFrame) -> pd.DataFrame:
    # Callers only read the result (shared within ``shared_preparation``).
    shared = _shared("first", frame)
    if shared is not None:
        return shared
    first = _first_perfusions_of(frame)
    _share("first", frame, first)
    return first


def patient_runs(frame: pd.DataFrame) -> np.ndarray | None:
    """Where each patient's rows start, when the rows are ordered by patient id and then
    perfusion date (as :func:`ilpkit.adapters.db.registry_frame.load_registry_frame` returns
    them, and every subset of those rows keeps them); None when they are not (or a date is
    missing), and the caller sorts.

    Checking the order is two comparisons of neighbouring rows; sorting or hashing a million
    text patient ids took seconds (docs/performance.md).

    Returns
    -------
    ndarray of bool or None
        True on the first row of each patient.
    """
    shared = _shared("runs", frame)
    if shared is not None:
        return None if shared is False else shared
    runs = _patient_runs(frame)
    _share("runs", frame, False if runs is None else runs)
    return runs


def _patient_runs(frame: pd.DataFrame) -> np.ndarray | None:
    ids = frame["patient_id"].to_numpy(dtype=object)
    if len(ids) < 2:
        return np.ones(len(ids), dtype=bool)
    dates = frame["ilp_date"].to_numpy(dtype="datetime64[ns]")
    if np.isnat(dates).any():
        return None
    try:
        later = np.asarray(ids[1:] > ids[:-1], dtype=bool)
        # rows not starting a later patient must repeat the patient (a few rows: one pass less)
        repeat = np.flatnonzero(~later)
        if not np.asarray(ids[1:][repeat] == ids[:-1][repeat], dtype=bool).all():
            return None
    except TypeError:  # ids of different types (a frame built by hand): no order to check
        return None
    if not (dates[1:][repeat] >= dates[:-1][repeat]).all():
        return None
    return np.concatenate([[True], later])


def _first_perfusions_of(frame: pd.DataFrame) -> pd.DataFrame:
    starts = patient_runs(frame)
    if starts is not None:  # already in (patient, date) order: the first row of each run
        return frame.take(np.flatnonzero(starts))
    # Sort and de-duplicate the two key columns only, then take the rows once: the same rows
    # in the same order (and index) as sorting the whole frame, without moving every column
    # twice.
    keys = frame[["patient_id", "ilp_date"]].reset_index(drop=True)
    ordered = keys.sort_values(["patient_id", "ilp_date"], kind="stable")
    first = ordered.drop_duplicates("patient_id", keep="first")
    return frame.take(first.index.to_numpy())


def overall_survival(frame: pd.DataFrame, with_covariates: bool = True) -> pd.DataFrame:
    """OS per patient: time from the first perfusion to death or last follow-up.

    ``with_covariates=False`` leaves the covariates out (for analyses that use none).

    Returns
    -------
    DataFrame
        One row per patient: ``patient_id``, ``time_days``, ``time_years``, ``event`` (1 death,
        0 censored) and the covariates of the first perfusion.
    """
    return _overall_survival_of_first(_first_perfusions(frame), with_covariates)


def _overall_survival_of_first(first: pd.DataFrame, with_covariates: bool) -> pd.DataFrame:
    """:func:`overall_survival` from the first perfusions (``_first_perfusions``)."""
    days = _days(first["last_followup_date"], first["ilp_date"])
    return _dataset(
        first,
        {
            "patient_id": first["patient_id"].to_numpy(),
            "time_days": days,
            "time_years": days / DAYS_PER_YEAR,
            "event": first["death_date"].notna().to_numpy().astype(int),
        },
        with_covariates,
    )


def _dataset(
    frame: pd.DataFrame, first: dict[str, Any], with_covariates: bool | Sequence[str]
) -> pd.DataFrame:
    """An analysis dataset: the ``first`` columns, then the covariates of ``frame``'s rows
    (all when ``with_covariates`` is True, these when it names some), indexed 0..n-1."""
    if with_covariates is True:
        names: Sequence[str] = COVARIATE_COLUMNS
    else:
        names = with_covariates or ()
    cov = _covariate_columns(frame, names)
    return _frame_of(first, cov, names, pd.RangeIndex(len(frame)))


def patient_codes(data: pd.DataFrame) -> np.ndarray:
    """Integer code of each row's patient: 0, 1, ... in order of first appearance (as
    ``pd.factorize`` of the ``patient_id`` text gives them; found from the runs of rows when
    the rows are in patient order, see :func:`patient_runs`)."""
    starts = patient_runs(data)
    if starts is not None:
        return np.cumsum(starts) - 1
    codes, _ = pd.factorize(data["patient_id"].astype(str), sort=False)
    return np.asarray(codes, dtype=np.intp)


def local_recurrence(
    frame: pd.DataFrame, covariates: Sequence[str] = COVARIATE_COLUMNS
) -> pd.DataFrame:
    """LR per perfusion with death as the competing risk.

    ``covariates`` limits the covariates carried (default all of :data:`COVARIATE_COLUMNS`).

    Returns
    -------
    DataFrame
        One row per perfusion: ``patient_id``, ``ilp_date``, ``time_days``, ``time_years``,
        ``status`` (1 local recurrence, 2 death without local recurrence, 0 censored), ``event``
        (1 for local recurrence) and the covariates of the perfusion.
    """
    has_lr, first = _perfusion_times(frame, "local_recurrence_date")
    died = frame["death_date"].notna().to_numpy()
    status = np.where(has_lr, 1, np.where(died, 2, 0))
    return _dataset(
        frame, {**first, "status": status, "event": (status == 1).astype(int)}, covariates
    )


def _perfusion_times(frame: pd.DataFrame, end_column: str) -> tuple[np.ndarray, dict[str, Any]]:
    """Whether each perfusion has ``end_column`` recorded, and the first columns of a
    per-perfusion dataset: ``patient_id``, the time from the perfusion to that date (to the last
    follow-up without it) in days and years, and ``ilp_date``."""
    has_end = frame[end_column].notna().to_numpy()
    end = frame[end_column].where(has_end, frame["last_followup_date"])
    days = _days(end, frame["ilp_date"])
    return has_end, {
        "patient_id": frame["patient_id"].to_numpy(),
        "time_days": days,
        "time_years": days / DAYS_PER_YEAR,
        "ilp_date": frame["ilp_date"].to_numpy(),
    }


def _first_with_metastasis(frame: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """First perfusion of each patient (as :func:`_first_perfusions`) and, row for row, the
    patient's first distant metastasis date over all of the patient's perfusions
    (``datetime64[ns]``, NaT without one)."""
    first = _first_perfusions(frame)
    starts = patient_runs(frame)
    if starts is None:
        first_dm = frame.groupby("patient_id")["distant_metastasis_date"].min()
        return first, first_dm.reindex(first["patient_id"].to_numpy()).to_numpy(
            dtype="datetime64[ns]"
        )
    # rows in patient order: the earliest date of each run of rows (NaT when none)
    dm = frame["distant_metastasis_date"].to_numpy(dtype="datetime64[ns]").view(np.int64)
    never = np.iinfo(np.int64).max
    earliest = np.minimum.reduceat(
        np.where(dm == np.iinfo(np.int64).min, never, dm), np.flatnonzero(starts)
    )
    earliest = np.where(earliest == never, np.iinfo(np.int64).min, earliest)
    return first, earliest.view("datetime64[ns]")


def distant_metastasis_free_survival(
    frame: pd.DataFrame, with_covariates: bool = True
) -> pd.DataFrame:
    """DMFS per patient: first perfusion to the first distant metastasis or death.

    ``with_covariates=False`` leaves the covariates out (for analyses that use none).

    Returns
    -------
    DataFrame
        One row per patient: ``patient_id``, ``time_days``, ``time_years``, ``event`` and the
        covariates of the first perfusion.
    """
    return _dmfs_of_first(*_first_with_metastasis(frame), with_covariates)


def _dmfs_of_first(first: pd.DataFrame, dm: np.ndarray, with_covariates: bool) -> pd.DataFrame:
    """:func:`distant_metastasis_free_survival` from ``_first_with_metastasis``."""
    has_dm, died, times = _metastasis_times(first, dm)
    return _dataset(first, {**times, "event": (has_dm | died).astype(int)}, with_covariates)


def _metastasis_times(
    first: pd.DataFrame, dm: np.ndarray
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Whether each patient had a distant metastasis and died, and the first columns of a
    per-patient metastasis dataset: ``patient_id`` and the time from the first perfusion to the
    first metastasis (to the last follow-up without one) in days and years."""
    has_dm = ~np.isnat(dm)
    died = first["death_date"].notna().to_numpy()
    end = np.where(has_dm, dm, first["last_followup_date"].to_numpy(dtype="datetime64[ns]"))
    days = _days(pd.Series(end), first["ilp_date"].reset_index(drop=True))
    return (
        has_dm,
        died,
        {
            "patient_id": first["patient_id"].to_numpy(),
            "time_days": days,
            "time_years": days / DAYS_PER_YEAR,
        },
    )


def distant_metastasis(frame: pd.DataFrame, with_covariates: bool = True) -> pd.DataFrame:
    """DM per patient with death as the competing risk (the same first metastasis as DMFS).

    ``with_covariates=False`` leaves the covariates out (for analyses that use none).

    Returns
    -------
    DataFrame
        One row per patient: ``patient_id``, ``time_days``, ``time_years``, ``status`` (1 distant
        metastasis, 2 death without distant metastasis, 0 censored at last follow-up) and the
        covariates of the first perfusion.
    """
    first, dm = _first_with_metastasis(frame)
    has_dm, died, times = _metastasis_times(first, dm)
    status = np.where(has_dm, 1, np.where(died, 2, 0))
    return _dataset(first, {**times, "status": status}, with_covariates)


CAUSES_OF_DEATH = ("sarcoma", "other", "unknown")
"""Recorded causes of death (``ilpkit.domain.outcome.CauseOfDeath``)."""


def sarcoma_specific_survival(frame: pd.DataFrame, with_covariates: bool = True) -> pd.DataFrame:
    """Sarcoma-specific survival per patient, from the overall-survival dataset.

    ``with_covariates=False`` leaves the covariates out (for analyses that use none).

    Returns
    -------
    DataFrame
        The rows of :func:`overall_survival` with ``cause`` (``sarcoma``, ``other``,
        ``unknown``; ``unknown`` also for a death whose cause is not recorded; None while
        alive), ``event`` (1 death from sarcoma, 0 otherwise: other causes are censored at
        death) and ``event_unknown_as_sarcoma`` (1 for a death from sarcoma or of unknown
        cause, the sensitivity analysis). The main analysis leaves out the deaths of unknown
        cause (``cause == "unknown"``).
    """
    first = _first_perfusions(frame)
    died = first["death_date"].notna().to_numpy()
    # each recorded cause once (a cause not among CAUSES_OF_DEATH, or none, is "unknown")
    codes, causes = pd.factorize(_column(first, "cause_of_death").to_numpy(dtype=object))
    unknown = CAUSES_OF_DEATH.index("unknown")
    of_cause = np.array(
        [CAUSES_OF_DEATH.index(c) if c in CAUSES_OF_DEATH else unknown for c in causes] + [unknown],
        dtype=np.intp,
    )
    cause = np.where(died, of_cause[codes], len(CAUSES_OF_DEATH))  # alive: None
    days = _days(first["last_followup_date"], first["ilp_date"])
    sarcoma = cause == CAUSES_OF_DEATH.index("sarcoma")
    return _dataset(
        first,
        {
            "patient_id": first["patient_id"].to_numpy(),
            "time_days": days,
            "time_years": days / DAYS_PER_YEAR,
            "cause": np.array([*CAUSES_OF_DEATH, None], dtype=object)[cause],
            "event": sarcoma.astype(int),
            "event_unknown_as_sarcoma": (sarcoma | (cause == unknown)).astype(int),
        },
        with_covariates,
    )


def amputation_free_survival(frame: pd.DataFrame) -> pd.DataFrame:
    """AFS and limb salvage per perfusion.

    Returns
    -------
    DataFrame
        One row per perfusion: ``patient_id``, ``ilp_date``, ``time_days``, ``time_years``,
        ``event`` (1 amputation or death, 0 censored), ``amputation`` (1 when the limb was
        amputated after this perfusion), ``limb_salvaged`` (True without amputation) and the
        covariates.
    """
    amputated, first = _perfusion_times(frame, "amputation_date")
    died = frame["death_date"].notna().to_numpy()
    return _dataset(
        frame,
        {
            **first,
            "event": (amputated | died).astype(int),
            "amputation": amputated.astype(int),
            "limb_salvaged": ~amputated,
        },
        True,
    )


def limb_salvage_per_patient(frame: pd.DataFrame) -> pd.DataFrame:
    """Per patient: ``limb_salvaged`` is True when none of the patient's perfusions was followed
    by an amputation."""
    amputated = frame["amputation_date"].notna().groupby(frame["patient_id"]).any()
    return pd.DataFrame(
        {"patient_id": amputated.index.to_numpy(), "limb_salvaged": ~amputated.to_numpy()}
    )


@dataclass(frozen=True, slots=True)
class ResponseData:
    """Response per perfusion.

    Attributes
    ----------
    evaluable : DataFrame
        Perfusions with a response other than NE: ``response`` and ``objective`` (CR or PR),
        plus covariates.
    n_not_evaluable : int
        Perfusions with response NE (left out of the denominator).
    n_missing : int
        Perfusions without a recorded response (left out of the denominator).
    """

    evaluable: pd.DataFrame
    n_not_evaluable: int
    n_missing: int


def response(frame: pd.DataFrame) -> ResponseData:
    """Response dataset: NE and missing responses are excluded from the denominator and counted."""
    cov = covariates(frame, renumber=True)
    resp = frame["response"].reset_index(drop=True)
    keep = resp.notna() & (resp != "NE")
    evaluable = cov[keep.to_numpy()].copy()
    evaluable["objective"] = evaluable["response"].isin(["CR", "PR"]).astype(int)
    return ResponseData(
        evaluable=evaluable.reset_index(drop=True),
        n_not_evaluable=int((resp == "NE").sum()),
        n_missing=int(resp.isna().sum()),
    )
