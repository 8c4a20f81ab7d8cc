"""Use case: import a Registry CSV v1 file, all rows or none.

The file is read as a stream, in chunks of rows: each chunk is validated with the domain rules,
merged with what is stored and written, all inside the one transaction of the import; any error
anywhere means that transaction is rolled back, so nothing is written, and every problem is
listed. Memory therefore stays bounded by the chunk size plus a few small facts per patient and
per perfusion of the file (for the checks across rows).

Merge rules:

- a row with a ``perfusion_id`` (written by ``ilp export``) updates that perfusion, its date
  included; a row without one is matched by (patient_id, ilp_date);
- a column absent from the file leaves the stored values of that column untouched; only a present,
  empty cell clears a stored value (every cleared value is listed);
- nothing is deleted: stored patients and perfusions that the file does not mention stay (the
  report counts them);
- patient ids that differ only in case are refused unless explicitly allowed;
- a new perfusion within 30 days of another perfusion of the same patient is a warning;
- stored perfusions of a patient whose data change are re-checked against the new data.

Reads of the stored state all happen inside the import's transaction (the :class:`UnitOfWork`).
A dry run does the same work on a read-only transaction: it reads the stored records the file
mentions and keeps what the import would write in memory (:class:`_DryRunStore`), so later chunks
see the registry as the import would have left it, and writes nothing (no write lock, no id
sequence numbers used, a SQLite file opened read-only). It keeps in memory the patients and
perfusions the file would add or change.
"""

from __future__ import annotations

import os
import tempfile
from collections import defaultdict
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ilpkit.adapters.csv.registry_csv import CsvRow, open_registry_csv
from ilpkit.adapters.db import registry_repository as repo
from ilpkit.domain.errors import Problem, RegistryValidationError, Severity
from ilpkit.domain.fields import (
    FIELDS,
    OPTIONAL_COLUMNS,
    PATIENT_COLUMNS,
    PERFUSION_ID,
    CellError,
)
from ilpkit.domain.patient import Patient
from ilpkit.domain.validation import RegistryRecord, parse_record, record_values
from ilpkit.services.unit_of_work import UnitOfWork

ProgressCallback = Callable[[int, int], None]
"""Called with (rows done, rows in all; an estimate from the line count) while rows are read."""

CHUNK_ROWS = 5_000
"""Rows validated, merged and written at a time."""

DUPLICATE_WINDOW_DAYS = 30
"""A new perfusion this close to another of the same patient is reported as a probable
duplicate (a corrected date imported without its perfusion_id)."""

MAX_CHANGES_KEPT = 10_000
"""Changed values listed in the report (all of them go to the audit log)."""

NOT_AVAILABLE_PATIENT = "this patient id is not available to you; use another patient id"
"""Why a row is refused in an import restricted to some centres when its patient id is (in any
spelling of upper and lower case) that of a patient of another centre. The message does not say
so: it is the same whatever the reason the id cannot be used, names no centre and no other id."""
NOT_AVAILABLE_PERFUSION = (
    "is not the perfusion_id of a perfusion of your centres (it must come from an export of your "
    "centres); leave the cell empty to add the row as a new perfusion"
)
"""Why a row is refused in an import restricted to some centres when its perfusion_id is not
that of a perfusion of those centres (whether it exists elsewhere or not)."""

_FORMAT = {f.name: f.format for f in FIELDS}
_PERFUSION_COLUMNS = tuple(f.name for f in FIELDS if f.level == "perfusion")
_PATIENT_OPTIONAL = tuple(c for c in OPTIONAL_COLUMNS if c in PATIENT_COLUMNS)


@dataclass(frozen=True, slots=True)
class Change:
    """One changed value of a stored record (``new`` is empty when the value is cleared)."""

    entity: str
    key: str
    column: str
    old: str
    new: str

    @property
    def cleared(self) -> bool:
        """True when a stored value is cleared by an empty cell."""
        return self.new == "" and self.old != ""


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
    absent_columns: list[str] = field(default_factory=list)
    patients_not_in_file: int = 0
    perfusions_not_in_file: int = 0
    n_changes: int = 0
    values_cleared: int = 0

    def to_dict(self) -> dict[str, object]:
        """JSON-serialisable form."""
        return {
            "rows": self.rows,
            "patients_created": self.patients_created,
            "patients_updated": self.patients_updated,
            "perfusions_created": self.perfusions_created,
            "perfusions_updated": self.perfusions_updated,
            "perfusions_unchanged": self.perfusions_unchanged,
            "absent_columns": self.absent_columns,
            "patients_not_in_file": self.patients_not_in_file,
            "perfusions_not_in_file": self.perfusions_not_in_file,
            "n_changes": self.n_changes,
            "values_cleared": self.values_cleared,
            "changes": [_change(c) for c in self.changes],
            "warnings": [w.to_dict() for w in self.warnings],
            "written": self.written,
        }


def _change(c: Change) -> dict[str, object]:
    return {
        "entity": c.entity,
        "key": c.key,
        "column": c.column,
        "old": c.old,
        "new": c.new,
        "cleared": c.cleared,
    }


def _fmt(column: str, value: object) -> str:
    return _FORMAT[column](value)


def import_registry(
    path: Path,
    url: str | None,
    today: date,
    actor: str,
    dry_run: bool = False,
    progress: ProgressCallback | None = None,
    allow_case_variants: bool = False,
    centers: Collection[str] | None = None,
) -> ImportReport:
    """Import (or with ``dry_run`` only check) a Registry CSV v1 file.

    Parameters
    ----------
    path : Path
        The CSV file.
    url : str or None
        Database URL; None with ``dry_run`` checks the file alone (against an empty registry).
    today : date
        No date may lie after it.
    actor : str
        Who imports, for the audit log.
    dry_run : bool
        Check everything, including against the stored registry, and write nothing.
    progress : callable, optional
        Progress callback (rows done, rows in all).
    allow_case_variants : bool
        Accept patient ids that differ from another only in case (reported as warnings).
    centers : collection of str, optional
        Restrict the import to these centres (a user's): a row of another centre, a patient id
        of another centre's patient and a perfusion_id of another centre's perfusion are errors,
        and the counts of stored records cover these centres only. The rows refused for ids
        never name or reveal the other centre's record (:data:`NOT_AVAILABLE_PATIENT`).

    Returns
    -------
    ImportReport

    Raises
    ------
    RegistryValidationError
        With every problem found; nothing is written.
    """
    if url is None:
        if not dry_run:
            raise ValueError("an import needs a database URL")
        with tempfile.TemporaryDirectory(prefix="ilp-validate-") as work:
            scratch = f"sqlite:///{Path(work) / 'scratch.sqlite3'}"
            return _run(
                path, scratch, today, actor, True, progress, allow_case_variants, True, centers
            )
    new_file = _new_sqlite_file(url)
    if not dry_run and new_file is not None and new_file.parent.is_dir() and centers is None:
        return _import_into_new_file(
            path, url, new_file, today, actor, progress, allow_case_variants
        )
    return _run(path, url, today, actor, dry_run, progress, allow_case_variants, False, centers)


def _new_sqlite_file(url: str) -> Path | None:
    """The SQLite file ``url`` names when it does not exist yet (None otherwise)."""
    from ilpkit import config

    path = config.sqlite_path(url)
    return path if path is not None and not path.exists() else None


def _import_into_new_file(
    path: Path,
    url: str,
    new_file: Path,
    today: date,
    actor: str,
    progress: ProgressCallback | None,
    allow_case_variants: bool,
) -> ImportReport:
    """The first import of a new SQLite registry, built beside it and published when complete.

    The registry is written to a hidden file in the same folder and linked to its name only
    once the import has committed, so a file with problems leaves no registry file behind, and
    a registry that appears meanwhile (another first import) is never replaced: the file is then
    imported into it, under its write lock, as any later import.
    """
    fd, name = tempfile.mkstemp(prefix=f".{new_file.name}.", suffix=".partial", dir=new_file.parent)
    os.close(fd)
    staged = Path(name)
    staged.unlink()  # SQLite creates it, with the permissions of an ordinary new file
    try:
        report = _run(
            path, f"sqlite:///{staged}", today, actor, False, progress, allow_case_variants, False
        )
        try:
            os.link(staged, new_file)  # atomic, and never over an existing file
        except FileExistsError:
            return _run(path, url, today, actor, False, progress, allow_case_variants, False)
        return report
    finally:
        for leftover in (staged, staged.with_name(staged.name + "-journal")):
            leftover.unlink(missing_ok=True)


def _run(
    path: Path,
    url: str,
    today: date,
    actor: str,
    dry_run: bool,
    progress: ProgressCallback | None,
    allow_case_variants: bool,
    scratch: bool,
    centers: Collection[str] | None = None,
) -> ImportReport:
    with open_registry_csv(path) as reader:
        total = max(1, reader.n_lines - 1)
        write = scratch or not dry_run
        with UnitOfWork(url, write=write, migrate=write, require_registry=False) as uow:
            conn = uow.connection
            if not _has_schema(conn):  # a dry run against a database without tables
                return _scratch_run(path, today, actor, progress, allow_case_variants, centers)
            _check_schema_current(conn)
            store = _DryRunStore(conn) if dry_run else _DatabaseStore(conn, actor)
            merger = _Merger(store, today, actor, set(reader.columns), allow_case_variants, centers)
            for chunk in _chunks(iter(reader), CHUNK_ROWS):
                merger.add_chunk(chunk)
                if progress is not None:
                    progress(min(total, chunk[-1].line - 1), total)
            merger.problems.extend(reader.problems)
            merger.finish()
            problems = sorted(merger.problems, key=lambda p: p.line or 0)
            if any(p.is_error for p in problems):
                raise RegistryValidationError(problems)
            report = merger.report(problems, written=not dry_run)
            if dry_run:
                return report  # nothing was written
            repo.add_audit(conn, actor, "import", [("import", path.name, merger.audit_summary())])
            uow.commit()
    if progress is not None:
        progress(total, total)
    return report


def _scratch_run(
    path: Path,
    today: date,
    actor: str,
    progress: ProgressCallback | None,
    allow_case_variants: bool,
    centers: Collection[str] | None = None,
) -> ImportReport:
    with tempfile.TemporaryDirectory(prefix="ilp-validate-") as work:
        scratch = f"sqlite:///{Path(work) / 'scratch.sqlite3'}"
        return _run(path, scratch, today, actor, True, progress, allow_case_variants, True, centers)


def _chunks(rows: Iterator[CsvRow], size: int) -> Iterator[list[CsvRow]]:
    chunk: list[CsvRow] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _has_schema(conn: Connection) -> bool:
    return sa.inspect(conn).has_table("perfusions")


def _check_schema_current(conn: Connection) -> None:
    columns = {c["name"] for c in sa.inspect(conn).get_columns("perfusions")}
    if "perfusion_id" not in columns:
        raise RegistryValidationError(
            [
                Problem(
                    None,
                    "",
                    "",
                    "the registry database has an older schema; bring it to the newest one "
                    "with 'ilp init' (or import into it, which upgrades it), then check again",
                )
            ]
        )


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


@dataclass
class _Counts:
    patients_created: int = 0
    patients_updated: int = 0
    perfusions_created: int = 0
    perfusions_updated: int = 0
    perfusions_unchanged: int = 0
    patients_matched: int = 0
    rows: int = 0


class _Merger:
    """Validates, merges and writes chunks of rows inside one open transaction."""

    def __init__(
        self,
        store: _DatabaseStore,
        today: date,
        actor: str,
        columns: set[str],
        allow_case_variants: bool,
        centers: Collection[str] | None = None,
    ) -> None:
        self.store = store
        conn = store.conn
        self.centers = None if centers is None else frozenset(centers)
        self.today = today
        self.actor = actor
        self.allow_case_variants = allow_case_variants
        self.absent = [c for c in OPTIONAL_COLUMNS if c not in columns]
        self.has_perfusion_id = PERFUSION_ID.name in columns
        self.problems: list[Problem] = []
        self.counts = _Counts()
        self.changes: list[Change] = []
        self.n_changes = 0
        self.n_cleared = 0
        if store.writes:
            repo.refresh_statistics(conn)
        self.stored_patients, self.stored_perfusions = repo.registry_size(conn, self.centers)
        self.registry_was_empty = self.stored_perfusions == 0
        # facts kept per patient and per perfusion of the file, for checks across chunks
        self.first_seen: dict[str, tuple[str, int]] = {}  # lower(id) -> (id, first line)
        self.variant_first: dict[str, int] = {}  # case-variant id (allowed) -> first line
        self.keys: dict[tuple[str, int], int] = {}  # (patient id, date ordinal) -> line
        self.ids_seen: dict[str, int] = {}  # perfusion_id -> line
        self.changed_patients: dict[str, int] = {}  # stored patients changed -> first line
        self.warned_variants: set[str] = set()

    # --- one chunk -------------------------------------------------------------------------

    def add_chunk(self, rows: list[CsvRow]) -> None:
        parsed: list[tuple[RegistryRecord, str | None]] = []
        for row in rows:
            self.counts.rows += 1
            if self.centers is not None:
                self._check_center(row)
            record, found = parse_record(row.cells, self.today, row.line)
            self.problems.extend(found)
            perfusion_id = self._perfusion_id(row)
            if record is not None and perfusion_id is not False:
                parsed.append((record, perfusion_id if isinstance(perfusion_id, str) else None))
        if not parsed:
            return
        ids = {r.patient.patient_id for r, _ in parsed}
        like = self.store.patients_like(ids)
        if self.centers is not None:
            parsed, like = self._own_patients_only(parsed, like)
        stored_exact = {s.patient.patient_id: s for s in like}
        stored_lower: dict[str, list[str]] = defaultdict(list)
        for s in like:
            stored_lower[s.patient.patient_id.lower()].append(s.patient.patient_id)
        perfusions = self.store.perfusions_of([s.pk for s in like])
        by_patient: dict[str, list[repo.StoredPerfusion]] = defaultdict(list)
        by_id: dict[str, repo.StoredPerfusion] = {}
        for sp in perfusions:
            by_patient[sp.record.patient.patient_id].append(sp)
            if sp.perfusion_id is not None:
                by_id[sp.perfusion_id] = sp
        wanted = {pid for _, pid in parsed if pid is not None and pid not in by_id}
        if wanted:
            for sp in self.store.perfusions_by_id(wanted):
                by_id[sp.perfusion_id or ""] = sp
        if self.centers is not None:
            parsed, by_id = self._own_perfusions_only(parsed, by_id)
        plan = _ChunkPlan()
        for record, perfusion_id in parsed:
            self._merge_row(record, perfusion_id, stored_exact, stored_lower, by_patient, by_id,
                            plan)  # fmt: skip
        self.store.write(plan, stored_exact, perfusions + list(by_id.values()))

    # --- an import restricted to some centres -------------------------------------------

    def _check_center(self, row: CsvRow) -> None:
        """A row of a centre outside :attr:`centers` is an error."""
        assert self.centers is not None
        center = row.cells.get("center", "").strip()
        if center and center not in self.centers:
            mine = ", ".join(sorted(self.centers)) or "none"
            self._error(
                row.line,
                "center",
                center,
                f"is not one of your centres ({mine}); only rows of your own centres can be "
                "imported",
            )

    def _own_patients_only(
        self, parsed: list[tuple[RegistryRecord, str | None]], like: list[repo.StoredPatient]
    ) -> tuple[list[tuple[RegistryRecord, str | None]], list[repo.StoredPatient]]:
        """Refuse rows whose patient id is another centre's patient's (in any case spelling,
        unless it is exactly the id of a patient of the user's centres); drop such patients from
        the stored ones, so that no message names them."""
        assert self.centers is not None
        own = [s for s in like if s.patient.center in self.centers]
        foreign = {
            s.patient.patient_id.lower() for s in like if s.patient.center not in self.centers
        }
        if not foreign:
            return parsed, own
        own_exact = {s.patient.patient_id for s in own}
        kept = []
        for record, perfusion_id in parsed:
            pid = record.patient.patient_id
            if pid not in own_exact and pid.lower() in foreign:
                self._error(record.line, "patient_id", pid, NOT_AVAILABLE_PATIENT)
            else:
                kept.append((record, perfusion_id))
        return kept, own

    def _own_perfusions_only(
        self,
        parsed: list[tuple[RegistryRecord, str | None]],
        by_id: dict[str, repo.StoredPerfusion],
    ) -> tuple[list[tuple[RegistryRecord, str | None]], dict[str, repo.StoredPerfusion]]:
        """Refuse rows whose perfusion_id is not that of a perfusion of the user's centres."""
        assert self.centers is not None
        own = {k: sp for k, sp in by_id.items() if sp.record.patient.center in self.centers}
        kept = []
        for record, perfusion_id in parsed:
            if perfusion_id is not None and perfusion_id not in own:
                self._error(record.line, PERFUSION_ID.name, perfusion_id, NOT_AVAILABLE_PERFUSION)
            else:
                kept.append((record, perfusion_id))
        return kept, own

    def _perfusion_id(self, row: CsvRow) -> str | bool | None:
        """The row's perfusion_id; None when absent or empty, False when not valid."""
        if not self.has_perfusion_id:
            return None
        text = row.cells.get(PERFUSION_ID.name, "")
        try:
            value = PERFUSION_ID.parse(text)
        except CellError as exc:
            self.problems.append(Problem(row.line, PERFUSION_ID.name, text, str(exc)))
            return False
        return None if value is None else str(value)

    def _error(self, line: int | None, column: str, value: str, reason: str) -> None:
        self.problems.append(Problem(line, column, value, reason))

    def _merge_row(
        self,
        record: RegistryRecord,
        perfusion_id: str | None,
        stored_exact: dict[str, repo.StoredPatient],
        stored_lower: dict[str, list[str]],
        by_patient: dict[str, list[repo.StoredPerfusion]],
        by_id: dict[str, repo.StoredPerfusion],
        plan: _ChunkPlan,
    ) -> None:
        line = record.line
        pid = record.patient.patient_id
        lower = pid.lower()
        # --- patient ids that differ only in case, in the file or versus stored ---
        first = self.first_seen.get(lower)
        first_line: int | None
        if first is None:
            self.first_seen[lower] = (pid, line or 0)
            first_line = None
        elif first[0] == pid:
            first_line = first[1]
        else:
            if not self._case_variant(line, pid, f"patient {first[0]} (line {first[1]})"):
                return
            first_line = self.variant_first.get(pid)
            if first_line is None:
                self.variant_first[pid] = line or 0
        stored = stored_exact.get(pid)
        if first_line is None and stored is None:
            others = [s for s in stored_lower.get(lower, []) if s != pid]
            if others and not self._case_variant(line, pid, f"the stored patient {others[0]}"):
                return
        # --- one perfusion per patient per date in the file ---
        key = (pid, record.perfusion.ilp_date.toordinal())
        earlier = self.keys.get(key)
        if earlier is not None:
            self._error(
                line,
                "ilp_date",
                record.perfusion.ilp_date.isoformat(),
                f"patient {pid} already has a perfusion on this date (line {earlier}); one "
                "perfusion per patient per date",
            )
            return
        self.keys[key] = line or 0
        if perfusion_id is not None:
            earlier = self.ids_seen.get(perfusion_id)
            if earlier is not None:
                self._error(
                    line,
                    PERFUSION_ID.name,
                    perfusion_id,
                    f"this perfusion_id is also on line {earlier}; each perfusion once per file",
                )
                return
            self.ids_seen[perfusion_id] = line or 0
        # --- the patient ---
        patient = self._merge_patient(record, stored, first_line, plan)
        if patient is None:
            return
        # --- the perfusion ---
        self._merge_perfusion(record, patient, perfusion_id, by_patient, by_id, plan)

    def _case_variant(self, line: int | None, pid: str, other: str) -> bool:
        """Report a case variant; True when the row may go on (variants allowed)."""
        if not self.allow_case_variants:
            self._error(
                line,
                "patient_id",
                pid,
                f"differs only in upper/lower case from {other}; such ids are usually one "
                "patient typed two ways, so nothing was imported. Correct the id, or import "
                "with --allow-case-variants if they really are different patients",
            )
            return False
        if pid not in self.warned_variants:
            self.warned_variants.add(pid)
            self.problems.append(
                Problem(
                    line,
                    "patient_id",
                    pid,
                    f"differs only in upper/lower case from {other}; kept as a separate patient "
                    "(--allow-case-variants)",
                    Severity.WARNING,
                )
            )
        return True

    def _merge_patient(
        self,
        record: RegistryRecord,
        stored: repo.StoredPatient | None,
        first_line: int | None,
        plan: _ChunkPlan,
    ) -> Patient | None:
        pid = record.patient.patient_id
        line = record.line
        if first_line is not None:
            # a later row of a patient: must agree with the first row (present columns only)
            reference = plan.patients.get(pid) or (None if stored is None else stored.patient)
            if reference is None:
                return None  # the first row had an error, already reported
            ref_values = _patient_values(reference)
            values = _patient_values(record.patient)
            ok = True
            for column in PATIENT_COLUMNS:
                if column in self.absent:
                    continue
                if values[column] != ref_values[column]:
                    ok = False
                    self._error(
                        line,
                        column,
                        _fmt(column, values[column]),
                        f"differs from line {first_line} for patient {pid} "
                        f"('{_fmt(column, ref_values[column])}'); patient-level columns must be "
                        "identical on every row of the same patient",
                    )
            return reference if ok else None
        merged = record.patient
        if stored is not None and self.absent:
            fill = {c: getattr(stored.patient, c) for c in _PATIENT_OPTIONAL if c in self.absent}
            if fill:
                merged = _replace_patient(merged, fill)
        plan.patients[pid] = merged
        plan.first_lines[pid] = line or 0
        if stored is None:
            plan.new_patients.append(merged)
            self.counts.patients_created += 1
            return merged
        self.counts.patients_matched += 1
        old_values, new_values = _patient_values(stored.patient), _patient_values(merged)
        diff = [c for c in PATIENT_COLUMNS if old_values[c] != new_values[c]]
        if diff:
            plan.changed_patients.append(merged)
            self.changed_patients[pid] = line or 0
            self.counts.patients_updated += 1
            for c in diff:
                self._add_change(
                    plan, "patient", pid, c, _fmt(c, old_values[c]), _fmt(c, new_values[c])
                )
        return merged

    def _merge_perfusion(
        self,
        record: RegistryRecord,
        patient: Patient,
        perfusion_id: str | None,
        by_patient: dict[str, list[repo.StoredPerfusion]],
        by_id: dict[str, repo.StoredPerfusion],
        plan: _ChunkPlan,
    ) -> None:
        pid = patient.patient_id
        line = record.line
        ilp_date = record.perfusion.ilp_date
        stored_of_patient = by_patient.get(pid, [])
        target: repo.StoredPerfusion | None = None
        if perfusion_id is not None:
            target = by_id.get(perfusion_id)
            if target is not None and target.record.patient.patient_id != pid:
                owner = target.record
                self._error(
                    line,
                    PERFUSION_ID.name,
                    perfusion_id,
                    f"is the perfusion of patient {owner.patient.patient_id} on "
                    f"{owner.perfusion.ilp_date.isoformat()}, not of patient {pid}",
                )
                return
            if target is None and not self.registry_was_empty:
                self._error(
                    line,
                    PERFUSION_ID.name,
                    perfusion_id,
                    "is not the perfusion_id of any stored perfusion (it must come from "
                    "'ilp export' of this registry); leave the cell empty to add the row as a new "
                    "perfusion",
                )
                return
        else:
            # a stored perfusion already claimed by another row of this chunk (moved to another
            # date through its perfusion_id) no longer sits on its stored date
            target = next(
                (
                    s
                    for s in stored_of_patient
                    if s.record.key == record.key and s.pk not in plan.claimed
                ),
                None,
            )
        if target is not None:
            plan.claimed.add(target.pk)
        if target is not None and target.record.perfusion.ilp_date != ilp_date:
            clash = next(
                (s for s in stored_of_patient if s.pk != target.pk and s.record.key == record.key),
                None,
            )
            if clash is not None:
                self._error(
                    line,
                    "ilp_date",
                    ilp_date.isoformat(),
                    f"patient {pid} already has another stored perfusion on this date "
                    f"(perfusion_id {clash.perfusion_id}); one perfusion per patient per date",
                )
                return
        merged = self._merged_record(record, patient, target)
        if merged is None:
            return
        if target is None:
            self._duplicate_warning(merged, stored_of_patient, plan)
            plan.new_perfusions.append((merged, perfusion_id or repo.new_perfusion_id()))
            plan.dates[pid].append(ilp_date)
            self.counts.perfusions_created += 1
            return
        plan.dates[pid].append(ilp_date)
        old_values, new_values = record_values(target.record), record_values(merged)
        diff = [c for c in _PERFUSION_COLUMNS if old_values[c] != new_values[c]]
        if not diff:
            self.counts.perfusions_unchanged += 1
            return
        plan.changed_perfusions.append((target.pk, merged))
        self.counts.perfusions_updated += 1
        key = f"{pid} {target.record.perfusion.ilp_date.isoformat()}"
        for c in diff:
            self._add_change(
                plan, "perfusion", key, c, _fmt(c, old_values[c]), _fmt(c, new_values[c])
            )

    def _merged_record(
        self, record: RegistryRecord, patient: Patient, target: repo.StoredPerfusion | None
    ) -> RegistryRecord | None:
        """The row with its patient's (merged) values and, for absent columns, stored values."""
        if patient == record.patient and (target is None or not self.absent):
            return record
        values = record_values(record)
        values.update(_patient_values(patient))
        if target is not None:
            stored_values = record_values(target.record)
            for c in self.absent:
                if c not in PATIENT_COLUMNS:
                    values[c] = stored_values[c]
        cells = {c: _fmt(c, v) for c, v in values.items()}
        merged, found = parse_record(cells, self.today, record.line)
        errors = [p for p in found if p.is_error]
        if errors:
            absent = ", ".join(self.absent)
            for p in errors:
                self._error(
                    record.line,
                    p.field,
                    p.value,
                    f"{p.reason} (with the stored values of the columns absent from the file: "
                    f"{absent})",
                )
            return None
        return merged

    def _duplicate_warning(
        self,
        record: RegistryRecord,
        stored_of_patient: list[repo.StoredPerfusion],
        plan: _ChunkPlan,
    ) -> None:
        pid = record.patient.patient_id
        ilp_date = record.perfusion.ilp_date
        others = [s.record.perfusion.ilp_date for s in stored_of_patient]
        others += plan.dates.get(pid, [])
        close = [d for d in others if d != ilp_date and abs((d - ilp_date).days)
                 <= DUPLICATE_WINDOW_DAYS]  # fmt: skip
        if close:
            nearest = min(close, key=lambda d: abs((d - ilp_date).days))
            days = abs((nearest - ilp_date).days)
            self.problems.append(
                Problem(
                    record.line,
                    "ilp_date",
                    ilp_date.isoformat(),
                    f"probable duplicate: patient {pid} also has a perfusion on "
                    f"{nearest.isoformat()} ({_plural(days, 'day')} apart); kept as a new "
                    "perfusion. If it is the same perfusion with a corrected date, import the row "
                    "with its perfusion_id (from 'ilp export') instead",
                    Severity.WARNING,
                )
            )

    def _add_change(
        self, plan: _ChunkPlan, entity: str, key: str, column: str, old: str, new: str
    ) -> None:
        change = Change(entity, key, column, old, new)
        self.n_changes += 1
        if change.cleared:
            self.n_cleared += 1
        if len(self.changes) < MAX_CHANGES_KEPT:
            self.changes.append(change)
        plan.changes.append(change)

    # --- after the last chunk --------------------------------------------------------------

    def finish(self) -> None:
        """Re-check stored perfusions the file does not mention of patients whose data changed."""
        if not self.changed_patients:
            return
        pks = self.store.patient_pks(list(self.changed_patients))
        for sp in self.store.perfusions_of(list(pks.values())):
            pid = sp.record.patient.patient_id
            if (pid, sp.record.perfusion.ilp_date.toordinal()) in self.keys:
                continue
            cells = {c: _fmt(c, v) for c, v in record_values(sp.record).items()}
            _, found = parse_record(cells, self.today, None)
            for p in found:
                if p.is_error:
                    self._error(
                        self.changed_patients[pid],
                        p.field,
                        p.value,
                        f"conflicts with the stored perfusion of patient {pid} on "
                        f"{sp.record.perfusion.ilp_date.isoformat()}: {p.reason}",
                    )

    def report(self, problems: list[Problem], written: bool) -> ImportReport:
        c = self.counts
        return ImportReport(
            rows=c.rows,
            patients_created=c.patients_created,
            patients_updated=c.patients_updated,
            perfusions_created=c.perfusions_created,
            perfusions_updated=c.perfusions_updated,
            perfusions_unchanged=c.perfusions_unchanged,
            changes=self.changes,
            warnings=problems,
            written=written,
            absent_columns=list(self.absent) if self.stored_patients else [],
            patients_not_in_file=self.stored_patients - c.patients_matched,
            perfusions_not_in_file=self.stored_perfusions
            - c.perfusions_updated
            - c.perfusions_unchanged,
            n_changes=self.n_changes,
            values_cleared=self.n_cleared,
        )

    def audit_summary(self) -> dict[str, object]:
        c = self.counts
        return {
            "rows": c.rows,
            "patients_created": c.patients_created,
            "patients_updated": c.patients_updated,
            "perfusions_created": c.perfusions_created,
            "perfusions_updated": c.perfusions_updated,
            "values_changed": self.n_changes,
            "values_cleared": self.n_cleared,
            "absent_columns": self.absent,
        }


class _DatabaseStore:
    """The stored registry as an import reads it, and where it writes each chunk."""

    writes = True

    def __init__(self, conn: Connection, actor: str = "") -> None:
        self.conn = conn
        self.actor = actor

    def patients_like(self, patient_ids: Collection[str]) -> list[repo.StoredPatient]:
        """Stored patients whose id equals one of ``patient_ids`` ignoring case."""
        return repo.patients_like(self.conn, patient_ids)

    def perfusions_of(self, patient_pks: Collection[int]) -> list[repo.StoredPerfusion]:
        """Stored perfusions of some patients (by primary key)."""
        return repo.perfusions_of(self.conn, patient_pks)

    def perfusions_by_id(self, perfusion_ids: Collection[str]) -> list[repo.StoredPerfusion]:
        """Stored perfusions with the given stable identifiers."""
        return repo.perfusions_by_id(self.conn, perfusion_ids)

    def patient_pks(self, patient_ids: Collection[str]) -> dict[str, int]:
        """Primary keys of the given stored patients."""
        return repo.patient_pks(self.conn, patient_ids)

    def write(
        self,
        plan: _ChunkPlan,
        stored_exact: dict[str, repo.StoredPatient],
        read: list[repo.StoredPerfusion],
    ) -> None:
        """Store what one chunk adds and changes (``read``: the stored perfusions it read)."""
        conn = self.conn
        repo.insert_patients(conn, plan.new_patients)
        repo.update_patients(conn, plan.changed_patients)
        pks = {pid: s.pk for pid, s in stored_exact.items()}
        if plan.new_patients:
            pks.update(repo.patient_pks(conn, [p.patient_id for p in plan.new_patients]))
        # updates first: a perfusion moved to another date frees its old date for a new one
        repo.update_perfusion_rows(conn, plan.changed_perfusions)
        repo.insert_perfusion_rows(
            conn,
            [
                (r, pks[r.patient.patient_id], perfusion_id)
                for r, perfusion_id in plan.new_perfusions
            ],
        )
        by_key: dict[tuple[str, str], dict[str, object]] = {}
        for c in plan.changes:
            entry = by_key.setdefault((c.entity, c.key), {})
            entry[c.column] = {"old": c.old, "new": c.new}
        repo.add_audit(
            conn,
            self.actor,
            "import",
            [(entity, key, {"changes": d}) for (entity, key), d in by_key.items()],
        )


class _DryRunStore(_DatabaseStore):
    """The stored registry read-only, with what the import would write kept in memory.

    Every read answers as the database would after the earlier chunks had been written: the
    records a chunk adds or changes overlay the stored ones (new records get negative primary
    keys), so a dry run finds exactly the problems, warnings and counts of the import.
    """

    writes = False

    def __init__(self, conn: Connection) -> None:
        super().__init__(conn)
        self.patients: dict[str, repo.StoredPatient] = {}  # new and changed, by patient id
        self.new_by_lower: dict[str, list[str]] = defaultdict(list)  # lower(id) -> new ids
        self.perfusions: dict[int, repo.StoredPerfusion] = {}  # new and changed, by pk
        self.new_of_patient: dict[int, list[int]] = defaultdict(list)  # patient pk -> new pks
        self.by_perfusion_id: dict[str, int] = {}  # perfusion_id of a new perfusion -> pk
        self.last_pk = 0

    def _new_pk(self) -> int:
        self.last_pk -= 1
        return self.last_pk

    def _current(self, sp: repo.StoredPerfusion) -> repo.StoredPerfusion:
        """``sp`` as written by the import so far, with its patient's values as written."""
        sp = self.perfusions.get(sp.pk, sp)
        written = self.patients.get(sp.record.patient.patient_id)
        if written is not None and written.patient != sp.record.patient:
            sp = replace(sp, record=replace(sp.record, patient=written.patient))
        return sp

    def patients_like(self, patient_ids: Collection[str]) -> list[repo.StoredPatient]:
        out = [
            self.patients.get(s.patient.patient_id, s) for s in super().patients_like(patient_ids)
        ]
        for lower in {pid.lower() for pid in patient_ids}:
            out.extend(self.patients[pid] for pid in self.new_by_lower.get(lower, []))
        return out

    def perfusions_of(self, patient_pks: Collection[int]) -> list[repo.StoredPerfusion]:
        stored = super().perfusions_of([pk for pk in patient_pks if pk > 0])
        out = [self._current(sp) for sp in stored]
        for pk in patient_pks:
            out.extend(self._current(self.perfusions[p]) for p in self.new_of_patient.get(pk, []))
        out.sort(key=lambda sp: (sp.record.patient.patient_id, sp.record.perfusion.ilp_date))
        return out

    def perfusions_by_id(self, perfusion_ids: Collection[str]) -> list[repo.StoredPerfusion]:
        out = [self._current(sp) for sp in super().perfusions_by_id(perfusion_ids)]
        out.extend(
            self._current(self.perfusions[self.by_perfusion_id[i]])
            for i in perfusion_ids
            if i in self.by_perfusion_id
        )
        return out

    def patient_pks(self, patient_ids: Collection[str]) -> dict[str, int]:
        pks = super().patient_pks([i for i in patient_ids if i not in self.patients])
        pks.update({i: self.patients[i].pk for i in patient_ids if i in self.patients})
        return pks

    def write(
        self,
        plan: _ChunkPlan,
        stored_exact: dict[str, repo.StoredPatient],
        read: list[repo.StoredPerfusion],
    ) -> None:
        for patient in plan.new_patients:
            pid = patient.patient_id
            self.patients[pid] = repo.StoredPatient(self._new_pk(), patient)
            self.new_by_lower[pid.lower()].append(pid)
        for patient in plan.changed_patients:
            pk = stored_exact[patient.patient_id].pk
            self.patients[patient.patient_id] = repo.StoredPatient(pk, patient)
        by_pk = {sp.pk: sp for sp in read}
        for pk, record in plan.changed_perfusions:
            self.perfusions[pk] = replace(by_pk[pk], record=record)
        for record, perfusion_id in plan.new_perfusions:
            pk = self._new_pk()
            pid = record.patient.patient_id
            patient_pk = (self.patients.get(pid) or stored_exact[pid]).pk
            self.perfusions[pk] = repo.StoredPerfusion(pk, patient_pk, perfusion_id, record)
            self.new_of_patient[patient_pk].append(pk)
            self.by_perfusion_id[perfusion_id] = pk


@dataclass
class _ChunkPlan:
    patients: dict[str, Patient] = field(default_factory=dict)
    first_lines: dict[str, int] = field(default_factory=dict)
    new_patients: list[Patient] = field(default_factory=list)
    changed_patients: list[Patient] = field(default_factory=list)
    new_perfusions: list[tuple[RegistryRecord, str]] = field(default_factory=list)
    changed_perfusions: list[tuple[int, RegistryRecord]] = field(default_factory=list)
    claimed: set[int] = field(default_factory=set)
    dates: dict[str, list[date]] = field(default_factory=lambda: defaultdict(list))
    changes: list[Change] = field(default_factory=list)


def _patient_values(patient: Patient) -> dict[str, object]:
    return {c: getattr(patient, c) for c in PATIENT_COLUMNS}


def _replace_patient(patient: Patient, values: dict[str, object]) -> Patient:
    merged = _patient_values(patient)
    merged.update(values)
    return Patient(**merged)  # type: ignore[arg-type]
