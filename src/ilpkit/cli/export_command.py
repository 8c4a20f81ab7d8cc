"""``ilp export``: the registry as Registry CSV v1 (re-importable), or for data sharing as SPSS,
Stata, SAS transport, Parquet, CDISC ODM or HL7 FHIR, optionally de-identified."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from ilpkit import config
from ilpkit.cli.console import DbOption, fail, plain, safe, stdout
from ilpkit.cli.database import database_errors
from ilpkit.cli.database import require_existing_sqlite as _require_existing_sqlite


class ExportFormat(StrEnum):
    """Formats of ``ilp export``."""

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


def export(
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
            metavar="FORMAT",
            help="csv (Registry CSV v1), sav (SPSS), dta (Stata), xpt (SAS transport), parquet, "
            "odm (CDISC ODM 1.3.2 XML), fhir (HL7 FHIR R4 / mCODE Bundles).",
            case_sensitive=False,
        ),
    ] = ExportFormat.CSV,
    per: Annotated[
        Per,
        typer.Option(
            "--per",
            metavar="UNIT",
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
    """Export the registry as Registry CSV v1, SPSS, Stata, SAS, Parquet, ODM or FHIR.

    Registry CSV v1 is re-importable as it is; the other formats are for data
    sharing, optionally de-identified.

    Cells that a spreadsheet would run as a formula are written with a leading
    apostrophe. An existing file is kept unless --replace is given. The export is
    recorded in the audit log; the file is put in place only together with its
    audit entry. SPSS and Stata files carry variable and value labels (response
    1 = CR ...) and real dates; ODM holds the data dictionary (items, code lists,
    ranges) and the data; FHIR writes one transaction Bundle per patient with
    mCODE profiles. See docs/interop.md.

    [b]Examples[/b]

      ilp export registry-2026-11-27.csv
      ilp export --format sav registry.sav
      ilp export --format dta --per patient registry-patients.dta
      ilp export --format odm registry-odm.xml
      ilp export --format fhir fhir-bundles/
      ilp export --deidentify --key-file pseudonym.key shared.csv
    """
    from ilpkit.services.deidentify import DeidentifyError, DeidentifyOptions, read_key
    from ilpkit.services.registry_export import ExportFileExistsError, export_registry
    from ilpkit.services.registry_export_formats import ExportError, export_registry_as

    if not deidentify and (coarsen_age or year_only or key_file is not None):
        fail(
            "--coarsen-age, --year-only and --key-file belong to a de-identified export: add "
            "--deidentify. Nothing was exported."
        )
    if format_ is ExportFormat.CSV and per is Per.PATIENT:
        fail(
            "--per patient is for sav, dta, xpt and parquet; Registry CSV v1 has one row per "
            "perfusion. Nothing was exported."
        )
    if not target.absolute().parent.is_dir():
        fail(f"the folder {target.absolute().parent} does not exist. Nothing was exported.")
    url = config.database_url(db)
    _require_existing_sqlite(url)
    out = stdout()
    try:
        with database_errors(url):
            if format_ is ExportFormat.CSV and not deidentify:
                count = export_registry(url, target, config.actor(), replace=replace)
                out.print(f"Exported {count:,} perfusions to {safe(target)}.")
                return
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
    except ExportFileExistsError:
        fail(f"{target} already exists; add --replace to overwrite it. Nothing was exported.")
    except (ExportError, DeidentifyError) as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot write {target}: {exc.strerror or exc}. Nothing was exported.")
    unit = {"odm": "patients", "fhir": "patient Bundles"}.get(
        report.format, "rows (one per patient)" if per is Per.PATIENT else "rows"
    )
    out.print(
        plain(
            f"Exported {report.rows:,} {unit} ({report.patients:,} patients, "
            f"{report.perfusions:,} perfusions) to {report.path} as {format_.value}"
            + (", de-identified" if report.deidentified else "")
            + "."
        ),
        markup=False,
    )
    if report.synthetic:
        out.print(
            "SYNTHETIC DATA: this registry was made by ilp synth; the file is labelled so.",
            markup=False,
        )
    if report.manifest is not None:
        out.print(
            plain(f"What was removed, shifted and coarsened: {report.manifest}"), markup=False
        )


def register(app: typer.Typer) -> None:
    """Register ``export`` on ``app``."""
    app.command()(export)
