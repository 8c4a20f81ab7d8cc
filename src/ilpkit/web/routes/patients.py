"""Patient pages: the list with search, and one patient's page."""

from __future__ import annotations

from typing import Annotated

from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse

from ilpkit.services import access
from ilpkit.services.access import PseudonymKeyMissing, RecordNotFound
from ilpkit.web.context import Web, principal_of


def register(app: FastAPI, web: Web) -> None:
    """Add the patient list and patient pages to ``app``."""

    @app.get("/patients", include_in_schema=False)
    def patients_page(
        request: Request,
        q: Annotated[str, Query(max_length=64)] = "",
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> HTMLResponse:
        limit = 50
        with web.db.begin() as conn:
            user = web.page_user(request, conn)
            try:
                total, rows = access.list_patients(
                    conn, principal_of(user), q, limit=limit, offset=offset
                )
            except PseudonymKeyMissing as exc:
                return web.message(request, user, 403, "Not available", str(exc))
        context = {
            "patients": rows,
            "total": total,
            "search": q,
            "offset": offset,
            "limit": limit,
        }
        return web.render(request, "patients.html", context, user=user)

    @app.get("/patients/{patient_id:path}", include_in_schema=False)
    def patient_page(request: Request, patient_id: str) -> HTMLResponse:
        with web.db.begin() as conn:
            user = web.page_user(request, conn)
            try:
                patient, perfusions = access.get_patient(conn, principal_of(user), patient_id)
            except RecordNotFound as exc:
                return web.message(request, user, 404, "Not found", str(exc))
            except PseudonymKeyMissing as exc:
                return web.message(request, user, 403, "Not available", str(exc))
        context = {"patient": patient, "perfusions": perfusions}
        return web.render(request, "patient.html", context, user=user)
