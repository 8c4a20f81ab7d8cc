"""Property tests (hypothesis, derandomised): volume, melphalan cap, leakage."""

from __future__ import annotations

import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ilpkit.adapters.protocol_file import shipped_protocol_text
from ilpkit.domain.perfusion import LEVELS_BY_LIMB, Limb
from ilpkit.planning.dosing import plan_doses
from ilpkit.planning.errors import LimbVolumeError
from ilpkit.planning.leakage import (
    AlertLevel,
    LeakageMonitor,
    calibrate,
    leakage_pct,
)
from ilpkit.planning.limb_volume import limb_volume_from_circumferences, summed_frustum_volume_ml
from ilpkit.planning.protocols import parse_protocol_book

BOOK = parse_protocol_book(shipped_protocol_text())
SETTINGS = BOOK.leakage
FIXED = settings(derandomize=True, max_examples=150, deadline=None, database=None)

circumference = st.floats(min_value=1.0, max_value=100.0, allow_nan=False)
spacing = st.floats(min_value=1.0, max_value=15.0, allow_nan=False)
isotope = st.sampled_from(sorted(SETTINGS.isotopes))


@FIXED
@given(
    circumferences=st.lists(circumference, min_size=2, max_size=15),
    spacing_cm=spacing,
    data=st.data(),
)
def test_volume_grows_with_every_circumference(circumferences, spacing_cm, data):
    i = data.draw(st.integers(min_value=0, max_value=len(circumferences) - 1), label="index")
    bigger = data.draw(
        st.floats(min_value=circumferences[i] + 0.01, max_value=100.0 + 0.01), label="new value"
    )
    grown = [*circumferences]
    grown[i] = bigger
    assert summed_frustum_volume_ml(grown, spacing_cm) > summed_frustum_volume_ml(
        circumferences, spacing_cm
    )


@FIXED
@given(
    circumferences=st.lists(st.floats(min_value=15.0, max_value=60.0), min_size=2, max_size=8),
    spacing_cm=spacing,
    index=st.integers(min_value=0, max_value=7),
    extra_cm=st.floats(min_value=0.1, max_value=20.0),
)
def test_checked_volume_grows_with_every_circumference(circumferences, spacing_cm, index, extra_cm):
    assume(index < len(circumferences))
    grown = [*circumferences]
    grown[index] += extra_cm
    try:
        before = limb_volume_from_circumferences(circumferences, spacing_cm).limb_volume_l
        after = limb_volume_from_circumferences(grown, spacing_cm).limb_volume_l
    except LimbVolumeError:
        assume(False)  # outside 0.3-30 L: refused, covered by the unit tests
    assert after > before


@FIXED
@given(
    protocol=st.sampled_from(sorted(BOOK.protocols)),
    limb=st.sampled_from(list(Limb)),
    volume_l=st.floats(min_value=0.3, max_value=30.0),
    data=st.data(),
)
def test_melphalan_never_exceeds_150_mg_under_any_shipped_protocol(protocol, limb, volume_l, data):
    level = data.draw(st.sampled_from(LEVELS_BY_LIMB[limb]), label="level")
    p = BOOK.protocol(protocol)
    d = plan_doses(p, limb, level, volume_l)
    assert d.melphalan_mg <= 150.0
    rate = p.melphalan_mg_per_l[limb].value
    assert d.melphalan_mg == pytest.approx(min(rate * volume_l, 150.0))
    assert d.melphalan_capped == (rate * volume_l > 150.0)
    assert d.tnf_mg.value <= (3.0 if limb is Limb.ARM else 4.0)


@FIXED
@given(
    iso=isotope,
    background=st.floats(min_value=0.0, max_value=1e4),
    net_cal=st.floats(min_value=1.0, max_value=1e5),
    fraction=st.floats(min_value=0.01, max_value=1.0),
)
def test_counts_equal_to_the_calibration_at_time_zero_give_the_standard_fraction(
    iso, background, net_cal, fraction
):
    cal = calibrate(SETTINGS.isotope(iso), background, background + net_cal, fraction)
    assert leakage_pct(background + net_cal, 0.0, cal) == pytest.approx(fraction * 100.0)


@FIXED
@given(
    iso=isotope,
    background=st.floats(min_value=0.0, max_value=1e4),
    net_cal=st.floats(min_value=1.0, max_value=1e5),
    counts=st.floats(min_value=0.0, max_value=1e5),
    more=st.floats(min_value=0.01, max_value=1e5),
    minute=st.floats(min_value=0.0, max_value=240.0),
)
def test_leakage_grows_with_counts(iso, background, net_cal, counts, more, minute):
    cal = calibrate(SETTINGS.isotope(iso), background, background + net_cal, 0.10)
    assert leakage_pct(counts + more, minute, cal) > leakage_pct(counts, minute, cal)


@FIXED
@given(
    iso=isotope,
    readings=st.lists(st.floats(min_value=0.0, max_value=5000.0), min_size=1, max_size=30),
)
def test_monitor_level_never_goes_down(iso, readings):
    cal = calibrate(SETTINGS.isotope(iso), 100.0, 1100.0, 0.10)
    monitor = LeakageMonitor(cal, SETTINGS)
    ranks = [monitor.add(5.0 * i, c).level.rank for i, c in enumerate(readings)]
    assert ranks == sorted(ranks)
    peak = max(p.leakage_pct for p in monitor.points)
    expected = AlertLevel.STOP if peak >= 10 else AlertLevel.NOTIFY if peak >= 5 else AlertLevel.OK
    assert monitor.result().level is expected
    assert not math.isnan(peak)
