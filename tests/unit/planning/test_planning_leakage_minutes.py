"""Leakage readings whose times look like seconds are refused; the standard's assumption is told."""

from __future__ import annotations

import pytest

from ilpkit.adapters.protocol_file import shipped_protocol_text
from ilpkit.planning.errors import LeakageInputError
from ilpkit.planning.leakage import (
    LeakageMonitor,
    calibrate,
    monitor_readings,
    standard_assumption,
)
from ilpkit.planning.protocols import parse_protocol_book

SETTINGS = parse_protocol_book(shipped_protocol_text()).leakage


@pytest.fixture
def cal():
    return calibrate(SETTINGS.isotope("tc99m"), 100.0, 1100.0, 0.10)


def test_times_in_seconds_are_refused_with_the_hint(cal):
    # a 30-minute perfusion read every 5 minutes, written in seconds: 0, 300, 600, 1800
    with pytest.raises(LeakageInputError) as info:
        monitor_readings([(0, 150.0), (300, 160.0), (600, 170.0), (1800, 180.0)], cal, SETTINGS)
    message = str(info.value)
    assert message.startswith("minute = 300: later than the longest plausible perfusion (240 min")
    # 300 s / 60 = 5 min
    assert "The times look like seconds (300 s = 5 min)" in message


@pytest.mark.parametrize(
    ("minute", "hint"),
    [
        (241.0, "241 s = 4.01667 min"),  # 241 / 60 = 4.01667
        (5400.0, "5400 s = 90 min"),  # 90 x 60 = 5400
        (14400.0, "14400 s = 240 min"),  # the longest perfusion, in seconds
    ],
)
def test_each_minute_beyond_the_longest_perfusion_is_refused(cal, minute, hint):
    monitor = LeakageMonitor(cal, SETTINGS)
    monitor.add(0.0, 150.0)
    with pytest.raises(LeakageInputError) as info:
        monitor.add(minute, 160.0)
    assert hint in str(info.value)
    assert len(monitor.points) == 1  # the monitor is unchanged


def test_a_minute_too_large_even_for_seconds_has_no_seconds_hint(cal):
    # 20000 s would be 333 min, still beyond 240 min: not a seconds mix-up
    with pytest.raises(LeakageInputError) as info:
        LeakageMonitor(cal, SETTINGS).add(20000.0, 150.0)
    assert "later than the longest plausible perfusion" in str(info.value)
    assert "seconds" not in str(info.value)


def test_minutes_up_to_the_longest_perfusion_are_accepted(cal):
    result = monitor_readings([(0, 150.0), (90, 150.0), (240, 150.0)], cal, SETTINGS)
    assert [p.minute for p in result.points] == [0.0, 90.0, 240.0]


def test_the_assumption_about_the_standard_is_in_the_result(cal):
    data = monitor_readings([(0, 150.0)], cal, SETTINGS).to_dict()
    assert data["assumption"] == standard_assumption(0.10)
    assert "10% standard was not injected into the patient" in data["assumption"]
    # a standard left in the patient adds f x 100 = 0.10 x 100 = 10 points
    assert "10 percentage points too high" in data["assumption"]
    assert "5 percentage points too high" in standard_assumption(0.05)
