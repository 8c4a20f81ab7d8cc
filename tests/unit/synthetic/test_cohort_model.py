"""The SYNTHETIC cohort obeys every registry rule and the clinical rules of the brief."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import numpy as np
import pandas as pd
import pytest

from ilpkit.domain.fields import COLUMN_NAMES, PATIENT_COLUMNS
from ilpkit.domain.validation import check_registry, parse_record
from ilpkit.synthetic import DEFAULT_PARAMETERS, CohortParameters, generate_cohort
from ilpkit.synthetic.cohort import SyntheticCohortError, check_cohort, registry_rule_violations
from ilpkit.synthetic.registry_text import iter_csv_text

TODAY = date(2026, 1, 1)


def rows_as_text(cohort) -> list[dict[str, str]]:
    """The cohort as CSV cell text, one dict per row (the text ``ilp synth --out`` writes)."""
    import csv
    import io

    text = "".join(t for t, _ in iter_csv_text(cohort))
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture(scope="module")
def sample():
    return generate_cohort(3_000, seed=2024)


@pytest.fixture(scope="module")
def frame(sample) -> pd.DataFrame:
    return pd.DataFrame(sample.columns())


def test_every_row_passes_the_registry_validation_without_a_warning(sample):
    rows = rows_as_text(sample)
    assert len(rows) == sample.n_perfusions
    records = []
    for line, row in enumerate(rows, start=2):
        record, problems = parse_record(row, TODAY, line)
        assert problems == [], (line, [p.describe() for p in problems])
        records.append(record)
    assert check_registry(records) == []


def test_the_vectorised_checks_find_nothing_in_a_valid_cohort(sample):
    assert registry_rule_violations(sample, TODAY) == []


def test_the_vectorised_checks_catch_broken_rules(sample):
    perfusions = dict(sample.perfusions)
    patients = dict(sample.patients)
    tnf = perfusions["tnf_mg"].copy()
    tnf[0] = 5.0
    perfusions["tnf_mg"] = tnf
    death = patients["death_date"].copy()
    alive = np.flatnonzero(np.isnat(death))[0]
    death[alive] = patients["last_followup_date"][alive] - np.timedelta64(1, "D")
    patients["death_date"] = death
    broken = replace(sample, perfusions=perfusions, patients=patients, _cache={})
    problems = registry_rule_violations(broken, TODAY)
    assert any(p.startswith("tnf_mg outside") for p in problems)
    assert any(p.startswith("death_date differs") for p in problems)
    with pytest.raises(SyntheticCohortError):
        check_cohort(broken, TODAY)


def test_same_seed_same_cohort_and_other_seed_other_cohort():
    a, b, c = generate_cohort(500, 7), generate_cohort(500, 7), generate_cohort(500, 8)
    assert rows_as_text(a) == rows_as_text(b)
    assert rows_as_text(a) != rows_as_text(c)


def test_identifiers_and_centre_say_synthetic(frame):
    assert frame["patient_id"].str.fullmatch(r"SYN-\d{6}").all()
    assert (frame["center"] == "SYNTH").all()
    assert frame["patient_id"].iloc[0] == "SYN-000001"


def test_ids_keep_their_order_as_text_beyond_a_million():
    from ilpkit.synthetic.cohort import patient_ids

    ids = patient_ids(1_200_000)
    assert ids[0] == "SYN-0000001" and ids[-1] == "SYN-1200000"
    assert list(ids[999_998:1_000_001]) == sorted(ids[999_998:1_000_001])


def test_patient_level_columns_identical_on_every_row(frame):
    per_patient = frame.groupby("patient_id")[list(PATIENT_COLUMNS[1:])].nunique(dropna=False)
    assert (per_patient <= 1).all().all()


def test_accrual_follow_up_and_data_lock(frame):
    assert frame["ilp_date"].min() >= pd.Timestamp("1991-01-01")
    assert frame["ilp_date"].max() <= pd.Timestamp("2005-12-31")
    assert frame["last_followup_date"].max() <= pd.Timestamp("2010-12-31")
    alive = frame["death_date"].isna()
    # alive patients are followed to the lock unless lost: most of them reach it
    reached = frame.loc[alive, "last_followup_date"] == pd.Timestamp("2010-12-31")
    assert reached.mean() > 0.8
    # a potential follow-up of at least 5 years: lock minus last perfusion of the series
    assert (pd.Timestamp("2010-12-31") - frame["ilp_date"].max()).days >= 5 * 365


def test_deaths_and_events_inside_follow_up(frame):
    died = frame["death_date"].notna()
    assert (frame.loc[died, "death_date"] == frame.loc[died, "last_followup_date"]).all()
    for name in ("resection_date", "amputation_date", "local_recurrence_date",
                 "distant_metastasis_date"):  # fmt: skip
        has = frame[name].notna()
        assert (frame.loc[has, name] >= frame.loc[has, "ilp_date"]).all(), name
        assert (frame.loc[has, name] <= frame.loc[has, "last_followup_date"]).all(), name


def test_resection_six_to_twelve_weeks_after_ilp_with_a_margin(frame):
    resected = frame["resection_date"].notna()
    weeks = (frame.loc[resected, "resection_date"] - frame.loc[resected, "ilp_date"]).dt.days / 7
    assert weeks.between(6, 12).all()
    assert frame.loc[resected, "resection_margin"].isin(["R0", "R1", "R2"]).all()
    assert frame.loc[~resected, "resection_margin"].isna().all()
    assert set(frame.loc[resected, "resection_margin"]) == {"R0", "R1", "R2"}


def test_amputation_follows_recurrence_or_non_response(frame):
    amputated = frame["amputation_date"].notna()
    after_lr = frame["local_recurrence_date"].notna() & (
        frame["amputation_date"] > frame["local_recurrence_date"]
    )
    non_response = frame["response"].isin(["NC", "PD"]) & frame["resection_date"].isna()
    assert (after_lr | non_response)[amputated].all()


def test_second_perfusion_after_the_first_in_the_same_limb(frame):
    counts = frame.groupby("patient_id").size()
    assert counts.max() == 2
    twice = frame[frame["patient_id"].isin(counts[counts == 2].index)]
    first = twice.groupby("patient_id").nth(0).set_index("patient_id")
    second = twice.groupby("patient_id").nth(1).set_index("patient_id")
    assert (second["ilp_date"] > first["ilp_date"]).all()
    assert (second["limb"] == first["limb"]).all()
    assert (second["histology"] == first["histology"]).all()
    # typically for a recurrence (or a persisting tumour) of the first
    had_lr = first["local_recurrence_date"].notna()
    persisting = first["response"].isin(["NC", "PD"]) & (
        first["resection_date"].isna() | (first["resection_margin"] == "R2")
    )
    assert (had_lr | persisting).all()
    assert had_lr.mean() > 0.6
    # events of the first perfusion precede the second; no amputation before a second ILP
    for name in ("resection_date", "local_recurrence_date"):
        has = first[name].notna()
        assert (first.loc[has, name] < second.loc[has, "ilp_date"]).all()
    assert first["amputation_date"].isna().all()


def test_doses_follow_label_and_era(frame):
    arm = frame["limb"] == "arm"
    assert frame.loc[arm, "tnf_mg"].max() <= 3
    assert frame["tnf_mg"].between(1, 4).all()
    reduced = frame["ilp_date"] >= pd.Timestamp("2003-01-01")
    assert frame.loc[reduced, "tnf_mg"].max() <= 2
    assert frame.loc[~reduced & ~arm, "tnf_mg"].min() >= 3
    # melphalan: 10 mg/L leg, 13 mg/L arm, rounded to the whole mg, at most 150 mg
    capped = frame["melphalan_mg"] == 150
    label = np.where(arm, 13.0, 10.0)
    exact = label * frame["limb_volume_l"]
    off_mg = (frame["melphalan_mg"] - exact).abs()
    assert (off_mg[~capped] <= 0.5 + 1e-9).all()
    assert (frame["melphalan_mg"] == frame["melphalan_mg"].round()).all()
    per_l = frame["melphalan_mg"] / frame["limb_volume_l"]
    assert frame["melphalan_mg"].max() <= 150
    assert (per_l[capped] <= 10).all()


def test_every_optional_column_is_filled_where_plausible(frame):
    always = [c for c in COLUMN_NAMES if c not in (
        "death_date", "resection_date", "resection_margin", "amputation_date",
        "local_recurrence_date", "distant_metastasis_date", "pathological_necrosis_pct",
        "amputation_reason", "cause_of_death")]  # fmt: skip
    assert frame[always].notna().all().all()
    for name in ("death_date", "resection_date", "amputation_date", "local_recurrence_date",
                 "distant_metastasis_date"):  # fmt: skip
        assert 0 < frame[name].notna().mean() < 1, name
    # the outcome-study fields that belong to an event are recorded exactly with that event
    for name, event in (
        ("pathological_necrosis_pct", "resection_date"),
        ("amputation_reason", "amputation_date"),
        ("cause_of_death", "death_date"),
    ):
        assert (frame[name].notna() == frame[event].notna()).all(), name


def test_outcome_fields_follow_the_model(frame):
    # adjuvant radiotherapy only after a resection
    assert not (frame["adjuvant_radiotherapy"] & frame["resection_date"].isna()).any()
    # an amputation after a local recurrence of the same perfusion is for the recurrence
    amputated = frame["amputation_date"].notna()
    after_lr = amputated & frame["local_recurrence_date"].notna()
    assert (frame.loc[after_lr, "amputation_reason"] == "recurrence").all()
    assert set(frame.loc[amputated & ~after_lr, "amputation_reason"]) <= {"non_response", "other"}
    # systemic toxicity mostly grade 0-2; no grade 5 and no Clavien-Dindo V drawn
    grades = frame["systemic_toxicity_grade"]
    assert (grades <= 2).mean() > 0.85 and (grades < 5).all()
    assert (frame["complication_clavien_dindo"] != "V").all()
    # most deaths are sarcoma deaths
    causes = frame.drop_duplicates("patient_id")["cause_of_death"].dropna()
    assert (causes == "sarcoma").mean() > 0.5


def test_parameters_refuse_inconsistent_values():
    with pytest.raises(ValueError, match="multifocal_share"):
        replace(DEFAULT_PARAMETERS, multifocal_share=1.5)
    with pytest.raises(ValueError, match="histology_shares"):
        replace(DEFAULT_PARAMETERS, histology_shares=(("liposarcoma", 0.5),))
    assert isinstance(DEFAULT_PARAMETERS, CohortParameters)


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError):
        generate_cohort(0, 1)
    with pytest.raises(ValueError):
        generate_cohort(10, -1)


def test_a_single_patient_cohort():
    cohort = generate_cohort(1, 5)
    assert cohort.n_patients == 1
    assert cohort.n_perfusions in (1, 2)


def test_regional_toxicity_by_tnf_era_follows_deroose_2015(frame):
    # Deroose, Eur J Cancer 2015: local toxicity 23% with 3-4 mg (to 2003), 14% with 1-2 mg
    # (from 2003); the generator reads it as Wieberdink grade III or worse
    early = frame["ilp_date"] < np.datetime64("2003-01-01")
    worse = frame["wieberdink_grade"] >= 3
    assert abs(worse[early].mean() - 0.23) < 0.03
    assert abs(worse[~early].mean() - 0.14) < 0.04
    # the dose groups of the analysis (<= 2 mg vs > 2 mg) are mostly the two eras
    assert ((frame["tnf_mg"] <= 2) == ~early).mean() > 0.9


def test_necrosis_follows_the_response(frame):
    necrosis = frame["pathological_necrosis_pct"]
    assert necrosis.dropna().between(0, 100).all()
    assert (necrosis.dropna() == necrosis.dropna().round()).all()
    by_response = necrosis.groupby(frame["response"]).mean()
    # assumed means 90% (CR), 60% (PR), 35% (NC), 20% (PD): the order must show
    assert by_response["CR"] > by_response["PR"] > by_response["NC"] > by_response["PD"]
    assert abs(by_response["CR"] - 90) < 5 and abs(by_response["PD"] - 20) < 8
