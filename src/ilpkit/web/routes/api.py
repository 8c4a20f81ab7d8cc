"""The JSON API's record routes under ``/api/v1``: patients and perfusions."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Query

from ilpkit.services import access
from ilpkit.services.access import Principal, PseudonymKeyMissing, RecordNotFound
from ilpkit.web.api_models import PatientDetail, PatientOut, PatientPage, PerfusionOut, fields_of
from ilpkit.web.context import MAX_PAGE, Web


def register(app: FastAPI, web: Web) -> None:
    """Add the patient and perfusion API routes to ``app``."""
    api_user = web.api_user

    @app.get("/api/v1/patients", response_model=PatientPage)
    def list_patients(
        principal: Principal = Depends(api_user),
        q: Annotated[str, Query(max_length=64)] = "",
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> PatientPage:
        """Patients of the user's centres (pseudonymised for a statistician), by patient id."""
        with web.db.begin() as conn:
            try:
                total, rows = access.list_patients(conn, principal, q, limit=limit, offset=offset)
            except PseudonymKeyMissing as exc:
                raise HTTPException(403, str(exc)) from None
        items = [PatientOut(**fields_of(r)) for r in rows]
        return PatientPage(total=total, limit=limit, offset=offset, items=items)

    @app.get(
        "/api/v1/patients/{patient_id:path}",
        response_model=PatientDetail,
        responses={404: {"description": "No such patient among the user's centres"}},
    )
    def get_patient(patient_id: str, principal: Principal = Depends(api_user)) -> PatientDetail:
        """One patient with the patient's perfusions (404 for another centre's patient)."""
        with web.db.begin() as conn:
            try:
                patient, perfusions = access.get_patient(conn, principal, patient_id)
            except RecordNotFound as exc:
                raise HTTPException(404, str(exc)) from None
            except PseudonymKeyMissing as exc:
                raise HTTPException(403, str(exc)) from None
        return PatientDetail(
            patient=PatientOut(**fields_of(patient)),
            perfusions=[PerfusionOut(**fields_of(p)) for p in perfusions],
        )

    @app.get(
        "/api/v1/perfusions/{perfusion_id}",
        response_model=PerfusionOut,
        responses={404: {"description": "No such perfusion among the user's centres"}},
    )
    def get_perfusion(perfusion_id: str, principal: Principal = Depends(api_user)) -> PerfusionOut:
        """One perfusion by its perfusion_id (404 for a perfusion of another centre)."""
        with web.db.begin() as conn:
            try:
                perfusion = access.get_perfusion(conn, principal, perfusion_id)
            except RecordNotFound as exc:
                raise HTTPException(404, str(exc)) from None
            except PseudonymKeyMissing as exc:
                raise HTTPException(403, str(exc)) from None
        return PerfusionOut(**fields_of(perfusion))
