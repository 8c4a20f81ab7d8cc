"""The fast data preparation of the analyses gives what the plain pandas operations give.

Each check builds a SYNTHETIC registry frame (fixed seed) with the awkward cases (repeat
perfusions on one date, missing values of every kind, ids that sort differently as text) and
compares the fast path with the obvious pandas expression written out here, on rows in registry
order (the fast path) and shuffled (the fallback).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ilpkit.stats import cohort
from ilpkit.stats.cox import fit_cox
from ilpkit.stats.proportions import compare_groups
from ilpkit.stats.toxicity import (
    LEAKAGE_GROUPING,
    MELPHALAN_GROUPING,
    TEMPERATURE_GROUPING,
    _group_test,
    group_test,
    level_codes,
    tnf_dose_grouping,
)


def synthetic_frame(n_patients: int = 400, seed: int = 11) -> pd.DataFrame:
    """SYNTHETIC registry frame in registry order (patient id, then perfusion date)."""
    rng = np.random.default_rng(seed)
    ids = [f"P{i:04d}" if i % 7 else f"p{i}" for i in range(n_patients)]  # lower case sorts last
    repeats = rng.choice([1, 1, 1, 2, 3], size=n_patients)
    rows = []
    for pid, k in zip(ids, repeats, strict=True):
        start = pd.Timestamp("2000-01-01") + pd.Timedelta(days=int(rng.integers(0, 5000)))
        for j in range(k):
            # a second perfusion on the same date now and then (ties keep their order)
            gap = 0 if rng.random() < 0.2 else int(rng.integers(30, 400))
            rows.append((pid, start + pd.Timedelta(days=gap * j), j))
    f = pd.DataFrame(rows, columns=["patient_id", "ilp_date", "perfusion"])
    f = f.sort_values(["patient_id", "ilp_date"], kind="stable").reset_index(drop=True)
    n = len(f)
    f["birth_date"] = f["ilp_date"] - pd.to_timedelta(rng.integers(18, 90, n) * 365, unit="D")
    f["last_followup_date"] = f["ilp_date"] + pd.to_timedelta(rng.integers(1, 4000, n), unit="D")
    died = rng.random(n) < 0.4
    f["death_date"] = f["last_followup_date"].where(died)
    dm = rng.random(n) < 0.3
    f["distant_metastasis_date"] = (
        f["ilp_date"] + pd.to_timedelta(rng.integers(1, 900, n), unit="D")
    ).where(dm)
    lr = rng.random(n) < 0.3
    f["local_recurrence_date"] = (
        f["ilp_date"] + pd.to_timedelta(rng.integers(1, 900, n), unit="D")
    ).where(lr)
    f["amputation_date"] = pd.NaT
    f["resection_date"] = (f["ilp_date"] + pd.Timedelta(days=60)).where(rng.random(n) < 0.5)
    f["sex"] = rng.choice(["F", "M"], n).astype(object)
    f["limb"] = rng.choice(["arm", "leg"], n).astype(object)
    f["presentation"] = rng.choice(["primary", "recurrent"], n).astype(object)
    f["histology"] = pd.Series(
        rng.choice(["leiomyosarcoma", "liposarcoma", "synovial_sarcoma", "other_code", None], n),
        dtype=object,
    )
    f["response"] = pd.Series(rng.choice(["CR", "PR", "NC", "PD", "NE", None], n), dtype=object)
    f["resection_margin"] = pd.Series(rng.choice(["R0", "R1", "R2", None], n), dtype=object)
    f["multifocal"] = rng.random(n) < 0.2
    f["prior_radiotherapy"] = rng.random(n) < 0.3
    f["grade"] = pd.array(rng.choice([1, 2, 3, None], n), dtype="Int64")
    f["tumor_size_cm"] = np.where(
        rng.random(n) < 0.1, np.nan, rng.choice([0.0, 5.0, 7.5, 15, 30], n)
    )
    f["limb_volume_l"] = rng.uniform(2, 15, n)
    f["tnf_mg"] = np.where(rng.random(n) < 0.05, np.nan, rng.choice([1.0, 2.0, 3.0, 4.0], n))
    f["melphalan_mg"] = rng.uniform(30, 150, n)
    f["max_leakage_pct"] = np.where(rng.random(n) < 0.2, np.nan, rng.uniform(0, 10, n))
    f["max_tissue_temp_c"] = rng.uniform(37, 41, n)
    f["wieberdink_grade"] = pd.array(rng.choice([1, 2, 3, 4, 5, None], n), dtype="Int64")
    f["systemic_toxicity_grade"] = pd.array(rng.choice([0, 1, 3, 5, None], n), dtype="Int64")
    f["pathological_necrosis_pct"] = np.where(rng.random(n) < 0.5, np.nan, rng.uniform(0, 100, n))
    f["adjuvant_radiotherapy"] = pd.array(rng.choice([True, False, None], n), dtype="boolean")
    f["complication_clavien_dindo"] = pd.Series(rng.choice(["0", "II", "IIIa", None], n))
    f["amputation_reason"] = None
    f["cause_of_death"] = pd.Series(rng.choice(["sarcoma", "other", None], n), dtype=object)
    return f.drop(columns="perfusion")


def shuffled(frame: pd.DataFrame, seed: int = 3) -> pd.DataFrame:
    order = np.random.default_rng(seed).permutation(len(frame))
    return frame.take(order).reset_index(drop=True)


def test_registry_order_is_recognised_and_shuffled_rows_are_not():
    f = synthetic_frame()
    starts = cohort.patient_runs(f)
    assert starts is not None
    expected = (f["patient_id"] != f["patient_id"].shift()).to_numpy()
    np.testing.assert_array_equal(starts, expected)
    assert cohort.patient_runs(shuffled(f)) is None
    # a later perfusion listed before an earlier one of the same patient is not in order
    repeat = f[f["patient_id"].duplicated(keep=False)]
    later = repeat[repeat["ilp_date"] > repeat.groupby("patient_id")["ilp_date"].transform("min")]
    pid = later["patient_id"].iloc[0]
    two = f[f["patient_id"] == pid].sort_values("ilp_date", ascending=False)
    assert cohort.patient_runs(two.reset_index(drop=True)) is None


@pytest.mark.parametrize("order", ["registry", "shuffled"])
def test_first_perfusions_match_a_sort_and_drop_duplicates(order):
    f = synthetic_frame()
    f = f if order == "registry" else shuffled(f)
    expected = (
        f.reset_index()
        .sort_values(["patient_id", "ilp_date"], kind="stable")
        .drop_duplicates("patient_id")
        .set_index("index")
    )
    expected.index.name = None
    got = cohort._first_perfusions_of(f)
    pd.testing.assert_frame_equal(got, expected)


@pytest.mark.parametrize("order", ["registry", "shuffled"])
def test_first_distant_metastasis_is_the_earliest_of_the_patient(order):
    f = synthetic_frame()
    f = f if order == "registry" else shuffled(f)
    first, dm = cohort._first_with_metastasis(f)
    expected = f.groupby("patient_id")["distant_metastasis_date"].min()
    np.testing.assert_array_equal(
        dm, expected.reindex(first["patient_id"]).to_numpy(dtype="datetime64[ns]")
    )
    assert np.isnat(dm).any() and not np.isnat(dm).all()


@pytest.mark.parametrize("order", ["registry", "shuffled"])
def test_patient_codes_number_patients_in_order_of_appearance(order):
    f = synthetic_frame()
    f = f if order == "registry" else shuffled(f)
    codes = cohort.patient_codes(f)
    expected, _ = pd.factorize(f["patient_id"])
    np.testing.assert_array_equal(codes, expected)


def test_covariates_match_plain_pandas_expressions():
    f = synthetic_frame()
    cov = cohort.covariates(f)
    assert list(cov.columns) == list(cohort.COVARIATE_COLUMNS)

    def text(values: pd.Series) -> list[object]:
        return [None if pd.isna(v) else v for v in values]

    assert text(cov["multifocal"]) == ["yes" if v else "no" for v in f["multifocal"]]
    assert text(cov["leiomyosarcoma"]) == [
        "yes" if v == "leiomyosarcoma" else "no" for v in f["histology"]
    ]
    assert text(cov["grade"]) == [None if pd.isna(g) else str(g) for g in f["grade"]]
    cut = pd.cut(f["tumor_size_cm"], [0, 5, 10, 15, np.inf], labels=[
        "<=5cm", ">5-10cm", ">10-15cm", ">15cm"])  # fmt: skip
    assert text(cov["tumor_size_group"]) == text(cut.astype(object))
    assert text(cov["tnf_dose_group"]) == [
        None if np.isnan(t) else ("<=2 mg" if t <= 2 else ">2 mg") for t in f["tnf_mg"]
    ]
    assert text(cov["adjuvant_radiotherapy"]) == [
        None if pd.isna(v) else ("yes" if v else "no") for v in f["adjuvant_radiotherapy"]
    ]
    assert text(cov["necrosis_group"]) == [
        None if np.isnan(p) else (">50%" if p > 50 else "<=50%")
        for p in f["pathological_necrosis_pct"]
    ]
    groups = cohort.histology_groups()
    assert text(cov["histology_group"]) == [
        None if h is None else groups.of_code.get(h, groups.other) for h in f["histology"]
    ]
    np.testing.assert_array_equal(
        cov["wieberdink_grade"].to_numpy(),
        f["wieberdink_grade"].astype("Float64").to_numpy(dtype=float, na_value=np.nan),
    )
    np.testing.assert_allclose(
        cov["melphalan_mg_per_l"], f["melphalan_mg"] / f["limb_volume_l"], rtol=0, atol=0
    )
    # every text column holds None (not NaN) for a missing value
    for name in ("grade", "tumor_size_group", "histology_group", "complication_clavien_dindo"):
        assert all(v is None or isinstance(v, str) for v in cov[name])


def test_chosen_covariates_are_the_same_columns_and_each_frame_is_its_own():
    f = synthetic_frame()
    full = cohort.covariates(f)
    with cohort.shared_preparation():
        part = cohort.covariates(f, ["limb", "tnf_mg"], renumber=True)
        pd.testing.assert_frame_equal(part, full[["limb", "tnf_mg"]].reset_index(drop=True))
        part.loc[0, "tnf_mg"] = -1.0  # changing one caller's frame changes no other
        part.loc[0, "limb"] = "changed"
        again = cohort.covariates(f, ["limb", "tnf_mg"])
        assert again.loc[0, "tnf_mg"] == full.loc[0, "tnf_mg"]
        assert again.loc[0, "limb"] == full.loc[0, "limb"]


def test_text_codes_group_values_by_their_text():
    values = pd.Series(["b", 1, "1", None, np.nan, "a", "b"], dtype=object)
    codes, texts = cohort.text_codes(values)
    assert texts == ["b", "1", "a"]
    np.testing.assert_array_equal(codes, [0, 1, 1, -1, -1, 2, 0])


def test_group_test_by_codes_equals_the_test_of_the_labels():
    rng = np.random.default_rng(5)
    labels = pd.Series(rng.choice(["low", "mid", "high", None], 300), dtype=object)
    outcome = pd.Series(np.where(rng.random(300) < 0.1, np.nan, rng.random(300) < 0.3), dtype=float)
    levels = ["low", "mid", "high"]
    got = group_test(labels, outcome, levels)
    keep = labels.notna() & outcome.notna()
    ref = compare_groups(
        labels[keep].to_numpy(), outcome[keep].astype(int).to_numpy(), row_order=levels,
        col_order=[0, 1],
    )  # fmt: skip
    assert got.test == ref.test
    assert got.p == pytest.approx(ref.p_value, rel=1e-12)
    codes = level_codes(labels, levels)
    assert _group_test(codes, outcome.to_numpy(), levels) == got
    assert level_codes(pd.Series(["x", None, "low"]), levels).tolist() == [3, -1, 0]


def test_integer_cluster_codes_give_the_same_robust_variance_as_the_ids():
    rng = np.random.default_rng(9)
    n = 300
    ids = np.array([f"id{i // 2}" for i in rng.permutation(n)], dtype=object)
    x = rng.normal(size=(n, 2))
    time = rng.exponential(5, n).round(1) + 0.1
    event = (rng.random(n) < 0.6).astype(int)
    by_text = fit_cox(x, time, event, cluster=ids)
    codes, _ = pd.factorize(ids)
    by_code = fit_cox(x, time, event, cluster=codes)
    np.testing.assert_array_equal(by_text.se, by_code.se)
    assert by_text.n_clusters == by_code.n_clusters == n // 2


@pytest.mark.parametrize(
    ("grouping", "value", "label"),
    [
        # the documented groups (docs/methods.md), at and either side of each bound
        (MELPHALAN_GROUPING, 10.0, "<=10 mg/L"),
        (MELPHALAN_GROUPING, 10.01, ">10-13 mg/L"),
        (MELPHALAN_GROUPING, 13.0, ">10-13 mg/L"),
        (MELPHALAN_GROUPING, 13.01, ">13 mg/L"),
        (LEAKAGE_GROUPING, 1.99, "<2%"),
        (LEAKAGE_GROUPING, 2.0, "2-<10%"),
        (LEAKAGE_GROUPING, 10.0, ">=10%"),
        (TEMPERATURE_GROUPING, 38.9, "<39 °C"),
        (TEMPERATURE_GROUPING, 39.0, "39-40 °C"),
        (TEMPERATURE_GROUPING, 40.0, "39-40 °C"),  # "> 40 °C" is strictly above (as R's script)
        (TEMPERATURE_GROUPING, 40.1, ">40 °C"),
        (tnf_dose_grouping(2.0), 2.0, "<=2 mg"),
        (tnf_dose_grouping(2.0), 3.0, ">2 mg"),
        (TEMPERATURE_GROUPING, np.nan, None),
    ],
)
def test_grouping_bounds_are_those_of_the_labels(grouping, value, label):
    assert grouping.assign(pd.Series([value])).iloc[0] == label
