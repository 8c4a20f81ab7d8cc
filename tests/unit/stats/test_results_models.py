"""The typed results models of ``ilp analyze`` and of ``ilp predict``: documented field by field,
refusing unknown keys, and described by docs/results-schema.md (every field named there, every
key there a field)."""

from __future__ import annotations

import re
from pathlib import Path
from types import ModuleType

import pytest
from pydantic import BaseModel, ValidationError

from ilpkit.stats import prediction_results as prediction
from ilpkit.stats import results as models

DOC = Path(__file__).resolve().parents[3] / "docs" / "results-schema.md"
VALUES_IN_DOC = {"1", "2", "5", "GLOBAL", "chi2", "fisher", "death", "patient", "perfusion"}
"""Quoted words of the schema block that are values or example keys, not field names."""


def _models(module: ModuleType = models) -> list[type[BaseModel]]:
    return [
        obj
        for obj in vars(module).values()
        if isinstance(obj, type)
        and issubclass(obj, BaseModel)
        and obj.__module__ == module.__name__
        and not obj.__name__.startswith("_")
        and obj is not models.ResultsModel
    ]


def _field_names(module: ModuleType = models) -> set[str]:
    return {info.alias or name for m in _models(module) for name, info in m.model_fields.items()}


@pytest.mark.parametrize("module", [models, prediction], ids=["results", "prediction"])
def test_every_field_has_a_description_and_every_model_a_docstring(module):
    for model in _models(module):
        assert model.__doc__ and model.__doc__.strip(), model.__name__
        for name, info in model.model_fields.items():
            assert info.description, f"{model.__name__}.{name}"


def test_json_schema_lists_the_sections_with_descriptions():
    schema = models.AnalysisResults.model_json_schema(mode="serialization")
    assert list(schema["properties"]) == [
        "schema",
        "synthetic",
        "cohort",
        "response",
        "overall_survival",
        "local_recurrence",
        "limb_salvage",
        "toxicity",
        "tnf_dose",
        "distant_metastasis",
    ]
    assert schema["required"] == ["schema", "synthetic", "cohort"]
    comparison = schema["$defs"]["ResponseComparison"]
    assert comparison["additionalProperties"] is False
    assert "could not be made" in comparison["properties"]["note"]["description"]


def test_unknown_keys_are_refused():
    with pytest.raises(ValidationError, match="extra"):
        models.Proportion.model_validate(
            {"k": 1, "n": 2, "estimate": 0.5, "ci95": [0.01, 0.99], "percent": 50}
        )


def test_doc_names_every_field_and_only_fields():
    text = DOC.read_text(encoding="utf-8")
    block = text.split("```")[1]
    in_block = set(re.findall(r'"([A-Za-z_0-9]+)"', block))
    in_doc = set(re.findall(r'"([A-Za-z_0-9]+)"', text))
    fields = _field_names()
    assert fields - in_doc == set(), "fields the doc does not name"
    assert in_block - fields - VALUES_IN_DOC == set(), "keys in the doc that are no field"


# The models of ``ilp predict`` (schema ``ilpkit.prediction/1``) live in their own module, so that
# the command builds only them; ``ilpkit.stats.results`` re-exports them.
PREDICTION_VALUES_IN_DOC = {"1", "2", "5", "patient", "perfusion", "death", "quintiles", "tertiles"}
"""Quoted words of the prediction block that are values or example keys, not field names."""


def test_the_prediction_models_are_found_and_re_exported():
    found = _models(prediction)
    assert prediction.Prognosis in found
    assert len(found) == len(prediction.__all__) - 1  # all but PREDICTION_SCHEMA
    for name in prediction.__all__:
        assert getattr(models, name) is getattr(prediction, name), name


def test_prediction_models_refuse_unknown_keys():
    with pytest.raises(ValidationError, match="extra"):
        prediction.PredictedSurvivalAt.model_validate(
            {"estimate": 0.5, "ci95": [0.4, 0.6], "percent": 50}
        )


def test_prediction_doc_block_names_every_field_and_only_fields():
    section = DOC.read_text(encoding="utf-8").split("## Prediction schema")[1]
    block = section.split("```")[1]
    in_block = set(re.findall(r'"([A-Za-z_0-9]+)"', block))
    fields = _field_names(prediction)
    assert fields - in_block == set(), "fields the doc does not name"
    assert in_block - fields - PREDICTION_VALUES_IN_DOC == set(), (
        "keys in the doc that are no field"
    )
