"""The cross-field rules of one registry row (other than the order of its dates), as a table.

One table, read by the row-by-row validation of an import
(:func:`ilpkit.domain.validation.parse_record`) and by the vectorised check of a whole synthetic
cohort (:func:`ilpkit.synthetic.cohort.registry_rule_violations`), so the two cannot drift
apart. The order of the dates is the sibling table :data:`ilpkit.domain.date_rules.DATE_RULES`.

A rule's :attr:`RecordRule.holds` uses only comparisons, arithmetic and ``&`` / ``|``, so it
gives a bool for the values of one row and a boolean array for column arrays alike. It is checked
only where every column of :attr:`RecordRule.needs` is recorded (and, for a rule with
:attr:`RecordRule.unless`, where that column is empty).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ilpkit.domain import limits
from ilpkit.domain.errors import Severity
from ilpkit.domain.limits import Range
from ilpkit.domain.perfusion import LEVELS_BY_LIMB
from ilpkit.domain.plausibility import limb_volume_warning

Values = Mapping[str, Any]


@dataclass(frozen=True)
class RecordRule:
    """A rule across the columns of one registry row.

    Attributes
    ----------
    field : str
        The column a broken rule is reported on.
    needs : tuple of str
        Columns that must be recorded for the rule to apply.
    holds : callable
        ``holds(values)``: whether the rule holds, given the ``needs`` columns by name (one row's
        values, or column arrays: then a boolean array).
    message : callable
        ``message(values)``: what a data manager reads, given one row's values.
    name : str
        Short name of the rule in the report of the vectorised check.
    source : str
        Where the rule or its numbers come from.
    severity : Severity
        An error blocks the row; a warning is shown and the row kept. The vectorised check of a
        synthetic cohort refuses both (a synthetic registry imports without a warning).
    unless : str or None
        The rule applies only where this column is empty (e.g. a margin without a resection
        date); the rule is then broken wherever it applies (``holds`` is not called).
    refused_in_synthetic : bool
        Whether the vectorised check of a synthetic cohort refuses a cohort breaking it. False
        only for the limb volume by perfusion level: the generator draws volumes by limb, and a
        cohort drawn from far-off parameters (during calibration) can hold an implausible one,
        which imports with a warning.
    """

    field: str
    needs: tuple[str, ...]
    holds: Callable[[Values], Any]
    message: Callable[[Values], str]
    name: str
    source: str
    severity: Severity = Severity.ERROR
    unless: str | None = None
    refused_in_synthetic: bool = True


def within(rng: Range, value: Any) -> Any:
    """Whether ``value`` lies inside ``rng`` (a bool, or a boolean array for an array)."""
    ok: Any = True
    if rng.low is not None:
        ok = ok & ((value >= rng.low) if rng.low_inclusive else (value > rng.low))
    if rng.high is not None:
        ok = ok & ((value <= rng.high) if rng.high_inclusive else (value < rng.high))
    return ok


def _melphalan_per_l(v: Values) -> Any:
    return v["melphalan_mg"] / v["limb_volume_l"]


def _level_rule() -> RecordRule:
    def holds(v: Values) -> Any:
        ok: Any = False
        for limb, levels in LEVELS_BY_LIMB.items():
            for level in levels:
                ok = ok | ((v["limb"] == limb.value) & (v["perfusion_level"] == level.value))
        return ok

    def message(v: Values) -> str:
        allowed = [lv.value for limb, levels in LEVELS_BY_LIMB.items() if limb == v["limb"]
                   for lv in levels]  # fmt: skip
        return f"is not a level for the {v['limb']}: use {' or '.join(allowed)}"

    return RecordRule(
        "perfusion_level",
        ("limb", "perfusion_level"),
        holds,
        message,
        "perfusion_level does not belong to the limb",
        "SmPC, section 4.2; anatomy",
    )


def _volume_by_level_rule(limb: str, level: str, rng: Range) -> RecordRule:
    return RecordRule(
        "limb_volume_l",
        ("limb_volume_l", "limb", "perfusion_level"),
        lambda v: (
            (v["perfusion_level"] != level) | (v["limb"] != limb) | within(rng, v["limb_volume_l"])
        ),
        lambda v: limb_volume_warning(limb, level, v["limb_volume_l"]) or "",
        f"limb_volume_l implausible for the {limb} at {level} level",
        rng.source,
        Severity.WARNING,
        refused_in_synthetic=False,
    )


def _melphalan_label_rule(limb: str, label: float) -> RecordRule:
    ceiling = label * (1 + limits.MELPHALAN_LABEL_TOLERANCE)
    return RecordRule(
        "melphalan_mg",
        ("melphalan_mg", "limb_volume_l", "limb"),
        lambda v: (v["limb"] != limb) | (_melphalan_per_l(v) <= ceiling),
        lambda v: (
            f"gives {_melphalan_per_l(v):.1f} mg/L, above the label dose of {label:g} mg/L for "
            f"the {limb} (SmPC)"
        ),
        f"melphalan above the label dose for the {limb}",
        "SmPC; Wieberdink 1982; tolerance: inference (Farina 2024)",
        Severity.WARNING,
    )


def _tnf_label_rule(limb: str, label: float) -> RecordRule:
    return RecordRule(
        "tnf_mg",
        ("tnf_mg", "limb"),
        lambda v: (v["limb"] != limb) | (v["tnf_mg"] <= label),
        lambda v: f"is above the label dose of {label:g} mg for the {limb} (SmPC)",
        f"TNF above the label dose for the {limb}",
        limits.SMPC,
        Severity.WARNING,
    )


_PER_L = limits.MELPHALAN_MG_PER_L

RECORD_RULES: tuple[RecordRule, ...] = (
    _level_rule(),
    *(
        _volume_by_level_rule(limb.value, level.value, limits.LIMB_VOLUME_L_BY_LEVEL[level.value])
        for limb, levels in LEVELS_BY_LIMB.items()
        for level in levels
    ),
    RecordRule(
        "melphalan_mg",
        ("melphalan_mg", "limb_volume_l"),
        lambda v: within(_PER_L, _melphalan_per_l(v)),
        lambda v: (
            f"gives {_melphalan_per_l(v):.1f} mg per litre of limb volume "
            f"({v['limb_volume_l']:g} L); expected {_PER_L.describe()}: {_PER_L.reason}"
        ),
        "melphalan per litre out of range",
        _PER_L.source,
    ),
    *(
        _melphalan_label_rule(limb, label)
        for limb, label in limits.MELPHALAN_LABEL_MG_PER_L_BY_LIMB.items()
    ),
    *(_tnf_label_rule(limb, label) for limb, label in limits.TNF_LABEL_MG_BY_LIMB.items()),
    RecordRule(
        "resection_margin",
        ("resection_margin",),
        lambda v: False,
        lambda v: "a resection margin needs a resection date",
        "resection margin without resection date",
        "registry definition: a margin is the pathology of a resection",
        unless="resection_date",
    ),
    RecordRule(
        "pathological_necrosis_pct",
        ("pathological_necrosis_pct",),
        lambda v: False,
        lambda v: (
            "a pathological necrosis needs a resection date (it is the pathology of the "
            "resected specimen)"
        ),
        "pathological necrosis without resection date",
        "registry definition: necrosis is measured in the resected specimen (Deroose 2010)",
        unless="resection_date",
    ),
    RecordRule(
        "amputation_reason",
        ("amputation_reason",),
        lambda v: False,
        lambda v: "an amputation reason needs an amputation date",
        "amputation reason without amputation date",
        "registry definition: the reason of an amputation that took place",
        unless="amputation_date",
    ),
    RecordRule(
        "cause_of_death",
        ("cause_of_death",),
        lambda v: False,
        lambda v: "a cause of death needs a date of death",
        "cause of death without date of death",
        "registry definition: the cause of a recorded death",
        unless="death_date",
    ),
    RecordRule(
        "birth_date",
        ("birth_date",),
        lambda v: v["birth_date"] >= limits.EARLIEST_BIRTH_DATE,
        lambda v: f"is before {limits.EARLIEST_BIRTH_DATE.isoformat()}; check the year",
        "birth date before the earliest allowed",
        "inference: earlier birth dates are entry errors",
    ),
)
"""Every rule, in the order problems are listed. Row by row, a column gets at most one problem
from these rules (the first it breaks): a melphalan dose out of the per-litre range is not also
reported above the label dose."""
