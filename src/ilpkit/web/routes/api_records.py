"""The JSON API's record entry under ``/api/v1``: create and change patients and perfusions,
delete a perfusion.

The routes turn the JSON body into the registry's text per field and call
:mod:`ilpkit.services.record_edit`, which checks the values with the rules of the CSV import,
the user's write rights and centres, and the record's version, and writes the audit entries.
Answers: 201/200 :class:`RecordSaved`; 422 :class:`RecordProblems` (per field); 409
:class:`StaleOut` (what now differs); 403 for a role that may not write; 404 for another
centre's record, as for a missing one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any

from fastapi import Body, Depends, FastAPI, HTTPException, Query
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Connection

from ilpkit.domain.fields import FIELDS_BY_NAME
from ilpkit.services import record_edit
from ilpkit.services.access import Principal, RecordNotFound
from ilpkit.services.record_edit import RecordEditRefused, RecordInvalid, Saved, StaleRecord
from ilpkit.web.api_models import (
    DeleteRequest,
    PatientCreate,
    PatientPatch,
    PerfusionCreate,
    PerfusionPatch,
    RecordProblems,
    RecordSaved,
    StaleFieldOut,
    StaleOut,
)
from ilpkit.web.context import Web

_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "The user's role may not change records"},
    404: {"description": "No such record among the user's centres"},
    422: {"model": RecordProblems, "description": "The registry's rules, per field"},
}
_STALE: dict[int | str, dict[str, Any]] = {
    409: {"model": StaleOut, "description": "Changed since the version sent"}
}


def _texts(body: dict[str, Any]) -> dict[str, str]:
    """Field values as the registry's text (what a CSV cell would hold)."""
    return {
        name: FIELDS_BY_NAME[name].format(value)
        for name, value in body.items()
        if name in FIELDS_BY_NAME
    }


def _saved(saved: Saved) -> RecordSaved:
    return RecordSaved(
        patient_id=saved.patient_id,
        perfusion_id=saved.perfusion_id,
        version=saved.version,
        changed=list(saved.changed),
        warnings=saved.warnings,
    )


def register(app: FastAPI, web: Web) -> None:
    """Add the record entry API routes to ``app``."""
    api_user = web.api_user

    def run(action: Callable[[Connection], Saved], status: int = 200) -> RecordSaved | JSONResponse:
        try:
            with web.db.begin() as conn:
                saved = action(conn)
        except RecordEditRefused as exc:
            raise HTTPException(403, str(exc)) from None
        except RecordNotFound as exc:
            raise HTTPException(404, str(exc)) from None
        except RecordInvalid as exc:
            problems = RecordProblems(detail=str(exc), errors=exc.errors, warnings=exc.warnings)
            return JSONResponse(problems.model_dump(), 422)
        except StaleRecord as exc:
            stale = StaleOut(
                detail=str(exc),
                based_on=exc.based_on,
                stored_version=exc.stored_version,
                changes=[
                    StaleFieldOut(field=c.field, yours=c.yours, stored=c.stored)
                    for c in exc.changes
                ],
            )
            return JSONResponse(stale.model_dump(), 409)
        if status == 200:
            return _saved(saved)
        return JSONResponse(_saved(saved).model_dump(), status)

    @app.post(
        "/api/v1/patients",
        response_model=RecordSaved,
        status_code=201,
        responses=_ERRORS,
    )
    def create_patient(body: PatientCreate, principal: Principal = Depends(api_user)) -> Any:
        """Create a patient with the first perfusion (the fields of one Registry CSV v1 row)."""
        data = body.model_dump(exclude_unset=True)
        values = _texts(data)
        reason = str(data.get("reason", ""))
        return run(
            lambda c: record_edit.create_patient(c, principal, values, date.today(), reason), 201
        )

    @app.patch(
        "/api/v1/patients/{patient_id:path}",
        response_model=RecordSaved,
        responses={**_ERRORS, **_STALE},
    )
    def update_patient(
        patient_id: str, body: PatientPatch, principal: Principal = Depends(api_user)
    ) -> Any:
        """Change a patient's fields (only those sent), based on ``version``, with a reason."""
        data = body.model_dump(exclude_unset=True)
        values = _texts(data)
        version, reason = int(data["version"]), str(data.get("reason", ""))
        return run(
            lambda c: record_edit.update_patient(
                c, principal, patient_id, version, values, reason, date.today()
            )
        )

    @app.post(
        "/api/v1/patients/{patient_id:path}/perfusions",
        response_model=RecordSaved,
        status_code=201,
        responses=_ERRORS,
    )
    def create_perfusion(
        patient_id: str, body: PerfusionCreate, principal: Principal = Depends(api_user)
    ) -> Any:
        """Add a perfusion to a patient."""
        data = body.model_dump(exclude_unset=True)
        values = _texts(data)
        reason = str(data.get("reason", ""))
        return run(
            lambda c: record_edit.create_perfusion(
                c, principal, patient_id, values, date.today(), reason
            ),
            201,
        )

    @app.patch(
        "/api/v1/perfusions/{perfusion_id}",
        response_model=RecordSaved,
        responses={**_ERRORS, **_STALE},
    )
    def update_perfusion(
        perfusion_id: str, body: PerfusionPatch, principal: Principal = Depends(api_user)
    ) -> Any:
        """Change a perfusion's fields (only those sent), based on ``version``, with a reason."""
        data = body.model_dump(exclude_unset=True)
        values = _texts(data)
        version, reason = int(data["version"]), str(data.get("reason", ""))
        return run(
            lambda c: record_edit.update_perfusion(
                c, principal, perfusion_id, version, values, reason, date.today()
            )
        )

    @app.delete(
        "/api/v1/perfusions/{perfusion_id}",
        response_model=RecordSaved,
        responses={**_ERRORS, **_STALE},
    )
    def delete_perfusion(
        perfusion_id: str,
        principal: Principal = Depends(api_user),
        version: Annotated[int | None, Query()] = None,
        reason: Annotated[str, Query(max_length=2000)] = "",
        body: Annotated[DeleteRequest | None, Body()] = None,
    ) -> Any:
        """Delete a perfusion, based on ``version``, with a reason (query or JSON body)."""
        if body is not None:
            version, reason = body.version, body.reason or reason
        if version is None:
            problems = RecordProblems(
                detail="nothing was deleted: problems with version",
                errors={"version": "give the version of the perfusion the deletion is based on"},
                warnings={},
            )
            return JSONResponse(problems.model_dump(), 422)
        based_on = version
        return run(
            lambda c: record_edit.delete_perfusion(c, principal, perfusion_id, based_on, reason)
        )
