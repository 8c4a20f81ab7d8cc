"""Landmark analyses of post-baseline factors, distant metastasis and sarcoma-specific survival:
datasets worked out by hand on tiny registries, refusals, and absent columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ilpkit.stats import cohort
from ilpkit.stats.analysis import AnalysisError, AnalysisOptions, analyze, check_variables
from ilpkit.stats.landmark import POST_BASELINE, landmark, landmark_days

D = pd.Timestamp
NaT = pd.NaT


def registry(rows: list[dict]) -> pd.DataFrame:
    """A registry frame; every unspecified column takes a neutral value."""
    base = {
        "patient_id": "P1",
        "center": "C",
        "sex": "F",
        "birth_date": D("1950-01-01"),
        "death_date": NaT,
        "last_followup_date": D("2005-01-01"),
        "ilp_date": D("2000-01-01"),
        "limb": "leg",
        "limb_volume_l": 8.0,
        "tnf_mg": 3.0,
        "melphalan_mg": 80.0,
        "histology": "liposarcoma",
        "grade": 2,
        "tumor_size_cm": 10.0,
        "multifocal": False,
        "presentation": "primary",
        "prior_radiotherapy": False,
        "response": "PR",
        "resection_date": NaT,
        "resection_margin": None,
        "amputation_date": NaT,
        "local_recurrence_date": NaT,
        "distant_metastasis_date": NaT,
    }
    frame = pd.DataFrame([{**base, **r} for r in rows])
    frame["grade"] = pd.array(frame["grade"], dtype="Int64")
    return frame


def test_three_months_is_91_3125_days():
    assert landmark_days(3) == pytest.approx(3 * 365.25 / 12) == pytest.approx(91.3125)


def test_landmark_keeps_those_event_free_beyond_it_and_resets_time():
    f = registry(
        [
            # LR at day 60: before the landmark -> left out
            {"patient_id": "A", "local_recurrence_date": D("2000-03-01")},
            # last follow-up at day 91 (<= 91.3125) -> left out
            {"patient_id": "B", "last_followup_date": D("2000-04-01")},
            # LR at day 182, resected day 50 with R1 -> kept, time 182 - 91.3125, margin R1
            {
                "patient_id": "C",
                "local_recurrence_date": D("2000-07-01"),
                "resection_date": D("2000-02-20"),
                "resection_margin": "R1",
            },
            # resected day 121 (after the landmark) -> margin unknown at the landmark
            {"patient_id": "E", "resection_date": D("2000-05-01"), "resection_margin": "R0"},
        ]
    )
    lm = landmark(cohort.local_recurrence(f), 3)
    assert lm.n_excluded == 2
    data = lm.data.set_index("patient_id")
    assert list(data.index) == ["C", "E"]
    assert data.loc["C", "time_days"] == pytest.approx(182 - 91.3125)
    assert data.loc["C", "time_years"] == pytest.approx((182 - 91.3125) / 365.25)
    assert data.loc["C", "status"] == 1
    assert data.loc["C", "resection_margin"] == "R1"
    assert data.loc["E", "resection_margin"] is None  # resected after the landmark
    assert data.loc["E", "response"] == "PR"  # response: known by the landmark


@pytest.mark.parametrize("var", POST_BASELINE)
def test_post_baseline_factor_refused_without_landmark(var):
    with pytest.raises(AnalysisError, match=r"immortal-time bias.*--landmark-months 3"):
        check_variables([var], [])
    with pytest.raises(AnalysisError, match="guarantee-time"):
        check_variables([], [var])
    check_variables([var], [var], 3.0)  # accepted with a landmark


def test_analyze_refuses_cox_response_without_landmark_and_accepts_it_with_one():
    f = registry(
        [
            {
                "patient_id": f"P{i}",
                "response": "CR" if i % 2 else "PD",
                "death_date": D(f"{2002 + i % 3}-06-01"),
                "last_followup_date": D(f"{2002 + i % 3}-06-01"),
            }
            for i in range(8)
        ]
    )
    with pytest.raises(AnalysisError, match="post-baseline"):
        analyze(f, AnalysisOptions(endpoints=("os",), by=(), cox=("response",)))
    r = analyze(f, AnalysisOptions(endpoints=("os",), by=("response",), cox=(), landmark_months=3))
    os_ = r.overall_survival
    assert os_ is not None and os_.landmark is not None
    assert "response" not in os_.by
    assert os_.landmark.n == 8 and os_.landmark.landmark_months == 3.0
    assert set(os_.landmark.by["response"].groups) == {"CR", "PD"}


def test_necrosis_groups_at_50_percent():
    g = cohort.necrosis_group(pd.Series([0.0, 50.0, 50.1, 100.0, np.nan]))
    assert list(g) == ["<=50%", "<=50%", ">50%", ">50%", None]


def test_histology_groups_from_the_data_file():
    h = pd.Series(["liposarcoma", "undifferentiated_pleomorphic_sarcoma", "mpnst", None])
    assert list(cohort.histology_group(h)) == ["liposarcoma", "ups_mfh", "other", None]
    groups = cohort.histology_groups()
    assert groups.order[-1] == "other" and "WHO" in groups.source
    assert groups.labels["ups_mfh"] == "UPS/MFH"


def test_absent_outcome_study_columns_are_not_recorded_with_the_reason():
    f = registry([{"patient_id": f"P{i}"} for i in range(4)])
    r = analyze(f, AnalysisOptions(endpoints=("lr", "metastasis"), by=()))
    lm = r.local_recurrence.landmark  # type: ignore[union-attr]
    assert lm.not_recorded == {
        "adjuvant_radiotherapy": "not recorded: the registry has no adjuvant_radiotherapy field",
        "necrosis_group": "not recorded: the registry has no pathological_necrosis_pct field",
        "resection_margin": "not recorded: no perfusion has resection_margin recorded",
    }
    assert set(lm.by) == {"response"}
    sss = r.distant_metastasis.sarcoma_specific_survival  # type: ignore[union-attr]
    assert sss.not_recorded == "the registry has no cause_of_death field"  # type: ignore[union-attr]


def test_all_missing_cause_of_death_is_not_recorded():
    f = registry([{"patient_id": "A", "death_date": D("2003-01-01")}])
    f["cause_of_death"] = None
    r = analyze(f, AnalysisOptions(endpoints=("metastasis",), by=(), cox=()))
    sss = r.distant_metastasis.sarcoma_specific_survival  # type: ignore[union-attr]
    assert "no death has its cause recorded" in sss.not_recorded  # type: ignore[union-attr]


def test_sarcoma_specific_survival_handles_unknown_cause():
    # A sarcoma death at 1 y, B other cause at 2 y, C unknown cause at 3 y, D alive 4 y,
    # E died with no cause recorded at 1.5 y (-> unknown)
    rows = [
        {"patient_id": "A", "death_date": D("2001-01-01"), "last_followup_date": D("2001-01-01")},
        {"patient_id": "B", "death_date": D("2002-01-01"), "last_followup_date": D("2002-01-01")},
        {"patient_id": "C", "death_date": D("2003-01-01"), "last_followup_date": D("2003-01-01")},
        {"patient_id": "D", "last_followup_date": D("2004-01-01")},
        {"patient_id": "E", "death_date": D("2001-07-01"), "last_followup_date": D("2001-07-01")},
    ]
    f = registry(rows)
    f["cause_of_death"] = ["sarcoma", "other", "unknown", None, None]
    data = cohort.sarcoma_specific_survival(f).set_index("patient_id")
    assert list(data["cause"]) == ["sarcoma", "other", "unknown", None, "unknown"]
    assert list(data["event"]) == [1, 0, 0, 0, 0]
    assert list(data["event_unknown_as_sarcoma"]) == [1, 0, 1, 0, 1]
    r = analyze(f, AnalysisOptions(endpoints=("metastasis",), by=(), cox=()))
    sss = r.distant_metastasis.sarcoma_specific_survival  # type: ignore[union-attr]
    # main: A, B, D (C and E left out); A dies at 366 days = 1.002 y, so S(1) = 1 and
    # S(2) = 2/3 (B, dying of another cause at 2.001 y, is censored)
    assert sss.n == 3 and sss.events == 1 and sss.deaths_unknown_cause == 2
    assert sss.deaths_other_cause == 1
    assert sss.at_years["1"].estimate == pytest.approx(1.0)
    assert sss.at_years["2"].estimate == pytest.approx(2 / 3)
    # sensitivity, all five: deaths (as sarcoma) A 1.002 y, E 1.497 y, C 3.0 y; B censored at
    # 2.001 y: S(2) = (4/5)(3/4) = 0.6
    sens = sss.sensitivity_unknown_as_sarcoma
    assert sens.n == 5 and sens.events == 3
    assert sens.at_years["2"].estimate == pytest.approx(0.6)


def test_distant_metastasis_per_patient_from_first_perfusion():
    # patient A: perfused 2000-01-01 and 2001-01-01, DM recorded on the second perfusion's row
    # on 2002-01-01 (731 days after the FIRST perfusion); B dies without DM; C censored
    rows = [
        {"patient_id": "A", "ilp_date": D("2000-01-01")},
        {
            "patient_id": "A",
            "ilp_date": D("2001-01-01"),
            "distant_metastasis_date": D("2002-01-01"),
        },
        {"patient_id": "B", "death_date": D("2003-01-01"), "last_followup_date": D("2003-01-01")},
        {"patient_id": "C"},
    ]
    dm = cohort.distant_metastasis(registry(rows)).set_index("patient_id")
    assert dm["status"].to_dict() == {"A": 1, "B": 2, "C": 0}
    assert dm.loc["A", "time_days"] == 731
    assert dm.loc["B", "time_days"] == 1096
    assert dm.loc["C", "time_days"] == 1827


def test_repeat_perfusions_cluster_the_recurrence_cox_on_patient():
    rows = []
    for i in range(12):
        lr = D(f"{2001 + i % 3}-03-01") if i % 3 else NaT
        rows.append({"patient_id": f"P{i}", "response": "CR" if i % 2 else "PR",
                     "local_recurrence_date": lr})  # fmt: skip
    rows.append({"patient_id": "P1", "ilp_date": D("2000-06-01"), "response": "PR",
                 "local_recurrence_date": D("2002-01-01")})  # fmt: skip
    r = analyze(registry(rows), AnalysisOptions(endpoints=("lr",), by=()))
    lm = r.local_recurrence.landmark  # type: ignore[union-attr]
    assert lm.unit == "perfusion"
    assert lm.patients_with_repeat_perfusions == 1
    assert lm.variance == "robust, clustered on patient"
    assert lm.cox["response"].terms  # estimated


def test_single_perfusions_use_the_model_based_variance():
    rows = [
        {"patient_id": f"P{i}", "response": "CR" if i % 2 else "PR",
         "local_recurrence_date": D(f"{2001 + i % 3}-03-01") if i % 3 else NaT}
        for i in range(12)
    ]  # fmt: skip
    r = analyze(registry(rows), AnalysisOptions(endpoints=("lr",), by=()))
    assert r.local_recurrence.landmark.variance == "model-based"  # type: ignore[union-attr]
