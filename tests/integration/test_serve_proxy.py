"""``ilp serve`` behind a reverse proxy doing TLS: the cookies are Secure when the proxy says
the browser's request was https (``X-Forwarded-Proto``), and only when it comes from a proxy
address that is trusted (``--forwarded-allow-ips``; default the loopback addresses)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from tests.integration.webdata import seed


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _serving(url: str, *extra: str) -> Iterator[str]:
    port = _free_port()
    code = "from ilpkit.cli.main import run; run()"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "serve", "--db", url, "--port", str(port), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={k: v for k, v in os.environ.items() if k != "FORWARDED_ALLOW_IPS"},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base}/login", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
                assert time.monotonic() < deadline, "the server did not answer within 30 s"
                time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _login_cookie(base: str, forwarded_proto: str | None) -> str:
    headers = {"X-Forwarded-Proto": forwarded_proto} if forwarded_proto else {}
    answer = httpx.get(f"{base}/login", headers=headers, timeout=5)
    assert answer.status_code == 200
    return answer.headers["set-cookie"]


def test_cookies_are_secure_behind_a_trusted_tls_proxy(sqlite_url):
    seed(sqlite_url)
    with _serving(sqlite_url) as base:
        # the proxy (here: this test, connecting from 127.0.0.1) says the browser used https
        assert "secure" in _login_cookie(base, "https").lower()
        # plain http on the loopback address (a developer's machine): no Secure flag
        assert "secure" not in _login_cookie(base, None).lower()


def test_forwarded_headers_from_an_untrusted_address_are_ignored(sqlite_url):
    seed(sqlite_url)
    # only 192.0.2.1 (a documentation address) is trusted, so this loopback client is not
    with _serving(sqlite_url, "--forwarded-allow-ips", "192.0.2.1") as base:
        assert "secure" not in _login_cookie(base, "https").lower()
