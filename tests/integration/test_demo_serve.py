"""``ilp demo --serve``: the SYNTHETIC demo registry served with one printed account per role.

The command runs as a real process into a temporary folder; the test reads the passwords from
its output, logs in over HTTP with each, and then looks for every password in the database
file (audit log included), where none may appear in clear. A second run into the same folder
resets the passwords: the old ones stop working.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from ilpkit.cli.main import build_app

ROLES = ("admin", "data_manager", "clinician", "statistician", "monitor")
DEMO_PATIENTS = 208
"""The demo registry's size, as in the seed study (README, docs/synthetic-cohort.md)."""


def installed_ilp() -> str:
    candidate = Path(sys.executable).parent / "ilp"
    return str(candidate) if candidate.exists() else (shutil.which("ilp") or "ilp")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class DemoServer:
    """``ilp demo --dir FOLDER --serve --port PORT`` running; its output collected."""

    def __init__(self, folder: Path, log: Path) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if k != "ILP_PSEUDONYM_KEY"}
        env["COLUMNS"] = "200"
        self.lines: list[str] = []
        self._log = log.open("w")
        self.proc = subprocess.Popen(
            [installed_ilp(), "demo", "--dir", str(folder), "--serve", "--port", str(self.port)],
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            env=env,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self._log_path = log

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_until_up(self, timeout_s: float = 300) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                httpx.get(f"{self.base}/login", timeout=2)
                return
            except httpx.TransportError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(
                        "ilp demo --serve did not start serving:\n"
                        + self.output
                        + self._log_path.read_text()
                    ) from None
                time.sleep(0.5)

    def _rows(self) -> list[list[str]]:
        """The rows of the printed account table: user, role, centres, password."""
        rows = []
        for line in self.output.splitlines():
            cells = [c.strip() for c in re.split(r"[│|┃]", line)]
            cells = [c for c in cells if c]
            if len(cells) == 4 and cells[0].startswith("demo-"):
                rows.append(cells)
        return rows

    def passwords(self) -> dict[str, str]:
        """User name -> password."""
        return {row[0]: row[3] for row in self._rows()}

    def centres(self) -> dict[str, str]:
        """User name -> centres as printed."""
        return {row[0]: row[2] for row in self._rows()}

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._reader.join(timeout=5)
        self._log.close()


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("demo-serve") / "ilp-demo"


@pytest.fixture(scope="module")
def first_run(demo_folder: Path, tmp_path_factory) -> Iterator[DemoServer]:
    server = DemoServer(demo_folder, tmp_path_factory.mktemp("log") / "first.log")
    try:
        server.wait_until_up()
        yield server
    finally:
        server.stop()


@contextmanager
def _log_in(base: str, username: str, password: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base, timeout=10) as client:
        form = client.get("/login")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert csrf is not None
        answer = client.post(
            "/login", data={"username": username, "password": password, "csrf_token": csrf[1]}
        )
        assert answer.status_code == 303, (username, answer.status_code, answer.text[:300])
        assert answer.headers["location"].startswith("/")  # the start page
        yield client


def test_prints_one_account_per_role_with_a_random_password(first_run):
    passwords = first_run.passwords()
    assert sorted(passwords) == sorted(f"demo-{r}" for r in ROLES), first_run.output
    assert len(set(passwords.values())) == len(ROLES)
    assert all(len(p) >= 12 for p in passwords.values())
    out = first_run.output
    assert "SYNTHETIC" in out
    assert "ephemeral" in out  # no key was set: a random one for this process only
    assert first_run.centres() == {
        f"demo-{r}": "(every centre)" if r == "admin" else "SYNTH" for r in ROLES
    }  # the demo registry's one centre is SYNTH (tests/integration/test_demo.py)


def test_every_role_logs_in_and_sees_the_synthetic_patients(first_run):
    for username, password in first_run.passwords().items():
        with _log_in(first_run.base, username, password) as client:
            page = client.get("/patients")
            assert page.status_code == 200, (username, page.text[:300])
            assert f"{DEMO_PATIENTS} patients." in page.text, username
            assert "SYNTHETIC DATA" in page.text, username
            if username == "demo-statistician":
                assert "SYN-" not in page.text  # pseudonyms only
                assert re.search(r">P[0-9a-f]{32}<", page.text)
            else:
                assert re.search(r">SYN-[0-9]+<", page.text)


def test_the_api_answers_with_a_demo_account(first_run):
    password = first_run.passwords()["demo-clinician"]
    token = httpx.post(
        f"{first_run.base}/api/v1/auth/token",
        json={"username": "demo-clinician", "password": password},
        timeout=10,
    )
    assert token.status_code == 200
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    listing = httpx.get(f"{first_run.base}/api/v1/patients", headers=headers, timeout=10)
    assert listing.status_code == 200 and listing.json()["total"] == DEMO_PATIENTS


def _no_password_in_clear(folder: Path, passwords: list[str]) -> None:
    db = folder / "registry.sqlite3"
    with sqlite3.connect(db) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        assert "audit_log" in tables or any("audit" in t for t in tables)
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                text = " ".join(str(v) for v in row)
                for p in passwords:
                    assert p not in text, f"a password is in table {table}"
    raw = b"".join(f.read_bytes() for f in folder.glob("registry.sqlite3*"))
    for p in passwords:
        assert p.encode() not in raw


def test_second_run_resets_the_passwords_and_no_password_is_stored(
    first_run, demo_folder, tmp_path_factory
):
    old = first_run.passwords()
    assert old
    first_run.stop()
    second = DemoServer(demo_folder, tmp_path_factory.mktemp("log") / "second.log")
    try:
        second.wait_until_up()
        new = second.passwords()
        assert sorted(new) == sorted(old)
        assert "existed already" in second.output and "reset" in second.output
        for name in new:
            assert new[name] != old[name]
        with httpx.Client(base_url=second.base, timeout=10) as client:
            stale = client.post(
                "/api/v1/auth/token",
                json={"username": "demo-monitor", "password": old["demo-monitor"]},
            )
            assert stale.status_code == 401
        with _log_in(second.base, "demo-monitor", new["demo-monitor"]) as client:
            assert client.get("/patients").status_code == 200
    finally:
        second.stop()
    _no_password_in_clear(demo_folder, [*old.values(), *new.values()])


def test_a_non_loopback_host_is_refused_without_the_explicit_flag(tmp_path):
    folder = tmp_path / "demo"
    result = CliRunner().invoke(
        build_app(), ["demo", "--dir", str(folder), "--serve", "--host", "0.0.0.0"]
    )
    assert result.exit_code == 1
    assert "not a loopback address" in result.output and "--allow-remote" in result.output
    assert not folder.exists()  # refused before anything was built


def test_serve_options_need_serve(tmp_path):
    folder = tmp_path / "demo"
    result = CliRunner().invoke(build_app(), ["demo", "--dir", str(folder), "--port", "8001"])
    assert result.exit_code == 1 and "go with --serve" in result.output
    assert not folder.exists()
