"""The API's patient and perfusion models are the service's views: the same fields, declared
once (in ilpkit.services.access), every one typed and required in the OpenAPI document."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from ilpkit.services.access import PatientView, PerfusionView
from ilpkit.web.api_models import PatientOut, PerfusionOut


@pytest.mark.parametrize(
    ("model", "view"), [(PatientOut, PatientView), (PerfusionOut, PerfusionView)]
)
def test_model_has_the_fields_of_the_view(model, view):
    assert list(model.model_fields) == [f.name for f in dataclasses.fields(view)]


def test_models_are_typed_and_required_in_the_schema():
    perfusion = PerfusionOut.model_json_schema()
    assert perfusion["required"] == [f.name for f in dataclasses.fields(PerfusionView)]
    props = perfusion["properties"]
    assert props["ilp_date"] == {"format": "date", "title": "Ilp Date", "type": "string"}
    assert props["limb_volume_l"]["type"] == "number"
    assert props["perfusion_id"]["anyOf"] == [{"type": "string"}, {"type": "null"}]
    assert props["version"]["type"] == "integer"
    assert "send it with a change" in props["version"]["description"]
    patient = PatientOut.model_json_schema()
    assert patient["properties"]["perfusions"]["type"] == "integer"
    assert patient["description"].startswith("A patient as the user may see it")


def test_a_view_converts_to_its_model():
    view = PerfusionView(
        perfusion_id=None,
        patient_id="SYN-0001",
        ilp_date=date(2001, 3, 14),
        limb="leg",
        perfusion_level="femoral",
        limb_volume_l=8.0,
        tnf_mg=3.0,
        melphalan_mg=80.0,
        histology="liposarcoma",
        response=None,
        max_leakage_pct=0.8,
        version=2,
    )
    out = PerfusionOut(**dataclasses.asdict(view))
    assert out.model_dump()["version"] == 2
    assert out.model_dump()["ilp_date"].isoformat() == "2001-03-14"
