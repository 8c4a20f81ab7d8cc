"""Models of the JSON API under ``/api/v1`` (they make its OpenAPI document)."""

from __future__ import annotations

import dataclasses
import typing
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, create_model

from ilpkit.services.access import PatientView, PerfusionView


class TokenRequest(BaseModel):
    """Credentials for a bearer token."""

    username: str = Field(max_length=64)
    password: str = Field(max_length=1024)


class TokenResponse(BaseModel):
    """A bearer token (shown once; the registry keeps only its hash)."""

    access_token: str
    token_type: str = "bearer"


VERSION_NOTE = "The record's version: send it with a change or deletion."


def _view_model(name: str, doc: str, view: type) -> type[BaseModel]:
    """A response model with the fields of a service-layer view (a dataclass of
    :mod:`ilpkit.services.access`), so that each field is declared once, there; every field is
    required, ``version`` carries its description."""
    hints = typing.get_type_hints(view)
    fields: dict[str, Any] = {
        f.name: (hints[f.name], Field(description=VERSION_NOTE) if f.name == "version" else ...)
        for f in dataclasses.fields(view)
    }
    return create_model(name, __doc__=doc, __module__=__name__, **fields)


if TYPE_CHECKING:
    PatientOut = BaseModel
    PerfusionOut = BaseModel
else:
    PatientOut = _view_model(
        "PatientOut",
        "A patient as the user may see it (pseudonymised for a statistician).",
        PatientView,
    )
    PerfusionOut = _view_model("PerfusionOut", "One perfusion of a patient.", PerfusionView)


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


# --- entering and changing records -----------------------------------------------------------

RecordValue = str | bool | int | float | None
"""A field's value as sent: the registry's text (dates YYYY-MM-DD, choices as in Registry CSV v1),
or a JSON number, true/false (yes/no) or null (no value); every value is then read and checked
by the registry's own rules, as a CSV cell."""


def _record_model(name: str, doc: str, names: tuple[str, ...], **extra: Any) -> type[BaseModel]:
    from pydantic import ConfigDict

    from ilpkit.domain.fields import FIELDS_BY_NAME

    fields: dict[str, Any] = {
        n: (
            RecordValue,
            Field(
                default=None,
                description=FIELDS_BY_NAME[n].description
                + (" Required." if FIELDS_BY_NAME[n].required else ""),
            ),
        )
        for n in names
    }
    fields.update(extra)
    model: type[BaseModel] = create_model(
        name, __doc__=doc, __config__=ConfigDict(extra="forbid"), **fields
    )
    return model


def _names(level: str | None) -> tuple[str, ...]:
    from ilpkit.domain.fields import FIELDS

    return tuple(f.name for f in FIELDS if level is None or f.level == level)


_VERSION = (int, Field(description="The version of the record the change is based on."))
_REASON = (str, Field(default="", max_length=2000, description="Why (required)."))
_NOTE = (str, Field(default="", max_length=2000, description="Optional note for the audit log."))

if TYPE_CHECKING:
    PatientCreate = BaseModel
    PatientPatch = BaseModel
    PerfusionCreate = BaseModel
    PerfusionPatch = BaseModel
else:
    PatientCreate = _record_model(
        "PatientCreate",
        "A new patient with the first perfusion: the fields of one Registry CSV v1 row.",
        _names(None),
        reason=_NOTE,
    )
    PatientPatch = _record_model(
        "PatientPatch",
        "A change of a patient: the version it is based on, the reason, and only the fields "
        "to change (null clears an optional field). patient_id cannot be changed.",
        tuple(n for n in _names("patient") if n != "patient_id"),
        version=_VERSION,
        reason=_REASON,
    )
    PerfusionCreate = _record_model(
        "PerfusionCreate", "A new perfusion of a stored patient.", _names("perfusion"), reason=_NOTE
    )
    PerfusionPatch = _record_model(
        "PerfusionPatch",
        "A change of a perfusion: the version it is based on, the reason, and only the fields "
        "to change (null clears an optional field).",
        _names("perfusion"),
        version=_VERSION,
        reason=_REASON,
    )


class DeleteRequest(BaseModel):
    """The version a deletion is based on and the reason (also accepted as query parameters)."""

    model_config = {"extra": "forbid"}

    version: int
    reason: str = Field(default="", max_length=2000)


class RecordSaved(BaseModel):
    """What a creation, change or deletion did."""

    patient_id: str
    perfusion_id: str | None
    version: int = Field(description="The record's version now (0 after a deletion).")
    changed: list[str] = Field(description="The fields whose stored value changed.")
    warnings: dict[str, str] = Field(description="Field -> warning (the record was saved).")


class RecordProblems(BaseModel):
    """Why nothing was saved: the registry's rules, per field (422)."""

    detail: str
    errors: dict[str, str] = Field(
        description="Field -> reason ('reason' for the reason of a change, 'record' for the "
        "record as a whole)."
    )
    warnings: dict[str, str]


class StaleFieldOut(BaseModel):
    """A field whose stored value differs from the value sent."""

    field: str
    yours: str | None
    stored: str


class StaleOut(BaseModel):
    """The record was changed since the version sent (409); nothing was saved. Send the change
    again with ``stored_version`` to apply it after all."""

    detail: str
    based_on: int
    stored_version: int
    changes: list[StaleFieldOut]
