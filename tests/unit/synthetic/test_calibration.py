"""The SYNTHETIC cohort reproduces the seed study's published figures (Deroose, J Clin Oncol 2011).

Every figure is computed here, independently of ilpkit's own code, from the cohort's Registry CSV
v1 columns (what a report sees): proportions with numpy, tests with scipy (chi-square, Clopper-
Pearson via ``binomtest``) and lifelines (Kaplan-Meier with its log(-log) confidence interval,
log-rank). The targets are the published numbers typed in from the abstract, not values from the
generator.

Run this file as a script to search for a default seed (how ``DEFAULT_SEED`` was chosen)::

    .venv/bin/python tests/unit/synthetic/test_calibration.py 0 2000
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter
from lifelines.statistics import logrank_test, multivariate_logrank_test
from scipy import stats

from ilpkit.synthetic import DEFAULT_SEED, generate_cohort

# Published figures (Deroose et al., J Clin Oncol 2011;29:4036, abstract), typed in by hand.
PUBLISHED_PROPORTIONS = {
    "orr": 0.71,
    "cr": 0.18,
    "pr": 0.53,
    "orr_multifocal": 0.83,
    "lr": 0.30,
    "lr_multifocal": 0.54,
    "lr_prior_rt": 0.54,
    "limb_salvage": 0.81,
    "grade_2_3": 0.85,
}
PUBLISHED_OS_5Y = 0.42
LARGE_CM = 15.0
"""'Large' for the two-group comparison: AJCC 8th edition T4 (> 15 cm); the abstract gives no
cut-off."""


def registry_frame(cohort) -> pd.DataFrame:
    """One row per perfusion with every Registry CSV v1 column."""
    return pd.DataFrame(cohort.columns())


def patients_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per patient: covariates of the FIRST perfusion, OS from the first perfusion."""
    first = frame.sort_values(["patient_id", "ilp_date"]).groupby("patient_id").first()
    years = (first["last_followup_date"] - first["ilp_date"]).dt.days / 365.25
    return pd.DataFrame(
        {
            "years": years,
            "died": first["death_date"].notna(),
            "size_cm": first["tumor_size_cm"],
            "lms": first["histology"] == "leiomyosarcoma",
        }
    )


@dataclass(frozen=True)
class Count:
    k: int
    n: int

    @property
    def share(self) -> float:
        return self.k / self.n

    def ci(self) -> tuple[float, float]:
        ci = stats.binomtest(self.k, self.n).proportion_ci(0.95, method="exact")
        return ci.low, ci.high


def counts(frame: pd.DataFrame) -> dict[str, Count]:
    """Numerators and denominators of the published proportions (per perfusion)."""
    objective = frame["response"].isin(["CR", "PR"])
    mf = frame["multifocal"].astype(bool)
    rt = frame["prior_radiotherapy"].astype(bool)
    lr = frame["local_recurrence_date"].notna()
    amputated = frame["amputation_date"].notna()

    def c(mask: pd.Series, within: pd.Series | None = None) -> Count:
        if within is None:
            return Count(int(mask.sum()), len(mask))
        return Count(int((mask & within).sum()), int(within.sum()))

    return {
        "orr": c(objective),
        "cr": c(frame["response"] == "CR"),
        "pr": c(frame["response"] == "PR"),
        "orr_multifocal": c(objective, mf),
        "orr_unifocal": c(objective, ~mf),
        "lr": c(lr),
        "lr_multifocal": c(lr, mf),
        "lr_unifocal": c(lr, ~mf),
        "lr_prior_rt": c(lr, rt),
        "lr_no_rt": c(lr, ~rt),
        "limb_salvage": c(~amputated),
        "grade_2_3": c(frame["grade"].isin([2.0, 3.0])),
    }


def km_at(years: pd.Series, died: pd.Series, at: float = 5.0) -> tuple[float, float, float]:
    """Kaplan-Meier survival at ``at`` years with lifelines' 95% log(-log) confidence interval."""
    kmf = KaplanMeierFitter(alpha=0.05).fit(years, died)
    estimate = float(kmf.survival_function_.loc[:at].iloc[-1, 0])
    ci = kmf.confidence_interval_survival_function_.loc[:at].iloc[-1]
    return estimate, float(ci.iloc[0]), float(ci.iloc[1])


def chi2_p(a: Count, b: Count) -> float:
    table = [[a.k, a.n - a.k], [b.k, b.n - b.k]]
    return float(stats.chi2_contingency(table)[1])


def logrank_worse(patients: pd.DataFrame, worse: pd.Series) -> tuple[float, bool]:
    """Log-rank p-value and whether the ``worse`` group has more deaths than expected."""
    a, b = patients[worse], patients[~worse]
    result = logrank_test(a["years"], b["years"], a["died"], b["died"])
    # observed minus expected deaths in the 'worse' group, from the pooled hazard
    times = np.sort(patients.loc[patients["died"], "years"].unique())
    t_all = patients["years"].to_numpy()
    d_all = patients["died"].to_numpy()
    in_a = worse.to_numpy()
    o_minus_e = 0.0
    for t in times:
        at_risk = t_all >= t
        deaths = (t_all == t) & d_all
        o_minus_e += deaths[in_a].sum() - deaths.sum() * at_risk[in_a].sum() / at_risk.sum()
    return float(result.p_value), o_minus_e > 0


def demo_check(cohort) -> tuple[list[str], float]:
    """Problems of a small cohort against the published figures, and its distance to them.

    A figure fails when the published value lies outside the cohort's 95% CI (Clopper-Pearson
    for proportions, log(-log) Kaplan-Meier for 5-year OS) or a published subgroup effect points
    the other way. The distance is the sum of squared differences in percentage points.
    """
    frame = registry_frame(cohort)
    patients = patients_frame(frame)
    cts = counts(frame)
    problems: list[str] = []
    distance = 0.0
    for name, published in PUBLISHED_PROPORTIONS.items():
        low, high = cts[name].ci()
        distance += (100 * (cts[name].share - published)) ** 2
        if not low <= published <= high:
            problems.append(f"{name} {cts[name].share:.3f} CI {low:.3f}-{high:.3f}")
    os5, low, high = km_at(patients["years"], patients["died"])
    distance += (100 * (os5 - PUBLISHED_OS_5Y)) ** 2
    if not low <= PUBLISHED_OS_5Y <= high:
        problems.append(f"os_5y {os5:.3f} CI {low:.3f}-{high:.3f}")
    if not cts["orr_multifocal"].share > cts["orr_unifocal"].share:
        problems.append("ORR multifocal not above unifocal")
    if not cts["lr_multifocal"].share > cts["lr_unifocal"].share:
        problems.append("LR multifocal not above unifocal")
    if not cts["lr_prior_rt"].share > cts["lr_no_rt"].share:
        problems.append("LR after radiotherapy not above no radiotherapy")
    for label, worse in (
        ("large tumours", patients["size_cm"] > LARGE_CM),
        ("leiomyosarcoma", patients["lms"]),
    ):
        _, more_deaths = logrank_worse(patients, worse)
        s_worse = km_at(patients.loc[worse, "years"], patients.loc[worse, "died"])[0]
        s_other = km_at(patients.loc[~worse, "years"], patients.loc[~worse, "died"])[0]
        if not (more_deaths and s_worse < s_other):
            problems.append(f"OS not poorer with {label}")
    return problems, distance


@pytest.mark.slow
def test_large_cohort_reproduces_every_published_figure_and_effect():
    cohort = generate_cohort(50_000, seed=12345)
    frame = registry_frame(cohort)
    patients = patients_frame(frame)
    cts = counts(frame)
    assert len(patients) == 50_000
    for name, published in PUBLISHED_PROPORTIONS.items():
        assert abs(cts[name].share - published) <= 0.015, (name, cts[name].share)
    os5, _, _ = km_at(patients["years"], patients["died"])
    assert abs(os5 - PUBLISHED_OS_5Y) <= 0.015
    # 231 perfusions in 208 patients
    assert abs(len(frame) / len(patients) - 231 / 208) <= 0.015

    # published significant effects: same direction, p < 0.001
    assert cts["orr_multifocal"].share > cts["orr_unifocal"].share
    assert chi2_p(cts["orr_multifocal"], cts["orr_unifocal"]) < 0.001
    assert cts["lr_multifocal"].share > cts["lr_unifocal"].share
    assert chi2_p(cts["lr_multifocal"], cts["lr_unifocal"]) < 0.001
    assert cts["lr_prior_rt"].share > cts["lr_no_rt"].share
    assert chi2_p(cts["lr_prior_rt"], cts["lr_no_rt"]) < 0.001

    # OS by tumour size: AJCC T groups (<= 10 cm, > 10-15 cm, > 15 cm), poorer when larger
    groups = pd.cut(patients["size_cm"], [0, 10, 15, np.inf], labels=["<=10", "10-15", ">15"])
    p_size = multivariate_logrank_test(patients["years"], groups, patients["died"]).p_value
    assert p_size < 0.001
    five_year = [
        km_at(patients.loc[groups == g, "years"], patients.loc[groups == g, "died"])[0]
        for g in ("<=10", "10-15", ">15")
    ]
    assert five_year[0] > five_year[1] > five_year[2]
    p_large, more_deaths = logrank_worse(patients, patients["size_cm"] > LARGE_CM)
    assert p_large < 0.001 and more_deaths

    # OS leiomyosarcoma vs other types
    p_lms, more_deaths = logrank_worse(patients, patients["lms"])
    assert p_lms < 0.001 and more_deaths
    lms = patients["lms"]
    assert (
        km_at(patients.loc[lms, "years"], patients.loc[lms, "died"])[0]
        < km_at(patients.loc[~lms, "years"], patients.loc[~lms, "died"])[0]
    )


def test_default_demo_cohort_matches_the_published_figures_within_their_95_ci():
    cohort = generate_cohort(208, DEFAULT_SEED)
    assert cohort.n_patients == 208
    problems, _ = demo_check(cohort)
    assert problems == []


def test_default_demo_cohort_has_as_many_perfusions_as_the_seed_study():
    assert generate_cohort(208, DEFAULT_SEED).n_perfusions == 231


def test_default_seed_was_chosen_to_show_every_published_effect_at_p_below_005():
    p_values = demo_p_values(generate_cohort(208, DEFAULT_SEED))
    assert max(p_values.values()) < 0.05, p_values


def demo_p_values(cohort) -> dict[str, float]:
    """p-values of the published significant effects in a (small) cohort."""
    frame = registry_frame(cohort)
    patients = patients_frame(frame)
    cts = counts(frame)
    return {
        "orr_multifocal": chi2_p(cts["orr_multifocal"], cts["orr_unifocal"]),
        "lr_multifocal": chi2_p(cts["lr_multifocal"], cts["lr_unifocal"]),
        "lr_prior_rt": chi2_p(cts["lr_prior_rt"], cts["lr_no_rt"]),
        "os_large": logrank_worse(patients, patients["size_cm"] > LARGE_CM)[0],
        "os_leiomyosarcoma": logrank_worse(patients, patients["lms"])[0],
    }


def _search(first: int, last: int) -> None:
    """Print the seeds whose 208-patient cohort passes :func:`demo_check`, has 231 perfusions
    and shows every published effect at p < 0.05, closest to the published figures first."""
    found = []
    for seed in range(first, last):
        cohort = generate_cohort(208, seed)
        if cohort.n_perfusions != 231:
            continue
        problems, distance = demo_check(cohort)
        if not problems and max(demo_p_values(cohort).values()) < 0.05:
            found.append((distance, seed))
    for distance, seed in sorted(found)[:10]:
        print(f"seed {seed}: distance {distance:.1f} (squared percentage points)")
    print(f"{len(found)} seeds of {last - first} qualify")


if __name__ == "__main__":
    _search(int(sys.argv[1]), int(sys.argv[2]))
