"""The analysis sections on degenerate data: what cannot be estimated or tested is marked with
its reason, never raised; survival and incidence past the end of a curve are honest.

Reference values are by hand (stated in each test) or from R 4 / survival 3.5:
``summary(survfit(Surv(c(0.2, 0.5, 0.9, 1.3, 1.7), rep(1, 5)) ~ 1, conf.type = "log-log"),
times = c(1, 2, 5), extend = TRUE)`` gives surv 0.4, 0, 0 with lower/upper NA at 2 and 5.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ilpkit.stats.analysis import cox_section, local_recurrence_section, survival_section


def _os(time, event, **covariates) -> pd.DataFrame:
    return pd.DataFrame({"time_years": time, "event": event, **covariates})


def test_survival_is_zero_after_every_patient_died():
    data = _os([0.2, 0.5, 0.9, 1.3, 1.7], [1, 1, 1, 1, 1])
    at = survival_section(data, (), (1, 2, 5), unit="patient")["at_years"]
    assert at["1"]["estimate"] == pytest.approx(0.4)  # R: 0.4
    for y in ("2", "5"):
        assert at[y]["estimate"] == 0.0  # R extend = TRUE: 0
        assert at[y]["ci95"] == [None, None]  # R: NA


def test_survival_unknown_after_last_follow_up_of_a_curve_above_zero():
    # R (extend = TRUE) carries 0.2667 forward to 5 years; past follow-up it is not known.
    data = _os([0.2, 0.5, 0.9, 1.3, 1.7], [1, 0, 1, 1, 0])
    at = survival_section(data, (), (1, 2, 5), unit="patient")["at_years"]
    assert at["1"]["estimate"] == pytest.approx(0.5333333, abs=1e-6)  # R: 0.5333333
    assert at["2"]["estimate"] is None and at["5"]["estimate"] is None


def _lr(time, status, **covariates) -> pd.DataFrame:
    return pd.DataFrame({"time_years": time, "status": status, **covariates})


def test_cumulative_incidence_kept_when_every_outcome_is_known():
    # LR at 0.5 (4 at risk), death at 1.0, LR at 1.5 (2 at risk), death at 1.8: every outcome
    # known. By hand: F = 1/4 + (1/4 + ... ) -> 0.25 + S(1.5-) * 1/2 = 0.25 + 0.5 * 0.5 = 0.5.
    data = _lr([0.5, 1.0, 1.5, 1.8], [1, 2, 1, 2])
    at = local_recurrence_section(data, (), (1, 2, 5))["at_years"]
    assert at["1"]["estimate"] == pytest.approx(0.25)
    assert at["2"]["estimate"] == pytest.approx(0.5)
    assert at["5"]["estimate"] == pytest.approx(0.5)


def test_cumulative_incidence_unknown_after_censored_follow_up():
    data = _lr([0.5, 1.0, 1.5, 1.8], [1, 2, 1, 0])
    at = local_recurrence_section(data, (), (1, 2, 5))["at_years"]
    assert at["1"]["estimate"] == pytest.approx(0.25)
    assert at["2"]["estimate"] is None and at["5"]["estimate"] is None


def test_no_local_recurrence_is_zero_without_a_degenerate_ci():
    data = _lr([1.0, 2.5, 3.0, 6.0], [0, 2, 0, 0])
    at = local_recurrence_section(data, (), (1, 2, 5))["at_years"]
    assert at["1"]["estimate"] == 0.0 and at["5"]["estimate"] == 0.0
    assert at["5"]["ci95"] == [None, None]
    data = _lr([1.0, 2.5, 3.0], [0, 2, 0])  # followed to 3 years only
    assert local_recurrence_section(data, (), (5,))["at_years"]["5"]["estimate"] is None


def test_gray_not_tested_without_local_recurrence_or_with_one_level():
    data = _lr([1.0, 2.0, 3.0, 4.0], [0, 2, 0, 0], sex=["F", "M", "F", "M"])
    gray = local_recurrence_section(data, ("sex",), (1,))["by"]["sex"]["gray"]
    assert gray["p"] is None and gray["note"] == "no local recurrence"
    data = _lr([1.0, 2.0, 3.0, 4.0], [1, 2, 0, 1], sex=["F", "F", "F", "F"])
    gray = local_recurrence_section(data, ("sex",), (1,))["by"]["sex"]["gray"]
    assert gray["p"] is None and gray["note"] == "only one level present (F)"


def test_kaplan_meier_of_one_subject():
    section = survival_section(_os([2.0], [1], sex=["F"]), ("sex",), (1, 5), unit="patient")
    assert section["at_years"]["1"]["estimate"] == 1.0
    assert section["at_years"]["5"]["estimate"] == 0.0
    assert section["by"]["sex"]["logrank"]["note"] == "only one level present (F)"


def test_logrank_without_deaths_is_marked():
    section = survival_section(
        _os([1.0, 2.0, 3.0], [0, 0, 0], sex=["F", "M", "F"]), ("sex",), (1,), unit="patient"
    )
    assert section["by"]["sex"]["logrank"] == {
        "statistic": None,
        "df": None,
        "p": None,
        "note": "no deaths",
    }


def _cox_data() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 30
    age = rng.uniform(40, 80, n)
    return pd.DataFrame(
        {
            "time_years": rng.exponential(3, n),
            "event": (rng.uniform(size=n) < 0.7).astype(int),
            "age_years": age,
            "tumor_size_cm": 2 * age,  # collinear with age
            "presentation": ["primary"] * n,
            "multifocal": ["yes", "no"] * (n // 2),
        }
    )


def test_cox_without_deaths_is_not_estimable():
    data = _cox_data().assign(event=0)
    cox = cox_section(data, ("age_years",), "efron")
    assert cox["terms"] == {} and cox["note"] == "not estimable: no deaths"
    assert cox["univariable"]["age_years"]["note"] == "not estimable: no deaths"


def test_cox_term_with_one_level_is_not_estimable():
    cox = cox_section(_cox_data(), ("age_years", "presentation"), "efron")
    assert cox["terms"] == {}
    assert cox["note"] == "not estimable: presentation has only one level present (primary)"
    assert cox["univariable"]["age_years"]["terms"]["age_years"]["hr"] is not None
    assert cox["univariable"]["presentation"]["note"].startswith("not estimable:")


def test_cox_collinear_terms_are_not_estimable():
    cox = cox_section(_cox_data(), ("age_years", "tumor_size_cm"), "efron")
    assert cox["terms"] == {}
    assert "tumor_size_cm" in cox["note"] and "linear combination" in cox["note"]
    assert cox["univariable"]["tumor_size_cm"]["note"] is None
