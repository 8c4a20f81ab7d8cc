"""Landmark analyses, distant metastasis, metastasis-free and sarcoma-specific survival equal R.

tests/reference/r_landmark.R builds two SYNTHETIC registries from R datasets (colon, with 148
patients perfused twice, and mgus2, one perfusion per patient) including the outcome-study
columns adjuvant_radiotherapy, pathological_necrosis_pct and cause_of_death, and computes with
survival/cmprsk, from the registry file alone: the 3-month landmark datasets, cumulative
incidence of local recurrence by each post-baseline factor with Gray's test, the cause-specific
Cox models (robust variance clustered on patient when a patient has two perfusions), overall
survival from the landmark by response, and per patient the cumulative incidence of distant
metastasis (death competing), metastasis-free and sarcoma-specific survival. The analysis frame
is built here from the same file; every number R reported must agree (rtol 1e-6).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from tests.reference.test_analyze_vs_r import assert_close

from ilpkit.stats.analysis import AnalysisOptions, analyze

HERE = Path(__file__).parent
R = json.loads((HERE / "r_landmark.json").read_text())
DATES = (
    "birth_date",
    "death_date",
    "last_followup_date",
    "ilp_date",
    "resection_date",
    "amputation_date",
    "local_recurrence_date",
    "distant_metastasis_date",
)
NUMBERS = ("limb_volume_l", "tnf_mg", "melphalan_mg", "tumor_size_cm", "pathological_necrosis_pct")


def registry_frame(path: Path) -> pd.DataFrame:
    """The analysis frame of a registry file, typed as the registry loader types it, with the
    outcome-study columns as the analysis frame carries them (yes/no text, float, text)."""
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame = raw.astype(object).where(raw != "", None)
    for col in DATES:
        frame[col] = pd.to_datetime(frame[col])
    for col in NUMBERS:
        frame[col] = pd.to_numeric(frame[col]).astype(float)
    for col in ("multifocal", "prior_radiotherapy"):
        frame[col] = frame[col] == "yes"
    frame["grade"] = pd.array(pd.to_numeric(frame["grade"]), dtype="Int64")
    return frame


@pytest.fixture(scope="module", params=sorted(R["registries"]))
def results(request) -> tuple[str, dict]:
    name = request.param
    frame = registry_frame(HERE / "data" / f"registry_landmark_{name}.csv")
    opts = AnalysisOptions(
        endpoints=("os", "lr", "metastasis"),
        by=("response",),
        cox=(),
        landmark_months=float(R["landmark_months"]),
    )
    return name, analyze(frame, opts).to_json_dict()


def test_local_recurrence_landmark_equals_r(results):
    name, ours = results
    ref = R["registries"][name]["local_recurrence_landmark"]
    lm = ours["local_recurrence"]["landmark"]
    assert lm["not_recorded"] == {}
    n = assert_close(lm, ref, f"{name}.local_recurrence.landmark")
    assert n > 150


def test_cox_is_clustered_when_a_patient_has_two_perfusions(results):
    name, ours = results
    lm = ours["local_recurrence"]["landmark"]
    expected = "robust, clustered on patient" if name == "colon" else "model-based"
    assert lm["variance"] == expected
    assert (lm["patients_with_repeat_perfusions"] > 0) == (name == "colon")


def test_distant_metastasis_equals_r(results):
    name, ours = results
    ref = R["registries"][name]["distant_metastasis"]
    n = assert_close(ours["distant_metastasis"], ref, f"{name}.distant_metastasis")
    assert n > 30
    assert ours["distant_metastasis"]["unit"] == "patient"
    assert ours["distant_metastasis"]["sarcoma_specific_survival"]["unknown_cause"] == "excluded"


def test_overall_survival_landmark_by_response_equals_r(results):
    name, ours = results
    ref = R["registries"][name]["overall_survival_landmark"]
    n = assert_close(ours["overall_survival"]["landmark"], ref, f"{name}.os.landmark")
    assert n > 20
    assert "response" not in ours["overall_survival"]["by"]  # not from the perfusion
