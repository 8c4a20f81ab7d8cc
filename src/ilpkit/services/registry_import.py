"""Use case: import a Registry CSV v1 file, all rows or none.

Steps: read the file (file-level problems), validate every row with the domain rules, check rules
across rows, merge with what is stored (a perfusion is keyed by patient_id + ilp_date; a re-import
updates changed values and says so), re-check stored perfusions of the patients whose data change,
then write everything in one transaction with its audit rows. Any error means nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ilpkit.adapters.csv.registry_csv import read_registry_csv
from ilpkit.adapters.db import registry_repository as repo
from ilpkit.domain.errors import Problem, RegistryValidationError
from ilpkit.domain.fields import FIELDS, PATIENT_COLUMNS
from ilpkit.domain.patient import Patient
from ilpkit.domain.validation import (
    RegistryRecord,
    check_registry,
    parse_record,
    record_values,
)
from ilpkit.services.unit_of_work import UnitOfWork

ProgressCallback = Callable[[int, int], None]
"""Called with (rows done, rows in all) while rows are validated."""

_FORMAT = {f.name: f.format for f in FIELDS}


@dataclass(frozen=True, slots=True)
class Change:
    """One changed value of a stored record."""

    entity: str
    key: str
    column: str
    old: str
    new: str


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What an import did (or, for a dry run, would do)."""

    rows: int
    patients_created: int
    patients_updated: int
    perfusions_created: int
    perfusions_updated: int
    perfusions_unchanged: int
    changes: list[Change] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    written: bool = False

    def to_dict(self) -> dict[str, object]:
        """JSON-serialisable form."""
        return {
            "rows": self.rows,
            "patients_created": self.patients_created,
            "patients_updated": self.patients_updated,
            "perfusions_created": self.perfusions_created,
            "perfusions_updated": self.perfusions_updated,
            "perfusions_unchanged": self.perfusions_unchanged,
            "changes": [_change(c) for c in self.changes],
            "warnings": [w.to_dict() for w in self.warnings],
            "written": self.written,
        }


def _change(c: Change) -> dict[str, str]:
    return {"entity": c.entity, "key": c.key, "column": c.column, "old": c.old, "new": c.new}


def validate_file(
    path: Path, today: date, progress: ProgressCallback | None = None
) -> tuple[list[RegistryRecord], list[Problem]]:
    """Read and validate a file on its own (no database).

    Returns
    -------
    records : list of RegistryRecord
        The valid records (all rows when there is no error).
    problems : list of Problem
        Every error and warning, in line order.

    Raises
    ------
    RegistryValidationError
        For file-level problems (encoding, header, ragged rows, empty file).
    """
    rows = read_registry_csv(path)
    problems: list[Problem] = []
    records: list[RegistryRecord] = []
    total = len(rows)
    step = max(1, total // 100)
    for i, row in enumerate(rows, start=1):
        record, found = parse_record(row.cells, today, row.line)
        if found:
            problems.extend(found)
        if record is not None:
            records.append(record)
        if progress is not None and (i % step == 0 or i == total):
            progress(i, total)
    problems.extend(check_registry(records))
    problems.sort(key=lambda p: p.line or 0)
    return records, problems


def _fmt(column: str, value: object) -> str:
    return _FORMAT[column](value)


def import_registry(
    path: Path,
    url: str | None,
    today: date,
    actor: str,
    dry_run: bool = False,
    progress: ProgressCallback | None = None,
) -> ImportReport:
    """Import (or with ``dry_run`` only check) a Registry CSV v1 file.

    Parameters
    ----------
    path : Path
        The CSV file.
    url : str or None
        Database URL; None with ``dry_run`` checks the file alone.
    today : date
        No date may lie after it.
    actor : str
        Who imports, for the audit log.
    dry_run : bool
        Check everything, including against the stored registry, and write nothing.
    progress : callable, optional
        Progress callback (rows done, rows in all).

    Returns
    -------
    ImportReport

    Raises
    ------
    RegistryValidationError
        With every problem found; nothing is written.
    """
    records, problems = validate_file(path, today, progress)
    errors = [p for p in problems if p.is_error]
    if errors:
        raise RegistryValidationError(problems)
    warnings = problems
    if url is None:
        return ImportReport(len(records), 0, 0, len(records), 0, 0, [], warnings, False)
    with UnitOfWork(url, write=not dry_run, require_registry=False) as uow:
        conn = uow.connection
        if dry_run and not _has_schema(conn):
            stored: list[RegistryRecord] = []
        else:
            file_patients = {r.patient.patient_id for r in records}
            stored = list(repo.iter_records(conn, file_patients))
        plan = _merge(records, stored, today)
        if dry_run:
            return plan.report(len(records), warnings, written=False)
        pks = repo.stored_patients(conn)
        new_patients = [p for p in plan.new_patients if p.patient_id not in pks]
        repo.insert_patients(conn, new_patients)
        repo.update_patients(conn, plan.changed_patients)
        if new_patients:
            pks = repo.stored_patients(conn)
        repo.insert_perfusions(conn, plan.new_records, pks)
        repo.update_perfusions(conn, plan.changed_records, pks)
        audit: list[tuple[str, str, dict[str, object]]] = [
            (
                "import",
                path.name,
                {
                    "rows": len(records),
                    "patients_created": len(plan.new_patients),
                    "patients_updated": len(plan.changed_patients),
                    "perfusions_created": len(plan.new_records),
                    "perfusions_updated": len(plan.changed_records),
                },
            )
        ]
        by_key: dict[tuple[str, str], dict[str, object]] = {}
        for c in plan.changes:
            entry = by_key.setdefault((c.entity, c.key), {})
            entry[c.column] = {"old": c.old, "new": c.new}
        audit.extend((entity, key, {"changes": d}) for (entity, key), d in by_key.items())
        repo.add_audit(conn, actor, "import", audit)
        uow.commit()
    return plan.report(len(records), warnings, written=True)


def _has_schema(conn: Connection) -> bool:
    return sa.inspect(conn).has_table("perfusions")


@dataclass
class _MergePlan:
    new_patients: list[Patient] = field(default_factory=list)
    changed_patients: list[Patient] = field(default_factory=list)
    new_records: list[RegistryRecord] = field(default_factory=list)
    changed_records: list[RegistryRecord] = field(default_factory=list)
    unchanged: int = 0
    changes: list[Change] = field(default_factory=list)

    def report(self, rows: int, warnings: list[Problem], written: bool) -> ImportReport:
        return ImportReport(
            rows=rows,
            patients_created=len(self.new_patients),
            patients_updated=len(self.changed_patients),
            perfusions_created=len(self.new_records),
            perfusions_updated=len(self.changed_records),
            perfusions_unchanged=self.unchanged,
            changes=self.changes,
            warnings=warnings,
            written=written,
        )


def _merge(records: list[RegistryRecord], stored: list[RegistryRecord], today: date) -> _MergePlan:
    plan = _MergePlan()
    stored_by_key = {r.key: r for r in stored}
    stored_patient = {r.patient.patient_id: r.patient for r in stored}
    file_patient: dict[str, RegistryRecord] = {}
    for r in records:
        file_patient.setdefault(r.patient.patient_id, r)
    for pid, r in file_patient.items():
        old = stored_patient.get(pid)
        if old is None:
            plan.new_patients.append(r.patient)
        elif old != r.patient:
            plan.changed_patients.append(r.patient)
            old_values = record_values(RegistryRecord(old, r.perfusion))
            new_values = record_values(r)
            for column in PATIENT_COLUMNS:
                if old_values[column] != new_values[column]:
                    plan.changes.append(
                        Change(
                            "patient",
                            pid,
                            column,
                            _fmt(column, old_values[column]),
                            _fmt(column, new_values[column]),
                        )
                    )
    for r in records:
        old_record = stored_by_key.get(r.key)
        if old_record is None:
            plan.new_records.append(r)
            continue
        old_values, new_values = record_values(old_record), record_values(r)
        diff = [
            c for c in old_values if c not in PATIENT_COLUMNS and old_values[c] != new_values[c]
        ]
        if diff:
            plan.changed_records.append(r)
            key = f"{r.key[0]} {r.key[1].isoformat()}"
            plan.changes.extend(
                Change("perfusion", key, c, _fmt(c, old_values[c]), _fmt(c, new_values[c]))
                for c in diff
            )
        else:
            plan.unchanged += 1
    # Stored perfusions that the file does not mention must still agree with the patient's
    # (possibly changed) data: re-validate them with the new patient values.
    file_keys = {r.key for r in records}
    problems: list[Problem] = []
    changed_ids = {p.patient_id for p in plan.changed_patients}
    for s in stored:
        if s.key in file_keys or s.patient.patient_id not in changed_ids:
            continue
        new_patient_values = record_values(file_patient[s.patient.patient_id])
        merged = {c: _fmt(c, v) for c, v in record_values(s).items()}
        for column in PATIENT_COLUMNS:
            merged[column] = _fmt(column, new_patient_values[column])
        _, found = parse_record(merged, today, None)
        for p in found:
            if p.is_error:
                problems.append(
                    Problem(
                        file_patient[s.patient.patient_id].line,
                        p.field,
                        p.value,
                        f"conflicts with the stored perfusion of patient {s.patient.patient_id} "
                        f"on {s.perfusion.ilp_date.isoformat()}: {p.reason}",
                    )
                )
    if problems:
        raise RegistryValidationError(problems)
    return plan
