"""Use case: summarise the registry (patients, perfusions, centres, accrual and follow-up)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar

import sqlalchemy as sa

from ilpkit.adapters.db import registry_info
from ilpkit.adapters.db import registry_repository as repo
from ilpkit.adapters.db.tables import patients, perfusions
from ilpkit.services.unit_of_work import UnitOfWork


@dataclass(frozen=True, slots=True)
class CenterCount:
    """Patients and perfusions of one centre."""

    center: str
    n_patients: int
    n_perfusions: int


FOLLOW_UP_METHOD = "reverse Kaplan-Meier"
"""How the median follow-up is estimated, everywhere it is shown."""


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
        Median follow-up from each patient's first perfusion by the reverse Kaplan-Meier
        method (Schemper & Smith 1996; death censors follow-up), the same estimate as
        ``ilp analyze`` and the report; None when it is not reached.
    centers : list of CenterCount
    synthetic : bool
        The registry was made by ``ilp synth`` (marked in the registry itself).
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
    synthetic: bool = False

    median_followup_method: ClassVar[str] = FOLLOW_UP_METHOD

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
            "median_followup_method": self.median_followup_method,
            "centers": [_center(c) for c in self.centers],
            "synthetic": self.synthetic,
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
            sa.select(
                sa.func.min(perfusions.c.ilp_date),
                patients.c.last_followup_date,
                patients.c.death_date,
            )
            .select_from(perfusions.join(patients, perfusions.c.patient_pk == patients.c.id))
            .group_by(patients.c.id, patients.c.last_followup_date, patients.c.death_date)
        ).all()
        synthetic = registry_info.is_synthetic(conn)
    return RegistrySummary(
        n_patients=int(c["n_patients"]),  # type: ignore[call-overload]
        n_perfusions=int(c["n_perfusions"]),  # type: ignore[call-overload]
        n_centers=int(c["n_centers"]),  # type: ignore[call-overload]
        n_deaths=int(c["n_deaths"]),  # type: ignore[call-overload]
        first_ilp_date=c["first_ilp_date"],  # type: ignore[arg-type]
        last_ilp_date=c["last_ilp_date"],  # type: ignore[arg-type]
        last_followup_date=c["last_followup_date"],  # type: ignore[arg-type]
        median_followup_years=_median_follow_up(spans),
        centers=[CenterCount(**row) for row in c["centers"]],  # type: ignore[attr-defined]
        synthetic=synthetic,
    )


def _median_follow_up(spans: Sequence[Any]) -> float | None:
    """Reverse Kaplan-Meier median of (first perfusion, last follow-up, death) per patient."""
    if not spans:
        return None
    from ilpkit.stats.kaplan_meier import median_follow_up

    years = [(last - first).days / DAYS_PER_YEAR for first, last, _ in spans]
    died = [death is not None for _, _, death in spans]
    median = median_follow_up(years, died, conf_type="log-log").median
    return None if median is None or not math.isfinite(median) else float(median)
