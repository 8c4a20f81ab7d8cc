"""Pre-operative eligibility: laboratory limits and yes/no contraindications from the SmPC.

The rules are read from the protocol file (``[eligibility.labs.*]`` and
``[eligibility.conditions.*]``), each with its source. A laboratory rule blocks (or warns) when the
value is below ``*_below`` or above ``*_above`` (strict comparisons, as the SmPC words them:
"leukocytes < 2.5 x 10^9/L" blocks 2.4, not 2.5). A yes/no item blocks (or warns) when the answer
is yes. Items that were not given are listed in one warning, so nobody mistakes "not checked" for
"fine".

Every laboratory value must also lie in the lab's ``plausible`` range (with its source). A value
outside it is refused, not assessed: it is almost always a value in another unit (creatinine in
mg/dL typed into the µmol/L field). The refusal names the likely mix-up with the conversion factors
of the lab's ``unit_mix_ups`` entries ("2.5 µmol/L is not a plausible creatinine; in mg/dL that is
221 µmol/L").

Examples
--------
With the shipped rules, ``{"leukocytes_e9_per_l": 2.0}`` gives one blocking finding
("Leukocytes 2 x10^9/L is below 2.5") and a warning listing the items not given.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ilpkit.planning.errors import EligibilityInputError
from ilpkit.planning.sourced import Sourced, SourcedRange, TomlReader

_LAB_KEYS = (
    "name",
    "unit",
    "blocking_below",
    "blocking_above",
    "warning_below",
    "warning_above",
    "either_of",
    "plausible",
    "unit_mix_ups",
    "hint",
)
_MIX_UP_KEYS = ("unit", "factor", "source")
_CONDITION_KEYS = ("name", "severity", "source")
_YES = frozenset({"yes", "y", "true", "1"})
_NO = frozenset({"no", "n", "false", "0"})
NOT_GIVEN_SOURCE = "SmPC, section 4.3 (contraindications must be checked before the perfusion)"

LabValue = float | bool
"""A laboratory value (float) or a yes/no answer (bool, True = the contraindication is present)."""


class FindingSeverity(StrEnum):
    """How serious an eligibility finding is."""

    BLOCKING = "blocking"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class UnitMixUp:
    """Another unit a laboratory value is often reported in, with its conversion factor.

    Attributes
    ----------
    unit : str
        The other unit, e.g. ``"mg/dL"`` for creatinine.
    factor : float
        Multiply a value in ``unit`` by this to get the lab's own unit (creatinine: 88.4).
    source : str
        Where the factor comes from.
    """

    unit: str
    factor: float
    source: str


@dataclass(frozen=True, slots=True)
class LabRule:
    """A laboratory limit.

    Attributes
    ----------
    key : str
        Input key with its unit, e.g. ``creatinine_umol_per_l``.
    name : str
        Display name.
    unit : str
        Display unit.
    blocking_below, blocking_above, warning_below, warning_above : Sourced or None
        Thresholds (strict comparisons) with their sources.
    either_of : tuple of str
        Other keys that can stand in for this one (e.g. creatinine clearance for creatinine): when
        one of them is given, this item is not reported as missing.
    plausible : SourcedRange or None
        Physiologically plausible values (closed range) with the source; a value outside is
        refused as a likely unit mix-up.
    mix_ups : tuple of UnitMixUp
        Units the value is often given in by mistake, for the refusal message.
    hint : str
        How to enter the value (e.g. for multiples of the upper limit of normal); may be empty.
    """

    key: str
    name: str
    unit: str
    blocking_below: Sourced | None = None
    blocking_above: Sourced | None = None
    warning_below: Sourced | None = None
    warning_above: Sourced | None = None
    either_of: tuple[str, ...] = ()
    plausible: SourcedRange | None = None
    mix_ups: tuple[UnitMixUp, ...] = ()
    hint: str = ""

    def implausible(self, value: float) -> str | None:
        """Why ``value`` cannot be a value of this lab in its unit, or None when it can.

        Parameters
        ----------
        value : float
            The value as given, in :attr:`unit`.

        Returns
        -------
        str or None
            E.g. ``"creatinine_umol_per_l = 2.5: 2.5 µmol/L is not a plausible creatinine value;
            in mg/dL that is 221 µmol/L (2.5 x 88.4: ...) ..."``; None inside the plausible range
            (or when the rule has none).

        Examples
        --------
        Creatinine entered in mg/dL: 2.5 x 88.4 = 221 µmol/L, which is plausible, so the message
        names mg/dL.
        """
        rng = self.plausible
        if rng is None or rng.contains(value):
            return None
        what = _lower_first(self.name)
        parts = [f"{self.key} = {value:g}: {value:g} {self.unit} is not a plausible {what} value"]
        for mix in self.mix_ups:
            converted = value * mix.factor
            if rng.contains(converted):
                parts.append(
                    f"in {mix.unit} that is {_three_digits(converted)} {self.unit} "
                    f"({value:g} x {mix.factor:g}: {mix.source})"
                )
        message = "; ".join(parts)
        message += f". Plausible: {rng.describe()} ({rng.source}). Give the value in {self.unit}"
        if self.hint:
            message += f", {self.hint}"
        return message


@dataclass(frozen=True, slots=True)
class ConditionRule:
    """A yes/no contraindication (yes = present)."""

    key: str
    name: str
    severity: FindingSeverity
    source: str


@dataclass(frozen=True, slots=True)
class EligibilityRules:
    """All laboratory and yes/no rules of a protocol file."""

    labs: tuple[LabRule, ...]
    conditions: tuple[ConditionRule, ...]

    @property
    def keys(self) -> tuple[str, ...]:
        """Every input key, laboratory values first."""
        return tuple(r.key for r in self.labs) + tuple(c.key for c in self.conditions)

    def is_condition(self, key: str) -> bool:
        """True when ``key`` is a yes/no item."""
        return any(c.key == key for c in self.conditions)


@dataclass(frozen=True, slots=True)
class Finding:
    """One eligibility finding (a reason not to perfuse, or to check first).

    Attributes
    ----------
    item : str
        Input key (``"not_given"`` for the list of unchecked items).
    name : str
        Display name.
    severity : FindingSeverity
    message : str
        The value, the limit and the consequence.
    source : str
        Source of the limit.
    value : float, bool or None
        The value given.
    """

    item: str
    name: str
    severity: FindingSeverity
    message: str
    source: str
    value: LabValue | None = None

    def to_dict(self) -> dict[str, object]:
        """JSON-serialisable form."""
        return {
            "item": self.item,
            "name": self.name,
            "severity": self.severity.value,
            "message": self.message,
            "source": self.source,
            "value": self.value,
        }


@dataclass(frozen=True, slots=True)
class Check:
    """The outcome of one rule: ``ok``, ``blocking``, ``warning`` or ``not_given``."""

    item: str
    name: str
    status: str
    value: LabValue | None

    def to_dict(self) -> dict[str, object]:
        """JSON-serialisable form."""
        return {"item": self.item, "name": self.name, "status": self.status, "value": self.value}


@dataclass(frozen=True, slots=True)
class EligibilityResult:
    """Findings of the pre-operative check.

    Attributes
    ----------
    findings : tuple of Finding
        Blocking findings first, then warnings.
    checks : tuple of Check
        Every rule with its status.
    """

    findings: tuple[Finding, ...]
    checks: tuple[Check, ...]

    @property
    def eligible(self) -> bool:
        """False when any finding blocks the perfusion."""
        return not any(f.severity is FindingSeverity.BLOCKING for f in self.findings)

    @property
    def blocking(self) -> tuple[Finding, ...]:
        """The blocking findings."""
        return tuple(f for f in self.findings if f.severity is FindingSeverity.BLOCKING)

    def to_dict(self) -> dict[str, object]:
        """JSON-serialisable form."""
        return {
            "eligible": self.eligible,
            "findings": [f.to_dict() for f in self.findings],
            "checks": [c.to_dict() for c in self.checks],
        }


def read_eligibility(reader: TomlReader, table: Mapping[str, Any], path: str) -> EligibilityRules:
    """Read ``[eligibility]`` from the parsed protocol file, recording problems on ``reader``."""
    reader.only_keys(table, ("labs", "conditions"), path)
    labs_path, cond_path = f"{path}.labs", f"{path}.conditions"
    labs: list[LabRule] = []
    for key, entry in reader.table(table, "labs", path).items():
        where = f"{labs_path}.{key}"
        if not isinstance(entry, Mapping):
            reader.problem(where, "must be a table")
            continue
        reader.only_keys(entry, _LAB_KEYS, where)
        unit = reader.text(entry, "unit", where)
        thresholds = {
            name: reader.sourced(entry, name, where, unit, positive=False, minimum=0.0)
            if name in entry
            else None
            for name in ("blocking_below", "blocking_above", "warning_below", "warning_above")
        }
        if not any(thresholds.values()):
            reader.problem(
                where,
                "needs at least one of blocking_below, blocking_above, "
                "warning_below, warning_above",
            )
        either = entry.get("either_of", [])
        if not isinstance(either, list) or not all(isinstance(x, str) for x in either):
            reader.problem(f"{where}.either_of", 'must be a list of keys, e.g. ["other_key"]')
            either = []
        plausible = reader.sourced_range(entry, "plausible", where, unit)
        for name, threshold in thresholds.items():
            if (
                threshold is not None
                and not math.isnan(plausible.low)
                and not plausible.low <= threshold.value <= plausible.high
            ):
                reader.problem(
                    f"{where}.{name}",
                    f"{threshold.describe()} lies outside the plausible range "
                    f"{plausible.describe()}",
                )
        labs.append(
            LabRule(
                key=key,
                name=reader.text(entry, "name", where),
                unit=unit,
                either_of=tuple(either),
                plausible=plausible,
                mix_ups=_read_mix_ups(reader, entry, where, unit),
                hint=reader.text(entry, "hint", where, required=False),
                **thresholds,
            )
        )
    conditions: list[ConditionRule] = []
    for key, entry in reader.table(table, "conditions", path).items():
        where = f"{cond_path}.{key}"
        if not isinstance(entry, Mapping):
            reader.problem(where, "must be a table")
            continue
        reader.only_keys(entry, _CONDITION_KEYS, where)
        severity_text = reader.text(entry, "severity", where)
        try:
            severity = FindingSeverity(severity_text)
        except ValueError:
            if severity_text:
                reader.problem(
                    f"{where}.severity", f"'{severity_text}' must be 'blocking' or 'warning'"
                )
            severity = FindingSeverity.BLOCKING
        conditions.append(
            ConditionRule(
                key=key,
                name=reader.text(entry, "name", where),
                severity=severity,
                source=reader.text(entry, "source", where),
            )
        )
    keys = [r.key for r in labs] + [c.key for c in conditions]
    for rule in labs:
        for other in rule.either_of:
            if other not in keys:
                reader.problem(f"{labs_path}.{rule.key}.either_of", f"unknown key '{other}'")
    for dup in sorted({k for k in keys if keys.count(k) > 1}):
        reader.problem(path, f"'{dup}' is both a laboratory value and a yes/no item")
    return EligibilityRules(labs=tuple(labs), conditions=tuple(conditions))


def _read_mix_ups(
    reader: TomlReader, entry: Mapping[str, Any], where: str, unit: str
) -> tuple[UnitMixUp, ...]:
    """Read ``unit_mix_ups = [{ unit = "mg/dL", factor = 88.4, source = "..." }, ...]``."""
    items = entry.get("unit_mix_ups", [])
    path = f"{where}.unit_mix_ups"
    example = '[{ unit = "mg/dL", factor = 88.4, source = "..." }]'
    if not isinstance(items, list):
        reader.problem(path, f"must be a list of tables, e.g. {example}")
        return ()
    mix_ups = []
    for i, item in enumerate(items, start=1):
        at = f"{path}[{i}]"
        if not isinstance(item, Mapping):
            reader.problem(at, f"must be a table, e.g. {example}")
            continue
        reader.only_keys(item, _MIX_UP_KEYS, at)
        other = reader.text(item, "unit", at)
        factor = reader.number(item, "factor", at, f"{unit} per {other}")
        source = reader.text(item, "source", at)
        mix_ups.append(UnitMixUp(other, factor, source))
    return tuple(mix_ups)


def parse_eligibility_entries(
    entries: Sequence[str], rules: EligibilityRules
) -> dict[str, LabValue]:
    """Parse ``KEY=VALUE`` entries (several may be joined by commas) into checked input values.

    Parameters
    ----------
    entries : sequence of str
        E.g. ``["leukocytes_e9_per_l=6.1,haemoglobin_g_per_dl=12.4", "severe_ascites=no"]``.
        Yes/no items take ``yes``/``no`` (also ``true``/``false``, ``y``/``n``, ``1``/``0``).
    rules : EligibilityRules

    Returns
    -------
    dict
        Key to float (laboratory value) or bool (yes/no item, True = present).

    Raises
    ------
    EligibilityInputError
        An entry without ``=``, an unknown key, a key given twice, or a value that is not a number
        (or not yes/no).
    """
    values: dict[str, LabValue] = {}
    for entry in entries:
        for part in entry.split(","):
            text = part.strip()
            if not text:
                continue
            key, sep, raw = text.partition("=")
            key, raw = key.strip().lower(), raw.strip()
            if not sep or not key or not raw:
                raise EligibilityInputError(
                    f"'{text}': write each value as KEY=VALUE, e.g. leukocytes_e9_per_l=6.1 or "
                    "severe_ascites=no"
                )
            _check_key(key, rules)
            if key in values:
                raise EligibilityInputError(f"'{key}' is given twice; give each value once")
            if rules.is_condition(key):
                answer = raw.lower()
                if answer not in _YES | _NO:
                    raise EligibilityInputError(
                        f"{key} = '{raw}': answer yes or no (yes = the contraindication is present)"
                    )
                values[key] = answer in _YES
            else:
                try:
                    values[key] = float(raw)
                except ValueError:
                    raise EligibilityInputError(
                        f"{key} = '{raw}': not a number (use a dot for decimals, e.g. 9.5)"
                    ) from None
    return values


def assess_eligibility(
    values: Mapping[str, LabValue], rules: EligibilityRules
) -> EligibilityResult:
    """Check pre-operative values against the SmPC contraindications.

    Parameters
    ----------
    values : mapping of str to float or bool
        Laboratory values (keys carry the unit, e.g. ``platelets_e9_per_l``; liver values as
        multiples of the upper limit of normal, e.g. ``ast_x_uln``) and yes/no items
        (True = present).
    rules : EligibilityRules

    Returns
    -------
    EligibilityResult
        One finding per value outside its limit; one warning listing the items not given.

    Raises
    ------
    EligibilityInputError
        An unknown key, a laboratory value that is not a finite number of at least 0, a yes/no
        item that is not a bool, or laboratory values outside their plausible ranges (all of them
        in one message, each naming the likely unit mix-up).
    """
    for key, value in values.items():
        _check_key(key, rules)
        if rules.is_condition(key):
            if not isinstance(value, bool):
                raise EligibilityInputError(f"{key} = {value!r}: answer yes or no")
        elif isinstance(value, bool) or not isinstance(value, int | float):
            raise EligibilityInputError(f"{key} = {value!r}: not a number")
        elif not math.isfinite(value) or value < 0:
            raise EligibilityInputError(
                f"{key} = {value:g}: a laboratory value must be a finite number of at least 0"
            )
    implausible = [
        reason
        for lab in rules.labs
        if lab.key in values and (reason := lab.implausible(float(values[lab.key]))) is not None
    ]
    if len(implausible) == 1:
        raise EligibilityInputError(implausible[0])
    if implausible:
        raise EligibilityInputError(
            f"{len(implausible)} laboratory values are not plausible:\n"
            + "\n".join(f"  - {reason}" for reason in implausible)
        )
    findings: list[Finding] = []
    checks: list[Check] = []
    missing: list[str] = []
    for lab in rules.labs:
        given = values.get(lab.key)
        if given is None:
            if not any(other in values for other in lab.either_of):
                group = _alternatives_name(lab, rules)
                if group not in missing:
                    missing.append(group)
            checks.append(Check(lab.key, lab.name, "not_given", None))
            continue
        finding = _lab_finding(lab, float(given))
        if finding is not None:
            findings.append(finding)
        checks.append(Check(lab.key, lab.name, finding.severity.value if finding else "ok", given))
    for cond in rules.conditions:
        answer = values.get(cond.key)
        if answer is None:
            missing.append(cond.name)
            checks.append(Check(cond.key, cond.name, "not_given", None))
            continue
        if answer:
            findings.append(
                Finding(
                    cond.key,
                    cond.name,
                    cond.severity,
                    f"{cond.name}: contraindication present",
                    cond.source,
                    True,
                )
            )
        checks.append(Check(cond.key, cond.name, cond.severity.value if answer else "ok", answer))
    if missing:
        findings.append(
            Finding(
                "not_given",
                "Not checked",
                FindingSeverity.WARNING,
                f"{len(missing)} item(s) not given, check before the perfusion: "
                + ", ".join(missing),
                NOT_GIVEN_SOURCE,
            )
        )
    findings.sort(key=lambda f: f.severity is not FindingSeverity.BLOCKING)
    return EligibilityResult(findings=tuple(findings), checks=tuple(checks))


def _alternatives_name(lab: LabRule, rules: EligibilityRules) -> str:
    """``"Creatinine or Creatinine clearance"``: the names of a lab and its stand-ins, once each."""
    members = {lab.key, *lab.either_of}
    names: list[str] = []
    for rule in rules.labs:  # file order, so the group reads the same from each member
        if rule.key in members and rule.name not in names:
            names.append(rule.name)
    return " or ".join(names)


def _lab_finding(lab: LabRule, value: float) -> Finding | None:
    shown = f"{lab.name} {value:g} {lab.unit}"
    for severity, below, above in (
        (FindingSeverity.BLOCKING, lab.blocking_below, lab.blocking_above),
        (FindingSeverity.WARNING, lab.warning_below, lab.warning_above),
    ):
        what = "contraindication" if severity is FindingSeverity.BLOCKING else "check"
        if below is not None and value < below.value:
            return Finding(
                lab.key,
                lab.name,
                severity,
                f"{shown} is below {below.value:g} {lab.unit} ({what})",
                below.source,
                value,
            )
        if above is not None and value > above.value:
            return Finding(
                lab.key,
                lab.name,
                severity,
                f"{shown} is above {above.value:g} {lab.unit} ({what})",
                above.source,
                value,
            )
    return None


def _lower_first(name: str) -> str:
    """``"Creatinine"`` -> ``"creatinine"``; abbreviations (``"AST"``) stay as they are."""
    return name if name[:2].isupper() else name[:1].lower() + name[1:]


def _three_digits(value: float) -> str:
    """Three significant digits without exponent: 221, 12, 6.1, 1060."""
    return f"{float(f'{value:.3g}'):g}" if abs(value) < 1e6 else f"{value:.3g}"


def _check_key(key: str, rules: EligibilityRules) -> None:
    if key not in rules.keys:
        known = ", ".join(rules.keys)
        raise EligibilityInputError(
            f"'{key}' is not a known eligibility item; known items: {known}"
        )
