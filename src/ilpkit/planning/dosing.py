"""Drug doses of a perfusion: TNF-alpha per limb (or level), melphalan per litre with its cap.

Formulas (values from the chosen protocol, each with its source)::

    tnf_mg = protocol.tnf_mg[level] if the protocol has a level entry, else protocol.tnf_mg[limb]
    melphalan_uncapped_mg = melphalan_mg_per_l[limb] * limb_volume_l
    melphalan_mg = min(melphalan_uncapped_mg, melphalan_max_mg)
    melphalan_capped = melphalan_uncapped_mg > melphalan_max_mg

Label values (SmPC): TNF 3 mg arm, 4 mg leg; melphalan 13 mg/L arm, 10 mg/L leg (Wieberdink 1982,
Grünhagen 2005), at most 150 mg.

Examples
--------
Leg of 8.6 L, label protocol: 10 mg/L * 8.6 L = 86 mg melphalan, not capped; TNF 4 mg.
Leg of 16 L: 10 * 16 = 160 mg, capped to 150 mg, i.e. 150 / 16 = 9.375 mg/L.
"""

from __future__ import annotations

from dataclasses import dataclass

from ilpkit.domain.perfusion import Limb, PerfusionLevel
from ilpkit.planning.limb_volume import check_limb_volume_l
from ilpkit.planning.protocols import DosingProtocol
from ilpkit.planning.sourced import Sourced


@dataclass(frozen=True, slots=True)
class DosePlan:
    """TNF-alpha and melphalan doses for one perfusion.

    Attributes
    ----------
    limb_volume_l : float
        Perfused limb volume in litres.
    tnf_mg : Sourced
        TNF-alpha (tasonermin) dose in mg, with its source.
    tnf_key : str
        Which protocol entry gave the TNF dose: the limb (``"leg"``) or a level (``"popliteal"``).
    melphalan_protocol_mg_per_l : Sourced
        The protocol's melphalan dose per litre of limb volume.
    melphalan_max_mg : Sourced
        The protocol's total melphalan cap.
    melphalan_uncapped_mg : float
        ``melphalan_protocol_mg_per_l * limb_volume_l`` before the cap.
    melphalan_mg : float
        Total melphalan in mg after the cap.
    melphalan_capped : bool
        True when the cap binds (``melphalan_uncapped_mg > melphalan_max_mg``).
    """

    limb_volume_l: float
    tnf_mg: Sourced
    tnf_key: str
    melphalan_protocol_mg_per_l: Sourced
    melphalan_max_mg: Sourced
    melphalan_uncapped_mg: float
    melphalan_mg: float
    melphalan_capped: bool

    @property
    def melphalan_mg_per_l(self) -> float:
        """Melphalan actually given per litre: ``melphalan_mg / limb_volume_l`` (lower than the
        protocol's rate when the cap binds)."""
        return self.melphalan_mg / self.limb_volume_l

    def to_dict(self) -> dict[str, object]:
        """JSON-serialisable form."""
        return {
            "tnf_mg": self.tnf_mg.to_dict(),
            "tnf_key": self.tnf_key,
            "melphalan_protocol_mg_per_l": self.melphalan_protocol_mg_per_l.to_dict(),
            "melphalan_max_mg": self.melphalan_max_mg.to_dict(),
            "melphalan_uncapped_mg": self.melphalan_uncapped_mg,
            "melphalan_mg": self.melphalan_mg,
            "melphalan_mg_per_l": self.melphalan_mg_per_l,
            "melphalan_capped": self.melphalan_capped,
        }


def plan_doses(
    protocol: DosingProtocol, limb: Limb, level: PerfusionLevel, limb_volume_l: float
) -> DosePlan:
    """Compute the TNF-alpha and melphalan doses.

    Parameters
    ----------
    protocol : DosingProtocol
        The dosing protocol.
    limb : Limb
    level : PerfusionLevel
        Must belong to ``limb`` (see :func:`ilpkit.planning.perfusion_site.resolve_site`).
    limb_volume_l : float
        Perfused limb volume in litres (0.3-30 L).

    Returns
    -------
    DosePlan

    Raises
    ------
    LimbVolumeError
        A limb volume outside 0.3-30 L.
    """
    check_limb_volume_l(limb_volume_l)
    tnf_key, tnf = protocol.tnf_for(limb, level)
    rate = protocol.melphalan_mg_per_l[limb]
    cap = protocol.melphalan_max_mg
    uncapped = rate.value * limb_volume_l
    capped = uncapped > cap.value
    return DosePlan(
        limb_volume_l=limb_volume_l,
        tnf_mg=tnf,
        tnf_key=tnf_key,
        melphalan_protocol_mg_per_l=rate,
        melphalan_max_mg=cap,
        melphalan_uncapped_mg=uncapped,
        melphalan_mg=cap.value if capped else uncapped,
        melphalan_capped=capped,
    )
