"""The generating model of the SYNTHETIC cohort: vectorised numpy, no loop over patients.

One call draws every patient at once, then every first perfusion, then the second perfusions of
the patients who get one. The model, step by step (values in :class:`CohortParameters`, each with
its source in docs/synthetic-cohort.md):

1. **Patient and tumour.** First perfusion uniform over the accrual years; age (truncated normal),
   sex; histology, FNCLCC grade, size (lognormal, median 16 cm), multifocality, presentation,
   prior radiotherapy; limb, access level and limb volume.
2. **Survival.** Time from the first perfusion to death is lognormal (an accelerated-failure-time
   model): ``log T = mu + b_LMS [leiomyosarcoma] + b_size log(size / 16 cm) + b_grade + b_age +
   sigma Z``. Follow-up ends at death, at loss to follow-up (exponential) or at the data lock,
   whichever comes first; the last follow-up date is that day, and the date of death equals it.
3. **Each perfusion** (an *episode* that lasts until the next perfusion or the end of follow-up):
   response (CR/PR/NC/PD; P(CR or PR) depends on multifocality); resection of the remnant 6-12
   weeks later with an R0/R1/R2 margin depending on the response; amputation of unresected
   non-responders 8-21 weeks later; local recurrence with a logistic probability (multifocal,
   prior radiotherapy, complete response, margin) at a lognormal time after the perfusion; after
   a recurrence a second perfusion, an amputation, or other treatment. An event is recorded only
   if it happens before the end of follow-up, on the row of the perfusion it follows.
4. **Second perfusion** for a recurrence (1-4 months after it) or for a persisting tumour
   (4-12 months after the first): same limb, histology and grade; a recurrence is smaller and
   counts as ``recurrent``; radiotherapy after the first resection makes the limb previously
   irradiated. At most two perfusions per patient.
5. **Distant metastasis** before most deaths (lognormal time before death) and in some
   survivors, recorded on the row of the perfusion it follows.
6. **Outcome-study fields** (own random streams, drawn after everything above so that the
   earlier columns do not change): adjuvant radiotherapy after a resection (the same draw that
   makes a second perfusion's limb previously irradiated); pathological necrosis of resected
   tumours by response (beta); systemic toxicity (CTCAE grade) by leakage; Clavien-Dindo grade;
   amputation reason from the model's own path (recurrence or non-response); cause of death
   (sarcoma after a distant metastasis, otherwise drawn).

Every stochastic step draws from its own random stream (``SeedSequence(seed).spawn``), always
the same number of values whatever the parameters, so that calibration can use common random
numbers. The cohort is then checked against every registry rule
(:func:`ilpkit.synthetic.cohort.check_cohort`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
from scipy import special

from ilpkit.domain.synthetic import SYNTHETIC_CENTER
from ilpkit.synthetic.cohort import SyntheticCohort, check_cohort, patient_ids
from ilpkit.synthetic.parameters import DEFAULT_PARAMETERS, CohortParameters

DEFAULT_SEED = 3937
"""Seed of the default (demo) cohort, CHOSEN (not random): of seeds 0-4999, the 208-patient
cohort of this one has 231 perfusions, every published figure inside its 95% confidence
interval, every published subgroup effect in the published direction at p < 0.05, and the
smallest distance to the published figures (docs/synthetic-cohort.md;
tests/unit/synthetic/test_calibration.py holds the search)."""

DEFAULT_PATIENTS = 208
"""Patients in the default cohort: as many as in the seed study."""

DAYS_PER_YEAR = 365.25
_NEVER = np.int64(2**40)
"""Day number used for 'does not happen' while drawing (far after any follow-up)."""
_EPOCH = np.datetime64("1970-01-01", "D")

CR, PR, NC, PD = 0, 1, 2, 3
RESPONSE_LABELS = np.array(["CR", "PR", "NC", "PD"], dtype=object)
MARGIN_LABELS = np.array(["R0", "R1", "R2"], dtype=object)
_NO_MARGIN = -1

_STREAMS = (
    "patient",
    "tumour",
    "survival",
    "episode_1",
    "conduct_1",
    "episode_2",
    "conduct_2",
    "metastasis",
    "outcome_fields_1",
    "outcome_fields_2",
    "death_cause",
)
"""Random streams, one per step. New steps are appended: ``SeedSequence.spawn`` gives the first
streams the same state whatever their number, so adding a step leaves every earlier draw as it
was."""


def _day(d: date) -> np.int64:
    return np.int64((np.datetime64(d, "D") - _EPOCH).astype(np.int64))


def _to_dates(days: np.ndarray) -> np.ndarray:
    """Day numbers to ``datetime64[D]``; :data:`_NEVER` (or more) becomes NaT."""
    out = (days.astype("int64")).astype("datetime64[D]")
    out[days >= _NEVER] = np.datetime64("NaT")
    return out


def _categorical(u: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """Category index for uniforms ``u`` given category shares (inverse CDF)."""
    cumulative = np.cumsum(shares)
    cumulative[-1] = 1.0 + 1e-12
    return np.searchsorted(cumulative, u, side="right")


def _uniform_days(rng: np.random.Generator, bounds: tuple[int, int], n: int) -> np.ndarray:
    low, high = bounds
    return rng.integers(low, high + 1, n).astype(np.int64)


def _round_to(values: np.ndarray, decimals: int) -> np.ndarray:
    """Round so that each value is the double nearest to a decimal with ``decimals`` places
    (an integer divided by a power of ten), i.e. exactly what ``float(text)`` reads back."""
    scale = 10.0**decimals
    return np.rint(values * scale) / scale


@dataclass(frozen=True)
class _Tumour:
    multifocal: np.ndarray
    prior_rt: np.ndarray


@dataclass(frozen=True)
class _Episode:
    """What followed one perfusion, as day numbers (:data:`_NEVER` when it did not happen)."""

    response: np.ndarray
    resection_day: np.ndarray
    margin: np.ndarray
    amputation_day: np.ndarray
    lr_day: np.ndarray
    next_ilp_day: np.ndarray
    next_after_lr: np.ndarray


def _episode(
    rng: np.random.Generator,
    p: CohortParameters,
    ilp_day: np.ndarray,
    end_day: np.ndarray,
    tumour: _Tumour,
    first: bool,
) -> _Episode:
    """Draw response, resection, amputation, recurrence and the next perfusion for perfusions."""
    k = len(ilp_day)
    u = rng.random((8, k))
    z = rng.standard_normal(k)
    resection_delay = _uniform_days(rng, p.resection_delay_days, k)
    nr_amputation_delay = _uniform_days(rng, p.nonresponse_amputation_delay_days, k)
    lr_amputation_delay = _uniform_days(rng, p.lr_amputation_delay_days, k)
    repeat_lr_delay = _uniform_days(rng, p.repeat_delay_after_lr_days, k)
    repeat_nr_delay = _uniform_days(rng, p.repeat_delay_after_nonresponse_days, k)

    # response: P(CR or PR) depends on multifocality; CR a fixed share of responders
    p_orr = np.where(tumour.multifocal, p.orr_multifocal, p.orr_unifocal)
    p_cr = p_orr * p.cr_share_of_responders
    response = np.where(
        u[0] < p_cr,
        CR,
        np.where(u[0] < p_orr, PR, np.where(u[1] < p.pd_share_of_nonresponders, PD, NC)),
    ).astype(np.int8)

    # resection of the remnant 6-12 weeks later, margin by response
    resection_by = dict(p.resection_share_by_response)
    p_resection = np.array([resection_by[r] for r in RESPONSE_LABELS])[response]
    intended = u[2] < p_resection
    resection_day = ilp_day + resection_delay
    resected = intended & (resection_day <= end_day)
    margin_table = {name: np.array(shares) for name, *shares in p.margin_shares_by_response}
    margin = np.full(k, _NO_MARGIN, dtype=np.int8)
    for code, label in enumerate(RESPONSE_LABELS):
        rows = resected & (response == code)
        margin[rows] = _categorical(u[3][rows], margin_table[label])
    resection_day = np.where(resected, resection_day, _NEVER)

    # amputation of unresected non-responders
    nonresponse = response >= NC
    nr_amputation_day = ilp_day + nr_amputation_delay
    amputated_nr = (
        nonresponse
        & ~intended
        & (u[4] < p.nonresponse_amputation_share)
        & (nr_amputation_day <= end_day)
    )

    # local recurrence: logistic probability, lognormal time, seen only before follow-up ends
    log_odds = (
        p.lr_intercept_log_odds
        + p.lr_multifocal_log_odds * tumour.multifocal
        + p.lr_prior_radiotherapy_log_odds * tumour.prior_rt
        + p.lr_complete_response_log_odds * (response == CR)
        + p.lr_r1_log_odds * (margin == 1)
        + p.lr_r2_log_odds * (margin == 2)
        + p.lr_not_resected_log_odds * ~resected
    )
    p_lr = special.expit(log_odds)
    lr_delay = np.exp(np.log(p.lr_time_median_years * DAYS_PER_YEAR) + p.lr_time_sd_log * z)
    lr_delay = np.minimum(lr_delay, 200 * DAYS_PER_YEAR).astype(np.int64)
    lr_day = ilp_day + np.maximum(lr_delay, p.lr_min_days_after_perfusion)
    lr_day = np.where(
        resected, np.maximum(lr_day, resection_day + p.lr_min_days_after_resection), lr_day
    )
    has_lr = ~amputated_nr & (u[5] < p_lr) & (lr_day <= end_day)

    # after a recurrence: a second perfusion (first perfusions only), amputation, or other
    if first:
        repeat_share = p.repeat_after_lr_share
        amputation_share = p.lr_amputation_share
    else:
        repeat_share = 0.0
        amputation_share = p.lr_amputation_share_after_repeat
    last_repeat_day = np.minimum(end_day, _day(p.accrual_end))
    repeat_lr_day = lr_day + repeat_lr_delay
    repeat_lr = has_lr & (u[6] < repeat_share) & (repeat_lr_day <= last_repeat_day)
    lr_amputation_day = lr_day + lr_amputation_delay
    amputated_lr = (
        has_lr
        & (u[6] >= repeat_share)
        & (u[6] < repeat_share + amputation_share)
        & (lr_amputation_day <= end_day)
    )

    # a second perfusion for a persisting tumour: a non-responder neither amputated nor
    # recurred whose tumour was not resected or left macroscopic residue (R2)
    repeat_nr_day = ilp_day + repeat_nr_delay
    repeat_nr = (
        nonresponse
        & ~amputated_nr
        & ~has_lr
        & (~resected | (margin == 2))
        & (u[7] < repeat_share * p.repeat_after_nonresponse_ratio)
        & (repeat_nr_day <= last_repeat_day)
    )

    amputation_day = np.where(
        amputated_nr, nr_amputation_day, np.where(amputated_lr, lr_amputation_day, _NEVER)
    )
    next_ilp_day = np.where(repeat_lr, repeat_lr_day, np.where(repeat_nr, repeat_nr_day, _NEVER))
    return _Episode(
        response=response,
        resection_day=resection_day,
        margin=margin,
        amputation_day=amputation_day,
        lr_day=np.where(has_lr, lr_day, _NEVER),
        next_ilp_day=next_ilp_day,
        next_after_lr=repeat_lr,
    )


def _conduct(
    rng: np.random.Generator,
    p: CohortParameters,
    ilp_day: np.ndarray,
    is_arm: np.ndarray,
    volume_l: np.ndarray,
) -> dict[str, np.ndarray]:
    """Doses and conduct of perfusions: TNF by era and limb, melphalan by volume, toxicity."""
    k = len(ilp_day)
    u = rng.random((3, k))
    reduced = ilp_day >= _day(p.tnf_reduced_dose_from)
    tnf = np.empty(k)
    for arm in (False, True):
        for red in (False, True):
            table = {
                (False, False): p.tnf_mg_leg_standard,
                (True, False): p.tnf_mg_arm_standard,
                (False, True): p.tnf_mg_leg_reduced,
                (True, True): p.tnf_mg_arm_reduced,
            }[(arm, red)]
            doses = np.array([d for d, _ in table])
            shares = np.array([s for _, s in table])
            rows = (is_arm == arm) & (reduced == red)
            tnf[rows] = doses[_categorical(u[0][rows], shares)]
    per_l = np.where(is_arm, p.melphalan_mg_per_l_arm, p.melphalan_mg_per_l_leg)
    melphalan = np.minimum(np.rint(per_l * volume_l), p.melphalan_max_mg)

    wieberdink = np.empty(k)
    for red, table in ((False, p.wieberdink_shares_standard), (True, p.wieberdink_shares_reduced)):
        grades = np.array([g for g, _ in table], dtype=float)
        shares = np.array([s for _, s in table])
        rows = reduced == red
        wieberdink[rows] = grades[_categorical(u[1][rows], shares)]

    temp = rng.normal(p.tissue_temp_mean_c, p.tissue_temp_sd_c, k)
    temp = _round_to(np.clip(temp, 37.5, 40.5), 1)
    leakage = np.exp(np.log(p.leakage_median_pct) + p.leakage_sd_log * rng.standard_normal(k))
    stopped = leakage >= p.leakage_stop_pct
    leakage = _round_to(np.minimum(leakage, p.leakage_stop_pct * 1.2), 1)
    minutes = np.where(stopped, rng.integers(30, 90, k), p.perfusion_minutes).astype(float)
    method = np.where(
        u[2] < p.water_displacement_share, "water_displacement", "circumferences"
    ).astype(object)
    return {
        "tnf_mg": tnf,
        "melphalan_mg": melphalan,
        "limb_volume_method": method,
        "wieberdink_grade": wieberdink,
        "max_tissue_temp_c": temp,
        "max_leakage_pct": leakage,
        "perfusion_minutes": minutes,
    }


def _levels(
    u: np.ndarray, is_arm: np.ndarray, p: CohortParameters
) -> tuple[np.ndarray, np.ndarray]:
    """Access level (object array) and median limb volume in litres for each patient."""
    level = np.empty(len(is_arm), dtype=object)
    median_l = np.empty(len(is_arm))
    volume_by = dict(p.limb_volume_median_l_by_level)
    for arm, table in ((False, p.leg_level_shares), (True, p.arm_level_shares)):
        names = np.array([name for name, _ in table], dtype=object)
        volumes = np.array([volume_by[name] for name, _ in table])
        shares = np.array([s for _, s in table])
        rows = is_arm == arm
        chosen = _categorical(u[rows], shares)
        level[rows] = names[chosen]
        median_l[rows] = volumes[chosen]
    return level, median_l


def os_linear_predictor(
    p: CohortParameters,
    histology: np.ndarray,
    size_cm: np.ndarray,
    grade: np.ndarray,
    age_years: np.ndarray,
) -> np.ndarray:
    """Linear predictor of log survival time (years) at the first perfusion, without ``mu``.

    ``b_LMS [leiomyosarcoma] + b_size log(size / median size) + b_3 [grade 3] + b_1 [grade 1]
    + b_age (age - mean age) / 10``; survival time is ``exp(mu + eta + sigma Z)``.
    """
    return (
        p.os_leiomyosarcoma_log_time_ratio * (histology == "leiomyosarcoma")
        + p.os_log_size_log_time_ratio * np.log(size_cm / p.size_median_cm)
        + p.os_grade_3_log_time_ratio * (grade == 3.0)
        + p.os_grade_1_log_time_ratio * (grade == 1.0)
        + p.os_age_log_time_ratio_per_10_years * (age_years - p.age_mean_years) / 10.0
    )


def generate_cohort(
    n_patients: int = DEFAULT_PATIENTS,
    seed: int = DEFAULT_SEED,
    params: CohortParameters = DEFAULT_PARAMETERS,
    check: bool = True,
) -> SyntheticCohort:
    """Draw a SYNTHETIC registry of ``n_patients`` patients from the calibrated model.

    Parameters
    ----------
    n_patients : int
        Number of patients (about 1.11 perfusions each).
    seed : int
        Seed of the random streams; the same (n_patients, seed, params) give the same cohort.
    params : CohortParameters
        Model values (default: the calibrated defaults).
    check : bool
        Check every registry rule on the result (vectorised; a broken rule raises
        :class:`~ilpkit.synthetic.cohort.SyntheticCohortError`).

    Returns
    -------
    SyntheticCohort

    Examples
    --------
    >>> cohort = generate_cohort(1000, seed=1)
    >>> cohort.n_patients, cohort.n_perfusions > 1000
    (1000, True)
    """
    if n_patients < 1:
        raise ValueError("n_patients must be at least 1")
    if seed < 0:
        raise ValueError("seed must not be negative")
    n = int(n_patients)
    rngs = dict(
        zip(
            _STREAMS,
            (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(len(_STREAMS))),
            strict=True,
        )
    )
    pat = _draw_patients(rngs["patient"], params, n)
    tum = _draw_tumours(rngs["tumour"], params, n)
    surv = _draw_survival(rngs["survival"], params, pat, tum)
    ep1 = _episode(
        rngs["episode_1"],
        params,
        pat.ilp_day,
        surv.last_day,
        _Tumour(multifocal=tum.multifocal, prior_rt=tum.prior_rt),
        first=True,
    )
    volume1 = _round_to(pat.base_volume_l, 1)
    first = _Perfusions(
        ilp_day=pat.ilp_day,
        episode=ep1,
        size_cm=tum.size_cm,
        volume_l=volume1,
        prior_rt=tum.prior_rt,
        conduct=_conduct(rngs["conduct_1"], params, pat.ilp_day, pat.is_arm, volume1),
    )
    second = _second_perfusions(rngs, params, pat, tum, surv, ep1)
    met1, met2 = _draw_metastasis(rngs["metastasis"], params, pat, surv, second)
    cohort = _assemble(seed, params, pat, tum, surv, first, second, met1, met2)
    cohort = _with_outcome_fields(cohort, rngs, params, tum, first, second, surv, met1, met2)
    if check:
        check_cohort(cohort, today=date.today())
    return cohort


@dataclass(frozen=True)
class _Patients:
    """Patient-level draws: first perfusion day, age, sex, limb and its volume."""

    ilp_day: np.ndarray
    age_years: np.ndarray
    birth_day: np.ndarray
    sex: np.ndarray
    is_arm: np.ndarray
    level: np.ndarray
    base_volume_l: np.ndarray


def _draw_patients(r: np.random.Generator, p: CohortParameters, n: int) -> _Patients:
    start, end = _day(p.accrual_start), _day(p.accrual_end)
    ilp1 = r.integers(start, end + 1, n).astype(np.int64)
    lo = special.ndtr((p.age_min_years - p.age_mean_years) / p.age_sd_years)
    hi = special.ndtr((p.age_max_years - p.age_mean_years) / p.age_sd_years)
    age_years = p.age_mean_years + p.age_sd_years * special.ndtri(lo + (hi - lo) * r.random(n))
    birth = ilp1 - np.floor(age_years * DAYS_PER_YEAR).astype(np.int64)
    sex = np.where(r.random(n) < p.male_share, "M", "F").astype(object)
    is_arm = r.random(n) < p.arm_share
    level, median_volume_l = _levels(r.random(n), is_arm, p)
    base_volume_l = median_volume_l * np.exp(p.limb_volume_sd_log * r.standard_normal(n))
    base_volume_l = np.clip(base_volume_l, 0.6, 25.0)
    return _Patients(ilp1, age_years, birth, sex, is_arm, level, base_volume_l)


@dataclass(frozen=True)
class _Tumours:
    """Tumour draws at the first perfusion, and the draws its second perfusion will use."""

    histology: np.ndarray
    grade: np.ndarray
    size_cm: np.ndarray
    multifocal: np.ndarray
    recurrent: np.ndarray
    prior_rt: np.ndarray
    adjuvant_rt_u: np.ndarray
    size2_z: np.ndarray
    size2_persist: np.ndarray
    volume2_z: np.ndarray


def _draw_tumours(r: np.random.Generator, p: CohortParameters, n: int) -> _Tumours:
    hist_names = np.array([h for h, _ in p.histology_shares], dtype=object)
    hist_shares = np.array([s for _, s in p.histology_shares])
    histology = hist_names[_categorical(r.random(n), hist_shares)]
    low_grade_type = np.isin(histology, np.array(p.low_grade_histologies, dtype=object))
    low_share = float(hist_shares[np.isin(hist_names, p.low_grade_histologies)].sum())
    g1_target = 1.0 - p.grade_2_3_share
    g1_other = (g1_target - low_share * p.grade_1_share_low_grade_histologies) / (1 - low_share)
    p_g1 = np.where(low_grade_type, p.grade_1_share_low_grade_histologies, g1_other)
    ug = r.random(n)
    grade = np.where(
        ug < p_g1,
        1.0,
        np.where(ug < p_g1 + (1 - p_g1) * (1 - p.grade_3_share_of_grade_2_3), 2.0, 3.0),
    )
    size1 = p.size_median_cm * np.exp(p.size_sd_log * r.standard_normal(n))
    size1 = _round_to(np.clip(size1, p.size_min_cm, p.size_max_cm), 1)
    multifocal = r.random(n) < p.multifocal_share
    recurrent1 = r.random(n) < p.recurrent_share
    prior_rt1 = r.random(n) < np.where(
        recurrent1, p.prior_radiotherapy_share_recurrent, p.prior_radiotherapy_share_primary
    )
    adjuvant_rt_u = r.random(n)
    size2_z = r.standard_normal(n)
    size2_persist = r.uniform(0.8, 1.3, n)
    volume2_z = r.standard_normal(n)
    return _Tumours(
        histology,
        grade,
        size1,
        multifocal,
        recurrent1,
        prior_rt1,
        adjuvant_rt_u,
        size2_z,
        size2_persist,
        volume2_z,
    )


@dataclass(frozen=True)
class _Survival:
    """Death day (if within follow-up), whether it happened, and the last day followed."""

    death_day: np.ndarray
    dead: np.ndarray
    last_day: np.ndarray


def _draw_survival(
    r: np.random.Generator, p: CohortParameters, pat: _Patients, tum: _Tumours
) -> _Survival:
    """Lognormal accelerated failure time; censoring by loss to follow-up and the data lock."""
    n = len(pat.ilp_day)
    eta = os_linear_predictor(p, tum.histology, tum.size_cm, tum.grade, pat.age_years)
    log_t_years = p.os_log_median_years + eta + p.os_sd_log * r.standard_normal(n)
    t_days = np.exp(np.minimum(log_t_years, np.log(200.0))) * DAYS_PER_YEAR
    death_day = pat.ilp_day + np.maximum(np.ceil(t_days), 1).astype(np.int64)
    loss_years = r.exponential(1.0 / p.loss_to_followup_per_year, n)
    lost_day = pat.ilp_day + np.maximum(
        np.ceil(np.minimum(loss_years, 200.0) * DAYS_PER_YEAR), 1
    ).astype(np.int64)
    censor_day = np.minimum(lost_day, _day(p.data_lock))
    dead = death_day <= censor_day
    return _Survival(death_day, dead, np.where(dead, death_day, censor_day))


@dataclass(frozen=True)
class _Perfusions:
    """First or second perfusions: day, what followed, tumour size, limb volume, conduct."""

    ilp_day: np.ndarray
    episode: _Episode
    size_cm: np.ndarray
    volume_l: np.ndarray
    prior_rt: np.ndarray
    conduct: dict[str, np.ndarray]
    patient: np.ndarray | None = None
    """Patient index of each second perfusion (None for first perfusions: one per patient)."""
    after_lr: np.ndarray | None = None
    """Second perfusions: given for a local recurrence."""


def _second_perfusions(
    rngs: dict[str, np.random.Generator],
    p: CohortParameters,
    pat: _Patients,
    tum: _Tumours,
    surv: _Survival,
    ep1: _Episode,
) -> _Perfusions:
    idx2 = np.flatnonzero(ep1.next_ilp_day < _NEVER)
    ilp2 = ep1.next_ilp_day[idx2]
    after_lr = ep1.next_after_lr[idx2]
    resected1 = ep1.resection_day[idx2] < _NEVER
    prior_rt2 = tum.prior_rt[idx2] | (
        resected1 & (tum.adjuvant_rt_u[idx2] < p.adjuvant_radiotherapy_share)
    )
    size_recurrence = p.recurrence_size_median_cm * np.exp(
        p.recurrence_size_sd_log * tum.size2_z[idx2]
    )
    size2 = np.where(after_lr, size_recurrence, tum.size_cm[idx2] * tum.size2_persist[idx2])
    size2 = _round_to(np.clip(size2, p.size_min_cm, p.size_max_cm), 1)
    tumour2 = _Tumour(multifocal=tum.multifocal[idx2], prior_rt=prior_rt2)
    ep2 = _episode(rngs["episode_2"], p, ilp2, surv.last_day[idx2], tumour2, first=False)
    volume2 = pat.base_volume_l[idx2] * np.exp(p.limb_volume_remeasure_sd_log * tum.volume2_z[idx2])
    volume2 = _round_to(np.clip(volume2, 0.6, 25.0), 1)
    conduct2 = _conduct(rngs["conduct_2"], p, ilp2, pat.is_arm[idx2], volume2)
    return _Perfusions(ilp2, ep2, size2, volume2, prior_rt2, conduct2, idx2, after_lr)


def _draw_metastasis(
    r: np.random.Generator,
    p: CohortParameters,
    pat: _Patients,
    surv: _Survival,
    second: _Perfusions,
) -> tuple[np.ndarray, np.ndarray]:
    """Distant metastasis (patient level), as the day on the first and on the second
    perfusion's row (``_NEVER`` where none): on the row of the perfusion it follows."""
    n = len(pat.ilp_day)
    ilp1, dead, last_day = pat.ilp_day, surv.dead, surv.last_day
    assert second.patient is not None
    idx2 = second.patient
    u_met = r.random(n)
    gap_days = (
        np.exp(
            np.log(p.metastasis_to_death_median_years * DAYS_PER_YEAR)
            + p.metastasis_to_death_sd_log * r.standard_normal(n)
        )
    ).astype(np.int64)
    followup_days = last_day - ilp1
    met_day_dead = np.maximum(surv.death_day - gap_days, ilp1 + 30)
    alive_offset = np.floor(30 + r.random(n) * np.maximum(followup_days - 30, 0)).astype(np.int64)
    met_day_alive = ilp1 + alive_offset
    met_day = np.where(
        dead & (u_met < p.metastasis_before_death_share) & (followup_days > 30),
        met_day_dead,
        np.where(
            ~dead & (u_met < p.metastasis_alive_share) & (followup_days > 60),
            met_day_alive,
            _NEVER,
        ),
    )
    met_day = np.where(met_day <= last_day, met_day, _NEVER)
    second_of_patient = np.full(n, _NEVER)
    second_of_patient[idx2] = second.ilp_day
    met_on_2 = met_day >= second_of_patient
    return np.where(met_on_2, _NEVER, met_day), np.where(met_on_2[idx2], met_day[idx2], _NEVER)


def _assemble(
    seed: int,
    p: CohortParameters,
    pat: _Patients,
    tum: _Tumours,
    surv: _Survival,
    first: _Perfusions,
    second: _Perfusions,
    met1: np.ndarray,
    met2: np.ndarray,
) -> SyntheticCohort:
    """Registry columns: rows ordered by patient, first perfusion before second."""
    n = len(pat.ilp_day)
    assert second.patient is not None and second.after_lr is not None
    idx2 = second.patient
    ep1, ep2 = first.episode, second.episode
    patients = {
        "patient_id": patient_ids(n),
        "center": np.full(n, SYNTHETIC_CENTER, dtype=object),
        "sex": pat.sex,
        "birth_date": _to_dates(pat.birth_day),
        "death_date": _to_dates(np.where(surv.dead, surv.death_day, _NEVER)),
        "last_followup_date": _to_dates(surv.last_day),
    }
    # row of each first perfusion: its patient index plus the second perfusions before it
    row1 = np.arange(n) + np.searchsorted(idx2, np.arange(n), side="left")
    row2 = idx2 + np.arange(len(idx2)) + 1
    perfusion_patient = np.empty(n + len(idx2), dtype=np.int64)
    perfusion_patient[row1] = np.arange(n)
    perfusion_patient[row2] = idx2

    def both(first_values: np.ndarray, second_values: np.ndarray) -> np.ndarray:
        out = np.empty(n + len(idx2), dtype=np.result_type(first_values, second_values))
        out[row1] = first_values
        out[row2] = second_values
        return out

    is_arm, level, histology, grade = pat.is_arm, pat.level, tum.histology, tum.grade
    presentation1 = np.where(tum.recurrent, "recurrent", "primary").astype(object)
    presentation2 = np.where(second.after_lr, "recurrent", presentation1[idx2]).astype(object)
    margin_all = both(ep1.margin, ep2.margin)
    margin_labels = np.full(len(margin_all), None, dtype=object)
    has_margin = margin_all != _NO_MARGIN
    margin_labels[has_margin] = MARGIN_LABELS[margin_all[has_margin]]
    perfusions: dict[str, np.ndarray] = {
        "ilp_date": _to_dates(both(first.ilp_day, second.ilp_day)),
        "limb": both(
            np.where(is_arm, "arm", "leg").astype(object),
            np.where(is_arm[idx2], "arm", "leg").astype(object),
        ),
        "perfusion_level": both(level, level[idx2]),
        "limb_volume_l": both(first.volume_l, second.volume_l),
        "histology": both(histology, histology[idx2]),
        "grade": both(grade, grade[idx2]),
        "tumor_size_cm": both(first.size_cm, second.size_cm),
        "multifocal": both(tum.multifocal, tum.multifocal[idx2]),
        "presentation": both(presentation1, presentation2),
        "prior_radiotherapy": both(first.prior_rt, second.prior_rt),
        "response": RESPONSE_LABELS[both(ep1.response, ep2.response)],
        "resection_date": _to_dates(both(ep1.resection_day, ep2.resection_day)),
        "resection_margin": margin_labels,
        "amputation_date": _to_dates(both(ep1.amputation_day, ep2.amputation_day)),
        "local_recurrence_date": _to_dates(both(ep1.lr_day, ep2.lr_day)),
        "distant_metastasis_date": _to_dates(both(met1, met2)),
    }
    for name in first.conduct:
        perfusions[name] = both(first.conduct[name], second.conduct[name])
    return SyntheticCohort(
        seed=seed,
        parameters=p,
        patients=patients,
        perfusions=perfusions,
        perfusion_patient=perfusion_patient,
    )


def _outcome_fields(
    r: np.random.Generator,
    p: CohortParameters,
    perf: _Perfusions,
    adjuvant_u: np.ndarray,
    adjuvant_share: float,
) -> dict[str, np.ndarray]:
    """Adjuvant radiotherapy, necrosis, systemic toxicity, Clavien-Dindo and amputation reason
    of first or second perfusions (always the same number of draws per perfusion)."""
    ep = perf.episode
    k = len(perf.ilp_day)
    u = r.random((3, k))
    resected = ep.resection_day < _NEVER
    adjuvant = resected & (adjuvant_u < adjuvant_share)

    means = dict(p.necrosis_mean_by_response)
    mean = np.array([means[label] for label in RESPONSE_LABELS])[ep.response]
    a = mean * p.necrosis_concentration
    b = (1.0 - mean) * p.necrosis_concentration
    necrosis = np.rint(r.beta(a, b) * 100.0)
    necrosis = np.where(resected, necrosis, np.nan)

    leakage = perf.conduct["max_leakage_pct"]
    systemic = np.empty(k)
    for high, table in (
        (False, p.systemic_toxicity_shares_low_leakage),
        (True, p.systemic_toxicity_shares_high_leakage),
    ):
        grades = np.array([g for g, _ in table], dtype=float)
        shares = np.array([s for _, s in table])
        rows = (leakage > p.systemic_toxicity_leakage_threshold_pct) == high
        systemic[rows] = grades[_categorical(u[0][rows], shares)]

    cd_names = np.array([g for g, _ in p.clavien_dindo_shares], dtype=object)
    cd_shares = np.array([s for _, s in p.clavien_dindo_shares])
    clavien_dindo = cd_names[_categorical(u[1], cd_shares)]

    amputated = ep.amputation_day < _NEVER
    after_lr = ep.lr_day < _NEVER
    reason = np.where(
        after_lr, "recurrence", np.where(u[2] < p.amputation_other_share, "other", "non_response")
    ).astype(object)
    reason[~amputated] = None
    return {
        "adjuvant_radiotherapy": adjuvant,
        "pathological_necrosis_pct": necrosis,
        "systemic_toxicity_grade": systemic,
        "complication_clavien_dindo": clavien_dindo,
        "amputation_reason": reason,
    }


def _with_outcome_fields(
    cohort: SyntheticCohort,
    rngs: dict[str, np.random.Generator],
    p: CohortParameters,
    tum: _Tumours,
    first: _Perfusions,
    second: _Perfusions,
    surv: _Survival,
    met1: np.ndarray,
    met2: np.ndarray,
) -> SyntheticCohort:
    """The cohort with the outcome-study columns added (step 6 of the module docstring)."""
    assert second.patient is not None
    idx2 = second.patient
    n = len(first.ilp_day)
    f1 = _outcome_fields(
        rngs["outcome_fields_1"], p, first, tum.adjuvant_rt_u, p.adjuvant_radiotherapy_share
    )
    u2 = rngs["outcome_fields_2"].random(n)[idx2]
    f2 = _outcome_fields(
        rngs["outcome_fields_2"], p, second, u2, p.adjuvant_radiotherapy_share_second
    )
    row1 = np.flatnonzero(np.r_[True, np.diff(cohort.perfusion_patient) != 0])
    row2 = np.setdiff1d(np.arange(cohort.n_perfusions), row1)
    perfusions = dict(cohort.perfusions)
    for name, values1 in f1.items():
        out = np.empty(cohort.n_perfusions, dtype=np.result_type(values1, f2[name]))
        out[row1] = values1
        out[row2] = f2[name]
        perfusions[name] = out

    u = rngs["death_cause"].random(n)
    causes = np.array([c for c, _ in p.death_cause_shares_without_metastasis], dtype=object)
    shares = np.array([s for _, s in p.death_cause_shares_without_metastasis])
    metastasis = met1 < _NEVER
    metastasis[idx2] |= met2 < _NEVER
    cause = np.where(metastasis, "sarcoma", causes[_categorical(u, shares)]).astype(object)
    cause[~surv.dead] = None
    patients = dict(cohort.patients)
    patients["cause_of_death"] = cause
    return SyntheticCohort(
        seed=cohort.seed,
        parameters=cohort.parameters,
        patients=patients,
        perfusions=perfusions,
        perfusion_patient=cohort.perfusion_patient,
    )
