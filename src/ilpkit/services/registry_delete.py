"""Use case: delete a perfusion or a patient on purpose, with a reason, in the audit log.

An import never deletes anything; these are the only ways to remove records. The audit row keeps
every deleted value, who deleted them, when and why, so a deletion can be reviewed and undone by
hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ilpkit.adapters.db import registry_repository as repo
from ilpkit.domain.fields import FIELDS, PATIENT_COLUMNS
from ilpkit.domain.validation import record_values
from ilpkit.services.unit_of_work import UnitOfWork

_FORMAT = {f.name: f.format for f in FIELDS}


class DeleteError(Exception):
    """A deletion that cannot be done (no such record, no reason); the message says why."""


@dataclass(frozen=True, slots=True)
class Deleted:
    """What was deleted."""

    patient_id: str
    patients: int
    perfusions: int
    perfusion_dates: tuple[date, ...]


def _check_reason(reason: str) -> str:
    text = reason.strip()
    if not text:
        raise DeleteError(
            "give the reason for the deletion with --reason (it goes to the audit log)"
        )
    return text


def perfusion_audit_values(sp: repo.StoredPerfusion) -> dict[str, str]:
    """A perfusion's values as text (its patient id and perfusion_id included), as a deletion
    writes them to the audit log."""
    values = record_values(sp.record)
    out = {c: _FORMAT[c](v) for c, v in values.items() if c not in PATIENT_COLUMNS[1:]}
    out["perfusion_id"] = sp.perfusion_id or ""
    return out


def delete_perfusion(
    url: str,
    actor: str,
    reason: str,
    patient_id: str | None = None,
    ilp_date: date | None = None,
    perfusion_id: str | None = None,
) -> Deleted:
    """Delete one perfusion, found by (patient_id, ilp_date) or by its perfusion_id.

    Raises
    ------
    DeleteError
        When no such perfusion is stored or no reason is given; nothing is deleted.
    """
    why = _check_reason(reason)
    if perfusion_id is None and (patient_id is None or ilp_date is None):
        raise DeleteError("name the perfusion by PATIENT_ID and ILP_DATE, or by --perfusion-id")
    with UnitOfWork(url) as uow:
        conn = uow.connection
        sp = repo.find_perfusion(conn, patient_id, ilp_date, perfusion_id)
        if sp is None:
            what = (
                f"perfusion_id {perfusion_id}"
                if perfusion_id is not None
                else f"patient {patient_id} on {ilp_date.isoformat() if ilp_date else ''}"
            )
            raise DeleteError(f"there is no stored perfusion of {what}; nothing was deleted")
        if patient_id is not None and sp.record.patient.patient_id != patient_id:
            raise DeleteError(
                f"perfusion_id {perfusion_id} is a perfusion of patient "
                f"{sp.record.patient.patient_id}, not of {patient_id}; nothing was deleted"
            )
        repo.delete_perfusion(conn, sp.pk)
        pid = sp.record.patient.patient_id
        when = sp.record.perfusion.ilp_date
        repo.add_audit(
            conn,
            actor,
            "delete",
            [
                (
                    "perfusion",
                    f"{pid} {when.isoformat()}",
                    {"reason": why, "deleted": perfusion_audit_values(sp)},
                )
            ],
        )
        uow.commit()
    return Deleted(pid, 0, 1, (when,))


def delete_patient(url: str, actor: str, reason: str, patient_id: str) -> Deleted:
    """Delete a patient and every perfusion of the patient.

    Raises
    ------
    DeleteError
        When no such patient is stored or no reason is given; nothing is deleted.
    """
    why = _check_reason(reason)
    with UnitOfWork(url) as uow:
        conn = uow.connection
        found = [
            s for s in repo.patients_like(conn, [patient_id]) if s.patient.patient_id == patient_id
        ]
        if not found:
            hint = [s.patient.patient_id for s in repo.patients_like(conn, [patient_id])]
            extra = f" (did you mean {', '.join(hint)}? ids are case-sensitive)" if hint else ""
            raise DeleteError(
                f"there is no stored patient {patient_id}{extra}; nothing was deleted"
            )
        stored = found[0]
        perfusions = repo.perfusions_of(conn, [stored.pk])
        patient_values = {c: _FORMAT[c](getattr(stored.patient, c)) for c in PATIENT_COLUMNS}
        n_patients, n_perfusions = repo.delete_patient(conn, stored.pk)
        repo.add_audit(
            conn,
            actor,
            "delete",
            [
                (
                    "patient",
                    patient_id,
                    {
                        "reason": why,
                        "deleted": patient_values,
                        "perfusions": [perfusion_audit_values(sp) for sp in perfusions],
                    },
                )
            ],
        )
        uow.commit()
    return Deleted(
        patient_id,
        n_patients,
        n_perfusions,
        tuple(sp.record.perfusion.ilp_date for sp in perfusions),
    )
