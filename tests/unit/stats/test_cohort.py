"""Analysis datasets: endpoints worked out by hand on a tiny registry."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ilpkit.stats import cohort

NaT = pd.NaT


def tiny_registry() -> pd.DataFrame:
    """Patient A: two perfusions, LR after the first, died. Patient B: one perfusion, alive,
    amputated. Patient C: died without LR, response NE."""
    d = pd.Timestamp
    rows = [
        # patient, birth, death, last fu, ilp, lr, dm, amputation, response, size, histology
        ("A", d("1950-01-01"), d("2005-01-01"), d("2005-01-01"), d("2000-01-01"),
         d("2001-01-01"), d("2003-07-01"), NaT, "PR", 4.0, "leiomyosarcoma"),
        ("A", d("1950-01-01"), d("2005-01-01"), d("2005-01-01"), d("2001-02-01"),
         NaT, NaT, NaT, "CR", 12.0, "leiomyosarcoma"),
        ("B", d("1960-06-01"), NaT, d("2010-06-01"), d("2002-03-01"),
         NaT, NaT, d("2004-03-01"), "PD", 15.0, "liposarcoma"),
        ("C", d("1940-01-01"), d("2003-01-01"), d("2003-01-01"), d("2002-01-01"),
         NaT, NaT, NaT, "NE", None, "mpnst"),
    ]  # fmt: skip
    cols = ["patient_id", "birth_date", "death_date", "last_followup_date", "ilp_date",
            "local_recurrence_date", "distant_metastasis_date", "amputation_date", "response",
            "tumor_size_cm", "histology"]  # fmt: skip
    f = pd.DataFrame(rows, columns=cols)
    f["sex"] = ["F", "F", "M", "M"]
    f["limb"] = "leg"
    f["multifocal"] = [True, True, False, False]
    f["prior_radiotherapy"] = False
    f["presentation"] = "primary"
    f["grade"] = pd.array([3, 3, 2, None], dtype="Int64")
    f["resection_margin"] = None
    f["limb_volume_l"] = 10.0
    f["tnf_mg"] = 2.0
    f["melphalan_mg"] = 100.0
    return f


def test_overall_survival_per_patient_from_first_perfusion():
    os_ = cohort.overall_survival(tiny_registry()).set_index("patient_id")
    # A: 2000-01-01 -> 2005-01-01 = 366+365+365+365+366 = 1827 days, died
    # B: 2002-03-01 -> 2010-06-01 = 8 years (2 leap days: 2004, 2008) + 92 days = 3014 days, alive
    # C: 2002-01-01 -> 2003-01-01 = 365 days, died
    assert os_.loc["A", "time_days"] == 1827
    assert os_.loc["B", "time_days"] == 2922 + 92
    assert os_.loc["C", "time_days"] == 365
    assert os_["event"].to_dict() == {"A": 1, "B": 0, "C": 1}
    assert os_.loc["A", "time_years"] == pytest.approx(1827 / 365.25)
    assert os_.loc["A", "tumor_size_group"] == "<=5cm"  # covariates of the FIRST perfusion
    assert os_.loc["A", "leiomyosarcoma"] == "yes"
    assert os_.loc["C", "tumor_size_group"] is None


def test_local_recurrence_per_perfusion_with_death_competing():
    lr = cohort.local_recurrence(tiny_registry())
    # A1: LR at 2001-01-01 (366 days, status 1); A2: no LR, died 2005-01-01 -> status 2,
    # 2001-02-01 -> 2005-01-01 = 1430 days; B: alive, censored 3014 days; C: died -> status 2
    assert lr["status"].tolist() == [1, 2, 0, 2]
    assert lr["time_days"].tolist() == [366, 1430, 3014, 365]
    assert lr["tumor_size_group"].tolist() == ["<=5cm", ">10-15cm", ">10-15cm", None]


def test_dmfs_takes_metastasis_or_death_first():
    dm = cohort.distant_metastasis_free_survival(tiny_registry()).set_index("patient_id")
    # A: metastasis 2003-07-01, 2000-01-01 -> 2003-07-01 = 366+365+365+181 = 1277 days
    assert dm.loc["A", "time_days"] == 1277
    assert dm["event"].to_dict() == {"A": 1, "B": 0, "C": 1}


def test_amputation_free_survival_and_limb_salvage():
    afs = cohort.amputation_free_survival(tiny_registry())
    # B amputated 2004-03-01: 2002-03-01 -> 2004-03-01 = 731 days
    assert afs["time_days"].tolist()[2] == 731
    assert afs["event"].tolist() == [1, 1, 1, 1]
    assert afs["limb_salvaged"].tolist() == [True, True, False, True]
    per_patient = cohort.limb_salvage_per_patient(tiny_registry()).set_index("patient_id")
    assert per_patient["limb_salvaged"].to_dict() == {"A": True, "B": False, "C": True}


def test_response_excludes_and_counts_not_evaluable():
    f = tiny_registry()
    f.loc[3, "response"] = None
    f = pd.concat([f, tiny_registry().iloc[[3]]], ignore_index=True)  # one NE, one missing
    r = cohort.response(f)
    assert (r.n_not_evaluable, r.n_missing) == (1, 1)
    assert r.evaluable["response"].tolist() == ["PR", "CR", "PD"]
    assert r.evaluable["objective"].tolist() == [1, 1, 0]


@pytest.mark.parametrize(
    ("size", "group"),
    [(5.0, "<=5cm"), (5.1, ">5-10cm"), (10.0, ">5-10cm"), (15.0, ">10-15cm"), (15.01, ">15cm")],
)
def test_tumour_size_groups_follow_ajcc_t_categories(size, group):
    assert cohort.tumor_size_group(pd.Series([size])).tolist() == [group]


def test_age_and_dose_per_litre():
    cov = cohort.covariates(tiny_registry())
    # A born 1950-01-01, perfused 2000-01-01: 18262 days = 49.998... years of 365.25 days
    assert cov.loc[0, "age_years"] == pytest.approx(18262 / 365.25)
    assert np.allclose(cov["melphalan_mg_per_l"], 10.0)


def test_shared_preparation_gives_each_caller_its_own_copy_and_ends_with_the_block():
    frame = tiny_registry()
    alone = cohort.covariates(frame)
    with cohort.shared_preparation():
        first = cohort.covariates(frame)
        first["histology"] = "changed by the caller"
        second = cohort.covariates(frame)
        os_shared = cohort.overall_survival(frame)
        other = tiny_registry()
        other["tumor_size_cm"] = 20.0  # another frame object is prepared on its own
        assert list(cohort.covariates(other)["tumor_size_group"]) == [">15cm"] * 4
    pd.testing.assert_frame_equal(second, alone)
    pd.testing.assert_frame_equal(os_shared, cohort.overall_survival(frame))
    frame["tumor_size_cm"] = 20.0  # outside the block nothing is remembered
    assert list(cohort.covariates(frame)["tumor_size_group"]) == [">15cm"] * 4
