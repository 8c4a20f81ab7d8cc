"""Use cases: store a perfusion plan, and compare planned with given doses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ilpkit.adapters.db import registry_repository as repo
from ilpkit.adapters.db.tables import patients, perfusion_plans, perfusions
from ilpkit.domain.errors import Problem, RegistryValidationError
from ilpkit.domain.fields import FIELDS_BY_NAME, CellError
from ilpkit.services.unit_of_work import UnitOfWork


@dataclass(frozen=True, slots=True)
class PlanSummary:
    """The figures of a plan that are stored in columns (the whole plan is kept as JSON)."""

    protocol: str
    study_protocol: bool
    limb: str
    perfusion_level: str
    limb_volume_l: float
    tnf_mg: float
    melphalan_mg: float
    melphalan_capped: bool


def _check_key(patient_id: str, ilp_date: str) -> tuple[str, date]:
    problems = []
    values: dict[str, Any] = {}
    for name, text in (("patient_id", patient_id), ("ilp_date", ilp_date)):
        try:
            values[name] = FIELDS_BY_NAME[name].parse(text)
        except CellError as exc:
            problems.append(Problem(None, name, text, str(exc)))
    if problems:
        raise RegistryValidationError(problems)
    return values["patient_id"], values["ilp_date"]


def _site_mismatch(
    patient_id: str, day: date, summary: PlanSummary, limb: str, level: str
) -> Problem | None:
    """A problem when the plan's limb or level differs from the recorded perfusion's."""
    if (summary.limb, summary.perfusion_level) == (limb, level):
        return None
    field, value = (
        ("limb", summary.limb)
        if summary.limb != limb
        else ("perfusion_level", summary.perfusion_level)
    )
    return Problem(
        None,
        field,
        value,
        f"the perfusion of {patient_id} on {day.isoformat()} is recorded as {_site(limb, level)}, "
        f"but this plan is for {_site(summary.limb, summary.perfusion_level)}; plan the recorded "
        "limb and level, or correct the perfusion record first",
    )


def _site(limb: str, level: str) -> str:
    return f"{'an' if limb == 'arm' else 'a'} {limb} perfusion at {level} level"


def save_plan(
    url: str,
    patient_id: str,
    ilp_date: str,
    summary: PlanSummary,
    plan: dict[str, Any],
    actor: str,
) -> int:
    """Store a plan for the perfusion of ``patient_id`` on ``ilp_date``; return the plan's id.

    The perfusion need not be recorded yet (plans are made before surgery). When it is recorded,
    the plan must be for the recorded limb and perfusion level. Saving is audited.

    Raises
    ------
    RegistryValidationError
        When the patient id or date is not valid Registry CSV v1 text, or when the perfusion is
        recorded with another limb or perfusion level than the plan's (nothing is saved).
    """
    pid, day = _check_key(patient_id, ilp_date)
    with UnitOfWork(url, write=True) as uow:
        plan_id = insert_plan(uow.connection, pid, day, summary, plan, actor)
        uow.commit()
    return plan_id


def summary_of(plan: dict[str, Any]) -> PlanSummary:
    """The column figures of a plan, from :meth:`ilpkit.planning.plan.PerfusionPlan.to_dict`."""
    return PlanSummary(
        protocol=str(plan["protocol"]),
        study_protocol=bool(plan["study_protocol"]),
        limb=str(plan["limb"]),
        perfusion_level=str(plan["perfusion_level"]),
        limb_volume_l=float(plan["limb_volume_l"]),
        tnf_mg=float(plan["tnf_mg"]),
        melphalan_mg=float(plan["melphalan_mg"]),
        melphalan_capped=bool(plan["melphalan_capped"]),
    )


def insert_plan(
    conn: Connection,
    patient_id: str,
    ilp_date: str | date,
    summary: PlanSummary,
    plan: dict[str, Any],
    actor: str,
) -> int:
    """:func:`save_plan` inside the caller's transaction (the web application's); the plan's id.

    The caller has checked that the user may see the patient; the audit row is written in the
    same transaction.

    Raises
    ------
    RegistryValidationError
        As :func:`save_plan`; nothing is written.
    """
    text = ilp_date.isoformat() if isinstance(ilp_date, date) else ilp_date
    pid, day = _check_key(patient_id, text)
    recorded = conn.execute(
        sa.select(perfusions.c.limb, perfusions.c.perfusion_level)
        .select_from(perfusions.join(patients, perfusions.c.patient_pk == patients.c.id))
        .where(patients.c.patient_id == pid, perfusions.c.ilp_date == day)
    ).first()
    if recorded is not None:
        mismatch = _site_mismatch(pid, day, summary, recorded.limb, recorded.perfusion_level)
        if mismatch is not None:
            raise RegistryValidationError([mismatch])
    result = conn.execute(
        sa.insert(perfusion_plans).values(
            patient_id=pid,
            ilp_date=day,
            created_at=datetime.now(UTC),
            actor=actor,
            protocol=summary.protocol,
            study_protocol=summary.study_protocol,
            limb=summary.limb,
            perfusion_level=summary.perfusion_level,
            limb_volume_l=summary.limb_volume_l,
            tnf_mg=summary.tnf_mg,
            melphalan_mg=summary.melphalan_mg,
            melphalan_capped=summary.melphalan_capped,
            plan=plan,
        )
    )
    plan_id = int(result.inserted_primary_key[0])  # type: ignore[index]
    repo.add_audit(
        conn,
        actor,
        "plan",
        [("plan", f"{pid} {day.isoformat()}", {"plan_id": plan_id, "protocol": summary.protocol})],
    )
    return plan_id


@dataclass(frozen=True, slots=True)
class PlanComparison:
    """The latest plan of a perfusion next to what was given (None until it is recorded)."""

    patient_id: str
    ilp_date: date
    protocol: str
    study_protocol: bool
    limb: str
    perfusion_level: str
    planned_limb_volume_l: float
    planned_tnf_mg: float
    planned_melphalan_mg: float
    given_limb_volume_l: float | None
    given_tnf_mg: float | None
    given_melphalan_mg: float | None
    recorded_limb: str | None = None
    recorded_perfusion_level: str | None = None

    @property
    def recorded(self) -> bool:
        """True once the perfusion itself is in the registry."""
        return self.given_tnf_mg is not None

    def to_dict(self) -> dict[str, object]:
        """JSON-serialisable form."""
        return {
            "patient_id": self.patient_id,
            "ilp_date": self.ilp_date.isoformat(),
            "protocol": self.protocol,
            "study_protocol": self.study_protocol,
            "limb": self.limb,
            "perfusion_level": self.perfusion_level,
            "recorded_limb": self.recorded_limb,
            "recorded_perfusion_level": self.recorded_perfusion_level,
            "planned": {
                "limb_volume_l": self.planned_limb_volume_l,
                "tnf_mg": self.planned_tnf_mg,
                "melphalan_mg": self.planned_melphalan_mg,
            },
            "given": None
            if not self.recorded
            else {
                "limb_volume_l": self.given_limb_volume_l,
                "tnf_mg": self.given_tnf_mg,
                "melphalan_mg": self.given_melphalan_mg,
            },
        }


def compare_plans(url: str, patient_id: str | None = None) -> list[PlanComparison]:
    """Latest plan per (patient, date), with the given doses where the perfusion is recorded."""
    latest = (
        sa.select(sa.func.max(perfusion_plans.c.id).label("id"))
        .group_by(perfusion_plans.c.patient_id, perfusion_plans.c.ilp_date)
        .subquery()
    )
    given = (
        sa.select(
            patients.c.patient_id,
            perfusions.c.ilp_date,
            perfusions.c.limb,
            perfusions.c.perfusion_level,
            perfusions.c.limb_volume_l,
            perfusions.c.tnf_mg,
            perfusions.c.melphalan_mg,
        )
        .select_from(perfusions.join(patients, perfusions.c.patient_pk == patients.c.id))
        .subquery()
    )
    query = (
        sa.select(
            perfusion_plans.c.patient_id,
            perfusion_plans.c.ilp_date,
            perfusion_plans.c.protocol,
            perfusion_plans.c.study_protocol,
            perfusion_plans.c.limb,
            perfusion_plans.c.perfusion_level,
            perfusion_plans.c.limb_volume_l,
            perfusion_plans.c.tnf_mg,
            perfusion_plans.c.melphalan_mg,
            given.c.limb_volume_l.label("g_volume"),
            given.c.tnf_mg.label("g_tnf"),
            given.c.melphalan_mg.label("g_melphalan"),
            given.c.limb.label("g_limb"),
            given.c.perfusion_level.label("g_level"),
        )
        .join(latest, latest.c.id == perfusion_plans.c.id)
        .outerjoin(
            given,
            sa.and_(
                given.c.patient_id == perfusion_plans.c.patient_id,
                given.c.ilp_date == perfusion_plans.c.ilp_date,
            ),
        )
        .order_by(perfusion_plans.c.patient_id, perfusion_plans.c.ilp_date)
    )
    if patient_id is not None:
        query = query.where(perfusion_plans.c.patient_id == patient_id)
    with UnitOfWork(url, write=False) as uow:
        rows = uow.connection.execute(query).all()
    return [
        PlanComparison(
            r.patient_id,
            r.ilp_date if isinstance(r.ilp_date, date) else date.fromisoformat(str(r.ilp_date)),
            r.protocol,
            bool(r.study_protocol),
            r.limb,
            r.perfusion_level,
            r.limb_volume_l,
            r.tnf_mg,
            r.melphalan_mg,
            r.g_volume,
            r.g_tnf,
            r.g_melphalan,
            r.g_limb,
            r.g_level,
        )
        for r in rows
    ]
