"""Validation of registry records: one set of rules for every entry path.

:func:`parse_record` reads one record (the text of one CSV row or web form) into domain objects and
checks everything that can be checked on one record; :func:`check_registry` checks what needs
several records at once (patient-level agreement, one perfusion per patient per date).
Both return :class:`~ilpkit.domain.errors.Problem` lists instead of stopping at the first problem.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from ilpkit.domain.date_rules import DATE_RULES
from ilpkit.domain.errors import Problem
from ilpkit.domain.fields import FIELDS, PATIENT_COLUMNS, CellError
from ilpkit.domain.outcome import AmputationReason, CauseOfDeath, Margin, Outcome
from ilpkit.domain.patient import Patient, Sex
from ilpkit.domain.perfusion import (
    Conduct,
    Limb,
    Perfusion,
    PerfusionLevel,
    VolumeMethod,
)
from ilpkit.domain.record_rules import RECORD_RULES
from ilpkit.domain.response import Response
from ilpkit.domain.toxicity import ClavienDindo
from ilpkit.domain.tumour import Histology, Presentation, Tumour


@dataclass(frozen=True, slots=True)
class RegistryRecord:
    """One perfusion with its patient, as read from one row (``line`` None when not from a file)."""

    patient: Patient
    perfusion: Perfusion
    line: int | None = None

    @property
    def key(self) -> tuple[str, date]:
        """Natural key of the perfusion: (patient_id, ilp_date)."""
        return (self.perfusion.patient_id, self.perfusion.ilp_date)


def parse_record(
    raw: Mapping[str, str], today: date, line: int | None = None
) -> tuple[RegistryRecord | None, list[Problem]]:
    """Read and check one registry record.

    Parameters
    ----------
    raw : mapping of str to str
        Cell text by column name; missing optional columns count as empty.
    today : date
        The current date (no date may lie after it); passed in so the rules stay pure.
    line : int, optional
        Line number in the source file, used in problem messages.

    Returns
    -------
    record : RegistryRecord or None
        None when any error was found.
    problems : list of Problem
        Every error and warning found in this record.
    """
    problems: list[Problem] = []
    v: dict[str, object] = {}
    for spec in FIELDS:
        text = raw.get(spec.name, "")
        try:
            value = spec.parse(text)
        except CellError as exc:
            problems.append(Problem(line, spec.name, text, str(exc)))
            continue
        if isinstance(value, date) and value > today:
            problems.append(
                Problem(line, spec.name, text, f"lies in the future (today is {today.isoformat()})")
            )
            continue
        v[spec.name] = value
    problems.extend(_cross_field_problems(v, raw, line))
    if any(p.is_error for p in problems):
        return None, problems
    return build_record(v, line), problems


def _cross_field_problems(
    v: Mapping[str, object], raw: Mapping[str, str], line: int | None
) -> list[Problem]:
    """The rules across the columns of one row: those of
    :data:`ilpkit.domain.record_rules.RECORD_RULES`, then the order of the dates in
    :data:`ilpkit.domain.date_rules.DATE_RULES` (at most one problem per column from each)."""
    out: list[Problem] = []
    reported: set[str] = set()
    for rule in RECORD_RULES:
        if rule.field in reported or any(v.get(name) is None for name in rule.needs):
            continue
        broken = v.get(rule.unless) is None if rule.unless is not None else not rule.holds(v)
        if broken:
            reported.add(rule.field)
            out.append(
                Problem(line, rule.field, raw.get(rule.field, ""), rule.message(v), rule.severity)
            )
    out.extend(_chronology_problems(v, raw, line))
    return out


def _chronology_problems(
    v: Mapping[str, object], raw: Mapping[str, str], line: int | None
) -> list[Problem]:
    """The order rules of :data:`ilpkit.domain.date_rules.DATE_RULES` (at most one problem per
    column)."""
    out: list[Problem] = []
    reported: set[str] = set()
    for rule in DATE_RULES:
        first, then = v.get(rule.first), v.get(rule.then)
        if rule.field in reported or not (isinstance(first, date) and isinstance(then, date)):
            continue
        if not rule.holds(first, then):
            reported.add(rule.field)
            message = rule.message.format(first=first.isoformat(), then=then.isoformat())
            out.append(Problem(line, rule.field, raw.get(rule.field, ""), message))
    return out


def _opt(enum: type[Any], value: Any) -> Any:
    return None if value is None else enum(value)


def build_record(v: Mapping[str, Any], line: int | None = None) -> RegistryRecord:
    """Build a record from typed values keyed by column name (values already validated)."""

    def g(name: str) -> Any:
        return v.get(name)

    patient = Patient(
        patient_id=str(g("patient_id")),
        center=str(g("center")),
        sex=Sex(g("sex")),
        birth_date=g("birth_date"),
        death_date=g("death_date"),
        last_followup_date=g("last_followup_date"),
        cause_of_death=_opt(CauseOfDeath, g("cause_of_death")),
    )
    grade = g("grade")
    perfusion = Perfusion(
        patient_id=patient.patient_id,
        ilp_date=g("ilp_date"),
        limb=Limb(g("limb")),
        perfusion_level=PerfusionLevel(g("perfusion_level")),
        limb_volume_l=g("limb_volume_l"),
        limb_volume_method=_opt(VolumeMethod, g("limb_volume_method")),
        tnf_mg=g("tnf_mg"),
        melphalan_mg=g("melphalan_mg"),
        tumour=Tumour(
            histology=Histology(g("histology")),
            grade=None if grade is None else int(str(grade)),
            tumor_size_cm=g("tumor_size_cm"),
            multifocal=bool(g("multifocal")),
            presentation=Presentation(g("presentation")),
            prior_radiotherapy=bool(g("prior_radiotherapy")),
        ),
        conduct=Conduct(
            max_tissue_temp_c=g("max_tissue_temp_c"),
            perfusion_minutes=g("perfusion_minutes"),
            max_leakage_pct=g("max_leakage_pct"),
            wieberdink_grade=g("wieberdink_grade"),
            systemic_toxicity_grade=g("systemic_toxicity_grade"),
            complication_clavien_dindo=_opt(ClavienDindo, g("complication_clavien_dindo")),
        ),
        response=_opt(Response, g("response")),
        outcome=Outcome(
            resection_date=g("resection_date"),
            resection_margin=_opt(Margin, g("resection_margin")),
            amputation_date=g("amputation_date"),
            local_recurrence_date=g("local_recurrence_date"),
            distant_metastasis_date=g("distant_metastasis_date"),
            adjuvant_radiotherapy=g("adjuvant_radiotherapy"),
            pathological_necrosis_pct=g("pathological_necrosis_pct"),
            amputation_reason=_opt(AmputationReason, g("amputation_reason")),
        ),
    )
    return RegistryRecord(patient, perfusion, line)


def record_values(record: RegistryRecord) -> dict[str, object]:
    """Flatten a record into typed values keyed by Registry CSV v1 column name."""
    p, f = record.patient, record.perfusion
    t, c, o = f.tumour, f.conduct, f.outcome
    return {
        "patient_id": p.patient_id,
        "center": p.center,
        "sex": p.sex,
        "birth_date": p.birth_date,
        "death_date": p.death_date,
        "last_followup_date": p.last_followup_date,
        "ilp_date": f.ilp_date,
        "limb": f.limb,
        "perfusion_level": f.perfusion_level,
        "limb_volume_l": f.limb_volume_l,
        "limb_volume_method": f.limb_volume_method,
        "tnf_mg": f.tnf_mg,
        "melphalan_mg": f.melphalan_mg,
        "histology": t.histology,
        "grade": None if t.grade is None else str(t.grade),
        "tumor_size_cm": t.tumor_size_cm,
        "multifocal": t.multifocal,
        "presentation": t.presentation,
        "prior_radiotherapy": t.prior_radiotherapy,
        "response": f.response,
        "resection_date": o.resection_date,
        "resection_margin": o.resection_margin,
        "amputation_date": o.amputation_date,
        "local_recurrence_date": o.local_recurrence_date,
        "distant_metastasis_date": o.distant_metastasis_date,
        "max_leakage_pct": c.max_leakage_pct,
        "wieberdink_grade": c.wieberdink_grade,
        "max_tissue_temp_c": c.max_tissue_temp_c,
        "perfusion_minutes": c.perfusion_minutes,
        "adjuvant_radiotherapy": o.adjuvant_radiotherapy,
        "pathological_necrosis_pct": o.pathological_necrosis_pct,
        "systemic_toxicity_grade": c.systemic_toxicity_grade,
        "complication_clavien_dindo": c.complication_clavien_dindo,
        "amputation_reason": o.amputation_reason,
        "cause_of_death": p.cause_of_death,
    }


def check_registry(records: Iterable[RegistryRecord]) -> list[Problem]:
    """Check rules that span records: patient-level agreement and one perfusion per date.

    Parameters
    ----------
    records : iterable of RegistryRecord
        Records that would be stored together (e.g. one file, merged with what is already stored).

    Returns
    -------
    list of Problem
        One problem per disagreeing patient field and per duplicated perfusion.
    """
    problems: list[Problem] = []
    by_patient: dict[str, list[RegistryRecord]] = defaultdict(list)
    for r in records:
        by_patient[r.patient.patient_id].append(r)
    for patient_id, rows in by_patient.items():
        first = rows[0]
        first_values = record_values(first)
        for other in rows[1:]:
            other_values = record_values(other)
            for name in PATIENT_COLUMNS:
                if other_values[name] != first_values[name]:
                    problems.append(
                        Problem(
                            other.line,
                            name,
                            _text(other_values[name]),
                            f"differs from {_where(first)} for patient {patient_id} "
                            f"('{_text(first_values[name])}'); patient-level columns must be "
                            "identical on every row of the same patient",
                        )
                    )
        seen: dict[date, RegistryRecord] = {}
        for r in rows:
            earlier = seen.get(r.perfusion.ilp_date)
            if earlier is not None:
                problems.append(
                    Problem(
                        r.line,
                        "ilp_date",
                        r.perfusion.ilp_date.isoformat(),
                        f"patient {patient_id} already has a perfusion on this date "
                        f"({_where(earlier)}); one perfusion per patient per date",
                    )
                )
            else:
                seen[r.perfusion.ilp_date] = r
    return problems


def _where(record: RegistryRecord) -> str:
    return f"line {record.line}" if record.line is not None else "the stored record"


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "value"):
        return str(value.value)
    return str(value)
