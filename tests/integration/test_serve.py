"""``ilp serve`` starts uvicorn on the registry and answers; without a registry it refuses."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
from tests.integration.webdata import add_accounts, seed
from typer.testing import CliRunner

from ilpkit.cli.main import build_app


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_without_a_registry_is_a_clear_error(tmp_path):
    result = CliRunner().invoke(build_app(), ["serve", "--db", str(tmp_path / "none.sqlite3")])
    assert result.exit_code == 1
    assert "there is no registry" in result.output


def test_serve_answers_on_the_port(db_url, tmp_path):
    seed(db_url)
    add_accounts(db_url)
    port = _free_port()
    code = "from ilpkit.cli.main import run; run()"
    env = {**os.environ, "COLUMNS": "100"}
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "serve", "--db", db_url, "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                login = httpx.get(f"http://127.0.0.1:{port}/login", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
                assert time.monotonic() < deadline, "the server did not answer within 30 s"
                time.sleep(0.3)
        assert login.status_code == 200 and "csrf_token" in login.text
        api = httpx.get(f"http://127.0.0.1:{port}/api/v1/patients", timeout=5)
        assert api.status_code == 401
    finally:
        proc.terminate()
        proc.wait(timeout=20)
