"""Registry commands: init, import, validate, export, summary, dictionary, audit."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from ilpkit import config
from ilpkit.cli.console import DbOption, JsonOption, fail, stderr, stdout
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
        help="Also write every problem found to this CSV file (line, column, value, reason).",
        show_default=False,
    ),
]


def _safe_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url


@contextmanager
def database_errors(url: str) -> Iterator[None]:
    """Turn database failures into a clear message and exit code 3, never a traceback."""
    try:
        yield
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        fail(f"cannot use the database {_safe_url(url)}: {reason}", code=3)


def _print_problems(problems: list[Problem], problems_file: Path | None) -> None:
    errors = [p for p in problems if p.is_error]
    err = stderr()
    table = Table(title=f"{len(errors)} problem(s) - nothing was saved", title_style="bold red")
    for name in ("line", "column", "value", "reason"):
        table.add_column(name, overflow="fold")
    for p in problems[:MAX_PROBLEMS_SHOWN]:
        d = p.to_dict()
        reason = str(d["reason"]) if p.is_error else f"[yellow]warning:[/yellow] {d['reason']}"
        table.add_row(
            "" if p.line is None else str(p.line),
            p.field,
            str(d["value"]).replace("\n", "\\n"),
            reason,
        )
    err.print(table)
    if len(problems) > MAX_PROBLEMS_SHOWN:
        err.print(
            f"... and {len(problems) - MAX_PROBLEMS_SHOWN:,} more; use --problems FILE.csv to "
            "write them all to a file."
        )
    if problems_file is not None:
        _write_problems(problems, problems_file)
        err.print(f"Every problem was written to {problems_file}.")


def _write_problems(problems: list[Problem], path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["line", "column", "value", "reason", "severity"])
        for p in problems:
            d = p.to_dict()
            writer.writerow([d["line"] or "", d["field"], d["value"], d["reason"], d["severity"]])


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
    from ilpkit.adapters.db.engine import ensure_schema, head_revision, make_engine

    url = config.database_url(db)
    with database_errors(url):
        engine = make_engine(url)
        try:
            migrated = ensure_schema(engine)
        finally:
            engine.dispose()
    state = "created or upgraded" if migrated else "already up to date"
    stdout().print(f"Registry {_safe_url(url)}: schema {state} (revision {head_revision()}).")


def import_(
    file: FileArg,
    db: DbOption = None,
    problems: ProblemsOption = None,
    json_output: JsonOption = False,
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
    _import_or_validate(file, db, problems, json_output, dry_run, allow_case_variants)


def validate(
    file: FileArg,
    db: DbOption = None,
    problems: ProblemsOption = None,
    json_output: JsonOption = False,
    allow_case_variants: CaseVariantsOption = False,
) -> None:
    """Check a Registry CSV v1 file without saving anything.

    The file is checked on its own and, when the registry database exists, against what is
    stored (what would be created, updated, cleared or conflict).

    [b]Examples[/b]

      ilp validate registry.csv
      ilp validate registry.csv --problems problems.csv
    """
    _import_or_validate(file, db, problems, json_output, True, allow_case_variants)


def _import_or_validate(
    file: Path,
    db: str | None,
    problems_file: Path | None,
    json_output: bool,
    dry_run: bool,
    allow_case_variants: bool = False,
) -> None:
    from ilpkit.services.registry_import import import_registry

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
        _print_problems(exc.problems, problems_file)
        raise typer.Exit(1) from None
    if json_output:
        stdout().print_json(json.dumps({"ok": True, **report.to_dict()}))
        return
    out = stdout()
    verb = "Imported" if report.written else "Checked"
    out.print(
        f"[bold green]{verb}[/bold green] {report.rows:,} rows from {escape(file.name)}: "
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
                escape(f"{c.entity} {c.key}"),
                c.column,
                escape(c.old),
                "[yellow](cleared)[/yellow]" if c.cleared else escape(c.new),
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
        err.print(f"  {w.describe()}", markup=False)
    if len(warnings) > MAX_PROBLEMS_SHOWN:
        err.print(f"  ... and {len(warnings) - MAX_PROBLEMS_SHOWN:,} more.")


def export(
    file: Annotated[Path, typer.Argument(help="CSV file to write.", show_default=False)],
    db: DbOption = None,
) -> None:
    """Export the whole registry as Registry CSV v1 (re-importable as it is).

    Cells that a spreadsheet would run as a formula are written with a leading apostrophe.

    [b]Example[/b]

      ilp export registry-2026-11-27.csv
    """
    from ilpkit.services.registry_export import export_registry

    url = config.database_url(db)
    _require_existing_sqlite(url)
    try:
        with database_errors(url):
            count = export_registry(url, file, config.actor())
    except OSError as exc:
        fail(f"cannot write {file}: {exc.strerror}")
    stdout().print(f"Exported {count:,} perfusions to {file}.")


def _require_existing_sqlite(url: str) -> None:
    path = config.sqlite_path(url)
    if path is not None and not path.exists():
        fail(
            f"there is no registry at {path}. Create one with 'ilp init' or 'ilp import FILE', "
            "or name another with --db."
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
    table = Table(title=f"Registry summary - {_safe_url(url)}", show_header=False)
    table.add_column("item", style="bold")
    table.add_column("value")
    table.add_row("Patients", f"{s.n_patients:,}")
    table.add_row("Perfusions", f"{s.n_perfusions:,}")
    table.add_row("Centres", f"{s.n_centers:,}")
    table.add_row(
        "Accrual (perfusion dates)",
        f"{_d(s.first_ilp_date)} to {_d(s.last_ilp_date)}" if s.first_ilp_date else "-",
    )
    table.add_row("Latest follow-up", _d(s.last_followup_date))
    table.add_row(
        "Median follow-up (first perfusion to last contact)",
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
            per.add_row(c.center, f"{c.n_patients:,}", f"{c.n_perfusions:,}")
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
        stdout().print(f"Wrote {out}.")


def audit(
    db: DbOption = None,
    limit: Annotated[int, typer.Option(help="Show at most this many entries.")] = 50,
    json_output: JsonOption = False,
) -> None:
    """Show the audit log, newest first: who changed what, when, old and new values.

    [b]Example[/b]

      ilp audit --limit 20
    """
    from ilpkit.adapters.db import registry_repository as repo
    from ilpkit.services.unit_of_work import UnitOfWork

    url = config.database_url(db)
    _require_existing_sqlite(url)
    with database_errors(url), UnitOfWork(url) as uow:
        entries = repo.audit_entries(uow.connection, limit)
    if json_output:
        stdout().print_json(json.dumps(entries, default=str))
        return
    table = Table(title="Audit log (newest first)")
    for name in ("at (UTC)", "actor", "action", "record", "details"):
        table.add_column(name, overflow="fold")
    for e in entries:
        table.add_row(
            str(e["at"])[:19],
            str(e["actor"]),
            str(e["action"]),
            f"{e['entity']} {e['entity_key']}",
            json.dumps(e["details"], default=str),
        )
    stdout().print(table)


def register(app: typer.Typer) -> None:
    """Register the registry commands on ``app``."""
    app.command()(init)
    app.command("import")(import_)
    app.command()(validate)
    app.command()(export)
    app.command()(summary)
    app.command()(dictionary)
    app.command()(audit)
