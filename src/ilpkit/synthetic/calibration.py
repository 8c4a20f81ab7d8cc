"""Calibration of the SYNTHETIC cohort model to the published figures of the seed study.

:data:`TARGETS` lists the figures of Deroose et al., J Clin Oncol 2011 the model must reproduce.
:func:`cohort_figures` measures them on a cohort, reading only its registry columns (what a
report would see). :func:`calibrate` solves the seven calibrated values of
:class:`~ilpkit.synthetic.parameters.CohortParameters` (names in
:data:`~ilpkit.synthetic.parameters.CALIBRATED_PARAMETERS`) on a large cohort drawn with common
random numbers; the defaults in parameters.py are its output, rounded to four decimals.

Reproduce the defaults::

    python -m ilpkit.synthetic.calibration
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from scipy import special

from ilpkit.synthetic.cohort import SyntheticCohort
from ilpkit.synthetic.cohort_model import (
    DAYS_PER_YEAR,
    generate_cohort,
    os_linear_predictor,
)
from ilpkit.synthetic.parameters import DEFAULT_PARAMETERS, CohortParameters


@dataclass(frozen=True, slots=True)
class Target:
    """A published figure the synthetic cohort is calibrated to.

    Attributes
    ----------
    name : str
        Key in :func:`cohort_figures`.
    value : float
        The published value (a fraction).
    label : str
        What it is, in words.
    unit : str
        ``"perfusion"`` or ``"patient"``: what is counted.
    source : str
    """

    name: str
    value: float
    label: str
    unit: str
    source: str = "Deroose 2011"


TARGETS: tuple[Target, ...] = (
    Target("orr", 0.71, "overall response (CR + PR)", "perfusion"),
    Target("cr", 0.18, "complete response", "perfusion"),
    Target("pr", 0.53, "partial response", "perfusion"),
    Target("orr_multifocal", 0.83, "overall response, multifocal tumours", "perfusion"),
    Target("lr", 0.30, "local recurrence (crude)", "perfusion"),
    Target("lr_multifocal", 0.54, "local recurrence, multifocal tumours", "perfusion"),
    Target("lr_prior_rt", 0.54, "local recurrence after previous radiotherapy", "perfusion"),
    Target("limb_salvage", 0.81, "limb salvage (no amputation after the perfusion)", "perfusion"),
    Target("grade_2_3", 0.85, "intermediate or high grade (FNCLCC 2-3)", "perfusion"),
    Target("os_5y", 0.42, "5-year overall survival (Kaplan-Meier)", "patient"),
    Target(
        "repeat_share",
        23 / 208,
        "patients with a second perfusion (231 perfusions in 208 patients)",
        "patient",
    ),
)
"""The published figures, as fractions."""

TARGET_BY_NAME = {t.name: t for t in TARGETS}


def kaplan_meier_at(time_years: np.ndarray, event: np.ndarray, at_years: float) -> float:
    """Kaplan-Meier survival at ``at_years`` (product over distinct event times up to it).

    Parameters
    ----------
    time_years : ndarray of float
        Follow-up time of each subject.
    event : ndarray of bool
        True for a death, False for a censored time.
    at_years : float
        Time at which to read the curve.
    """
    order = np.argsort(time_years, kind="stable")
    t, d = time_years[order], event[order].astype(np.int64)
    uniq, first = np.unique(t, return_index=True)
    deaths = np.add.reduceat(d, first)
    at_risk = len(t) - first
    keep = (uniq <= at_years) & (deaths > 0)
    return float(np.prod(1.0 - deaths[keep] / at_risk[keep]))


def patient_survival(cohort: SyntheticCohort) -> tuple[np.ndarray, np.ndarray]:
    """Time from the first perfusion to the last follow-up (years) and death flag, per patient."""
    first_row = np.flatnonzero(np.r_[True, np.diff(cohort.perfusion_patient) != 0])
    first_ilp = cohort.perfusions["ilp_date"][first_row]
    last = cohort.patients["last_followup_date"]
    days = (last - first_ilp).astype(np.int64)
    return days / DAYS_PER_YEAR, ~np.isnat(cohort.patients["death_date"])


def cohort_figures(cohort: SyntheticCohort) -> dict[str, float]:
    """The published figures measured on ``cohort`` from its registry columns.

    Per perfusion: response shares (every synthetic perfusion is evaluable), crude local
    recurrence (a recurrence date on the row), limb salvage (no amputation date on the row),
    grade 2-3. Per patient: 5-year overall survival from the first perfusion (Kaplan-Meier) and
    the share of patients with a second perfusion.
    """
    resp = cohort.perfusions["response"]
    objective = (resp == "CR") | (resp == "PR")
    multifocal = cohort.perfusions["multifocal"]
    prior_rt = cohort.perfusions["prior_radiotherapy"]
    lr = ~np.isnat(cohort.perfusions["local_recurrence_date"])
    amputated = ~np.isnat(cohort.perfusions["amputation_date"])
    grade = cohort.perfusions["grade"]
    time_years, died = patient_survival(cohort)
    return {
        "orr": float(objective.mean()),
        "cr": float((resp == "CR").mean()),
        "pr": float((resp == "PR").mean()),
        "orr_multifocal": float(objective[multifocal].mean()),
        "lr": float(lr.mean()),
        "lr_multifocal": float(lr[multifocal].mean()),
        "lr_prior_rt": float(lr[prior_rt].mean()),
        "limb_salvage": float(1.0 - amputated.mean()),
        "grade_2_3": float(np.isin(grade, (2.0, 3.0)).mean()),
        "os_5y": kaplan_meier_at(time_years, died, 5.0),
        "repeat_share": (cohort.n_perfusions - cohort.n_patients) / cohort.n_patients,
        # helpers for the calibration steps
        "multifocal_share": float(multifocal.mean()),
        "amputation_without_lr": float((amputated & ~lr).mean()),
    }


def _solve_os_location(p: CohortParameters, n: int, seed: int) -> float:
    """``mu`` such that the model's 5-year survival, averaged over the covariates, is the target.

    With censoring independent of death, the Kaplan-Meier estimate is unbiased for
    ``mean_i P(T_i > 5) = mean_i Phi((mu + eta_i - log 5) / sigma)``; the covariates come from
    a cohort drawn with the same model.
    """
    cohort = generate_cohort(n, seed, p, check=False)
    first_row = np.flatnonzero(np.r_[True, np.diff(cohort.perfusion_patient) != 0])
    ilp = cohort.perfusions["ilp_date"][first_row]
    age_years = (ilp - cohort.patients["birth_date"]).astype(np.int64) / DAYS_PER_YEAR
    eta = os_linear_predictor(
        p,
        cohort.perfusions["histology"][first_row],
        cohort.perfusions["tumor_size_cm"][first_row],
        cohort.perfusions["grade"][first_row],
        age_years,
    )
    target = TARGET_BY_NAME["os_5y"].value

    def gap(mu: float) -> float:
        return float(special.ndtr((mu + eta - np.log(5.0)) / p.os_sd_log).mean()) - target

    from scipy import optimize  # only here: importing it costs every ilp synth and ilp demo

    return float(optimize.brentq(gap, -5.0, 10.0, xtol=1e-10))


def calibrate(
    params: CohortParameters = DEFAULT_PARAMETERS,
    n_patients: int = 1_500_000,
    seed: int = 20_111_030,
    max_iterations: int = 40,
    tolerance: float = 2e-4,
) -> tuple[CohortParameters, dict[str, float]]:
    """Solve the calibrated parameters so that a large cohort reproduces :data:`TARGETS`.

    Fixed-point iteration with common random numbers (same seed every round):

    - ``os_log_median_years``: solved exactly (:func:`_solve_os_location`);
    - ``orr_unifocal``: ``(ORR - m * ORR_multifocal) / (1 - m)`` with ``m`` the share of
      multifocal perfusions (exact in expectation);
    - the three local-recurrence log odds: logit steps on the crude recurrence overall, in
      multifocal tumours and after radiotherapy;
    - ``nonresponse_amputation_share``: Newton step on the share of perfusions followed by an
      amputation (amputations after a recurrence do not depend on it);
    - ``repeat_after_lr_share``: scaled by target / observed share of patients perfused twice.

    Parameters
    ----------
    params : CohortParameters
        Starting values (every non-calibrated value is kept).
    n_patients : int
        Size of the calibration cohort.
    seed : int
        Its seed.
    max_iterations : int
    tolerance : float
        Stop when every calibrated figure is within this of its target.

    Returns
    -------
    params : CohortParameters
        Calibrated values.
    figures : dict
        The figures of the last calibration cohort.
    """
    logit = special.logit
    p = dataclasses.replace(
        params, os_log_median_years=_solve_os_location(params, n_patients, seed)
    )
    t = {k: v.value for k, v in TARGET_BY_NAME.items()}
    figures: dict[str, float] = {}
    for _ in range(max_iterations):
        figures = cohort_figures(generate_cohort(n_patients, seed, p, check=False))
        # ORR is solved in expectation by the formula below (its sample value carries the
        # binomial noise of the response draws), so it is not part of the stopping rule
        names = ("lr", "lr_multifocal", "lr_prior_rt", "limb_salvage", "repeat_share")
        if all(abs(figures[k] - t[k]) < tolerance for k in names):
            break
        m = figures["multifocal_share"]
        step_all = logit(t["lr"]) - logit(figures["lr"])
        step_mf = logit(t["lr_multifocal"]) - logit(figures["lr_multifocal"])
        step_rt = logit(t["lr_prior_rt"]) - logit(figures["lr_prior_rt"])
        amp_target = 1.0 - t["limb_salvage"]
        amp_obs = 1.0 - figures["limb_salvage"]
        amp_nr = figures["amputation_without_lr"]
        p = dataclasses.replace(
            p,
            orr_unifocal=(t["orr"] - m * p.orr_multifocal) / (1.0 - m),
            lr_intercept_log_odds=p.lr_intercept_log_odds + step_all,
            lr_multifocal_log_odds=p.lr_multifocal_log_odds + step_mf - step_all,
            lr_prior_radiotherapy_log_odds=p.lr_prior_radiotherapy_log_odds + step_rt - step_all,
            nonresponse_amputation_share=float(
                np.clip(
                    p.nonresponse_amputation_share * (amp_nr + amp_target - amp_obs) / amp_nr,
                    0.0,
                    1.0,
                )
            ),
            repeat_after_lr_share=float(
                np.clip(
                    p.repeat_after_lr_share * t["repeat_share"] / figures["repeat_share"],
                    0.0,
                    1.0 - p.lr_amputation_share,
                )
            ),
        )
    return p, figures


def main() -> None:
    """Print the calibrated values and the figures they reach (``python -m ...calibration``)."""
    from ilpkit.synthetic.parameters import CALIBRATED_PARAMETERS

    p, figures = calibrate()
    for name in CALIBRATED_PARAMETERS:
        print(f"{name} = {getattr(p, name):.4f}")
    for target in TARGETS:
        print(f"{target.name:<16} {figures[target.name]:.4f}  target {target.value:.4f}")


if __name__ == "__main__":
    main()
