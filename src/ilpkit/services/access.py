"""Centre isolation: every read of patients and perfusions for a logged-in user goes here.

A :class:`Principal` carries the user's role and centres. Each function filters in the SQL
query itself by the principal's centres, so a record of another centre is never read: asking
for it is answered exactly as for a record that does not exist (:class:`RecordNotFound`), and
lists, searches and counts include only the centres granted. An ``admin`` sees every centre.

A ``statistician`` sees pseudonymised records: the patient id is replaced by its keyed
pseudonym (:func:`ilpkit.services.deidentify.pseudonym`, with the deployment key from
``$ILP_PSEUDONYM_KEY``), the dates of birth and death are not shown, and every other date of the
patient is shifted into the past by the patient's keyed offset, exactly as in a de-identified
export (so the two agree); records are addressed by that pseudonym. Without a key,
statisticians are refused (:class:`PseudonymKeyMissing`).
"""

from __future__ import annotations

import functools
import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ilpkit.adapters.db.tables import patients, perfusions
from ilpkit.errors import IlpkitError

READ_ROLES = frozenset({"admin", "data_manager", "clinician", "statistician", "monitor"})
WRITE_ROLES = frozenset({"admin", "data_manager", "clinician"})
PSEUDONYMISED_ROLES = frozenset({"statistician"})


class RecordNotFound(IlpkitError):
    """No record with that id among the records the user may see (the same for every cause)."""


class PseudonymKeyMissing(IlpkitError):
    """A statistician asked for records but the deployment has no pseudonymisation key."""

    exit_code = 3


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking: user name, role and granted centres (``all_centers`` for an admin)."""

    username: str
    role: str
    centers: frozenset[str] = field(default_factory=frozenset)

    @property
    def all_centers(self) -> bool:
        """True for an admin, who sees every centre."""
        return self.role == "admin"

    @property
    def pseudonymised(self) -> bool:
        """True when the principal sees pseudonymised records only."""
        return self.role in PSEUDONYMISED_ROLES


@dataclass(frozen=True, slots=True)
class PatientView:
    """A patient as shown to a principal (pseudonymised for a statistician)."""

    patient_id: str
    center: str
    sex: str
    birth_date: date | None
    death_date: date | None
    last_followup_date: date
    perfusions: int
    version: int = 1


@dataclass(frozen=True, slots=True)
class PerfusionView:
    """One perfusion as shown to a principal."""

    perfusion_id: str | None
    patient_id: str
    ilp_date: date
    limb: str
    perfusion_level: str
    limb_volume_l: float
    tnf_mg: float
    melphalan_mg: float
    histology: str
    response: str | None
    max_leakage_pct: float | None
    version: int = 1


def pseudonym_key(environ: Mapping[str, str] | None = None) -> bytes:
    """The deployment's pseudonymisation key, else :class:`PseudonymKeyMissing`."""
    from ilpkit.services.deidentify import KEY_ENV, MIN_KEY_BYTES

    env = os.environ if environ is None else environ
    key = env.get(KEY_ENV, "").strip().encode("utf-8")
    if len(key) < MIN_KEY_BYTES:
        raise PseudonymKeyMissing(
            f"statisticians see pseudonymised records only, and this deployment has no "
            f"pseudonymisation key: set {KEY_ENV} (at least {MIN_KEY_BYTES} characters) for "
            "the web application"
        )
    return key


def _visible(principal: Principal) -> Any:
    """The WHERE clause limiting patients to the principal's centres."""
    if principal.role not in READ_ROLES:
        return sa.false()
    if principal.all_centers:
        return sa.true()
    if not principal.centers:
        return sa.false()
    return patients.c.center.in_(sorted(principal.centers))


def _perfusion_count() -> Any:
    return (
        sa.select(sa.func.count())
        .where(perfusions.c.patient_pk == patients.c.id)
        .correlate(patients)
        .scalar_subquery()
    )


class _Ids:
    """Shown ids: the patient id, or its pseudonym for a statistician."""

    def __init__(self, principal: Principal, environ: Mapping[str, str] | None) -> None:
        self.key = pseudonym_key(environ) if principal.pseudonymised else None

    def shown(self, patient_id: str) -> str:
        if self.key is None:
            return patient_id
        return _pseudonym(self.key, patient_id)

    def shown_perfusion(self, perfusion_id: str | None) -> str | None:
        """The perfusion_id, or for a statistician its keyed pseudonym (``F`` + 32 hex digits
        of HMAC-SHA256): the registry's perfusion_id is in identified exports, so it would link
        a pseudonymised record back to its patient."""
        if self.key is None or perfusion_id is None:
            return perfusion_id
        mac = hmac.new(
            self.key, b"ilpkit perfusion pseudonym\x00" + perfusion_id.encode("utf-8"), "sha256"
        )
        return "F" + mac.hexdigest()[:32]

    def shift(self, patient_id: str, birth_date: date) -> timedelta:
        """How far the patient's dates move into the past (zero when not pseudonymised): the
        keyed shift of a de-identified export, shortened as there so that the shifted birth
        date stays within the registry's limits."""
        if self.key is None:
            return timedelta(0)
        from ilpkit.domain import limits
        from ilpkit.services.deidentify import shift_days

        room = (birth_date - limits.EARLIEST_BIRTH_DATE).days
        return timedelta(days=min(shift_days(self.key, patient_id), max(room, 0)))


@functools.lru_cache(maxsize=262_144)
def _pseudonym(key: bytes, patient_id: str) -> str:
    """The keyed pseudonym, remembered: a statistician's list computes one per visible patient
    on every request (about 10 times faster for 10,000 patients; see docs/performance.md)."""
    from ilpkit.services.deidentify import pseudonym

    return pseudonym(key, patient_id)


def _shown_ids(conn: Connection, principal: Principal, ids: _Ids) -> list[tuple[str, int]]:
    """(shown id, primary key) of every patient the principal may see, by shown id.

    Only the two columns are read; the full rows of one page are read afterwards.
    """
    rows = conn.execute(sa.select(patients.c.patient_id, patients.c.id).where(_visible(principal)))
    return sorted((ids.shown(pid), int(pk)) for pid, pk in rows)


def _view(row: Any, ids: _Ids) -> PatientView:
    hide = ids.key is not None
    return PatientView(
        patient_id=ids.shown(row.patient_id),
        center=row.center,
        sex=row.sex,
        birth_date=None if hide else row.birth_date,
        death_date=None if hide else row.death_date,
        last_followup_date=row.last_followup_date - ids.shift(row.patient_id, row.birth_date),
        perfusions=int(row.n_perfusions),
        version=int(row.version),
    )


def _select_patients(principal: Principal) -> sa.Select[Any]:
    return sa.select(patients, _perfusion_count().label("n_perfusions")).where(_visible(principal))


def count_patients(
    conn: Connection, principal: Principal, environ: Mapping[str, str] | None = None
) -> int:
    """How many patients the principal may see."""
    _Ids(principal, environ)
    query = sa.select(sa.func.count()).select_from(patients).where(_visible(principal))
    return int(conn.execute(query).scalar_one())


def list_patients(
    conn: Connection,
    principal: Principal,
    search: str = "",
    *,
    limit: int = 50,
    offset: int = 0,
    environ: Mapping[str, str] | None = None,
) -> tuple[int, list[PatientView]]:
    """(total matching, one page of patients) the principal may see, by patient id.

    ``search`` matches part of the patient id (case-insensitive) or the centre code; for a
    statistician it matches part of the pseudonym only, so a search never tells whether a real
    id exists.
    """
    ids = _Ids(principal, environ)
    term = search.strip().lower()
    if ids.key is not None:
        shown = _shown_ids(conn, principal, ids)
        if term:
            shown = [s for s in shown if term in s[0].lower()]
        wanted = [pk for _, pk in shown[offset : offset + limit]]
        query = _select_patients(principal).where(patients.c.id.in_(wanted))
        by_pk = {r.id: r for r in conn.execute(query)}
        return len(shown), [_view(by_pk[pk], ids) for pk in wanted]
    where = [_visible(principal)]
    if term:
        pattern = "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        where.append(
            sa.or_(
                sa.func.lower(patients.c.patient_id).like(pattern, escape="\\"),
                sa.func.lower(patients.c.center).like(pattern, escape="\\"),
            )
        )
    total = conn.execute(
        sa.select(sa.func.count()).select_from(patients).where(*where)
    ).scalar_one()
    # the page first, then the perfusion counts of its rows only (counting them before the
    # OFFSET costs one count per skipped row: 23 ms instead of 2 ms at row 4,000)
    page_rows = (
        sa.select(patients)
        .where(*where)
        .order_by(patients.c.patient_id)
        .limit(limit)
        .offset(offset)
        .subquery()
    )
    n_perfusions = (
        sa.select(sa.func.count())
        .where(perfusions.c.patient_pk == page_rows.c.id)
        .correlate(page_rows)
        .scalar_subquery()
    )
    rows = conn.execute(
        sa.select(page_rows, n_perfusions.label("n_perfusions")).order_by(page_rows.c.patient_id)
    ).all()
    return int(total), [_view(r, ids) for r in rows]


def _find_patient(conn: Connection, principal: Principal, patient_id: str, ids: _Ids) -> Any:
    query = _select_patients(principal)
    if ids.key is None:
        row = conn.execute(query.where(patients.c.patient_id == patient_id)).first()
    else:
        keys = conn.execute(
            sa.select(patients.c.patient_id, patients.c.id).where(_visible(principal))
        )
        pk = next((pk for pid, pk in keys if ids.shown(pid) == patient_id), None)
        row = None if pk is None else conn.execute(query.where(patients.c.id == pk)).first()
    if row is None:
        raise RecordNotFound(f"there is no patient '{patient_id}'")
    return row


def get_patient(
    conn: Connection,
    principal: Principal,
    patient_id: str,
    environ: Mapping[str, str] | None = None,
) -> tuple[PatientView, list[PerfusionView]]:
    """One patient the principal may see, with the patient's perfusions by date.

    Raises
    ------
    RecordNotFound
        When there is no such patient in the principal's centres (also for another centre's).
    """
    ids = _Ids(principal, environ)
    row = _find_patient(conn, principal, patient_id, ids)
    view = _view(row, ids)
    shift = ids.shift(row.patient_id, row.birth_date)
    rows = conn.execute(
        sa.select(perfusions)
        .where(perfusions.c.patient_pk == row.id)
        .order_by(perfusions.c.ilp_date)
    ).all()
    return view, [
        PerfusionView(
            perfusion_id=ids.shown_perfusion(p.perfusion_id),
            patient_id=view.patient_id,
            ilp_date=p.ilp_date - shift,
            limb=p.limb,
            perfusion_level=p.perfusion_level,
            limb_volume_l=p.limb_volume_l,
            tnf_mg=p.tnf_mg,
            melphalan_mg=p.melphalan_mg,
            histology=p.histology,
            response=p.response,
            max_leakage_pct=p.max_leakage_pct,
            version=int(p.version),
        )
        for p in rows
    ]


def _find_perfusion(conn: Connection, principal: Principal, perfusion_id: str, ids: _Ids) -> Any:
    """(patient_id, perfusion_id) of the perfusion the principal addresses as ``perfusion_id``
    (a statistician: by its pseudonym), if its patient is in the principal's centres."""
    query = sa.select(patients.c.patient_id, perfusions.c.perfusion_id).join(
        perfusions, perfusions.c.patient_pk == patients.c.id
    )
    if ids.key is None:
        row = conn.execute(
            query.where(perfusions.c.perfusion_id == perfusion_id, _visible(principal))
        ).first()
    else:
        rows = conn.execute(
            query.where(_visible(principal), perfusions.c.perfusion_id.is_not(None))
        )
        row = next((r for r in rows if ids.shown_perfusion(r.perfusion_id) == perfusion_id), None)
    if row is None:
        raise RecordNotFound(f"there is no perfusion '{perfusion_id}'")
    return row


def registry_perfusion_id(
    conn: Connection,
    principal: Principal,
    perfusion_id: str,
    environ: Mapping[str, str] | None = None,
) -> str:
    """The registry's own perfusion_id of the perfusion the principal addresses as
    ``perfusion_id`` (a statistician: by its pseudonym); :class:`RecordNotFound` when the
    principal may not see it. For services that read other tables of that perfusion."""
    return str(
        _find_perfusion(conn, principal, perfusion_id, _Ids(principal, environ)).perfusion_id
    )


def get_perfusion(
    conn: Connection,
    principal: Principal,
    perfusion_id: str,
    environ: Mapping[str, str] | None = None,
) -> PerfusionView:
    """One perfusion, by its perfusion_id (a statistician: by its pseudonym), if its patient is
    in the principal's centres."""
    ids = _Ids(principal, environ)
    row = _find_perfusion(conn, principal, perfusion_id, ids)
    _, perfs = get_patient(conn, principal, ids.shown(row.patient_id), environ)
    return next(p for p in perfs if p.perfusion_id == perfusion_id)
