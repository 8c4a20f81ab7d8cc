"""Print the HTML report to PDF with headless Chromium (Debian package ``chromium``)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from ilpkit.errors import IlpkitError

CHROMIUM = Path("/usr/bin/chromium")
"""Where Debian's ``chromium`` package installs the browser."""

FLAGS: tuple[str, ...] = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-pdf-header-footer",
)
"""Command-line flags: headless, offline (no background network, updates or sync)."""

TIMEOUT_S = 180.0


class PdfError(IlpkitError, RuntimeError):
    """Chromium is missing or could not print the report."""


def find_chromium(path: Path | None = None) -> Path:
    """The Chromium executable: ``path`` if given, else /usr/bin/chromium, else ``chromium`` on
    PATH.

    Raises
    ------
    PdfError
        When none is found, saying how to install it.
    """
    candidates = [path] if path is not None else [CHROMIUM]
    for c in candidates:
        if c is not None and c.is_file():
            return c
    if path is None:
        found = shutil.which("chromium") or shutil.which("chromium-browser")
        if found:
            return Path(found)
    raise PdfError(
        f"--pdf needs the Chromium browser, and {path or CHROMIUM} was not found. Install it "
        "(Debian/Ubuntu: sudo apt-get install chromium), or leave out --pdf: report.html prints "
        "to PDF from any browser too."
    )


def print_to_pdf(html: Path, pdf: Path, chromium: Path | None = None) -> Path:
    """Print ``html`` to ``pdf`` with headless Chromium, in a fresh throw-away profile.

    Raises
    ------
    PdfError
        Chromium is missing, fails, times out, or writes no PDF.
    """
    exe = find_chromium(chromium)
    pdf.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="ilp-chromium-") as profile:
        cmd = [
            str(exe),
            *FLAGS,
            f"--user-data-dir={profile}",
            f"--print-to-pdf={pdf.resolve()}",
            html.resolve().as_uri(),
        ]
        try:
            done = subprocess.run(
                cmd, capture_output=True, text=True, timeout=TIMEOUT_S, check=False
            )
        except subprocess.TimeoutExpired:
            raise PdfError(f"Chromium did not finish printing within {TIMEOUT_S:.0f} s") from None
        except OSError as exc:
            raise PdfError(f"cannot run {exe}: {exc.strerror or exc}") from None
    if done.returncode != 0 or not pdf.is_file() or pdf.stat().st_size == 0:
        tail = " ".join((done.stderr or "").strip().splitlines()[-3:])
        raise PdfError(
            f"Chromium could not print the report to PDF (exit code {done.returncode}). {tail}"
        )
    return pdf
