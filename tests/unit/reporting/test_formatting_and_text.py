"""Formatting of numbers, the published-series data file, headline figures and written text."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from ilpkit import __version__
from ilpkit.reporting import formatting as fmt
from ilpkit.reporting.comparison import headline_figures
from ilpkit.reporting.labels import curve_label, level_label, term_label
from ilpkit.reporting.published import load_published_series, seed_series
from ilpkit.reporting.tables import ReportTable
from ilpkit.reporting.text import lower_first, written_text
from ilpkit.stats.results import AnalysisResults, CoxTerm, MedianTime, Proportion


def P(k: int, n: int, lo: float, hi: float) -> dict[str, Any]:
    return {"k": k, "n": n, "estimate": k / n, "ci95": [lo, hi]}


def median(estimate: float | None, lo: float | None, hi: float | None) -> MedianTime:
    return MedianTime(estimate=estimate, ci95=(lo, hi))


def test_percent_interval_and_proportion():
    assert fmt.percent(0.6969) == "69.7%"
    assert fmt.percent(None) == "–"
    p = Proportion.model_validate(P(161, 231, 0.633, 0.756))
    assert fmt.proportion(p) == "161/231 = 69.7% (63.3–75.6)"
    assert fmt.estimate_ci(median(0.5, None, None)) == "50.0%"
    assert fmt.estimate_ci(median(None, None, None)) == "–"


@pytest.mark.parametrize(
    ("p", "text"),
    [(0.0004, "< 0.001"), (0.0081, "0.008"), (0.049, "0.049"), (0.62, "0.62"), (None, "–")],
)
def test_pvalue(p, text):
    assert fmt.pvalue(p) == text


def test_p_equals_and_hazard_ratio_and_years():
    assert fmt.p_equals(0.0001) == "p < 0.001"
    assert fmt.p_equals(0.01) == "p = 0.010"
    term = CoxTerm(coef=0.9, se=0.2, hr=2.466, ci95=(1.59, 3.84), z=4.0, p=0.001)
    assert fmt.hazard_ratio(term) == "2.47 (1.59–3.84)"
    assert fmt.years(median(12.57, 11.69, None)) == "12.6 (11.7–NR)"
    assert fmt.years(median(None, None, None)) == "not reached"
    assert fmt.count(1234567) == "1,234,567"


def test_labels():
    assert level_label("histology", "mpnst") == "Malignant peripheral nerve sheath tumour"
    assert level_label("grade", "3") == "Grade 3"
    assert level_label("tumor_size_group", ">15cm") == "> 15 cm (T4)"
    assert curve_label("multifocal", "yes") == "Multifocal"
    assert curve_label("leiomyosarcoma", "no") == "Other histology"
    assert term_label("age_years") == "Age, years (per year)"
    assert term_label("multifocal") == "Multifocal tumour (yes vs no)"
    assert (
        term_label("presentation[recurrent]", {"presentation": "primary"})
        == "Presentation: Recurrent vs Primary"
    )
    assert lower_first("FNCLCC grade") == "FNCLCC grade"
    assert lower_first("Multifocal tumour") == "multifocal tumour"


def test_published_series_file_holds_the_seed_study_figures():
    # the figures of the seed study's abstract (reference notes seed-study.md)
    seed = seed_series()
    assert seed.key == "deroose2011"
    assert seed.pct == {
        "cr": 18.0,
        "pr": 53.0,
        "orr": 71.0,
        "local_recurrence": 30.0,
        "limb_salvage": 81.0,
        "os_5y": 42.0,
    }
    assert "J Clin Oncol" in seed.citation and "10.1200/JCO.2011.35.6618" in seed.citation
    series = load_published_series()
    assert series[0].seed and len(series) == 9
    assert all(s.citation for s in series)
    bonvalot = next(s for s in series if s.key == "bonvalot2009")
    assert bonvalot.tnf_dose == "1 mg" and bonvalot.pct["limb_salvage"] == 87.0


RESULTS = AnalysisResults.model_validate(
    {
        "schema": "ilpkit.results/1",
        "synthetic": False,
        "cohort": {
            "n_patients": 10,
            "n_perfusions": 12,
            "n_centers": 1,
            "first_ilp_date": "2000-01-01",
            "last_ilp_date": "2001-01-01",
            "last_followup_date": "2008-01-01",
            "median_followup_years": {"estimate": 6.0, "ci95": [5.0, None], "method": "reverse KM"},
        },
        "response": {
            "unit": "perfusion",
            "n_evaluable": 10,
            "n_not_evaluable": 1,
            "n_missing": 1,
            "cr": P(2, 10, 0.03, 0.56),
            "pr": P(5, 10, 0.19, 0.81),
            "nc": P(2, 10, 0.03, 0.56),
            "pd": P(1, 10, 0.003, 0.45),
            "orr": P(7, 10, 0.35, 0.93),
            "by": {
                "multifocal": {
                    "groups": {"no": {"orr": P(4, 7, 0.18, 0.9)}, "yes": {"orr": P(3, 3, 0.29, 1)}},
                    "n_missing": 0,
                    "test": "fisher",
                    "statistic": None,
                    "df": None,
                    "p": 0.5,
                    "note": None,
                }
            },
        },
        "overall_survival": {
            "unit": "patient",
            "n": 10,
            "events": 6,
            "at_years": {"5": {"estimate": 0.45, "ci95": [0.2, 0.7], "n_at_risk": 4}},
            "median_years": {"estimate": 4.0, "ci95": [2.0, None]},
            "by": {
                "grade": {
                    "groups": {},
                    "n_missing": 0,
                    "logrank": {"statistic": 9.0, "df": 2, "p": 0.01, "note": None},
                    "trend": {
                        "statistic": 8.0,
                        "df": 1,
                        "p": 0.004,
                        "note": None,
                        "scores": {"1": 1, "2": 2, "3": 3},
                    },
                }
            },
            "cox": {
                "ties": "efron",
                "n": 10,
                "events": 6,
                "n_excluded": 0,
                "reference_levels": {},
                "terms": {
                    "age_years": {
                        "coef": 0.02,
                        "se": 0.01,
                        "hr": 1.02,
                        "ci95": [1.0, 1.04],
                        "z": 2.0,
                        "p": 0.05,
                    }
                },
                "loglik": -10.0,
                "loglik_null": -12.0,
                "lr_test": {"statistic": 4.0, "df": 1, "p": 0.05},
                "converged": True,
                "ph_test": {"transform": "km", "rows": {}},
                "note": None,
            },
        },
        "local_recurrence": {
            "unit": "perfusion",
            "competing_risk": "death",
            "crude": P(3, 12, 0.05, 0.57),
            "deaths_without_lr": 4,
            "at_years": {"5": {"estimate": 0.26, "variance": 0.01, "ci95": [0.07, 0.5]}},
            "by": {},
        },
        "limb_salvage": {
            "per_perfusion": P(10, 12, 0.5, 0.98),
            "per_patient": P(8, 10, 0.44, 0.97),
            "amputation_free_survival": {"unit": "perfusion", "n": 12, "events": 5, "at_years": {}},
        },
    }
)


def test_headline_figures_compare_with_the_seed_study():
    heads = {h.key: h for h in headline_figures(RESULTS, seed_series())}
    assert list(heads) == ["orr", "cr", "pr", "local_recurrence", "os_5y", "limb_salvage"]
    assert heads["orr"].text == "70.0% (35.0–93.0)"
    assert heads["orr"].published == pytest.approx(0.71)
    assert heads["orr"].published_inside_ci is True
    assert heads["os_5y"].counts == "n = 10" and heads["os_5y"].unit == "patient"
    assert heads["limb_salvage"].published_text == "81%"


def test_methods_name_every_method_used_with_references():
    text = written_text(RESULTS, __version__)
    methods = " ".join(text.methods)
    for phrase in (
        "Kaplan–Meier method",
        "Greenwood",
        "log(−log)",
        "reverse Kaplan–Meier",
        "log-rank test",
        "test for trend",
        "Cox proportional-hazards",
        "Efron's method",
        "Schoenfeld",
        "cox.zph",
        "Aalen–Johansen",
        "Gray's test",
        "Clopper–Pearson",
        "Fisher's exact test",
        f"ilpkit {__version__}, validated against R survival 3.5-3 / cmprsk 2.2-11",
    ):
        assert phrase in methods, phrase
    refs = " ".join(r.text for r in text.references)
    for author in ("Schemper", "Grambsch", "Gray RJ", "Aalen", "Clopper", "Kaplan EL", "Efron"):
        assert author in refs, author
    # every citation number in the text has a reference
    numbers = {int(n) for n in __import__("re").findall(r"\[(\d+)", methods)}
    assert max(numbers) == len(text.references)


def test_results_paragraph_quotes_headline_numbers():
    text = " ".join(written_text(RESULTS, __version__).results)
    assert "ORR 70.0% (35.0–93.0)" in text
    assert "5-year overall survival was 45.0% (20.0–70.0)" in text
    assert "FNCLCC grade (p = 0.010)" in text


def test_report_table_csv_round_trips():
    t = ReportTable(
        "t", 1, "T", ("a", "b"), (("x, with comma", "1"), ("line\nbreak", "2")), ("", "")
    )
    rows = list(csv.reader(io.StringIO(t.to_csv())))
    assert rows == [["a", "b"], ["x, with comma", "1"], ["line\nbreak", "2"]]


def test_report_table_csv_cells_cannot_run_as_formulas():
    t = ReportTable(
        "t",
        1,
        "T",
        ("=cmd", "b"),
        (('=HYPERLINK("http://evil.example")', "+1"), ("@SUM(A1)", "-2"), ("\tx", "–")),
        ("", "", ""),
    )
    rows = list(csv.reader(io.StringIO(t.to_csv())))
    assert rows == [
        ["'=cmd", "b"],
        ['\'=HYPERLINK("http://evil.example")', "'+1"],
        ["'@SUM(A1)", "'-2"],
        ["'\tx", "–"],
    ]
