"""Perfused limb volume: from circumferences (truncated-cone model) or water displacement.

The perfused volume is the part of the limb distal to the perfusion level (tourniquet). It is
either measured by water displacement (accuracy about 0.3%) or estimated from circumferences taken
at a fixed spacing from the perfusion level distally, each pair of neighbouring circumferences
forming a truncated cone (frustum); the estimate is accurate to 2-8% depending on the measurer
(Farina 2024).

Formula (one segment, circumferences ``C1`` and ``C2`` in cm, segment length ``h`` in cm)::

    V_segment_ml = h * (C1**2 + C1*C2 + C2**2) / (12 * pi)

and the limb volume is the sum over all segments. This is the frustum volume
``pi*h/3 * (r1**2 + r1*r2 + r2**2)`` with the radius ``r = C / (2*pi)`` written in circumferences.

Examples
--------
>>> v = limb_volume_from_circumferences([30.0, 30.0], spacing_cm=10.0)
>>> round(v.limb_volume_l, 4)  # a 10 cm cylinder of circumference 30 cm: 2250/pi mL
0.7162
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from ilpkit.domain.limits import LIMB_VOLUME_L, Range
from ilpkit.domain.perfusion import VolumeMethod
from ilpkit.planning.errors import LimbVolumeError, show_number

CIRCUMFERENCE_CM = Range(
    0,
    100,
    "cm",
    "a limb circumference of more than 100 cm is not plausible; check the unit (cm) and the entry",
    "inference (ilpkit planning issue: plausibility limit)",
    low_inclusive=False,
)
"""Plausible limb circumference in cm."""

SPACING_CM = Range(
    1,
    15,
    "cm",
    "circumferences are taken every 4, 5 or 10 cm; a spacing outside 1-15 cm makes the "
    "truncated-cone estimate unreliable or points to an entry error",
    "Farina 2024, Bioengineering 11:382 (5 cm arm, 10 cm leg validated); range limits are an "
    "inference",
)
"""Allowed spacing between neighbouring circumferences in cm."""

FRUSTUM_SOURCE = (
    "truncated-cone (frustum) model, V = h·(C1² + C1·C2 + C2²)/(12π) per segment; accuracy 2-8% "
    "depending on the measurer (Farina 2024, Bioengineering 11:382)"
)
WATER_DISPLACEMENT_SOURCE = "water displacement, accuracy about 0.3% (Farina 2024)"
ML_PER_L = 1000.0
"""Millilitres per litre (unit conversion, not a clinical constant)."""


@dataclass(frozen=True, slots=True)
class LimbVolume:
    """A perfused limb volume and how it was obtained.

    Attributes
    ----------
    limb_volume_l : float
        Perfused limb volume in litres.
    method : VolumeMethod
        ``CIRCUMFERENCES`` (truncated-cone estimate) or ``WATER_DISPLACEMENT`` (measured).
    circumferences_cm : tuple of float
        The circumferences in cm from the perfusion level distally; empty for water displacement.
    spacing_cm : float or None
        Distance between neighbouring circumferences in cm; None for water displacement.
    segment_volumes_ml : tuple of float
        Volume of each truncated-cone segment in mL (proximal first); empty for water displacement.
    source : str
        The method and its accuracy, with the source.
    """

    limb_volume_l: float
    method: VolumeMethod
    circumferences_cm: tuple[float, ...] = ()
    spacing_cm: float | None = None
    segment_volumes_ml: tuple[float, ...] = ()
    source: str = ""

    def to_dict(self) -> dict[str, object]:
        """JSON-serialisable form."""
        return {
            "limb_volume_l": self.limb_volume_l,
            "method": self.method.value,
            "circumferences_cm": list(self.circumferences_cm),
            "spacing_cm": self.spacing_cm,
            "segment_volumes_ml": list(self.segment_volumes_ml),
            "source": self.source,
        }


def frustum_volume_ml(c1_cm: float, c2_cm: float, height_cm: float) -> float:
    """Volume of one truncated-cone limb segment in mL.

    Parameters
    ----------
    c1_cm, c2_cm : float
        Circumferences at the two ends of the segment, in cm.
    height_cm : float
        Length of the segment (the spacing between the two circumferences), in cm.

    Returns
    -------
    float
        ``height_cm * (c1_cm**2 + c1_cm*c2_cm + c2_cm**2) / (12*pi)`` in mL (1 cm³ = 1 mL).

    Notes
    -----
    No validation: use :func:`limb_volume_from_circumferences` for user input.

    Examples
    --------
    >>> round(frustum_volume_ml(30.0, 30.0, 10.0), 2)  # cylinder: 10*2700/(12*pi) = 2250/pi
    716.2
    """
    return height_cm * (c1_cm * c1_cm + c1_cm * c2_cm + c2_cm * c2_cm) / (12.0 * math.pi)


def summed_frustum_volume_ml(circumferences_cm: Sequence[float], spacing_cm: float) -> float:
    """Sum of the truncated-cone segment volumes in mL, without any validation.

    Parameters
    ----------
    circumferences_cm : sequence of float
        Circumferences in cm at a fixed spacing (at least two for a non-zero volume).
    spacing_cm : float
        Distance between neighbouring circumferences in cm.

    Returns
    -------
    float
        Total volume in mL.
    """
    return math.fsum(
        frustum_volume_ml(c1, c2, spacing_cm) for c1, c2 in itertools.pairwise(circumferences_cm)
    )


def limb_volume_from_circumferences(
    circumferences_cm: Sequence[float], spacing_cm: float
) -> LimbVolume:
    """Estimate the perfused limb volume from circumferences with the truncated-cone model.

    Parameters
    ----------
    circumferences_cm : sequence of float
        At least two circumferences in cm, measured at ``spacing_cm`` intervals from the perfusion
        level distally. Each must be more than 0 and at most 100 cm.
    spacing_cm : float
        Distance between neighbouring circumferences in cm, 1 to 15 cm.

    Returns
    -------
    LimbVolume
        The volume in litres with its segments and method.

    Raises
    ------
    LimbVolumeError
        Fewer than two circumferences, a value that is not a number, non-positive or over 100 cm, a
        spacing outside 1-15 cm, or a resulting volume outside 0.3-30 L.

    Notes
    -----
    Formula per segment: ``V = h*(C1**2 + C1*C2 + C2**2)/(12*pi)`` mL, summed over the segments
    (truncated-cone model; Farina 2024). Source of the volume limits: see ``LIMB_VOLUME_L``.

    Examples
    --------
    >>> v = limb_volume_from_circumferences([40.0, 30.0, 20.0], spacing_cm=10.0)
    >>> round(v.limb_volume_l, 4)  # 10*(3700 + 1900)/(12*pi) mL = 14000/(3*pi) mL
    1.4854
    """
    values = [
        _number(f"circumference {i} of {len(circumferences_cm)}", c, "cm")
        for i, c in enumerate(circumferences_cm, start=1)
    ]
    if len(values) < 2:
        shown = ", ".join(show_number(c, "cm") for c in values) or "none"
        raise LimbVolumeError(
            f"circumferences_cm: {len(values)} circumference(s) given ({shown}); at least two "
            "are needed, measured at a fixed spacing from the perfusion level distally"
        )
    for i, c in enumerate(values, start=1):
        if not CIRCUMFERENCE_CM.contains(c):
            reason = "a circumference must be more than 0 cm" if c <= 0 else CIRCUMFERENCE_CM.reason
            raise LimbVolumeError(
                f"circumference {i} of {len(values)} = {show_number(c, 'cm')}: {reason}"
            )
    spacing = _number("spacing_cm", spacing_cm, "cm")
    if not SPACING_CM.contains(spacing):
        raise LimbVolumeError(
            f"spacing_cm = {show_number(spacing, 'cm')}: the spacing must be "
            f"{SPACING_CM.describe()} ({SPACING_CM.reason})"
        )
    segments = tuple(frustum_volume_ml(c1, c2, spacing) for c1, c2 in itertools.pairwise(values))
    volume_l = math.fsum(segments) / ML_PER_L
    check_limb_volume_l(volume_l, "estimated from the circumferences")
    return LimbVolume(
        limb_volume_l=volume_l,
        method=VolumeMethod.CIRCUMFERENCES,
        circumferences_cm=tuple(values),
        spacing_cm=spacing,
        segment_volumes_ml=segments,
        source=FRUSTUM_SOURCE,
    )


def limb_volume_from_water_displacement(volume_l: float) -> LimbVolume:
    """Wrap a limb volume measured by water displacement, after checking it.

    Parameters
    ----------
    volume_l : float
        Measured perfused limb volume in litres, 0.3 to 30 L.

    Returns
    -------
    LimbVolume

    Raises
    ------
    LimbVolumeError
        Not a number, or outside 0.3-30 L (source: ``LIMB_VOLUME_L``).

    Examples
    --------
    >>> limb_volume_from_water_displacement(8.6).limb_volume_l
    8.6
    """
    volume = _number("volume_l", volume_l, "L")
    check_limb_volume_l(volume, "measured")
    return LimbVolume(
        limb_volume_l=volume,
        method=VolumeMethod.WATER_DISPLACEMENT,
        source=WATER_DISPLACEMENT_SOURCE,
    )


def _number(name: str, value: object, unit: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise LimbVolumeError(f"{name} = {value!r}: not a number (expected {unit})")
    number = float(value)
    if not math.isfinite(number):
        raise LimbVolumeError(f"{name} = {number}: not a finite number (expected {unit})")
    return number


def check_limb_volume_l(volume_l: float, how: str = "given") -> None:
    """Raise :class:`LimbVolumeError` unless ``volume_l`` is a plausible limb volume (0.3-30 L).

    Parameters
    ----------
    volume_l : float
        Perfused limb volume in litres.
    how : str
        How the volume was obtained, for the message (``"measured"``, ``"estimated ..."``).
    """
    volume = _number("limb volume", volume_l, "L")
    if not LIMB_VOLUME_L.contains(volume):
        raise LimbVolumeError(
            f"limb volume = {volume:g} L ({how}): must be {LIMB_VOLUME_L.describe()}; "
            f"{LIMB_VOLUME_L.reason}"
        )
