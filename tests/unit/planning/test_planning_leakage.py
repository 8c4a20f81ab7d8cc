"""Leakage monitoring: the decay-corrected formula by hand, alert levels, and bad input."""

from __future__ import annotations

import json
import math

import pytest

from ilpkit.adapters.protocol_file import shipped_protocol_text
from ilpkit.planning.errors import LeakageInputError
from ilpkit.planning.leakage import (
    AlertLevel,
    LeakageMonitor,
    LeakageSettings,
    calibrate,
    decay_factor,
    leakage_pct,
    monitor_readings,
)
from ilpkit.planning.protocols import parse_protocol_book


@pytest.fixture(scope="module")
def settings() -> LeakageSettings:
    return parse_protocol_book(shipped_protocol_text()).leakage


def test_reading_at_time_zero(settings):
    # f = 0.10, B = 100, C_cal = 1100: 0.10 * (200 - 100) / (1100 - 100) * 100 = 1.0 %
    cal = calibrate(settings.isotope("tc99m"), 100.0, 1100.0, 0.10)
    assert leakage_pct(200.0, 0.0, cal) == pytest.approx(1.0)


def test_reading_equal_to_the_calibration_is_the_standard_fraction(settings):
    # C = C_cal at t = 0: f * (C_cal - B)/(C_cal - B) * 100 = f * 100 = 10 %
    cal = calibrate(settings.isotope("tc99m"), 100.0, 1100.0, 0.10)
    assert leakage_pct(1100.0, 0.0, cal) == pytest.approx(10.0)


@pytest.mark.parametrize(
    ("isotope", "half_life_min"),
    [
        ("tc99m", 6.01 * 60),  # 360.6 min
        ("i131", 8.02 * 24 * 60),  # 11548.8 min
        ("in111", 2.80 * 24 * 60),  # 4032 min
    ],
)
def test_one_half_life_doubles_the_corrected_leakage(settings, isotope, half_life_min):
    # after one half-life exp(lambda * t) = exp(ln 2) = 2: 1.0 % becomes 2.0 %
    cal = calibrate(settings.isotope(isotope), 100.0, 1100.0, 0.10)
    assert decay_factor(half_life_min, cal.isotope) == pytest.approx(2.0)
    assert leakage_pct(200.0, half_life_min, cal) == pytest.approx(2.0)


def test_tc99m_after_one_hour(settings):
    # lambda = ln2 / 6.01 h = 0.115332 per hour; exp(0.115332) = 1.122246
    # C = 600, B = 100, C_cal = 1100: 0.10 * 500/1000 * 100 = 5 % * 1.122246 = 5.6112 %
    cal = calibrate(settings.isotope("tc99m"), 100.0, 1100.0, 0.10)
    assert leakage_pct(600.0, 60.0, cal) == pytest.approx(5.6112, abs=1e-4)


def test_standard_fraction_5_percent(settings):
    # f = 0.05, B = 50, C_cal = 450, C = 250 at t = 0: 0.05 * 200/400 * 100 = 2.5 %
    cal = calibrate(settings.isotope("i131"), 50.0, 450.0, 0.05)
    assert leakage_pct(250.0, 0.0, cal) == pytest.approx(2.5)


def test_monitor_levels_and_first_alert(settings):
    # B = 100, C_cal = 1100, f = 0.10, I-131 (decay over 30 min: exp(ln2*30/11548.8) = 1.0018)
    # 0 min: 150 -> 0.5 %; 10 min: 700 -> 6.0 % * 1.0006 (notify); 20 min: 1250 -> 11.5 % (stop)
    cal = calibrate(settings.isotope("i131"), 100.0, 1100.0, 0.10)
    monitor = LeakageMonitor(cal, settings)
    p0 = monitor.add(0, 150.0)
    assert (p0.leakage_pct, p0.level) == (pytest.approx(0.5), AlertLevel.OK)
    p1 = monitor.add(10, 700.0)
    assert p1.level is AlertLevel.NOTIFY
    assert p1.leakage_pct == pytest.approx(6.0 * math.exp(math.log(2) * 10 / 11548.8))
    p2 = monitor.add(20, 1250.0)
    assert p2.level is AlertLevel.STOP
    result = monitor.result()
    assert result.first_alert is not None and result.first_alert.minute == 10
    assert result.first_alert.level is AlertLevel.NOTIFY
    assert "adjust flow and tourniquet" in result.first_alert.action
    assert result.first_stop is not None and result.first_stop.minute == 20
    assert "stop the perfusion" in result.first_stop.action
    assert "at least 2 L of dextran" in result.first_stop.action
    assert "SmPC" in result.first_stop.source


def test_levels_are_inclusive_and_never_go_down(settings):
    # f = 0.10, B = 0, C_cal = 1000, Tc-99m at t = 0: C = 500 -> exactly 5 %, C = 1000 -> 10 %
    cal = calibrate(settings.isotope("tc99m"), 0.0, 1000.0, 0.10)
    result = monitor_readings([(0, 500.0)], cal, settings)
    assert result.points[0].level is AlertLevel.NOTIFY
    cal = calibrate(settings.isotope("tc99m"), 0.0, 1000.0, 0.10)
    monitor = LeakageMonitor(cal, settings)
    monitor.add(0, 1000.0)
    later = monitor.add(1, 200.0)  # a lower reading after the stop level stays "stop"
    assert later.level is AlertLevel.STOP
    assert later.leakage_pct < 5


def test_no_reading_no_alert(settings):
    cal = calibrate(settings.isotope("tc99m"), 100.0, 1100.0, 0.10)
    result = LeakageMonitor(cal, settings).result()
    assert result.level is AlertLevel.OK
    assert result.peak_leakage_pct is None
    assert result.to_dict()["readings"] == []


def test_to_dict_has_readings_and_first_alert(settings):
    cal = calibrate(settings.isotope("tc99m"), 100.0, 1100.0, 0.10)
    # json round trip: plain data, typed as Any for the lookups below
    d = json.loads(json.dumps(monitor_readings([(0, 200.0), (5, 800.0)], cal, settings).to_dict()))
    assert d["readings"][0] == {"minute": 0.0, "leakage_pct": pytest.approx(1.0), "level": "ok"}
    # 5 min: 0.10 * 700/1000 * 100 = 7 % (times a decay factor just above 1): notify
    assert d["first_alert"]["minute"] == 5.0
    assert d["first_alert"]["level"] == "notify"
    assert d["first_stop"] is None


@pytest.mark.parametrize(
    ("background", "calibration", "fraction", "expected"),
    [
        (100.0, 100.0, 0.1, "calibration = 100 cps is not above background = 100 cps"),
        (100.0, 80.0, 0.1, "calibration = 80 cps is not above background = 100 cps"),
        (-1.0, 800.0, 0.1, "background = -1 cps: must be a count rate of at least 0 cps"),
        (100.0, math.nan, 0.1, "calibration = nan cps: not a finite number"),
        (100.0, 800.0, 0.0, "standard fraction = 0: must be more than 0 and at most 1"),
        (100.0, 800.0, 10.0, "standard fraction = 10: must be more than 0 and at most 1"),
    ],
)
def test_bad_calibration_is_refused(settings, background, calibration, fraction, expected):
    with pytest.raises(LeakageInputError) as info:
        calibrate(settings.isotope("tc99m"), background, calibration, fraction)
    assert expected in str(info.value)


def test_unknown_isotope(settings):
    with pytest.raises(LeakageInputError, match="isotope = 'xe133': unknown isotope; use one of"):
        settings.isotope("xe133")


@pytest.mark.parametrize(
    ("minute", "counts", "expected"),
    [
        (5.0, 200.0, "minute = 5: must be later than the previous reading (minute 5)"),
        (4.0, 200.0, "minute = 4: must be later than the previous reading (minute 5)"),
        (-1.0, 200.0, "minute = -1: must be at least 0"),
        (6.0, -3.0, "counts_per_s = -3 at minute 6: a count rate must be a number of at least 0"),
        (6.0, math.inf, "counts_per_s = inf at minute 6"),
    ],
)
def test_bad_reading_is_refused_and_leaves_the_monitor_unchanged(
    settings, minute, counts, expected
):
    cal = calibrate(settings.isotope("tc99m"), 100.0, 1100.0, 0.10)
    monitor = LeakageMonitor(cal, settings)
    monitor.add(5.0, 150.0)
    with pytest.raises(LeakageInputError) as info:
        monitor.add(minute, counts)
    assert expected in str(info.value)
    assert len(monitor.points) == 1
    assert monitor.add(10.0, 160.0).minute == 10.0


def test_monitor_is_linear_in_the_number_of_readings(settings):
    # Copying every earlier reading on each new one made 100,000 readings take over a minute
    # (quadratic); appending takes about a second for 200,000.
    import time

    cal = calibrate(settings.isotope("tc99m"), 100.0, 1100.0, 0.10)
    n = 200_000
    started = time.perf_counter()
    result = monitor_readings(((i * 0.001, 150.0) for i in range(n)), cal, settings)
    elapsed = time.perf_counter() - started
    assert len(result.points) == n
    assert result.points[-1].minute == pytest.approx((n - 1) * 0.001)
    assert elapsed < 20


def test_points_of_a_monitor_are_a_snapshot(settings):
    monitor = LeakageMonitor(calibrate(settings.isotope("tc99m"), 100.0, 1100.0, 0.10), settings)
    monitor.add(0, 200.0)
    before = monitor.points
    monitor.add(1, 210.0)
    assert len(before) == 1 and len(monitor.points) == 2
    assert len(monitor.result().points) == 2


@pytest.mark.parametrize(
    ("minute", "counts", "fraction", "expected"),
    [
        # a minute of 1e6 is refused before any computation: no perfusion lasts that long
        (1e6, 150.0, 0.10, "later than the longest plausible perfusion"),
        (100.0, 1.7e308, 1.0, "the leakage is too large to compute"),
    ],
)
def test_leakage_too_large_to_compute_is_a_clear_error(
    settings, minute, counts, fraction, expected
):
    # tc99m: exp(ln 2 / 360.6 min * 1e6 min) overflows a float; 1.7e308 cps times the decay
    # correction (1.21 at 100 min) is beyond the largest float (1.8e308) too
    cal = calibrate(settings.isotope("tc99m"), 100.0, 1100.0, fraction)
    monitor = LeakageMonitor(cal, settings)
    monitor.add(0, 150.0)
    with pytest.raises(LeakageInputError) as info:
        monitor.add(minute, counts)
    assert expected in str(info.value)
    assert "minute" in str(info.value)
    assert len(monitor.points) == 1  # the rejected reading left the monitor unchanged
