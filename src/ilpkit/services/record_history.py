"""Use case: the audit history of one patient and the patient's perfusions.

Read from the hash-chained audit log (entries of the patient, keyed by patient id, and of the
patient's perfusions, keyed ``"<patient id> <perfusion date>"``), as written by imports,
deletions and single-record changes. Shown to an ``admin``, a ``monitor``, a ``data_manager``
and a ``clinician`` for patients of their own centres (a clinician enters and changes these
records and needs to see who changed them and why, e.g. after a refused stale edit; the history
holds only values of a patient the clinician may already see); never to a ``statistician``, who
sees pseudonymised records only. Another centre's patient is answered like a missing one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from ilpkit.adapters.db import registry_repository as repo
from ilpkit.errors import IlpkitError
from ilpkit.services import access
from ilpkit.services.access import Principal

HISTORY_ROLES = frozenset({"admin", "monitor", "data_manager", "clinician"})
"""Roles that may read a record's audit history (of their own centres)."""


class HistoryRefused(IlpkitError):
    """The user's role may not read audit histories."""


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One field of an audit entry: its value before and after (empty = no value)."""

    field: str
    old: str
    new: str


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One audit entry of the patient or of one of the patient's perfusions."""

    id: int
    at: datetime
    actor: str
    action: str
    entity: str
    record: str
    reason: str
    version: int | None
    changes: tuple[FieldChange, ...]


def _changes(details: dict[str, Any]) -> tuple[FieldChange, ...]:
    out: list[FieldChange] = []
    changes = details.get("changes")
    if isinstance(changes, dict):
        for name, change in changes.items():
            if isinstance(change, dict):
                old, new = str(change.get("old", "")), str(change.get("new", ""))
                out.append(FieldChange(name, old, new))
    deleted = details.get("deleted")
    if isinstance(deleted, dict):
        out.extend(FieldChange(n, str(v), "") for n, v in deleted.items() if v not in ("", None))
    return tuple(out)


def patient_history(conn: Connection, principal: Principal, patient_id: str) -> list[HistoryEntry]:
    """The audit entries of a patient and the patient's perfusions, oldest first.

    Raises
    ------
    HistoryRefused
        For a role that may not read audit histories.
    RecordNotFound
        When the patient is not among the principal's centres (or not stored).
    """
    if principal.role not in HISTORY_ROLES:
        raise HistoryRefused(
            f"your role ({principal.role}) may not read the audit history of records"
        )
    access.get_patient(conn, principal, patient_id)
    out = []
    for row in repo.audit_entries_of_patient(conn, patient_id):
        details = row["details"] if isinstance(row["details"], dict) else {}
        key = str(row["entity_key"])
        entity = str(row["entity"])
        record = "patient" if entity == "patient" else f"perfusion of {key.split(' ', 1)[-1]}"
        version = details.get("version")
        out.append(
            HistoryEntry(
                id=int(str(row["id"])),
                at=row["at"],  # type: ignore[arg-type]
                actor=str(row["actor"]),
                action=str(row["action"]),
                entity=entity,
                record=record,
                reason=str(details.get("reason", "")),
                version=version if isinstance(version, int) else None,
                changes=_changes(details),
            )
        )
    return out
