"""The perfusion planner page: the inputs of ``ilp plan``, doses recomputed as they are typed.

``GET /planner`` shows the form; ``POST /planner/compute`` (htmx, on every change) answers the
results fragment with the message of each field next to it; ``POST /planner/save`` stores the plan
for a patient and planned ILP date like ``ilp plan --save`` (admin and clinician only; the patient
must be one the user may see). For the roles that may write records, a computed plan with a patient
id offers "Record this perfusion": a link to the patient's new-perfusion form prefilled with the
planned date, limb, level, volume and doses (:func:`record_url`; the form saves, not the link).
The calculation is :func:`ilpkit.planning.plan.make_plan`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.engine import Connection

from ilpkit.adapters.protocol_file import load_protocol_book
from ilpkit.domain.errors import RegistryValidationError
from ilpkit.domain.perfusion import LEVELS_BY_LIMB, Limb
from ilpkit.planning.eligibility import LabValue
from ilpkit.planning.errors import (
    EligibilityInputError,
    LimbVolumeError,
    PerfusionSiteError,
    PlanningError,
    ProtocolError,
)
from ilpkit.planning.limb_volume import (
    LimbVolume,
    limb_volume_from_circumferences,
    limb_volume_from_water_displacement,
)
from ilpkit.planning.plan import PerfusionPlan, make_plan
from ilpkit.planning.protocols import ProtocolBook
from ilpkit.services import access, accounts, record_edit
from ilpkit.services.access import PseudonymKeyMissing, RecordNotFound
from ilpkit.services.perfusion_plans import insert_plan, summary_of
from ilpkit.web.context import Web, principal_of
from ilpkit.web.forms import FieldError, number

SAVE_ROLES = frozenset({"admin", "clinician"})
"""Roles that may save a plan to a perfusion (docs/web.md); every role may compute."""

MAX_FORM_FIELDS = 64
"""More form fields than this are not a planner form."""

LEVELS = tuple(level.value for limb in Limb for level in LEVELS_BY_LIMB[limb])
"""The perfusion levels, leg and arm."""


@dataclass
class PlannerForm:
    """What was typed (kept as text) and the messages per field."""

    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)

    def get(self, name: str) -> str:
        """The text of field ``name`` ('' when absent)."""
        return self.values.get(name, "")

    def fail(self, name: str, message: str) -> None:
        """Record the first message of field ``name``."""
        self.errors.setdefault(name, message)


def _error_fields(book: ProtocolBook, with_patient: bool) -> list[str]:
    """The fields that have a place for their message on the page (the patient ones only when
    that part of the form is shown)."""
    names = ["limb", "level", "volume_l", "circumferences_cm", "spacing_cm", "protocol"]
    names += [f"lab_{lab.key}" for lab in book.eligibility.labs]
    names += [f"cond_{c.key}" for c in book.eligibility.conditions]
    names.append("labs")
    return [*names, "patient_id", "ilp_date"] if with_patient else names


def _patient_part(user: accounts.SessionUser) -> tuple[bool, bool]:
    """(may save plans, may record perfusions): either shows the patient part of the form."""
    return user.role in SAVE_ROLES, record_edit.may_change_records(principal_of(user))


def _volume(form: PlannerForm) -> LimbVolume | None:
    volume_text = form.get("volume_l").strip()
    circ_text = form.get("circumferences_cm").strip()
    spacing_text = form.get("spacing_cm").strip()
    if volume_text and (circ_text or spacing_text):
        form.fail(
            "volume_l",
            "give the limb volume either as a measured volume or as circumferences with their "
            "spacing, not both",
        )
        return None
    try:
        if volume_text:
            value = number("volume_l", "measured volume", volume_text, "L")
            return limb_volume_from_water_displacement(value)
        if not circ_text:
            form.fail(
                "volume_l",
                "the limb volume is missing: give the measured volume in litres, or the "
                "circumferences in cm with their spacing",
            )
            return None
        circumferences = [
            number("circumferences_cm", "circumference", part, "cm")
            for part in circ_text.replace(";", ",").split(",")
            if part.strip()
        ]
        if not spacing_text:
            form.fail(
                "spacing_cm",
                "the circumferences need the distance between them in cm (e.g. 10)",
            )
            return None
        spacing = number("spacing_cm", "spacing", spacing_text, "cm")
        return limb_volume_from_circumferences(circumferences, spacing)
    except FieldError as exc:
        form.fail(exc.field, str(exc))
    except LimbVolumeError as exc:
        text = str(exc)
        name = (
            "volume_l"
            if volume_text
            else ("spacing_cm" if text.startswith("spacing_cm") else "circumferences_cm")
        )
        form.fail(name, text)
    return None


def _labs(form: PlannerForm, book: ProtocolBook) -> dict[str, LabValue]:
    values: dict[str, LabValue] = {}
    for lab in book.eligibility.labs:
        name = f"lab_{lab.key}"
        text = form.get(name).strip()
        if not text:
            continue
        try:
            value = number(name, f"{lab.name} ({lab.key})", text, lab.unit)
        except FieldError as exc:
            form.fail(name, str(exc))
            continue
        reason = (
            f"{lab.key} = {value:g}: a laboratory value must be at least 0"
            if value < 0
            else lab.implausible(value)
        )
        if reason is not None:
            form.fail(name, reason)
            continue
        values[lab.key] = value
    for cond in book.eligibility.conditions:
        name = f"cond_{cond.key}"
        answer = form.get(name).strip().lower()
        if answer in ("yes", "no"):
            values[cond.key] = answer == "yes"
        elif answer:
            form.fail(
                name, f"{cond.name}: answer yes or no (yes = the contraindication is present)"
            )
    return values


def compute(form: PlannerForm, book: ProtocolBook) -> PerfusionPlan | None:
    """The plan of the form's values, or None with the messages recorded on ``form``."""
    limb = form.get("limb").strip().lower()
    level = form.get("level").strip().lower()
    if limb not in {x.value for x in Limb}:
        form.fail("limb", f"limb = '{form.get('limb')}': choose arm or leg")
    if level not in LEVELS:
        form.fail("level", f"level = '{form.get('level')}': choose one of {', '.join(LEVELS)}")
    protocol = form.get("protocol").strip() or book.default_protocol
    if protocol not in book.protocols:
        form.fail(
            "protocol",
            f"no protocol named '{protocol}'; available protocols: {', '.join(book.protocols)}",
        )
    volume = _volume(form)
    labs = _labs(form, book)
    if form.errors or volume is None:
        return None
    try:
        return make_plan(book, limb, level, volume, protocol_name=protocol, labs=labs)
    except PerfusionSiteError as exc:
        form.fail("level", str(exc))
    except LimbVolumeError as exc:
        form.fail("volume_l" if form.get("volume_l").strip() else "circumferences_cm", str(exc))
    except ProtocolError as exc:
        form.fail("protocol", str(exc))
    except EligibilityInputError as exc:
        form.fail("labs", str(exc))
    except PlanningError as exc:  # any other input the calculators refuse
        form.fail("volume_l", str(exc))
    return None


def _decimal(value: float, places: int) -> str:
    """``value`` rounded to ``places`` decimals as shown on the plan, without trailing zeros."""
    text = f"{value:.{places}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def record_url(form: PlannerForm, plan: PerfusionPlan | None) -> str:
    """The new-perfusion form of the form's patient, prefilled with ``plan`` ('' when there is
    no plan or no patient id).

    The query carries the planned date (when given), limb, level, limb volume (L, 2 decimals) and
    how it was obtained, the TNF-α dose and the melphalan dose after any cap (mg, 1 decimal), as
    the plan shows them; the record form validates them like any typed value when it is saved.
    """
    patient_id = form.get("patient_id").strip()
    if plan is None or not patient_id:
        return ""
    values = {
        "ilp_date": form.get("ilp_date").strip(),
        "limb": plan.limb.value,
        "perfusion_level": plan.level.value,
        "limb_volume_l": _decimal(plan.volume.limb_volume_l, 2),
        "limb_volume_method": plan.volume.method.value,
        "tnf_mg": f"{plan.doses.tnf_mg.value:g}",
        "melphalan_mg": _decimal(plan.doses.melphalan_mg, 1),
    }
    query = urlencode({name: value for name, value in values.items() if value})
    return f"/records/patients/{quote(patient_id, safe='')}/perfusions/new?{query}"


def _read_form(raw: Any) -> PlannerForm:
    values = {}
    for key, value in list(raw.multi_items())[:MAX_FORM_FIELDS]:
        if isinstance(value, str) and key not in values:
            values[key] = value[:1000]
    return PlannerForm(values)


def register(app: FastAPI, web: Web) -> None:
    """Add the planner page and its compute and save actions to ``app``."""

    def page(
        request: Request,
        user: accounts.SessionUser,
        form: PlannerForm,
        book: ProtocolBook,
        plan: PerfusionPlan | None,
        status: int = 200,
        saved: str = "",
    ) -> HTMLResponse:
        can_save, can_record = _patient_part(user)
        context = {
            "book": book,
            "form": form,
            "plan": plan,
            "levels_by_limb": {
                limb.value: [x.value for x in LEVELS_BY_LIMB[limb]] for limb in Limb
            },
            "error_fields": _error_fields(book, can_save or can_record),
            "can_save": can_save,
            "can_record": can_record,
            "record_url": record_url(form, plan),
            "saved": saved,
            "labs_open": any(
                (k.startswith(("lab_", "cond_")) and v.strip()) for k, v in form.values.items()
            )
            or any(k.startswith(("lab_", "cond_")) or k == "labs" for k in form.errors),
        }
        return web.render(request, "planner.html", context, status, user)

    def protocol_book(request: Request, user: accounts.SessionUser) -> ProtocolBook | HTMLResponse:
        try:
            return load_protocol_book()
        except ProtocolError as exc:
            return web.message(request, user, 500, "Protocol file unusable", str(exc))

    def session(request: Request) -> accounts.SessionUser:
        with web.db.begin() as conn:
            return web.page_user(request, conn)

    @app.get("/planner", include_in_schema=False)
    def planner_page(request: Request) -> HTMLResponse:
        user = session(request)
        book = protocol_book(request, user)
        if isinstance(book, HTMLResponse):
            return book
        form = PlannerForm({"limb": "leg", "level": "femoral", "protocol": book.default_protocol})
        return page(request, user, form, book, None)

    @app.post("/planner/compute", include_in_schema=False)
    async def planner_compute(request: Request) -> HTMLResponse:
        form = _read_form(await request.form())
        user = session(request)
        if not web.csrf_ok(user, form.get("csrf_token")):
            return web.message(request, user, 403, "Not computed", _CSRF_TEXT)
        book = protocol_book(request, user)
        if isinstance(book, HTMLResponse):
            return book
        plan = compute(form, book)
        if request.headers.get("HX-Request") != "true":
            return page(request, user, form, book, plan)
        can_save, can_record = _patient_part(user)
        context = {
            "form": form,
            "plan": plan,
            "error_fields": _error_fields(book, can_save or can_record),
            "oob": True,
            "can_record": can_record,
            "record_url": record_url(form, plan),
        }
        return web.render(request, "planner_results.html", context, 200, user)

    @app.post("/planner/save", include_in_schema=False)
    async def planner_save(request: Request) -> HTMLResponse:
        form = _read_form(await request.form())
        with web.db.begin() as conn:
            user = web.page_user(request, conn)
            if not web.csrf_ok(user, form.get("csrf_token")):
                return web.message(request, user, 403, "Not saved", _CSRF_TEXT)
            if user.role not in SAVE_ROLES:
                return web.message(
                    request,
                    user,
                    403,
                    "Not saved",
                    f"The role {user.role} may compute plans but not save them; plans are saved "
                    "by a clinician (or an admin). Nothing was saved.",
                )
            book = protocol_book(request, user)
            if isinstance(book, HTMLResponse):
                return book
            plan = compute(form, book)
            status, saved = _save(conn, user, form, plan)
        return page(request, user, form, book, plan, status, saved)


_CSRF_TEXT = "The form did not come from this site (or the session changed), so nothing was done."


def _save(
    conn: Connection, user: accounts.SessionUser, form: PlannerForm, plan: PerfusionPlan | None
) -> tuple[int, str]:
    """Save ``plan`` for the form's patient and date: (status, message of what was saved)."""
    patient_id = form.get("patient_id").strip()
    ilp_date = form.get("ilp_date").strip()
    if not patient_id:
        form.fail("patient_id", "give the patient id of the perfusion to save the plan to")
    if not ilp_date:
        form.fail("ilp_date", "give the planned date of the perfusion (YYYY-MM-DD)")
    if plan is None or form.errors:
        return 422, ""
    try:
        access.get_patient(conn, principal_of(user), patient_id)
    except (RecordNotFound, PseudonymKeyMissing) as exc:
        form.fail("patient_id", f"{exc}; nothing was saved")
        return 404, ""
    data: dict[str, Any] = plan.to_dict()
    try:
        plan_id = insert_plan(conn, patient_id, ilp_date, summary_of(data), data, user.username)
    except RegistryValidationError as exc:
        for problem in exc.problems:
            name = {"perfusion_level": "level"}.get(problem.field, problem.field)
            if name not in ("patient_id", "ilp_date", "limb", "level"):
                name = "patient_id"
            form.fail(name, f"{problem.describe()}; nothing was saved")
        return 422, ""
    return 200, (
        f"Plan {plan_id} saved for patient {patient_id}, perfusion on {ilp_date} "
        f"({plan.protocol.name} protocol; compare planned and given doses with 'ilp plans')."
    )
