"""Entering and changing records on pages: a new patient (with the first perfusion), a
patient's fields, a new perfusion, a perfusion's fields, deleting a perfusion, and a patient's
audit history.

The new-perfusion form may be opened with values in its query (e.g. ``?limb=leg&tnf_mg=3`` from
the perfusion planner's "Record this perfusion"): they only fill in the form, which is saved,
checked and audited like one typed by hand.

The routes parse the form and call :mod:`ilpkit.services.record_edit` (validation, write
rights, versions, audit entries all live there) and :mod:`ilpkit.services.record_history`. A
form with problems is shown again with everything typed and each problem next to its field
(422); an edit based on an older version of the record is answered 409 with what now differs
and the form ready to apply the change again; a role that may not write gets 403; another
centre's record 404, as a missing one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from ilpkit.domain.fields import FIELDS_BY_NAME, FieldSpec
from ilpkit.services import accounts, record_edit, record_history
from ilpkit.services.access import RecordNotFound
from ilpkit.services.record_edit import (
    GENERAL,
    PATIENT_FIELDS,
    PERFUSION_FIELDS,
    REASON,
    RECORD_FIELDS,
    RecordEditRefused,
    RecordInvalid,
    StaleRecord,
)
from ilpkit.web.context import Web, principal_of

MAX_VALUE_CHARS = 2000
"""Longest text kept of one form field (registry values are far shorter)."""

_PREFILLED = (
    "Some fields are filled in from the link that opened this form (the planned perfusion): "
    "check them against what was actually given, complete the other fields and save. Nothing "
    "has been saved yet."
)

_CSRF_PROBLEM = (
    "The form had expired or did not come from this site, so nothing was saved; your entries "
    "are kept below: save again."
)


def _label(spec: FieldSpec) -> str:
    """A short label from the catalogue's description (up to its first sentence or colon)."""
    text = spec.description
    for mark in (": ", "; ", ". "):
        text = text.split(mark, 1)[0]
    return text.rstrip(".")


def _options(spec: FieldSpec, value: str) -> list[str]:
    options = ["yes", "no"] if spec.kind == "yes/no" else list(spec.choices)
    if value and value not in options:
        options.append(value)  # never lose what was sent
    return options


def _fields(
    names: tuple[str, ...],
    values: Mapping[str, str],
    errors: Mapping[str, str],
    warnings: Mapping[str, str],
    centers: list[str] | None,
) -> list[dict[str, Any]]:
    rows = []
    for name in names:
        spec = FIELDS_BY_NAME[name]
        value = values.get(name, "")
        select = spec.kind in ("choice", "yes/no")
        options = _options(spec, value) if select else []
        if name == "center" and centers is not None:
            select = True
            options = centers + ([value] if value and value not in centers else [])
        rows.append(
            {
                "name": name,
                "level": spec.level,
                "label": _label(spec),
                "kind": spec.kind,
                "required": spec.required,
                "select": select,
                "options": options,
                "value": value,
                "error": errors.get(name, ""),
                "warning": warnings.get(name, ""),
                "hint": "YYYY-MM-DD" if spec.kind == "date" else "",
            }
        )
    return rows


def _form_values(form: Mapping[str, Any], names: tuple[str, ...]) -> dict[str, str]:
    return {n: _text(form, n) for n in names if isinstance(form.get(n), str)}


def _text(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name, "")
    return value[:MAX_VALUE_CHARS] if isinstance(value, str) else ""


def _version(form: Mapping[str, Any]) -> int | None:
    try:
        return int(_text(form, "version"))
    except ValueError:
        return None


def _patient_url(patient_id: str) -> str:
    return f"/patients/{quote(patient_id, safe='')}"


class _Form:
    """What a record form shows; :meth:`render` fills the template."""

    def __init__(
        self,
        title: str,
        action: str,
        names: tuple[str, ...],
        values: Mapping[str, str],
        back: str,
        *,
        version: int | None = None,
        reason_required: bool = False,
        delete_action: str = "",
    ) -> None:
        self.title = title
        self.action = action
        self.names = names
        self.values = dict(values)
        self.back = back
        self.version = version
        self.reason_required = reason_required
        self.delete_action = delete_action
        self.reason = ""
        self.errors: dict[str, str] = {}
        self.warnings: dict[str, str] = {}
        self.stale: StaleRecord | None = None
        self.delete_error = ""
        self.delete_reason = ""
        self.notice = ""

    def context(self, user: accounts.SessionUser) -> dict[str, Any]:
        centers = None if user.role == "admin" else sorted(user.centers)
        in_form = set(self.names) | {REASON}
        general = [
            (name if name != GENERAL else "", reason)
            for name, reason in self.errors.items()
            if name not in in_form
        ]
        stale = None
        if self.stale is not None:
            stale = {
                "entity": self.stale.entity,
                "based_on": self.stale.based_on,
                "stored_version": self.stale.stored_version,
                "changes": [
                    {"field": c.field, "yours": c.yours, "stored": c.stored}
                    for c in self.stale.changes
                ],
            }
        return {
            "title": self.title,
            "action": self.action,
            "back": self.back,
            "fields": _fields(self.names, self.values, self.errors, self.warnings, centers),
            "groups": len({FIELDS_BY_NAME[n].level for n in self.names}) > 1,
            "general_errors": general,
            "has_errors": bool(self.errors),
            "version": self.version,
            "reason_required": self.reason_required,
            "reason": self.reason,
            "reason_error": self.errors.get(REASON, ""),
            "stale": stale,
            "delete_action": self.delete_action,
            "delete_error": self.delete_error,
            "delete_reason": self.delete_reason,
            "notice": self.notice,
        }


def register(app: FastAPI, web: Web) -> None:
    """Add the record entry pages and the audit history page to ``app``."""

    def user_of(request: Request) -> accounts.SessionUser:
        with web.db.begin() as conn:
            return web.page_user(request, conn)

    def show(
        request: Request, user: accounts.SessionUser, form: _Form, status: int = 200
    ) -> HTMLResponse:
        return web.render(request, "record_form.html", form.context(user), status, user)

    def refused(request: Request, user: accounts.SessionUser, exc: Exception) -> HTMLResponse:
        if isinstance(exc, RecordNotFound):
            return web.message(request, user, 404, "Not found", str(exc))
        return web.message(request, user, 403, "Not allowed", str(exc))

    def saved_page(
        request: Request, user: accounts.SessionUser, saved: record_edit.Saved, what: str
    ) -> Response:
        if not saved.warnings:
            return RedirectResponse(_patient_url(saved.patient_id), status_code=303)
        context = {
            "what": what,
            "patient_id": saved.patient_id,
            "warnings": sorted(saved.warnings.items()),
        }
        return web.render(request, "record_saved.html", context, 200, user)

    def submit(
        request: Request,
        form_data: Mapping[str, Any],
        form: _Form,
        save: Callable[..., record_edit.Saved],
        what: str,
    ) -> Response:
        """Check the CSRF token, save through ``save(conn, principal)``, answer."""
        user = user_of(request)
        if not Web.csrf_ok(user, _text(form_data, "csrf_token")):
            form.errors[GENERAL] = _CSRF_PROBLEM
            return show(request, user, form, 403)
        try:
            with web.db.begin() as conn:
                saved = save(conn, principal_of(user))
        except (RecordNotFound, RecordEditRefused) as exc:
            return refused(request, user, exc)
        except RecordInvalid as exc:
            form.errors, form.warnings = exc.errors, exc.warnings
            return show(request, user, form, 422)
        except StaleRecord as exc:
            form.stale = exc
            form.version = exc.stored_version  # saving again applies the change after all
            return show(request, user, form, 409)
        return saved_page(request, user, saved, what)

    # --- a new patient --------------------------------------------------------------------

    def new_patient_form(values: Mapping[str, str]) -> _Form:
        return _Form("New patient", "/records/patients/new", RECORD_FIELDS, values, "/patients")

    @app.get("/records/patients/new", include_in_schema=False)
    def new_patient(request: Request) -> HTMLResponse:
        user = user_of(request)
        try:
            record_edit.require_may_change(principal_of(user))
        except RecordEditRefused as exc:
            return refused(request, user, exc)
        values = {"center": next(iter(user.centers))} if len(user.centers) == 1 else {}
        return show(request, user, new_patient_form(values))

    @app.post("/records/patients/new", include_in_schema=False)
    async def create_patient(request: Request) -> Response:
        data = await request.form()
        values = _form_values(data, RECORD_FIELDS)
        form = new_patient_form(values)
        form.reason = _text(data, "reason")

        def save(conn: Any, principal: Any) -> record_edit.Saved:
            return record_edit.create_patient(conn, principal, values, date.today(), form.reason)

        return await run_in_threadpool(submit, request, data, form, save, "patient")

    # --- a patient's fields ---------------------------------------------------------------

    def patient_form(patient_id: str, values: Mapping[str, str], version: int | None) -> _Form:
        pid = quote(patient_id, safe="")
        return _Form(
            f"Edit patient {patient_id}",
            f"/records/patients/{pid}/edit",
            PATIENT_FIELDS,
            values,
            _patient_url(patient_id),
            version=version,
            reason_required=True,
        )

    @app.get("/records/patients/{patient_id:path}/edit", include_in_schema=False)
    def edit_patient(request: Request, patient_id: str) -> HTMLResponse:
        user = user_of(request)
        try:
            with web.db.begin() as conn:
                stored = record_edit.patient_for_edit(conn, principal_of(user), patient_id)
        except (RecordNotFound, RecordEditRefused) as exc:
            return refused(request, user, exc)
        return show(request, user, patient_form(patient_id, stored.values, stored.version))

    @app.post("/records/patients/{patient_id:path}/edit", include_in_schema=False)
    async def update_patient(request: Request, patient_id: str) -> Response:
        data = await request.form()
        values = _form_values(data, PATIENT_FIELDS)
        values["patient_id"] = patient_id
        version = _version(data)
        form = patient_form(patient_id, values, version)
        form.reason = _text(data, "reason")

        def save(conn: Any, principal: Any) -> record_edit.Saved:
            return record_edit.update_patient(
                conn, principal, patient_id, -1 if version is None else version, values,
                form.reason, date.today(),
            )  # fmt: skip

        return await run_in_threadpool(submit, request, data, form, save, "patient")

    # --- a new perfusion ------------------------------------------------------------------

    def new_perfusion_form(patient_id: str, values: Mapping[str, str]) -> _Form:
        pid = quote(patient_id, safe="")
        return _Form(
            f"New perfusion of patient {patient_id}",
            f"/records/patients/{pid}/perfusions/new",
            PERFUSION_FIELDS,
            values,
            _patient_url(patient_id),
        )

    @app.get("/records/patients/{patient_id:path}/perfusions/new", include_in_schema=False)
    def new_perfusion(request: Request, patient_id: str) -> HTMLResponse:
        user = user_of(request)
        try:
            with web.db.begin() as conn:
                record_edit.patient_for_edit(conn, principal_of(user), patient_id)
        except (RecordNotFound, RecordEditRefused) as exc:
            return refused(request, user, exc)
        form = new_perfusion_form(patient_id, _form_values(request.query_params, PERFUSION_FIELDS))
        if form.values:
            form.notice = _PREFILLED
        return show(request, user, form)

    @app.post("/records/patients/{patient_id:path}/perfusions/new", include_in_schema=False)
    async def create_perfusion(request: Request, patient_id: str) -> Response:
        data = await request.form()
        values = _form_values(data, PERFUSION_FIELDS)
        form = new_perfusion_form(patient_id, values)
        form.reason = _text(data, "reason")

        def save(conn: Any, principal: Any) -> record_edit.Saved:
            return record_edit.create_perfusion(
                conn, principal, patient_id, values, date.today(), form.reason
            )

        return await run_in_threadpool(submit, request, data, form, save, "perfusion")

    # --- a perfusion's fields, and deleting it --------------------------------------------

    def perfusion_form(
        perfusion_id: str, patient_id: str, values: Mapping[str, str], version: int | None
    ) -> _Form:
        pid = quote(perfusion_id, safe="")
        return _Form(
            f"Edit perfusion of patient {patient_id}",
            f"/records/perfusions/{pid}/edit",
            PERFUSION_FIELDS,
            values,
            _patient_url(patient_id),
            version=version,
            reason_required=True,
            delete_action=f"/records/perfusions/{pid}/delete",
        )

    @app.get("/records/perfusions/{perfusion_id}/edit", include_in_schema=False)
    def edit_perfusion(request: Request, perfusion_id: str) -> HTMLResponse:
        user = user_of(request)
        try:
            with web.db.begin() as conn:
                stored = record_edit.perfusion_for_edit(conn, principal_of(user), perfusion_id)
        except (RecordNotFound, RecordEditRefused) as exc:
            return refused(request, user, exc)
        form = perfusion_form(perfusion_id, stored.patient_id, stored.values, stored.version)
        return show(request, user, form)

    @app.post("/records/perfusions/{perfusion_id}/edit", include_in_schema=False)
    async def update_perfusion(request: Request, perfusion_id: str) -> Response:
        data = await request.form()
        values = _form_values(data, PERFUSION_FIELDS)
        version = _version(data)

        def answer() -> Response:
            user = user_of(request)
            try:
                with web.db.begin() as conn:
                    stored = record_edit.perfusion_for_edit(conn, principal_of(user), perfusion_id)
            except (RecordNotFound, RecordEditRefused) as exc:
                return refused(request, user, exc)
            form = perfusion_form(perfusion_id, stored.patient_id, values, version)
            form.reason = _text(data, "reason")

            def save(conn: Any, principal: Any) -> record_edit.Saved:
                return record_edit.update_perfusion(
                    conn, principal, perfusion_id, -1 if version is None else version, values,
                    form.reason, date.today(),
                )  # fmt: skip

            return submit(request, data, form, save, "perfusion")

        return await run_in_threadpool(answer)

    @app.post("/records/perfusions/{perfusion_id}/delete", include_in_schema=False)
    async def delete_perfusion(request: Request, perfusion_id: str) -> Response:
        data = await request.form()
        version = _version(data)
        reason = _text(data, "reason")

        def answer() -> Response:
            user = user_of(request)
            principal = principal_of(user)
            try:
                with web.db.begin() as conn:
                    stored = record_edit.perfusion_for_edit(conn, principal, perfusion_id)
            except (RecordNotFound, RecordEditRefused) as exc:
                return refused(request, user, exc)
            form = perfusion_form(perfusion_id, stored.patient_id, stored.values, stored.version)
            form.delete_reason = reason
            if not Web.csrf_ok(user, _text(data, "csrf_token")):
                form.delete_error = _CSRF_PROBLEM
                return show(request, user, form, 403)
            try:
                with web.db.begin() as conn:
                    saved = record_edit.delete_perfusion(
                        conn, principal, perfusion_id, -1 if version is None else version, reason
                    )
            except (RecordNotFound, RecordEditRefused) as exc:
                return refused(request, user, exc)
            except RecordInvalid as exc:
                form.delete_error = "; ".join(exc.errors.values())
                return show(request, user, form, 422)
            except StaleRecord as exc:
                form.stale = exc
                return show(request, user, form, 409)
            return RedirectResponse(_patient_url(saved.patient_id), status_code=303)

        return await run_in_threadpool(answer)

    # --- a patient's audit history --------------------------------------------------------

    @app.get("/records/patients/{patient_id:path}/audit", include_in_schema=False)
    def patient_audit(request: Request, patient_id: str) -> HTMLResponse:
        user = user_of(request)
        try:
            with web.db.begin() as conn:
                entries = record_history.patient_history(conn, principal_of(user), patient_id)
        except RecordNotFound as exc:
            return web.message(request, user, 404, "Not found", str(exc))
        except record_history.HistoryRefused as exc:
            return web.message(request, user, 403, "Not allowed", str(exc))
        context = {"patient_id": patient_id, "entries": list(reversed(entries))}
        return web.render(request, "record_audit.html", context, user=user)
