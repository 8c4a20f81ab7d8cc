"""The prediction object ``ilpkit.prediction/1`` (``ilp predict``) as typed models.

:func:`ilpkit.stats.prognosis.predict` returns a :class:`Prognosis`; ``ilp predict --json`` is
its ``model_dump(mode="json")``. docs/results-schema.md (section "Prediction schema") describes
the same object and a test checks that it names every field of these models.

Apart from the outcome study's models (:mod:`ilpkit.stats.results`, which re-exports these
names) so that ``ilp predict`` builds only its own nine models: importing all the results
models took about 0.03 s in ``ilp predict``, the prediction models about 0.01 s
(``python -X importtime``, docs/performance.md).
"""

from __future__ import annotations

from typing import Any, ClassVar, Final, Literal

from pydantic import ConfigDict, Field

from ilpkit.stats._results_base import CI95, ResultsModel

__all__ = [
    "PREDICTION_SCHEMA",
    "Calibration",
    "CalibrationGroup",
    "CovariateSeen",
    "PredictedIncidenceAt",
    "PredictedLocalRecurrence",
    "PredictedOverallSurvival",
    "PredictedSurvivalAt",
    "PredictionModel",
    "Prognosis",
]

PREDICTION_SCHEMA: Final = "ilpkit.prediction/1"


class PredictedSurvivalAt(ResultsModel):
    """Predicted overall survival at one time for the given covariates (R
    ``summary(survfit(coxph, newdata), times)``, log-type 95% interval)."""

    estimate: float | None = Field(
        description="Predicted survival (0-1); null after the last follow-up of the registry."
    )
    ci95: CI95


class PredictedIncidenceAt(ResultsModel):
    """Predicted cumulative incidence at one time (R ``predict.crr``: the step value at or
    before the time)."""

    estimate: float | None = Field(
        description="Predicted cumulative incidence (0-1); null after the last follow-up."
    )


class PredictedOverallSurvival(ResultsModel):
    """Overall survival predicted by a Cox model (Efron ties) of the registry's patients."""

    unit: Literal["patient"] = Field(description="What the model counts.")
    at_years: dict[str, PredictedSurvivalAt] = Field(description="Prediction at each year.")
    note: str | None = Field(description="Why there is no prediction; null when there is one.")


class PredictedLocalRecurrence(ResultsModel):
    """Cumulative incidence of local recurrence predicted by a Fine-Gray model (death without
    local recurrence competing) of the registry's perfusions."""

    unit: Literal["perfusion"] = Field(description="What the model counts.")
    competing_risk: Literal["death"] = Field(description="The competing event.")
    n: int = Field(description="Perfusions in the Fine-Gray model.")
    events: int = Field(description="Local recurrences in the model.")
    competing_events: int = Field(description="Deaths without local recurrence in the model.")
    at_years: dict[str, PredictedIncidenceAt] = Field(description="Prediction at each year.")
    note: str | None = Field(description="Why there is no prediction; null when there is one.")


class CovariateSeen(ResultsModel):
    """What the registry's model data hold for one input: the value given and the range or
    levels seen (a prediction outside them is refused)."""

    value: float | str = Field(description="The value given.")
    minimum: float | None = Field(description="Smallest value seen (numeric inputs).")
    maximum: float | None = Field(description="Largest value seen (numeric inputs).")
    levels: list[str] | None = Field(description="Levels seen (categorical inputs).")


class PredictionModel(ResultsModel):
    """The Cox model of overall survival behind the prediction."""

    n: int = Field(description="Patients in the Cox model (every term recorded).")
    events: int = Field(description="Deaths in the Cox model.")
    terms: list[str] = Field(description="Model terms.")
    columns: list[str] = Field(description="Design-matrix columns (a factor's dummies).")
    ties: Literal["efron"] = Field(description="Method for tied death times.")
    concordance: float | None = Field(
        description="Harrell's C of the Cox model (R ``concordance(coxph)``), in-sample."
    )
    concordance_se: float | None = Field(description="Standard error of ``concordance``.")


class CalibrationGroup(ResultsModel):
    """One group of patients by predicted 5-year risk."""

    n: int = Field(description="Patients in the group.")
    events: int = Field(description="Deaths in the group.")
    predicted: float | None = Field(description="Mean predicted 5-year survival.")
    observed: float | None = Field(
        description="Kaplan-Meier 5-year survival; null when the group's follow-up is shorter."
    )
    observed_ci95: CI95


class Calibration(ResultsModel):
    """Apparent (in-sample) calibration of the predicted 5-year survival."""

    years: int = Field(description="The time calibrated (years).")
    grouping: Literal["quintiles", "tertiles"] = Field(
        description="Groups of predicted risk: quintiles with at least 50 deaths, else tertiles."
    )
    groups: list[CalibrationGroup] = Field(description="From lowest to highest predicted risk.")


class Prognosis(ResultsModel):
    """``ilp predict``: overall survival and local recurrence predicted for one patient
    (schema ``ilpkit.prediction/1``)."""

    absent_when_none: ClassVar[tuple[str, ...]] = ("calibration",)

    schema_: Literal["ilpkit.prediction/1"] = Field(
        alias="schema", description="Schema name and version."
    )
    synthetic: bool = Field(description="True for a registry made by ``ilp synth``.")
    covariates: dict[str, CovariateSeen] = Field(
        description="Each input with the range or levels seen in the registry."
    )
    overall_survival: PredictedOverallSurvival = Field(description="Predicted survival.")
    local_recurrence: PredictedLocalRecurrence = Field(
        description="Predicted cumulative incidence of local recurrence."
    )
    model: PredictionModel | None = Field(
        description="The Cox model; null when it could not be estimated."
    )
    limits: list[str] = Field(description="What the prediction does not account for.")
    calibration: Calibration | None = Field(
        default=None, description="Calibration of 5-year survival (with --calibration-plot)."
    )

    model_config = ConfigDict(extra="forbid", populate_by_name=True, serialize_by_alias=True)

    def to_json_dict(self) -> dict[str, Any]:
        """The object as JSON types (what ``ilp predict --json`` prints)."""
        data: dict[str, Any] = self.model_dump(mode="json")
        return data
