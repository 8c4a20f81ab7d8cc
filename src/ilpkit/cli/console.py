"""Shared console helpers for the CLI: one place that prints errors and exits."""

from __future__ import annotations

from typing import Annotated, NoReturn

import typer
from rich.console import Console

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help=(
            "Database URL, e.g. sqlite:///registry.sqlite3 or "
            "postgresql+psycopg://user@host/dbname. Default: $ILP_DATABASE_URL, else "
            "sqlite:///ilp.sqlite3 in the working directory."
        ),
        show_default=False,
    ),
]
"""The ``--db`` option every command takes."""

JsonOption = Annotated[
    bool, typer.Option("--json", help="Print one JSON object instead of tables.")
]
"""The ``--json`` option of commands with machine-readable output."""


def stdout() -> Console:
    """Console for results (standard output)."""
    return Console(highlight=False, soft_wrap=False)


def stderr() -> Console:
    """Console for messages and errors (standard error)."""
    return Console(stderr=True, highlight=False)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print ``message`` as an error on standard error and exit with ``code``."""
    stderr().print(f"[bold red]Error:[/bold red] {message}")
    raise typer.Exit(code)
