"""Registry commands: init, upgrade, import, validate, summary, dictionary, audit (and verify)."""

from __future__ import annotations

import csv
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text
from sqlalchemy.exc import SQLAlchemyError

from ilpkit import config
from ilpkit.adapters.csv.registry_csv import neutralise
from ilpkit.adapters.db.engine import SCHEMA_REVISION
from ilpkit.adapters.db.engine import safe_url as _safe_url
from ilpkit.cli.console import DbOption, JsonOption, fail, plain, safe, stderr, stdout
from ilpkit.domain.errors import Problem, RegistryValidationError

PROGRESS_MIN_ROWS = 2000
"""Imports with more rows than this show a progress bar."""
MAX_PROBLEMS_SHOWN = 200

FileArg = Annotated[
    Path,
    typer.Argument(help="Registry CSV v1 file (see docs/data-dictionary.md).", show_default=False),
]
CaseVariantsOption = Annotated[
    bool,
    typer.Option(
        "--allow-case-variants",
        help="Accept patient ids that differ from another only in upper/lower case (e.g. syn-1 "
        "beside SYN-1) as different patients; each is reported as a warning.",
    ),
]
ProblemsOption = Annotated[
    Path | None,
    typer.Option(
        "--problems",
        help=(
            "Also write every problem found to this CSV file (line, column, value, reason). "
            "An existing file is kept unless --replace is given."
        ),
        show_default=False,
    ),
]
ReplaceOption = Annotated[
    bool,
    typer.Option("--replace", help="Overwrite the --problems file if it already exists."),
]


@contextmanager
def database_errors(url: str) -> Iterator[None]:
    """Turn database failures into a clear message and exit code 1-3, never a traceback.

    Problems the user can act on (no registry, an older or newer schema, a busy registry, a
    server that does not answer, a malformed or unsupported URL) keep their own message.
    """
    from ilpkit.adapters.db.errors import RegistryDatabaseError

    try:
        yield
    except RegistryDatabaseError as exc:
        fail(str(exc), code=exc.exit_code)
    except SQLAlchemyError as exc:
        reason = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [""])[0]
        fail(f"cannot use the database {_safe_url(url)}: {reason}", code=3)


MAX_VALUE_CHARS_SHOWN = 200
"""Longer cell values are shortened in the problem table (the --problems file has them whole)."""


def _shown_value(value: object) -> Text:
    text = str(value).replace("\r", "\\r").replace("\n", "\\n")
    if len(text) > MAX_VALUE_CHARS_SHOWN:
        text = f"{text[:MAX_VALUE_CHARS_SHOWN]}… ({len(text):,} characters)"
    return Text(plain(text))


def _print_problems(
    problems: list[Problem], problems_file: Path | None, replace: bool = False
) -> None:
    """List the problems on standard error (and in ``problems_file``); nothing was saved."""
    errors = [p for p in problems if p.is_error]
    err = stderr()
    table = Table(title=f"{len(errors)} problem(s) - nothing was saved", title_style="bold red")
    for name in ("line", "column", "value", "reason"):
        table.add_column(name, overflow="fold")
    for p in problems[:MAX_PROBLEMS_SHOWN]:
        d = p.to_dict()
        reason = Text(plain(d["reason"]))
        if not p.is_error:
            reason = Text.assemble(("warning:", "yellow"), " ", reason)
        table.add_row(
            "" if p.line is None else str(p.line),
            Text(plain(p.field)),
            _shown_value(d["value"]),
            reason,
        )
    err.print(table)
    if len(problems) > MAX_PROBLEMS_SHOWN:
        err.print(
            f"... and {len(problems) - MAX_PROBLEMS_SHOWN:,} more; use --problems FILE.csv to "
            "write them all to a file."
        )
    if problems_file is not None:
        try:
            _write_problems(problems, problems_file, replace)
        except FileExistsError:
            fail(
                f"the problems above were not written to {problems_file}: it already exists "
                "(use --replace to overwrite it). Nothing was imported."
            )
        except OSError as exc:
            fail(
                f"the problems above could not be written to {problems_file} "
                f"({exc.strerror or exc}). Nothing was imported."
            )
        err.print(f"Every problem was written to {safe(problems_file)}.")


def _write_problems(problems: list[Problem], path: Path, replace: bool = False) -> None:
    """Write every problem to ``path`` as CSV, cells neutralised against spreadsheet formulas.

    Raises
    ------
    FileExistsError
        ``path`` exists and ``replace`` is false.
    OSError
        The file cannot be written.
    """
    with path.open("w" if replace else "x", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["line", "column", "value", "reason", "severity"])
        for p in problems:
            d = p.to_dict()
            cells = [d["line"] or "", d["field"], d["value"], d["reason"], d["severity"]]
            writer.writerow([neutralise(str(c)) for c in cells])


def _check_problems_file(problems_file: Path | None, replace: bool) -> None:
    """Refuse, before any work, a --problems file that exists (without --replace) or is a folder."""
    if problems_file is None:
        return
    if problems_file.is_dir():
        fail(f"--problems {problems_file} is a folder; give a file name such as problems.csv.")
    if problems_file.exists() and not replace:
        fail(
            f"--problems {problems_file} already exists; use --replace to overwrite it, or "
            "choose another file. Nothing was imported."
        )


@contextmanager
def _progress(label: str) -> Iterator[Callable[[int, int], None]]:
    progress = Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=stderr(),
        transient=True,
    )
    task = None

    def update(done: int, total: int) -> None:
        nonlocal task
        if total <= PROGRESS_MIN_ROWS:
            return
        if task is None:
            progress.start()
            task = progress.add_task(label, total=total)
        progress.update(task, completed=done)

    try:
        yield update
    finally:
        progress.stop()


def init(db: DbOption = None) -> None:
    """Create a registry database, or bring an existing one to the newest schema.

    [b]Examples[/b]

      ilp init                                   # ./ilp.sqlite3
      ilp init --db postgresql://ilp@dbhost/ilp  # a multi-centre PostgreSQL registry
    """
    url = config.database_url(db)
    _print_schema_state(url, _migrate(url), "created")


def upgrade(db: DbOption = None) -> None:
    """Bring an existing registry to the newest schema (the other commands never change it).

    Commands that read the registry (summary, analyze, report, audit, export) refuse a
    registry with an older schema and ask for this command.

    [b]Example[/b]

      ilp upgrade --db registry.sqlite3
    """
    url = config.database_url(db)
    _require_existing_sqlite(url)
    _print_schema_state(url, _migrate(url), "created (the database was empty)")


def _print_schema_state(url: str, before: str | None, created: str) -> None:
    """Say what :func:`_migrate` did: ``created`` when there was no schema (``before`` None)."""
    if before is None:
        state = created
    elif before == SCHEMA_REVISION:
        state = "already up to date"
    else:
        state = f"upgraded from revision {before}"
    stdout().print(f"Registry {safe(_safe_url(url))}: schema {state} (revision {SCHEMA_REVISION}).")


def _migrate(url: str) -> str | None:
    """Migrate the registry at ``url``; return the revision it had before."""
    from ilpkit.adapters.db.engine import migrate_registry

    with database_errors(url):
        return migrate_registry(url)


def import_(
    file: FileArg,
    db: DbOption = None,
    problems: ProblemsOption = None,
    json_output: JsonOption = False,
    replace: ReplaceOption = False,
    allow_case_variants: CaseVariantsOption = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check and report everything; save nothing.")
    ] = False,
) -> None:
    """Import a Registry CSV v1 file: every row or none.

    Rows are perfusions keyed by perfusion_id (written by 'ilp export') or else by patient_id +
    ilp_date: importing the same file twice creates no duplicates, and a file with changed
    values updates the stored ones and lists each change. A column absent from the file leaves
    stored values untouched; an empty cell clears a stored value (listed). Nothing is deleted:
    records the file does not mention stay (see 'ilp delete-perfusion', 'ilp delete-patient').
    On any problem nothing is saved and every problem is listed (line, column, value, reason).

    [b]Examples[/b]

      ilp import registry.csv
      ilp import registry.csv --dry-run
      ilp import registry.csv --db postgresql://ilp@dbhost/ilp --problems problems.csv
    """
    _import_or_validate(
        file, db, problems, json_output, dry_run, allow_case_variants, replace=replace
    )


def validate(
    file: FileArg,
    db: DbOption = None,
    problems: ProblemsOption = None,
    json_output: JsonOption = False,
    replace: ReplaceOption = False,
    allow_case_variants: CaseVariantsOption = False,
) -> None:
    """Check a Registry CSV v1 file without saving anything.

    The file is checked on its own and, when the registry database exists, against what is
    stored (what would be created, updated, cleared or conflict). The registry is only read
    (opened read-only): no write lock is taken and nothing is written.

    [b]Examples[/b]

      ilp validate registry.csv
      ilp validate registry.csv --problems problems.csv
    """
    _import_or_validate(file, db, problems, json_output, True, allow_case_variants, replace=replace)


def _import_or_validate(
    file: Path,
    db: str | None,
    problems_file: Path | None,
    json_output: bool,
    dry_run: bool,
    allow_case_variants: bool = False,
    replace: bool = False,
) -> None:
    from ilpkit.services.registry_import import import_registry

    _check_problems_file(problems_file, replace)

    url: str | None = config.database_url(db)
    sqlite_file = config.sqlite_path(url or "")
    if dry_run and sqlite_file is not None and not sqlite_file.exists():
        url = None  # nothing stored yet: check the file alone
    try:
        with database_errors(url or ""), _progress("Checking rows") as progress:
            report = import_registry(
                file,
                url,
                date.today(),
                config.actor(),
                dry_run=dry_run,
                progress=progress,
                allow_case_variants=allow_case_variants,
            )
    except RegistryValidationError as exc:
        if json_output:
            stdout().print_json(
                json.dumps({"ok": False, "problems": [p.to_dict() for p in exc.problems]})
            )
        _print_problems(exc.problems, problems_file, replace)
        raise typer.Exit(1) from None
    if json_output:
        stdout().print_json(json.dumps({"ok": True, **report.to_dict()}))
        return
    out = stdout()
    verb = "Imported" if report.written else "Checked"
    out.print(
        f"[bold green]{verb}[/bold green] {report.rows:,} rows from {safe(file.name)}: "
        f"{report.patients_created:,} new patients, {report.patients_updated:,} patients updated; "
        f"{report.perfusions_created:,} new perfusions, {report.perfusions_updated:,} updated, "
        f"{report.perfusions_unchanged:,} unchanged."
        + ("" if report.written else " Nothing was saved.")
    )
    would = "" if report.written else " would be"
    if report.patients_not_in_file or report.perfusions_not_in_file:
        out.print(
            f"Not in the file and kept as stored: {report.patients_not_in_file:,} patients, "
            f"{report.perfusions_not_in_file:,} perfusions (an import deletes nothing)."
        )
    if report.absent_columns:
        out.print(
            "Columns absent from the file, so their stored values were"
            + ("" if report.written else " would be")
            + " left as they are (not updated): "
            + ", ".join(report.absent_columns)
            + "."
        )
    if report.values_cleared:
        out.print(
            f"[bold yellow]{report.values_cleared:,} stored values{would or ' were'} cleared"
            "[/bold yellow] by empty cells (marked 'cleared' below)."
        )
    if report.changes:
        table = Table(title="Changed values" + ("" if report.written else " (would change)"))
        for name in ("record", "column", "old", "new"):
            table.add_column(name)
        shown = sorted(report.changes, key=lambda c: not c.cleared)[:MAX_PROBLEMS_SHOWN]
        for c in shown:
            table.add_row(
                Text(plain(f"{c.entity} {c.key}")),
                Text(plain(c.column)),
                Text(plain(c.old)),
                Text("(cleared)", style="yellow") if c.cleared else Text(plain(c.new)),
            )
        out.print(table)
        if report.n_changes > len(shown):
            out.print(
                f"... and {report.n_changes - len(shown):,} more changes (every change is in the "
                "audit log" + (")." if report.written else " once imported).")
            )
    if report.warnings:
        _print_warnings(report.warnings)


def _print_warnings(warnings: list[Problem]) -> None:
    err = stderr()
    err.print(f"[yellow]{len(warnings)} warning(s)[/yellow] (data kept):")
    for w in warnings[:MAX_PROBLEMS_SHOWN]:
        err.print(Text(f"  {plain(w.describe())}"))
    if len(warnings) > MAX_PROBLEMS_SHOWN:
        err.print(f"  ... and {len(warnings) - MAX_PROBLEMS_SHOWN:,} more.")


def _require_existing_sqlite(url: str) -> None:
    path = config.sqlite_path(url)
    if path is not None and not path.exists():
        fail(
            f"there is no registry at {path}. Create one with 'ilp init' or "
            "'ilp import FILE', or name another with --db."
        )


def summary(db: DbOption = None, json_output: JsonOption = False) -> None:
    """Summarise the registry: patients, perfusions, centres, accrual and follow-up span.

    [b]Example[/b]

      ilp summary --db registry.sqlite3
    """
    from ilpkit.services.registry_summary import summarise_registry

    url = config.database_url(db)
    _require_existing_sqlite(url)
    with database_errors(url):
        s = summarise_registry(url)
    if json_output:
        stdout().print_json(json.dumps(s.to_dict()))
        return
    table = Table(title=f"Registry summary - {safe(_safe_url(url))}", show_header=False)
    table.add_column("item", style="bold")
    table.add_column("value")
    if s.synthetic:
        table.caption = "SYNTHETIC DATA: made by ilp synth; it describes no real patient."
        table.add_row("Data", "[bold]SYNTHETIC[/bold] (ilp synth)")
    table.add_row("Patients", f"{s.n_patients:,}")
    table.add_row("Perfusions", f"{s.n_perfusions:,}")
    table.add_row("Centres", f"{s.n_centers:,}")
    table.add_row(
        "Accrual (perfusion dates)",
        f"{_d(s.first_ilp_date)} to {_d(s.last_ilp_date)}" if s.first_ilp_date else "-",
    )
    table.add_row("Latest follow-up", _d(s.last_followup_date))
    table.add_row(
        f"Median follow-up ({s.median_followup_method}, from first perfusion)",
        "-" if s.median_followup_years is None else f"{s.median_followup_years:.1f} years",
    )
    table.add_row("Deaths", f"{s.n_deaths:,}")
    out = stdout()
    out.print(table)
    if s.centers:
        per = Table(title="By centre")
        per.add_column("centre")
        per.add_column("patients", justify="right")
        per.add_column("perfusions", justify="right")
        for c in s.centers:
            per.add_row(Text(plain(c.center)), f"{c.n_patients:,}", f"{c.n_perfusions:,}")
        out.print(per)


def _d(value: date | None) -> str:
    return "-" if value is None else value.isoformat()


def dictionary(
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write the Markdown to this file instead of printing it."),
    ] = None,
) -> None:
    """Print the data dictionary of Registry CSV v1 (Markdown), generated from the code.

    [b]Example[/b]

      ilp dictionary --out docs/data-dictionary.md
    """
    from ilpkit.domain.fields import data_dictionary_markdown

    text = data_dictionary_markdown()
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        stdout().print(f"Wrote {safe(out)}.")


AUDIT_BROKEN_EXIT = 4
"""Exit status of ``ilp audit verify`` when the audit log's hash chain is broken (1-3 are
errors that stop a command; 4 means the check ran and found tampering)."""

AUDIT_ENTITIES = ("patient", "perfusion", "plan", "import", "export", "registry")
"""The kinds of record audit entries are about (``entity``)."""

AUDIT_CSV_COLUMNS = (
    "id",
    "at",
    "actor",
    "action",
    "entity",
    "entity_key",
    "details",
    "prev_hash",
    "entry_hash",
)


def audit(
    ctx: typer.Context,
    db: DbOption = None,
    limit: Annotated[int, typer.Option(help="Show at most this many entries.")] = 50,
    record: Annotated[
        tuple[str, str] | None,
        typer.Option(
            "--record",
            help="Only the entries of one record: ENTITY KEY, e.g. --record patient SYN-0001 "
            "(entities: patient, perfusion, plan, import, export, registry).",
            metavar="ENTITY KEY",
            show_default=False,
        ),
    ] = None,
    csv_out: Annotated[
        Path | None,
        typer.Option(
            "--csv",
            help="Write the entries (all of them, or those of --record; oldest first) to this "
            "CSV file instead of showing them. An existing file is kept unless --replace.",
            show_default=False,
        ),
    ] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Overwrite the --csv file if it already exists.")
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Show the audit log, newest first: who changed what, when, old and new values.

    Check that it was not altered with 'ilp audit verify'.

    [b]Examples[/b]

      ilp audit --limit 20

      ilp audit --record patient SYN-0001

      ilp audit --csv audit.csv

      ilp audit verify
    """
    if ctx.invoked_subcommand is not None:
        return  # ilp audit verify
    from ilpkit.adapters.db import registry_repository as repo
    from ilpkit.services.unit_of_work import UnitOfWork

    entity, key = record if record is not None else (None, None)
    if csv_out is not None:
        if csv_out.is_dir():
            fail(f"{safe(csv_out)} is a folder; give a file name for --csv.")
        if not csv_out.parent.is_dir():
            fail(f"the folder {safe(csv_out.parent)} does not exist; nothing was written.")
        if csv_out.exists() and not replace:
            fail(f"{safe(csv_out)} already exists; give --replace to overwrite it.")
    url = config.database_url(db)
    _require_existing_sqlite(url)
    if csv_out is not None:
        with database_errors(url), UnitOfWork(url, write=False) as uow:
            try:
                count = _write_audit_csv(
                    csv_out, repo.iter_audit_entries(uow.connection, entity=entity, entity_key=key)
                )
            except OSError as exc:
                fail(
                    f"could not write {safe(csv_out)}: {safe(exc.strerror or exc)}; nothing was "
                    "written."
                )
        stdout().print(f"Wrote {count} audit entries to {safe(csv_out)}.")
        return
    with database_errors(url), UnitOfWork(url, write=False) as uow:
        entries = repo.audit_entries(uow.connection, limit, entity=entity, entity_key=key)
    if json_output:
        stdout().print_json(json.dumps(entries, default=str))
        return
    out = stdout()
    which = "" if record is None else f" of {plain(entity)} {plain(key)}"
    out.print(Text(f"Audit log{which}", style="bold"), "(newest first; times in UTC)")
    if not entries:
        known = (
            "" if entity in (None, *AUDIT_ENTITIES) else f" (entities: {', '.join(AUDIT_ENTITIES)})"
        )
        out.print(f"  no entries{known}")
    for e in entries:
        head = Text(f"{str(e['at'])[:16]}  ", style="bold")
        head.append(plain(f"{e['actor']} {e['action']} "))
        head.append(plain(f"{e['entity']} {e['entity_key']}"), style="cyan")
        out.print(head, soft_wrap=False, overflow="fold")
        for line in audit_detail_lines(e["details"]):
            out.print(Text(plain(f"    {line}")), soft_wrap=False, overflow="fold")


def _audit_csv_cell(name: str, value: object) -> str:
    if value is None:
        return ""
    if name == "details":
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    elif name == "at" and isinstance(value, datetime):
        from ilpkit.adapters.db.audit_chain import utc_iso

        text = utc_iso(value)
    else:
        text = str(value)
    return neutralise(text)


def _write_audit_csv(path: Path, entries: Iterator[dict[str, object]]) -> int:
    """Write ``entries`` as CSV (cells neutralised against formulas); return how many.

    The rows go to a temporary file in the same folder that replaces ``path`` only when
    complete, so a failure leaves no partial file (and an existing file as it was).
    """
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    count = 0
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(AUDIT_CSV_COLUMNS)
            for entry in entries:
                writer.writerow([_audit_csv_cell(c, entry.get(c)) for c in AUDIT_CSV_COLUMNS])
                count += 1
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return count


def audit_verify(db: DbOption = None, json_output: JsonOption = False) -> None:
    """Check that the audit log is complete and unaltered: walk its hash chain.

    Each entry holds the hash of the entry before it; an entry changed, deleted or reordered
    after it was written breaks the chain there. Prints "audit log intact: N entries" (exit
    status 0) or the first broken link, with the entry id and what differs (exit status 4).
    Only reads the registry. Keep the printed hash of the newest entry elsewhere to be able to
    tell later that no newest entries were removed.

    [b]Example[/b]

      ilp audit verify --db postgresql://registry@dbhost/ilp
    """
    from ilpkit.adapters.db import registry_repository as repo
    from ilpkit.services.unit_of_work import UnitOfWork

    url = config.database_url(db)
    _require_existing_sqlite(url)
    with database_errors(url), UnitOfWork(url, write=False) as uow:
        report = repo.verify_audit_chain(uow.connection)
    if json_output:
        payload = {
            "intact": report.intact,
            "entries_checked": report.entries,
            "head_id": report.head_id,
            "head_hash": report.head_hash,
            "broken_id": report.broken_id,
            "problem": report.problem,
        }
        stdout().print_json(json.dumps(payload))
    elif report.intact:
        out = stdout()
        out.print(
            f"audit log intact: {report.entries} {'entry' if report.entries == 1 else 'entries'}"
        )
        if report.head_id is not None:
            out.print(f"newest entry: id {report.head_id}, hash {report.head_hash}", soft_wrap=True)
    else:
        stdout().print(
            Text(
                f"audit log BROKEN at entry {report.broken_id}: {report.problem}. "
                f"The {report.entries} entries before it are intact (up to entry "
                f"{report.head_id if report.head_id is not None else '-'}).",
                style="bold red",
            ),
            soft_wrap=False,
            overflow="fold",
        )
    if not report.intact:
        raise typer.Exit(AUDIT_BROKEN_EXIT)


def audit_detail_lines(details: object) -> list[str]:
    """An audit entry's details as short ``name: value`` lines (changes as ``old -> new``).

    Examples
    --------
    >>> audit_detail_lines({"rows": 2, "changes": {"sex": {"old": "F", "new": "M"}}})
    ['rows: 2', 'sex: F -> M']
    """
    if not isinstance(details, dict):
        return [] if details in (None, "", {}) else [str(details)]
    lines: list[str] = []
    for name, value in details.items():
        if name == "changes" and isinstance(value, dict):
            for column, change in value.items():
                if isinstance(change, dict) and set(change) == {"old", "new"}:
                    old = change["old"] if change["old"] not in (None, "") else "(empty)"
                    new = change["new"] if change["new"] not in (None, "") else "(empty)"
                    lines.append(f"{column}: {old} -> {new}")
                else:
                    lines.append(f"{column}: {json.dumps(change, default=str)}")
        elif isinstance(value, dict | list):
            lines.append(f"{name}: {json.dumps(value, default=str)}")
        else:
            lines.append(f"{name}: {value}")
    return lines


def register(app: typer.Typer) -> None:
    """Register the registry commands on ``app``."""
    app.command()(init)
    app.command()(upgrade)
    app.command("import")(import_)
    app.command()(validate)
    app.command()(summary)
    app.command()(dictionary)
    audit_app = typer.Typer(rich_markup_mode="rich")
    audit_app.callback(invoke_without_command=True)(audit)
    audit_app.command("verify")(audit_verify)
    app.add_typer(audit_app, name="audit")
