"""Regenerate the web application's screenshots in docs/images from ``ilp demo --serve``.

Runs ``ilp demo --serve`` (SYNTHETIC registry, demo accounts) into a temporary folder on a free
loopback port, reads a demo account's password from its output, logs in with Debian's Chromium
driven by Playwright (``/usr/bin/chromium``; Playwright's own browser download is never used)
and saves:

- ``web-patients.png``: the patient list as the data manager sees it;
- ``dashboard.png``: the dashboard (the whole page, with its figures) as the data manager sees
  it.

Usage (from the repository root, with the test extra installed)::

    .venv/bin/python docs/images/make_screenshots.py [--out docs/images]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from ilpkit.reporting.pdf import CHROMIUM, FLAGS

HERE = Path(__file__).resolve().parent
ROLE = "data_manager"
VIEWPORT = {"width": 1280, "height": 800}
SHOTS = (("/patients", "web-patients.png"), ("/dashboard", "dashboard.png"))
"""(page, file): the patient list, and the dashboard (whole page, its figures loaded)."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ilp() -> str:
    candidate = Path(sys.executable).parent / "ilp"
    return str(candidate) if candidate.exists() else (shutil.which("ilp") or "ilp")


def _password(output: str, username: str) -> str | None:
    for line in output.splitlines():
        cells = [c.strip() for c in re.split(r"[│|┃]", line) if c.strip()]
        if len(cells) == 4 and cells[0] == username:
            return cells[3]
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    username = f"demo-{ROLE}"
    with tempfile.TemporaryDirectory() as tmp:
        lines: list[str] = []
        proc = subprocess.Popen(
            [_ilp(), "demo", "--dir", str(Path(tmp) / "ilp-demo"), "--serve", "--port", str(port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env={**os.environ, "COLUMNS": "200"},
        )
        assert proc.stdout is not None
        reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
        reader.start()
        try:
            deadline = time.monotonic() + 300
            while True:
                try:
                    httpx.get(f"{base}/login", timeout=2)
                    break
                except httpx.TransportError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise SystemExit(
                            "ilp demo --serve did not start:\n" + "".join(lines)
                        ) from None
                    time.sleep(0.5)
            password = _password("".join(lines), username)
            if password is None:
                raise SystemExit("no password for " + username + " in:\n" + "".join(lines))
            flags = [f for f in FLAGS if f not in ("--headless", "--no-pdf-header-footer")]
            with sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path=str(CHROMIUM), headless=True, args=flags
                )
                page = browser.new_context(viewport=VIEWPORT).new_page()
                page.goto(f"{base}/login")
                page.fill("input[name=username]", username)
                page.fill("input[name=password]", password)
                page.click("button[type=submit]")
                page.wait_for_url(lambda url: not url.endswith("/login"))
                args.out.mkdir(parents=True, exist_ok=True)
                written = []
                for path, name in SHOTS:
                    page.goto(f"{base}{path}")
                    page.wait_for_load_state("networkidle")
                    target = args.out / name
                    page.screenshot(path=str(target), full_page=name == "dashboard.png")
                    written.append(target)
                browser.close()
            for target in written:
                print(f"Wrote {target}")
        finally:
            proc.terminate()
            proc.wait(timeout=20)


if __name__ == "__main__":
    main()
