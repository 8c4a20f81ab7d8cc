"""Browser fixtures: Debian's Chromium driven by Playwright, and a live ``ilp serve``.

Needs /usr/bin/chromium (Debian package ``chromium``) and the Python package ``playwright``
(the ``test`` extra); Playwright's own browser download is never used. Without them the browser
tests skip with the reason - except when the environment variable CI is set, where they fail.

``live_server`` runs the real web application (uvicorn, as ``ilp serve`` does) in a separate
process on a free loopback port, on the two-centre registry of
:mod:`tests.integration.webdata`, on SQLite and on PostgreSQL (``db_url``). ``open_page``
opens a page that records console errors, failed requests and page errors; a test asserts
``problems == []`` at its end. Screenshots go to ``$ILP_SCREENSHOT_DIR`` (a temporary folder by
default), kept as test artefacts.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from tests.integration.webdata import KEY, PASSWORD, ROLE_ACCOUNTS, add_accounts, seed

from ilpkit.reporting.pdf import CHROMIUM, FLAGS

LAUNCH_FLAGS = [f for f in FLAGS if f not in ("--headless", "--no-pdf-header-footer")]
SCREENSHOT_DIR = Path(os.environ.get("ILP_SCREENSHOT_DIR", tempfile.gettempdir()))


def unavailable(reason: str) -> None:
    """Skip with ``reason``, or fail when CI is set (browser tests must run in CI)."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set: browser tests must run, not skip)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def chromium() -> Path:
    if not CHROMIUM.is_file():
        unavailable(f"{CHROMIUM} is absent (install the Debian package chromium)")
    return CHROMIUM


@pytest.fixture(scope="module")
def browser(chromium: Path) -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the Python package playwright is not installed (pip install -e '.[test]')")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(chromium), headless=True, args=LAUNCH_FLAGS)
        yield b
        b.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def live_server(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Base URL of ``ilp serve`` on the two-centre test registry (accounts: webdata)."""
    monkeypatch.setenv("ILP_PSEUDONYM_KEY", KEY)
    seed(db_url)
    add_accounts(db_url)
    port = _free_port()
    env = {**os.environ, "ILP_PSEUDONYM_KEY": KEY}
    code = "from ilpkit.cli.main import run; run()"
    log = (tmp_path / "server.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "serve", "--db", db_url, "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base}/login", timeout=2)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        "the server did not start: " + (tmp_path / "server.log").read_text()
                    ) from None
                time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture
def open_page(browser: Any) -> Iterator[Callable[..., tuple[Any, list[str]]]]:
    """``open_page(width=1280, height=900)`` -> (page, problems): a fresh browser context."""
    contexts: list[Any] = []

    def _open(width: int = 1280, height: int = 900) -> tuple[Any, list[str]]:
        context = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        page = context.new_page()
        problems: list[str] = []
        page.on(
            "console",
            lambda m: (
                problems.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None
            ),
        )
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: _request_failed(problems, r))
        return page, problems

    yield _open
    for context in contexts:
        context.close()


ICON_PATH = "/static/favicon.svg"


def _request_failed(problems: list[str], request: Any) -> None:
    """Record a failed request, except the site icon's load cancelled by the next navigation.

    The browser asks for the icon on its own after a page has loaded; when the test moves on to
    the next page first, the browser cancels that request (net::ERR_ABORTED). That is no fault
    of the page; an icon that fails in any other way (e.g. refused) is still recorded.
    """
    failure = request.failure or ""
    if urlsplit(request.url).path == ICON_PATH and failure == "net::ERR_ABORTED":
        return
    problems.append(f"request failed: {request.url} ({failure})")


def log_in(page: Any, base: str, role: str, landing: str = "/patients") -> None:
    """Log in on ``page`` as the test account of ``role`` (see webdata.ROLE_ACCOUNTS), then
    open ``landing`` (the patient list unless told otherwise)."""
    name, _ = ROLE_ACCOUNTS[role]
    page.goto(f"{base}/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/dashboard")
    if landing != "/dashboard":
        page.goto(f"{base}{landing}")
        page.wait_for_url(f"{base}{landing}")


def screenshot(page: Any, name: str) -> Path:
    """Save a screenshot of ``page`` as ``$ILP_SCREENSHOT_DIR/ilpkit-<name>.png``."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOT_DIR / f"ilpkit-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
