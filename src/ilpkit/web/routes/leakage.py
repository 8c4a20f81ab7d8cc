"""The live leakage monitor of one perfusion: calibrate, enter readings, see the curve and alerts.

``GET /leakage/{perfusion_id}`` shows the monitor; ``POST .../start`` stores the calibration;
``POST .../readings`` adds one reading and answers (htmx) the chart, table and alert banner at
once; ``POST .../peak`` saves the peak as the perfusion's ``max_leakage_pct``. The JSON API has
the curve under ``/api/v1/perfusions/{perfusion_id}/leakage``. The use cases are in
:mod:`ilpkit.services.leakage_monitoring`; the formula in :mod:`ilpkit.planning.leakage`.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ilpkit.adapters.protocol_file import load_protocol_book
from ilpkit.planning.errors import ProtocolError
from ilpkit.planning.leakage import LeakageSettings, standard_assumption
from ilpkit.services import accounts
from ilpkit.services import leakage_monitoring as monitoring
from ilpkit.services.access import Principal, PseudonymKeyMissing, RecordNotFound
from ilpkit.services.leakage_monitoring import (
    LeakageEntryError,
    LeakageForbidden,
    MonitoringState,
)
from ilpkit.web.api_models import LeakageCurveOut, LeakagePointOut, ReadingIn
from ilpkit.web.context import Web, principal_of
from ilpkit.web.forms import FieldError, number
from ilpkit.web.leakage_chart import chart

Text = Annotated[str, Form(max_length=200)]
_REFUSED = (RecordNotFound, PseudonymKeyMissing, ProtocolError, LeakageForbidden, LeakageEntryError)
"""Why a leakage page or action is answered with a message instead of the monitor."""
_CSRF_TEXT = "The form did not come from this site (or the session changed), so nothing was done."


def _settings() -> LeakageSettings:
    return load_protocol_book().leakage


def _is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def curve_out(state: MonitoringState) -> LeakageCurveOut:
    """The API model of a monitoring."""
    s = state.settings
    r = state.result
    cal = r.calibration if r is not None else None
    return LeakageCurveOut(
        perfusion_id=state.perfusion.perfusion_id or "",
        started=state.started,
        isotope=cal.isotope.key if cal else None,
        half_life_h=cal.isotope.half_life_h.value if cal else None,
        background_cps=cal.background_cps if cal else None,
        calibration_cps=cal.calibration_cps if cal else None,
        standard_fraction=cal.standard_fraction if cal else None,
        notify_pct=s.notify_pct.value,
        notify_source=s.notify_pct.source,
        stop_pct=s.stop_pct.value,
        stop_source=s.stop_pct.source,
        level=r.level.value if r else "ok",
        peak_leakage_pct=r.peak_leakage_pct if r else None,
        readings=[
            LeakagePointOut(
                minute=p.minute,
                counts_per_s=p.counts_per_s,
                decay_factor=p.decay_factor,
                leakage_pct=p.leakage_pct,
                level=p.level.value,
            )
            for p in (r.points if r else ())
        ],
        first_alert=r.first_alert.to_dict() if r and r.first_alert else None,
        first_stop=r.first_stop.to_dict() if r and r.first_stop else None,
        max_leakage_pct=state.perfusion.max_leakage_pct,
        version=state.version,
    )


def register(app: FastAPI, web: Web) -> None:
    """Add the leakage monitor pages and API routes to ``app``."""

    def view(
        request: Request,
        user: accounts.SessionUser,
        state: MonitoringState,
        *,
        errors: dict[str, str] | None = None,
        values: dict[str, str] | None = None,
        status: int = 200,
        saved: str = "",
        fragment: bool = False,
    ) -> HTMLResponse:
        s = state.settings
        context: dict[str, Any] = {
            "state": state,
            "perfusion": state.perfusion,
            "result": state.result,
            "chart": chart(state.result) if state.result is not None else None,
            "can_write": monitoring.can_write(principal_of(user)),
            "errors": errors or {},
            "values": values or {},
            "settings": s,
            "default_fraction": f"{s.standard_fraction.value:g}",
            "assumption": standard_assumption(
                state.result.calibration.standard_fraction
                if state.result is not None
                else s.standard_fraction.value
            ),
            "saved": saved,
        }
        template = "leakage_monitor.html" if fragment else "leakage.html"
        return web.render(request, template, context, status, user)

    def refused(request: Request, user: accounts.SessionUser, exc: Exception) -> HTMLResponse:
        if isinstance(exc, RecordNotFound):
            return web.message(request, user, 404, "Not found", str(exc))
        if isinstance(exc, LeakageForbidden):
            return web.message(request, user, 403, "Not allowed", f"{exc}. Nothing was changed.")
        if isinstance(exc, PseudonymKeyMissing):
            return web.message(request, user, 403, "Not available", str(exc))
        if isinstance(exc, LeakageEntryError):
            return web.message(request, user, 500, "Curve not available", str(exc))
        return web.message(request, user, 500, "Protocol file unusable", str(exc))

    @app.get("/leakage", include_in_schema=False)
    def leakage_index(
        request: Request, perfusion_id: Annotated[str, Query(max_length=64)] = ""
    ) -> Response:
        with web.db.begin() as conn:
            user = web.page_user(request, conn)
        wanted = perfusion_id.strip()
        if wanted:
            return RedirectResponse(f"/leakage/{quote(wanted, safe='')}", status_code=303)
        return web.render(request, "leakage_index.html", {}, 200, user)

    @app.get("/leakage/{perfusion_id}", include_in_schema=False)
    def leakage_page(request: Request, perfusion_id: str) -> HTMLResponse:
        with web.db.begin() as conn:
            user = web.page_user(request, conn)
            try:
                state = monitoring.load(conn, principal_of(user), perfusion_id, _settings())
            except (RecordNotFound, PseudonymKeyMissing, ProtocolError, LeakageEntryError) as exc:
                return refused(request, user, exc)
        return view(request, user, state)

    @app.post("/leakage/{perfusion_id}/start", include_in_schema=False)
    def leakage_start(
        request: Request,
        perfusion_id: str,
        csrf_token: Text = "",
        isotope: Text = "",
        background_cps: Text = "",
        calibration_cps: Text = "",
        standard_fraction: Text = "",
    ) -> Response:
        values = {
            "isotope": isotope,
            "background_cps": background_cps,
            "calibration_cps": calibration_cps,
            "standard_fraction": standard_fraction,
        }
        with web.db.begin() as conn:
            user = web.page_user(request, conn)
            if not web.csrf_ok(user, csrf_token):
                return web.message(request, user, 403, "Not started", _CSRF_TEXT)
            principal = principal_of(user)
            try:
                settings = _settings()
                state = monitoring.load(conn, principal, perfusion_id, settings)
                if not monitoring.can_write(principal):
                    raise monitoring.LeakageForbidden(
                        f"the role {user.role} may view the leakage curve but not start a "
                        "monitoring"
                    )
            except _REFUSED as exc:
                return refused(request, user, exc)
            errors: dict[str, str] = {}
            numbers: dict[str, float] = {}
            for name, label, unit in (
                ("background_cps", "background", "counts/s"),
                ("calibration_cps", "calibration", "counts/s"),
                ("standard_fraction", "standard fraction", ""),
            ):
                try:
                    numbers[name] = number(name, label, values[name], unit)
                except FieldError as exc:
                    errors[name] = str(exc)
            if not errors:
                try:
                    monitoring.start(
                        conn,
                        principal,
                        perfusion_id,
                        settings,
                        isotope,
                        numbers["background_cps"],
                        numbers["calibration_cps"],
                        numbers["standard_fraction"],
                    )
                except LeakageEntryError as exc:
                    errors[exc.field or "form"] = f"{exc}; nothing was stored"
            if not errors:
                return RedirectResponse(f"/leakage/{quote(perfusion_id, safe='')}", status_code=303)
        return view(request, user, state, errors=errors, values=values, status=422)

    @app.post("/leakage/{perfusion_id}/readings", include_in_schema=False)
    def leakage_reading(
        request: Request,
        perfusion_id: str,
        csrf_token: Text = "",
        minute: Text = "",
        counts_per_s: Text = "",
    ) -> Response:
        values = {"minute": minute, "counts_per_s": counts_per_s}
        htmx = _is_htmx(request)
        with web.db.begin() as conn:
            user = web.page_user(request, conn)
            if not web.csrf_ok(user, csrf_token):
                return web.message(request, user, 403, "Not stored", _CSRF_TEXT)
            principal = principal_of(user)
            try:
                settings = _settings()
                state = monitoring.load(conn, principal, perfusion_id, settings)
                errors: dict[str, str] = {}
                numbers: dict[str, float] = {}
                for name, label, unit in (
                    ("minute", "minute", ""),
                    ("counts_per_s", "count rate", "counts/s"),
                ):
                    try:
                        numbers[name] = number(name, label, values[name], unit)
                    except FieldError as exc:
                        errors[name] = f"{exc}; nothing was stored"
                if not monitoring.can_write(principal):
                    raise LeakageForbidden(
                        f"the role {user.role} may view the leakage curve but not enter readings"
                    )
                if not errors:
                    try:
                        state, _ = monitoring.add_reading(
                            conn,
                            principal,
                            perfusion_id,
                            settings,
                            numbers["minute"],
                            numbers["counts_per_s"],
                        )
                    except LeakageEntryError as exc:
                        errors[exc.field or "form"] = f"{exc}; nothing was stored"
            except _REFUSED as exc:
                return refused(request, user, exc)
        if not errors:
            if htmx:
                return view(request, user, state, fragment=True)
            return RedirectResponse(f"/leakage/{quote(perfusion_id, safe='')}", status_code=303)
        if state.result is None:  # no monitor on the page to show the message in
            return web.message(request, user, 409, "Not stored", " ".join(errors.values()))
        status = 200 if htmx else 422  # htmx swaps only 2xx answers: the message must show
        return view(
            request, user, state, errors=errors, values=values, status=status, fragment=htmx
        )

    @app.post("/leakage/{perfusion_id}/peak", include_in_schema=False)
    def leakage_peak(
        request: Request,
        perfusion_id: str,
        csrf_token: Text = "",
        version: Text = "",
    ) -> Response:
        htmx = _is_htmx(request)
        with web.db.begin() as conn:
            user = web.page_user(request, conn)
            if not web.csrf_ok(user, csrf_token):
                return web.message(request, user, 403, "Not saved", _CSRF_TEXT)
            principal = principal_of(user)
            try:
                settings = _settings()
                state = monitoring.load(conn, principal, perfusion_id, settings)
                if not monitoring.can_write(principal):
                    raise LeakageForbidden(
                        f"the role {user.role} may view the leakage curve but not save the peak"
                    )
                errors: dict[str, str] = {}
                saved = ""
                try:
                    expected = int(version) if version.strip().isdigit() else -1
                    state = monitoring.save_peak(conn, principal, perfusion_id, settings, expected)
                    saved = (
                        f"Peak leakage {state.perfusion.max_leakage_pct:.2f}% saved to perfusion "
                        f"{perfusion_id} as max_leakage_pct (record version {state.version})."
                    )
                except LeakageEntryError as exc:
                    errors["peak"] = str(exc)
            except _REFUSED as exc:
                return refused(request, user, exc)
        status = 200 if (htmx or not errors) else 422
        return view(request, user, state, errors=errors, status=status, saved=saved, fragment=htmx)

    # --- JSON API ------------------------------------------------------------------------------

    api_user = web.api_user

    def _api_error(exc: Exception) -> HTTPException:
        if isinstance(exc, RecordNotFound):
            return HTTPException(404, str(exc))
        if isinstance(exc, LeakageForbidden | PseudonymKeyMissing):
            return HTTPException(403, str(exc))
        if isinstance(exc, LeakageEntryError):
            return HTTPException(422, {"field": exc.field, "message": str(exc)})
        return HTTPException(500, str(exc))

    @app.get(
        "/api/v1/perfusions/{perfusion_id}/leakage",
        response_model=LeakageCurveOut,
        responses={404: {"description": "No such perfusion among the user's centres"}},
    )
    def api_leakage(perfusion_id: str, principal: Principal = Depends(api_user)) -> Any:
        """The leakage curve of a perfusion (readings, leakage %, alert levels with sources)."""
        with web.db.begin() as conn:
            try:
                state = monitoring.load(conn, principal, perfusion_id, _settings())
            except (RecordNotFound, PseudonymKeyMissing, ProtocolError, LeakageEntryError) as exc:
                raise _api_error(exc) from None
        return curve_out(state)

    @app.post(
        "/api/v1/perfusions/{perfusion_id}/leakage/readings",
        response_model=LeakageCurveOut,
        responses={
            403: {"description": "The role may not enter readings"},
            404: {"description": "No such perfusion among the user's centres"},
            422: {"description": "The reading was refused (nothing stored)"},
        },
    )
    def api_add_reading(
        perfusion_id: str, body: ReadingIn, principal: Principal = Depends(api_user)
    ) -> Any:
        """Add one reading (minute since calibration, counts per second); the updated curve."""
        with web.db.begin() as conn:
            try:
                state, _ = monitoring.add_reading(
                    conn, principal, perfusion_id, _settings(), body.minute, body.counts_per_s
                )
            except (
                RecordNotFound,
                PseudonymKeyMissing,
                ProtocolError,
                LeakageEntryError,
                LeakageForbidden,
            ) as exc:
                raise _api_error(exc) from None
        return curve_out(state)
