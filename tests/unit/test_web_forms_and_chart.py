"""Web helpers without a server: number fields and the leakage chart's geometry (by hand)."""

from __future__ import annotations

import pytest

from ilpkit.adapters.protocol_file import load_protocol_book
from ilpkit.planning.leakage import calibrate, monitor_readings
from ilpkit.web.forms import FieldError, number
from ilpkit.web.leakage_chart import chart


@pytest.mark.parametrize(
    ("text", "value"), [("8.6", 8.6), (" 10 ", 10.0), ("-5", -5.0), ("1e2", 100.0)]
)
def test_number_reads_decimals(text, value):
    assert number("f", "field", text) == value


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "field (L): give a number"),
        ("8,6", "uses a comma; write decimals with a point"),
        ("abc", "field (L) = 'abc': not a number"),
        ("1e999", "too large"),
        ("nan", "not a number"),
        ("x" * 100, "x" * 64 + "...': not a number"),
    ],
)
def test_number_refusals_name_the_field_and_value(text, words):
    with pytest.raises(FieldError) as caught:
        number("f", "field", text, "L")
    assert caught.value.field == "f" and words in str(caught.value)


def test_chart_geometry_by_hand():
    settings = load_protocol_book(environ={}).leakage
    cal = calibrate(settings.isotope("tc99m"), 100.0, 1100.0, 0.10)
    result = monitor_readings([(0, 200.0), (45, 600.0)], cal, settings)
    c = chart(result)
    # x: 0-90 min over 640 - 56 - 16 = 568 units; y: 0-12 % (1.2 x stop 10 %, step 2) over
    # 320 - 14 - 42 = 264 units, top at 14
    assert [(p.x, p.level) for p in c.points] == [(56.0, "ok"), (56.0 + 284.0, "notify")]
    assert c.points[0].y == pytest.approx(14 + (12 - 1.0) / 12 * 264, abs=0.01)
    assert c.stop_y == pytest.approx(14 + 2 / 12 * 264)
    assert c.notify_y == pytest.approx(14 + 7 / 12 * 264)
    assert c.zero_y == pytest.approx(14 + 264)
    assert [t.label for t in c.x_ticks] == ["0", "15", "30", "45", "60", "75", "90"]
    assert [t.label for t in c.y_ticks] == ["0", "2", "4", "6", "8", "10", "12"]
    assert c.stop_label == "stop 10%" and c.notify_label == "notify 5%"
