"""``ilp report``: the outcome study report (HTML, results.json, figures, tables, PDF)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ilpkit import config
from ilpkit.cli.console import DbOption, fail, safe, stage_progress, stdout
from ilpkit.cli.database import database_errors
from ilpkit.cli.database import require_existing_sqlite as _require_existing_sqlite

if TYPE_CHECKING:
    from ilpkit.services.build_report import ReportFiles

STAGES = {
    "load": "Loading the registry",
    "analyze": "Analysing (response, survival, recurrence, Cox)",
    "curves": "Estimating curves and summaries",
    "figures": "Drawing figures",
    "write": "Writing the report files",
    "pdf": "Printing report.pdf with Chromium",
}


def report_progress(show: bool = True) -> AbstractContextManager[Callable[[str, int, int], None]]:
    """A Rich progress display on standard error, one line per stage of the report."""
    return stage_progress(STAGES, show)


def print_written(files: ReportFiles) -> None:
    """Say what was written, and whether it is SYNTHETIC."""
    out = stdout()
    if files.synthetic:
        out.print(
            "[bold yellow]SYNTHETIC[/bold yellow] registry (patient ids SYN-, centre SYNTH): the "
            "report is marked SYNTHETIC DATA on every page, figure and file name."
        )
    out.print(f"Report: {safe(files.html)}")
    extra = f"; {files.pdf.name}" if files.pdf else ""
    journal = [p for p in files.figures if p.suffix == ".pdf"]
    n_figures = sum(1 for p in files.figures if p.suffix == ".svg")
    kinds = "PNG + SVG, and 600-dpi PNG + PDF" if journal else "PNG + SVG"
    out.print(
        f"  with results.json, {n_figures} figures ({kinds}) in "
        f"{safe(files.out_dir / 'figures')} and {len(files.tables)} tables (CSV) in "
        f"{safe(files.out_dir / 'tables')}{safe(extra)}."
    )


def report(
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            help="Folder for report.html, results.json, figures/ and tables/ (created; files "
            "of an earlier report there are replaced; another non-empty folder needs "
            "--replace).",
            show_default=False,
        ),
    ],
    db: DbOption = None,
    pdf: Annotated[
        bool,
        typer.Option(
            "--pdf",
            help="Also print report.pdf with headless Chromium (Debian package chromium).",
        ),
    ] = False,
    synthetic: Annotated[
        bool,
        typer.Option(
            "--synthetic",
            help="Mark the report SYNTHETIC DATA even if no patient id starts with SYN- "
            "(registries from ilp synth are marked automatically).",
        ),
    ] = False,
    replace: Annotated[
        bool,
        typer.Option(
            "--replace",
            help="Write into a non-empty --out folder that does not hold an earlier report.",
        ),
    ] = False,
    min_at_risk: Annotated[
        int,
        typer.Option(
            "--min-at-risk",
            min=1,
            metavar="N",
            help="Survival and incidence curves stop where fewer than this many remain at risk.",
        ),
    ] = 10,
    journal_figures: Annotated[
        bool,
        typer.Option(
            "--journal-figures",
            help="Also write every figure for journal submission: PNG at 600 dpi "
            "(figures/*-600dpi.png) and vector PDF (figures/*.pdf). Slower.",
        ),
    ] = False,
    p_style: Annotated[
        str,
        typer.Option(
            "--p-style",
            metavar="STYLE",
            help="P-values as plain (p = 0.008, p < 0.001) or journal (P = .008, P < .001).",
        ),
    ] = "plain",
    fine_gray: Annotated[
        str | None,
        typer.Option(
            "--fine-gray",
            help="Add a Fine-Gray model of local recurrence (death competing) of these terms, "
            "comma-separated (e.g. age_years,tumor_size_cm), with its forest plot.",
        ),
    ] = None,
) -> None:
    """Write the outcome study report of the registry.

    A self-contained HTML file (readable offline, printable), results.json (the
    same object as ilp analyze --json), every figure as PNG and SVG, and every
    table as CSV.

    The report holds the cohort and follow-up (reverse Kaplan-Meier) with a
    STROBE flow diagram, baseline and perfusion characteristics (Tables 1-2),
    response with exact CIs, local recurrence as a cumulative incidence with
    death competing (Gray's test), overall survival (Kaplan-Meier with numbers
    at risk, log-rank, Cox models and a forest plot), limb salvage, a
    comparison with published series, and a methods paragraph with references.

    [b]Examples[/b]

      ilp report --out report
      ilp report --db registry.sqlite3 --out study-2025 --pdf
      ilp report --out report --min-at-risk 20
      ilp report --out report --p-style journal
      ilp report --out report --fine-gray age_years,tumor_size_cm
      ilp report --out report --journal-figures
      ilp report --db postgresql://ilp@dbhost/registry --out /srv/reports/latest
    """
    from ilpkit.reporting.formatting import P_STYLES
    from ilpkit.reporting.pdf import PdfError, find_chromium
    from ilpkit.services.build_report import build_report, is_report_folder
    from ilpkit.stats.analysis import AnalysisError, AnalysisOptions

    if p_style not in P_STYLES:
        fail(f"--p-style must be plain or journal, not '{p_style}'." + " Nothing was written.")
    if out.exists() and not out.is_dir():
        fail(
            f"--out {out} is a file; give a folder (it is created if needed)."
            + " Nothing was written."
        )
    if not replace and not is_report_folder(out):
        fail(
            f"--out {out} is not empty and holds no earlier report; add --replace to write "
            "the report there anyway, or choose another folder." + " Nothing was written."
        )
    if pdf:
        try:
            find_chromium()
        except PdfError as exc:
            fail(str(exc))
    url = config.database_url(db)
    _require_existing_sqlite(url)
    try:
        with database_errors(url), report_progress() as progress:
            files = build_report(
                url,
                out,
                pdf=pdf,
                synthetic=True if synthetic else None,
                progress=progress,
                min_at_risk=min_at_risk,
                p_style=p_style,
                options=None
                if fine_gray is None
                else AnalysisOptions(
                    fine_gray=tuple(t.strip() for t in fine_gray.split(",") if t.strip())
                ),
                journal_figures=journal_figures,
            )
    except AnalysisError as exc:
        fail(str(exc) + " No report was written.")
    except PdfError as exc:
        fail(f"{exc} The HTML report and the other files were written to {out}.")
    except OSError as exc:
        fail(
            f"cannot write the report to {out}: {exc.strerror or exc}."
            + " The report there may be incomplete."
        )
    print_written(files)


def register(app: typer.Typer) -> None:
    """Register ``ilp report`` on ``app``."""
    app.command()(report)
