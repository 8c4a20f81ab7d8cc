"""Use case: enter and change registry records one at a time (web forms and the JSON API).

One rule set serves every entry path: a record entered here is read and checked by
:func:`ilpkit.domain.validation.parse_record` (the field catalogue of
:mod:`ilpkit.domain.fields`, the record rules, the order of the dates and the plausibility
warnings) exactly as a row of a Registry CSV import, and the rules across records of the import
(one perfusion per patient per date, a new perfusion within
:data:`~ilpkit.services.registry_import.DUPLICATE_WINDOW_DAYS` days of another, stored
perfusions re-checked when their patient changes, patient ids that differ only in case) are
applied with the same messages. Problems come back per field (field name -> reason).

Who may write: an ``admin`` everywhere; a ``data_manager`` or ``clinician`` in their own
centres only (another centre's record is answered exactly like a missing one,
:class:`~ilpkit.services.access.RecordNotFound`); ``statistician`` and ``monitor`` never
(:class:`RecordEditRefused`). A patient is created only in a centre granted to the user.

No lost updates: patients and perfusions carry a ``version``; every change and deletion names the
version it was based on, and when the stored version differs the change is refused
(:class:`StaleRecord`, saying which fields now differ) and nothing is written. A change raises
the version by one. Every creation, change and deletion writes its audit entries (who, when,
which record and field, old and new value, and the reason) in the caller's transaction through
the hash-chained audit log; a reason is required to change or delete an existing record.

Each function works inside the caller's open transaction and takes the registry's write lock
first, so the version check and the write see the same stored state; the caller commits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.engine import Connection

from ilpkit.adapters.db import registry_repository as repo
from ilpkit.adapters.db.engine import take_write_lock
from ilpkit.domain.errors import Problem
from ilpkit.domain.fields import FIELDS, FIELDS_BY_NAME, PATIENT_COLUMNS, CellError
from ilpkit.domain.validation import RegistryRecord, parse_record, record_values
from ilpkit.errors import IlpkitError
from ilpkit.services.access import WRITE_ROLES, Principal, RecordNotFound
from ilpkit.services.registry_delete import perfusion_audit_values
from ilpkit.services.registry_import import DUPLICATE_WINDOW_DAYS

PERFUSION_FIELDS: tuple[str, ...] = tuple(f.name for f in FIELDS if f.level == "perfusion")
"""The fields of a perfusion, in Registry CSV v1 order."""
PATIENT_FIELDS: tuple[str, ...] = PATIENT_COLUMNS
"""The fields of a patient, in Registry CSV v1 order."""
RECORD_FIELDS: tuple[str, ...] = tuple(f.name for f in FIELDS)
"""The fields of a new patient with the first perfusion: one Registry CSV v1 row."""
REASON = "reason"
"""The key of a problem with the reason for a change."""
GENERAL = "record"
"""The key of a problem with the record as a whole (not one of its fields)."""
ALSO = "; also "
"""Joins the reasons of a field with more than one problem."""

_REASON_MISSING = "give the reason for the change (it goes to the audit log with the change)"
_DELETE_REASON_MISSING = "give the reason for the deletion (it goes to the audit log)"


class RecordEditRefused(IlpkitError):
    """The user's role may not change records (statistician, monitor)."""


class RecordInvalid(IlpkitError):
    """The record breaks registry rules; nothing was saved.

    Attributes
    ----------
    errors : dict of str to str
        Field name -> reason (``reason`` for the reason of a change, ``record`` for the record
        as a whole).
    warnings : dict of str to str
        Field name -> warning found with the errors (shown, never blocking).
    """

    def __init__(self, errors: dict[str, str], warnings: dict[str, str] | None = None) -> None:
        self.errors = errors
        self.warnings = warnings or {}
        fields = ", ".join(errors)
        super().__init__(f"nothing was saved: problems with {fields}")


@dataclass(frozen=True, slots=True)
class StaleField:
    """A field whose stored value differs from the value sent (``yours`` None when no value
    was sent for it)."""

    field: str
    yours: str | None
    stored: str


class StaleRecord(IlpkitError):
    """The record was changed since the version the edit was based on; nothing was written.

    Attributes
    ----------
    entity : str
        ``patient`` or ``perfusion``.
    based_on : int
        The version the edit was based on.
    stored_version : int
        The version stored now (send it to apply the edit after all).
    changes : list of StaleField
        The fields sent whose stored value now differs from the value sent, then the fields
        not sent that were changed since ``based_on`` (``yours`` None; as far as the audit
        entries of single-record changes tell: an import's entries carry no version). For a
        deletion, which sends no values: every field with its stored value.
    """

    def __init__(
        self, entity: str, based_on: int, stored_version: int, changes: list[StaleField]
    ) -> None:
        self.entity = entity
        self.based_on = based_on
        self.stored_version = stored_version
        self.changes = changes
        super().__init__(
            f"the {entity} was changed by someone else since you opened it (your version "
            f"{based_on}, stored version {stored_version}); nothing was saved"
        )


@dataclass(frozen=True, slots=True)
class Saved:
    """What a creation, change or deletion did.

    Attributes
    ----------
    patient_id : str
        The patient of the record.
    perfusion_id : str or None
        The perfusion created, changed or deleted (None for a patient change).
    version : int
        The record's version now (0 after a deletion).
    changed : tuple of str
        The fields whose stored value changed (every field with a value for a creation).
    warnings : dict of str to str
        Field name -> warning (the record was saved).
    """

    patient_id: str
    perfusion_id: str | None
    version: int
    changed: tuple[str, ...] = ()
    warnings: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _StoredPatient:
    pk: int
    version: int
    cells: dict[str, str]
    center: str


def _text(name: str, value: object) -> str:
    return FIELDS_BY_NAME[name].format(value)


def _cells(record: RegistryRecord) -> dict[str, str]:
    return {name: _text(name, value) for name, value in record_values(record).items()}


def _may_write(principal: Principal, center: str) -> bool:
    return principal.all_centers or center in principal.centers


def may_change_records(principal: Principal) -> bool:
    """Whether the principal's role may enter and change records (in its own centres)."""
    return principal.role in WRITE_ROLES


def require_may_change(principal: Principal) -> None:
    """Raise :class:`RecordEditRefused` for a role that may not change records."""
    if not may_change_records(principal):
        raise RecordEditRefused(
            f"your role ({principal.role}) may not change records; records are entered and "
            "changed by data managers and clinicians of the centre, or by an administrator"
        )


def _require_writer(conn: Connection, principal: Principal) -> None:
    require_may_change(principal)
    take_write_lock(conn)


def _patient(conn: Connection, principal: Principal, patient_id: str) -> _StoredPatient:
    """A stored patient the principal may change (else :class:`RecordNotFound`, as access.py)."""
    like = repo.patients_like(conn, [patient_id])
    found = [s for s in like if s.patient.patient_id == patient_id]
    if not found or not _may_write(principal, found[0].patient.center):
        raise RecordNotFound(f"there is no patient '{patient_id}'")
    s = found[0]
    cells = {c: _text(c, getattr(s.patient, c)) for c in PATIENT_COLUMNS}
    return _StoredPatient(s.pk, repo.record_version(conn, "patient", s.pk), cells, s.patient.center)


def _perfusion(
    conn: Connection, principal: Principal, perfusion_id: str
) -> tuple[repo.StoredPerfusion, int]:
    """A stored perfusion the principal may change, with its version."""
    sp = repo.find_perfusion(conn, perfusion_id=perfusion_id)
    if sp is None or not _may_write(principal, sp.record.patient.center):
        raise RecordNotFound(f"there is no perfusion '{perfusion_id}'")
    return sp, repo.record_version(conn, "perfusion", sp.pk)


def _unknown(values: Mapping[str, str], allowed: tuple[str, ...], errors: dict[str, str]) -> None:
    """Report sent fields that are not fields of the record being entered."""
    for name in values:
        if name in allowed:
            continue
        if name in PATIENT_COLUMNS:
            errors[name] = "is a field of the patient; change it on the patient"
        elif name in FIELDS_BY_NAME and FIELDS_BY_NAME[name].level == "perfusion":
            errors[name] = "is a field of a perfusion; change it on the perfusion"
        else:
            errors[name] = "is not a registry field"


def _add(out: dict[str, str], key: str, reason: str) -> None:
    old = out.get(key)
    if old is None:
        out[key] = reason
    elif reason not in old.split(ALSO):
        out[key] = f"{old}{ALSO}{reason}"


def _sorted(problems: list[Problem]) -> tuple[dict[str, str], dict[str, str]]:
    errors: dict[str, str] = {}
    warnings: dict[str, str] = {}
    for p in problems:
        _add(errors if p.is_error else warnings, p.field or GENERAL, p.reason)
    return errors, warnings


def _normalised(name: str, text: str) -> str:
    """``text`` as the registry writes the value (itself when it is not a valid value)."""
    try:
        return _text(name, FIELDS_BY_NAME[name].parse(text))
    except CellError:
        return text


def _changed_since(
    conn: Connection, patient_id: str, perfusion_id: str | None, based_on: int
) -> set[str]:
    """Fields changed after version ``based_on`` by the audited single-record changes (their
    audit entries carry the version they made)."""
    out: set[str] = set()
    for row in repo.audit_entries_of_patient(conn, patient_id):
        details = row["details"]
        if not isinstance(details, dict):
            continue
        if perfusion_id is None:
            if row["entity"] != "patient":
                continue
        elif row["entity"] != "perfusion" or details.get("perfusion_id") != perfusion_id:
            continue
        version, changes = details.get("version"), details.get("changes")
        if isinstance(version, int) and version > based_on and isinstance(changes, dict):
            out.update(str(name) for name in changes)
    return out


def _stale(
    conn: Connection,
    entity: str,
    based_on: int,
    stored_version: int,
    stored: Mapping[str, str],
    values: Mapping[str, str],
    since: tuple[str, str | None],
) -> StaleRecord:
    """The refusal of a stale edit: the fields sent whose stored value now differs, and the
    fields changed since ``based_on`` (as far as the audit log tells) that were not sent; for a
    deletion (no values) every field with its stored value."""
    if not values:
        changes = [StaleField(name, None, text) for name, text in stored.items()]
        return StaleRecord(entity, based_on, stored_version, changes)
    changes = [
        StaleField(name, text, stored[name])
        for name, text in values.items()
        if name in stored and _normalised(name, text) != stored[name]
    ]
    others = _changed_since(conn, since[0], since[1], based_on) - set(values)
    changes += [StaleField(name, None, stored[name]) for name in stored if name in others]
    return StaleRecord(entity, based_on, stored_version, changes)


def _changes(old: Mapping[str, str], new: Mapping[str, str], names: tuple[str, ...]) -> dict:
    return {n: {"old": old.get(n, ""), "new": new[n]} for n in names if old.get(n, "") != new[n]}


def _perfusion_key(patient_id: str, ilp_date: date) -> str:
    return f"{patient_id} {ilp_date.isoformat()}"


def _created(cells: Mapping[str, str], names: tuple[str, ...]) -> dict[str, dict[str, str]]:
    return {n: {"old": "", "new": cells[n]} for n in names if cells[n] != ""}


def _duplicate_warning(
    patient_id: str, ilp_date: date, others: list[date], warnings: dict[str, str]
) -> None:
    """The import's warning for a new perfusion close to another of the same patient."""
    window = DUPLICATE_WINDOW_DAYS
    close = [d for d in others if d != ilp_date and abs((d - ilp_date).days) <= window]
    if not close:
        return
    nearest = min(close, key=lambda d: abs((d - ilp_date).days))
    days = abs((nearest - ilp_date).days)
    _add(
        warnings,
        "ilp_date",
        f"probable duplicate: patient {patient_id} also has a perfusion on "
        f"{nearest.isoformat()} ({days} day{'' if days == 1 else 's'} apart); kept as a new "
        "perfusion. If it is the same perfusion with a corrected date, edit that perfusion "
        "instead",
    )


# --- the stored values, for a form ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Editable:
    """A stored record as a form shows it: the text of each field and the version."""

    patient_id: str
    perfusion_id: str | None
    version: int
    values: dict[str, str]


def patient_for_edit(conn: Connection, principal: Principal, patient_id: str) -> Editable:
    """A stored patient's fields as text, with the version (for an edit form).

    Raises
    ------
    RecordEditRefused, RecordNotFound
    """
    require_may_change(principal)
    stored = _patient(conn, principal, patient_id)
    return Editable(patient_id, None, stored.version, dict(stored.cells))


def perfusion_for_edit(conn: Connection, principal: Principal, perfusion_id: str) -> Editable:
    """A stored perfusion's fields as text, with the version (for an edit form).

    Raises
    ------
    RecordEditRefused, RecordNotFound
    """
    require_may_change(principal)
    sp, version = _perfusion(conn, principal, perfusion_id)
    cells = _cells(sp.record)
    values = {n: cells[n] for n in PERFUSION_FIELDS}
    return Editable(sp.record.patient.patient_id, perfusion_id, version, values)


# --- patients --------------------------------------------------------------------------------


def create_patient(
    conn: Connection,
    principal: Principal,
    values: Mapping[str, str],
    today: date,
    reason: str = "",
) -> Saved:
    """Create a patient with the patient's first perfusion (one Registry CSV v1 row).

    Parameters
    ----------
    conn : Connection
        An open transaction on the registry (the caller commits).
    principal : Principal
        Who enters the record.
    values : mapping of str to str
        Text of each field of :data:`RECORD_FIELDS`, as in a CSV cell (absent = empty).
    today : date
        No date may lie after it.
    reason : str
        Optional note for the audit log.

    Returns
    -------
    Saved
        With the new perfusion's ``perfusion_id`` and any warnings.

    Raises
    ------
    RecordEditRefused
        For a role that may not change records.
    RecordInvalid
        With every problem, per field; nothing is written.
    """
    _require_writer(conn, principal)
    errors: dict[str, str] = {}
    _unknown(values, RECORD_FIELDS, errors)
    cells = {name: values.get(name, "") for name in RECORD_FIELDS}
    record, problems = parse_record(cells, today)
    found_errors, warnings = _sorted(problems)
    errors.update(found_errors)
    try:
        pid = FIELDS_BY_NAME["patient_id"].parse(cells["patient_id"])
    except CellError:
        pid = None
    if isinstance(pid, str):
        like = [s.patient.patient_id for s in repo.patients_like(conn, [pid])]
        if pid in like:
            _add(errors, "patient_id", "a patient with this id is already stored; choose another")
        elif like:
            _add(
                errors,
                "patient_id",
                "differs only in upper/lower case from a stored patient id; such ids are "
                "usually one patient typed two ways, so nothing was saved. Correct the id",
            )
    center = cells["center"].strip()
    if "center" not in errors and not _may_write(principal, center):
        mine = ", ".join(sorted(principal.centers)) or "none"
        _add(
            errors,
            "center",
            f"is not one of your centres ({mine}); a patient is created only in a centre "
            "granted to you",
        )
    if errors or record is None:
        raise RecordInvalid(errors, warnings)
    patient_id = record.patient.patient_id
    repo.insert_patients(conn, [record.patient])
    patient_pk = repo.patient_pks(conn, [patient_id])[patient_id]
    perfusion_id = repo.new_perfusion_id()
    repo.insert_perfusion_rows(conn, [(record, patient_pk, perfusion_id)])
    stored = _cells(record)
    note = reason.strip()
    repo.add_audit(
        conn,
        principal.username,
        "create",
        [
            (
                "patient",
                patient_id,
                {"changes": _created(stored, PATIENT_FIELDS), "reason": note, "version": 1},
            ),
            (
                "perfusion",
                _perfusion_key(patient_id, record.perfusion.ilp_date),
                {
                    "changes": _created(stored, PERFUSION_FIELDS),
                    "reason": note,
                    "version": 1,
                    "perfusion_id": perfusion_id,
                },
            ),
        ],
    )
    changed = tuple(n for n in RECORD_FIELDS if stored[n] != "")
    return Saved(patient_id, perfusion_id, 1, changed, warnings)


def update_patient(
    conn: Connection,
    principal: Principal,
    patient_id: str,
    version: int,
    values: Mapping[str, str],
    reason: str,
    today: date,
) -> Saved:
    """Change a stored patient's fields.

    Parameters
    ----------
    conn : Connection
        An open transaction on the registry (the caller commits).
    principal : Principal
        Who changes the record.
    patient_id : str
        The patient.
    version : int
        The version the change is based on.
    values : mapping of str to str
        New text of the fields to change (fields not given keep their stored values; an empty
        text clears an optional field). ``patient_id`` cannot be changed.
    reason : str
        Why (required when anything changes).
    today : date
        No date may lie after it.

    Returns
    -------
    Saved
        ``changed`` is empty (and nothing written) when no value differs from the stored one.

    Raises
    ------
    RecordEditRefused, RecordNotFound, StaleRecord, RecordInvalid
    """
    _require_writer(conn, principal)
    stored = _patient(conn, principal, patient_id)
    if stored.version != version:
        raise _stale(
            conn, "patient", version, stored.version, stored.cells, values, (patient_id, None)
        )
    errors: dict[str, str] = {}
    _unknown(values, PATIENT_FIELDS, errors)
    sent_id = values.get("patient_id")
    if sent_id is not None and sent_id.strip() != patient_id:
        _add(errors, "patient_id", "cannot be changed here (the id names the patient's records)")
    patient_cells = {**stored.cells}
    patient_cells.update({n: t for n, t in values.items() if n in PATIENT_FIELDS})
    patient_cells["patient_id"] = patient_id
    new_center = patient_cells["center"].strip()
    if new_center != stored.center and not _may_write(principal, new_center):
        mine = ", ".join(sorted(principal.centers)) or "none"
        _add(errors, "center", f"is not one of your centres ({mine})")
    perfusions = repo.perfusions_of(conn, [stored.pk])
    if not perfusions:
        _add(
            errors,
            GENERAL,
            "the patient has no stored perfusion, so the patient's data cannot be checked as a "
            "registry row; add the patient's perfusion first, then change the patient",
        )
    warnings: dict[str, str] = {}
    patient = None
    for sp in perfusions:  # as an import re-checks the stored perfusions of a changed patient
        record, problems = parse_record({**_cells(sp.record), **patient_cells}, today)
        when = sp.record.perfusion.ilp_date.isoformat()
        for p in problems:
            target = errors if p.is_error else warnings
            if p.field in PATIENT_FIELDS:
                _add(target, p.field, p.reason)
            else:
                _add(
                    target,
                    p.field or GENERAL,
                    f"conflicts with the stored perfusion of patient {patient_id} on {when}: "
                    f"{p.reason}",
                )
        if record is not None:
            patient = record.patient
    changed: dict[str, dict[str, str]] = {}
    if patient is not None:
        new_cells = {c: _text(c, getattr(patient, c)) for c in PATIENT_FIELDS}
        changed = _changes(stored.cells, new_cells, PATIENT_FIELDS)
    why = reason.strip()
    if not why and (changed or errors):
        errors[REASON] = _REASON_MISSING
    if errors or patient is None:
        raise RecordInvalid(errors, warnings)
    if not changed:
        return Saved(patient_id, None, stored.version, (), warnings)
    repo.update_patients(conn, [patient])
    new_version = stored.version + 1
    repo.add_audit(
        conn,
        principal.username,
        "update",
        [("patient", patient_id, {"changes": changed, "reason": why, "version": new_version})],
    )
    return Saved(patient_id, None, new_version, tuple(changed), warnings)


# --- perfusions ------------------------------------------------------------------------------


def create_perfusion(
    conn: Connection,
    principal: Principal,
    patient_id: str,
    values: Mapping[str, str],
    today: date,
    reason: str = "",
) -> Saved:
    """Add a perfusion to a stored patient.

    Parameters
    ----------
    conn : Connection
        An open transaction on the registry (the caller commits).
    principal : Principal
        Who enters the record.
    patient_id : str
        The patient.
    values : mapping of str to str
        Text of each field of :data:`PERFUSION_FIELDS` (absent = empty).
    today : date
        No date may lie after it.
    reason : str
        Optional note for the audit log.

    Returns
    -------
    Saved

    Raises
    ------
    RecordEditRefused, RecordNotFound, RecordInvalid
    """
    _require_writer(conn, principal)
    stored = _patient(conn, principal, patient_id)
    errors: dict[str, str] = {}
    _unknown(values, PERFUSION_FIELDS, errors)
    cells = {**{n: values.get(n, "") for n in PERFUSION_FIELDS}, **stored.cells}
    record, problems = parse_record(cells, today)
    found, warnings = _sorted(problems)
    errors.update({k: v for k, v in found.items() if k not in errors})
    others = repo.perfusions_of(conn, [stored.pk])
    if record is not None:
        ilp_date = record.perfusion.ilp_date
        clash = next((s for s in others if s.record.perfusion.ilp_date == ilp_date), None)
        if clash is not None:
            _add(
                errors,
                "ilp_date",
                f"patient {patient_id} already has a perfusion on this date (perfusion_id "
                f"{clash.perfusion_id}); one perfusion per patient per date",
            )
        _duplicate_warning(
            patient_id, ilp_date, [s.record.perfusion.ilp_date for s in others], warnings
        )
    if errors or record is None:
        raise RecordInvalid(errors, warnings)
    perfusion_id = repo.new_perfusion_id()
    repo.insert_perfusion_rows(conn, [(record, stored.pk, perfusion_id)])
    new = _cells(record)
    repo.add_audit(
        conn,
        principal.username,
        "create",
        [
            (
                "perfusion",
                _perfusion_key(patient_id, record.perfusion.ilp_date),
                {
                    "changes": _created(new, PERFUSION_FIELDS),
                    "reason": reason.strip(),
                    "version": 1,
                    "perfusion_id": perfusion_id,
                },
            )
        ],
    )
    changed = tuple(n for n in PERFUSION_FIELDS if new[n] != "")
    return Saved(patient_id, perfusion_id, 1, changed, warnings)


def update_perfusion(
    conn: Connection,
    principal: Principal,
    perfusion_id: str,
    version: int,
    values: Mapping[str, str],
    reason: str,
    today: date,
) -> Saved:
    """Change a stored perfusion's fields (its date included).

    Parameters
    ----------
    conn : Connection
        An open transaction on the registry (the caller commits).
    principal : Principal
        Who changes the record.
    perfusion_id : str
        The perfusion.
    version : int
        The version the change is based on.
    values : mapping of str to str
        New text of the fields to change (fields not given keep their stored values; an empty
        text clears an optional field).
    reason : str
        Why (required when anything changes).
    today : date
        No date may lie after it.

    Returns
    -------
    Saved
        ``changed`` is empty (and nothing written) when no value differs from the stored one.

    Raises
    ------
    RecordEditRefused, RecordNotFound, StaleRecord, RecordInvalid
    """
    _require_writer(conn, principal)
    sp, stored_version = _perfusion(conn, principal, perfusion_id)
    old = _cells(sp.record)
    perfusion_old = {n: old[n] for n in PERFUSION_FIELDS}
    if stored_version != version:
        owner = sp.record.patient.patient_id
        raise _stale(
            conn, "perfusion", version, stored_version, perfusion_old, values,
            (owner, perfusion_id),
        )  # fmt: skip
    errors: dict[str, str] = {}
    _unknown(values, PERFUSION_FIELDS, errors)
    cells = {**old, **{n: t for n, t in values.items() if n in PERFUSION_FIELDS}}
    record, problems = parse_record(cells, today)
    found, warnings = _sorted(problems)
    errors.update({k: v for k, v in found.items() if k not in errors})
    patient_id = sp.record.patient.patient_id
    changed: dict[str, dict[str, str]] = {}
    if record is not None:
        ilp_date = record.perfusion.ilp_date
        if ilp_date != sp.record.perfusion.ilp_date:
            others = [s for s in repo.perfusions_of(conn, [sp.patient_pk]) if s.pk != sp.pk]
            clash = next((s for s in others if s.record.perfusion.ilp_date == ilp_date), None)
            if clash is not None:
                _add(
                    errors,
                    "ilp_date",
                    f"patient {patient_id} already has another stored perfusion on this date "
                    f"(perfusion_id {clash.perfusion_id}); one perfusion per patient per date",
                )
        changed = _changes(old, _cells(record), PERFUSION_FIELDS)
    why = reason.strip()
    if not why and (changed or errors):
        errors[REASON] = _REASON_MISSING
    if errors or record is None:
        raise RecordInvalid(errors, warnings)
    if not changed:
        return Saved(patient_id, perfusion_id, stored_version, (), warnings)
    repo.update_perfusion_rows(conn, [(sp.pk, record)])
    new_version = stored_version + 1
    repo.add_audit(
        conn,
        principal.username,
        "update",
        [
            (
                "perfusion",
                _perfusion_key(patient_id, sp.record.perfusion.ilp_date),
                {
                    "changes": changed,
                    "reason": why,
                    "version": new_version,
                    "perfusion_id": perfusion_id,
                },
            )
        ],
    )
    return Saved(patient_id, perfusion_id, new_version, tuple(changed), warnings)


def delete_perfusion(
    conn: Connection,
    principal: Principal,
    perfusion_id: str,
    version: int,
    reason: str,
) -> Saved:
    """Delete a stored perfusion, with the reason, keeping every value in the audit log.

    A patient's only perfusion is not deleted this way: a patient is recorded with at least one
    perfusion (one Registry CSV v1 row); ``ilp delete-patient`` deletes a whole patient.

    Raises
    ------
    RecordEditRefused, RecordNotFound, StaleRecord, RecordInvalid
    """
    _require_writer(conn, principal)
    sp, stored_version = _perfusion(conn, principal, perfusion_id)
    if stored_version != version:
        old = _cells(sp.record)
        fields = {n: old[n] for n in PERFUSION_FIELDS}
        raise _stale(conn, "perfusion", version, stored_version, fields, {}, ("", None))
    errors: dict[str, str] = {}
    why = reason.strip()
    if not why:
        errors[REASON] = _DELETE_REASON_MISSING
    if len(repo.perfusions_of(conn, [sp.patient_pk])) < 2:
        errors[GENERAL] = (
            "this is the patient's only perfusion; a patient is recorded with at least one "
            "perfusion (one Registry CSV row). Delete the whole patient with 'ilp "
            "delete-patient' instead"
        )
    if errors:
        raise RecordInvalid(errors)
    repo.delete_perfusion(conn, sp.pk)
    patient_id = sp.record.patient.patient_id
    repo.add_audit(
        conn,
        principal.username,
        "delete",
        [
            (
                "perfusion",
                _perfusion_key(patient_id, sp.record.perfusion.ilp_date),
                {
                    "reason": why,
                    "deleted": perfusion_audit_values(sp),
                    "version": stored_version,
                },
            )
        ],
    )
    return Saved(patient_id, perfusion_id, 0, PERFUSION_FIELDS, {})
