"""``ilp synth``: a SYNTHETIC registry from the cohort model calibrated to the seed study."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from ilpkit import config
from ilpkit.cli.console import JsonOption, fail, safe, stage_progress, stderr, stdout
from ilpkit.cli.database import database_errors, safe_url

if TYPE_CHECKING:
    from ilpkit.services.synthesize import SynthReport

PROGRESS_MIN_PATIENTS = 20_000
"""Runs with more patients than this show progress on standard error."""

MAX_PATIENTS = 2_000_000
"""Largest cohort (about 2.2 million perfusions); bounds memory to a few GB."""

SUGGESTED_FILE = "synthetic-registry.csv"

_STAGES = {
    "generate": "Drawing SYNTHETIC patients",
    "database": "Writing rows to the database",
    "csv": "Writing CSV rows",
}


def _progress(show: bool) -> AbstractContextManager[Callable[[str, int, int], None]]:
    return stage_progress(_STAGES, show)


def synth(
    patients: Annotated[
        int,
        typer.Option(
            "--patients",
            min=1,
            max=MAX_PATIENTS,
            help="Number of synthetic patients (about 1.11 perfusions each).",
        ),
    ] = 208,
    seed: Annotated[
        int | None,
        typer.Option(
            "--seed",
            min=0,
            help="Seed of the generator; the same seed and size give the same registry. "
            "Default: the seed chosen so that the 208-patient registry reproduces every "
            "published figure (docs/synthetic-cohort.md).",
            show_default=False,
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help=f"Write Registry CSV v1 to this file (e.g. {SUGGESTED_FILE}).",
            show_default=False,
        ),
    ] = None,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="Write into this registry database (URL, or a path for SQLite); it must be "
            "empty unless --replace is given. Never taken from ILP_DATABASE_URL.",
            show_default=False,
        ),
    ] = None,
    replace: Annotated[
        bool,
        typer.Option(
            "--replace",
            help="Overwrite the --out file; delete the patients and perfusions already in the "
            "--db registry (in the same transaction; the audit log is kept).",
        ),
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Create a SYNTHETIC registry (no real patient) from a calibrated model.

    The model reproduces the published figures of the seed study, Deroose
    et al., J Clin Oncol 2011 (208 patients, 231 TNF + melphalan ILPs,
    1991-2005): response 71% (CR 18%), local recurrence 30%, limb salvage
    81%, 5-year overall survival 42%, and the published subgroup effects.

    Patient ids start with SYN- and the centre is SYNTH. The model and the
    source of each of its values: docs/synthetic-cohort.md.

    [b]Examples[/b]

      ilp synth --out synthetic-registry.csv       # the 208-patient demo
      ilp synth --patients 900000 --seed 7 --db synthetic.sqlite3
      ilp synth --db postgresql://ilp@dbhost/ilp_demo --replace
    """

    from ilpkit.services.synthesize import (
        OutputFileExistsError,
        RegistryNotEmptyError,
        synthesize,
    )
    from ilpkit.synthetic import DEFAULT_SEED

    if out is None and db is None:
        fail(
            "say where to write the SYNTHETIC registry: --out FILE.csv (for example "
            f"--out {SUGGESTED_FILE}), --db URL (an empty registry database), or both."
        )
    if seed is None:
        seed = DEFAULT_SEED
    url = None if db is None else config.database_url(db)
    if out is not None and out.is_dir():
        fail(f"--out {out} is a folder; give a file name such as {out / SUGGESTED_FILE}.")
    if out is not None and not out.parent.is_dir():
        fail(f"cannot write {out}: the folder {out.parent} does not exist.")
    try:
        with database_errors(url or ""), _progress(patients > PROGRESS_MIN_PATIENTS) as progress:
            report = synthesize(
                patients,
                seed,
                config.actor(),
                csv_path=out,
                url=url,
                replace=replace,
                progress=progress,
            )
    except OutputFileExistsError as exc:
        fail(f"{exc.path} already exists; use --replace to overwrite it, or choose another --out.")
    except RegistryNotEmptyError as exc:
        fail(
            f"the registry {safe_url(url or '')} already holds {exc.n_patients:,} patients and "
            f"{exc.n_perfusions:,} perfusions. A SYNTHETIC registry is written only into an empty "
            "registry: use --replace to delete them first (the audit log is kept), or choose "
            "another --db."
        )
    except OSError as exc:
        fail(f"cannot write {out}: {exc.strerror or exc}")
    if json_output:
        stdout().print_json(json.dumps(report.to_dict()))
        return
    _print_report(report, out)


def _print_report(report: SynthReport, out: Path | None) -> None:
    from ilpkit.synthetic.calibration import TARGETS

    console = stdout()
    where = []
    if report.database is not None:
        where.append(f"the registry {report.database}")
    if report.csv_path is not None:
        where.append(str(report.csv_path))
    console.print(
        f"[bold yellow]SYNTHETIC[/bold yellow] registry (no real patient): "
        f"{report.n_patients:,} patients, {report.n_perfusions:,} perfusions, centre SYNTH, "
        f"seed {report.seed}, written to {safe(' and '.join(where))}."
    )
    if report.replaced_patients or report.replaced_perfusions:
        console.print(
            f"Replaced {report.replaced_patients:,} patients and "
            f"{report.replaced_perfusions:,} perfusions that were in the registry."
        )
    table = Table(title="SYNTHETIC cohort vs the seed study (Deroose, J Clin Oncol 2011)")
    table.add_column("figure")
    table.add_column("per")
    table.add_column("synthetic", justify="right")
    table.add_column("published", justify="right")
    for target in TARGETS:
        table.add_row(
            target.label,
            target.unit,
            f"{100 * report.figures[target.name]:.1f}%",
            f"{100 * target.value:.1f}%",
        )
    console.print(table)
    if out is not None and "synth" not in out.name.casefold():
        stderr().print(
            f"Tip: put 'synthetic' in the file name (e.g. {SUGGESTED_FILE}) so that nobody "
            "takes these rows for real patients."
        )


def register(app: typer.Typer) -> None:
    """Register ``ilp synth`` on ``app``."""
    app.command()(synth)
