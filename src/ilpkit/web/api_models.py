"""Models of the JSON API under ``/api/v1`` (they make its OpenAPI document)."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, Field


class TokenRequest(BaseModel):
    """Credentials for a bearer token."""

    username: str = Field(max_length=64)
    password: str = Field(max_length=1024)


class TokenResponse(BaseModel):
    """A bearer token (shown once; the registry keeps only its hash)."""

    access_token: str
    token_type: str = "bearer"


class PatientOut(BaseModel):
    """A patient as the user may see it (pseudonymised for a statistician)."""

    patient_id: str
    center: str
    sex: str
    birth_date: date | None
    death_date: date | None
    last_followup_date: date
    perfusions: int


class PerfusionOut(BaseModel):
    """One perfusion of a patient."""

    perfusion_id: str | None
    patient_id: str
    ilp_date: date
    limb: str
    perfusion_level: str
    limb_volume_l: float
    tnf_mg: float
    melphalan_mg: float
    histology: str
    response: str | None
    max_leakage_pct: float | None


class PatientPage(BaseModel):
    """One page of patients."""

    total: int
    limit: int
    offset: int
    items: list[PatientOut]


class PatientDetail(BaseModel):
    """A patient with the patient's perfusions."""

    patient: PatientOut
    perfusions: list[PerfusionOut]


class ReadingIn(BaseModel):
    """One gamma-probe reading of a leakage monitoring."""

    minute: float = Field(allow_inf_nan=False, description="Minutes since the calibration count.")
    counts_per_s: float = Field(allow_inf_nan=False, description="Count rate over the heart.")


class LeakagePointOut(BaseModel):
    """One reading with its decay-corrected leakage and the monitor's alert level after it."""

    minute: float
    counts_per_s: float
    decay_factor: float
    leakage_pct: float
    level: str = Field(description="ok, notify or stop (never lower than an earlier reading's).")


class LeakageCurveOut(BaseModel):
    """The leakage monitoring of a perfusion: calibration, alert levels and the curve.

    Leakage % = f x (C - B) x exp(ln2 x t / half-life) / (C_cal - B) x 100 (docs/planning.md).
    The calibration fields are null before the monitoring is started.
    """

    perfusion_id: str
    started: bool
    isotope: str | None
    half_life_h: float | None
    background_cps: float | None
    calibration_cps: float | None
    standard_fraction: float | None
    notify_pct: float
    notify_source: str
    stop_pct: float
    stop_source: str
    level: str
    peak_leakage_pct: float | None
    readings: list[LeakagePointOut]
    first_alert: dict[str, Any] | None
    first_stop: dict[str, Any] | None
    max_leakage_pct: float | None = Field(description="As stored on the perfusion record.")
    version: int = Field(description="The perfusion's record version.")


def fields_of(obj: Any) -> dict[str, Any]:
    """The attributes of a slotted service-layer record, as keyword arguments."""
    return {name: getattr(obj, name) for name in obj.__slots__}
