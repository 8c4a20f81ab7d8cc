"""The results object ``ilpkit.results/1`` as typed models.

:func:`ilpkit.stats.analysis.analyze` returns an :class:`AnalysisResults`; ``ilp analyze --json``
and the report's ``results.json`` are its ``model_dump(mode="json")`` and ``ilp analyze``'s
tables, the report and the web application read its attributes. docs/results-schema.md describes
the same object and a test checks that it names every field of these models.

Conventions of the schema: proportions are fractions (0-1), times are in years (days / 365.25),
a missing or undefined number is ``null`` (never NaN), and every 95% interval is a pair
``[lower, upper]`` whose limits are ``null`` where undefined. Keys of ``by`` are subgroup
variables, keys of ``groups`` their levels as written in the registry, keys of ``at_years`` the
times in years as text (``"1"``, ``"2"``, ``"5"``).

A few keys are absent rather than ``null`` when they do not apply: ``trend`` of a subgroup
comparison of overall survival (ordered variables with three or more levels only) and
``univariable``, ``concordance`` and ``concordance_se`` of a Cox model (the multivariable model
only); they are left out of the dump
when ``None``, so the JSON keeps its shape.

The models of ``ilp predict`` (schema ``ilpkit.prediction/1``) are in
:mod:`ilpkit.stats.prediction_results` and re-exported here.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, ClassVar, Final, Literal

from pydantic import (
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    field_serializer,
    field_validator,
)

from ilpkit.stats._results_base import CI95, ResultsModel
from ilpkit.stats.prediction_results import (  # re-exported: schema ilpkit.prediction/1
    PREDICTION_SCHEMA as PREDICTION_SCHEMA,
)
from ilpkit.stats.prediction_results import Calibration as Calibration
from ilpkit.stats.prediction_results import CalibrationGroup as CalibrationGroup
from ilpkit.stats.prediction_results import CovariateSeen as CovariateSeen
from ilpkit.stats.prediction_results import PredictedIncidenceAt as PredictedIncidenceAt
from ilpkit.stats.prediction_results import PredictedLocalRecurrence as PredictedLocalRecurrence
from ilpkit.stats.prediction_results import PredictedOverallSurvival as PredictedOverallSurvival
from ilpkit.stats.prediction_results import PredictedSurvivalAt as PredictedSurvivalAt
from ilpkit.stats.prediction_results import PredictionModel as PredictionModel
from ilpkit.stats.prediction_results import Prognosis as Prognosis

SCHEMA: Final = "ilpkit.results/1"

Estimate = Annotated[float | None, Field(description="Point estimate; null where undefined.")]
PValue = Annotated[
    float | None, Field(description="Two-sided p-value; null when the test could not be made.")
]
Statistic = Annotated[
    float | None,
    Field(description="Chi-squared test statistic; null for Fisher's exact test or no test."),
]
DegreesOfFreedom = Annotated[
    int | None, Field(description="Degrees of freedom; null for Fisher's exact test or no test.")
]
TestNote = Annotated[
    str | None,
    Field(
        description="Why the comparison could not be made (e.g. 'no deaths', 'only one level "
        "present (yes)'); null when the test was made."
    ),
]


# ---------------------------------------------------------------------------- building blocks


class Proportion(ResultsModel):
    """A proportion k/n with the exact Clopper-Pearson 95% interval (R ``binom.test``)."""

    k: int = Field(description="Number of records with the outcome.")
    n: int = Field(description="Number of records (the denominator).")
    estimate: float | None = Field(description="k / n as a fraction (0-1); null when n = 0.")
    ci95: CI95


class SurvivalAt(ResultsModel):
    """Kaplan-Meier survival at one time, with the log-log 95% interval (R ``survfit``,
    ``summary(fit, times =)``)."""

    estimate: float | None = Field(
        description="Survival (0-1). Beyond the last follow-up: 0 when every patient of the group "
        "has had the event, otherwise null (unknown)."
    )
    ci95: CI95
    n_at_risk: int = Field(description="Number at risk at that time.")


class IncidenceAt(ResultsModel):
    """Cumulative incidence at one time: Aalen-Johansen estimate with the variance of R
    ``cmprsk::cuminc``/``timepoints`` and a log(-log) 95% interval (Choudhury 2002)."""

    estimate: float | None = Field(
        description="Cumulative incidence (0-1); null beyond the last follow-up unless it can no "
        "longer change."
    )
    variance: float | None = Field(description="Variance of the estimate (cmprsk).")
    ci95: CI95


class MedianTime(ResultsModel):
    """A median time in years with its 95% interval (Brookmeyer-Crowley)."""

    estimate: float | None = Field(description="Median in years; null when not reached.")
    ci95: CI95


class MedianFollowUp(MedianTime):
    """Median follow-up in years by the reverse Kaplan-Meier method."""

    method: str = Field(description="How the median follow-up was estimated.")


class ComparisonTest(ResultsModel):
    """A test comparing the subgroups of one variable (log-rank or Gray's test)."""

    statistic: Statistic
    df: DegreesOfFreedom
    p: PValue
    note: TestNote


class TrendTest(ComparisonTest):
    """The log-rank test for trend across the ordered levels of a variable."""

    scores: dict[str, int] = Field(description="Score of each level (1, 2, ... in level order).")


class ChiSquaredTest(ResultsModel):
    """A chi-squared test (likelihood-ratio test of a Cox model, proportional-hazards test)."""

    statistic: float | None = Field(description="Chi-squared statistic.")
    df: int = Field(description="Degrees of freedom (number of coefficients).")
    p: float | None = Field(description="p-value.")


# ---------------------------------------------------------------------------------- cohort


class Cohort(ResultsModel):
    """Who and what was analysed: counts, accrual dates and median follow-up."""

    n_patients: int = Field(description="Number of patients.")
    n_perfusions: int = Field(description="Number of perfusions.")
    n_centers: int = Field(description="Number of centres.")
    first_ilp_date: date = Field(description="Date of the first perfusion.")
    last_ilp_date: date = Field(description="Date of the last perfusion.")
    last_followup_date: date = Field(description="Latest date of last follow-up.")
    median_followup_years: MedianFollowUp = Field(
        description="Median follow-up (reverse Kaplan-Meier, log-log 95% interval)."
    )


# -------------------------------------------------------------------------------- response


class ResponseGroup(ResultsModel):
    """Response in one level of a subgroup variable."""

    orr: Proportion = Field(description="Overall response rate (CR + PR) of evaluable perfusions.")


class ResponseComparison(ResultsModel):
    """Overall response rate by the levels of one variable, compared with Pearson's chi-squared
    test (every expected count at least 5) or Fisher's exact test."""

    groups: dict[str, ResponseGroup] = Field(description="Each level in clinical order.")
    n_missing: int = Field(description="Evaluable perfusions with the variable not recorded.")
    test: Literal["chi2", "fisher"] | None = Field(
        description="The test used; null when no test could be made."
    )
    statistic: Statistic
    df: DegreesOfFreedom
    p: PValue
    note: TestNote


class Response(ResultsModel):
    """Best WHO tumour response per perfusion, with exact 95% intervals."""

    unit: Literal["perfusion"] = Field(description="What is counted.")
    n_evaluable: int = Field(description="Perfusions with an evaluable response (CR, PR, NC, PD).")
    n_not_evaluable: int = Field(description="Perfusions whose response was not evaluable (NE).")
    n_missing: int = Field(description="Perfusions with no response recorded.")
    cr: Proportion = Field(description="Complete response.")
    pr: Proportion = Field(description="Partial response.")
    nc: Proportion = Field(description="No change.")
    pd: Proportion = Field(description="Progressive disease.")
    orr: Proportion = Field(description="Overall response rate (CR + PR).")
    by: dict[str, ResponseComparison] = Field(
        description="Overall response rate by subgroup variable."
    )


# ------------------------------------------------------------------------ overall survival


class SurvivalGroup(ResultsModel):
    """Kaplan-Meier survival of one level of a subgroup variable."""

    n: int = Field(description="Number of patients.")
    events: int = Field(description="Number of deaths.")
    at_years: dict[str, SurvivalAt] = Field(description="Survival at each reported year.")
    median_years: MedianTime = Field(description="Median survival in years.")


class SurvivalComparison(ResultsModel):
    """Survival by the levels of one variable with the log-rank test (and the test for trend
    for ordered variables)."""

    absent_when_none: ClassVar[tuple[str, ...]] = ("trend",)

    groups: dict[str, SurvivalGroup] = Field(description="Each level in clinical order.")
    n_missing: int = Field(description="Patients with the variable not recorded.")
    logrank: ComparisonTest = Field(description="Log-rank test across the levels.")
    trend: TrendTest | None = Field(
        default=None,
        description="Log-rank test for trend (ordered variables with three or more levels "
        "only; absent otherwise).",
    )


class CoxTerm(ResultsModel):
    """One coefficient of a Cox model."""

    coef: float | None = Field(description="Log hazard ratio.")
    se: float | None = Field(description="Standard error of the coefficient.")
    hr: float | None = Field(description="Hazard ratio, exp(coef).")
    ci95: CI95
    z: float | None = Field(description="Wald z statistic.")
    p: float | None = Field(description="Wald p-value.")


class ProportionalHazardsTest(ResultsModel):
    """Score test of proportional hazards on scaled Schoenfeld residuals (R ``cox.zph``)."""

    transform: str = Field(description="Time transform (``km``).")
    rows: dict[str, ChiSquaredTest] = Field(
        description="The test of each term and the global test (``GLOBAL``)."
    )


class ProportionalHazardsTestError(ResultsModel):
    """The proportional-hazards test could not be computed."""

    error: str = Field(description="Why.")


class _CoxModelBase(ResultsModel):
    """What every Cox model has, estimated or not."""

    absent_when_none: ClassVar[tuple[str, ...]] = ("univariable",)

    ties: Literal["efron", "breslow"] = Field(description="Method for tied death times.")
    n: int = Field(description="Patients in the model.")
    events: int = Field(description="Deaths in the model.")
    n_excluded: int = Field(description="Patients left out for a missing value of a term.")

    def univariable_terms(self) -> dict[str, CoxTerm]:
        """The coefficients of every univariable model, in term order."""
        out: dict[str, CoxTerm] = {}
        for model in (getattr(self, "univariable", None) or {}).values():
            out.update(model.terms)
        return out

    def all_reference_levels(self) -> dict[str, str]:
        """Reference levels of this model and of its univariable models."""
        refs: dict[str, str] = {}
        models = [self, *(getattr(self, "univariable", None) or {}).values()]
        for model in models:
            if isinstance(model, CoxModel):
                refs.update(model.reference_levels)
        return refs


class CoxModel(_CoxModelBase):
    """A Cox proportional-hazards model of overall survival (Efron or Breslow ties)."""

    absent_when_unset: ClassVar[tuple[str, ...]] = ("concordance", "concordance_se")

    reference_levels: dict[str, str] = Field(
        description="Reference level of each categorical term (treatment contrasts)."
    )
    terms: dict[str, CoxTerm] = Field(
        description="Coefficients: numeric and yes/no terms by name, categorical ones as "
        "``NAME[LEVEL]``."
    )
    loglik: float | None = Field(description="Log partial likelihood of the model.")
    loglik_null: float | None = Field(description="Log partial likelihood with no terms.")
    lr_test: ChiSquaredTest = Field(description="Likelihood-ratio test of the model.")
    converged: bool = Field(description="Whether the Newton-Raphson iterations converged.")
    concordance: float | None = Field(
        default=None,
        description="Harrell's C of the linear predictor (R ``concordance(coxph)``: ties in "
        'the predictor count 1/2, ``timewt = "n"``); null when no pair of patients is '
        "comparable. Multivariable model only (absent in the univariable models).",
    )
    concordance_se: float | None = Field(
        default=None,
        description="Standard error of ``concordance`` (R: ``sqrt(var)``, infinitesimal "
        "jackknife). Multivariable model only.",
    )
    ph_test: ProportionalHazardsTest | ProportionalHazardsTestError = Field(
        description="Test of proportional hazards, or why it could not be computed."
    )
    note: None = Field(description="Always null for an estimated model.")
    univariable: dict[str, CoxModel | CoxModelNotEstimable] | None = Field(
        default=None,
        description="One model per term (multivariable model only; absent in those models).",
    )


class CoxModelNotEstimable(_CoxModelBase):
    """A Cox model that could not be estimated (no deaths, a term with one level, collinear
    terms, no patient with every term recorded)."""

    terms: dict[str, CoxTerm] = Field(description="Always empty.")
    error: str = Field(description="Why the model could not be estimated.")
    note: str = Field(description="``not estimable: `` and the reason.")
    univariable: dict[str, CoxModel | CoxModelNotEstimable] | None = Field(
        default=None,
        description="One model per term (multivariable model only; absent in those models).",
    )


class OverallSurvival(ResultsModel):
    """Overall survival per patient from the first perfusion (Kaplan-Meier, log-rank, Cox)."""

    absent_when_none: ClassVar[tuple[str, ...]] = ("landmark",)

    unit: Literal["patient"] = Field(description="What is counted.")
    n: int = Field(description="Number of patients.")
    events: int = Field(description="Number of deaths.")
    at_years: dict[str, SurvivalAt] = Field(description="Survival at each reported year.")
    median_years: MedianTime = Field(description="Median survival in years.")
    by: dict[str, SurvivalComparison] = Field(description="Survival by subgroup variable.")
    cox: CoxModel | CoxModelNotEstimable | None = Field(
        default=None,
        description="Multivariable Cox model with its univariable models; an empty object "
        "when no term was asked for.",
    )
    landmark: LandmarkSurvival | None = Field(
        default=None,
        description="Survival by the post-baseline factors asked for, as a landmark analysis "
        "(absent unless one was asked for).",
    )

    @field_validator("cox", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if value == {} else value

    @field_serializer("cox", mode="wrap")
    def _none_is_empty(self, value: Any, handler: SerializerFunctionWrapHandler):
        return {} if value is None else handler(value)


# ------------------------------------------------------------------------ local recurrence


class RecurrenceGroup(ResultsModel):
    """Local recurrence in one level of a subgroup variable."""

    crude: Proportion = Field(description="Crude local recurrence rate.")
    at_years: dict[str, IncidenceAt] = Field(
        description="Cumulative incidence at each reported year."
    )


class RecurrenceComparison(ResultsModel):
    """Local recurrence by the levels of one variable with Gray's test."""

    groups: dict[str, RecurrenceGroup] = Field(description="Each level in clinical order.")
    n_missing: int = Field(description="Perfusions with the variable not recorded.")
    gray: ComparisonTest = Field(description="Gray's k-sample test (rho = 0).")


class FineGrayTerm(ResultsModel):
    """One coefficient of a Fine-Gray model (R ``cmprsk::crr``)."""

    coef: float | None = Field(description="Log subdistribution hazard ratio.")
    se: float | None = Field(description="Standard error (crr's sandwich variance).")
    sdhr: float | None = Field(description="Subdistribution hazard ratio, exp(coef).")
    ci95: CI95
    z: float | None = Field(description="Wald z statistic.")
    p: float | None = Field(description="Wald p-value, 2 (1 - Phi(|z|)).")


class CauseSpecificCox(ResultsModel):
    """Cause-specific Cox model of local recurrence (death without local recurrence censored;
    R ``coxph``), the companion of the Fine-Gray model."""

    ties: Literal["efron", "breslow"] = Field(description="Method for tied times.")
    terms: dict[str, CoxTerm] = Field(description="Coefficients, named as the Fine-Gray terms.")


class _FineGrayBase(ResultsModel):
    """What every Fine-Gray model has, estimated or not."""

    n: int = Field(description="Perfusions in the model.")
    events: int = Field(description="Local recurrences (the event of interest).")
    competing_events: int = Field(description="Deaths without local recurrence.")
    n_excluded: int = Field(description="Perfusions left out for a missing value of a term.")


class FineGrayModel(_FineGrayBase):
    """Fine-Gray proportional subdistribution hazards model of local recurrence, death without
    local recurrence competing, time from the perfusion (R ``cmprsk::crr``)."""

    reference_levels: dict[str, str] = Field(
        description="Reference level of each categorical term (treatment contrasts)."
    )
    terms: dict[str, FineGrayTerm] = Field(
        description="Coefficients: numeric and yes/no terms by name, categorical ones as "
        "``NAME[LEVEL]``."
    )
    loglik: float | None = Field(description="Log pseudo-likelihood of the model.")
    loglik_null: float | None = Field(description="Log pseudo-likelihood with no terms.")
    converged: bool = Field(description="Whether crr's Newton-Raphson converged.")
    cause_specific: CauseSpecificCox | None = Field(
        description="Cause-specific Cox model of the same terms; null when not estimable."
    )
    note: None = Field(description="Always null for an estimated model.")


class FineGrayModelNotEstimable(_FineGrayBase):
    """A Fine-Gray model that could not be estimated (no local recurrence, a constant term, a
    term with one level, collinear terms, no perfusion with every term recorded)."""

    terms: dict[str, FineGrayTerm] = Field(description="Always empty.")
    error: str = Field(description="Why the model could not be estimated.")
    note: str = Field(description="``not estimable: `` and the reason.")


class LocalRecurrence(ResultsModel):
    """Local recurrence per perfusion, death without local recurrence competing."""

    absent_when_none: ClassVar[tuple[str, ...]] = ("fine_gray", "landmark")

    unit: Literal["perfusion"] = Field(description="What is counted.")
    competing_risk: Literal["death"] = Field(description="The competing event.")
    crude: Proportion = Field(description="Crude local recurrence rate.")
    deaths_without_lr: int = Field(description="Deaths without local recurrence.")
    at_years: dict[str, IncidenceAt] = Field(
        description="Cumulative incidence at each reported year."
    )
    by: dict[str, RecurrenceComparison] = Field(
        description="Local recurrence by subgroup variable."
    )
    fine_gray: FineGrayModel | FineGrayModelNotEstimable | None = Field(
        default=None,
        description="Fine-Gray model of the terms asked for (``ilp analyze --fine-gray``); "
        "absent when none was asked for.",
    )
    landmark: LandmarkRecurrence | None = Field(
        default=None,
        description="Local recurrence by the post-baseline factors (response, resection "
        "margin, adjuvant radiotherapy, pathological necrosis), as a landmark analysis.",
    )


# ------------------------------------------------------------------------------ landmark

Variance = Literal["model-based", "robust, clustered on patient"]


class LandmarkRecurrence(ResultsModel):
    """Local recurrence by factors known only after the perfusion, from a landmark: perfusions
    still followed and free of local recurrence and death at the landmark, time measured from
    the landmark, each factor as known then (docs/methods.md, Landmark analyses)."""

    unit: Literal["perfusion"] = Field(description="What is counted.")
    landmark_months: float = Field(description="The landmark, months after the perfusion.")
    competing_risk: Literal["death"] = Field(description="The competing event.")
    n: int = Field(description="Perfusions at risk at the landmark.")
    n_excluded: int = Field(
        description="Perfusions left out: local recurrence, death or end of follow-up on or "
        "before the landmark."
    )
    variance: Variance = Field(
        description="Variance of the Cox models: robust (Lin & Wei 1989, R ``coxph(cluster = "
        "patient)``) when any patient has more than one perfusion in the analysis."
    )
    patients_with_repeat_perfusions: int = Field(
        description="Patients with more than one perfusion in the analysis."
    )
    by: dict[str, RecurrenceComparison] = Field(
        description="Cumulative incidence by each factor as known at the landmark, Gray's test."
    )
    cox: dict[str, CoxModel | CoxModelNotEstimable] = Field(
        description="Cause-specific Cox model of local recurrence (death censored) of each "
        "factor; ``n`` counts perfusions and ``events`` local recurrences."
    )
    not_recorded: dict[str, str] = Field(
        description="Factors that cannot be analysed in this registry, with the reason."
    )


class LandmarkSurvival(ResultsModel):
    """Overall survival by factors known only after the perfusion, from a landmark (asked for
    with ``--by``/``--cox`` of a post-baseline factor and ``--landmark-months``)."""

    unit: Literal["patient"] = Field(description="What is counted.")
    landmark_months: float = Field(description="The landmark, months after the first perfusion.")
    n: int = Field(description="Patients alive and followed at the landmark.")
    n_excluded: int = Field(
        description="Patients left out: death or end of follow-up on or before the landmark."
    )
    by: dict[str, SurvivalComparison] = Field(
        description="Survival by each factor as known at the landmark (log-rank)."
    )
    cox: CoxModel | CoxModelNotEstimable | None = Field(
        default=None,
        description="Cox model of the requested terms from the landmark; an empty object when "
        "no post-baseline term was asked for.",
    )
    not_recorded: dict[str, str] = Field(
        description="Factors that cannot be analysed in this registry, with the reason."
    )

    @field_validator("cox", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if value == {} else value

    @field_serializer("cox", mode="wrap")
    def _none_is_empty(self, value: Any, handler: SerializerFunctionWrapHandler):
        return {} if value is None else handler(value)


# ---------------------------------------------------------------------- distant metastasis


class MetastasisFreeSurvival(ResultsModel):
    """Metastasis-free survival per patient (Kaplan-Meier): distant metastasis or death."""

    unit: Literal["patient"] = Field(description="What is counted.")
    n: int = Field(description="Number of patients.")
    events: int = Field(description="Distant metastases or deaths.")
    at_years: dict[str, SurvivalAt] = Field(description="Survival at each reported year.")
    median_years: MedianTime = Field(description="Median metastasis-free survival in years.")


class SarcomaSpecificSurvival(ResultsModel):
    """Sarcoma-specific survival per patient (Kaplan-Meier): death from sarcoma is the event,
    deaths from other causes are censored at death."""

    unit: Literal["patient"] = Field(description="What is counted.")
    n: int = Field(description="Patients in the main analysis.")
    events: int = Field(description="Deaths from sarcoma.")
    deaths_other_cause: int = Field(description="Deaths from other causes (censored).")
    deaths_unknown_cause: int = Field(
        description="Deaths of unknown or unrecorded cause: left out of the main analysis."
    )
    unknown_cause: Literal["excluded"] = Field(
        description="Handling of deaths of unknown cause in the main analysis."
    )
    at_years: dict[str, SurvivalAt] = Field(description="Survival at each reported year.")
    median_years: MedianTime = Field(description="Median in years.")
    sensitivity_unknown_as_sarcoma: SurvivalGroup = Field(
        description="Sensitivity analysis: every patient, deaths of unknown cause counted as "
        "deaths from sarcoma."
    )


class NotRecorded(ResultsModel):
    """An analysis the registry cannot support, with the reason."""

    not_recorded: str = Field(description="Why (e.g. no cause of death recorded).")


class DistantMetastasis(ResultsModel):
    """Distant metastasis per patient from the first perfusion: cumulative incidence with death
    competing, metastasis-free survival and sarcoma-specific survival."""

    unit: Literal["patient"] = Field(description="What is counted.")
    competing_risk: Literal["death"] = Field(description="The competing event.")
    n: int = Field(description="Number of patients.")
    crude: Proportion = Field(description="Patients with a distant metastasis.")
    deaths_without_metastasis: int = Field(description="Deaths without distant metastasis.")
    at_years: dict[str, IncidenceAt] = Field(
        description="Cumulative incidence of distant metastasis at each reported year."
    )
    metastasis_free_survival: MetastasisFreeSurvival = Field(
        description="Metastasis-free survival."
    )
    sarcoma_specific_survival: SarcomaSpecificSurvival | NotRecorded = Field(
        description="Sarcoma-specific survival, or why it cannot be estimated."
    )


# ---------------------------------------------------------------------------- limb salvage


class AmputationFreeSurvival(ResultsModel):
    """Amputation-free survival per perfusion (Kaplan-Meier)."""

    unit: Literal["perfusion"] = Field(description="What is counted.")
    n: int = Field(description="Number of perfusions.")
    events: int = Field(description="Amputations or deaths.")
    at_years: dict[str, SurvivalAt] = Field(description="Survival at each reported year.")


class LimbSalvage(ResultsModel):
    """Limb salvage per perfusion and per patient, and amputation-free survival."""

    per_perfusion: Proportion = Field(description="Perfusions not followed by an amputation.")
    per_patient: Proportion = Field(description="Patients never amputated.")
    amputation_free_survival: AmputationFreeSurvival = Field(
        description="Amputation-free survival."
    )


# ------------------------------------------------------------------------------- toxicity


class GradeDistribution(ResultsModel):
    """How many records have each grade of a scale, with exact 95% intervals."""

    n: int = Field(description="Perfusions with a grade recorded (the denominator).")
    n_missing: int = Field(description="Perfusions without a grade recorded (left out).")
    grades: dict[str, Proportion] = Field(
        description="Each grade of the scale in order (all grades of the scale, also those "
        "nobody has)."
    )


class ToxicityAssociation(ResultsModel):
    """Rate of severe regional toxicity by the levels of one variable: Pearson's chi-squared
    test (every expected count at least 5) or Fisher's exact test of the 2 x k table, and for
    ordered variables the Cochran-Armitage test for trend (scores 1, 2, ... in level order)."""

    ordered: bool = Field(description="Whether the levels are ordered (trend test made).")
    definition: str = Field(description="How the levels are formed, with the source.")
    groups: dict[str, Proportion] = Field(
        description="Severe toxicity (k of n perfusions with a grade recorded) in each level."
    )
    n_missing: int = Field(description="Perfusions with a grade but the variable not recorded.")
    test: Literal["chi2", "fisher"] | None = Field(
        description="The test of the 2 x k table; null when no test could be made."
    )
    statistic: Statistic
    df: DegreesOfFreedom
    p: PValue
    note: TestNote
    trend: ComparisonTest | None = Field(
        description="Cochran-Armitage test for trend (R ``prop.trend.test``); null for an "
        "unordered variable."
    )


class LogisticTerm(ResultsModel):
    """One coefficient of a logistic model."""

    coef: float | None = Field(description="Log odds ratio.")
    se: float | None = Field(description="Standard error of the coefficient.")
    odds_ratio: float | None = Field(description="exp(coef).")
    ci95: CI95 = Field(description="Wald 95% interval of the odds ratio.")
    z: float | None = Field(description="Wald z statistic.")
    p: float | None = Field(description="Wald p-value.")


class LogisticModel(ResultsModel):
    """Logistic model of severe regional toxicity (R ``glm(family = binomial)``), estimated
    only where the data allow (enough events per term)."""

    outcome: str = Field(description="The modelled outcome.")
    terms_requested: list[str] = Field(description="Terms asked for, in order.")
    terms_dropped: dict[str, str] = Field(
        description="Terms left out before fitting, each with the reason (e.g. one level only)."
    )
    n: int = Field(description="Perfusions in the model.")
    events: int = Field(description="Perfusions with the outcome in the model.")
    n_excluded: int = Field(
        description="Perfusions with a grade recorded left out for a missing term value."
    )
    min_events_per_term: int = Field(
        description="Events (or non-events, the fewer) needed per term to fit the model."
    )
    intercept: LogisticTerm | None = Field(description="The intercept; null when not estimated.")
    terms: dict[str, LogisticTerm] = Field(
        description="Coefficients by term (numbers per unit; yes/no and two-level terms as "
        "``NAME[LEVEL]`` against the first level); empty when not estimated."
    )
    deviance: float | None = Field(description="Residual deviance.")
    null_deviance: float | None = Field(description="Deviance of the intercept-only model.")
    aic: float | None = Field(description="Akaike information criterion (as R).")
    lr_test: ChiSquaredTest | None = Field(
        description="Likelihood-ratio test of all terms; null when not estimated."
    )
    note: str | None = Field(
        description="``not estimable: `` and the reason; null for an estimated model."
    )


class Toxicity(ResultsModel):
    """Regional toxicity (Wieberdink), systemic toxicity (CTCAE) and surgical complications
    (Clavien-Dindo) per perfusion."""

    unit: Literal["perfusion"] = Field(description="What is counted.")
    wieberdink: GradeDistribution = Field(
        description="Wieberdink regional toxicity grades I-V (keys ``I`` ... ``V``)."
    )
    severe_threshold: str = Field(description="Lowest Wieberdink grade counted as severe (IV).")
    severe: Proportion = Field(description="Perfusions with severe regional toxicity.")
    associations: dict[str, ToxicityAssociation] = Field(
        description="Severe regional toxicity by TNF dose group, melphalan per litre, leakage, "
        "tissue temperature and limb."
    )
    model: LogisticModel = Field(description="Logistic model of severe regional toxicity.")
    ctcae_version: str = Field(description="CTCAE version of the systemic toxicity grades.")
    systemic: GradeDistribution = Field(
        description="Worst systemic toxicity, CTCAE grades 0-5 (keys ``0`` ... ``5``)."
    )
    systemic_grade_3_or_more: Proportion = Field(description="CTCAE grade 3 or higher.")
    complications: GradeDistribution = Field(
        description="Worst surgical complication, Clavien-Dindo (keys ``0``, ``I`` ... ``V``)."
    )
    complications_grade_3_or_more: Proportion = Field(
        description="Clavien-Dindo grade IIIa or higher (intervention, intensive care, death)."
    )


# ------------------------------------------------------------------------------- TNF dose


class TnfDoseGroupResult(ResultsModel):
    """Response and severe regional toxicity in one TNF dose group."""

    definition: str = Field(description="Which doses the group holds.")
    n: int = Field(description="Perfusions in the group.")
    orr: Proportion = Field(description="Overall response (CR + PR) of evaluable perfusions.")
    cr: Proportion = Field(description="Complete response of evaluable perfusions.")
    severe_toxicity: Proportion = Field(
        description="Severe regional toxicity of perfusions with a grade recorded."
    )


class GroupTest(ResultsModel):
    """Pearson's chi-squared or Fisher's exact test of a 2 x k table."""

    test: Literal["chi2", "fisher"] | None = Field(
        description="The test used; null when no test could be made."
    )
    statistic: Statistic
    df: DegreesOfFreedom
    p: PValue
    note: TestNote


class TnfDose(ResultsModel):
    """Outcomes by TNF dose group (the Rotterdam 3-4 mg versus 1-2 mg comparison)."""

    unit: Literal["perfusion"] = Field(description="What is counted.")
    cut_mg: float = Field(description="Doses up to and including this (mg) form the low group.")
    source: str = Field(description="Where the grouping comes from.")
    n_missing: int = Field(description="Perfusions without a TNF dose (none: it is required).")
    groups: dict[str, TnfDoseGroupResult] = Field(description="Each dose group, low first.")
    orr_test: GroupTest = Field(description="Overall response by dose group.")
    cr_test: GroupTest = Field(description="Complete response by dose group.")
    severe_toxicity_test: GroupTest = Field(description="Severe regional toxicity by group.")
    local_recurrence: RecurrenceComparison = Field(
        description="Cumulative incidence of local recurrence (death competing) by dose group, "
        "with Gray's test."
    )


# ----------------------------------------------------------------------------------- whole


class AnalysisResults(ResultsModel):
    """The outcome study of a registry (schema ``ilpkit.results/1``); a section is absent
    when its endpoint was not analysed."""

    absent_when_none: ClassVar[tuple[str, ...]] = (
        "response",
        "overall_survival",
        "local_recurrence",
        "limb_salvage",
        "toxicity",
        "tnf_dose",
        "distant_metastasis",
    )

    schema_: Literal["ilpkit.results/1"] = Field(
        alias="schema", description="Schema name and version."
    )
    synthetic: bool = Field(
        description="True for a registry made by ``ilp synth`` (no real patient)."
    )
    cohort: Cohort = Field(description="Counts, dates and follow-up.")
    response: Response | None = Field(default=None, description="Tumour response.")
    overall_survival: OverallSurvival | None = Field(default=None, description="Overall survival.")
    local_recurrence: LocalRecurrence | None = Field(default=None, description="Local recurrence.")
    limb_salvage: LimbSalvage | None = Field(default=None, description="Limb salvage.")
    toxicity: Toxicity | None = Field(
        default=None, description="Regional and systemic toxicity and complications."
    )
    tnf_dose: TnfDose | None = Field(default=None, description="Outcomes by TNF dose group.")
    distant_metastasis: DistantMetastasis | None = Field(
        default=None,
        description="Distant metastasis, metastasis-free and sarcoma-specific survival.",
    )

    model_config = ConfigDict(extra="forbid", populate_by_name=True, serialize_by_alias=True)

    def to_json_dict(self) -> dict[str, Any]:
        """The object as JSON types (what ``results.json`` and ``ilp analyze --json`` hold)."""
        data: dict[str, Any] = self.model_dump(mode="json")
        return data


LocalRecurrence.model_rebuild()
OverallSurvival.model_rebuild()
