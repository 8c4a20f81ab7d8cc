"""Circuit and conduct targets of a perfusion: priming, flow, tissue temperature, timeline.

The targets come from the protocol file (``[conduct]``, optionally overridden per protocol); the
flow limits scale with the limb volume:

* maximum flow ``flow_max_ml_per_min = 40 mL/L/min * limb_volume_l`` (SmPC);
* warning below ``30 mL/L/min * limb_volume_l`` (risk of limb hypoxia; letter on ILP flow, used as a
  warning by inference).

The live monitor can check single readings with :func:`check_flow` and
:func:`check_tissue_temperature`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ilpkit.planning.errors import PlanningError, show_number
from ilpkit.planning.sourced import Sourced, SourcedRange, TomlReader

CONDUCT_KEYS = (
    "priming_volume_ml",
    "priming_haematocrit",
    "flow_max_ml_per_l_per_min",
    "flow_warning_below_ml_per_l_per_min",
    "tissue_temp_target_c",
    "tissue_temp_warning_c",
    "tnf_start_min",
    "melphalan_start_min",
    "end_min",
)
"""Keys of a ``conduct`` table in the protocol file."""

AlertSeverity = Literal["danger", "warning", "notice"]


@dataclass(frozen=True, slots=True)
class ConductTargets:
    """Circuit, temperature and timeline targets of one protocol, each with its source.

    Attributes
    ----------
    priming_volume_ml : SourcedRange
        Priming volume of the circuit in mL.
    priming_haematocrit : SourcedRange
        Haematocrit of the priming solution (fraction, e.g. 0.25-0.30).
    flow_max_ml_per_l_per_min : Sourced
        Highest circuit flow per litre of limb volume.
    flow_warning_below_ml_per_l_per_min : Sourced
        Flow per litre below which the limb risks hypoxia (a warning).
    tissue_temp_target_c : SourcedRange
        Target tissue temperature in degrees Celsius.
    tissue_temp_warning_c : Sourced
        Tissue temperature at or above which a warning is raised during melphalan circulation.
    tnf_start_min, melphalan_start_min, end_min : Sourced
        Timeline in minutes from the start of drug circulation (TNF into the circuit).
    """

    priming_volume_ml: SourcedRange
    priming_haematocrit: SourcedRange
    flow_max_ml_per_l_per_min: Sourced
    flow_warning_below_ml_per_l_per_min: Sourced
    tissue_temp_target_c: SourcedRange
    tissue_temp_warning_c: Sourced
    tnf_start_min: Sourced
    melphalan_start_min: Sourced
    end_min: Sourced

    def to_dict(self) -> dict[str, object]:
        """JSON-serialisable form."""
        return {key: getattr(self, key).to_dict() for key in CONDUCT_KEYS}


def read_conduct(
    reader: TomlReader,
    defaults: Mapping[str, Any],
    overrides: Mapping[str, Any],
    defaults_path: str,
    overrides_path: str,
) -> ConductTargets:
    """Read conduct targets: each key from ``overrides`` when present, else from ``defaults``.

    Problems are recorded on ``reader`` with the TOML key they come from.
    """
    reader.only_keys(defaults, CONDUCT_KEYS, defaults_path)
    reader.only_keys(overrides, CONDUCT_KEYS, overrides_path)

    def pick(key: str) -> tuple[Mapping[str, Any], str]:
        if key in overrides:
            return overrides, overrides_path
        return defaults, defaults_path

    def rng(key: str, unit: str, **bounds: float) -> SourcedRange:
        table, path = pick(key)
        return reader.sourced_range(table, key, path, unit, **bounds)

    def one(key: str, unit: str, **kwargs: Any) -> Sourced:
        table, path = pick(key)
        return reader.sourced(table, key, path, unit, **kwargs)

    targets = ConductTargets(
        priming_volume_ml=rng("priming_volume_ml", "mL"),
        priming_haematocrit=rng("priming_haematocrit", "", maximum=1.0),
        flow_max_ml_per_l_per_min=one("flow_max_ml_per_l_per_min", "mL/L/min"),
        flow_warning_below_ml_per_l_per_min=one("flow_warning_below_ml_per_l_per_min", "mL/L/min"),
        tissue_temp_target_c=rng("tissue_temp_target_c", "°C", minimum=30.0, maximum=44.0),
        tissue_temp_warning_c=one("tissue_temp_warning_c", "°C", minimum=30.0, maximum=44.0),
        tnf_start_min=one("tnf_start_min", "min", positive=False, minimum=0.0),
        melphalan_start_min=one("melphalan_start_min", "min", positive=False, minimum=0.0),
        end_min=one("end_min", "min"),
    )
    where = overrides_path if overrides else defaults_path
    if targets.flow_warning_below_ml_per_l_per_min.value >= targets.flow_max_ml_per_l_per_min.value:
        reader.problem(
            where,
            "flow_warning_below_ml_per_l_per_min "
            f"({targets.flow_warning_below_ml_per_l_per_min.describe()}) must be below "
            f"flow_max_ml_per_l_per_min ({targets.flow_max_ml_per_l_per_min.describe()})",
        )
    if not _increasing(
        targets.tnf_start_min.value, targets.melphalan_start_min.value, targets.end_min.value
    ):
        reader.problem(
            where,
            "the timeline must run tnf_start_min < melphalan_start_min < end_min, found "
            f"{targets.tnf_start_min.value:g}, {targets.melphalan_start_min.value:g}, "
            f"{targets.end_min.value:g} min",
        )
    return targets


def _increasing(*values: float) -> bool:
    if any(math.isnan(v) for v in values):
        return True  # already reported as missing or wrong
    return all(a < b for a, b in itertools.pairwise(values))


@dataclass(frozen=True, slots=True)
class CircuitPlan:
    """Circuit settings for one limb volume.

    Attributes
    ----------
    limb_volume_l : float
        Perfused limb volume in litres.
    priming_volume_ml : SourcedRange
        Priming volume in mL.
    priming_haematocrit : SourcedRange
        Haematocrit of the priming solution.
    flow_max_ml_per_min : float
        ``flow_max_ml_per_l_per_min * limb_volume_l``.
    flow_warning_below_ml_per_min : float
        ``flow_warning_below_ml_per_l_per_min * limb_volume_l``.
    flow_max_ml_per_l_per_min, flow_warning_below_ml_per_l_per_min : Sourced
        The per-litre values with their sources.
    """

    limb_volume_l: float
    priming_volume_ml: SourcedRange
    priming_haematocrit: SourcedRange
    flow_max_ml_per_min: float
    flow_warning_below_ml_per_min: float
    flow_max_ml_per_l_per_min: Sourced
    flow_warning_below_ml_per_l_per_min: Sourced

    def to_dict(self) -> dict[str, object]:
        """JSON-serialisable form."""
        return {
            "priming_volume_ml": self.priming_volume_ml.to_dict(),
            "priming_haematocrit": self.priming_haematocrit.to_dict(),
            "flow_max_ml_per_min": self.flow_max_ml_per_min,
            "flow_warning_below_ml_per_min": self.flow_warning_below_ml_per_min,
            "flow_max_ml_per_l_per_min": self.flow_max_ml_per_l_per_min.to_dict(),
            "flow_warning_below_ml_per_l_per_min": (
                self.flow_warning_below_ml_per_l_per_min.to_dict()
            ),
        }


def plan_circuit(limb_volume_l: float, targets: ConductTargets) -> CircuitPlan:
    """Circuit settings for a limb volume.

    Parameters
    ----------
    limb_volume_l : float
        Perfused limb volume in litres (already checked, e.g. by
        :func:`ilpkit.planning.limb_volume.limb_volume_from_circumferences`).
    targets : ConductTargets
        The protocol's conduct targets.

    Returns
    -------
    CircuitPlan
        Maximum flow ``40 mL/L/min * V`` (SmPC) and warning flow ``30 mL/L/min * V``.

    Examples
    --------
    For an 8 L leg with the shipped targets: maximum 40 * 8 = 320 mL/min, warning below
    30 * 8 = 240 mL/min.
    """
    return CircuitPlan(
        limb_volume_l=limb_volume_l,
        priming_volume_ml=targets.priming_volume_ml,
        priming_haematocrit=targets.priming_haematocrit,
        flow_max_ml_per_min=targets.flow_max_ml_per_l_per_min.value * limb_volume_l,
        flow_warning_below_ml_per_min=(
            targets.flow_warning_below_ml_per_l_per_min.value * limb_volume_l
        ),
        flow_max_ml_per_l_per_min=targets.flow_max_ml_per_l_per_min,
        flow_warning_below_ml_per_l_per_min=targets.flow_warning_below_ml_per_l_per_min,
    )


@dataclass(frozen=True, slots=True)
class ConductAlert:
    """A finding on one intra-operative reading (flow or tissue temperature).

    Attributes
    ----------
    item : str
        ``"flow"`` or ``"tissue_temperature"``.
    severity : str
        ``"danger"`` (outside the label), ``"warning"`` or ``"notice"`` (outside the target only).
    message : str
        What was found and why it matters.
    source : str
        Source of the limit.
    """

    item: str
    severity: AlertSeverity
    message: str
    source: str

    def to_dict(self) -> dict[str, object]:
        """JSON-serialisable form."""
        return {
            "item": self.item,
            "severity": self.severity,
            "message": self.message,
            "source": self.source,
        }


def check_flow(
    flow_ml_per_min: float, limb_volume_l: float, targets: ConductTargets
) -> ConductAlert | None:
    """Check a circuit flow reading against the protocol's flow limits.

    Parameters
    ----------
    flow_ml_per_min : float
        Measured circuit flow in mL/min.
    limb_volume_l : float
        Perfused limb volume in litres (more than 0).
    targets : ConductTargets

    Returns
    -------
    ConductAlert or None
        ``danger`` above ``flow_max_ml_per_l_per_min * V``; ``warning`` below
        ``flow_warning_below_ml_per_l_per_min * V``; None in between.

    Raises
    ------
    PlanningError
        A negative or non-finite flow, or a non-positive limb volume.
    """
    if not math.isfinite(flow_ml_per_min) or flow_ml_per_min < 0:
        raise PlanningError(
            f"flow = {show_number(flow_ml_per_min, 'mL/min')}: must be a number of at least "
            "0 mL/min"
        )
    if not math.isfinite(limb_volume_l) or limb_volume_l <= 0:
        raise PlanningError(
            f"limb volume = {show_number(limb_volume_l, 'L')}: must be more than 0 L"
        )
    per_l = flow_ml_per_min / limb_volume_l
    high = targets.flow_max_ml_per_l_per_min
    low = targets.flow_warning_below_ml_per_l_per_min
    if per_l > high.value:
        return ConductAlert(
            "flow",
            "danger",
            f"flow {flow_ml_per_min:g} mL/min is {per_l:.1f} mL/L/min for a {limb_volume_l:g} L "
            f"limb: above the maximum {high.describe()} ({high.value * limb_volume_l:.0f} mL/min)",
            high.source,
        )
    if per_l < low.value:
        return ConductAlert(
            "flow",
            "warning",
            f"flow {flow_ml_per_min:g} mL/min is {per_l:.1f} mL/L/min for a {limb_volume_l:g} L "
            f"limb: below {low.describe()} ({low.value * limb_volume_l:.0f} mL/min), the limb "
            "risks hypoxia",
            low.source,
        )
    return None


def check_tissue_temperature(
    temp_c: float, minute: float, targets: ConductTargets
) -> ConductAlert | None:
    """Check a tissue temperature reading.

    Parameters
    ----------
    temp_c : float
        Tissue temperature in degrees Celsius.
    minute : float
        Minutes since TNF went into the circuit (the timeline's time zero).
    targets : ConductTargets

    Returns
    -------
    ConductAlert or None
        ``warning`` at or above ``tissue_temp_warning_c`` while melphalan circulates
        (``melphalan_start_min <= minute <= end_min``); ``notice`` outside the target range;
        None otherwise.
    """
    if not math.isfinite(temp_c):
        raise PlanningError(f"tissue temperature = {temp_c}: not a finite number (°C)")
    warn = targets.tissue_temp_warning_c
    target = targets.tissue_temp_target_c
    in_melphalan = targets.melphalan_start_min.value <= minute <= targets.end_min.value
    if in_melphalan and temp_c >= warn.value:
        return ConductAlert(
            "tissue_temperature",
            "warning",
            f"tissue {temp_c:g} °C at minute {minute:g} while melphalan circulates: at or above "
            f"{warn.describe()}, linked to more limb toxicity",
            warn.source,
        )
    if not target.contains(temp_c):
        return ConductAlert(
            "tissue_temperature",
            "notice",
            f"tissue {temp_c:g} °C is outside the target {target.describe()}",
            target.source,
        )
    return None


@dataclass(frozen=True, slots=True)
class TimelineStep:
    """One step of the perfusion timeline.

    Attributes
    ----------
    minute : float
        Minutes from the start of drug circulation.
    event : str
        What happens.
    source : str
        Source of the timing.
    """

    minute: float
    event: str
    source: str

    def to_dict(self) -> dict[str, object]:
        """JSON-serialisable form."""
        return {"minute": self.minute, "event": self.event, "source": self.source}


def build_timeline(
    targets: ConductTargets, tnf_mg: float, melphalan_mg: float
) -> tuple[TimelineStep, ...]:
    """The perfusion timeline with the planned doses.

    Returns
    -------
    tuple of TimelineStep
        TNF into the circuit at ``tnf_start_min``, melphalan at ``melphalan_start_min``, end of
        drug circulation and washout at ``end_min``.
    """
    temp = targets.tissue_temp_target_c
    return (
        TimelineStep(
            targets.tnf_start_min.value,
            f"TNF-alpha {tnf_mg:g} mg into the arterial line once leakage is stable; keep tissue "
            f"temperature {temp.describe()}",
            targets.tnf_start_min.source,
        ),
        TimelineStep(
            targets.melphalan_start_min.value,
            f"melphalan {melphalan_mg:.1f} mg into the circuit",
            targets.melphalan_start_min.source,
        ),
        TimelineStep(
            targets.end_min.value,
            "end of drug circulation: washout of the limb, then restore the circulation",
            targets.end_min.source,
        ),
    )
