"""The perfused limb and the perfusion (access) level, and which levels belong to which limb.

A leg is perfused through the external iliac, femoral or popliteal vessels; an arm through the
axillary or brachial vessels (SmPC, section 4.2). The enums are the registry's own
(:mod:`ilpkit.domain.perfusion`), so a plan can be stored with the perfusion it prepares.
"""

from __future__ import annotations

from ilpkit.domain.perfusion import LEVELS_BY_LIMB, Limb, PerfusionLevel
from ilpkit.planning.errors import PerfusionSiteError

__all__ = ["Limb", "PerfusionLevel", "levels_for", "resolve_site"]


def levels_for(limb: Limb) -> tuple[PerfusionLevel, ...]:
    """Perfusion levels that belong to ``limb`` (proximal first)."""
    return LEVELS_BY_LIMB[limb]


def resolve_site(limb: Limb | str, level: PerfusionLevel | str) -> tuple[Limb, PerfusionLevel]:
    """Check a limb and perfusion level and return them as enums.

    Parameters
    ----------
    limb : Limb or str
        ``"arm"`` or ``"leg"``.
    level : PerfusionLevel or str
        ``"iliac"``, ``"femoral"`` or ``"popliteal"`` for a leg; ``"axillary"`` or ``"brachial"``
        for an arm.

    Returns
    -------
    tuple of (Limb, PerfusionLevel)

    Raises
    ------
    PerfusionSiteError
        Unknown limb or level, or a level that belongs to the other limb.

    Examples
    --------
    >>> resolve_site("leg", "femoral")
    (<Limb.LEG: 'leg'>, <PerfusionLevel.FEMORAL: 'femoral'>)
    """
    try:
        limb_enum = Limb(str(limb).strip().lower())
    except ValueError:
        raise PerfusionSiteError(f"limb = {limb!r}: unknown limb; use 'arm' or 'leg'") from None
    try:
        level_enum = PerfusionLevel(str(level).strip().lower())
    except ValueError:
        known = ", ".join(lv.value for lv in PerfusionLevel)
        raise PerfusionSiteError(
            f"level = {level!r}: unknown perfusion level; use one of {known}"
        ) from None
    allowed = levels_for(limb_enum)
    if level_enum not in allowed:
        values = [lv.value for lv in allowed]
        names = f"{', '.join(values[:-1])} or {values[-1]}"
        raise PerfusionSiteError(
            f"level = '{level_enum.value}' does not match limb = '{limb_enum.value}': "
            f"{'an arm' if limb_enum is Limb.ARM else 'a leg'} is perfused at {names} "
            "level (SmPC, section 4.2)"
        )
    return limb_enum, level_enum
