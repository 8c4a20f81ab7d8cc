"""REDCap commands: import-redcap, redcap-mapping, export-redcap (thin entry points)."""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from ilpkit import config
from ilpkit.adapters.csv.registry_csv import neutralise
from ilpkit.cli.console import DbOption, JsonOption, fail, plain, safe, stderr, stdout
from ilpkit.cli.registry_commands import (
    MAX_PROBLEMS_SHOWN,
    _require_existing_sqlite,
    database_errors,
)

DictionaryOption = Annotated[
    Path,
    typer.Option(
        "--dictionary",
        help="The REDCap project's data dictionary (CSV, as downloaded from the Online Designer "
        "or the API metadata export).",
        show_default=False,
    ),
]
ReplaceOption = Annotated[
    bool, typer.Option("--replace", help="Overwrite the output if it exists.")
]


def import_redcap(
    dictionary: DictionaryOption,
    records: Annotated[
        Path,
        typer.Option(
            "--records",
            help="The project's records as raw data (CSV; record id first; repeating "
            "instruments and events included).",
            show_default=False,
        ),
    ],
    mapping: Annotated[
        Path,
        typer.Option(
            "--mapping",
            help="Mapping file (TOML) from REDCap fields and codes to registry fields; start "
            "one with 'ilp redcap-mapping'.",
            show_default=False,
        ),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check and report everything; save nothing.")
    ] = False,
    problems: Annotated[
        Path | None,
        typer.Option(
            "--problems",
            help="Also write every problem to this CSV file (an existing file is kept unless "
            "--replace is given).",
            show_default=False,
        ),
    ] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Overwrite the --problems file if it exists.")
    ] = False,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Import a REDCap project into the registry through a mapping file: every row or none.

    The records become Registry CSV v1 rows (one per perfusion) and go through the same
    validation and all-or-nothing import as 'ilp import'. Every problem is listed with its
    REDCap record id, instrument, instance, field, value and reason; then nothing is saved.
    See docs/interop.md ("Migrating a centre from REDCap").

    [b]Examples[/b]

      ilp redcap-mapping --dictionary dict.csv --out mapping.toml
      ilp import-redcap --dictionary dict.csv --records records.csv --mapping mapping.toml --dry-run
      ilp import-redcap --dictionary dict.csv --records records.csv --mapping mapping.toml
    """
    from ilpkit.adapters.redcap.dictionary import RedcapFileError
    from ilpkit.adapters.redcap.mapping_file import MappingFileError
    from ilpkit.services.redcap_import import (
        RedcapImportError,
        problems_sorted,
    )
    from ilpkit.services.redcap_import import (
        import_redcap as run_import,
    )

    if problems is not None and (problems.is_dir() or (problems.exists() and not replace)):
        fail(
            f"--problems {problems} already exists or is a folder; use --replace or another "
            "file name. Nothing was imported."
        )
    url: str | None = config.database_url(db)
    sqlite_file = config.sqlite_path(url or "")
    if dry_run and sqlite_file is not None and not sqlite_file.exists():
        url = None  # nothing stored yet: check against an empty registry
    try:
        with database_errors(url or ""):
            report = run_import(
                dictionary, records, mapping, url, date.today(), config.actor(), dry_run=dry_run
            )
    except (RedcapFileError, MappingFileError) as exc:
        fail(f"{exc}. Nothing was imported.")
    except RedcapImportError as exc:
        found = problems_sorted(exc.problems)
        if json_output:
            stdout().print_json(json.dumps({"ok": False, "problems": [p.to_dict() for p in found]}))
        _print_problems(found)
        if problems is not None:
            _write_problems(found, problems)
            stderr().print(f"Every problem was written to {safe(problems)}.")
        raise typer.Exit(1) from None
    if json_output:
        stdout().print_json(json.dumps({"ok": True, **report.to_dict()}))
        return
    r = report.registry
    verb = "Imported" if r.written else "Checked"
    stdout().print(
        plain(
            f"{verb} {report.perfusions:,} perfusions of {report.records:,} REDCap records from "
            f"{records.name}: {r.patients_created:,} new patients, {r.patients_updated:,} "
            f"patients updated; {r.perfusions_created:,} new perfusions, "
            f"{r.perfusions_updated:,} updated, {r.perfusions_unchanged:,} unchanged."
            + ("" if r.written else " Nothing was saved.")
        ),
        markup=False,
    )
    if r.absent_columns:
        stdout().print(
            plain(
                "Registry fields not in the mapping, so their stored values were"
                + ("" if r.written else " would be")
                + " left as they are: "
                + ", ".join(r.absent_columns)
                + "."
            ),
            markup=False,
        )
    if report.warnings:
        err = stderr()
        err.print(f"[yellow]{len(report.warnings)} warning(s)[/yellow] (data kept):")
        for w in report.warnings[:MAX_PROBLEMS_SHOWN]:
            err.print(Text(f"  {plain(w.describe())}"))


def _print_problems(found: list) -> None:
    errors = [p for p in found if p.is_error]
    table = Table(title=f"{len(errors)} problem(s) - nothing was saved", title_style="bold red")
    for name in ("record", "instrument", "instance", "field", "value", "reason"):
        table.add_column(name, overflow="fold")
    for p in found[:MAX_PROBLEMS_SHOWN]:
        reason = Text(plain(p.reason))
        if not p.is_error:
            reason = Text.assemble(("warning:", "yellow"), " ", reason)
        field = p.field + (
            f" ({p.registry_field})" if p.registry_field and p.registry_field != p.field else ""
        )
        table.add_row(
            Text(plain(p.record_id)),
            Text(plain(p.instrument)),
            Text(plain(p.instance)),
            Text(plain(field)),
            Text(plain(p.to_dict()["value"])),
            reason,
        )
    stderr().print(table)
    if len(found) > MAX_PROBLEMS_SHOWN:
        stderr().print(
            f"... and {len(found) - MAX_PROBLEMS_SHOWN:,} more; use --problems FILE.csv to "
            "write them all to a file."
        )


def _write_problems(found: list, path: Path) -> None:
    try:
        with path.open("w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out)
            columns = [
                "record_id",
                "instrument",
                "instance",
                "field",
                "registry_field",
                "value",
                "reason",
                "line",
                "severity",
            ]
            writer.writerow(columns)
            for p in found:
                d = p.to_dict()
                writer.writerow(
                    [neutralise(str(d[c] if d[c] is not None else "")) for c in columns]
                )
    except OSError as exc:
        fail(
            f"the problems could not be written to {path} ({exc.strerror or exc}). Nothing was "
            "imported."
        )


def redcap_mapping(
    dictionary: DictionaryOption,
    out: Annotated[
        Path, typer.Option("--out", help="Mapping file (TOML) to write.", show_default=False)
    ],
    replace: ReplaceOption = False,
) -> None:
    """Write a starting mapping file for a REDCap project, for 'ilp import-redcap'.

    Every registry field is matched to a REDCap field by name, by label similarity and by
    type; coded choices by their labels. What could not be matched is written as a commented
    entry and listed here. Read and complete the file before importing.

    [b]Example[/b]

      ilp redcap-mapping --dictionary dict.csv --out mapping.toml
    """
    from ilpkit.adapters.redcap.dictionary import RedcapFileError
    from ilpkit.services.redcap_mapping import MappingExistsError, suggest_mapping

    try:
        result = suggest_mapping(dictionary, out, replace=replace)
    except (RedcapFileError, MappingExistsError) as exc:
        fail(f"{exc}. Nothing was written." if "nothing was written" not in str(exc) else str(exc))
    except OSError as exc:
        fail(f"cannot write {out}: {exc.strerror or exc}. Nothing was written.")
    console = stdout()
    console.print(
        plain(
            f"Wrote {out}: {len(result.matched)} registry fields matched, "
            f"{len(result.unmatched)} not matched"
            + (
                f"; perfusion instrument '{result.perfusion_instrument}'"
                if result.perfusion_instrument
                else "; no separate perfusion instrument"
            )
            + "."
        ),
        markup=False,
    )
    if result.unmatched:
        console.print(
            plain("Not matched (commented in the file): " + ", ".join(result.unmatched) + "."),
            markup=False,
        )
    for name, codes in result.unmatched_codes.items():
        console.print(
            plain(f"Codes of {name} without a registry value: {', '.join(codes)}."), markup=False
        )
    console.print("Check every line before 'ilp import-redcap'.", markup=False)


def export_redcap(
    folder: Annotated[
        Path,
        typer.Argument(
            help="Folder to write data_dictionary.csv and records.csv to (created if missing).",
            show_default=False,
        ),
    ],
    replace: ReplaceOption = False,
    db: DbOption = None,
) -> None:
    """Export the registry for REDCap: a data dictionary and the records to import.

    FOLDER/data_dictionary.csv defines the instruments patient, follow_up and perfusion (a
    repeating instrument) with the registry's types, choices and ranges; FOLDER/records.csv
    holds the data for REDCap's Data Import Tool. Recorded in the audit log; existing files
    are kept unless --replace is given. See docs/interop.md.

    [b]Example[/b]

      ilp export-redcap redcap-export/
    """
    from ilpkit.services.redcap_export import RedcapExportError
    from ilpkit.services.redcap_export import export_redcap as run_export

    url = config.database_url(db)
    _require_existing_sqlite(url)
    try:
        with database_errors(url):
            report = run_export(url, folder, config.actor(), replace=replace)
    except RedcapExportError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot write to {folder}: {exc.strerror or exc}. Nothing was exported.")
    out = stdout()
    out.print(
        plain(
            f"Exported {report.patients:,} patients and {report.perfusions:,} perfusions "
            f"({report.rows:,} REDCap rows, {report.fields} fields) to {report.folder}: "
            "data_dictionary.csv, records.csv."
        ),
        markup=False,
    )
    if report.synthetic:
        out.print(
            "SYNTHETIC DATA: this registry was made by ilp synth; the dictionary says so.",
            markup=False,
        )
    if report.ids_starting_with_dash:
        out.print(
            plain(
                f"{report.ids_starting_with_dash:,} ids start with '-': import records.csv with "
                "REDCap's Data Import Tool; do not open it in a spreadsheet program, which "
                "could read them as formulas."
            ),
            markup=False,
        )


def register(app: typer.Typer) -> None:
    """Register ``import-redcap``, ``redcap-mapping`` and ``export-redcap`` on ``app``."""
    app.command("import-redcap")(import_redcap)
    app.command("redcap-mapping")(redcap_mapping)
    app.command("export-redcap")(export_redcap)
