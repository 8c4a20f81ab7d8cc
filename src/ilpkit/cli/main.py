"""The ``ilp`` command: one Typer application; each command lives in its own module."""

from __future__ import annotations

import typer

from ilpkit import __version__


def build_app() -> typer.Typer:
    """Build the ``ilp`` Typer application with every command registered.

    Built by a function so that nothing happens at import time.
    """
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
        if version:
            typer.echo(f"ilpkit {__version__}")
            raise typer.Exit(0)

    # --- command registration: one line per command module ---
    from ilpkit.cli import registry_commands

    registry_commands.register(app)
    from ilpkit.cli import delete_commands

    delete_commands.register(app)
    from ilpkit.cli import demo_command

    demo_command.register(app)
    from ilpkit.cli import planning_commands

    planning_commands.register(app)
    from ilpkit.cli import synth_command

    synth_command.register(app)
    from ilpkit.cli import analyze_command

    analyze_command.register(app)
    from ilpkit.cli import report_command

    report_command.register(app)
    from ilpkit.cli import export_command

    export_command.register(app)
    from ilpkit.cli import user_commands

    user_commands.register(app)
    from ilpkit.cli import serve_command

    serve_command.register(app)
    from ilpkit.cli import predict_command

    predict_command.register(app)

    from ilpkit.cli import redcap_commands

    redcap_commands.register(app)
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

    try:
        build_app()(standalone_mode=True)
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
