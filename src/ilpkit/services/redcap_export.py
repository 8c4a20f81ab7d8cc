"""Use case: export the registry for REDCap - a data dictionary and the records to import.

``OUTDIR/data_dictionary.csv`` defines three instruments, built from the field catalogue of
Registry CSV v1 (:data:`ilpkit.domain.fields.FIELDS`), so types, choices and ranges are the
registry's own:

- ``patient``: ``record_id`` (the patient id), the centre, sex and birth date;
- ``follow_up``: date of death and date of last follow-up;
- ``perfusion`` (a repeating instrument, one instance per perfusion in date order): every
  perfusion field and the stable ``perfusion_id``.

Dates are text fields validated ``date_ymd``; numbers ``number`` / ``integer`` with the registry's
range as Text Validation Min/Max; choice fields are radio buttons (dropdowns when they have more
than :data:`RADIO_MAX_CHOICES` values) coded 1, 2, 3 ... in the order of the data dictionary
(as in the SPSS and Stata exports); yes/no fields are ``yesno`` (1 = yes, 0 = no). No checkbox.

``OUTDIR/records.csv`` is the raw data for REDCap's Data Import Tool: ``record_id``,
``redcap_repeat_instrument``, ``redcap_repeat_instance``, then the fields; one row per patient
with empty repeat columns, then one ``perfusion`` row per perfusion.

Spreadsheet formulas: REDCap stores every character it imports, so an apostrophe written in
front of a formula-like value (as ``ilp export`` does) would become part of the value. The
dictionary's cells are ilpkit's own text and are neutralised (none starts with a formula
character). Records are written as they are: every value is validated by the registry - ids and
centre codes are letters, digits, ``_`` and ``-``; choices are numeric codes; dates and numbers
are digits - so no value can start with ``=``, ``+``, ``@``, a tab or a carriage return. Only an
id that starts with ``-`` can, and it is written unchanged (counted in the report): open
records.csv with REDCap's import tool, not with a spreadsheet program.

One transaction: read the registry, write both files under temporary names, add the ``export``
audit row, move the files into place, commit; on any failure neither file nor audit row is kept.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa

from ilpkit.adapters.csv.registry_csv import neutralise
from ilpkit.adapters.db import registry_info
from ilpkit.adapters.db import registry_repository as repo
from ilpkit.adapters.db.registry_frame import load_registry_frame
from ilpkit.adapters.db.tables import patients, perfusions
from ilpkit.adapters.export.columns import choice_labels, frame_rows, short_label
from ilpkit.adapters.redcap.dictionary import DictionaryField, format_choices, write_dictionary
from ilpkit.adapters.redcap.records import REPEAT_INSTANCE, REPEAT_INSTRUMENT, write_records
from ilpkit.domain import limits
from ilpkit.domain.fields import FIELDS, PERFUSION_ID, FieldSpec
from ilpkit.errors import IlpkitError
from ilpkit.services.export_publish import publish, staging_folder
from ilpkit.services.unit_of_work import UnitOfWork

DICTIONARY_FILE = "data_dictionary.csv"
RECORDS_FILE = "records.csv"
RECORD_ID = "record_id"
"""REDCap's record id field: holds the registry's patient_id."""
FORM_PATIENT = "patient"
FORM_FOLLOW_UP = "follow_up"
FORM_PERFUSION = "perfusion"
FOLLOW_UP_FIELDS = ("death_date", "last_followup_date", "cause_of_death")
"""Patient-level fields of the ``follow_up`` instrument (the others are in ``patient``)."""
IDENTIFIER_FIELDS = ("birth_date", "death_date")
"""Fields flagged ``Identifier? = y``: dates of the person, which REDCap's de-identified
exports can then remove or shift. The patient id is a pseudonym and is not flagged."""
RADIO_MAX_CHOICES = 6
"""Choice fields with more values than this are dropdowns."""
SYNTHETIC_NOTICE = "synthetic_notice"


class RedcapExportError(IlpkitError):
    """The export cannot be made as asked; nothing was written."""


@dataclass(frozen=True, slots=True)
class RedcapExportReport:
    """What ``export-redcap`` wrote."""

    folder: Path
    fields: int
    patients: int
    perfusions: int
    rows: int
    synthetic: bool = False
    ids_starting_with_dash: int = 0
    files: list[Path] = field(default_factory=list)


def form_of(spec: FieldSpec) -> str:
    """The instrument a registry field belongs to."""
    if spec.level == "perfusion":
        return FORM_PERFUSION
    return FORM_FOLLOW_UP if spec.name in FOLLOW_UP_FIELDS else FORM_PATIENT


def redcap_name(spec: FieldSpec) -> str:
    """The REDCap variable name of a registry field (the same name; patient_id is record_id)."""
    return RECORD_ID if spec.name == "patient_id" else spec.name


def choice_codes(spec: FieldSpec) -> list[tuple[str, str, str]]:
    """(REDCap code, registry value, label) of each value of a choice field: codes 1, 2, 3 ...
    in the order of the data dictionary."""
    return [(str(i), value, label) for i, (value, label) in enumerate(choice_labels(spec), start=1)]


def _number(value: float | None) -> str:
    if value is None:
        return ""
    # + 0.0 turns a stored -0.0 into 0.0: no number is written with a leading '-'
    return np.format_float_positional(float(value) + 0.0, trim="-")


def _dictionary_field(spec: FieldSpec) -> DictionaryField:
    field_type = "text"
    validation = vmin = vmax = choices = ""
    if spec.kind == "choice":
        codes = choice_codes(spec)
        field_type = "radio" if len(codes) <= RADIO_MAX_CHOICES else "dropdown"
        choices = format_choices((code, label) for code, _, label in codes)
    elif spec.kind == "yes/no":
        field_type = "yesno"
    elif spec.kind == "date":
        validation = "date_ymd"
        if spec.name == "birth_date":
            vmin = limits.EARLIEST_BIRTH_DATE.isoformat()
        vmax = "today"
    elif spec.kind in ("number", "integer"):
        validation = spec.kind
        if spec.range is not None:
            vmin, vmax = _number(spec.range.low), _number(spec.range.high)
    note = spec.allowed().replace("`", "")
    if spec.range is not None and spec.range.unit:
        note = f"{note} ({spec.range.unit})" if spec.range.unit not in note else note
    annotation = f"Registry CSV v1 field {spec.name}."
    reason = spec.reason()
    if reason:
        annotation += " " + reason
    if spec.name == PERFUSION_ID.name:
        annotation += " @READONLY"  # an action tag; not first, so never read as a formula
    label = "Patient ID (pseudonymous)" if spec.name == "patient_id" else short_label(spec)
    return DictionaryField(
        name=redcap_name(spec),
        form=form_of(spec),
        field_type=field_type,
        label=label,
        choices_text=choices,
        note=note if spec.kind not in ("choice", "yes/no") else "",
        validation=validation,
        validation_min=vmin,
        validation_max=vmax,
        identifier="y" if spec.name in IDENTIFIER_FIELDS else "",
        required="y" if spec.required or spec.name == "patient_id" else "",
        annotation=annotation,
    )


def redcap_dictionary(synthetic: bool = False) -> list[DictionaryField]:
    """The data dictionary of the REDCap export: patient, follow_up, then perfusion fields."""
    specs = [*FIELDS, PERFUSION_ID]
    out = [_dictionary_field(s) for s in specs if form_of(s) == FORM_PATIENT]
    if synthetic:
        out.insert(
            1,
            DictionaryField(
                name=SYNTHETIC_NOTICE,
                form=FORM_PATIENT,
                field_type="descriptive",
                label="SYNTHETIC DATA: made by ilp synth; it describes no real patient.",
            ),
        )
    out += [_dictionary_field(s) for s in specs if form_of(s) == FORM_FOLLOW_UP]
    out += [_dictionary_field(s) for s in specs if form_of(s) == FORM_PERFUSION]
    return out


def _formatter(spec: FieldSpec) -> Any:
    if spec.kind == "choice":
        codes = {value: code for code, value, _ in choice_codes(spec)}
        return lambda v: "" if v is None else codes[str(getattr(v, "value", v))]
    if spec.kind == "yes/no":
        return lambda v: "" if v is None else ("1" if v else "0")
    if spec.kind == "date":
        return lambda v: "" if v is None else v.isoformat()
    if spec.kind == "number":
        return _number
    if spec.kind == "integer":
        return lambda v: "" if v is None else str(int(v))
    return lambda v: "" if v is None else str(v)


def _perfusion_ids(conn: sa.Connection) -> dict[tuple[str, date], str]:
    query = sa.select(patients.c.patient_id, perfusions.c.ilp_date, perfusions.c.perfusion_id)
    query = query.select_from(perfusions.join(patients, perfusions.c.patient_pk == patients.c.id))
    return {(pid, d): pfid or "" for pid, d, pfid in conn.execute(query)}


def _record_rows(
    rows: Iterator[dict[str, Any]],
    ids: dict[tuple[str, date], str],
    patient_specs: Sequence[FieldSpec],
    perfusion_specs: Sequence[FieldSpec],
    counts: dict[str, int],
) -> Iterator[list[str]]:
    """Records CSV rows: a patient row, then its perfusion rows (instances 1, 2, ...)."""
    patient_fmt = [_formatter(s) for s in patient_specs]
    perfusion_fmt = [_formatter(s) for s in perfusion_specs]
    blank_patient = [""] * (len(patient_specs) - 1)
    blank_perfusion = [""] * len(perfusion_specs)
    current = None
    instance = 0
    for row in rows:
        pid = row["patient_id"]
        if pid != current:
            current, instance = pid, 0
            counts["patients"] += 1
            counts["dash"] += pid.startswith("-") + str(row["center"]).startswith("-")
            values = [f(row[s.name]) for s, f in zip(patient_specs, patient_fmt, strict=True)]
            yield [values[0], "", "", *values[1:], *blank_perfusion]
        instance += 1
        counts["perfusions"] += 1
        row[PERFUSION_ID.name] = ids.get((pid, row["ilp_date"]), "")
        values = [f(row[s.name]) for s, f in zip(perfusion_specs, perfusion_fmt, strict=True)]
        yield [pid, FORM_PERFUSION, str(instance), *blank_patient, *values]


def export_redcap(
    url: str, folder: Path, actor: str, *, replace: bool = False
) -> RedcapExportReport:
    """Write ``folder/data_dictionary.csv`` and ``folder/records.csv`` for REDCap.

    Parameters
    ----------
    url : str
        Database URL of the registry.
    folder : Path
        Output folder; created when missing (its parent must exist).
    actor : str
        Who exports, for the audit log.
    replace : bool
        Overwrite the two files when they exist.

    Returns
    -------
    RedcapExportReport

    Raises
    ------
    RedcapExportError
        The folder is a file, its parent is missing, a file exists without ``replace``, or
        the registry is empty (nothing is written).
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise RedcapExportError(f"{folder} is a file, not a folder; nothing was written")
    if not folder.absolute().parent.is_dir():
        raise RedcapExportError(
            f"the folder {folder.absolute().parent} does not exist; nothing was written"
        )
    targets = [folder / DICTIONARY_FILE, folder / RECORDS_FILE]
    for target in targets:
        if (target.exists() or target.is_symlink()) and not replace:
            raise RedcapExportError(
                f"{target} already exists; nothing was written (add --replace to overwrite it)"
            )
    created_folder = not folder.exists()
    with UnitOfWork(url, write=True, migrate=False) as uow:
        conn = uow.connection
        repo.assign_missing_perfusion_ids(conn)  # only registries synthesized by older versions
        if repo.registry_size(conn)[1] == 0:  # checked first: nothing to load
            raise RedcapExportError("the registry has no perfusions; nothing was written")
        frame = load_registry_frame(conn)
        synthetic = registry_info.is_synthetic(conn)
        ids = _perfusion_ids(conn)
        dictionary = redcap_dictionary(synthetic)
        specs = [*FIELDS, PERFUSION_ID]
        patient_specs = [s for s in specs if s.level == "patient"]
        patient_specs.sort(key=lambda s: form_of(s) != FORM_PATIENT)  # patient, then follow_up
        perfusion_specs = [s for s in specs if s.level == "perfusion"]
        columns = [
            RECORD_ID,
            REPEAT_INSTRUMENT,
            REPEAT_INSTANCE,
            *(redcap_name(s) for s in patient_specs[1:]),
            *(s.name for s in perfusion_specs),
        ]
        frame = frame[[f.name for f in FIELDS]].sort_values(
            ["patient_id", "ilp_date"], kind="stable"
        )
        counts = {"patients": 0, "perfusions": 0, "dash": 0}
        folder.mkdir(exist_ok=True)
        try:
            with staging_folder(folder, "redcap") as staging:
                staged = [staging / target.name for target in targets]
                with staged[0].open("w", encoding="utf-8", newline="") as out:
                    n_fields = write_dictionary((_neutralised(f) for f in dictionary), out)
                with staged[1].open("w", encoding="utf-8", newline="") as out:
                    n_rows = write_records(
                        columns,
                        _record_rows(
                            frame_rows(frame), ids, patient_specs, perfusion_specs, counts
                        ),
                        out,
                    )
                details = {
                    "format": "redcap",
                    "folder": str(folder.absolute()),
                    "files": [DICTIONARY_FILE, RECORDS_FILE],
                    "fields": n_fields,
                    "rows": n_rows,
                    "patients": counts["patients"],
                    "perfusions": counts["perfusions"],
                    "synthetic": synthetic,
                }
                outputs = list(zip(staged, targets, strict=True))
                publish(
                    uow,
                    actor,
                    folder,
                    details,
                    outputs,
                    replace=replace,
                    audit_name=folder.name or str(folder),
                )
        except BaseException:
            if created_folder:
                with contextlib.suppress(OSError):
                    folder.rmdir()
            raise
    return RedcapExportReport(
        folder=folder,
        fields=n_fields,
        patients=counts["patients"],
        perfusions=counts["perfusions"],
        rows=n_rows,
        synthetic=synthetic,
        ids_starting_with_dash=counts["dash"],
        files=targets,
    )


def _neutralised(f: DictionaryField) -> DictionaryField:
    """The row with every text cell neutralised against spreadsheet formulas (a no-op for
    ilpkit's own text, kept so that a future label cannot slip through)."""
    from dataclasses import replace

    return replace(
        f,
        label=neutralise(f.label),
        note=neutralise(f.note),
        annotation=neutralise(f.annotation),
        choices_text=neutralise(f.choices_text),
    )
