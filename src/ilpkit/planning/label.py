"""The Beromun label (SmPC) ceilings that every non-study protocol must respect.

These are fixed facts of the marketing authorisation, not centre choices, so they are not read from
the centre-editable protocol file (a centre's file cannot loosen the check that guards it). The dose
ceilings are the registry's own label values (:mod:`ilpkit.domain.limits`), so planning and registry
validation agree.
"""

from __future__ import annotations

from dataclasses import dataclass

from ilpkit.domain import limits
from ilpkit.domain.perfusion import Limb
from ilpkit.planning.sourced import Sourced

SMPC = limits.SMPC


@dataclass(frozen=True, slots=True)
class LabelCeilings:
    """Highest values the Beromun label allows.

    Attributes
    ----------
    tnf_mg : dict of Limb to Sourced
        TNF-alpha (tasonermin) dose per limb in mg.
    melphalan_mg_per_l : dict of Limb to Sourced
        Melphalan per litre of perfused limb volume in mg/L.
    melphalan_max_mg : Sourced
        Total melphalan in mg.
    flow_max_ml_per_l_per_min : Sourced
        Circuit flow per litre of limb volume.
    leakage_stop_pct : Sourced
        The cumulative leakage at which the perfusion must be stopped (a protocol may stop earlier,
        never later).
    """

    tnf_mg: dict[Limb, Sourced]
    melphalan_mg_per_l: dict[Limb, Sourced]
    melphalan_max_mg: Sourced
    flow_max_ml_per_l_per_min: Sourced
    leakage_stop_pct: Sourced


def label_ceilings() -> LabelCeilings:
    """Return the SmPC label ceilings (built on call; nothing happens at import time)."""
    mel_source = f"{SMPC}; Wieberdink 1982; Grünhagen 2005"
    return LabelCeilings(
        tnf_mg={
            Limb(limb): Sourced(mg, "mg", SMPC) for limb, mg in limits.TNF_LABEL_MG_BY_LIMB.items()
        },
        melphalan_mg_per_l={
            Limb(limb): Sourced(mg_per_l, "mg/L", mel_source)
            for limb, mg_per_l in limits.MELPHALAN_LABEL_MG_PER_L_BY_LIMB.items()
        },
        melphalan_max_mg=Sourced(float(limits.MELPHALAN_MG.high or 0.0), "mg", SMPC),
        flow_max_ml_per_l_per_min=Sourced(
            40.0, "mL/L/min", f"{SMPC}: flow at most 40 mL per litre of limb volume per minute"
        ),
        leakage_stop_pct=Sourced(
            10.0, "%", f"{SMPC}: stop the perfusion when cumulative leakage reaches 10%"
        ),
    )
