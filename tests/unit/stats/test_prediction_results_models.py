"""The typed models of ``ilp predict`` (schema ``ilpkit.prediction/1``): documented field by
field, refusing unknown keys, described by the "Prediction schema" section of
docs/results-schema.md (every field named there, every key there a field), and still reachable
from ``ilpkit.stats.results``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from ilpkit.stats import prediction_results as models
from ilpkit.stats import results

DOC = Path(__file__).resolve().parents[3] / "docs" / "results-schema.md"
VALUES_IN_DOC = {"1", "2", "5", "patient", "perfusion", "death", "quintiles", "tertiles"}
"""Quoted words of the schema block that are values or example keys, not field names."""


def _models() -> list[type[BaseModel]]:
    return [
        obj
        for obj in vars(models).values()
        if isinstance(obj, type)
        and issubclass(obj, BaseModel)
        and obj.__module__ == models.__name__
    ]


def _field_names() -> set[str]:
    return {info.alias or name for m in _models() for name, info in m.model_fields.items()}


def test_the_prediction_models_are_found() -> None:
    assert models.Prognosis in _models()
    assert len(_models()) == len(models.__all__) - 1  # all but PREDICTION_SCHEMA


def test_every_field_has_a_description_and_every_model_a_docstring() -> None:
    for model in _models():
        assert model.__doc__ and model.__doc__.strip(), model.__name__
        for name, info in model.model_fields.items():
            assert info.description, f"{model.__name__}.{name}"


def test_unknown_keys_are_refused() -> None:
    with pytest.raises(ValidationError, match="extra"):
        models.PredictedSurvivalAt.model_validate(
            {"estimate": 0.5, "ci95": [0.4, 0.6], "percent": 50}
        )


def test_doc_block_names_every_field_and_only_fields() -> None:
    section = DOC.read_text(encoding="utf-8").split("## Prediction schema")[1]
    block = section.split("```")[1]
    in_block = set(re.findall(r'"([A-Za-z_0-9]+)"', block))
    fields = _field_names()
    assert fields - in_block == set(), "fields the doc does not name"
    assert in_block - fields - VALUES_IN_DOC == set(), "keys in the doc that are no field"


def test_results_module_re_exports_the_same_models() -> None:
    for name in models.__all__:
        assert getattr(results, name) is getattr(models, name), name
