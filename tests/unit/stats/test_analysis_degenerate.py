"""The analysis sections on degenerate data: what cannot be estimated or tested is marked with
its reason, never raised; survival and incidence past the end of a curve are honest.

Reference values: tests/reference/r_after_curve_end.R -> r_after_curve_end.json (R 4.2.2,
survival 3.5-3, cmprsk 2.2-11), or by hand where stated.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from ilpkit.stats import analysis


def survival_section(*args: Any, **kwargs: Any) -> dict[str, Any]:
    """The section as its JSON (what ``ilp analyze --json`` prints)."""
    return analysis.survival_section(*args, **kwargs).model_dump(mode="json")


def local_recurrence_section(*args: Any, **kwargs: Any) -> dict[str, Any]:
    return analysis.local_recurrence_section(*args, **kwargs).model_dump(mode="json")


def cox_section(*args: Any, **kwargs: Any) -> dict[str, Any]:
    cox = analysis.cox_section(*args, **kwargs)
    assert cox is not None
    return cox.model_dump(mode="json")


R = json.loads(
    (Path(__file__).resolve().parents[2] / "reference" / "r_after_curve_end.json").read_text()
)


def _os(time, event, **covariates) -> pd.DataFrame:
    return pd.DataFrame({"time_years": time, "event": event, **covariates})


def test_survival_is_zero_after_every_patient_died():
    ref = R["km_all_dead"]
    at = survival_section(_os(ref["time"], ref["event"]), (), ref["at"], unit="patient")
    for i, y in enumerate(ref["at"]):
        s = at["at_years"][str(y)]
        assert s["estimate"] == pytest.approx(ref["surv"][i], abs=1e-12)
        if ref["lower"][i] is None:  # R: NA once S = 0
            assert s["ci95"] == [None, None]
        else:
            assert s["ci95"] == pytest.approx([ref["lower"][i], ref["upper"][i]], abs=1e-9)


def test_survival_unknown_after_last_follow_up_of_a_curve_above_zero():
    # R (extend = TRUE) carries S forward with nobody at risk; ilpkit reports it as unknown.
    ref = R["km_censored"]
    at = survival_section(_os(ref["time"], ref["event"]), (), ref["at"], unit="patient")
    assert at["at_years"]["1"]["estimate"] == pytest.approx(ref["surv"][0], abs=1e-12)
    assert ref["n_risk"][1:] == [0, 0]
    assert at["at_years"]["2"]["estimate"] is None and at["at_years"]["5"]["estimate"] is None


def _lr(time, status, **covariates) -> pd.DataFrame:
    return pd.DataFrame({"time_years": time, "status": status, **covariates})


def test_cumulative_incidence_kept_when_every_outcome_is_known():
    # Every perfusion had local recurrence or death by the last time: the incidence is final.
    ref = R["cif_complete"]
    data = _lr(ref["time"], ref["status"])
    at = local_recurrence_section(data, (), ref["at"])["at_years"]
    assert at["1"]["estimate"] == pytest.approx(ref["estimate"][0], abs=1e-12)
    assert at["1"]["variance"] == pytest.approx(ref["variance"][0], abs=1e-12)
    for y in ("2", "5"):  # cmprsk: NA after the last time; ilpkit keeps the final value
        assert at[y]["estimate"] == pytest.approx(ref["last_estimate"], abs=1e-12)
        assert at[y]["variance"] == pytest.approx(ref["last_variance"], abs=1e-12)


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
