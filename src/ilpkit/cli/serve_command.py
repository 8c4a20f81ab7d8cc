"""``ilp serve``: the multi-centre web application (FastAPI, served by uvicorn)."""

from __future__ import annotations

from typing import Annotated

import typer

from ilpkit import config
from ilpkit.cli.console import DbOption, fail, stdout


def serve(
    db: DbOption = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on (1-65535).")] = 8000,
    workers: Annotated[
        int, typer.Option("--workers", help="Worker processes (they share no state).")
    ] = 1,
    forwarded_allow_ips: Annotated[
        str | None,
        typer.Option(
            "--forwarded-allow-ips",
            help=(
                "Addresses of reverse proxies whose X-Forwarded-Proto and X-Forwarded-For are "
                "believed (comma-separated). Default: $FORWARDED_ALLOW_IPS, else 127.0.0.1,::1."
            ),
            show_default=False,
        ),
    ] = None,
) -> None:
    """Serve the web application and its JSON API (/api/v1) on HOST:PORT.

    Sessions, tokens and login throttling live in the database, so several
    workers, or several machines behind a reverse proxy doing TLS, can serve
    one PostgreSQL registry.

    [b]Example[/b]

      ilp serve --db postgresql+psycopg://ilp@dbhost/registry --workers 4
      ilp serve --host 10.0.0.5 --forwarded-allow-ips 10.0.0.2   # proxy on another host
    """
    from ilpkit.cli.registry_commands import _require_existing_sqlite, database_errors
    from ilpkit.web.app import check_registry

    check_port(port)
    if workers < 1:
        fail(f"--workers {workers}: use at least 1 worker process")
    url = config.database_url(db)
    _require_existing_sqlite(url)
    with database_errors(url):
        check_registry(url)
    run_server(url, host, port, workers, forwarded_allow_ips)


def check_port(port: int) -> None:
    """Stop with a clear message unless ``port`` is a port number."""
    if not 1 <= port <= 65535:
        fail(f"--port {port} is not a port number: use 1 to 65535")


def run_server(
    url: str, host: str, port: int, workers: int = 1, forwarded_allow_ips: str | None = None
) -> None:
    """Serve the registry at ``url`` with uvicorn until stopped (the registry is checked).

    Forwarded headers (``X-Forwarded-Proto``, ``X-Forwarded-For``) are believed from the
    addresses in ``forwarded_allow_ips`` (uvicorn's default: ``$FORWARDED_ALLOW_IPS``, else the
    loopback addresses), so behind a reverse proxy doing TLS the request scheme is https and
    the session cookie is marked Secure.
    """
    import os

    import uvicorn

    from ilpkit.web.app import URL_ENV

    os.environ[URL_ENV] = url
    stdout().print(f"Serving on http://{host}:{port} (stop with Ctrl+C).")
    uvicorn.run(
        "ilpkit.web.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        forwarded_allow_ips=forwarded_allow_ips,
        log_level="info",
    )


def register(app: typer.Typer) -> None:
    """Add ``serve`` to ``app``."""
    app.command("serve")(serve)
