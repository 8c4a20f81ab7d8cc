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
) -> None:
    """Serve the web application and its JSON API (/api/v1) on HOST:PORT.

    Sessions, tokens and login throttling live in the database, so several
    workers, or several machines behind a reverse proxy doing TLS, can serve
    one PostgreSQL registry.

    [b]Example[/b]

      ilp serve --db postgresql+psycopg://ilp@dbhost/registry --workers 4
    """
    import os

    import uvicorn

    from ilpkit.cli.registry_commands import _require_existing_sqlite, database_errors
    from ilpkit.web.app import URL_ENV, check_registry

    if not 1 <= port <= 65535:
        fail(f"--port {port} is not a port number: use 1 to 65535")
    if workers < 1:
        fail(f"--workers {workers}: use at least 1 worker process")
    url = config.database_url(db)
    _require_existing_sqlite(url)
    with database_errors(url):
        check_registry(url)
    os.environ[URL_ENV] = url
    stdout().print(f"Serving on http://{host}:{port} (stop with Ctrl+C).")
    uvicorn.run(
        "ilpkit.web.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        log_level="info",
    )


def register(app: typer.Typer) -> None:
    """Add ``serve`` to ``app``."""
    app.command("serve")(serve)
