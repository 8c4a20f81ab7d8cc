"""Plausibility rules shared by registry validation and perfusion planning.

A value that passes the hard limits (:mod:`ilpkit.domain.limits`) can still be unlikely for the
case at hand: a 12 L arm or a 0.4 L leg perfused at femoral level. These rules return a warning
text (or None); the caller decides how to show it (a WARNING problem on import, a notice on the
perfusion sheet). One rule, so both paths warn alike.
"""

from __future__ import annotations

from ilpkit.domain.limits import LIMB_VOLUME_L_BY_LEVEL
from ilpkit.domain.perfusion import LEVELS_BY_LIMB, Limb


def limb_volume_warning(limb: str, level: str, volume_l: float) -> str | None:
    """Warn when a perfused limb volume is unlikely for its limb and perfusion level.

    Parameters
    ----------
    limb : str
        ``"arm"`` or ``"leg"``.
    level : str
        Perfusion level (``"axillary"``, ``"brachial"``, ``"iliac"``, ``"femoral"``,
        ``"popliteal"``).
    volume_l : float
        Perfused limb volume in litres.

    Returns
    -------
    str or None
        The warning, naming the volume, the plausible range for the limb and level and its source;
        None when the volume is plausible, or when the limb or level is unknown or does not match
        (that is an error reported elsewhere).

    Examples
    --------
    >>> limb_volume_warning("leg", "femoral", 8.6) is None
    True
    >>> limb_volume_warning("arm", "axillary", 12.0)[:36]
    '12 L is outside the plausible 1 to 7'
    """
    try:
        limb_enum = Limb(limb)
    except ValueError:
        return None
    rng = LIMB_VOLUME_L_BY_LEVEL.get(level)
    if rng is None or level not in {lv.value for lv in LEVELS_BY_LIMB[limb_enum]}:
        return None
    if rng.contains(volume_l):
        return None
    return (
        f"{volume_l:g} L is outside the plausible {rng.describe()} for {rng.reason}; check the "
        f"volume, its unit (litres) and the limb and level. Source: {rng.source}"
    )
