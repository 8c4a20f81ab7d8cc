"""The perfusion: limb, level, volume, doses and how it was conducted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from ilpkit.domain.outcome import Outcome
from ilpkit.domain.response import Response
from ilpkit.domain.toxicity import ClavienDindo
from ilpkit.domain.tumour import Tumour


class Limb(StrEnum):
    """The perfused limb."""

    ARM = "arm"
    LEG = "leg"


class PerfusionLevel(StrEnum):
    """Vascular access level of the perfusion (SmPC: external iliac, femoral, popliteal,
    axillary or brachial vessels)."""

    ILIAC = "iliac"
    FEMORAL = "femoral"
    POPLITEAL = "popliteal"
    AXILLARY = "axillary"
    BRACHIAL = "brachial"


LEVELS_BY_LIMB: dict[Limb, tuple[PerfusionLevel, ...]] = {
    Limb.LEG: (PerfusionLevel.ILIAC, PerfusionLevel.FEMORAL, PerfusionLevel.POPLITEAL),
    Limb.ARM: (PerfusionLevel.AXILLARY, PerfusionLevel.BRACHIAL),
}
"""Which access levels belong to which limb (SmPC, section 4.2; anatomy)."""


class VolumeMethod(StrEnum):
    """How the perfused limb volume was obtained."""

    WATER_DISPLACEMENT = "water_displacement"
    CIRCUMFERENCES = "circumferences"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Conduct:
    """Optional intra-operative data of a perfusion.

    Attributes
    ----------
    max_tissue_temp_c : float or None
        Highest tissue temperature recorded, degrees Celsius.
    perfusion_minutes : float or None
        Duration of drug circulation in minutes.
    max_leakage_pct : float or None
        Peak cumulative leakage to the systemic circulation, % of the circuit dose.
    wieberdink_grade : int or None
        Regional toxicity grade I-V (Wieberdink 1982), stored as 1-5.
    systemic_toxicity_grade : int or None
        Worst systemic toxicity, CTCAE grade 0-5 (version
        :data:`ilpkit.domain.toxicity.CTCAE_VERSION`).
    complication_clavien_dindo : ClavienDindo or None
        Worst surgical complication (Dindo 2004).
    """

    max_tissue_temp_c: float | None = None
    perfusion_minutes: float | None = None
    max_leakage_pct: float | None = None
    wieberdink_grade: int | None = None
    systemic_toxicity_grade: int | None = None
    complication_clavien_dindo: ClavienDindo | None = None


@dataclass(frozen=True, slots=True)
class Perfusion:
    """One TM-ILP of one patient, with the tumour at that time and what followed.

    Attributes
    ----------
    patient_id : str
    ilp_date : date
    limb : Limb
    perfusion_level : PerfusionLevel
    limb_volume_l : float
        Perfused limb volume in litres.
    limb_volume_method : VolumeMethod or None
    tnf_mg : float
        TNF-alpha (tasonermin) dose in mg.
    melphalan_mg : float
        Total melphalan dose in mg.
    tumour : Tumour
    conduct : Conduct
    response : Response or None
        None when not recorded.
    outcome : Outcome
    """

    patient_id: str
    ilp_date: date
    limb: Limb
    perfusion_level: PerfusionLevel
    limb_volume_l: float
    limb_volume_method: VolumeMethod | None
    tnf_mg: float
    melphalan_mg: float
    tumour: Tumour
    conduct: Conduct
    response: Response | None
    outcome: Outcome

    @property
    def melphalan_mg_per_l(self) -> float:
        """Melphalan dose per litre of perfused limb volume."""
        return self.melphalan_mg / self.limb_volume_l
