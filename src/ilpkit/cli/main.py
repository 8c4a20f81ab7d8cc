"""The ``ilp`` command: one Typer application; each command lives in its own module."""

from __future__ import annotations

import gc
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ilpkit import __version__

if TYPE_CHECKING:
    import typer

_startup_gc_paused = False
"""True while :func:`run` keeps the cyclic garbage collector paused for the start-up."""

COMMAND_MODULES: dict[str, str] = {
    "init": "registry_commands",
    "upgrade": "registry_commands",
    "import": "registry_commands",
    "validate": "registry_commands",
    "summary": "registry_commands",
    "dictionary": "registry_commands",
    "audit": "registry_commands",
    "delete-perfusion": "delete_commands",
    "delete-patient": "delete_commands",
    "demo": "demo_command",
    "plan": "planning_commands",
    "plans": "planning_commands",
    "leakage": "planning_commands",
    "synth": "synth_command",
    "analyze": "analyze_command",
    "report": "report_command",
    "export": "export_command",
    "user": "user_commands",
    "serve": "serve_command",
    "predict": "predict_command",
    "import-redcap": "redcap_commands",
    "redcap-mapping": "redcap_commands",
    "export-redcap": "redcap_commands",
}
"""Which module registers each top-level command (in the order of ``ilp --help``)."""


def _modules_for(argv: Sequence[str] | None) -> list[str]:
    """The command modules to import for a command line.

    Running one command needs only the module that registers it, so ``ilp predict`` does not
    import what ``ilp import`` or ``ilp serve`` need (start-up time). Anything else - no
    arguments, ``--help``, ``--version``, an unknown or abbreviated name - registers every
    module, so that help is complete and a mistyped command gets Typer's usual answer.
    """
    every = list(dict.fromkeys(COMMAND_MODULES.values()))
    if argv is None:
        return every
    first = next((a for a in argv if not a.startswith("-")), None)
    if first is None or first not in COMMAND_MODULES:
        return every
    if any(a in ("--help", "-h", "--version") for a in argv[: list(argv).index(first)]):
        return every
    return [COMMAND_MODULES[first]]


def build_app(argv: Sequence[str] | None = None) -> typer.Typer:
    """Build the ``ilp`` Typer application.

    Built by a function so that nothing happens at import time.

    Parameters
    ----------
    argv : sequence of str, optional
        The command line (without the program name). When it names a command, only that
        command's module is imported and registered (faster start-up); without it every
        command is registered.
    """
    import typer

    app = typer.Typer(
        name="ilp",
        help=(
            "ilpkit: the registry, perfusion planning, leakage monitoring and outcome statistics "
            "for TNF-alpha + melphalan isolated limb perfusion (TM-ILP).\n\n"
            "The registry is the SQLite file ilp.sqlite3 in the working directory unless --db URL "
            "or the environment variable ILP_DATABASE_URL names another database."
        ),
        no_args_is_help=True,
        rich_markup_mode="rich",
        add_completion=False,
        pretty_exceptions_enable=False,
    )

    @app.callback(invoke_without_command=True)
    def _root(
        version: bool = typer.Option(False, "--version", help="Print the version and exit."),
    ) -> None:
        global _startup_gc_paused
        if _startup_gc_paused:  # the start-up is over: the command runs with the collector on
            _startup_gc_paused = False
            gc.enable()
        if version:
            typer.echo(f"ilpkit {__version__}")
            raise typer.Exit(0)

    # --- command registration: one line per command module ---
    from importlib import import_module

    modules = _modules_for(argv)
    for name in modules:
        import_module(f"ilpkit.cli.{name}").register(app)
    # --- end of command registration ---
    return app


def run() -> None:
    """Console-script entry point for ``ilp``.

    One of ilpkit's own errors (:class:`ilpkit.errors.IlpkitError`) that a command did not
    handle is printed as its message with its exit code (1-3). Any other failure is a defect of
    ilpkit: reported in one line, never as a traceback (set ILP_DEBUG=1 to see the traceback
    when reporting a bug), with exit code 70.
    """
    import os
    import sys

    from ilpkit.errors import IlpkitError

    # Start-up (imports, building the command line) makes many objects and no garbage cycles:
    # the cyclic collector is paused until the root callback, just before the command runs.
    global _startup_gc_paused
    if gc.isenabled():
        gc.disable()
        _startup_gc_paused = True
    try:
        build_app(sys.argv[1:])(standalone_mode=True)
    except SystemExit:
        raise
    except KeyboardInterrupt:
        sys.stderr.write("Interrupted; nothing more was done.\n")
        raise SystemExit(130) from None
    except IlpkitError as exc:
        if os.environ.get("ILP_DEBUG"):
            raise
        from ilpkit.cli.console import plain

        sys.stderr.write(f"Error: {plain(exc)}\n")
        raise SystemExit(min(max(exc.exit_code, 1), 3)) from None
    except Exception as exc:
        if os.environ.get("ILP_DEBUG"):
            raise
        from ilpkit.cli.console import plain

        sys.stderr.write(
            f"Error: an unexpected problem stopped ilp ({exc.__class__.__name__}: {plain(exc)}). "
            "The command did not finish: check what it may already have written (files, and "
            "'ilp audit' for the registry) before relying on it. Run again with ILP_DEBUG=1 to "
            "see the details for a bug report.\n"
        )
        raise SystemExit(70) from None
