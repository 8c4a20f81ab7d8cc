"""A SYNTHETIC cohort held as column arrays, and the vectorised checks of the registry rules.

The cohort keeps one array per Registry CSV v1 column: patient-level columns once per patient,
perfusion-level columns once per perfusion, with :attr:`SyntheticCohort.perfusion_patient`
linking each perfusion to its patient. Typed representation of a column by field kind:

- date: ``datetime64[D]``, ``NaT`` for an empty cell;
- number, integer, and the grade: ``float64``, ``NaN`` for an empty cell;
- yes/no: ``bool``;
- identifier, code, choice: ``object`` arrays of ``str``, ``None`` for an empty cell.

:func:`registry_rule_violations` checks every rule of :mod:`ilpkit.domain.validation` on the
arrays at once (ranges and choices from the field catalogue, the cross-field and date rules of
:mod:`ilpkit.domain.record_rules` and :mod:`ilpkit.domain.date_rules`,
patient-level agreement, one perfusion per patient per date, no label-dose warnings; the limb
volume by perfusion level is only warned about on import), so that a
million-row cohort is checked in well under a second.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from ilpkit.domain.date_rules import DATE_RULES
from ilpkit.domain.errors import Severity
from ilpkit.domain.fields import FIELDS, PATIENT_COLUMNS
from ilpkit.domain.limits import Range
from ilpkit.domain.record_rules import RECORD_RULES, RecordRule
from ilpkit.domain.synthetic import SYNTHETIC_CENTER, SYNTHETIC_ID_PREFIX
from ilpkit.synthetic.parameters import CohortParameters

PERFUSION_LEVEL_COLUMNS: tuple[str, ...] = tuple(f.name for f in FIELDS if f.level == "perfusion")
"""Registry CSV v1 columns held once per perfusion."""


def patient_ids(n_patients: int) -> np.ndarray:
    """Synthetic patient ids ``SYN-000001`` ... as an object array.

    Six digits, or more for a million patients or more; every id of a cohort has the same width
    so that sorting the ids as text keeps the numeric order (as ``ilp export`` sorts them).
    """
    width = max(6, len(str(n_patients)))
    return np.array(
        [f"{SYNTHETIC_ID_PREFIX}{i:0{width}d}" for i in range(1, n_patients + 1)], dtype=object
    )


@dataclass(frozen=True)
class SyntheticCohort:
    """A SYNTHETIC registry: patients and their perfusions as column arrays.

    Attributes
    ----------
    seed : int
        Seed the cohort was drawn with.
    parameters : CohortParameters
        The model values used.
    patients : mapping of str to ndarray
        The patient-level columns (:data:`ilpkit.domain.fields.PATIENT_COLUMNS`), one entry per
        patient, ordered by patient id.
    perfusions : mapping of str to ndarray
        The perfusion-level columns, one entry per perfusion, ordered by patient and date.
    perfusion_patient : ndarray of int64
        For each perfusion, the index of its patient in the patient arrays.
    """

    seed: int
    parameters: CohortParameters
    patients: Mapping[str, np.ndarray]
    perfusions: Mapping[str, np.ndarray]
    perfusion_patient: np.ndarray
    _cache: dict[str, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    @property
    def n_patients(self) -> int:
        """Number of patients."""
        return len(self.patients["patient_id"])

    @property
    def n_perfusions(self) -> int:
        """Number of perfusions (rows of Registry CSV v1)."""
        return len(self.perfusion_patient)

    def column(self, name: str) -> np.ndarray:
        """Values of a Registry CSV v1 column, one per perfusion (patient columns repeated)."""
        if name in self.perfusions:
            return self.perfusions[name]
        if name not in self.patients:
            raise KeyError(f"{name} is not a Registry CSV v1 column")
        cached = self._cache.get(name)
        if cached is None:
            cached = self.patients[name][self.perfusion_patient]
            self._cache[name] = cached
        return cached

    def columns(self) -> dict[str, np.ndarray]:
        """Every Registry CSV v1 column, one value per perfusion, in file order."""
        return {f.name: self.column(f.name) for f in FIELDS}


class SyntheticCohortError(RuntimeError):
    """A generated cohort breaks a registry rule: a defect of the generator, never of the user."""


def _is_none(values: np.ndarray) -> np.ndarray:
    """True where an object array holds None (an empty cell)."""
    return np.equal(values, np.array(None, dtype=object))


def _range_violation(values: np.ndarray, rng: Range) -> np.ndarray:
    bad = np.zeros(values.shape, dtype=bool)
    present = ~np.isnan(values)
    if rng.low is not None:
        bad |= present & ((values < rng.low) if rng.low_inclusive else (values <= rng.low))
    if rng.high is not None:
        bad |= present & ((values > rng.high) if rng.high_inclusive else (values >= rng.high))
    return bad


def _count(message: str, bad: np.ndarray, out: list[str]) -> None:
    n = int(np.count_nonzero(bad))
    if n:
        out.append(f"{message}: {n:,} row(s)")


def _recorded(values: np.ndarray) -> np.ndarray:
    """True where a column array holds a value (not NaT, NaN or None)."""
    if values.dtype.kind == "M":
        return ~np.isnat(values)
    if values.dtype.kind == "f":
        return ~np.isnan(values)
    if values.dtype.kind == "O":
        return ~_is_none(values)
    return np.ones(values.shape, dtype=bool)


def record_rule_broken(rule: RecordRule, cols: Mapping[str, np.ndarray]) -> np.ndarray:
    """Where a rule of :data:`ilpkit.domain.record_rules.RECORD_RULES` is broken.

    Parameters
    ----------
    rule : RecordRule
    cols : mapping of str to ndarray
        Column arrays, one value per perfusion (:meth:`SyntheticCohort.columns`).

    Returns
    -------
    ndarray of bool
        True on each row breaking the rule.
    """
    applies = np.ones(len(cols[rule.field]), dtype=bool)
    for name in rule.needs:
        applies &= _recorded(cols[name])
    if rule.unless is not None:
        return applies & ~_recorded(cols[rule.unless])
    with np.errstate(divide="ignore", invalid="ignore"):
        holds = np.asarray(rule.holds({name: cols[name] for name in rule.needs}), dtype=bool)
    return applies & ~holds


def _rule_label(rule: RecordRule) -> str:
    return f"{rule.name} (warning)" if rule.severity == Severity.WARNING else rule.name


def registry_rule_violations(cohort: SyntheticCohort, today: date) -> list[str]:
    """Check every registry rule on the whole cohort at once.

    Mirrors :func:`ilpkit.domain.validation.parse_record` and
    :func:`~ilpkit.domain.validation.check_registry` and also refuses what they only warn about
    (doses above the label), so that a synthetic registry imports without a single warning.

    Parameters
    ----------
    cohort : SyntheticCohort
    today : date
        No date may lie after it.

    Returns
    -------
    list of str
        One line per broken rule with the number of rows breaking it; empty when valid.
    """
    out: list[str] = []
    cols = cohort.columns()
    n = cohort.n_perfusions
    today_d = np.datetime64(today, "D")
    for spec in FIELDS:
        values = cols[spec.name]
        if len(values) != n:
            out.append(f"{spec.name}: {len(values)} values for {n} perfusions")
            continue
        if spec.kind == "date":
            empty = np.isnat(values)
            _count(f"{spec.name} lies in the future", ~empty & (values > today_d), out)
        elif spec.kind in ("number", "integer") or spec.name == "grade":
            empty = np.isnan(values)
            if spec.range is not None:
                _count(
                    f"{spec.name} outside {spec.range.describe()}",
                    _range_violation(values, spec.range),
                    out,
                )
            if spec.kind == "integer" or spec.name == "grade":
                _count(f"{spec.name} is not whole", ~empty & (values != np.round(values)), out)
            if spec.name == "grade":  # held as numbers; the catalogue's choices are text
                allowed_grades = [float(choice) for choice in spec.choices]
                _count(
                    f"grade not {' or '.join(spec.choices)}",
                    ~empty & ~np.isin(values, allowed_grades),
                    out,
                )
        elif spec.kind == "yes/no":
            empty = np.zeros(n, dtype=bool)
        else:
            empty = _is_none(values)
            if spec.kind == "choice":
                allowed = np.array(spec.choices, dtype=object)
                _count(f"{spec.name} not an allowed value", ~empty & ~np.isin(values, allowed), out)
        if spec.required:
            _count(f"{spec.name} is required but empty", empty, out)
    pid = cohort.patients["patient_id"]
    _count(
        "patient_id not SYN-digits",
        ~np.char.startswith(pid.astype(str), SYNTHETIC_ID_PREFIX),
        out,
    )
    if len(np.unique(pid.astype(str))) != len(pid):
        out.append("duplicated patient_id")
    _count("center is not SYNTH", cohort.patients["center"] != SYNTHETIC_CENTER, out)

    for record_rule in RECORD_RULES:
        if record_rule.refused_in_synthetic:
            _count(_rule_label(record_rule), record_rule_broken(record_rule, cols), out)
    for rule in DATE_RULES:
        first, then = cols[rule.first], cols[rule.then]
        recorded = ~np.isnat(first) & ~np.isnat(then)
        _count(rule.name, recorded & ~rule.holds(first, then), out)

    order = cohort.perfusion_patient
    _count("perfusions not ordered by patient", np.diff(order) < 0, out)
    same = np.diff(order) == 0
    _count(
        "two perfusions of a patient not in date order",
        same & (np.diff(cols["ilp_date"]) <= np.timedelta64(0, "D")),
        out,
    )
    for name in PATIENT_COLUMNS:
        if len(cohort.patients[name]) != cohort.n_patients:
            out.append(f"{name}: wrong number of patient values")
    return out


def check_cohort(cohort: SyntheticCohort, today: date) -> None:
    """Raise :class:`SyntheticCohortError` when :func:`registry_rule_violations` finds anything."""
    problems = registry_rule_violations(cohort, today)
    if problems:
        raise SyntheticCohortError(
            "the synthetic cohort breaks registry rules (a defect of ilpkit): "
            + "; ".join(problems)
        )


__all__ = [
    "PERFUSION_LEVEL_COLUMNS",
    "SyntheticCohort",
    "SyntheticCohortError",
    "check_cohort",
    "patient_ids",
    "record_rule_broken",
    "registry_rule_violations",
]
