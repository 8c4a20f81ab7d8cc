"""Use case: live leakage monitoring of one perfusion, stored reading by reading.

During surgery the perfusion team calibrates the gamma probe once (isotope, background count rate,
count rate after the systemic standard, fraction of the circuit dose in the standard) and then
enters one count rate at a time. Each reading is stored in ``leakage_readings`` with an audit row
in the same transaction, and the curve is recomputed from the stored readings with the pure
calculator :class:`ilpkit.planning.leakage.LeakageMonitor` (formula and alert levels:
:mod:`ilpkit.planning.leakage`, docs/planning.md). The peak can then be saved as the perfusion's
``max_leakage_pct`` (audited, raising the perfusion's record version by 1).

Every function works inside the caller's transaction (``conn``) and reads the perfusion through
:func:`ilpkit.services.access.get_perfusion`, so another centre's perfusion is answered exactly as
a missing one (:class:`~ilpkit.services.access.RecordNotFound`). A refused input raises
:class:`LeakageEntryError` naming the field, the value and the reason, before anything is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ilpkit.adapters.db import registry_repository as repo
from ilpkit.adapters.db.engine import take_write_lock
from ilpkit.adapters.db.tables import leakage_monitorings, leakage_readings, perfusions
from ilpkit.domain.limits import MAX_LEAKAGE_PCT
from ilpkit.errors import IlpkitError
from ilpkit.planning.errors import LeakageInputError
from ilpkit.planning.leakage import (
    Calibration,
    LeakageMonitor,
    LeakagePoint,
    LeakageResult,
    LeakageSettings,
    calibrate,
)
from ilpkit.services import access
from ilpkit.services.access import PerfusionView, Principal

WRITE_ROLES = frozenset({"admin", "clinician"})
"""Roles that may start a monitoring, enter readings and save the peak (docs/web.md)."""


class LeakageForbidden(IlpkitError):
    """The user's role may view the leakage curve but not change it."""


class LeakageEntryError(IlpkitError):
    """An input cannot be used; nothing was stored.

    Attributes
    ----------
    field : str or None
        The form field the message belongs to (``minute``, ``counts_per_s``, ``isotope``,
        ``background_cps``, ``calibration_cps``, ``standard_fraction``), or None for the whole
        form.
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class StoredReading:
    """A reading as stored: when and by whom it was entered."""

    minute: float
    counts_per_s: float
    recorded_at: datetime
    actor: str


@dataclass(frozen=True, slots=True)
class MonitoringState:
    """One perfusion's leakage monitoring as stored, with the curve recomputed.

    Attributes
    ----------
    perfusion : PerfusionView
        The perfusion as the user may see it.
    version : int
        The perfusion's record version (for saving the peak without lost updates).
    started_at, started_by : datetime or None, str or None
        When and by whom the monitoring was calibrated; None before it is started.
    result : LeakageResult or None
        The curve of the stored readings; None before the monitoring is started.
    readings : tuple of StoredReading
    settings : LeakageSettings
        Alert levels and isotopes of the protocol file in use.
    """

    perfusion: PerfusionView
    version: int
    started_at: datetime | None
    started_by: str | None
    result: LeakageResult | None
    readings: tuple[StoredReading, ...]
    settings: LeakageSettings

    @property
    def started(self) -> bool:
        """True once the probe is calibrated."""
        return self.result is not None


def can_write(principal: Principal) -> bool:
    """True when the principal's role may change a monitoring (:data:`WRITE_ROLES`)."""
    return principal.role in WRITE_ROLES


def _require_write(principal: Principal) -> None:
    if not can_write(principal):
        raise LeakageForbidden(
            f"the role {principal.role} may view the leakage curve but not change it; readings "
            "are entered by a clinician (or an admin)"
        )


def _perfusion_row(conn: Connection, perfusion_id: str) -> Any:
    return conn.execute(
        sa.select(perfusions.c.id, perfusions.c.version, perfusions.c.max_leakage_pct).where(
            perfusions.c.perfusion_id == perfusion_id
        )
    ).one()


def load(
    conn: Connection,
    principal: Principal,
    perfusion_id: str,
    settings: LeakageSettings,
    environ: Mapping[str, str] | None = None,
) -> MonitoringState:
    """The monitoring of perfusion ``perfusion_id`` as the principal may see it.

    Raises
    ------
    RecordNotFound
        No such perfusion among the principal's centres (also for another centre's).
    PseudonymKeyMissing
        A statistician, and the deployment has no pseudonymisation key.
    LeakageEntryError
        The stored isotope is not in the protocol file in use (field None).
    """
    view = access.get_perfusion(conn, principal, perfusion_id, environ)
    row = _perfusion_row(conn, access.registry_perfusion_id(conn, principal, perfusion_id, environ))
    mon = conn.execute(
        sa.select(leakage_monitorings).where(leakage_monitorings.c.perfusion_pk == row.id)
    ).first()
    if mon is None:
        return MonitoringState(view, int(row.version), None, None, None, (), settings)
    stored = tuple(
        StoredReading(float(r.minute), float(r.counts_per_s), r.recorded_at, r.actor)
        for r in conn.execute(
            sa.select(leakage_readings)
            .where(leakage_readings.c.monitoring_id == mon.id)
            .order_by(leakage_readings.c.minute)
        )
    )
    try:
        isotope = settings.isotope(mon.isotope)
    except LeakageInputError:
        raise LeakageEntryError(
            f"this monitoring uses the isotope '{mon.isotope}', which the protocol file in use "
            f"does not define (it defines {', '.join(settings.isotopes)}); restore the isotope "
            "in the protocol file to see the curve"
        ) from None
    cal = Calibration(
        isotope,
        float(mon.background_cps),
        float(mon.calibration_cps),
        float(mon.standard_fraction),
    )
    monitor = LeakageMonitor(cal, settings)
    for r in stored:
        monitor.add(r.minute, r.counts_per_s)
    return MonitoringState(
        view, int(row.version), mon.started_at, mon.actor, monitor.result(), stored, settings
    )


def start(
    conn: Connection,
    principal: Principal,
    perfusion_id: str,
    settings: LeakageSettings,
    isotope: str,
    background_cps: float,
    calibration_cps: float,
    standard_fraction: float,
) -> MonitoringState:
    """Calibrate the monitoring of a perfusion (once per perfusion); audited.

    Raises
    ------
    RecordNotFound, LeakageForbidden
    LeakageEntryError
        Unknown isotope, a calibration :func:`~ilpkit.planning.leakage.calibrate` refuses, or a
        monitoring already started for this perfusion.
    """
    state = load(conn, principal, perfusion_id, settings)
    _require_write(principal)
    take_write_lock(conn)
    state = load(conn, principal, perfusion_id, settings)
    if state.started:
        raise LeakageEntryError(
            f"the leakage monitoring of perfusion {perfusion_id} was already started "
            f"(by {state.started_by}); a perfusion has one calibration"
        )
    try:
        iso = settings.isotope(isotope)
    except LeakageInputError as exc:
        raise LeakageEntryError(str(exc), "isotope") from None
    try:
        cal = calibrate(iso, background_cps, calibration_cps, standard_fraction)
    except LeakageInputError as exc:
        field = {
            "background": "background_cps",
            "calibration": "calibration_cps",
            "standard fraction": "standard_fraction",
        }
        first = exc.problems[0]
        name = next((f for prefix, f in field.items() if first.startswith(prefix)), None)
        raise LeakageEntryError("; ".join(exc.problems), name) from None
    now = datetime.now(UTC)
    pk = _perfusion_row(conn, perfusion_id).id
    conn.execute(
        sa.insert(leakage_monitorings).values(
            perfusion_pk=pk,
            isotope=iso.key,
            background_cps=cal.background_cps,
            calibration_cps=cal.calibration_cps,
            standard_fraction=cal.standard_fraction,
            started_at=now,
            actor=principal.username,
        )
    )
    repo.add_audit(
        conn,
        principal.username,
        "leakage",
        [
            (
                "leakage_monitoring",
                perfusion_id,
                {
                    "isotope": iso.key,
                    "background_cps": cal.background_cps,
                    "calibration_cps": cal.calibration_cps,
                    "standard_fraction": cal.standard_fraction,
                },
            )
        ],
    )
    return load(conn, principal, perfusion_id, settings)


def add_reading(
    conn: Connection,
    principal: Principal,
    perfusion_id: str,
    settings: LeakageSettings,
    minute: float,
    counts_per_s: float,
) -> tuple[MonitoringState, LeakagePoint]:
    """Store one reading (audited) and return the new state and the reading's point.

    Raises
    ------
    RecordNotFound, LeakageForbidden
    LeakageEntryError
        No monitoring started; a minute already read, not after the last reading, negative or
        later than any perfusion; a negative count rate. Nothing is stored.
    """
    load(conn, principal, perfusion_id, settings)
    _require_write(principal)
    take_write_lock(conn)
    state = load(conn, principal, perfusion_id, settings)
    if state.result is None:
        raise LeakageEntryError(
            "the leakage monitoring is not started: enter the calibration (isotope, background "
            "and calibration count rates) first"
        )
    same = next((r for r in state.readings if r.minute == minute), None)
    if same is not None:
        raise LeakageEntryError(
            f"minute = {minute:g}: minute {minute:g} already has a reading "
            f"({same.counts_per_s:g} counts/s, entered by {same.actor}); each minute has one "
            "reading",
            "minute",
        )
    monitor = LeakageMonitor(state.result.calibration, settings)
    for p in state.result.points:
        monitor.add(p.minute, p.counts_per_s)
    try:
        point = monitor.add(minute, counts_per_s)
    except LeakageInputError as exc:
        field = "counts_per_s" if exc.problems[0].startswith("counts_per_s") else "minute"
        raise LeakageEntryError("; ".join(exc.problems), field) from None
    mon_id = conn.execute(
        sa.select(leakage_monitorings.c.id).where(
            leakage_monitorings.c.perfusion_pk == _perfusion_row(conn, perfusion_id).id
        )
    ).scalar_one()
    conn.execute(
        sa.insert(leakage_readings).values(
            monitoring_id=mon_id,
            minute=point.minute,
            counts_per_s=point.counts_per_s,
            recorded_at=datetime.now(UTC),
            actor=principal.username,
        )
    )
    repo.add_audit(
        conn,
        principal.username,
        "leakage",
        [
            (
                "leakage_reading",
                perfusion_id,
                {
                    "minute": point.minute,
                    "counts_per_s": point.counts_per_s,
                    "leakage_pct": point.leakage_pct,
                    "level": point.level.value,
                },
            )
        ],
    )
    return load(conn, principal, perfusion_id, settings), point


def save_peak(
    conn: Connection,
    principal: Principal,
    perfusion_id: str,
    settings: LeakageSettings,
    expected_version: int,
) -> MonitoringState:
    """Save the peak leakage of the curve as the perfusion's ``max_leakage_pct``; audited.

    Parameters
    ----------
    expected_version : int
        The perfusion's record version the user saw; a changed record is refused (no lost
        updates).

    Raises
    ------
    RecordNotFound, LeakageForbidden
    LeakageEntryError
        No readings; the record changed since it was loaded; a peak outside 0-100 % (the
        registry's range for max_leakage_pct).
    """
    load(conn, principal, perfusion_id, settings)
    _require_write(principal)
    take_write_lock(conn)
    state = load(conn, principal, perfusion_id, settings)
    peak = state.result.peak_leakage_pct if state.result is not None else None
    if peak is None:
        raise LeakageEntryError("there are no readings yet, so there is no peak leakage to save")
    if state.version != expected_version:
        raise LeakageEntryError(
            f"perfusion {perfusion_id} was changed by someone else since this page was loaded "
            f"(version {expected_version}, now {state.version}); nothing was saved: reload the "
            "page and check the values"
        )
    if not MAX_LEAKAGE_PCT.contains(peak):
        raise LeakageEntryError(
            f"the peak leakage {peak:.2f}% is outside {MAX_LEAKAGE_PCT.low:g}-"
            f"{MAX_LEAKAGE_PCT.high:g}% ({MAX_LEAKAGE_PCT.reason}); nothing was saved: check the "
            "background and calibration count rates"
        )
    row = _perfusion_row(conn, perfusion_id)
    conn.execute(
        sa.update(perfusions)
        .where(perfusions.c.id == row.id, perfusions.c.version == expected_version)
        .values(max_leakage_pct=peak, version=perfusions.c.version + 1)
    )
    p = state.perfusion
    repo.add_audit(
        conn,
        principal.username,
        "update",
        [
            (
                "perfusion",
                f"{p.patient_id} {p.ilp_date.isoformat()}",
                {
                    "perfusion_id": perfusion_id,
                    "max_leakage_pct": {"old": row.max_leakage_pct, "new": peak},
                    "version": expected_version + 1,
                    "from": "leakage monitoring",
                },
            )
        ],
    )
    return load(conn, principal, perfusion_id, settings)
