"""Clinical limits the registry enforces, each with its source.

This module is the one data file for registry validation: every number used by a rule lives here
with the reason for it and where it comes from. The data dictionary (docs/data-dictionary.md) is
generated from these entries. Sources: see docs/data-dictionary.md and the clinical protocol notes
(SmPC = Beromun summary of product characteristics, EMA).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True)
class Range:
    """An allowed closed or half-open range with its reason and source.

    Attributes
    ----------
    low, high : float or None
        Bounds; None means unbounded on that side.
    low_inclusive, high_inclusive : bool
        Whether the bound itself is allowed.
    unit : str
        Unit of the bounds (e.g. ``"mg"``).
    reason : str
        Why the limit exists, in plain words.
    source : str
        Where the number comes from ("inference" marks our own reasoning).
    """

    low: float | None
    high: float | None
    unit: str
    reason: str
    source: str
    low_inclusive: bool = True
    high_inclusive: bool = True

    def contains(self, value: float) -> bool:
        """True when ``value`` lies inside the range."""
        if self.low is not None and (
            value < self.low or (value == self.low and not self.low_inclusive)
        ):
            return False
        return not (
            self.high is not None
            and (value > self.high or (value == self.high and not self.high_inclusive))
        )

    def describe(self) -> str:
        """Human form, e.g. ``0 to 4 mg`` or ``more than 0 and at most 60 cm``."""
        unit = f" {self.unit}" if self.unit else ""
        lo, hi = _fmt(self.low), _fmt(self.high)
        if self.low is not None and self.high is not None:
            if self.low_inclusive and self.high_inclusive:
                return f"{lo} to {hi}{unit}"
            left = f"at least {lo}" if self.low_inclusive else f"more than {lo}"
            right = f"at most {hi}" if self.high_inclusive else f"less than {hi}"
            return f"{left} and {right}{unit}"
        if self.low is not None:
            return f"{'at least' if self.low_inclusive else 'more than'} {lo}{unit}"
        if self.high is not None:
            return f"{'at most' if self.high_inclusive else 'less than'} {hi}{unit}"
        return "any value"


def _fmt(x: float | None) -> str:
    if x is None:
        return ""
    return f"{x:g}"


SMPC = "Beromun (tasonermin) SmPC, EMA"

TNF_MG = Range(
    0,
    4,
    "mg",
    "TNF-alpha is given only by isolated limb perfusion, at most 3 mg for an arm and 4 mg for a "
    "leg",
    SMPC,
)
TNF_LABEL_MG_BY_LIMB = {"arm": 3.0, "leg": 4.0}
"""Label TNF dose by limb (SmPC); a higher dose for the limb is reported as a warning."""

MELPHALAN_MG = Range(
    0,
    150,
    "mg",
    "melphalan in the circuit must not exceed 150 mg in total",
    SMPC,
    low_inclusive=False,
)
MELPHALAN_MG_PER_L = Range(
    2,
    20,
    "mg/L",
    "the label dose is 10 mg per litre of leg and 13 mg per litre of arm volume; with the 150 mg "
    "cap a 30 L leg still gets 5 mg/L. Values outside 2-20 mg/L point to a unit error (mL instead "
    "of L) or a wrong limb volume",
    "SmPC; Wieberdink 1982; Grünhagen 2005; range limits are an inference",
)
MELPHALAN_LABEL_MG_PER_L_BY_LIMB = {"arm": 13.0, "leg": 10.0}
"""Label melphalan dose per litre of perfused limb volume (SmPC, Wieberdink 1982)."""
MELPHALAN_LABEL_TOLERANCE = 0.10
"""Warn when mg/L exceeds the label dose by more than this fraction (inference: circumference
volume estimates are accurate to 2-8%, Farina 2024)."""

LIMB_VOLUME_L = Range(
    0.3,
    30,
    "L",
    "a perfused limb volume outside 0.3-30 L is not physiologically plausible (typical arm about "
    "2.5 L, leg about 8.6 L); check the unit (litres, not millilitres)",
    "Beasley 2012 (typical volumes); range limits are an inference",
)
LIMB_VOLUME_BY_LEVEL_SOURCE = (
    "Beasley 2012 (typical perfused volume: arm about 2.5 L, leg about 8.6 L); the limits per "
    "perfusion level are an inference"
)
LIMB_VOLUME_L_BY_LEVEL = {
    "axillary": Range(
        1.0, 7.0, "L", "an arm perfused at axillary level (the whole arm; typical about 2.5 L)",
        LIMB_VOLUME_BY_LEVEL_SOURCE,
    ),
    "brachial": Range(
        0.5, 5.0, "L", "an arm perfused at brachial level (distal arm, forearm and hand)",
        LIMB_VOLUME_BY_LEVEL_SOURCE,
    ),
    "iliac": Range(
        4.0, 25.0, "L", "a leg perfused at iliac level (the whole leg with the thigh root)",
        LIMB_VOLUME_BY_LEVEL_SOURCE,
    ),
    "femoral": Range(
        3.0, 20.0, "L", "a leg perfused at femoral level (typical about 8.6 L)",
        LIMB_VOLUME_BY_LEVEL_SOURCE,
    ),
    "popliteal": Range(
        1.0, 8.0, "L", "a leg perfused at popliteal level (lower leg and foot)",
        LIMB_VOLUME_BY_LEVEL_SOURCE,
    ),
}  # fmt: skip
"""Plausible perfused limb volume by perfusion level; outside it is a warning, not an error (the
volume is kept): ``reason`` names the limb and level. See
:func:`ilpkit.domain.plausibility.limb_volume_warning`."""

TUMOR_SIZE_CM = Range(
    0,
    60,
    "cm",
    "largest tumour diameter; sizes above 60 cm are not plausible for an extremity tumour",
    "inference (Eggermont 1996 series: median size 16 cm)",
    low_inclusive=False,
)
MAX_LEAKAGE_PCT = Range(
    0,
    100,
    "%",
    "cumulative leakage to the systemic circulation is a percentage of the circuit dose",
    "SmPC (leakage monitoring)",
)
WIEBERDINK_GRADE = Range(
    1, 5, "", "Wieberdink regional toxicity grades run from I to V", "Wieberdink 1982"
)
PATHOLOGICAL_NECROSIS_PCT = Range(
    0,
    100,
    "%",
    "pathological necrosis is a percentage of the resected tumour; above 50% predicted far fewer "
    "local recurrences (7% vs 33%)",
    "Deroose 2010",
)
SYSTEMIC_TOXICITY_GRADE = Range(
    0,
    5,
    "",
    "CTCAE grades run from 1 (mild) to 5 (death related to the adverse event); 0 records that no "
    "systemic adverse event occurred",
    "NCI CTCAE v5.0 (2017)",
)
MAX_TISSUE_TEMP_C = Range(
    30,
    44,
    "°C",
    "TM-ILP runs at normothermia to mild hyperthermia (37-40 °C); readings outside 30-44 °C are "
    "probe or entry errors",
    "Vrouenraets 2001; Deroose 2012; range limits are an inference",
)
PERFUSION_MINUTES = Range(
    1,
    240,
    "min",
    "the standard perfusion lasts 90 minutes (TNF 30 min, then melphalan 60 min); more than "
    "240 minutes is not plausible",
    "Eggermont 1996; range limits are an inference",
)
EARLIEST_BIRTH_DATE = date(1900, 1, 1)
"""Birth dates before this are treated as entry errors (inference)."""
