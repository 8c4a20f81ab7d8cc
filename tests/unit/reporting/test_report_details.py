"""Curves stop where few remain at risk; levels of response in clinical order."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ilpkit.reporting import figures as figs
from ilpkit.stats.analysis import survival_section
from ilpkit.stats.kaplan_meier import kaplan_meier


def test_curve_stops_where_fewer_than_the_minimum_remain_at_risk():
    # 30 patients followed 1, 2, ..., 30 years, every third censored: at t = k, 31 - k are
    # at risk, so at least 10 up to t = 21 (by hand); the curve is cut there.
    t = np.arange(1.0, 31.0)
    e = (np.arange(30) % 3 != 2).astype(int)
    curve = figs.km_curve(kaplan_meier(t, e, conf_type="log-log"), "All")
    cut = figs.stop_at_risk(curve, 10)
    assert cut.end_time == 21.0
    assert cut.time.max() == 21.0 and cut.censor_time.max() <= 21.0
    assert cut.value.shape == cut.time.shape == cut.lower.shape
    assert figs.stop_at_risk(curve, 1).end_time == 30.0
    # fewer than the minimum from the start: nothing beyond time 0 is drawn
    small = figs.stop_at_risk(curve, 31)
    assert small.end_time == 0.0 and small.label == "All (< 31: not drawn)"


def test_response_levels_in_clinical_order():
    data = pd.DataFrame(
        {
            "time_years": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
            "event": [1, 0, 1, 0, 1, 0, 1, 0],
            "response": ["PR", "CR", "PD", "NC", "PR", "CR", "PD", "NC"],
        }
    )
    groups = survival_section(data, ("response",), (1,), unit="patient").by["response"]
    assert list(groups.groups) == ["CR", "PR", "NC", "PD"]
    assert groups.trend is None
    assert "trend" not in groups.model_dump(mode="json")
