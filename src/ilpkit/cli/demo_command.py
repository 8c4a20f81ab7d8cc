"""``ilp demo``: a SYNTHETIC registry calibrated to the seed study, and its outcome study report."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from ilpkit import config
from ilpkit.cli.console import fail, safe, stdout
from ilpkit.cli.registry_commands import database_errors

if TYPE_CHECKING:
    from ilpkit.reporting.comparison import Headline
    from ilpkit.services.demo_accounts import DemoAccount

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
    from ilpkit.domain.synthetic import SYNTHETIC_ID_PREFIX
    from ilpkit.services.unit_of_work import UnitOfWork

    with UnitOfWork(url) as uow:
        return sum(
            1
            for pid in repo.stored_patients(uow.connection)
            if not pid.startswith(SYNTHETIC_ID_PREFIX)
        )


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


def _is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    import ipaddress

    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _check_serve_options(
    serve: bool, host: str | None, port: int | None, allow_remote: bool
) -> tuple[str, int]:
    """(host, port) to serve on; stops with a clear message for options that cannot be used."""
    from ilpkit.cli.serve_command import check_port

    if not serve and (host is not None or port is not None or allow_remote):
        fail("--host, --port and --allow-remote go with --serve (ilp demo --serve --port 8001)")
    host = host or "127.0.0.1"
    port = 8000 if port is None else port
    check_port(port)
    if not _is_loopback(host) and not allow_remote:
        fail(
            f"--host {host} is not a loopback address: the demo accounts' passwords are printed "
            "on this terminal, so the demo is served on this machine only (127.0.0.1). Add "
            "--allow-remote to serve it on another address anyway."
        )
    return host, port


def _print_accounts(accounts: list[DemoAccount]) -> None:
    """The demo accounts with their passwords, once."""
    out = stdout()
    table = Table(title="Demo accounts of the SYNTHETIC registry (passwords shown only now)")
    table.add_column("user", no_wrap=True)
    table.add_column("role", no_wrap=True)
    table.add_column("centres")
    table.add_column("password", no_wrap=True, overflow="ignore")
    for a in accounts:
        where = ", ".join(a.centers) if a.centers else "(every centre)"
        table.add_row(safe(a.username), a.role, safe(where), safe(a.password))
    out.print(table)
    reset = [a.username for a in accounts if a.existed]
    if reset:
        out.print(
            f"These demo accounts existed already: {safe(', '.join(reset))}; their passwords "
            "were reset now, which ended their sessions."
        )
    for a in accounts:
        if a.disabled:
            out.print(
                f"[yellow]{safe(a.username)} is disabled and stays disabled[/yellow] "
                "(it cannot log in)."
            )


def _ensure_pseudonym_key() -> None:
    """Give statisticians a pseudonymisation key for this process when none is set."""
    import os
    import secrets

    from ilpkit.services.deidentify import KEY_ENV, MIN_KEY_BYTES

    out = stdout()
    current = os.environ.get(KEY_ENV, "").strip()
    if not current:
        os.environ[KEY_ENV] = secrets.token_urlsafe(32)
        out.print(
            f"${KEY_ENV} was not set: statisticians see pseudonyms made with a random key that "
            "lives only as long as this server (ephemeral: the pseudonyms change on the next "
            "run, and the key is kept nowhere)."
        )
    elif len(current.encode("utf-8")) < MIN_KEY_BYTES:
        out.print(
            f"[yellow]${KEY_ENV} is shorter than {MIN_KEY_BYTES} characters[/yellow]: "
            "statisticians will be refused until it is longer."
        )


DEMO_FINE_GRAY_TERMS = ("tumor_size_cm", "multifocal", "prior_radiotherapy")
"""Terms of the demo report's Fine-Gray model of local recurrence: the seed study's factors for
local recurrence (multifocal tumours, previous radiotherapy; Deroose 2011) with tumour size."""


def demo(
    directory: Annotated[
        Path, typer.Option("--dir", help="Folder for the demo registry and its report.")
    ] = Path("ilp-demo"),
    serve: Annotated[
        bool,
        typer.Option(
            "--serve",
            help="Then add one demo account per role and serve the web application.",
        ),
    ] = False,
    host: Annotated[
        str | None,
        typer.Option(
            "--host",
            help="With --serve: address to listen on (default 127.0.0.1).",
            show_default=False,
        ),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option("--port", help="With --serve: port (default 8000).", show_default=False),
    ] = None,
    allow_remote: Annotated[
        bool,
        typer.Option(
            "--allow-remote",
            help="With --serve: allow a --host that is not a loopback address.",
        ),
    ] = False,
) -> None:
    """Create a SYNTHETIC demo registry and its outcome study report, in one step.

    Writes DIR/registry.sqlite3 with the default synthetic cohort (208 patients, the seed
    chosen to reproduce Deroose et al., J Clin Oncol 2011; see ilp synth), writes the report
    into DIR/report/ (figures as SVG; ilp report adds PNG copies), and prints the headline
    figures beside the published ones. Running it again replaces the demo registry and report.
    No real patient is in these data.

    With --serve it then adds one demo account per role (admin, data_manager, clinician,
    statistician, monitor; each but the admin granted the registry's centre SYNTH), prints
    their random passwords once, and serves the web application on 127.0.0.1 (as ilp serve)
    until stopped. Running it again resets the demo accounts' passwords.

    [b]Examples[/b]

      ilp demo
      ilp demo --dir /tmp/ilp-demo
      ilp demo --serve --port 8001
    """
    from ilpkit.cli.report_command import report_progress
    from ilpkit.reporting.comparison import headline_figures
    from ilpkit.reporting.published import seed_series
    from ilpkit.services.build_report import build_report
    from ilpkit.services.synthesize import synthesize
    from ilpkit.stats.analysis import AnalysisOptions
    from ilpkit.synthetic import DEFAULT_SEED

    serve_host, serve_port = _check_serve_options(serve, host, port, allow_remote)
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
                files = build_report(
                    url,
                    directory / REPORT_DIR,
                    progress=progress,
                    png=False,
                    options=AnalysisOptions(fine_gray=DEMO_FINE_GRAY_TERMS),
                )
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
    if serve:
        _serve_demo(url, serve_host, serve_port)


def _serve_demo(url: str, host: str, port: int) -> None:
    """Add (or reset) the demo accounts, print them once, and serve the demo registry."""
    import sys

    from ilpkit.cli.serve_command import run_server
    from ilpkit.services.demo_accounts import ensure_demo_accounts
    from ilpkit.web.app import check_registry

    with database_errors(url):
        accounts = ensure_demo_accounts(url, config.actor())
        check_registry(url)
    _print_accounts(accounts)
    _ensure_pseudonym_key()
    shown = f"[{host}]" if ":" in host else host
    stdout().print(
        f"[bold yellow]SYNTHETIC[/bold yellow] demo: open http://{safe(shown)}:{port}/ and log in "
        "with one of the accounts above (demo accounts; never use them for real patients)."
    )
    sys.stdout.flush()
    run_server(url, host, port)


def register(app: typer.Typer) -> None:
    """Register ``ilp demo`` on ``app``."""
    app.command()(demo)
