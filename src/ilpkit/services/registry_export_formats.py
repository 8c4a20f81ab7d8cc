"""Use case: export the registry for data sharing - Registry CSV, SPSS, Stata, SAS transport,
Parquet, CDISC ODM 1.3.2 or HL7 FHIR R4 (mCODE) - optionally de-identified.

One transaction: read the registry, write the output next to its destination under a temporary
name, then :func:`ilpkit.services.export_publish.publish`: insert the audit row ("export", with
the format and the de-identification), move the output into place, commit. A failure at any step
removes the temporary output and leaves the registry's audit log and any existing file as they
were.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from ilpkit import __version__
from ilpkit.adapters.csv.registry_csv import write_registry_csv
from ilpkit.adapters.db import registry_info
from ilpkit.adapters.db.registry_frame import load_registry_frame
from ilpkit.adapters.export.columns import ColumnMeta, column_meta, frame_rows
from ilpkit.domain.fields import FIELDS, FIELDS_BY_NAME, PATIENT_COLUMNS
from ilpkit.services.deidentify import DeidentifyOptions, deidentify_frame
from ilpkit.services.export_publish import publish, staging_folder
from ilpkit.services.gc_pause import without_cyclic_gc
from ilpkit.services.unit_of_work import UnitOfWork

Format = Literal["csv", "sav", "dta", "xpt", "parquet", "odm", "fhir"]
Per = Literal["perfusion", "patient"]

FORMATS: tuple[str, ...] = ("csv", "sav", "dta", "xpt", "parquet", "odm", "fhir")
TABLE_FORMATS: tuple[str, ...] = ("sav", "dta", "xpt", "parquet")
"""Formats that hold a table of any shape (one row per patient, coarsened columns)."""
FORMAT_NAMES = {
    "csv": "Registry CSV v1",
    "sav": "SPSS",
    "dta": "Stata",
    "xpt": "SAS transport (XPORT v8)",
    "parquet": "Parquet",
    "odm": "CDISC ODM 1.3.2",
    "fhir": "HL7 FHIR R4 (mCODE)",
}
MANIFEST_SUFFIX = ".manifest.json"


class ExportError(ValueError):
    """The export cannot be made as asked; the message says why and that nothing was written."""


@dataclass(frozen=True, slots=True)
class ExportReport:
    """What an export wrote."""

    format: str
    path: Path
    patients: int
    perfusions: int
    rows: int
    deidentified: bool
    synthetic: bool = False
    manifest: Path | None = None
    details: dict[str, Any] = field(default_factory=dict)


def manifest_path(path: Path, fmt: str) -> Path:
    """Where the de-identification manifest of an export to ``path`` goes."""
    if fmt == "fhir":
        return path / "manifest.json"
    return path.with_name(path.name + MANIFEST_SUFFIX)


def _check_request(
    path: Path, fmt: str, per: str, deidentify: DeidentifyOptions | None, replace: bool
) -> None:
    if fmt not in FORMATS:
        raise ExportError(f"'{fmt}' is not an export format; use one of {', '.join(FORMATS)}")
    if per not in ("perfusion", "patient"):
        raise ExportError(f"--per must be 'perfusion' or 'patient', not '{per}'")
    if per == "patient" and fmt not in TABLE_FORMATS:
        raise ExportError(
            f"one row per patient is available for {', '.join(TABLE_FORMATS)}; {fmt} files "
            "already group the perfusions of each patient"
            if fmt in ("odm", "fhir")
            else "Registry CSV v1 has one row per perfusion; use --per patient with "
            + ", ".join(TABLE_FORMATS)
        )
    if deidentify is not None and deidentify.coarsened and fmt == "csv":
        raise ExportError(
            "Registry CSV v1 needs full dates, so coarsening (--coarsen-age, --year-only) is "
            "not available for csv; use sav, dta, xpt, parquet, odm or fhir"
        )
    if not path.parent.is_dir():
        raise ExportError(f"the folder {path.parent} does not exist; nothing was written")
    targets = [path]
    if deidentify is not None and fmt != "fhir":
        targets.append(manifest_path(path, fmt))
    for target in targets:
        if target.exists() or target.is_symlink():
            if not replace:
                raise ExportError(
                    f"{target} already exists; nothing was written (add --replace to overwrite it)"
                )
            if fmt == "fhir" and target == path and not path.is_dir():
                raise ExportError(f"{path} is a file, not a folder; nothing was written")
            if fmt != "fhir" and target.is_dir():
                raise ExportError(f"{target} is a folder, not a file; nothing was written")


def wide_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per patient: the patient's columns, ``n_perfusions``, then every perfusion
    column once per perfusion in date order (``ilp_date_1``, ``ilp_date_2``, ...)."""
    patient_cols = [c for c in frame.columns if _level(c) == "patient"]
    perfusion_cols = [c for c in frame.columns if _level(c) == "perfusion"]
    ordered = frame.sort_values(["patient_id", _date_key(frame)], kind="stable").reset_index(
        drop=True
    )
    number = ordered.groupby("patient_id", sort=False).cumcount() + 1
    patients = ordered.loc[number == 1, patient_cols].reset_index(drop=True)
    counts = ordered.groupby("patient_id", sort=False).size()
    patients.insert(1, "n_perfusions", patients["patient_id"].map(counts).astype("Int64"))
    parts = [patients]
    for k in range(1, int(number.max()) + 1 if len(number) else 1):
        block = ordered.loc[number == k, ["patient_id", *perfusion_cols]].set_index("patient_id")
        block = block.reindex(patients["patient_id"])
        block.columns = [f"{c}_{k}" for c in perfusion_cols]
        for c in perfusion_cols:
            if ordered[c].dtype == bool:
                block[f"{c}_{k}"] = block[f"{c}_{k}"].astype("boolean")
        parts.append(block.reset_index(drop=True))
    return pd.concat(parts, axis=1)


def _date_key(frame: pd.DataFrame) -> str:
    return "ilp_date" if "ilp_date" in frame.columns else "ilp_date_year"


def _level(column: str) -> str:
    if column in ("age_band",):
        return "perfusion"
    base = column[: -len("_year")] if column.endswith("_year") else column
    return "patient" if base in PATIENT_COLUMNS else "perfusion"


def _patients(rows: Iterator[dict[str, Any]]) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """Group rows (ordered by patient) into (patient_id, rows)."""
    current: str | None = None
    group: list[dict[str, Any]] = []
    for row in rows:
        if row["patient_id"] != current:
            if group and current is not None:
                yield current, group
            current, group = str(row["patient_id"]), []
        group.append(row)
    if group and current is not None:
        yield current, group


def _write(
    fmt: str,
    frame: pd.DataFrame,
    target: Path,
    per: str,
    created: datetime,
    identifier_system: str | None,
    synthetic: bool = False,
) -> int:
    """Write ``frame`` to ``target`` in ``fmt``; return the number of rows/subjects/bundles."""
    if fmt == "csv":
        specs = [FIELDS_BY_NAME[name] for name in frame.columns]
        text_rows = ({s.name: s.format(row[s.name]) for s in specs} for row in frame_rows(frame))
        with target.open("w", encoding="utf-8", newline="") as out:
            return write_registry_csv(text_rows, out)
    if fmt in TABLE_FORMATS:
        from ilpkit.adapters.export.stats_files import write_parquet, write_readstat

        table = wide_frame(frame) if per == "patient" else frame
        columns: Sequence[ColumnMeta] = [column_meta(str(c)) for c in table.columns]
        if fmt == "parquet":
            write_parquet(table, columns, target, synthetic)
        else:
            write_readstat(table, columns, target, fmt, synthetic)  # type: ignore[arg-type]
        return len(table)
    age_band = "age_band" in frame.columns
    year_only = any(str(c).endswith("_year") for c in frame.columns)
    if year_only:  # ODM and FHIR keep the field names and write years as partial dates
        frame = frame.rename(columns=lambda c: str(c).removesuffix("_year"))
    if fmt == "odm":
        from ilpkit.adapters.export.odm import layout, write_odm

        lay = layout(age_band=age_band, year_only=year_only)
        name = "SYNTHETIC DATA - TM-ILP registry" if synthetic else "TM-ILP registry"
        return write_odm(_patients(frame_rows(frame)), target, created, study_name=name, lay=lay)
    from ilpkit.adapters.export.fhir import DEFAULT_IDENTIFIER_SYSTEM, patient_bundle, write_bundle

    target.mkdir()
    count = 0
    for patient_id, rows in _patients(frame_rows(frame)):
        bundle = patient_bundle(patient_id, rows, identifier_system or DEFAULT_IDENTIFIER_SYSTEM)
        write_bundle(bundle, target / bundle_file_name(patient_id))
        count += 1
    return count


_FILE_NAME_SAFE = re.compile(r"[A-Za-z0-9_-]{1,64}")


def bundle_file_name(patient_id: str) -> str:
    """``<patient_id>.json``; an id that is no valid registry id (one written to the database by
    other means) becomes ``patient-<sha256 prefix>.json``, so no id can name a path."""
    if _FILE_NAME_SAFE.fullmatch(patient_id):
        return f"{patient_id}.json"
    return "patient-" + hashlib.sha256(patient_id.encode("utf-8")).hexdigest()[:16] + ".json"


def write_export_file(
    fmt: str,
    frame: pd.DataFrame,
    target: Path,
    *,
    per: str = "perfusion",
    created: datetime,
    synthetic: bool = False,
) -> int:
    """Write a (possibly de-identified) registry frame to ``target`` in ``fmt`` as
    :func:`export_registry_as` does; return the number of rows/subjects/bundles. For ``fhir``
    ``target`` is a new folder. Nothing is audited here: the caller records the export."""
    with without_cyclic_gc():
        return _write(fmt, frame, target, per, created, None, synthetic)


def export_registry_as(
    url: str,
    path: Path,
    fmt: str,
    actor: str,
    *,
    per: str = "perfusion",
    deidentify: DeidentifyOptions | None = None,
    replace: bool = False,
    today: date | None = None,
    identifier_system: str | None = None,
) -> ExportReport:
    """Export the registry at ``url`` to ``path`` in format ``fmt``.

    Parameters
    ----------
    url : str
        SQLAlchemy database URL of the registry.
    path : Path
        File to write (for ``fhir``: a folder, one Bundle file per patient).
    fmt : {"csv", "sav", "dta", "xpt", "parquet", "odm", "fhir"}
    actor : str
        Who exports, for the audit log.
    per : {"perfusion", "patient"}
        One row per perfusion (default) or one per patient (sav, dta, xpt, parquet).
    deidentify : DeidentifyOptions, optional
        Pseudonymise ids, shift dates, optionally coarsen; a manifest is written beside the
        output (``FILE.manifest.json``; for ``fhir`` ``DIR/manifest.json``).
    replace : bool
        Overwrite an existing output; without it an existing output is an error.
    today : date, optional
        Today's date (default: the system's), for the de-identification date check.
    identifier_system : str, optional
        FHIR identifier system URI of the patient ids.

    Returns
    -------
    ExportReport

    Raises
    ------
    ExportError
        When the request cannot be met (existing output, unknown format, empty registry, ...).
    DeidentifyError
        When de-identification cannot be done.
    """
    path = Path(path)
    _check_request(path, fmt, per, deidentify, replace)
    created = datetime.now(UTC).replace(microsecond=0)
    with UnitOfWork(url, write=True, migrate=False) as uow:
        frame = load_registry_frame(uow.connection)
        synthetic = registry_info.is_synthetic(uow.connection)
        if frame.empty:
            raise ExportError("the registry has no perfusions; nothing was written")
        frame = frame[[f.name for f in FIELDS]]
        patients = int(frame["patient_id"].nunique())
        perfusions = len(frame)
        manifest: dict[str, Any] | None = None
        if deidentify is not None:
            frame, manifest = deidentify_frame(frame, deidentify, today or date.today())
        with staging_folder(path.parent, path.name) as tmp:
            tmp_out = tmp / path.name
            tmp_manifest = tmp / "manifest.json"
            with without_cyclic_gc():
                rows = _write(fmt, frame, tmp_out, per, created, identifier_system, synthetic)
            details: dict[str, Any] = {
                "format": fmt,
                "rows": rows,
                "per": per,
                "patients": patients,
                "perfusions": perfusions,
                "deidentified": deidentify is not None,
                "synthetic": synthetic,
            }
            outputs = [(tmp_out, path)]
            if deidentify is not None and manifest is not None:
                details["coarsen_age"] = deidentify.coarsen_age
                details["year_only"] = deidentify.year_only
                details["key_fingerprint"] = manifest["key_fingerprint"]
                manifest = {
                    "manifest": "ilpkit de-identified export",
                    "format": FORMAT_NAMES[fmt],
                    "file": path.name,
                    "created": created.isoformat(),
                    "software": f"ilpkit {__version__}",
                    "per": per,
                    "patients": patients,
                    "perfusions": perfusions,
                    "synthetic": synthetic,
                    **manifest,
                }
                text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
                if fmt == "fhir":
                    (tmp_out / "manifest.json").write_text(text, encoding="utf-8")
                else:
                    tmp_manifest.write_text(text, encoding="utf-8")
                    outputs.append((tmp_manifest, manifest_path(path, fmt)))
            details["file"] = str(path.absolute())
            publish(uow, actor, path, details, outputs, replace=replace)
    return ExportReport(
        format=fmt,
        path=path,
        patients=patients,
        perfusions=perfusions,
        rows=rows,
        deidentified=deidentify is not None,
        synthetic=synthetic,
        manifest=manifest_path(path, fmt) if deidentify is not None else None,
        details=details,
    )
