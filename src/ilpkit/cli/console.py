"""Shared console helpers for the CLI: one place that prints errors and exits."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help=(
            "Database URL: sqlite:///registry.sqlite3 for a SQLite file, "
            "postgresql+psycopg://user@host/db for PostgreSQL. Default: $ILP_DATABASE_URL, else "
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


@contextmanager
def stage_progress(
    labels: Mapping[str, str], show: bool = True
) -> Iterator[Callable[[str, int, int], None]]:
    """A Rich progress display on standard error, one line per stage of a long job.

    Yields ``update(stage, done, total)``; ``labels`` maps stage keys to the words shown.
    """
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=stderr(),
        transient=True,
        disable=not show,
    )
    tasks: dict[str, TaskID] = {}

    def update(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = progress.add_task(labels.get(stage, stage), total=total)
        progress.update(tasks[stage], completed=done, total=total)

    with progress:
        yield update
