"""The patient: pseudonymous identity, centre and vital status."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from ilpkit.domain.outcome import CauseOfDeath


class Sex(StrEnum):
    """Sex as recorded in the registry."""

    MALE = "M"
    FEMALE = "F"


@dataclass(frozen=True, slots=True)
class Patient:
    """A patient of the registry.

    Attributes
    ----------
    patient_id : str
        Pseudonymous identifier (1-64 letters, digits, ``_`` or ``-``); never a name or a
        hospital number.
    center : str
        Code of the treating centre.
    sex : Sex
    birth_date : date
    death_date : date or None
        Date of death; when present it equals ``last_followup_date``.
    last_followup_date : date
        Date last known alive, or the date of death.
    cause_of_death : CauseOfDeath or None
        Sarcoma, other or unknown; only with a date of death; None when not recorded.
    """

    patient_id: str
    center: str
    sex: Sex
    birth_date: date
    death_date: date | None
    last_followup_date: date
    cause_of_death: CauseOfDeath | None = None

    @property
    def is_dead(self) -> bool:
        """True when a date of death is recorded."""
        return self.death_date is not None
