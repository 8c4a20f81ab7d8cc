"""Shared console helpers for the CLI: one place that prints errors and exits.

Text that comes from a file, the database or the command line is printed only through
:func:`plain` (for Rich ``Text`` objects and plain output) or :func:`safe` (inside Rich markup):
terminal escape sequences and control characters are removed, and ``[...]`` is never read as
Rich markup, so a cell such as ``[/bold]`` or ``[link=...]`` shows as it is written.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.text import Text

_ESCAPE_SEQUENCE = re.compile(
    r"""
    (?:\x1b\[|\x9b) [\x30-\x3f]* [\x20-\x2f]* [\x40-\x7e]?          # CSI: colours, clear screen
  | (?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f]) .*? (?:\x07|\x1b\\|\x9c|$)  # OSC/DCS/APC: links, titles
  | \x1b [\x20-\x2f]* [\x30-\x7e]?                                # any other ESC sequence
    """,
    re.VERBOSE | re.DOTALL,
)
"""Terminal escape sequences (ECMA-48), 7-bit and 8-bit forms, removed whole by :func:`plain`."""

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
"""Control characters (C0 but tab and newline, DEL, C1) and the bidirectional overrides that can
make text display in another order than it is stored."""

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


def plain(value: object, multiline: bool = False) -> str:
    """``value`` as text that is safe to show on a terminal, for Rich ``Text`` or plain output.

    Terminal escape sequences (colours, screen clearing, hyperlinks, window titles) are removed
    whole, then every remaining control character. Tabs become spaces; line breaks are kept
    when ``multiline`` is true and become spaces otherwise.

    Examples
    --------
    >>> plain("SYN-1\\x1b[2J\\x1b]8;;http://x\\x07click\\x1b]8;;\\x07")
    'SYN-1click'
    """
    text = _CONTROL.sub("", _ESCAPE_SEQUENCE.sub("", str(value)))
    text = text.replace("\t", " ")
    return text if multiline else text.replace("\n", " ")


def safe(value: object, multiline: bool = False) -> str:
    """``value`` as text to put inside a Rich markup string: :func:`plain`, then escaped so that
    ``[...]`` is shown as written and never read as markup.

    Examples
    --------
    >>> safe("[link=http://evil.example]click[/link]")
    '\\\\[link=http://evil.example]click\\\\[/link]'
    """
    return escape(plain(value, multiline))


def stdout() -> Console:
    """Console for results (standard output)."""
    return Console(highlight=False, soft_wrap=False, emoji=False)


def stderr() -> Console:
    """Console for messages and errors (standard error)."""
    return Console(stderr=True, highlight=False, emoji=False)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print ``message`` as an error on standard error and exit with ``code``.

    ``message`` is plain text (see :func:`plain`; line breaks kept), never read as Rich markup,
    so it may quote values from files, the database or the command line as they are.
    """
    error = Text("Error:", style="bold red")
    stderr().print(Text.assemble(error, " ", plain(message, multiline=True)))
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
