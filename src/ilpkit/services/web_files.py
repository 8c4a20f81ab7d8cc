"""Use cases of the web application's file pages, for one logged-in user: import a Registry CSV
file, download an export, download the study report - each limited to the user's centres.

- **Import** runs the all-or-nothing import of ``ilp import``
  (:func:`ilpkit.services.registry_import.import_registry`) restricted to the user's centres: a
  row of another centre refuses the whole file naming the row, and a patient id or perfusion_id
  of another centre's record is refused with a message that does not reveal the record.
- **Export** reads the registry frame of the user's centres only (filtered in SQL), writes it as
  ``ilp export`` does, and records it in the audit log under the user's name. A statistician
  always gets the de-identified export (keyed pseudonyms, shifted dates, with the manifest).
- **Report** builds the study report of the user's centres (de-identified for a statistician).
"""

from __future__ import annotations

import io
import json
import re
import tempfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from ilpkit import __version__
from ilpkit.adapters.db import registry_info
from ilpkit.adapters.db import registry_repository as repo
from ilpkit.adapters.db.registry_frame import load_registry_frame
from ilpkit.domain.fields import FIELDS
from ilpkit.errors import IlpkitError
from ilpkit.services.access import Principal, pseudonym_key
from ilpkit.services.deidentify import DeidentifyOptions, deidentify_frame
from ilpkit.services.registry_export import audit_key
from ilpkit.services.registry_export_formats import FORMAT_NAMES, write_export_file
from ilpkit.services.registry_import import ImportReport, import_registry
from ilpkit.services.unit_of_work import UnitOfWork

IMPORT_ROLES = frozenset({"admin", "data_manager"})
EXPORT_ROLES = frozenset({"admin", "data_manager", "statistician"})
"""Monitors and clinicians read records in the application but take no copy of the registry."""
REPORT_ROLES = frozenset({"admin", "data_manager", "clinician", "statistician", "monitor"})
"""The report holds aggregate results, as the dashboard every role sees."""
DOWNLOAD_FORMATS: dict[str, tuple[str, str]] = {
    "csv": ("csv", "text/csv; charset=utf-8"),
    "sav": ("sav", "application/octet-stream"),
    "dta": ("dta", "application/octet-stream"),
    "parquet": ("parquet", "application/vnd.apache.parquet"),
    "odm": ("xml", "application/xml"),
    "fhir": ("zip", "application/zip"),
}
"""Export formats offered for download: extension and media type (FHIR: a zip of Bundles)."""


class NotAllowed(IlpkitError):
    """The user's role may not do this (the message says what the role may do)."""


class NothingToDownload(IlpkitError):
    """The user's centres hold no perfusion, so there is nothing to export or report."""


@dataclass(frozen=True, slots=True)
class Download:
    """A file to send: its name, media type and content."""

    filename: str
    media_type: str
    content: bytes


def _centers(principal: Principal) -> frozenset[str] | None:
    return None if principal.all_centers else principal.centers


def _load(conn: Any, principal: Principal) -> pd.DataFrame:
    frame = load_registry_frame(conn, _centers(principal))
    if frame.empty:
        raise NothingToDownload(
            "your centres hold no perfusion yet, so there is nothing to download"
        )
    return frame[[f.name for f in FIELDS]]


# ------------------------------------------------------------------------------ import


def safe_file_name(name: str, default: str = "upload.csv") -> str:
    """The last part of an uploaded file's name, with only letters, digits, ``.-_`` kept."""
    base = re.split(r"[\\/]", name or "")[-1]
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", base).strip("._")[:100]
    return cleaned or default


def import_upload(
    url: str,
    principal: Principal,
    path: Path,
    *,
    today: date,
    dry_run: bool,
) -> ImportReport:
    """Import (or only check) the uploaded Registry CSV file at ``path`` for ``principal``.

    An admin imports into every centre; a data manager into the granted centres only.

    Raises
    ------
    NotAllowed
        For any other role (nothing is read).
    ilpkit.domain.errors.RegistryValidationError
        With every problem; nothing is imported.
    """
    if principal.role not in IMPORT_ROLES:
        raise NotAllowed("importing is for data managers and admins")
    centers = _centers(principal)
    return import_registry(path, url, today, principal.username, dry_run=dry_run, centers=centers)


# ------------------------------------------------------------------------------ export


def export_download(
    url: str,
    principal: Principal,
    fmt: str,
    *,
    deidentify: bool = False,
    today: date | None = None,
    environ: Mapping[str, str] | None = None,
) -> Download:
    """The registry of ``principal``'s centres in ``fmt``, recorded in the audit log.

    A statistician always gets the de-identified export; others get it when ``deidentify``.
    A de-identified export is a zip of the file and its manifest (what was removed, replaced
    and shifted); a FHIR export a zip of one Bundle per patient.

    Raises
    ------
    NotAllowed
        The role may not export, or ``fmt`` is not offered.
    ilpkit.services.access.PseudonymKeyMissing
        De-identification is needed and the deployment has no key (nothing is exported).
    NothingToDownload
        The user's centres hold no perfusion.
    """
    if principal.role not in EXPORT_ROLES:
        raise NotAllowed("exporting is for data managers, statisticians and admins")
    if fmt not in DOWNLOAD_FORMATS:
        raise NotAllowed(
            f"'{fmt}' is not an export format; use one of {', '.join(DOWNLOAD_FORMATS)}"
        )
    deidentify = deidentify or principal.pseudonymised
    options = DeidentifyOptions(pseudonym_key(environ)) if deidentify else None
    day = today or date.today()
    created = datetime.now(UTC).replace(microsecond=0)
    ext, media_type = DOWNLOAD_FORMATS[fmt]
    stem = f"registry-{day.isoformat()}" + ("-deidentified" if deidentify else "")
    name = f"{stem}.{ext}"
    with UnitOfWork(url, write=True, migrate=False) as uow:
        conn = uow.connection
        frame = _load(conn, principal)
        synthetic = registry_info.is_synthetic(conn)
        patients, perfusions = int(frame["patient_id"].nunique()), len(frame)
        manifest: dict[str, Any] | None = None
        if options is not None:
            frame, manifest = deidentify_frame(frame, options, day)
        with tempfile.TemporaryDirectory(prefix="ilp-download-") as work:
            target = Path(work) / (stem if fmt == "fhir" else name)
            rows = write_export_file(fmt, frame, target, created=created, synthetic=synthetic)
            files: dict[str, bytes] = {}
            if fmt == "fhir":
                files = {f"{stem}/{p.name}": p.read_bytes() for p in sorted(target.iterdir())}
            else:
                files[name] = target.read_bytes()
        if manifest is not None:
            manifest = {
                "manifest": "ilpkit de-identified export",
                "format": FORMAT_NAMES[fmt],
                "file": name,
                "created": created.isoformat(),
                "software": f"ilpkit {__version__}",
                "per": "perfusion",
                "patients": patients,
                "perfusions": perfusions,
                "synthetic": synthetic,
                **manifest,
            }
            text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
            files[f"{stem}.manifest.json"] = text.encode("utf-8")
        if len(files) == 1:
            download = Download(name, media_type, files[name])
        else:
            download = Download(f"{stem}.zip", "application/zip", _zip(files))
        details: dict[str, Any] = {
            "format": fmt,
            "rows": rows,
            "per": "perfusion",
            "patients": patients,
            "perfusions": perfusions,
            "deidentified": options is not None,
            "synthetic": synthetic,
            "centers": "all" if principal.all_centers else sorted(principal.centers),
            "file": download.filename,
            "via": "web download",
        }
        if manifest is not None:
            details["key_fingerprint"] = manifest["key_fingerprint"]
        repo.add_audit(
            conn, principal.username, "export", [("export", audit_key(download.filename), details)]
        )
        uow.commit()
    return download


def _zip(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in files.items():
            z.writestr(name, content)
    return out.getvalue()


# ------------------------------------------------------------------------------ report


def report_download(
    url: str,
    principal: Principal,
    *,
    today: date | None = None,
    environ: Mapping[str, str] | None = None,
) -> Download:
    """The HTML study report of ``principal``'s centres (de-identified for a statistician).

    Raises
    ------
    NotAllowed
        The role may not download the report.
    ilpkit.services.access.PseudonymKeyMissing
        A statistician, and the deployment has no key.
    NothingToDownload
        The user's centres hold no perfusion.
    """
    from ilpkit.services.build_report import build_report_from_frame

    if principal.role not in REPORT_ROLES:
        raise NotAllowed("this account may not see registry data")
    options = DeidentifyOptions(pseudonym_key(environ)) if principal.pseudonymised else None
    day = today or date.today()
    with UnitOfWork(url, write=False) as uow:
        conn = uow.connection
        synthetic = registry_info.is_synthetic(conn)
        seed = registry_info.synthetic_seed(conn)
        frame = _load(conn, principal)
    if options is not None:
        frame, _ = deidentify_frame(frame, options, day)
    scope = "all centres" if principal.all_centers else ", ".join(sorted(principal.centers))
    source = f"registry, centres: {scope}" + (" (de-identified)" if options else "")
    with tempfile.TemporaryDirectory(prefix="ilp-report-") as work:
        files = build_report_from_frame(
            frame,
            Path(work) / "report",
            source=source,
            synthetic=synthetic or None,
            synthetic_seed=seed,
            figure_workers=1,
            png=False,
        )
        content = files.html.read_bytes()
    name = f"ilpkit-report-{day.isoformat()}" + ("-deidentified" if options else "") + ".html"
    return Download(name, "text/html; charset=utf-8", content)
