"""Tumour response to the perfusion (WHO criteria)."""

from __future__ import annotations

from enum import StrEnum


class Response(StrEnum):
    """WHO response category (bidimensional measurement).

    CR disappearance of the tumour; PR decrease of at least 50%; NC no change (neither PR nor PD;
    also written SD, stable disease); PD increase of at least 25% or a new lesion; NE not evaluable.
    Source: WHO handbook for reporting results of cancer treatment (Miller 1981).
    """

    CR = "CR"
    PR = "PR"
    NC = "NC"
    PD = "PD"
    NE = "NE"

    @property
    def is_objective(self) -> bool:
        """True for CR and PR (the overall response rate counts these)."""
        return self in (Response.CR, Response.PR)

    @property
    def is_evaluable(self) -> bool:
        """False for NE, which is left out of response-rate denominators."""
        return self is not Response.NE


RESPONSE_ALIASES: dict[str, Response] = {"SD": Response.NC}
"""Accepted synonyms: 'SD' (stable disease, RECIST wording) is recorded as NC."""
