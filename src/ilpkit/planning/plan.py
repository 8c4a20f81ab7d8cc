"""The perfusion plan: limb volume, doses, circuit, temperatures, timeline and eligibility.

:func:`make_plan` puts the calculators together for one patient. The result is a frozen
:class:`PerfusionPlan` whose :meth:`~PerfusionPlan.to_dict` is JSON-serialisable, so it can be
printed, sent to the web app or stored with the perfusion record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from ilpkit import __version__
from ilpkit.domain.limits import LIMB_VOLUME_L_BY_LEVEL
from ilpkit.domain.perfusion import Limb, PerfusionLevel
from ilpkit.domain.plausibility import limb_volume_warning
from ilpkit.planning.circuit import CircuitPlan, TimelineStep, build_timeline, plan_circuit
from ilpkit.planning.dosing import DosePlan, plan_doses
from ilpkit.planning.eligibility import (
    NOT_GIVEN_SOURCE,
    EligibilityResult,
    LabValue,
    assess_eligibility,
)
from ilpkit.planning.limb_volume import LimbVolume
from ilpkit.planning.perfusion_site import resolve_site
from ilpkit.planning.protocols import DosingProtocol, ProtocolBook

PLAN_SCHEMA = "ilpkit.perfusion-plan/1"
"""Identifies the layout of :meth:`PerfusionPlan.to_dict` (for storage)."""

NoticeSeverity = Literal["danger", "warning", "info"]


@dataclass(frozen=True, slots=True)
class Notice:
    """Something the perfusion team must see at the top of the sheet.

    Attributes
    ----------
    kind : str
        ``"study_protocol"``, ``"not_eligible"``, ``"limb_volume"`` (unlikely for the limb and
        level), ``"melphalan_capped"`` or ``"tnf_by_level"``.
    severity : str
        ``"danger"``, ``"warning"`` or ``"info"``.
    message : str
    source : str
    """

    kind: str
    severity: NoticeSeverity
    message: str
    source: str

    def to_dict(self) -> dict[str, object]:
        """JSON-serialisable form."""
        return {
            "kind": self.kind,
            "severity": self.severity,
            "message": self.message,
            "source": self.source,
        }


@dataclass(frozen=True, slots=True)
class PerfusionPlan:
    """A complete perfusion plan.

    Attributes
    ----------
    protocol : DosingProtocol
        The protocol used (name, version, study flag, all values with sources).
    protocol_origin : str
        The protocol file it came from.
    limb : Limb
    level : PerfusionLevel
    volume : LimbVolume
        Perfused limb volume and how it was obtained.
    doses : DosePlan
    circuit : CircuitPlan
    timeline : tuple of TimelineStep
    eligibility : EligibilityResult
    notices : tuple of Notice
        Study protocol, not eligible, melphalan cap, TNF by level: most serious first.
    """

    protocol: DosingProtocol
    protocol_origin: str
    limb: Limb
    level: PerfusionLevel
    volume: LimbVolume
    doses: DosePlan
    circuit: CircuitPlan
    timeline: tuple[TimelineStep, ...]
    eligibility: EligibilityResult
    notices: tuple[Notice, ...]

    @property
    def limb_volume_l(self) -> float:
        """Perfused limb volume in litres."""
        return self.volume.limb_volume_l

    @property
    def sources(self) -> tuple[tuple[str, str], ...]:
        """``(item, source)`` for every value on the plan."""
        c = self.protocol.conduct
        d = self.doses
        return (
            ("limb volume", self.volume.source),
            (f"TNF-alpha ({d.tnf_key})", d.tnf_mg.source),
            (f"melphalan per litre ({self.limb.value})", d.melphalan_protocol_mg_per_l.source),
            ("melphalan maximum", d.melphalan_max_mg.source),
            ("priming volume", c.priming_volume_ml.source),
            ("priming haematocrit", c.priming_haematocrit.source),
            ("maximum flow", c.flow_max_ml_per_l_per_min.source),
            ("low-flow warning", c.flow_warning_below_ml_per_l_per_min.source),
            ("tissue temperature target", c.tissue_temp_target_c.source),
            ("tissue temperature warning", c.tissue_temp_warning_c.source),
            ("timeline", c.end_min.source),
            ("eligibility", NOT_GIVEN_SOURCE),
        )

    def to_dict(self) -> dict[str, object]:
        """JSON-serialisable form (the layout is named by ``schema``).

        The top-level keys ``protocol``, ``study_protocol``, ``limb``, ``perfusion_level``,
        ``limb_volume_l``, ``tnf_mg``, ``melphalan_mg`` and ``melphalan_capped`` are flat values,
        ready to be stored in columns; the rest gives every value with its source.
        """
        c = self.protocol.conduct
        d = self.doses
        return {
            "schema": PLAN_SCHEMA,
            "ilpkit_version": __version__,
            "protocol": self.protocol.name,
            "protocol_version": self.protocol.version,
            "protocol_title": self.protocol.title,
            "study_protocol": self.protocol.study,
            "study_reference": self.protocol.study_reference,
            "label_exceedances": list(self.protocol.label_exceedances),
            "protocol_file": self.protocol_origin,
            "protocol_values": self.protocol.to_dict(),
            "limb": self.limb.value,
            "perfusion_level": self.level.value,
            "limb_volume_l": self.limb_volume_l,
            "limb_volume": self.volume.to_dict(),
            "tnf_mg": d.tnf_mg.value,
            "melphalan_mg": d.melphalan_mg,
            "melphalan_mg_per_l": d.melphalan_mg_per_l,
            "melphalan_protocol_mg_per_l": d.melphalan_protocol_mg_per_l.value,
            "melphalan_uncapped_mg": d.melphalan_uncapped_mg,
            "melphalan_max_mg": d.melphalan_max_mg.value,
            "melphalan_capped": d.melphalan_capped,
            "doses": d.to_dict(),
            "circuit": self.circuit.to_dict(),
            "temperature": {
                "tissue_target_c": c.tissue_temp_target_c.to_dict(),
                "tissue_warning_during_melphalan_c": c.tissue_temp_warning_c.to_dict(),
            },
            "timeline": [step.to_dict() for step in self.timeline],
            "eligible": self.eligibility.eligible,
            "findings": [f.to_dict() for f in self.eligibility.findings],
            "eligibility_checks": [ch.to_dict() for ch in self.eligibility.checks],
            "notices": [n.to_dict() for n in self.notices],
            "sources": [{"item": item, "source": source} for item, source in self.sources],
        }


def make_plan(
    book: ProtocolBook,
    limb: Limb | str,
    level: PerfusionLevel | str,
    volume: LimbVolume,
    protocol_name: str | None = None,
    labs: Mapping[str, LabValue] | None = None,
) -> PerfusionPlan:
    """Plan a perfusion.

    Parameters
    ----------
    book : ProtocolBook
        The parsed protocol file.
    limb : Limb or str
        ``arm`` or ``leg``.
    level : PerfusionLevel or str
        Perfusion level; must belong to the limb.
    volume : LimbVolume
        From :func:`~ilpkit.planning.limb_volume.limb_volume_from_circumferences` or
        :func:`~ilpkit.planning.limb_volume.limb_volume_from_water_displacement`.
    protocol_name : str, optional
        Protocol to use; the file's default protocol when None.
    labs : mapping, optional
        Pre-operative values and yes/no items for the eligibility check.

    Returns
    -------
    PerfusionPlan

    Raises
    ------
    PerfusionSiteError, ProtocolError, LimbVolumeError, EligibilityInputError
        With a message naming the value and the reason.
    """
    limb_enum, level_enum = resolve_site(limb, level)
    protocol = book.protocol(protocol_name)
    doses = plan_doses(protocol, limb_enum, level_enum, volume.limb_volume_l)
    circuit = plan_circuit(volume.limb_volume_l, protocol.conduct)
    timeline = build_timeline(protocol.conduct, doses.tnf_mg.value, doses.melphalan_mg)
    eligibility = assess_eligibility(labs or {}, book.eligibility)
    notices = _notices(protocol, doses, eligibility, limb_enum, level_enum)
    return PerfusionPlan(
        protocol=protocol,
        protocol_origin=book.origin,
        limb=limb_enum,
        level=level_enum,
        volume=volume,
        doses=doses,
        circuit=circuit,
        timeline=timeline,
        eligibility=eligibility,
        notices=notices,
    )


def _notices(
    protocol: DosingProtocol,
    doses: DosePlan,
    eligibility: EligibilityResult,
    limb: Limb,
    level: PerfusionLevel,
) -> tuple[Notice, ...]:
    notices = []
    if protocol.study:
        above = (
            "above the Beromun label: " + "; ".join(protocol.label_exceedances)
            if protocol.label_exceedances
            else "within the Beromun label"
        )
        notices.append(
            Notice(
                "study_protocol",
                "danger",
                f"STUDY PROTOCOL '{protocol.name}' version {protocol.version} "
                f"(reference: {protocol.study_reference}): {above}",
                "protocol file (study = true)",
            )
        )
    if not eligibility.eligible:
        reasons = "; ".join(f.message for f in eligibility.blocking)
        notices.append(
            Notice(
                "not_eligible",
                "danger",
                f"NOT ELIGIBLE: {len(eligibility.blocking)} contraindication(s): {reasons}",
                "; ".join(sorted({f.source for f in eligibility.blocking})),
            )
        )
    volume_warning = limb_volume_warning(limb.value, level.value, doses.limb_volume_l)
    if volume_warning is not None:
        notices.append(
            Notice(
                "limb_volume",
                "warning",
                f"LIMB VOLUME UNLIKELY: {volume_warning}",
                LIMB_VOLUME_L_BY_LEVEL[level.value].source,
            )
        )
    if doses.melphalan_capped:
        rate = doses.melphalan_protocol_mg_per_l
        notices.append(
            Notice(
                "melphalan_capped",
                "warning",
                f"MELPHALAN CAPPED at {doses.melphalan_max_mg.describe()}: {rate.value:g} mg/L x "
                f"{doses.limb_volume_l:.2f} L would be {doses.melphalan_uncapped_mg:.1f} mg; the "
                f"limb receives {doses.melphalan_mg_per_l:.2f} mg/L",
                doses.melphalan_max_mg.source,
            )
        )
    if doses.tnf_key != limb.value:
        notices.append(
            Notice(
                "tnf_by_level",
                "info",
                f"TNF-alpha dose from the protocol's {doses.tnf_key} entry "
                f"({doses.tnf_mg.describe()}), not the {limb.value} entry",
                doses.tnf_mg.source,
            )
        )
    return tuple(notices)
