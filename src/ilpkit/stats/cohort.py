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
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from importlib import resources

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
    mapped = histology.map(groups.of_code).astype(object)
    mapped = mapped.where(mapped.notna(), groups.other)
    return mapped.where(histology.notna(), None)


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    """A column of the registry frame, or all None when the registry has no such column."""
    if name in frame.columns:
        return frame[name]
    return pd.Series([None] * len(frame), index=frame.index, dtype=object)


def necrosis_group(necrosis_pct: pd.Series) -> pd.Series:
    """``>50%`` or ``<=50%`` of pathological necrosis (:data:`NECROSIS_THRESHOLD_PCT`)."""
    pct = pd.to_numeric(necrosis_pct, errors="coerce").astype(float)
    out = np.where(pct > NECROSIS_THRESHOLD_PCT, NECROSIS_GROUPS[1], NECROSIS_GROUPS[0])
    return pd.Series(out, index=necrosis_pct.index, dtype=object).where(pct.notna(), None)


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


def _yes_no(values: pd.Series) -> pd.Series:
    return values.map({True: "yes", False: "no"})


def _optional_yes_no(values: pd.Series) -> pd.Series:
    """'yes' / 'no' for a recorded value, None for a missing one (pandas ``boolean`` or bool, or
    text ``yes``/``no`` in a frame built by hand)."""
    if values.dtype == object:
        mapped = values.map({True: "yes", False: "no", "yes": "yes", "no": "no"})
        return mapped.astype(object).where(mapped.notna(), None)
    flags = values.astype("boolean")
    out = np.full(len(flags), None, dtype=object)
    known = flags.notna().to_numpy()
    out[known] = np.where(flags[known].to_numpy(dtype=bool), "yes", "no")
    return pd.Series(out, index=values.index, dtype=object)


def _optional_number(frame: pd.DataFrame, name: str) -> pd.Series:
    """A numeric column as float (NaN when missing; Int64 <NA> too); all NaN when absent."""
    if name not in frame.columns:
        return pd.Series(np.nan, index=frame.index, dtype=float)
    return frame[name].astype("Float64").astype(float)


def _optional_text(frame: pd.DataFrame, name: str) -> pd.Series:
    """A text column with None for missing values; all None when the column is absent."""
    if name not in frame.columns:
        return pd.Series(None, index=frame.index, dtype=object)
    col = frame[name]
    return col.astype(object).where(col.notna(), None)


def tumor_size_group(size_cm: pd.Series) -> pd.Series:
    """Assign each tumour size (cm) to its AJCC T group label; NaN stays missing (None)."""
    edges = [0.0] + [hi for _, _, hi in TUMOR_SIZE_GROUPS]
    labels = [label for label, _, _ in TUMOR_SIZE_GROUPS]
    groups = pd.cut(size_cm, bins=edges, labels=labels, right=True, include_lowest=False)
    return groups.astype(object).where(groups.notna(), None)


_SHARED: ContextVar[dict[tuple[str, int], tuple[pd.DataFrame, pd.DataFrame]] | None] = ContextVar(
    "ilpkit_shared_preparation", default=None
)


@contextmanager
def shared_preparation() -> Iterator[None]:
    """Within this block, :func:`covariates` and the first perfusions of a frame are prepared once
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


def _shared(kind: str, frame: pd.DataFrame) -> pd.DataFrame | None:
    cache_ = _SHARED.get()
    hit = None if cache_ is None else cache_.get((kind, id(frame)))
    # The cache holds the frame itself, so its id cannot be reused while the entry lives.
    return hit[1] if hit is not None and hit[0] is frame else None


def _share(kind: str, frame: pd.DataFrame, value: pd.DataFrame) -> None:
    cache_ = _SHARED.get()
    if cache_ is not None:
        cache_[(kind, id(frame))] = (frame, value)


def covariates(frame: pd.DataFrame) -> pd.DataFrame:
    """Per-perfusion covariates as analyses use them (prepared once per frame inside
    :func:`shared_preparation`).

    Categorical ones are the registry's text (``yes``/``no``, grade ``1``-``3``, histology name),
    plus ``leiomyosarcoma`` (yes/no), ``tumor_size_group``, ``histology_group`` and
    ``necrosis_group``; numeric ones include ``age_years`` at the perfusion and
    ``melphalan_mg_per_l``; ``resection_days`` is the time from the perfusion to the resection
    (NaN without one), for landmark analyses. Columns the registry lacks
    (``adjuvant_radiotherapy``, ``pathological_necrosis_pct``) give None.
    """
    shared = _shared("covariates", frame)
    if shared is not None:
        return shared.copy()
    out = _covariates(frame)
    _share("covariates", frame, out)
    return out.copy() if _SHARED.get() is not None else out


def _covariates(frame: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(index=frame.index)
    out["multifocal"] = _yes_no(frame["multifocal"])
    out["prior_radiotherapy"] = _yes_no(frame["prior_radiotherapy"])
    out["presentation"] = frame["presentation"]
    out["histology"] = frame["histology"]
    out["leiomyosarcoma"] = np.where(frame["histology"] == "leiomyosarcoma", "yes", "no")
    grade = frame["grade"]
    out["grade"] = grade.astype("string").astype(object).where(grade.notna(), None)
    out["tumor_size_group"] = tumor_size_group(frame["tumor_size_cm"])
    out["sex"] = frame["sex"]
    out["limb"] = frame["limb"]
    out["response"] = frame["response"]
    out["resection_margin"] = frame["resection_margin"]
    out["histology_group"] = histology_group(frame["histology"])
    out["necrosis_group"] = necrosis_group(_column(frame, "pathological_necrosis_pct"))
    out["age_years"] = (frame["ilp_date"] - frame["birth_date"]).dt.days / DAYS_PER_YEAR
    out["tumor_size_cm"] = frame["tumor_size_cm"].astype(float)
    out["limb_volume_l"] = frame["limb_volume_l"].astype(float)
    out["tnf_mg"] = frame["tnf_mg"].astype(float)
    out["melphalan_mg"] = frame["melphalan_mg"].astype(float)
    out["melphalan_mg_per_l"] = out["melphalan_mg"] / out["limb_volume_l"]
    tnf = out["tnf_mg"].to_numpy(dtype=float)
    dose_group = np.where(tnf <= TNF_DOSE_CUT_MG, TNF_DOSE_GROUPS[0][0], TNF_DOSE_GROUPS[1][0])
    dose_group = dose_group.astype(object)
    dose_group[np.isnan(tnf)] = None
    out["tnf_dose_group"] = dose_group
    if "adjuvant_radiotherapy" in frame.columns:
        out["adjuvant_radiotherapy"] = _optional_yes_no(frame["adjuvant_radiotherapy"])
    else:
        out["adjuvant_radiotherapy"] = None
    for name in ("complication_clavien_dindo", "amputation_reason", "cause_of_death"):
        out[name] = _optional_text(frame, name)
    for name in (
        "pathological_necrosis_pct",
        "wieberdink_grade",
        "systemic_toxicity_grade",
        "max_leakage_pct",
        "max_tissue_temp_c",
    ):
        out[name] = _optional_number(frame, name)
    resection = pd.to_datetime(_column(frame, "resection_date"))
    out["resection_days"] = (resection - frame["ilp_date"]).dt.days.astype(float)
    return out


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


def _first_perfusions_of(frame: pd.DataFrame) -> pd.DataFrame:
    # Sort and de-duplicate the two key columns only, then take the rows once: the same rows
    # in the same order (and index) as sorting the whole frame, without moving every column
    # twice.
    keys = frame[["patient_id", "ilp_date"]].reset_index(drop=True)
    ordered = keys.sort_values(["patient_id", "ilp_date"], kind="stable")
    first = ordered.drop_duplicates("patient_id", keep="first")
    return frame.take(first.index.to_numpy())


def _with_time(out: pd.DataFrame, days: np.ndarray) -> pd.DataFrame:
    out.insert(1, "time_days", days)
    out.insert(2, "time_years", days / DAYS_PER_YEAR)
    return out


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
    out = pd.DataFrame({"patient_id": first["patient_id"].to_numpy()})
    days = _days(first["last_followup_date"], first["ilp_date"])
    out = _with_time(out, days)
    out["event"] = first["death_date"].notna().to_numpy().astype(int)
    if not with_covariates:
        return out
    cov = covariates(first).reset_index(drop=True)
    return pd.concat([out, cov], axis=1)


def local_recurrence(frame: pd.DataFrame) -> pd.DataFrame:
    """LR per perfusion with death as the competing risk.

    Returns
    -------
    DataFrame
        One row per perfusion: ``patient_id``, ``ilp_date``, ``time_days``, ``time_years``,
        ``status`` (1 local recurrence, 2 death without local recurrence, 0 censored), ``event``
        (1 for local recurrence) and the covariates of the perfusion.
    """
    has_lr = frame["local_recurrence_date"].notna().to_numpy()
    died = frame["death_date"].notna().to_numpy()
    end = frame["local_recurrence_date"].where(has_lr, frame["last_followup_date"])
    status = np.where(has_lr, 1, np.where(died, 2, 0))
    out = pd.DataFrame(
        {"patient_id": frame["patient_id"].to_numpy(), "ilp_date": frame["ilp_date"].to_numpy()}
    )
    out = _with_time(out, _days(end, frame["ilp_date"]))
    out["status"] = status
    out["event"] = (status == 1).astype(int)
    return pd.concat([out, covariates(frame).reset_index(drop=True)], axis=1)


def _first_with_metastasis(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """First perfusion of each patient (indexed by patient) and the patient's first distant
    metastasis date (NaT without one), over all of the patient's perfusions."""
    first_dm = frame.groupby("patient_id")["distant_metastasis_date"].min()
    first = _first_perfusions(frame).set_index("patient_id")
    return first, first_dm.reindex(first.index)


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


def _dmfs_of_first(first: pd.DataFrame, dm: pd.Series, with_covariates: bool) -> pd.DataFrame:
    """:func:`distant_metastasis_free_survival` from ``_first_with_metastasis``."""
    died = first["death_date"].notna()
    event = dm.notna() | died
    end = dm.where(dm.notna(), first["last_followup_date"])
    out = pd.DataFrame({"patient_id": first.index.to_numpy()})
    out = _with_time(
        out, _days(end.reset_index(drop=True), first["ilp_date"].reset_index(drop=True))
    )
    out["event"] = event.to_numpy().astype(int)
    if not with_covariates:
        return out
    return pd.concat([out, covariates(first.reset_index()).reset_index(drop=True)], axis=1)


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
    dmfs = _dmfs_of_first(first, dm, with_covariates)
    has_dm = dm.notna().to_numpy()
    died = first["death_date"].notna().to_numpy()
    out = dmfs.drop(columns="event")
    out.insert(3, "status", np.where(has_dm, 1, np.where(died, 2, 0)))
    return out


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
    os_data = _overall_survival_of_first(first, with_covariates)
    cause = _column(first, "cause_of_death").astype(object).to_numpy()
    died = os_data["event"].to_numpy() == 1
    known = np.isin(cause, CAUSES_OF_DEATH)
    cause_text = np.where(died, np.where(known, cause, "unknown"), np.array(None, dtype=object))
    out = os_data.drop(columns="event")
    out.insert(3, "cause", cause_text)
    out.insert(4, "event", (cause_text == "sarcoma").astype(int))
    out.insert(
        5, "event_unknown_as_sarcoma", np.isin(cause_text, ["sarcoma", "unknown"]).astype(int)
    )
    return out


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
    amputated = frame["amputation_date"].notna().to_numpy()
    died = frame["death_date"].notna().to_numpy()
    end = frame["amputation_date"].where(amputated, frame["last_followup_date"])
    out = pd.DataFrame(
        {"patient_id": frame["patient_id"].to_numpy(), "ilp_date": frame["ilp_date"].to_numpy()}
    )
    out = _with_time(out, _days(end, frame["ilp_date"]))
    out["event"] = (amputated | died).astype(int)
    out["amputation"] = amputated.astype(int)
    out["limb_salvaged"] = ~amputated
    return pd.concat([out, covariates(frame).reset_index(drop=True)], axis=1)


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
    cov = covariates(frame).reset_index(drop=True)
    resp = frame["response"].reset_index(drop=True)
    keep = resp.notna() & (resp != "NE")
    evaluable = cov[keep.to_numpy()].copy()
    evaluable["objective"] = evaluable["response"].isin(["CR", "PR"]).astype(int)
    return ResponseData(
        evaluable=evaluable.reset_index(drop=True),
        n_not_evaluable=int((resp == "NE").sum()),
        n_missing=int(resp.isna().sum()),
    )
