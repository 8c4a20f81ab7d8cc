"""``ilp demo``: build a registry from the bundled SYNTHETIC example and summarise it."""

from __future__ import annotations

from datetime import date
from importlib import resources
from pathlib import Path
from typing import Annotated

import typer

from ilpkit import config
from ilpkit.cli.console import fail, stdout
from ilpkit.cli.registry_commands import database_errors, summary
from ilpkit.domain.errors import RegistryValidationError

EXAMPLE_FILE = "example_registry_synthetic.csv"


def example_registry_path() -> Path:
    """Path of the bundled SYNTHETIC example registry (Registry CSV v1)."""
    return Path(str(resources.files("ilpkit.data") / EXAMPLE_FILE))


def demo(
    directory: Annotated[Path, typer.Option("--dir", help="Folder for the demo registry.")] = Path(
        "ilp-demo"
    ),
) -> None:
    """Create ilp-demo/registry.sqlite3 from the bundled SYNTHETIC example and summarise it.

    The example data are synthetic: no real patient is in them.

    [b]Example[/b]

      ilp demo --dir /tmp/ilp-demo
    """
    from ilpkit.services.registry_import import import_registry

    directory.mkdir(parents=True, exist_ok=True)
    db_file = directory / "registry.sqlite3"
    url = config.database_url(str(db_file))
    try:
        with database_errors(url):
            report = import_registry(example_registry_path(), url, date.today(), config.actor())
    except RegistryValidationError as exc:  # the bundled file is tested; this is a safeguard
        fail("the bundled example did not import: " + "; ".join(p.describe() for p in exc.problems))
    stdout().print(
        f"SYNTHETIC example registry: {report.rows} perfusions imported into {db_file} "
        f"({report.perfusions_created} new, {report.perfusions_unchanged} already there)."
    )
    summary(db=str(db_file), json_output=False)


def register(app: typer.Typer) -> None:
    """Register ``ilp demo`` on ``app``."""
    app.command()(demo)
