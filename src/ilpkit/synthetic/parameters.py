"""Parameters of the SYNTHETIC cohort model, each with its source or the reason it was chosen.

:class:`CohortParameters` is one frozen dataclass; every field carries metadata: the section it
belongs to, its unit, its source, the reason for the value, and - for the seven values solved by
:func:`ilpkit.synthetic.calibration.calibrate` - the published figure it is calibrated to.
docs/synthetic-cohort.md renders this catalogue (:func:`parameters_markdown`); a test keeps the
two in step.

Sources (full references in docs/synthetic-cohort.md): **Deroose 2011** the seed study (J Clin
Oncol 2011;29:4036); **Eggermont 1996** (Ann Surg 1996); **Deroose 2015** (Eur J Cancer
2015;51:367); **Deroose 2010** (radiotherapy after ILP and resection); **Grünhagen 2005** (Ann Surg
Oncol 2005, multifocal sarcoma); **SmPC** Beromun (tasonermin) summary of product characteristics;
**Wieberdink 1982**; **Beasley 2012** (typical limb volumes); **Vrouenraets 2001**; **Deroose 2012**
(tissue temperature). "Inference" marks ilpkit's own reasoning where the papers are silent.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date
from typing import Any

from ilpkit.domain import limits

_LOW_TOLERANCE = 1e-9


def _meta(
    section: str, unit: str, source: str, reason: str, calibrated_to: str = ""
) -> dict[str, str]:
    """Field metadata: section, unit, source, reason and (if solved) the calibration target."""
    return {
        "section": section,
        "unit": unit,
        "source": source,
        "reason": reason,
        "calibrated_to": calibrated_to,
    }


_SERIES = "Series, accrual and follow-up"
_PATIENT = "Patients"
_TUMOUR = "Tumour at the first perfusion"
_CONDUCT = "Perfusion: limb, doses and conduct"
_RESPONSE = "Response"
_SURGERY = "Resection and amputation"
_LR = "Local recurrence and repeat perfusion"
_SURVIVAL = "Overall survival and distant metastasis"
_OUTCOME_FIELDS = "Adjuvant radiotherapy, pathology, toxicity and cause of death"

SECTIONS: tuple[str, ...] = (
    _SERIES,
    _PATIENT,
    _TUMOUR,
    _CONDUCT,
    _RESPONSE,
    _SURGERY,
    _LR,
    _SURVIVAL,
    _OUTCOME_FIELDS,
)
"""Sections of the parameter catalogue, in document order."""

_DISTRIBUTIONS = frozenset(
    {
        "histology_shares",
        "leg_level_shares",
        "arm_level_shares",
        "tnf_mg_leg_standard",
        "tnf_mg_arm_standard",
        "tnf_mg_leg_reduced",
        "tnf_mg_arm_reduced",
        "wieberdink_shares_standard",
        "wieberdink_shares_reduced",
        "systemic_toxicity_shares_low_leakage",
        "systemic_toxicity_shares_high_leakage",
        "clavien_dindo_shares",
        "death_cause_shares_without_metastasis",
    }
)
"""Fields holding ``((category, share), ...)`` whose shares must sum to 1."""

Shares = tuple[tuple[str, float], ...]
"""Category shares as ``((category, share), ...)`` summing to 1."""


@dataclass(frozen=True)
class CohortParameters:
    """Every number of the SYNTHETIC cohort model (see the module docstring and
    docs/synthetic-cohort.md for each value's source and reason).

    Times are in days or years as the name says; shares are fractions (0-1); ``*_log_odds`` are
    additive effects on the logit of a probability; ``*_log_time_ratio`` are additive effects on
    the logarithm of the survival time (a lognormal accelerated-failure-time model, so a negative
    value means shorter survival).
    """

    # --- series, accrual and follow-up ---
    accrual_start: date = field(
        default=date(1991, 1, 1),
        metadata=_meta(
            _SERIES,
            "date",
            "Deroose 2011",
            "The series accrued from 1991 to 2005; first perfusions are spread uniformly over "
            "these 15 years (the abstract gives no accrual curve).",
        ),
    )
    accrual_end: date = field(
        default=date(2005, 12, 31),
        metadata=_meta(_SERIES, "date", "Deroose 2011", "Last year of accrual."),
    )
    data_lock: date = field(
        default=date(2010, 12, 31),
        metadata=_meta(
            _SERIES,
            "date",
            "Deroose 2011 (inference for the exact date)",
            "Every patient had a potential follow-up of at least 5 years: the last perfusion "
            "(2005-12-31) plus 5 years. Patients alive and not lost are censored at this date "
            "(vital status verified at the lock, as Dutch centres do through the population "
            "register).",
        ),
    )
    loss_to_followup_per_year: float = field(
        default=0.01,
        metadata=_meta(
            _SERIES,
            "1/year",
            "inference",
            "A tertiary referral series with near-complete follow-up: an exponential loss hazard "
            "of 1%/year loses about 5% of patients by 5 years, independently of everything else, "
            "so the Kaplan-Meier estimate stays unbiased.",
        ),
    )

    # --- patients ---
    male_share: float = field(
        default=0.55,
        metadata=_meta(
            _PATIENT,
            "fraction",
            "inference",
            "Soft-tissue sarcoma is slightly more common in men.",
        ),
    )
    age_mean_years: float = field(
        default=55.0,
        metadata=_meta(
            _PATIENT,
            "years",
            "inference",
            "Adults with extremity soft-tissue sarcoma; age at the first perfusion is a normal "
            "distribution truncated to 18-90 years.",
        ),
    )
    age_sd_years: float = field(
        default=17.0,
        metadata=_meta(_PATIENT, "years", "inference", "Spread of the age."),
    )
    age_min_years: float = field(
        default=18.0,
        metadata=_meta(_PATIENT, "years", "inference", "Adults only."),
    )
    age_max_years: float = field(
        default=90.0,
        metadata=_meta(_PATIENT, "years", "inference", "Oldest patient."),
    )

    # --- tumour ---
    histology_shares: Shares = field(
        default=(
            ("undifferentiated_pleomorphic_sarcoma", 0.23),
            ("liposarcoma", 0.15),
            ("leiomyosarcoma", 0.12),
            ("synovial_sarcoma", 0.11),
            ("myxofibrosarcoma", 0.10),
            ("mpnst", 0.07),
            ("kaposi_sarcoma", 0.04),
            ("angiosarcoma", 0.03),
            ("epithelioid_sarcoma", 0.03),
            ("fibrosarcoma", 0.03),
            ("clear_cell_sarcoma", 0.02),
            ("rhabdomyosarcoma", 0.02),
            ("alveolar_soft_part_sarcoma", 0.01),
            ("extraskeletal_myxoid_chondrosarcoma", 0.01),
            ("dermatofibrosarcoma_protuberans", 0.01),
            ("other", 0.02),
        ),
        metadata=_meta(
            _TUMOUR,
            "fraction",
            "inference",
            "A typical mix of extremity soft-tissue sarcoma in TM-ILP series (undifferentiated "
            "pleomorphic sarcoma, formerly MFH, the most common); leiomyosarcoma 12% so that the "
            "published survival difference for leiomyosarcoma (P < .001) is attainable in 208 "
            "patients. The abstract gives no histology mix.",
        ),
    )
    low_grade_histologies: tuple[str, ...] = field(
        default=("liposarcoma", "kaposi_sarcoma", "dermatofibrosarcoma_protuberans"),
        metadata=_meta(
            _TUMOUR,
            "",
            "inference",
            "Types that are often low grade (well-differentiated and myxoid liposarcoma, Kaposi "
            "sarcoma, DFSP): they get grade 1 more often; other types less often, so that the "
            "overall share of grade 2-3 is unchanged.",
        ),
    )
    grade_1_share_low_grade_histologies: float = field(
        default=0.40,
        metadata=_meta(
            _TUMOUR, "fraction", "inference", "Share of grade 1 among the low-grade types."
        ),
    )
    grade_2_3_share: float = field(
        default=0.85,
        metadata=_meta(
            _TUMOUR,
            "fraction",
            "Deroose 2011",
            "85% of tumours were intermediate or high grade (FNCLCC 2-3); every tumour has a "
            "grade.",
        ),
    )
    grade_3_share_of_grade_2_3: float = field(
        default=0.60,
        metadata=_meta(
            _TUMOUR,
            "fraction",
            "inference",
            "Locally advanced tumours referred for ILP are mostly high grade.",
        ),
    )
    size_median_cm: float = field(
        default=16.0,
        metadata=_meta(
            _TUMOUR,
            "cm",
            "Eggermont 1996",
            "Median tumour size 16 cm in the multicentre TM-ILP series; lognormal distribution.",
        ),
    )
    size_sd_log: float = field(
        default=0.45,
        metadata=_meta(
            _TUMOUR,
            "log cm",
            "inference",
            "Interquartile range about 12-22 cm: locally advanced tumours, candidates for "
            "amputation.",
        ),
    )
    size_min_cm: float = field(
        default=2.0,
        metadata=_meta(_TUMOUR, "cm", "inference", "Smallest largest-diameter."),
    )
    size_max_cm: float = field(
        default=45.0,
        metadata=_meta(_TUMOUR, "cm", "inference", "Largest largest-diameter."),
    )
    multifocal_share: float = field(
        default=0.23,
        metadata=_meta(
            _TUMOUR,
            "fraction",
            "Eggermont 1996",
            "23% multifocal tumours in the multicentre series; with 83% vs about 67% response this "
            "gives P of about .01 in 231 perfusions, close to the published P = .008.",
        ),
    )
    recurrent_share: float = field(
        default=0.35,
        metadata=_meta(
            _TUMOUR,
            "fraction",
            "inference",
            "Share of first perfusions for a local recurrence (rather than a primary tumour).",
        ),
    )
    prior_radiotherapy_share_recurrent: float = field(
        default=0.50,
        metadata=_meta(
            _TUMOUR,
            "fraction",
            "inference",
            "Half of recurrent tumours follow earlier surgery plus radiotherapy.",
        ),
    )
    prior_radiotherapy_share_primary: float = field(
        default=0.04,
        metadata=_meta(
            _TUMOUR,
            "fraction",
            "inference",
            "Few primary tumours were irradiated before referral. With 0.50 of recurrent tumours "
            "this makes about 20% previously irradiated limbs: with 54% vs about 24% local "
            "recurrence that gives P < .001 in 231 perfusions, as published.",
        ),
    )

    # --- perfusion: limb, doses and conduct ---
    arm_share: float = field(
        default=0.20,
        metadata=_meta(
            _CONDUCT,
            "fraction",
            "inference",
            "Most TM-ILPs for sarcoma are leg perfusions.",
        ),
    )
    leg_level_shares: Shares = field(
        default=(("iliac", 0.45), ("femoral", 0.40), ("popliteal", 0.15)),
        metadata=_meta(
            _CONDUCT,
            "fraction",
            "inference",
            "Large thigh tumours need the iliac level; the popliteal level is for lower-leg "
            "tumours.",
        ),
    )
    arm_level_shares: Shares = field(
        default=(("axillary", 0.85), ("brachial", 0.15)),
        metadata=_meta(
            _CONDUCT,
            "fraction",
            "inference",
            "Most arm perfusions are axillary.",
        ),
    )
    limb_volume_median_l_by_level: Shares = field(
        default=(
            ("iliac", 11.0),
            ("femoral", 8.6),
            ("popliteal", 3.5),
            ("axillary", 2.5),
            ("brachial", 1.5),
        ),
        metadata=_meta(
            _CONDUCT,
            "L",
            "Beasley 2012 (leg 8.6 L, arm 2.5 L); inference for the other levels",
            "Median perfused volume by access level; lognormal between patients, clipped to "
            "0.6-25 L.",
        ),
    )
    limb_volume_sd_log: float = field(
        default=0.20,
        metadata=_meta(_CONDUCT, "log L", "inference", "Spread of limb volumes between patients."),
    )
    limb_volume_remeasure_sd_log: float = field(
        default=0.03,
        metadata=_meta(
            _CONDUCT,
            "log L",
            "Farina 2024 (2-8% accuracy of circumference estimates)",
            "A repeat perfusion re-measures the same limb.",
        ),
    )
    water_displacement_share: float = field(
        default=0.60,
        metadata=_meta(
            _CONDUCT,
            "fraction",
            "inference",
            "Limb volume by water displacement; the rest from circumferences.",
        ),
    )
    tnf_reduced_dose_from: date = field(
        default=date(2003, 1, 1),
        metadata=_meta(
            _CONDUCT,
            "date",
            "Deroose 2015",
            "Rotterdam lowered TNF from 3-4 mg to 1-2 mg in 2003 with the same response (70% vs "
            "69%), so the model gives TNF dose no effect on response.",
        ),
    )
    tnf_mg_leg_standard: tuple[tuple[float, float], ...] = field(
        default=((4.0, 0.9), (3.0, 0.1)),
        metadata=_meta(
            _CONDUCT,
            "mg",
            "SmPC; Deroose 2015",
            "Leg before 2003: 4 mg (the label dose), sometimes 3 mg.",
        ),
    )
    tnf_mg_arm_standard: tuple[tuple[float, float], ...] = field(
        default=((3.0, 0.85), (2.0, 0.15)),
        metadata=_meta(
            _CONDUCT,
            "mg",
            "SmPC; Deroose 2015",
            "Arm before 2003: 3 mg (the label dose for an arm), sometimes 2 mg; never above 3 mg.",
        ),
    )
    tnf_mg_leg_reduced: tuple[tuple[float, float], ...] = field(
        default=((2.0, 0.7), (1.0, 0.3)),
        metadata=_meta(
            _CONDUCT,
            "mg",
            "Deroose 2015; Bonvalot 2009 (1 mg)",
            "Leg from 2003: 1-2 mg.",
        ),
    )
    tnf_mg_arm_reduced: tuple[tuple[float, float], ...] = field(
        default=((1.0, 0.7), (2.0, 0.3)),
        metadata=_meta(
            _CONDUCT,
            "mg",
            "Deroose 2015; Bonvalot 2009 (1 mg)",
            "Arm from 2003: 1-2 mg.",
        ),
    )
    melphalan_mg_per_l_leg: float = field(
        default=limits.MELPHALAN_LABEL_MG_PER_L_BY_LIMB["leg"],
        metadata=_meta(
            _CONDUCT,
            "mg/L",
            "SmPC; Wieberdink 1982",
            "Label dose for a leg, rounded to the whole mg.",
        ),
    )
    melphalan_mg_per_l_arm: float = field(
        default=limits.MELPHALAN_LABEL_MG_PER_L_BY_LIMB["arm"],
        metadata=_meta(
            _CONDUCT,
            "mg/L",
            "SmPC; Wieberdink 1982",
            "Label dose for an arm, rounded to the whole mg.",
        ),
    )
    melphalan_max_mg: float = field(
        default=150.0,
        metadata=_meta(_CONDUCT, "mg", "SmPC", "Total melphalan is capped at 150 mg."),
    )
    tissue_temp_mean_c: float = field(
        default=39.0,
        metadata=_meta(
            _CONDUCT,
            "°C",
            "Vrouenraets 2001; Deroose 2012",
            "Mild hyperthermia, Rotterdam 38-39.5 °C; normal, clipped to 37.5-40.5 °C.",
        ),
    )
    tissue_temp_sd_c: float = field(
        default=0.4,
        metadata=_meta(_CONDUCT, "°C", "inference", "Spread of temperatures."),
    )
    leakage_median_pct: float = field(
        default=1.0,
        metadata=_meta(
            _CONDUCT,
            "%",
            "inference (Groningen series: mean leakage 2.9%)",
            "Peak cumulative leakage, lognormal: most perfusions leak under 2%.",
        ),
    )
    leakage_sd_log: float = field(
        default=1.1,
        metadata=_meta(_CONDUCT, "log %", "inference", "Skewed leakage."),
    )
    leakage_stop_pct: float = field(
        default=10.0,
        metadata=_meta(
            _CONDUCT,
            "%",
            "SmPC",
            "A perfusion whose leakage reaches 10% is stopped and washed out: its duration is cut "
            "to 30-89 minutes.",
        ),
    )
    perfusion_minutes: float = field(
        default=90.0,
        metadata=_meta(
            _CONDUCT,
            "min",
            "Eggermont 1996",
            "TNF 30 min, then melphalan 60 min.",
        ),
    )
    wieberdink_shares_standard: tuple[tuple[int, float], ...] = field(
        default=((1, 0.10), (2, 0.67), (3, 0.20), (4, 0.03)),
        metadata=_meta(
            _CONDUCT,
            "fraction",
            "Deroose 2015 (grade III or worse 23%); Wieberdink 1982",
            "Regional toxicity with 3-4 mg TNF (before 2003).",
        ),
    )
    wieberdink_shares_reduced: tuple[tuple[int, float], ...] = field(
        default=((1, 0.14), (2, 0.72), (3, 0.12), (4, 0.02)),
        metadata=_meta(
            _CONDUCT,
            "fraction",
            "Deroose 2015 (grade III or worse 14%); Wieberdink 1982",
            "Regional toxicity with 1-2 mg TNF (from 2003).",
        ),
    )

    # --- response ---
    orr_multifocal: float = field(
        default=0.83,
        metadata=_meta(
            _RESPONSE,
            "fraction",
            "Deroose 2011",
            "Overall response (CR + PR) of multifocal tumours; the only published response "
            "predictor.",
        ),
    )
    orr_unifocal: float = field(
        default=0.6709,
        metadata=_meta(
            _RESPONSE,
            "fraction",
            "calibrated",
            "Solved so that the overall response rate of all perfusions is 71%.",
            calibrated_to="ORR 71% (Deroose 2011)",
        ),
    )
    cr_share_of_responders: float = field(
        default=18 / 71,
        metadata=_meta(
            _RESPONSE,
            "fraction",
            "Deroose 2011",
            "CR 18% and PR 53% of all perfusions: 18/71 of responders have a CR.",
        ),
    )
    pd_share_of_nonresponders: float = field(
        default=0.15,
        metadata=_meta(
            _RESPONSE,
            "fraction",
            "inference",
            "Most non-responders have no change (NC); few progress. Every perfusion is evaluable "
            "(no NE): the abstract reports response for all 231 perfusions.",
        ),
    )

    # --- resection and amputation ---
    resection_share_by_response: tuple[tuple[str, float], ...] = field(
        default=(("CR", 0.60), ("PR", 0.90), ("NC", 0.55), ("PD", 0.20)),
        metadata=_meta(
            _SURGERY,
            "fraction",
            "inference",
            "Resection of the tumour remnant is the aim of ILP; after a CR some centres watch and "
            "wait; after progression few tumours are resectable.",
        ),
    )
    resection_delay_days: tuple[int, int] = field(
        default=(42, 84),
        metadata=_meta(
            _SURGERY,
            "days",
            "clinical protocol notes §7 (6-8 weeks to 3 months)",
            "Resection 6-12 weeks after the perfusion, uniform.",
        ),
    )
    margin_shares_by_response: tuple[tuple[str, float, float, float], ...] = field(
        default=(
            ("CR", 0.85, 0.13, 0.02),
            ("PR", 0.65, 0.28, 0.07),
            ("NC", 0.45, 0.38, 0.17),
            ("PD", 0.35, 0.40, 0.25),
        ),
        metadata=_meta(
            _SURGERY,
            "fraction",
            "inference",
            "Shares of R0, R1 and R2 margins by response: better response, cleaner margins.",
        ),
    )
    nonresponse_amputation_share: float = field(
        default=0.4742,
        metadata=_meta(
            _SURGERY,
            "fraction",
            "calibrated",
            "Share of unresected non-responders (NC or PD) who are amputated 8-21 weeks after the "
            "perfusion: every patient was a candidate for amputation before the ILP.",
            calibrated_to="limb salvage 81% of perfusions (Deroose 2011)",
        ),
    )
    nonresponse_amputation_delay_days: tuple[int, int] = field(
        default=(56, 150),
        metadata=_meta(_SURGERY, "days", "inference", "Amputation for non-response, uniform."),
    )
    lr_amputation_share: float = field(
        default=0.40,
        metadata=_meta(
            _SURGERY,
            "fraction",
            "inference",
            "Share of local recurrences after a first perfusion treated by amputation.",
        ),
    )
    lr_amputation_share_after_repeat: float = field(
        default=0.55,
        metadata=_meta(
            _SURGERY,
            "fraction",
            "inference",
            "After a recurrence following a second perfusion the limb-sparing options are used up "
            "more often.",
        ),
    )
    lr_amputation_delay_days: tuple[int, int] = field(
        default=(14, 90),
        metadata=_meta(
            _SURGERY, "days", "inference", "Amputation after a local recurrence, uniform."
        ),
    )

    # --- local recurrence and repeat perfusion ---
    lr_intercept_log_odds: float = field(
        default=-1.6723,
        metadata=_meta(
            _LR,
            "log odds",
            "calibrated",
            "Baseline log odds of a local recurrence (unifocal, not irradiated, R0 after PR).",
            calibrated_to="crude local recurrence 30% of perfusions (Deroose 2011)",
        ),
    )
    lr_multifocal_log_odds: float = field(
        default=2.2919,
        metadata=_meta(
            _LR,
            "log odds",
            "calibrated",
            "Multifocal tumours recur more often.",
            calibrated_to="local recurrence 54% for multifocal tumours (Deroose 2011)",
        ),
    )
    lr_prior_radiotherapy_log_odds: float = field(
        default=2.3432,
        metadata=_meta(
            _LR,
            "log odds",
            "calibrated",
            "Previously irradiated limbs recur more often.",
            calibrated_to="local recurrence 54% after previous radiotherapy (Deroose 2011)",
        ),
    )
    lr_complete_response_log_odds: float = field(
        default=-0.9,
        metadata=_meta(
            _LR,
            "log odds",
            "inference from Deroose 2010 (>50% necrosis: 7% vs 33% recurrence)",
            "A complete response protects against recurrence (odds ratio about 0.4).",
        ),
    )
    lr_r1_log_odds: float = field(
        default=0.79,
        metadata=_meta(
            _LR,
            "log odds",
            "Deroose 2010 (R0 15% vs R1 28%)",
            "Odds ratio (0.28/0.72)/(0.15/0.85) = 2.2 for a microscopically positive margin.",
        ),
    )
    lr_r2_log_odds: float = field(
        default=1.4,
        metadata=_meta(
            _LR,
            "log odds",
            "inference",
            "Macroscopic residual tumour recurs (progresses) more often than R1.",
        ),
    )
    lr_not_resected_log_odds: float = field(
        default=0.5,
        metadata=_meta(
            _LR,
            "log odds",
            "inference",
            "A tumour left in place (watch and wait after CR, or unresected) regrows more often.",
        ),
    )
    lr_time_median_years: float = field(
        default=1.2,
        metadata=_meta(
            _LR,
            "years",
            "inference",
            "Time from perfusion to local recurrence, lognormal: most recurrences within 2-3 "
            "years. A recurrence is recorded only if it happens before death or the end of "
            "follow-up.",
        ),
    )
    lr_time_sd_log: float = field(
        default=0.8,
        metadata=_meta(_LR, "log years", "inference", "Spread of that time."),
    )
    lr_min_days_after_perfusion: int = field(
        default=90,
        metadata=_meta(
            _LR, "days", "inference", "No recurrence is diagnosed within 3 months of the ILP."
        ),
    )
    lr_min_days_after_resection: int = field(
        default=30,
        metadata=_meta(
            _LR, "days", "inference", "No recurrence is diagnosed within a month of resection."
        ),
    )
    repeat_after_lr_share: float = field(
        default=0.4045,
        metadata=_meta(
            _LR,
            "fraction",
            "calibrated",
            "Share of local recurrences after a first perfusion treated by a second perfusion of "
            "the same limb 1-4 months later.",
            calibrated_to="231 perfusions in 208 patients: 23/208 = 11.1% of patients perfused "
            "twice (Deroose 2011)",
        ),
    )
    repeat_after_nonresponse_ratio: float = field(
        default=0.5,
        metadata=_meta(
            _LR,
            "ratio",
            "inference",
            "Non-responders neither amputated nor recurring get a second perfusion 4-12 months "
            "later at this fraction of the rate after recurrence.",
        ),
    )
    repeat_delay_after_lr_days: tuple[int, int] = field(
        default=(30, 120),
        metadata=_meta(_LR, "days", "inference", "Second perfusion after a recurrence, uniform."),
    )
    repeat_delay_after_nonresponse_days: tuple[int, int] = field(
        default=(120, 365),
        metadata=_meta(
            _LR, "days", "inference", "Second perfusion for persisting tumour, uniform."
        ),
    )
    adjuvant_radiotherapy_share: float = field(
        default=0.40,
        metadata=_meta(
            _LR,
            "fraction",
            "inference from Deroose 2010 (radiotherapy after ILP and resection)",
            "Share of resected first perfusions followed by radiotherapy: a second perfusion of "
            "such a limb counts as previously irradiated.",
        ),
    )
    recurrence_size_median_cm: float = field(
        default=8.0,
        metadata=_meta(
            _LR,
            "cm",
            "inference",
            "A recurrence treated by a second perfusion is found at follow-up, smaller than the "
            "first tumour; lognormal.",
        ),
    )
    recurrence_size_sd_log: float = field(
        default=0.5,
        metadata=_meta(_LR, "log cm", "inference", "Spread."),
    )

    # --- overall survival and distant metastasis ---
    os_log_median_years: float = field(
        default=1.557,
        metadata=_meta(
            _SURVIVAL,
            "log years",
            "calibrated",
            "Location of the lognormal survival time from the first perfusion.",
            calibrated_to="5-year overall survival 42% (Deroose 2011)",
        ),
    )
    os_sd_log: float = field(
        default=1.2,
        metadata=_meta(
            _SURVIVAL,
            "log years",
            "inference",
            "A lognormal survival time: the hazard rises in the first years and then falls, few "
            "deaths in the first 3 months (about 2%), about 23% alive at 10 years.",
        ),
    )
    os_leiomyosarcoma_log_time_ratio: float = field(
        default=-1.0,
        metadata=_meta(
            _SURVIVAL,
            "log",
            "Deroose 2011 (direction); inference (size of the effect)",
            "Poorer survival with leiomyosarcoma (P < .001): 5-year survival about 17% against "
            "about 45%.",
        ),
    )
    os_log_size_log_time_ratio: float = field(
        default=-0.7,
        metadata=_meta(
            _SURVIVAL,
            "log per log cm",
            "Deroose 2011 (direction); inference (size of the effect)",
            "Poorer survival with large tumours (P = .01): survival time falls by a factor "
            "2^0.7 = 1.6 per doubling of the tumour diameter.",
        ),
    )
    os_grade_3_log_time_ratio: float = field(
        default=-0.35,
        metadata=_meta(_SURVIVAL, "log", "inference", "High grade shortens survival."),
    )
    os_grade_1_log_time_ratio: float = field(
        default=0.5,
        metadata=_meta(_SURVIVAL, "log", "inference", "Low grade lengthens survival."),
    )
    os_age_log_time_ratio_per_10_years: float = field(
        default=-0.08,
        metadata=_meta(_SURVIVAL, "log per 10 years", "inference", "Older patients die sooner."),
    )
    metastasis_before_death_share: float = field(
        default=0.85,
        metadata=_meta(
            _SURVIVAL,
            "fraction",
            "inference",
            "Most deaths in this series are sarcoma deaths preceded by distant metastasis.",
        ),
    )
    metastasis_to_death_median_years: float = field(
        default=0.8,
        metadata=_meta(
            _SURVIVAL,
            "years",
            "inference",
            "Median survival after distant metastasis of soft-tissue sarcoma; lognormal.",
        ),
    )
    metastasis_to_death_sd_log: float = field(
        default=0.6,
        metadata=_meta(_SURVIVAL, "log years", "inference", "Spread."),
    )
    metastasis_alive_share: float = field(
        default=0.10,
        metadata=_meta(
            _SURVIVAL,
            "fraction",
            "inference",
            "Patients alive at the end of follow-up with a metastasis (alive with disease).",
        ),
    )

    # --- adjuvant radiotherapy, pathology, toxicity and cause of death ---
    necrosis_mean_by_response: tuple[tuple[str, float], ...] = field(
        default=(("CR", 0.90), ("PR", 0.60), ("NC", 0.35), ("PD", 0.20)),
        metadata=_meta(
            _OUTCOME_FIELDS,
            "fraction",
            "assumption (threshold >50% necrosis from Deroose 2010)",
            "Mean pathological necrosis of the resected specimen by clinical response (beta "
            "distribution, rounded to whole %): a complete clinical response mostly leaves a "
            "necrotic remnant. Recorded only where the tumour was resected. The generating model "
            "draws local recurrence from response and margin, not from necrosis.",
        ),
    )
    necrosis_concentration: float = field(
        default=6.0,
        metadata=_meta(
            _OUTCOME_FIELDS,
            "",
            "assumption",
            "Concentration a + b of the beta distribution of necrosis (spread around the mean).",
        ),
    )
    systemic_toxicity_leakage_threshold_pct: float = field(
        default=2.0,
        metadata=_meta(
            _OUTCOME_FIELDS,
            "%",
            "clinical protocol notes §5 (> 2% leakage: 18 times more systemic TNF exposure)",
            "Perfusions leaking more than this get the high-leakage systemic toxicity shares.",
        ),
    )
    systemic_toxicity_shares_low_leakage: tuple[tuple[int, float], ...] = field(
        default=((0, 0.60), (1, 0.25), (2, 0.12), (3, 0.03)),
        metadata=_meta(
            _OUTCOME_FIELDS,
            "fraction",
            "assumption",
            "Worst systemic toxicity (CTCAE v5.0 grade 0-5) at low leakage: mostly none or mild "
            "(fever, chills, transient hypotension); no grade 4-5.",
        ),
    )
    systemic_toxicity_shares_high_leakage: tuple[tuple[int, float], ...] = field(
        default=((0, 0.35), (1, 0.30), (2, 0.25), (3, 0.08), (4, 0.02)),
        metadata=_meta(
            _OUTCOME_FIELDS,
            "fraction",
            "assumption",
            "Worst systemic toxicity at leakage above the threshold: more grade 2-4 (systemic "
            "TNF); no grade 5.",
        ),
    )
    clavien_dindo_shares: tuple[tuple[str, float], ...] = field(
        default=(
            ("0", 0.62),
            ("I", 0.14),
            ("II", 0.14),
            ("IIIa", 0.03),
            ("IIIb", 0.05),
            ("IVa", 0.015),
            ("IVb", 0.005),
        ),
        metadata=_meta(
            _OUTCOME_FIELDS,
            "fraction",
            "assumption (grades: Dindo 2004)",
            "Worst surgical complication of the perfusion: mostly none or minor (wound problems, "
            "seroma); few reinterventions. Grade V (death) is not drawn: a death is the patient's "
            "date of death.",
        ),
    )
    amputation_other_share: float = field(
        default=0.05,
        metadata=_meta(
            _OUTCOME_FIELDS,
            "fraction",
            "assumption",
            "Amputation reason follows the generating model: after a local recurrence "
            "'recurrence', otherwise 'non_response'; this share of amputations for non-response "
            "is recorded as 'other'. No amputation for toxicity is drawn (the model has no "
            "Wieberdink grade V).",
        ),
    )
    death_cause_shares_without_metastasis: tuple[tuple[str, float], ...] = field(
        default=(("sarcoma", 0.25), ("other", 0.55), ("unknown", 0.20)),
        metadata=_meta(
            _OUTCOME_FIELDS,
            "fraction",
            "assumption",
            "Cause of death of patients without a recorded distant metastasis. Deaths after a "
            "distant metastasis are recorded as sarcoma deaths, so most deaths are sarcoma "
            "deaths (see metastasis_before_death_share).",
        ),
    )
    adjuvant_radiotherapy_share_second: float = field(
        default=0.25,
        metadata=_meta(
            _OUTCOME_FIELDS,
            "fraction",
            "assumption",
            "Share of resected second perfusions followed by radiotherapy (lower than after a "
            "first perfusion: many limbs are already irradiated). After a first perfusion the "
            "share is adjuvant_radiotherapy_share; only resected perfusions get radiotherapy. "
            "The model gives adjuvant radiotherapy no effect on local recurrence (drawn before "
            "it), so any association in a synthetic registry comes from who is resected.",
        ),
    )

    def __post_init__(self) -> None:
        problems = self.problems()
        if problems:
            raise ValueError("invalid cohort parameters: " + "; ".join(problems))

    def problems(self) -> list[str]:
        """Every inconsistency of the values (shares outside 0-1, shares not summing to 1)."""
        out: list[str] = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.metadata["unit"] == "fraction" and isinstance(value, float):
                if not 0.0 <= value <= 1.0:
                    out.append(f"{f.name} = {value} is not a fraction between 0 and 1")
            elif f.name in _DISTRIBUTIONS:
                total = sum(float(pair[1]) for pair in value)
                if abs(total - 1.0) > 1e-6:
                    out.append(f"{f.name} sums to {total:g}, not 1")
        for name, *shares in self.margin_shares_by_response:
            if abs(sum(shares) - 1.0) > 1e-6:
                out.append(f"margin_shares_by_response for {name} do not sum to 1")
        if self.repeat_after_lr_share + self.lr_amputation_share > 1.0 + _LOW_TOLERANCE:
            out.append("repeat_after_lr_share + lr_amputation_share exceed 1")
        if not self.accrual_start <= self.accrual_end < self.data_lock:
            out.append("accrual_start <= accrual_end < data_lock does not hold")
        return out


DEFAULT_PARAMETERS = CohortParameters()
"""The calibrated defaults (see docs/synthetic-cohort.md)."""

CALIBRATED_PARAMETERS: tuple[str, ...] = tuple(
    f.name for f in fields(CohortParameters) if f.metadata["calibrated_to"]
)
"""Names of the values solved by :func:`ilpkit.synthetic.calibration.calibrate`."""


def _show(value: Any) -> str:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, tuple):
        parts = []
        for item in value:
            if isinstance(item, tuple):
                head, *rest = item
                parts.append(f"{head}: " + "/".join(_show(r) for r in rest))
            else:
                parts.append(_show(item))
        return "; ".join(parts)
    return str(value)


def parameters_markdown(params: CohortParameters = DEFAULT_PARAMETERS) -> str:
    """Render the parameter catalogue as Markdown tables, one per section.

    The tables in docs/synthetic-cohort.md are this text (a test checks it).
    """
    lines: list[str] = []
    for section in SECTIONS:
        lines += [
            f"### {section}",
            "",
            "| parameter | value | unit | source | reason |",
            "| --- | --- | --- | --- | --- |",
        ]
        for f in fields(params):
            if f.metadata["section"] != section:
                continue
            reason = f.metadata["reason"]
            if f.metadata["calibrated_to"]:
                reason += f" **Calibrated to {f.metadata['calibrated_to']}.**"
            cells = [
                f"`{f.name}`",
                _show(getattr(params, f.name)),
                f.metadata["unit"],
                f.metadata["source"],
                reason,
            ]
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
        lines.append("")
    return "\n".join(lines)
