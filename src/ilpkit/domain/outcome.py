"""What happened after a perfusion: resection, amputation, local recurrence, metastasis."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class Margin(StrEnum):
    """Resection margin (UICC residual tumour classification)."""

    R0 = "R0"
    R1 = "R1"
    R2 = "R2"


@dataclass(frozen=True, slots=True)
class Outcome:
    """Outcome of one perfusion.

    Attributes
    ----------
    resection_date : date or None
        Date of the resection of the tumour remnant after the perfusion.
    resection_margin : Margin or None
    amputation_date : date or None
        Date the limb was amputated (limb salvage failed).
    local_recurrence_date : date or None
    distant_metastasis_date : date or None
    adjuvant_radiotherapy : bool or None
        Radiotherapy of the limb after the perfusion (with or without resection).
    pathological_necrosis_pct : float or None
        Necrosis in the resected specimen, % of the tumour (only with a resection).
    amputation_reason : AmputationReason or None
        Why the limb was amputated (only with an amputation).
    """

    resection_date: date | None = None
    resection_margin: Margin | None = None
    amputation_date: date | None = None
    local_recurrence_date: date | None = None
    distant_metastasis_date: date | None = None
    adjuvant_radiotherapy: bool | None = None
    pathological_necrosis_pct: float | None = None
    amputation_reason: AmputationReason | None = None


class CauseOfDeath(StrEnum):
    """Cause of death, for sarcoma-specific survival (``unknown`` when not established)."""

    SARCOMA = "sarcoma"
    OTHER = "other"
    UNKNOWN = "unknown"


class AmputationReason(StrEnum):
    """Why the limb was amputated after the perfusion."""

    RECURRENCE = "recurrence"
    TOXICITY = "toxicity"
    NON_RESPONSE = "non_response"
    OTHER = "other"
