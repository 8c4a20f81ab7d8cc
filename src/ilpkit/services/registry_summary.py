"""Use case: summarise the registry (patients, perfusions, centres, accrual and follow-up)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from ilpkit.adapters.db import registry_repository as repo
from ilpkit.adapters.db.tables import patients, perfusions
from ilpkit.services.unit_of_work import UnitOfWork


@dataclass(frozen=True, slots=True)
class CenterCount:
    """Patients and perfusions of one centre."""

    center: str
    n_patients: int
    n_perfusions: int


@dataclass(frozen=True, slots=True)
class RegistrySummary:
    """Headline figures of a registry.

    Attributes
    ----------
    n_patients, n_perfusions, n_centers, n_deaths : int
    first_ilp_date, last_ilp_date : date or None
        Accrual span (first and last perfusion).
    last_followup_date : date or None
        Latest date of last follow-up.
    median_followup_years : float or None
        Median time from each patient's first perfusion to the date of last follow-up (simple
        median over all patients, dead or alive; the reverse Kaplan-Meier estimate is in
        ``ilp analyze``).
    centers : list of CenterCount
    """

    n_patients: int
    n_perfusions: int
    n_centers: int
    n_deaths: int
    first_ilp_date: date | None
    last_ilp_date: date | None
    last_followup_date: date | None
    median_followup_years: float | None
    centers: list[CenterCount]

    def to_dict(self) -> dict[str, object]:
        """JSON-serialisable form."""
        return {
            "n_patients": self.n_patients,
            "n_perfusions": self.n_perfusions,
            "n_centers": self.n_centers,
            "n_deaths": self.n_deaths,
            "first_ilp_date": _iso(self.first_ilp_date),
            "last_ilp_date": _iso(self.last_ilp_date),
            "last_followup_date": _iso(self.last_followup_date),
            "median_followup_years": self.median_followup_years,
            "centers": [_center(c) for c in self.centers],
        }


def _center(c: CenterCount) -> dict[str, object]:
    return {"center": c.center, "n_patients": c.n_patients, "n_perfusions": c.n_perfusions}


def _iso(d: date | None) -> str | None:
    return None if d is None else d.isoformat()


DAYS_PER_YEAR = 365.25


def summarise_registry(url: str) -> RegistrySummary:
    """Compute the registry summary of the database at ``url``."""
    with UnitOfWork(url, write=False) as uow:
        conn = uow.connection
        c = repo.counts(conn)
        spans = conn.execute(
            sa.select(sa.func.min(perfusions.c.ilp_date), patients.c.last_followup_date)
            .select_from(perfusions.join(patients, perfusions.c.patient_pk == patients.c.id))
            .group_by(patients.c.id, patients.c.last_followup_date)
        ).all()
    years = [(last - first).days / DAYS_PER_YEAR for first, last in spans]
    return RegistrySummary(
        n_patients=int(c["n_patients"]),  # type: ignore[call-overload]
        n_perfusions=int(c["n_perfusions"]),  # type: ignore[call-overload]
        n_centers=int(c["n_centers"]),  # type: ignore[call-overload]
        n_deaths=int(c["n_deaths"]),  # type: ignore[call-overload]
        first_ilp_date=c["first_ilp_date"],  # type: ignore[arg-type]
        last_ilp_date=c["last_ilp_date"],  # type: ignore[arg-type]
        last_followup_date=c["last_followup_date"],  # type: ignore[arg-type]
        median_followup_years=statistics.median(years) if years else None,
        centers=[CenterCount(**row) for row in c["centers"]],  # type: ignore[attr-defined]
    )
