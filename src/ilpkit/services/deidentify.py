"""De-identification of a registry export: keyed pseudonyms, per-patient date shifts, coarsening.

- **Pseudonyms.** Each patient id is replaced by ``P`` + the first 32 hex digits (128 bits) of
  HMAC-SHA256(key, id). The same key and id always give the same pseudonym; without the key the
  pseudonym cannot be traced back to the id (HMAC is a pseudo-random function; RFC 2104).
- **Date shift.** Every date of a patient moves back by the same number of days, derived from the
  key and the id with HMAC-SHA256 as well (1 to 1,095 days, i.e. up to three years), so every
  interval of the patient - age at perfusion, time to recurrence, follow-up - is unchanged and so
  is every survival statistic; re-exports with the same key agree. Dates only move into the past,
  so none lies in the future; a shift never moves a birth date before the earliest birth date the
  registry accepts (it is shortened for such a patient).
- **Coarsening** (optional): age at the perfusion in 5-year bands instead of the birth date, and
  dates reduced to their year.

The key is a per-deployment secret kept outside the database (a file or the environment
variable ``ILP_PSEUDONYM_KEY``); it is never written to an export, a manifest or the audit log.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ilpkit.adapters.export.columns import AGE_BAND_YEARS
from ilpkit.domain import limits
from ilpkit.domain.fields import FIELDS
from ilpkit.domain.synthetic import SYNTHETIC_CENTER, SYNTHETIC_ID_PREFIX

KEY_ENV = "ILP_PSEUDONYM_KEY"
"""Environment variable that may hold the pseudonymisation key."""
MIN_KEY_BYTES = 16
"""Shortest key accepted (128 bits)."""
MAX_SHIFT_DAYS = 1095
"""Longest date shift, days (three years)."""
PSEUDONYM_HEX_DIGITS = 32

DATE_COLUMNS = tuple(f.name for f in FIELDS if f.kind == "date")
_AGE_COLUMN = "__age_years"


class DeidentifyError(ValueError):
    """De-identification cannot proceed; the message says why in plain words."""


@dataclass(frozen=True, slots=True)
class DeidentifyOptions:
    """How to de-identify an export.

    Attributes
    ----------
    key : bytes
        The per-deployment secret (at least 16 bytes).
    coarsen_age : bool
        Replace the birth date by the age at each perfusion in 5-year bands.
    year_only : bool
        Keep only the year of every date.
    """

    key: bytes
    coarsen_age: bool = False
    year_only: bool = False

    def __post_init__(self) -> None:
        if len(self.key) < MIN_KEY_BYTES:
            raise DeidentifyError(
                f"the pseudonymisation key is {len(self.key)} bytes long; use at least "
                f"{MIN_KEY_BYTES} random bytes (e.g. 'openssl rand -hex 32 > key.txt')"
            )

    @property
    def coarsened(self) -> bool:
        """True when any coarsening is asked for."""
        return self.coarsen_age or self.year_only


def read_key(key_file: Path | None, environ: Mapping[str, str] | None = None) -> bytes:
    """The pseudonymisation key from ``key_file``, else from ``$ILP_PSEUDONYM_KEY``.

    Surrounding white space (a trailing newline) is removed.

    Raises
    ------
    DeidentifyError
        When neither gives a key, the file cannot be read, or the key is too short.
    """
    env = os.environ if environ is None else environ
    if key_file is not None:
        try:
            key = key_file.read_bytes().strip()
        except OSError as exc:
            raise DeidentifyError(
                f"cannot read the key file {key_file}: {exc.strerror or exc}"
            ) from None
        where = f"the key file {key_file}"
    elif env.get(KEY_ENV):
        key = env[KEY_ENV].strip().encode("utf-8")
        where = f"${KEY_ENV}"
    else:
        raise DeidentifyError(
            "a de-identified export needs the deployment's pseudonymisation key: give "
            f"--key-file FILE or set {KEY_ENV}; nothing was written"
        )
    if len(key) < MIN_KEY_BYTES:
        raise DeidentifyError(
            f"the key in {where} is {len(key)} bytes long; use at least {MIN_KEY_BYTES} random "
            "bytes (e.g. 'openssl rand -hex 32'); nothing was written"
        )
    return key


def _mac(key: bytes, purpose: bytes, patient_id: str) -> bytes:
    return hmac.new(key, purpose + b"\x00" + patient_id.encode("utf-8"), hashlib.sha256).digest()


def pseudonym(key: bytes, patient_id: str) -> str:
    """The keyed pseudonym of ``patient_id``: ``P`` + 32 hex digits of HMAC-SHA256."""
    return "P" + _mac(key, b"ilpkit pseudonym", patient_id).hex()[:PSEUDONYM_HEX_DIGITS]


def shift_days(key: bytes, patient_id: str) -> int:
    """Days (1 to 1,095) by which every date of ``patient_id`` moves into the past."""
    value = int.from_bytes(_mac(key, b"ilpkit date shift", patient_id)[:8], "big")
    return 1 + value % MAX_SHIFT_DAYS


def key_fingerprint(key: bytes) -> str:
    """A short keyed fingerprint that tells exports made with the same key apart from others
    without revealing the key."""
    return hmac.new(key, b"ilpkit key fingerprint", hashlib.sha256).hexdigest()[:12]


def _age_years(birth: pd.Series, at: pd.Series) -> pd.Series:
    """Completed years of age on ``at`` (calendar rule: the birthday counts on the day)."""
    years = at.dt.year - birth.dt.year
    before = (at.dt.month < birth.dt.month) | (
        (at.dt.month == birth.dt.month) & (at.dt.day < birth.dt.day)
    )
    return years - before.astype(int)


def deidentify_frame(
    frame: pd.DataFrame, options: DeidentifyOptions, today: date
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """A de-identified copy of a registry frame, and the manifest of what was done.

    Parameters
    ----------
    frame : DataFrame
        Registry CSV v1 columns, one row per perfusion, dates as ``datetime64``.
    options : DeidentifyOptions
    today : date
        Dates after this day are refused (a shift into the past keeps them so).

    Returns
    -------
    frame : DataFrame
        Sorted by pseudonym and (shifted) perfusion date.
    manifest : dict
        What was removed, replaced, shifted and coarsened.
    """
    out = frame.copy()
    # ages from the true dates: a shift keeps the days between birth and perfusion, but the
    # calendar age can differ by a day across 29 February
    out[_AGE_COLUMN] = _age_years(out["birth_date"], out["ilp_date"])
    ids = out["patient_id"].astype(str)
    unique = pd.unique(ids)
    centres = out.groupby(ids, sort=False)["center"].first().astype(str)
    # a SYNTHETIC patient keeps its mark, so that synthetic data never loses its label
    names = {
        pid: (
            SYNTHETIC_ID_PREFIX + pseudonym(options.key, pid)
            if pid.startswith(SYNTHETIC_ID_PREFIX) and centres[pid] == SYNTHETIC_CENTER
            else pseudonym(options.key, pid)
        )
        for pid in unique
    }
    if len(set(names.values())) != len(names):  # 2**-128 per pair; checked all the same
        raise DeidentifyError("two patients received the same pseudonym; nothing was written")
    earliest = pd.Timestamp(limits.EARLIEST_BIRTH_DATE)
    births = out.groupby(ids, sort=False)["birth_date"].min()
    shifts = {}
    shortened = 0
    for pid in unique:
        days = shift_days(options.key, pid)
        room = int((births[pid] - earliest).days)
        if days > room:
            days, shortened = max(room, 0), shortened + 1
        shifts[pid] = days
    delta = pd.to_timedelta(ids.map(shifts).to_numpy(dtype=np.int64), unit="D")
    for name in DATE_COLUMNS:
        out[name] = out[name] - delta
    out["patient_id"] = ids.map(names).to_numpy(dtype=object)
    out = out.sort_values(["patient_id", "ilp_date"], kind="stable").reset_index(drop=True)
    latest = max((out[c].max() for c in DATE_COLUMNS if out[c].notna().any()), default=None)
    if latest is not None and latest.date() > today:
        raise DeidentifyError("a shifted date lies in the future; nothing was written")
    manifest: dict[str, Any] = {
        "removed": [
            "the registry's patient_id (replaced by a keyed pseudonym)",
            "the order of the patients in the registry (rows sorted by pseudonym)",
        ],
        "replaced": {
            "patient_id": "P + 32 hex digits of HMAC-SHA256(deployment key, patient_id); the "
            "same id and key always give the same pseudonym; irreversible without the key",
        },
        "shifted": {
            "columns": list(DATE_COLUMNS),
            "how": "every date of a patient moved back by the same number of days, derived from "
            f"the key and the patient id (HMAC-SHA256), 1 to {MAX_SHIFT_DAYS} days; all "
            "intervals within a patient are unchanged",
            "patients_with_shortened_shift": shortened,
        },
        "coarsened": {},
        "kept": [f.name for f in FIELDS if f.name not in ("patient_id", *DATE_COLUMNS)],
        "key_fingerprint": key_fingerprint(options.key),
    }
    ages = out.pop(_AGE_COLUMN)
    if options.coarsened:
        out = coarsen(out, options.coarsen_age, options.year_only, ages)
        if options.coarsen_age:
            manifest["coarsened"]["birth_date"] = (
                f"removed; age at each perfusion given in {AGE_BAND_YEARS}-year bands "
                "(age_band: lower bound of the band, completed years, from the true dates)"
            )
        if options.year_only:
            manifest["coarsened"]["dates"] = (
                "every date reduced to the year of its shifted value (<date>_year columns in "
                "statistics files, partial dates in ODM and FHIR)"
            )
    return out, manifest


def coarsen(
    frame: pd.DataFrame,
    coarsen_age: bool,
    year_only: bool,
    age_years: pd.Series | None = None,
) -> pd.DataFrame:
    """Age in 5-year bands instead of the birth date; dates reduced to their year.

    ``age_years`` (completed years at each perfusion, aligned with ``frame``) defaults to the
    age computed from the frame's own dates.
    """
    out = frame.copy()
    if coarsen_age:
        age = _age_years(out["birth_date"], out["ilp_date"]) if age_years is None else age_years
        band = (age // AGE_BAND_YEARS) * AGE_BAND_YEARS
        position = list(out.columns).index("birth_date")
        out = out.drop(columns=["birth_date"])
        out.insert(position, "age_band", band.astype("Int64"))
    if year_only:
        for name in DATE_COLUMNS:
            if name in out.columns:
                position = list(out.columns).index(name)
                year = out[name].dt.year.astype("Int64")
                out = out.drop(columns=[name])
                out.insert(position, f"{name}_year", year)
    return out
