"""De-identification rules: keyed pseudonyms, per-patient date shifts, coarsening, the key."""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import date

import pandas as pd
import pytest

from ilpkit.services.deidentify import (
    DeidentifyError,
    DeidentifyOptions,
    coarsen,
    deidentify_frame,
    pseudonym,
    read_key,
    shift_days,
)

KEY = b"a deployment secret of 32 bytes!"
TODAY = date(2026, 11, 27)
DATES = [
    "birth_date",
    "death_date",
    "last_followup_date",
    "ilp_date",
    "resection_date",
    "amputation_date",
    "local_recurrence_date",
    "distant_metastasis_date",
]


def _frame() -> pd.DataFrame:
    """Two patients, three perfusions; patient B was born a few days after the earliest birth
    date the registry accepts (1900-01-01), so its shift must be at most 4 days."""
    raw = {
        "patient_id": ["A-1", "A-1", "B-2"],
        "center": ["C1", "C1", "C1"],
        "birth_date": ["1950-05-17", "1950-05-17", "1900-01-05"],
        "death_date": [None, None, "1990-02-01"],
        "last_followup_date": ["2008-06-30", "2008-06-30", "1990-02-01"],
        "ilp_date": ["2001-03-14", "2003-02-01", "1985-07-07"],
        "resection_date": ["2001-05-20", None, None],
        "amputation_date": [None, None, "1986-01-01"],
        "local_recurrence_date": [None, "2004-07-01", None],
        "distant_metastasis_date": [None, None, None],
        "tnf_mg": [3.0, 3.0, 2.0],
    }
    frame = pd.DataFrame(raw)
    for name in DATES:
        frame[name] = pd.to_datetime(frame[name])
    return frame


def test_pseudonym_is_hmac_sha256_of_the_id():
    expected = hmac.new(KEY, b"ilpkit pseudonym\x00SYN-0001", hashlib.sha256).hexdigest()
    assert pseudonym(KEY, "SYN-0001") == "P" + expected[:32]
    assert pseudonym(KEY, "SYN-0001") == pseudonym(KEY, "SYN-0001")
    assert pseudonym(b"another key of 32 bytes at least", "SYN-0001") != pseudonym(KEY, "SYN-0001")
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,64}", pseudonym(KEY, "SYN-0001"))  # importable id


def test_shift_is_keyed_deterministic_and_within_three_years():
    shifts = [shift_days(KEY, f"SYN-{i:04d}") for i in range(2000)]
    assert shifts == [shift_days(KEY, f"SYN-{i:04d}") for i in range(2000)]
    assert min(shifts) >= 1 and max(shifts) <= 1095
    assert len(set(shifts)) > 700  # spread over the range, not a constant
    other = [shift_days(b"another key of 32 bytes at least", f"SYN-{i:04d}") for i in range(50)]
    assert other != shifts[:50]


def test_every_interval_of_a_patient_is_kept_and_dates_move_back():
    original = _frame()
    shifted, manifest = deidentify_frame(original, DeidentifyOptions(KEY), TODAY)
    by_pseudonym = {pseudonym(KEY, pid): pid for pid in original["patient_id"]}
    assert set(shifted["patient_id"]) == set(by_pseudonym)
    for pseudo, pid in by_pseudonym.items():
        old = original[original["patient_id"] == pid].reset_index(drop=True)
        new = shifted[shifted["patient_id"] == pseudo].reset_index(drop=True)
        deltas = set()
        for name in DATES:
            for a, b in zip(old[name], new[name], strict=True):
                assert pd.isna(a) == pd.isna(b)
                if not pd.isna(a):
                    deltas.add((a - b).days)
        assert len(deltas) == 1  # one offset for every date of the patient
        (delta,) = deltas
        assert delta >= 1
        if pid == "B-2":
            assert delta <= 4  # never before 1900-01-01
            assert new["birth_date"][0] >= pd.Timestamp("1900-01-01")
    assert list(shifted["tnf_mg"].sort_values()) == [2.0, 3.0, 3.0]
    assert "A-1" not in str(manifest) and KEY.decode() not in str(manifest)
    assert manifest["shifted"]["columns"] == DATES


def test_coarsening_age_bands_and_years():
    frame = pd.DataFrame(
        {
            "patient_id": ["a", "b", "c"],
            "birth_date": pd.to_datetime(["1950-05-17", "1950-03-14", "1950-03-15"]),
            "ilp_date": pd.to_datetime(["2001-03-14", "2005-03-14", "2005-03-14"]),
        }
    )
    out = coarsen(frame, coarsen_age=True, year_only=True)
    # ages 50 (birthday not reached), 55 (birthday that day), 54 (one day short)
    assert list(out["age_band"]) == [50, 55, 50]
    assert "birth_date" not in out.columns and "birth_date_year" not in out.columns
    assert list(out["ilp_date_year"]) == [2001, 2005, 2005]


def test_key_is_required_and_long_enough(tmp_path):
    with pytest.raises(DeidentifyError, match="--key-file FILE or set ILP_PSEUDONYM_KEY"):
        read_key(None, {})
    assert read_key(None, {"ILP_PSEUDONYM_KEY": "x" * 20}) == b"x" * 20
    key_file = tmp_path / "key.txt"
    key_file.write_text("0123456789abcdef0123\n")
    assert read_key(key_file, {"ILP_PSEUDONYM_KEY": "ignored-because-a-file-is-given"}) == (
        b"0123456789abcdef0123"
    )
    key_file.write_text("short\n")
    with pytest.raises(DeidentifyError, match="5 bytes"):
        read_key(key_file, {})
    with pytest.raises(DeidentifyError, match="cannot read"):
        read_key(tmp_path / "missing.txt", {})
    with pytest.raises(DeidentifyError):
        DeidentifyOptions(b"short")


def test_age_band_comes_from_the_true_dates_not_the_shifted_ones():
    """Dates chosen so that the shifted birth date is 29 February 1960 and the shifted perfusion
    28 February 2005: by the calendar that is 44 years, yet the true age is 45 (birth and
    perfusion fall on the same day of the year for every shift of 1 to 1,095 days)."""
    from datetime import timedelta

    days = shift_days(KEY, "LEAP-1")
    birth = date(1960, 2, 29) + timedelta(days=days)
    ilp_date = date(2005, 2, 28) + timedelta(days=days)
    assert (birth.month, birth.day) == (ilp_date.month, ilp_date.day)  # true age exactly 45
    frame = _frame().iloc[[2]].copy()
    frame["patient_id"] = "LEAP-1"
    frame["birth_date"] = pd.Timestamp(birth)
    frame["ilp_date"] = pd.Timestamp(ilp_date)
    frame["death_date"] = pd.NaT
    frame["last_followup_date"] = pd.Timestamp(ilp_date)
    frame["amputation_date"] = pd.NaT
    out, _ = deidentify_frame(frame, DeidentifyOptions(KEY, coarsen_age=True), TODAY)
    assert list(out["age_band"]) == [45]
    assert out["ilp_date"][0] == pd.Timestamp(2005, 2, 28)
