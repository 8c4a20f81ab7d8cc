"""Dosing protocols: named, versioned entries of the centre-editable protocol file (TOML).

The file (shipped as ``ilpkit/data/protocols.toml``; a centre may use its own) holds:

* ``[protocols.NAME]``: ``version``, ``title``, TNF-alpha dose per limb (and optionally per
  perfusion level: ``tnf_mg.popliteal`` overrides ``tnf_mg.leg``), melphalan per litre of limb
  volume per limb, the total melphalan cap, optional ``conduct`` overrides, and
  ``study``/``study_reference``;
* ``[conduct]``: circuit, temperature and timeline targets (:mod:`ilpkit.planning.circuit`);
* ``[leakage]``: alert levels and isotopes (:mod:`ilpkit.planning.leakage`);
* ``[eligibility]``: contraindications (:mod:`ilpkit.planning.eligibility`).

Every number is written with its source. A protocol whose doses (or flow) exceed the Beromun label
(:mod:`ilpkit.planning.label`) is refused unless it is marked ``study = true`` with a
``study_reference``; plans made with a study protocol say so prominently.

This module parses text (``tomllib.loads``); reading the file is the adapter's job
(:mod:`ilpkit.adapters.protocol_file`).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ilpkit.domain.perfusion import Limb, PerfusionLevel
from ilpkit.planning.circuit import ConductTargets, read_conduct
from ilpkit.planning.eligibility import EligibilityRules, read_eligibility
from ilpkit.planning.errors import ProtocolError
from ilpkit.planning.label import LabelCeilings, label_ceilings
from ilpkit.planning.leakage import LeakageSettings, read_leakage
from ilpkit.planning.perfusion_site import levels_for
from ilpkit.planning.sourced import Sourced, TomlReader

SCHEMA_VERSION = 1
"""Version of the protocol file layout this code reads."""

_TOP_KEYS = ("schema_version", "default_protocol", "conduct", "leakage", "eligibility", "protocols")
_PROTOCOL_KEYS = (
    "version",
    "title",
    "description",
    "study",
    "study_reference",
    "tnf_mg",
    "melphalan_mg_per_l",
    "melphalan_max_mg",
    "conduct",
)
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")


@dataclass(frozen=True, slots=True)
class DosingProtocol:
    """One named, versioned dosing protocol.

    Attributes
    ----------
    name : str
        Key in the file, e.g. ``"label"``.
    version : str
        The protocol's version, recorded with every plan.
    title : str
        One-line description.
    description : str
        Longer text (may be empty).
    study : bool
        True for a study protocol (may exceed the label; every plan says so).
    study_reference : str
        Trial or ethics approval reference of a study protocol; empty otherwise.
    tnf_mg : dict of str to Sourced
        TNF-alpha dose in mg keyed by limb (``arm``, ``leg``) and optionally by perfusion level.
    melphalan_mg_per_l : dict of Limb to Sourced
        Melphalan dose per litre of perfused limb volume.
    melphalan_max_mg : Sourced
        Total melphalan cap in mg.
    conduct : ConductTargets
        Circuit, temperature and timeline targets.
    label_exceedances : tuple of str
        Where a study protocol exceeds the label (empty for a label-conform protocol).
    """

    name: str
    version: str
    title: str
    description: str
    study: bool
    study_reference: str
    tnf_mg: dict[str, Sourced]
    melphalan_mg_per_l: dict[Limb, Sourced]
    melphalan_max_mg: Sourced
    conduct: ConductTargets
    label_exceedances: tuple[str, ...] = ()

    def tnf_for(self, limb: Limb, level: PerfusionLevel) -> tuple[str, Sourced]:
        """TNF-alpha dose for a limb and level: the level's entry if the protocol has one, else
        the limb's. Returns the key used and the dose."""
        if level.value in self.tnf_mg:
            return level.value, self.tnf_mg[level.value]
        return limb.value, self.tnf_mg[limb.value]

    def to_dict(self) -> dict[str, object]:
        """JSON-serialisable form."""
        return {
            "name": self.name,
            "version": self.version,
            "title": self.title,
            "description": self.description,
            "study": self.study,
            "study_reference": self.study_reference,
            "label_exceedances": list(self.label_exceedances),
            "tnf_mg": {k: v.to_dict() for k, v in self.tnf_mg.items()},
            "melphalan_mg_per_l": {
                k.value: v.to_dict() for k, v in self.melphalan_mg_per_l.items()
            },
            "melphalan_max_mg": self.melphalan_max_mg.to_dict(),
            "conduct": self.conduct.to_dict(),
        }


@dataclass(frozen=True, slots=True)
class ProtocolBook:
    """Everything in one protocol file.

    Attributes
    ----------
    origin : str
        Where the text came from (for messages and for the plan's record).
    default_protocol : str
        Name used when none is asked for.
    protocols : dict of str to DosingProtocol
        The protocols by name, in file order.
    leakage : LeakageSettings
    eligibility : EligibilityRules
    """

    origin: str
    default_protocol: str
    protocols: dict[str, DosingProtocol]
    leakage: LeakageSettings
    eligibility: EligibilityRules

    def protocol(self, name: str | None = None) -> DosingProtocol:
        """Return the protocol ``name`` (the default protocol when None).

        Raises
        ------
        ProtocolError
            No protocol of that name; the message lists the available ones.
        """
        key = self.default_protocol if name is None else name.strip().lower()
        if key not in self.protocols:
            known = ", ".join(self.protocols)
            raise ProtocolError(
                self.origin, [f"no protocol named '{name}'; available protocols: {known}"]
            )
        return self.protocols[key]


def parse_protocol_book(
    text: str, origin: str = "<text>", ceilings: LabelCeilings | None = None
) -> ProtocolBook:
    """Parse and check a protocol file.

    Parameters
    ----------
    text : str
        TOML text of the protocol file.
    origin : str
        Where the text came from, used in messages.
    ceilings : LabelCeilings, optional
        The label ceilings to check against; default :func:`ilpkit.planning.label.label_ceilings`.

    Returns
    -------
    ProtocolBook

    Raises
    ------
    ProtocolError
        Listing every problem: TOML syntax, missing or unknown keys, a value without its source,
        a value out of range, or a non-study protocol above the label.
    """
    ceilings = ceilings or label_ceilings()
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ProtocolError(origin, [f"not valid TOML: {error}"]) from None
    reader = TomlReader()
    reader.only_keys(data, _TOP_KEYS, "")
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        reader.problem(
            "schema_version",
            f"found {version!r}; this version of ilpkit reads schema_version = {SCHEMA_VERSION}",
        )
    conduct_defaults = reader.table(data, "conduct", "")
    protocols: dict[str, DosingProtocol] = {}
    for name, table in reader.table(data, "protocols", "").items():
        where = f"protocols.{name}"
        if not _NAME.match(name):
            reader.problem(where, "protocol names are lower case letters, digits and '-'")
        if not isinstance(table, Mapping):
            reader.problem(where, "must be a table")
            continue
        protocols[name] = _read_protocol(reader, name, table, where, conduct_defaults, ceilings)
    if not protocols and "protocols" in data:
        reader.problem("protocols", "the file defines no protocol")
    default = data.get("default_protocol")
    if not isinstance(default, str) or default not in protocols:
        reader.problem(
            "default_protocol",
            f"found {default!r}; must name one of the protocols: {', '.join(protocols)}",
        )
    leakage = read_leakage(reader, reader.table(data, "leakage", ""), "leakage", ceilings)
    eligibility = read_eligibility(reader, reader.table(data, "eligibility", ""), "eligibility")
    if reader.problems:
        raise ProtocolError(origin, reader.problems)
    return ProtocolBook(
        origin=origin,
        default_protocol=str(default),
        protocols=protocols,
        leakage=leakage,
        eligibility=eligibility,
    )


def _read_protocol(
    reader: TomlReader,
    name: str,
    table: Mapping[str, Any],
    where: str,
    conduct_defaults: Mapping[str, Any],
    ceilings: LabelCeilings,
) -> DosingProtocol:
    reader.only_keys(table, _PROTOCOL_KEYS, where)
    study = reader.flag(table, "study", where, default=False)
    study_reference = reader.text(table, "study_reference", where, required=study)
    if not study and study_reference:
        reader.problem(f"{where}.study_reference", "only a study protocol (study = true) has one")

    tnf_table = reader.table(table, "tnf_mg", where)
    tnf_where = f"{where}.tnf_mg"
    allowed_tnf = [limb.value for limb in Limb] + [level.value for level in PerfusionLevel]
    reader.only_keys(tnf_table, allowed_tnf, tnf_where)
    tnf_mg = {
        key: reader.sourced(tnf_table, key, tnf_where, "mg")
        for key in allowed_tnf
        if key in tnf_table or key in (Limb.ARM.value, Limb.LEG.value)
    }
    mel_table = reader.table(table, "melphalan_mg_per_l", where)
    mel_where = f"{where}.melphalan_mg_per_l"
    reader.only_keys(mel_table, [limb.value for limb in Limb], mel_where)
    melphalan = {limb: reader.sourced(mel_table, limb.value, mel_where, "mg/L") for limb in Limb}
    cap = reader.sourced(table, "melphalan_max_mg", where, "mg")
    overrides = table.get("conduct", {})
    if not isinstance(overrides, Mapping):
        reader.problem(f"{where}.conduct", "must be a table")
        overrides = {}
    conduct = read_conduct(reader, conduct_defaults, overrides, "conduct", f"{where}.conduct")

    exceedances = _label_exceedances(tnf_mg, melphalan, cap, conduct, ceilings)
    if exceedances and not study:
        for text in exceedances:
            reader.problem(
                where,
                f"{text}. A protocol above the Beromun label is refused unless it is a study "
                'protocol: set study = true and study_reference = "<trial or ethics approval>"',
            )
    return DosingProtocol(
        name=name,
        version=_version(reader, table, where),
        title=reader.text(table, "title", where),
        description=reader.text(table, "description", where, required=False),
        study=study,
        study_reference=study_reference,
        tnf_mg=tnf_mg,
        melphalan_mg_per_l=melphalan,
        melphalan_max_mg=cap,
        conduct=conduct,
        label_exceedances=tuple(exceedances),
    )


def _version(reader: TomlReader, table: Mapping[str, Any], where: str) -> str:
    value = table.get("version")
    if not isinstance(value, str) or not value.strip():
        reader.problem(
            f"{where}.version", f'found {value!r}; write the version as text, e.g. version = "1.0"'
        )
        return ""
    return value.strip()


def _label_exceedances(
    tnf_mg: Mapping[str, Sourced],
    melphalan: Mapping[Limb, Sourced],
    cap: Sourced,
    conduct: ConductTargets,
    ceilings: LabelCeilings,
) -> list[str]:
    found = []
    for key, dose in tnf_mg.items():
        limb = Limb(key) if key in {lb.value for lb in Limb} else _limb_of(PerfusionLevel(key))
        label = ceilings.tnf_mg[limb]
        if dose.value > label.value:
            found.append(
                f"tnf_mg.{key} = {dose.describe()} is above the label {label.describe()} for "
                f"{'an arm' if limb is Limb.ARM else 'a leg'} ({label.source})"
            )
    for limb, rate in melphalan.items():
        label = ceilings.melphalan_mg_per_l[limb]
        if rate.value > label.value:
            found.append(
                f"melphalan_mg_per_l.{limb.value} = {rate.describe()} is above the label "
                f"{label.describe()} ({label.source})"
            )
    if cap.value > ceilings.melphalan_max_mg.value:
        found.append(
            f"melphalan_max_mg = {cap.describe()} is above the label maximum "
            f"{ceilings.melphalan_max_mg.describe()} ({ceilings.melphalan_max_mg.source})"
        )
    flow = conduct.flow_max_ml_per_l_per_min
    if flow.value > ceilings.flow_max_ml_per_l_per_min.value:
        found.append(
            f"flow_max_ml_per_l_per_min = {flow.describe()} is above the label maximum "
            f"{ceilings.flow_max_ml_per_l_per_min.describe()} "
            f"({ceilings.flow_max_ml_per_l_per_min.source})"
        )
    return found


def _limb_of(level: PerfusionLevel) -> Limb:
    return next(limb for limb in Limb if level in levels_for(limb))
