"""Toxicity and complications of a perfusion: the grading scales the registry records.

Regional (limb) toxicity is graded by Wieberdink (1982), I-V stored as 1-5 (see
:data:`ilpkit.domain.limits.WIEBERDINK_GRADE`). Systemic toxicity is graded by the Common
Terminology Criteria for Adverse Events, version :data:`CTCAE_VERSION`, 0-5. Surgical complications
are graded by Clavien-Dindo (Dindo, Demartines, Clavien, Ann Surg 2004;240:205-13), as the
IDEA4RC sarcoma data model records them.
"""

from __future__ import annotations

from enum import StrEnum

CTCAE_VERSION = "5.0"
"""CTCAE version the registry's systemic toxicity grades refer to (NCI, 2017). Source: inference
(published TM-ILP series report grades without naming the scale; clinical-protocol.md)."""


class ClavienDindo(StrEnum):
    """Clavien-Dindo grade of the worst surgical complication (Dindo et al., Ann Surg 2004).

    ``0`` no complication; I any deviation from the normal course without specific treatment;
    II pharmacological treatment; IIIa/IIIb intervention without/under general anaesthesia;
    IVa/IVb single/multi-organ dysfunction needing intensive care; V death.
    """

    NONE = "0"
    I = "I"  # noqa: E741 - the grade's own name
    II = "II"
    IIIA = "IIIa"
    IIIB = "IIIb"
    IVA = "IVa"
    IVB = "IVb"
    V = "V"

    @property
    def major_grade(self) -> int:
        """The grade as 0-5, sub-grades a/b merged (for ordered analyses)."""
        return {"0": 0, "I": 1, "II": 2, "IIIa": 3, "IIIb": 3, "IVa": 4, "IVb": 4, "V": 5}[
            self.value
        ]
