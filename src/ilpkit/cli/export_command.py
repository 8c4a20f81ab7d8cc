"""``ilp export-as``: export the registry for data sharing in another format, optionally
de-identified (SPSS, Stata, SAS transport, Parquet, CDISC ODM, HL7 FHIR, Registry CSV)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from ilpkit import config
from ilpkit.cli.console import DbOption, fail, stdout


class ExportFormat(StrEnum):
    """Formats of ``ilp export-as``."""

    CSV = "csv"
    SAV = "sav"
    DTA = "dta"
    XPT = "xpt"
    PARQUET = "parquet"
    ODM = "odm"
    FHIR = "fhir"


class Per(StrEnum):
    """One row per perfusion or per patient."""

    PERFUSION = "perfusion"
    PATIENT = "patient"


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url


def export_formats(
    target: Annotated[
        Path,
        typer.Argument(
            help="File to write (for --format fhir: a folder, one Bundle file per patient).",
            show_default=False,
        ),
    ],
    format_: Annotated[
        ExportFormat,
        typer.Option(
            "--format",
            help="csv (Registry CSV v1), sav (SPSS), dta (Stata), xpt (SAS transport), parquet, "
            "odm (CDISC ODM 1.3.2 XML), fhir (HL7 FHIR R4 / mCODE Bundles).",
            case_sensitive=False,
        ),
    ] = ExportFormat.CSV,
    per: Annotated[
        Per,
        typer.Option(
            "--per",
            help="One row per perfusion, or per patient (perfusions side by side: ilp_date_1, "
            "ilp_date_2, ...); per patient for sav, dta, xpt and parquet.",
            case_sensitive=False,
        ),
    ] = Per.PERFUSION,
    deidentify: Annotated[
        bool,
        typer.Option(
            "--deidentify",
            help="Replace patient ids by keyed pseudonyms and shift every date of a patient by "
            "one per-patient offset into the past; writes a manifest beside the output.",
        ),
    ] = False,
    key_file: Annotated[
        Path | None,
        typer.Option(
            "--key-file",
            help="File holding the deployment's pseudonymisation key (else $ILP_PSEUDONYM_KEY).",
            show_default=False,
        ),
    ] = None,
    coarsen_age: Annotated[
        bool,
        typer.Option(
            "--coarsen-age",
            help="With --deidentify: age at perfusion in 5-year bands, no birth date.",
        ),
    ] = False,
    year_only: Annotated[
        bool, typer.Option("--year-only", help="With --deidentify: keep only the year of dates.")
    ] = False,
    replace: Annotated[
        bool, typer.Option("--replace", help="Overwrite the output if it exists.")
    ] = False,
    db: DbOption = None,
) -> None:
    """Export the registry as SPSS, Stata, SAS, Parquet, CDISC ODM or HL7 FHIR, optionally
    de-identified.

    SPSS and Stata files carry variable and value labels (response 1 = CR ...) and real dates;
    ODM holds the data dictionary (items, code lists, ranges) and the data; FHIR writes one
    transaction Bundle per patient with mCODE profiles. See docs/interop.md.

    [b]Examples[/b]

      ilp export-as --format sav registry.sav
      ilp export-as --format dta --per patient registry-patients.dta
      ilp export-as --format odm registry-odm.xml
      ilp export-as --format fhir fhir-bundles/
      ilp export-as --format csv --deidentify --key-file /etc/ilp/pseudonym.key shared.csv
    """
    from sqlalchemy.exc import SQLAlchemyError

    from ilpkit.services.deidentify import DeidentifyError, DeidentifyOptions, read_key
    from ilpkit.services.registry_export_formats import ExportError, export_registry_as

    if not deidentify and (coarsen_age or year_only or key_file is not None):
        fail(
            "--coarsen-age, --year-only and --key-file belong to a de-identified export: add "
            "--deidentify; nothing was written"
        )
    url = config.database_url(db)
    sqlite_file = config.sqlite_path(url)
    if sqlite_file is not None and not sqlite_file.exists():
        fail(
            f"there is no registry at {sqlite_file}. Create one with 'ilp init' or "
            "'ilp import FILE', or name another with --db; nothing was written."
        )
    try:
        options = None
        if deidentify:
            options = DeidentifyOptions(read_key(key_file), coarsen_age, year_only)
        report = export_registry_as(
            url,
            target,
            format_.value,
            config.actor(),
            per=per.value,
            deidentify=options,
            replace=replace,
        )
    except (ExportError, DeidentifyError) as exc:
        fail(str(exc))
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        fail(f"cannot use the database {_safe_url(url)}: {reason}; nothing was written", code=3)
    except OSError as exc:
        fail(f"cannot write {target}: {exc.strerror or exc}; nothing was written")
    unit = {"odm": "patients", "fhir": "patient Bundles"}.get(
        report.format, "rows (one per patient)" if per is Per.PATIENT else "rows"
    )
    out = stdout()
    out.print(
        f"Exported {report.rows:,} {unit} ({report.patients:,} patients, "
        f"{report.perfusions:,} perfusions) to {report.path} as {format_.value}"
        + (", de-identified" if report.deidentified else "")
        + ".",
        markup=False,
    )
    if report.manifest is not None:
        out.print(f"What was removed, shifted and coarsened: {report.manifest}", markup=False)


def register(app: typer.Typer) -> None:
    """Register ``export-as`` on ``app``."""
    app.command("export-as")(export_formats)
