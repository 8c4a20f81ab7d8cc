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


def fields_of(obj: Any) -> dict[str, Any]:
    """The attributes of a slotted service-layer record, as keyword arguments."""
    return {name: getattr(obj, name) for name in obj.__slots__}
