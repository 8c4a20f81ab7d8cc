"""``ilp demo``: a SYNTHETIC registry calibrated to the seed study, and its outcome study report."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from ilpkit import config
from ilpkit.cli.console import fail, safe, stdout
from ilpkit.cli.database import database_errors

if TYPE_CHECKING:
    from ilpkit.reporting.comparison import Headline

EXAMPLE_FILE = "example_registry_synthetic.csv"
DEMO_PATIENTS = 208
"""Patients in the demo registry, as in the seed study (Deroose 2011)."""
REGISTRY_FILE = "registry.sqlite3"
REPORT_DIR = "report"


def example_registry_path() -> Path:
    """Path of the bundled SYNTHETIC example registry (Registry CSV v1)."""
    return Path(str(resources.files("ilpkit.data") / EXAMPLE_FILE))


def _non_synthetic_patients(url: str) -> int:
    """Patients in an existing registry whose id does not start with SYN- (0 if none)."""
    from ilpkit.adapters.db import registry_repository as repo
    from ilpkit.services.unit_of_work import UnitOfWork

    with UnitOfWork(url) as uow:
        return sum(1 for pid in repo.stored_patients(uow.connection) if not pid.startswith("SYN-"))


def print_headlines(headlines: list[Headline], seed_label: str) -> None:
    """The registry's headline figures (95% CI) next to the published ones."""
    table = Table(title=f"SYNTHETIC demo registry vs {seed_label}")
    table.add_column("figure")
    table.add_column("per")
    table.add_column("SYNTHETIC registry (95% CI)", justify="right")
    table.add_column("n", justify="right")
    table.add_column(seed_label, justify="right")
    for h in headlines:
        table.add_row(h.label, h.unit, h.text, h.counts, h.published_text)
    stdout().print(table)


def demo(
    directory: Annotated[
        Path, typer.Option("--dir", help="Folder for the demo registry and its report.")
    ] = Path("ilp-demo"),
) -> None:
    """Create a SYNTHETIC demo registry and its outcome study report, in one step.

    Writes DIR/registry.sqlite3 with the default synthetic cohort (208 patients, the seed
    chosen to reproduce Deroose et al., J Clin Oncol 2011; see ilp synth), writes the report
    into DIR/report/ (figures as SVG; ilp report adds PNG copies), and prints the headline
    figures beside the published ones. Running it again replaces the demo registry and report.
    No real patient is in these data.

    [b]Examples[/b]

      ilp demo
      ilp demo --dir /tmp/ilp-demo
    """
    from ilpkit.cli.report_command import report_progress
    from ilpkit.reporting.comparison import headline_figures
    from ilpkit.reporting.published import seed_series
    from ilpkit.services.build_report import build_report
    from ilpkit.services.synthesize import synthesize
    from ilpkit.synthetic import DEFAULT_SEED

    if directory.exists() and not directory.is_dir():
        fail(f"--dir {directory} is a file; give a folder for the demo.")
    db_file = directory / REGISTRY_FILE
    url = config.database_url(str(db_file))
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        fail(f"cannot create {directory}: {exc.strerror or exc}")
    with database_errors(url):
        if db_file.exists() and _non_synthetic_patients(url):
            fail(
                f"{db_file} holds patients that are not SYNTHETIC (ids not starting with SYN-); "
                "ilp demo replaces only its own demo registry. Choose another --dir."
            )
        made = synthesize(DEMO_PATIENTS, DEFAULT_SEED, config.actor(), url=url, replace=True)
        stdout().print(
            f"[bold yellow]SYNTHETIC[/bold yellow] demo registry (no real patient): "
            f"{made.n_patients:,} patients, {made.n_perfusions:,} perfusions, centre SYNTH, "
            f"seed {made.seed} -> {safe(db_file)}"
        )
        try:
            with report_progress() as progress:
                files = build_report(url, directory / REPORT_DIR, progress=progress, png=False)
        except OSError as exc:
            fail(f"cannot write the report to {directory / REPORT_DIR}: {exc.strerror or exc}")
    seed = seed_series()
    print_headlines(headline_figures(files.results, seed), seed.label)
    out = stdout()
    out.print(f"Report (SYNTHETIC DATA): {safe(files.html)}")
    out.print(f"Open it in a browser. Figures as SVG files: {safe(files.out_dir / 'figures')}")
    out.print(
        f"PDF, and every figure as PNG too: ilp report --db {safe(db_file)} "
        f"--out {safe(files.out_dir)} --pdf"
    )


def register(app: typer.Typer) -> None:
    """Register ``ilp demo`` on ``app``."""
    app.command()(demo)
