"""Fine-Gray model: input checks, and the analysis section on degenerate data (marked with the
reason, never raised). Agreement with R is in tests/reference/test_fine_gray_vs_r.py."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ilpkit.stats import analysis
from ilpkit.stats.fine_gray import fit_fine_gray


def test_no_event_of_interest_is_an_error_naming_the_code() -> None:
    with pytest.raises(ValueError, match="no event of interest"):
        fit_fine_gray([[0.0], [1.0], [1.0]], [1, 2, 3], [0, 2, 2])


def test_constant_covariate_is_an_error_naming_it() -> None:
    with pytest.raises(ValueError, match="'size' is constant"):
        fit_fine_gray([[1.0], [1.0], [1.0]], [1, 2, 3], [1, 2, 0], names=["size"])


def test_missing_covariate_value_is_an_error_naming_it() -> None:
    with pytest.raises(ValueError, match="'age' has 1 missing"):
        fit_fine_gray([[1.0], [np.nan], [2.0]], [1, 2, 3], [1, 2, 0], names=["age"])


def test_prediction_is_zero_before_the_first_event_and_unknown_after_follow_up() -> None:
    fit = fit_fine_gray([[0.0], [1.0], [0.0], [1.0]], [2, 3, 4, 5], [1, 1, 2, 0])
    out = fit.cif_at([0.5], [0.0, 1.0, 2.0, 5.0, 6.0])
    assert out[0] == 0.0 and out[1] == 0.0
    assert out[2] > 0 and np.isnan(out[4])
    assert out[3] == fit.predict([0.5])[1][-1]


def _lr(status: list[int], **cov: list[float | str | None]) -> pd.DataFrame:
    n = len(status)
    return pd.DataFrame(
        {"time_years": np.arange(1, n + 1) / 2.0, "status": status, **cov}  # type: ignore[arg-type]
    )


def _dump(data: pd.DataFrame, terms: list[str]) -> dict[str, object]:
    out = analysis.fine_gray_section(data, terms)
    assert out is not None
    return out.model_dump(mode="json")


NOT_ESTIMABLE = "not estimable: covariate '{}' is constant; it cannot be estimated"


def test_section_without_local_recurrence_is_not_estimable() -> None:
    data = _lr([0, 2, 2, 0], age_years=[50.0, 60.0, 70.0, 80.0])
    out = analysis.fine_gray_section(data, ["age_years"])
    assert out is not None
    dump = out.model_dump(mode="json")
    assert dump["terms"] == {}
    assert dump["note"] == "not estimable: no local recurrence"
    assert (dump["n"], dump["events"], dump["competing_events"]) == (4, 0, 2)


def test_section_with_a_constant_term_is_not_estimable() -> None:
    data = _lr([1, 2, 1, 0], tumor_size_cm=[5.0, 5.0, 5.0, 5.0])
    dump = _dump(data, ["tumor_size_cm"])
    assert dump["terms"] == {}
    assert dump["note"] == NOT_ESTIMABLE.format("tumor_size_cm")


def test_section_with_one_level_and_with_no_complete_row() -> None:
    data = _lr(
        [1, 2, 1, 0],
        multifocal=["no", "no", "no", "no"],
        histology=["liposarcoma"] * 4,
        age_years=[None] * 4,
    )
    level = _dump(data, ["histology"])
    assert level["note"] == "not estimable: histology has only one level present (liposarcoma)"
    one = _dump(data, ["multifocal"])
    assert one["note"] == NOT_ESTIMABLE.format("multifocal")
    none = _dump(data, ["age_years"])
    assert none["note"] == "not estimable: no perfusion has age_years recorded"
    assert analysis.fine_gray_section(data, []) is None
