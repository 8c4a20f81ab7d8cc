"""Intra-operative leakage monitoring: systemic leakage from the perfusion circuit, in %.

A radioactive tracer goes into the circuit and a gamma probe over the heart counts what leaks into
the systemic circulation (SmPC; Sardi 1989; Paulsen 2015). A systemic standard equal to a known
fraction ``f`` of the circuit dose (usually 10%) gives the count rate ``C_cal`` that corresponds to
that fraction (Tc-99m HSA protocol; Sandrock 1996). The leakage at time ``t`` is then::

    leakage_pct(t) = f * (C(t) - B) * exp(lambda * t) / (C_cal - B) * 100
    lambda = ln(2) / half_life

with ``B`` the background count rate and ``exp(lambda * t)`` the correction for the decay of the
tracer since the calibration (inference, ilpkit clinical protocol notes section 5).

Time origin
-----------
``t`` is the ``minute`` of the reading: minutes since the calibration count ``C_cal`` was taken.
The readings normally start at minute 0, right after the calibration, so ``t`` is also the time
since the start of the readings. Minutes must be at least 0 and strictly increasing, and no later
than the longest plausible perfusion (240 min, :data:`ilpkit.domain.limits.PERFUSION_MINUTES`): a
later minute is refused, with the hint that the times look like seconds when they do
(300 s = 5 min).

Where the standard is
---------------------
The formula takes the readings ``C(t)`` to hold only background and leaked tracer: the standard is
not injected into the patient but counted outside the patient's circulation. If it is injected
into the patient it stays in every reading, and each leakage value is ``f * 100`` percentage
points too high (10 points for the usual 10% standard, decay included, ignoring its clearance).
:func:`standard_assumption` words this for every output.

Alert levels
------------
From the protocol file: ``notify`` at ``notify_pct`` (default 5%), ``stop`` at ``stop_pct`` (10%
of cumulative leakage: the SmPC requires the perfusion to be stopped, then a washout with at least
2 L of dextran). Leakage is cumulative, so the level of a monitor never goes down: a lower reading
after an alert is counting noise or a probe shift, not leakage flowing back.

Examples
--------
Background 100 cps, calibration 1,100 cps with the 10% standard: a reading of 200 cps at minute 0
is ``0.10 * (200 - 100) / (1100 - 100) * 100 = 1.0`` % leakage.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ilpkit.domain.limits import PERFUSION_MINUTES
from ilpkit.planning.errors import LeakageInputError, show_number
from ilpkit.planning.label import LabelCeilings
from ilpkit.planning.sourced import Sourced, TomlReader

MINUTES_PER_HOUR = 60.0
"""Unit conversion (half-lives are stored in hours)."""

_LEAKAGE_KEYS = ("standard_fraction", "notify_pct", "stop_pct", "washout_dextran_min_l", "isotopes")


class AlertLevel(StrEnum):
    """Alert level of a leakage reading."""

    OK = "ok"
    NOTIFY = "notify"
    STOP = "stop"

    @property
    def rank(self) -> int:
        """0 for ok, 1 for notify, 2 for stop."""
        return {"ok": 0, "notify": 1, "stop": 2}[self.value]


@dataclass(frozen=True, slots=True)
class Isotope:
    """A tracer isotope and its physical half-life.

    Attributes
    ----------
    key : str
        Short name used on the command line (``tc99m``).
    name : str
        Display name (``Tc-99m``).
    half_life_h : Sourced
        Physical half-life in hours.
    """

    key: str
    name: str
    half_life_h: Sourced

    @property
    def decay_constant_per_min(self) -> float:
        """``lambda = ln(2) / half-life``, per minute."""
        return math.log(2.0) / (self.half_life_h.value * MINUTES_PER_HOUR)

    def to_dict(self) -> dict[str, object]:
        """JSON-serialisable form."""
        return {"key": self.key, "name": self.name, "half_life_h": self.half_life_h.to_dict()}


@dataclass(frozen=True, slots=True)
class LeakageSettings:
    """Leakage monitoring settings from the protocol file.

    Attributes
    ----------
    standard_fraction : Sourced
        Default fraction of the circuit dose in the systemic standard (e.g. 0.10).
    notify_pct : Sourced
        Leakage at which the team is notified, %.
    stop_pct : Sourced
        Cumulative leakage at which the perfusion is stopped, % (at most the SmPC's 10%).
    washout_dextran_min_l : Sourced
        Least dextran volume for the washout after stopping for leakage, L.
    isotopes : dict of str to Isotope
        Known tracers by key.
    """

    standard_fraction: Sourced
    notify_pct: Sourced
    stop_pct: Sourced
    washout_dextran_min_l: Sourced
    isotopes: dict[str, Isotope]

    def isotope(self, key: str) -> Isotope:
        """Return the isotope ``key`` (case-insensitive, ``-`` ignored: ``Tc-99m`` = ``tc99m``)."""
        wanted = key.strip().lower().replace("-", "")
        if wanted not in self.isotopes:
            known = ", ".join(self.isotopes)
            raise LeakageInputError(f"isotope = '{key}': unknown isotope; use one of {known}")
        return self.isotopes[wanted]

    def to_dict(self) -> dict[str, object]:
        """JSON-serialisable form."""
        return {
            "standard_fraction": self.standard_fraction.to_dict(),
            "notify_pct": self.notify_pct.to_dict(),
            "stop_pct": self.stop_pct.to_dict(),
            "washout_dextran_min_l": self.washout_dextran_min_l.to_dict(),
            "isotopes": {k: v.to_dict() for k, v in self.isotopes.items()},
        }


def read_leakage(
    reader: TomlReader, table: Mapping[str, Any], path: str, ceilings: LabelCeilings
) -> LeakageSettings:
    """Read ``[leakage]`` from the parsed protocol file, recording problems on ``reader``.

    ``stop_pct`` may not exceed the SmPC's 10% (no exception, not even for a study protocol).
    """
    reader.only_keys(table, _LEAKAGE_KEYS, path)
    isotopes: dict[str, Isotope] = {}
    isotopes_path = f"{path}.isotopes"
    for key, entry in reader.table(table, "isotopes", path).items():
        where = f"{isotopes_path}.{key}"
        if not isinstance(entry, Mapping):
            reader.problem(where, "must be a table with name and half_life_h")
            continue
        if key != key.lower().replace("-", ""):
            reader.problem(where, "isotope keys are lower case without '-', e.g. tc99m")
        reader.only_keys(entry, ("name", "half_life_h"), where)
        isotopes[key] = Isotope(
            key=key,
            name=reader.text(entry, "name", where),
            half_life_h=reader.sourced(entry, "half_life_h", where, "h"),
        )
    if not isotopes and "isotopes" in table:
        reader.problem(isotopes_path, "define at least one isotope, e.g. [leakage.isotopes.tc99m]")
    settings = LeakageSettings(
        standard_fraction=reader.sourced(table, "standard_fraction", path, "", maximum=1.0),
        notify_pct=reader.sourced(table, "notify_pct", path, "%", maximum=100.0),
        stop_pct=reader.sourced(table, "stop_pct", path, "%", maximum=100.0),
        washout_dextran_min_l=reader.sourced(table, "washout_dextran_min_l", path, "L"),
        isotopes=isotopes,
    )
    label_stop = ceilings.leakage_stop_pct
    if settings.stop_pct.value > label_stop.value:
        reader.problem(
            f"{path}.stop_pct",
            f"{settings.stop_pct.describe()} is above the {label_stop.describe()} at which the "
            f"perfusion must be stopped ({label_stop.source})",
        )
    if settings.notify_pct.value >= settings.stop_pct.value:
        reader.problem(
            f"{path}.notify_pct",
            f"{settings.notify_pct.describe()} must be below stop_pct "
            f"({settings.stop_pct.describe()})",
        )
    return settings


@dataclass(frozen=True, slots=True)
class Calibration:
    """The calibration of one leakage measurement.

    Attributes
    ----------
    isotope : Isotope
    background_cps : float
        Background count rate ``B`` in counts per second.
    calibration_cps : float
        Count rate ``C_cal`` after the systemic standard, at time zero.
    standard_fraction : float
        Fraction ``f`` of the circuit dose in the standard (0 < f <= 1).
    """

    isotope: Isotope
    background_cps: float
    calibration_cps: float
    standard_fraction: float

    def to_dict(self) -> dict[str, object]:
        """JSON-serialisable form."""
        return {
            "isotope": self.isotope.to_dict(),
            "background_cps": self.background_cps,
            "calibration_cps": self.calibration_cps,
            "standard_fraction": self.standard_fraction,
        }


def calibrate(
    isotope: Isotope, background_cps: float, calibration_cps: float, standard_fraction: float
) -> Calibration:
    """Check and bundle the calibration of a leakage measurement.

    Raises
    ------
    LeakageInputError
        Background negative or not a number; calibration not above the background; fraction not in
        (0, 1].
    """
    problems = []
    if not _finite(background_cps) or background_cps < 0:
        problems.append(
            f"background = {_show(background_cps, 'cps')}: must be a count rate of at least 0 cps"
        )
    if not _finite(calibration_cps):
        problems.append(f"calibration = {_show(calibration_cps, 'cps')}: not a finite number")
    elif _finite(background_cps) and calibration_cps <= background_cps:
        problems.append(
            f"calibration = {calibration_cps:g} cps is not above background = "
            f"{background_cps:g} cps: the count rate after the systemic standard must be higher "
            "than the background (check the standard was injected and the probe position)"
        )
    if not _finite(standard_fraction) or not 0 < standard_fraction <= 1:
        problems.append(
            f"standard fraction = {_show(standard_fraction)}: must be more than 0 and at most 1 "
            "(e.g. 0.10 for a standard of 10% of the circuit dose)"
        )
    if problems:
        raise LeakageInputError(problems)
    return Calibration(isotope, float(background_cps), float(calibration_cps), standard_fraction)


def decay_factor(minute: float, isotope: Isotope) -> float:
    """Decay correction ``exp(lambda * t)`` for a reading ``minute`` minutes after calibration.

    Examples
    --------
    One half-life after calibration the factor is 2 (half the tracer is left).
    """
    return math.exp(isotope.decay_constant_per_min * minute)


def leakage_pct(counts_per_s: float, minute: float, calibration: Calibration) -> float:
    """Leakage in % of the circuit dose, decay-corrected.

    Parameters
    ----------
    counts_per_s : float
        Count rate ``C(t)`` over the heart.
    minute : float
        ``t``, minutes since the calibration count.
    calibration : Calibration

    Returns
    -------
    float
        ``f * (C(t) - B) * exp(lambda * t) / (C_cal - B) * 100``. Below-background counts give a
        negative value (counting noise); it is returned as it is.

    Examples
    --------
    A reading equal to the calibration count at minute 0 is the standard itself: ``f * 100`` %.
    """
    c = calibration
    net = counts_per_s - c.background_cps
    reference = c.calibration_cps - c.background_cps
    return c.standard_fraction * net * decay_factor(minute, c.isotope) / reference * 100.0


def alert_level(value_pct: float, settings: LeakageSettings) -> AlertLevel:
    """Alert level of one leakage value: ``stop`` at or above ``stop_pct``, ``notify`` at or above
    ``notify_pct``, else ``ok``."""
    if value_pct >= settings.stop_pct.value:
        return AlertLevel.STOP
    if value_pct >= settings.notify_pct.value:
        return AlertLevel.NOTIFY
    return AlertLevel.OK


@dataclass(frozen=True, slots=True)
class LeakagePoint:
    """One reading with its leakage.

    Attributes
    ----------
    minute : float
        Minutes since the calibration.
    counts_per_s : float
        Count rate read.
    decay_factor : float
        ``exp(lambda * t)`` applied.
    leakage_pct : float
        Decay-corrected leakage, % of the circuit dose.
    level : AlertLevel
        Alert level of the monitor after this reading (never lower than an earlier one).
    """

    minute: float
    counts_per_s: float
    decay_factor: float
    leakage_pct: float
    level: AlertLevel

    def to_dict(self) -> dict[str, object]:
        """JSON-serialisable form."""
        return {
            "minute": self.minute,
            "counts_per_s": self.counts_per_s,
            "decay_factor": self.decay_factor,
            "leakage_pct": self.leakage_pct,
            "level": self.level.value,
        }


@dataclass(frozen=True, slots=True)
class LeakageAlert:
    """The first reading that reached an alert level, with what to do.

    Attributes
    ----------
    minute : float
    leakage_pct : float
    level : AlertLevel
    action : str
        What the team should do.
    source : str
        Source of the level and the action.
    """

    minute: float
    leakage_pct: float
    level: AlertLevel
    action: str
    source: str

    def to_dict(self) -> dict[str, object]:
        """JSON-serialisable form."""
        return {
            "minute": self.minute,
            "leakage_pct": self.leakage_pct,
            "level": self.level.value,
            "action": self.action,
            "source": self.source,
        }


@dataclass(frozen=True, slots=True)
class LeakageResult:
    """A leakage curve so far.

    Attributes
    ----------
    calibration : Calibration
    settings : LeakageSettings
    points : tuple of LeakagePoint
    first_alert : LeakageAlert or None
        The first reading at ``notify`` or ``stop`` level.
    first_stop : LeakageAlert or None
        The first reading at ``stop`` level.
    """

    calibration: Calibration
    settings: LeakageSettings
    points: tuple[LeakagePoint, ...]
    first_alert: LeakageAlert | None
    first_stop: LeakageAlert | None

    @property
    def level(self) -> AlertLevel:
        """Current alert level (``ok`` before any reading)."""
        return self.points[-1].level if self.points else AlertLevel.OK

    @property
    def peak_leakage_pct(self) -> float | None:
        """Highest leakage so far, None before any reading."""
        return max(p.leakage_pct for p in self.points) if self.points else None

    def to_dict(self) -> dict[str, object]:
        """JSON-serialisable form: readings, first alert, calibration and the levels used."""
        s = self.settings
        return {
            "isotope": self.calibration.isotope.key,
            "background_cps": self.calibration.background_cps,
            "calibration_cps": self.calibration.calibration_cps,
            "standard_fraction": self.calibration.standard_fraction,
            "half_life_h": self.calibration.isotope.half_life_h.to_dict(),
            "notify_pct": s.notify_pct.to_dict(),
            "stop_pct": s.stop_pct.to_dict(),
            "washout_dextran_min_l": s.washout_dextran_min_l.to_dict(),
            "readings": [
                {"minute": p.minute, "leakage_pct": p.leakage_pct, "level": p.level.value}
                for p in self.points
            ],
            "level": self.level.value,
            "peak_leakage_pct": self.peak_leakage_pct,
            "first_alert": self.first_alert.to_dict() if self.first_alert else None,
            "first_stop": self.first_stop.to_dict() if self.first_stop else None,
            "assumption": standard_assumption(self.calibration.standard_fraction),
        }


class LeakageMonitor:
    """Incremental leakage monitor: feed one reading at a time (the live monitor does so).

    A rejected reading raises :class:`LeakageInputError` and leaves the monitor unchanged. To
    restore a monitor (e.g. after a web server restart) replay the stored readings.

    Parameters
    ----------
    calibration : Calibration
        From :func:`calibrate`.
    settings : LeakageSettings
        Alert levels from the protocol file.

    Examples
    --------
    >>> from ilpkit.planning.sourced import Sourced
    >>> tc = Isotope("tc99m", "Tc-99m", Sourced(6.01, "h", "physical half-life"))
    >>> s = LeakageSettings(Sourced(0.1, "", "-"), Sourced(5, "%", "-"), Sourced(10, "%", "-"),
    ...                     Sourced(2, "L", "-"), {"tc99m": tc})
    >>> m = LeakageMonitor(calibrate(tc, 100.0, 1100.0, 0.10), s)
    >>> m.add(0, 200.0).leakage_pct  # 0.10 * (200 - 100) / (1100 - 100) * 100
    1.0
    """

    def __init__(self, calibration: Calibration, settings: LeakageSettings):
        self.calibration = calibration
        self.settings = settings
        self._points: list[LeakagePoint] = []  # appended in place: adding a reading is O(1)
        self._first_alert: LeakageAlert | None = None
        self._first_stop: LeakageAlert | None = None

    @property
    def points(self) -> tuple[LeakagePoint, ...]:
        """Readings so far, with their leakage."""
        return tuple(self._points)

    def add(self, minute: float, counts_per_s: float) -> LeakagePoint:
        """Add one reading and return it with its leakage and the monitor's alert level.

        Parameters
        ----------
        minute : float
            Minutes since the calibration; at least 0 and later than the previous reading.
        counts_per_s : float
            Count rate over the heart; at least 0.

        Raises
        ------
        LeakageInputError
            A minute that is negative or not after the previous reading, or a negative count rate.
        """
        problems = []
        if not _finite(minute) or minute < 0:
            problems.append(
                f"minute = {_show(minute)}: must be at least 0 (minutes since the calibration)"
            )
        elif self._points and minute <= self._points[-1].minute:
            problems.append(
                f"minute = {minute:g}: must be later than the previous reading (minute "
                f"{self._points[-1].minute:g}); minutes must increase"
            )
        elif (late := _minute_too_late(minute)) is not None:
            problems.append(late)
        if not _finite(counts_per_s) or counts_per_s < 0:
            problems.append(
                f"counts_per_s = {_show(counts_per_s)} at minute {_show(minute)}: a count rate "
                "must be a number of at least 0"
            )
        if problems:
            raise LeakageInputError(problems)
        minute, counts_per_s = float(minute), float(counts_per_s)
        isotope = self.calibration.isotope
        try:
            factor = decay_factor(minute, isotope)
        except OverflowError:
            factor = math.inf
        value = leakage_pct(counts_per_s, minute, self.calibration) if _finite(factor) else factor
        if not _finite(value):
            raise LeakageInputError(
                f"minute = {minute:g}, counts_per_s = {counts_per_s:g}: the leakage is too large "
                f"to compute ({minute / MINUTES_PER_HOUR:,.0f} hours after the calibration, "
                f"{isotope.name} half-life {isotope.half_life_h.value:g} h); minutes count from "
                "the calibration: check that the minute column holds minutes"
            )
        previous = self._points[-1].level if self._points else AlertLevel.OK
        now = alert_level(value, self.settings)
        level = now if now.rank > previous.rank else previous
        point = LeakagePoint(minute, counts_per_s, factor, value, level)
        if level is not AlertLevel.OK and self._first_alert is None:
            self._first_alert = self._alert(point)
        if level is AlertLevel.STOP and self._first_stop is None:
            self._first_stop = self._alert(point)
        self._points.append(point)
        return point

    def result(self) -> LeakageResult:
        """The curve so far as a frozen result."""
        points = tuple(self._points)
        return LeakageResult(
            self.calibration, self.settings, points, self._first_alert, self._first_stop
        )

    def _alert(self, point: LeakagePoint) -> LeakageAlert:
        s = self.settings
        if point.level is AlertLevel.STOP:
            action = (
                f"cumulative leakage reached {s.stop_pct.describe()}: stop the perfusion and wash "
                f"out the limb with at least {s.washout_dextran_min_l.describe()} of dextran"
            )
            source = f"{s.stop_pct.source}; {s.washout_dextran_min_l.source}"
        else:
            action = (
                f"leakage reached {s.notify_pct.describe()}: tell the surgeon; adjust flow and "
                f"tourniquet until leakage is stable and below {s.stop_pct.describe()}"
            )
            source = s.notify_pct.source
        return LeakageAlert(point.minute, point.leakage_pct, point.level, action, source)


def monitor_readings(
    readings: Iterable[tuple[float, float]], calibration: Calibration, settings: LeakageSettings
) -> LeakageResult:
    """Run a series of ``(minute, counts_per_s)`` readings through a :class:`LeakageMonitor`."""
    monitor = LeakageMonitor(calibration, settings)
    for minute, counts in readings:
        monitor.add(minute, counts)
    return monitor.result()


def standard_assumption(standard_fraction: float) -> str:
    """The assumption the leakage formula makes about where the systemic standard is.

    Parameters
    ----------
    standard_fraction : float
        ``f``, the fraction of the circuit dose in the standard (0.10 for 10%).

    Returns
    -------
    str
        One sentence for every output (sheet, JSON, web app).

    Examples
    --------
    With the usual 10% standard, a standard left in the patient adds 0.10 x 100 = 10 points.
    """
    share = f"{standard_fraction * 100:g}%"
    return (
        f"Assumption: the {share} standard was not injected into the patient (it was counted "
        "outside the patient's circulation), so the readings hold only background and leaked "
        "tracer. If it was injected into the patient, it stays in every reading and each "
        f"leakage value here is {share.rstrip('%')} percentage points too high."
    )


def _minute_too_late(minute: float) -> str | None:
    """Why ``minute`` is later than any perfusion lasts (with the seconds hint), or None."""
    longest = PERFUSION_MINUTES.high or math.inf
    if minute <= longest:
        return None
    message = (
        f"minute = {minute:g}: later than the longest plausible perfusion ({longest:g} min; "
        f"{PERFUSION_MINUTES.source}); minutes count from the calibration"
    )
    if minute / 60.0 <= longest:
        message += (
            f". The times look like seconds ({minute:g} s = {minute / 60.0:g} min): give the "
            "reading times in minutes"
        )
    return message


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _show(value: object, unit: str = "") -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return show_number(float(value), unit)
    return repr(value)
