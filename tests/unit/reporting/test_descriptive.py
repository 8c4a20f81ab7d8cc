"""Table 1 summaries and the study flow (ilpkit.stats.descriptive), checked against values worked
out by hand (quartiles as R ``quantile(type = 7)``)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from ilpkit.stats import descriptive as desc


def test_numeric_summary_matches_r_type_7_quartiles():
    # R: quantile(c(3, 1, 4, 1, 5, 9, 2, 6), c(.25, .5, .75)) -> 1.75 3.5 5.25
    s = desc.summarize_numeric([3, 1, 4, 1, 5, 9, 2, 6, None, float("nan")], "x")
    assert (s.n, s.n_missing) == (8, 2)
    assert s.median == pytest.approx(3.5)
    assert s.q1 == pytest.approx(1.75)
    assert s.q3 == pytest.approx(5.25)
    assert (s.minimum, s.maximum) == (1.0, 9.0)
    assert s.mean == pytest.approx(31 / 8)


def test_numeric_summary_of_nothing_recorded():
    s = desc.summarize_numeric([None, None])
    assert s.n == 0 and s.n_missing == 2 and s.median is None


def test_categorical_summary_orders_levels_and_counts_missing():
    s = desc.summarize_categorical(
        pd.Series(["leg", "arm", None, "leg", "other", np.nan]), levels=["arm", "leg", "none"]
    )
    assert s.levels == ("arm", "leg", "none", "other")
    assert s.counts == (1, 2, 0, 1)
    assert (s.n, s.n_missing) == (4, 2)
    assert s.percents == (25.0, 50.0, 0.0, 25.0)


def test_categorical_summary_treats_numbers_and_text_alike():
    s = desc.summarize_categorical([2, "2", 3])
    assert dict(zip(s.levels, s.counts, strict=True)) == {"2": 2, "3": 1}


def test_categorical_summary_of_empty_input_has_no_percentages():
    s = desc.summarize_categorical([None], levels=["yes"])
    assert s.n == 0 and s.percents == (None,)


def test_tnf_dose_groups_follow_deroose_2015_split():
    groups = desc.tnf_dose_group([0.5, 1, 2, 2.5, 3, 4, 0, None]).tolist()
    assert groups == [
        "1–2 mg",
        "1–2 mg",
        "1–2 mg",
        "3–4 mg",
        "3–4 mg",
        "3–4 mg",
        "none (0 mg)",
        None,
    ]


def test_leakage_groups_boundaries():
    assert desc.leakage_group([0, 2, 2.01, 9.99, 10, 35, None]).tolist() == [
        "≤ 2%",
        "≤ 2%",
        "> 2% to < 10%",
        "> 2% to < 10%",
        "≥ 10%",
        "≥ 10%",
        None,
    ]


def _frame() -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = pd.DataFrame(
        {
            "patient_id": ["A", "A", "B", "C", "D"],
            "response": ["PR", "NE", None, "CR", "PD"],
            "resection_date": pd.to_datetime(
                ["2001-01-01", None, "2002-01-01", None, "2003-01-01"]
            ),
            "resection_margin": ["R0", None, "R1", None, None],
            "amputation_date": pd.to_datetime([None, "2004-01-01", None, None, None]),
        }
    )
    # per patient: A died at 2 y; B alive at 6 y; C alive at 1 y; D alive at exactly 5 y
    os_data = pd.DataFrame({"time_years": [2.0, 6.0, 1.0, 5.0], "event": [1, 0, 0, 0]})
    return frame, os_data


def test_study_flow_counts_every_stage():
    frame, os_data = _frame()
    flow = desc.study_flow(frame, os_data, horizon_years=5)
    assert (flow.n_patients, flow.n_perfusions, flow.n_patients_repeat) == (4, 5, 1)
    assert flow.n_response_evaluable == 3  # PR, CR, PD
    assert (flow.n_response_not_evaluable, flow.n_response_missing) == (1, 1)
    assert flow.n_resected == 3
    assert flow.resection_margins == {"R0": 1, "R1": 1, "R2": 0, "unknown": 1}
    assert flow.n_amputated == 1
    assert (flow.n_followed, flow.n_dead, flow.n_censored_early) == (3, 1, 1)
    assert flow.to_dict()["horizon_years"] == 5.0


def test_perfusions_per_patient():
    frame, _ = _frame()
    assert sorted(desc.perfusions_per_patient(frame).tolist()) == [1, 1, 1, 2]


def test_summaries_to_dict_are_plain():
    d = desc.summarize_numeric([1.0, 2.0]).to_dict()
    assert d["median"] == 1.5 and isinstance(d["n"], int)
    c = desc.summarize_categorical(["a"]).to_dict()
    assert c["levels"] == [{"level": "a", "count": 1, "percent": 100.0}]
    assert not any(isinstance(v, float) and math.isnan(v) for v in d.values())
