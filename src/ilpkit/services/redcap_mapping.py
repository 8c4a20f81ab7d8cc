"""Use case: write a starting mapping file for a REDCap project (``ilp redcap-mapping``).

Every registry field (Registry CSV v1 and ``perfusion_id``) is matched to at most one field of
the REDCap data dictionary, best first:

1. a field of the same name (ignoring case; ``patient_id`` also matches the record id field,
   the first field of the dictionary, when no field is named ``patient_id``);
2. otherwise the field whose name or label is most similar (:func:`difflib.SequenceMatcher`,
   at least :data:`MIN_SIMILARITY`) to the registry field's name or label, among fields of a
   compatible type (dates with dates, numbers with numbers, choices with radio / dropdown).

The codes of a matched radio or dropdown field are matched to registry values by their label
(``"2, F: female"``, ``"2, Female"``, ``"CR"``) or code. Matched yesno / truefalse fields map
1 -> yes and 0 -> no. What is not matched is written as a commented entry with the reason, for
the user to complete; the file is never complete by guesswork alone, so it must be read before
use.
"""

from __future__ import annotations

import difflib
import os
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ilpkit.adapters.export.columns import CHOICE_NAMES, short_label
from ilpkit.adapters.redcap.dictionary import (
    BOOLEAN_TYPES,
    DATE_ORDERS,
    NO_DATA_TYPES,
    DictionaryField,
    read_dictionary,
)
from ilpkit.adapters.redcap.mapping_file import (
    DATE_FORMATS,
    DEFAULT_DATE_FORMAT,
    Entry,
    RedcapMapping,
    render_mapping,
)
from ilpkit.domain.fields import FIELDS, PERFUSION_ID, FieldSpec
from ilpkit.errors import IlpkitError

MIN_SIMILARITY = 0.75
"""Smallest name/label similarity (0-1) accepted as a match."""

_COMPATIBLE: dict[str, tuple[str, ...]] = {
    "date": ("date",),
    "number": ("number", "integer"),
    "integer": ("integer", "number"),
    "choice": ("choice", "text"),
    "yes/no": ("boolean", "choice"),
    "identifier": ("text",),
    "code": ("text", "choice"),
}


class MappingExistsError(IlpkitError):
    """The output file exists and ``replace`` was not given."""


@dataclass(frozen=True, slots=True)
class MappingSuggestion:
    """What ``redcap-mapping`` wrote."""

    path: Path
    matched: dict[str, str]
    unmatched: dict[str, str]
    unmatched_codes: dict[str, list[str]] = field(default_factory=dict)
    perfusion_instrument: str = ""


def _kind(f: DictionaryField) -> str:
    if f.field_type in BOOLEAN_TYPES:
        return "boolean"
    if f.field_type in ("radio", "dropdown"):
        return "choice"
    if f.field_type == "text" and f.validation in DATE_ORDERS:
        return "date"
    if f.field_type == "text" and f.validation == "integer":
        return "integer"
    if f.field_type == "text" and f.validation.startswith("number"):
        return "number"
    if f.field_type == "text" and not f.validation:
        return "text"
    return "other"


def _norm(text: str) -> str:
    return " ".join("".join(c if c.isalnum() else " " for c in text.casefold()).split())


SYNONYMS: dict[str, tuple[str, ...]] = {
    "sex": ("gender",),
    "center": ("centre", "site", "hospital", "institution"),
    "ilp_date": ("date of ilp", "perfusion date", "ilp date"),
}
"""Other words for a registry field that REDCap projects commonly use."""

CONTAINED_SCORE = 0.8
"""Score of a REDCap label whose every word is in the registry field's name or label (``Level``
for ``perfusion_level``; ``TNF dose (mg)`` for ``tnf_mg``)."""


def _similarity(spec: FieldSpec, f: DictionaryField) -> float:
    ours = [_norm(spec.name), _norm(short_label(spec)), *SYNONYMS.get(spec.name, ())]
    theirs = [_norm(f.name), _norm(f.label)]
    score = max(
        difflib.SequenceMatcher(None, a, b).ratio() for a in ours for b in theirs if a and b
    )
    our_words = set(" ".join(ours).split())
    for text in theirs:
        words = set(text.split()) - {"of", "in", "the", "a"}
        if words and words <= our_words:
            score = max(score, CONTAINED_SCORE)
    return score


def match_fields(dictionary: list[DictionaryField]) -> tuple[dict[str, str], dict[str, str]]:
    """Registry field -> REDCap field for every match, and registry field -> reason for the rest."""
    usable = [f for f in dictionary if f.field_type not in NO_DATA_TYPES]
    by_name = {f.name.casefold(): f for f in usable}
    specs = [*FIELDS, PERFUSION_ID]
    matched: dict[str, str] = {}
    taken: set[str] = set()
    for spec in specs:
        exact = by_name.get(spec.name.casefold())
        if exact is not None and exact.name not in taken:
            matched[spec.name] = exact.name
            taken.add(exact.name)
    if "patient_id" not in matched and usable and usable[0].name not in taken:
        matched["patient_id"] = usable[0].name
        taken.add(usable[0].name)
    candidates: list[tuple[float, str, str]] = []
    for spec in specs:
        if spec.name in matched:
            continue
        for f in usable:
            if f.name in taken or _kind(f) not in _COMPATIBLE[spec.kind]:
                continue
            score = _similarity(spec, f)
            if score >= MIN_SIMILARITY:
                candidates.append((score, spec.name, f.name))
    for _, name, redcap in sorted(candidates, key=lambda c: -c[0]):
        if name not in matched and redcap not in taken:
            matched[name] = redcap
            taken.add(redcap)
    unmatched = {
        s.name: "no REDCap field of this name, nor one of a compatible type with a similar "
        "name or label"
        for s in specs
        if s.name not in matched
    }
    return matched, unmatched


def _value_names(spec: FieldSpec) -> dict[str, str]:
    """Normalised text -> registry value: the value, its readable name, ``value: name``."""
    out: dict[str, str] = {}
    names = CHOICE_NAMES.get(spec.name, {})
    choices = spec.choices if spec.kind == "choice" else ("yes", "no")
    for value in choices:
        for text in (value, value.replace("_", " "), names.get(value, "")):
            if text:
                out[_norm(text)] = value
        if value in names:
            out[_norm(f"{value}: {names[value]}")] = value
    for alias, value in spec.aliases.items():
        out[_norm(alias)] = value
    if spec.kind == "yes/no":
        out.update({"true": "yes", "false": "no", "y": "yes", "n": "no"})
    return out


def match_codes(spec: FieldSpec, f: DictionaryField) -> tuple[list[Entry], list[str]]:
    """Entries ``code = value`` for a choice field, and the codes left unmatched."""
    entries: list[Entry] = []
    missing: list[str] = []
    if spec.kind == "code":  # centre codes are the registry's own: the user writes them
        for code, label in f.codes.items():
            entries.append(Entry(code, None, f"'{label}': write its registry code"))
            missing.append(code)
        return entries, missing
    names = _value_names(spec)
    for code, label in f.codes.items():
        value = names.get(_norm(label)) or names.get(_norm(code))
        if value is None and ":" in label:
            value = names.get(_norm(label.split(":", 1)[0]))
        if value is None:  # "Recurrence" for "recurrent"
            close = difflib.get_close_matches(_norm(label), list(names), n=1, cutoff=0.8)
            value = names[close[0]] if close else None
        if value is None:
            entries.append(Entry(code, None, f"'{label}': no registry value matched"))
            missing.append(code)
        else:
            entries.append(Entry(code, value, label))
    return entries, missing


def suggest_mapping(
    dictionary_path: Path, out: Path, *, replace: bool = False
) -> MappingSuggestion:
    """Write a starting mapping for the REDCap project described by ``dictionary_path``.

    Raises
    ------
    RedcapFileError
        The dictionary cannot be read.
    MappingExistsError
        ``out`` exists and ``replace`` is False (nothing is written).
    """
    if out.is_dir():
        raise MappingExistsError(f"{out} is a folder; give a file name such as mapping.toml")
    if out.exists() and not replace:
        raise MappingExistsError(
            f"{out} already exists; nothing was written (add --replace to overwrite it)"
        )
    if not out.absolute().parent.is_dir():
        raise MappingExistsError(
            f"the folder {out.absolute().parent} does not exist; nothing was written"
        )
    dictionary = read_dictionary(dictionary_path)
    by_name = {f.name: f for f in dictionary}
    matched, unmatched = match_fields(dictionary)
    record_id = dictionary[0].name
    perfusion_forms = Counter(
        by_name[matched[s.name]].form
        for s in FIELDS
        if s.level == "perfusion" and s.name in matched
    )
    instrument = ""
    if perfusion_forms:
        form = perfusion_forms.most_common(1)[0][0]
        if form != dictionary[0].form:
            instrument = form
    entries: list[Entry] = []
    choices: dict[str, list[Entry]] = {}
    unmatched_codes: dict[str, list[str]] = {}
    specs = [*FIELDS, PERFUSION_ID]
    for spec in specs:
        if spec.name in matched:
            f = by_name[matched[spec.name]]
            entries.append(Entry(spec.name, f.name, f"{f.form}: {f.label}"))
            if spec.kind in ("choice", "yes/no", "code") and f.codes:
                codes, missing = match_codes(spec, f)
                choices[spec.name] = codes
                if missing:
                    unmatched_codes[spec.name] = missing
        else:
            entries.append(
                Entry(
                    spec.name,
                    None,
                    f"{'required' if spec.required else 'optional'}; {unmatched[spec.name]}",
                )
            )
    header = [
        "Mapping of a REDCap project onto ilpkit's Registry CSV v1, for 'ilp import-redcap'.",
        f"Written by 'ilp redcap-mapping' from {dictionary_path.name}: CHECK EVERY LINE.",
        "[fields]: registry field = REDCap field. A commented line (#) is a registry field that",
        "was not matched: fill in the REDCap field, or leave it out (optional fields only).",
        "[choices.FIELD]: REDCap code = registry value (see docs/data-dictionary.md).",
        "date_format: " + "; ".join(f"{k} = {v}" for k, v in DATE_FORMATS.items()) + ".",
        "perfusion_instrument: the repeating instrument with one perfusion per instance",
        '("" when each record holds one perfusion on its own row).',
    ]
    text = render_mapping(
        header,
        RedcapMapping(record_id, instrument, DEFAULT_DATE_FORMAT),
        entries,
        choices,
    )
    fd, name = tempfile.mkstemp(
        prefix=f".{out.name}.", suffix=".partial", dir=out.absolute().parent
    )
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        mask = os.umask(0o022)
        os.umask(mask)
        os.chmod(name, 0o666 & ~mask)  # as an ordinary new file, not mkstemp's 0600
        if out.exists() and not replace:
            raise MappingExistsError(
                f"{out} already exists; nothing was written (add --replace to overwrite it)"
            )
        os.replace(name, out)
    finally:
        Path(name).unlink(missing_ok=True)
    return MappingSuggestion(out, matched, unmatched, unmatched_codes, instrument)
