"""Registry commands: init, import, validate, export, summary."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Register the registry commands on ``app``."""
