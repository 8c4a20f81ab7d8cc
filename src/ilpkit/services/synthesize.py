"""Use case: build a SYNTHETIC registry (a CSV file, a database, or both) from the cohort model.

The cohort comes from :func:`ilpkit.synthetic.generate_cohort`, which checks every registry rule
on it (vectorised). A database receives it by bulk insert in one transaction, together with its
audit row (action ``synth``); a registry that already holds patients is refused unless
``replace`` is given, in which case its patients and perfusions are deleted in the same
transaction (the audit log is kept). A CSV file is written as Registry CSV v1 and moved into
place only when complete.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from ilpkit import __version__
from ilpkit.adapters.db import bulk, registry_info
from ilpkit.adapters.db import registry_repository as repo
from ilpkit.adapters.db.engine import safe_url
from ilpkit.domain.synthetic import SYNTHETIC_CENTER
from ilpkit.errors import IlpkitError
from ilpkit.progress import StageProgress
from ilpkit.services.unit_of_work import UnitOfWork
from ilpkit.synthetic import generate_cohort
from ilpkit.synthetic.calibration import TARGETS, cohort_figures
from ilpkit.synthetic.cohort import SyntheticCohort
from ilpkit.synthetic.registry_text import write_cohort_csv

# Progress stages: ``generate``, ``csv`` (rows) and ``database`` (patient and perfusion rows).

AUDIT_ACTION = "synth"


class RegistryNotEmptyError(IlpkitError):
    """The target registry already holds data and ``replace`` was not given."""

    def __init__(self, n_patients: int, n_perfusions: int):
        self.n_patients = n_patients
        self.n_perfusions = n_perfusions
        super().__init__(
            f"the registry already holds {n_patients:,} patients and {n_perfusions:,} perfusions"
        )


class OutputFileExistsError(IlpkitError):
    """The CSV file exists and ``replace`` was not given."""

    def __init__(self, path: Path):
        self.path = path
        super().__init__(f"{path} already exists")


@dataclass(frozen=True, slots=True)
class SynthReport:
    """What :func:`synthesize` wrote.

    Attributes
    ----------
    n_patients, n_perfusions : int
    seed : int
    csv_path : Path or None
        The CSV file written.
    database : str or None
        The database written (URL without password).
    replaced_patients, replaced_perfusions : int
        Rows deleted from the database first (``replace``).
    figures : dict
        The cohort's headline figures (crude), keyed like
        :data:`ilpkit.synthetic.calibration.TARGETS`.
    seconds : dict
        Time spent per stage.
    """

    n_patients: int
    n_perfusions: int
    seed: int
    csv_path: Path | None
    database: str | None
    replaced_patients: int = 0
    replaced_perfusions: int = 0
    figures: dict[str, float] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        """JSON-serialisable form."""
        return {
            "synthetic": True,
            "n_patients": self.n_patients,
            "n_perfusions": self.n_perfusions,
            "seed": self.seed,
            "center": SYNTHETIC_CENTER,
            "csv_path": None if self.csv_path is None else str(self.csv_path),
            "database": self.database,
            "replaced_patients": self.replaced_patients,
            "replaced_perfusions": self.replaced_perfusions,
            "figures": self.figures,
            "seconds": self.seconds,
        }


def _generate(
    n_patients: int, seed: int, progress: StageProgress | None, seconds: dict[str, float]
) -> SyntheticCohort:
    start = time.perf_counter()
    if progress is not None:
        progress("generate", 0, 1)
    cohort = generate_cohort(n_patients, seed)
    if progress is not None:
        progress("generate", 1, 1)
    seconds["generate"] = time.perf_counter() - start
    return cohort


def _audit_details(cohort: SyntheticCohort, replaced: tuple[int, int]) -> dict[str, object]:
    return {
        "synthetic": True,
        "model": f"ilpkit {__version__} synthetic cohort model (docs/synthetic-cohort.md)",
        "seed": cohort.seed,
        "center": SYNTHETIC_CENTER,
        "patients": cohort.n_patients,
        "perfusions": cohort.n_perfusions,
        "replaced_patients": replaced[0],
        "replaced_perfusions": replaced[1],
    }


def synthesize(
    n_patients: int,
    seed: int,
    actor: str,
    csv_path: Path | None = None,
    url: str | None = None,
    replace: bool = False,
    progress: StageProgress | None = None,
) -> SynthReport:
    """Generate a SYNTHETIC cohort and write it to a CSV file and/or a registry database.

    Parameters
    ----------
    n_patients : int
        Number of patients (about 1.11 perfusions each).
    seed : int
        Seed of the generator.
    actor : str
        Who runs it, for the audit log.
    csv_path : Path, optional
        Write Registry CSV v1 here.
    url : str, optional
        Write into this registry database (created, or migrated, when needed).
    replace : bool
        Overwrite an existing CSV file; delete the patients and perfusions of a registry that
        holds data (in the same transaction as the insert).
    progress : callable, optional
        Stage progress callback.

    Returns
    -------
    SynthReport

    Raises
    ------
    ValueError
        Neither a CSV file nor a database is given.
    OutputFileExistsError
        ``csv_path`` exists and ``replace`` is False (nothing is written).
    RegistryNotEmptyError
        The registry holds data and ``replace`` is False (nothing is written).
    """
    if csv_path is None and url is None:
        raise ValueError("give a CSV file, a database URL, or both")
    if csv_path is not None and csv_path.exists() and not replace:
        raise OutputFileExistsError(csv_path)
    seconds: dict[str, float] = {}
    replaced = (0, 0)
    if url is None:
        cohort = _generate(n_patients, seed, progress, seconds)
    else:
        with UnitOfWork(url, write=True) as uow:
            conn = uow.connection
            stored = bulk.registry_counts(conn)
            if any(stored) and not replace:
                raise RegistryNotEmptyError(*stored)
            cohort = _generate(n_patients, seed, progress, seconds)
            start = time.perf_counter()
            if any(stored):
                replaced = bulk.delete_registry_rows(conn)

            def tick(done: int, total: int) -> None:
                if progress is not None:
                    progress("database", done, total)

            bulk.bulk_insert_registry(
                conn,
                {name: cohort.patients[name] for name in cohort.patients},
                {name: cohort.perfusions[name] for name in cohort.perfusions},
                cohort.perfusion_patient,
                progress=tick,
            )
            registry_info.mark_synthetic(conn, seed)
            repo.add_audit(
                conn,
                actor,
                AUDIT_ACTION,
                [("registry", f"SYNTHETIC seed {seed}", _audit_details(cohort, replaced))],
            )
            uow.commit()
            seconds["database"] = time.perf_counter() - start
    if csv_path is not None:
        start = time.perf_counter()

        def tick_csv(done: int, total: int) -> None:
            if progress is not None:
                progress("csv", done, total)

        write_cohort_csv(cohort, csv_path, tick_csv)
        seconds["csv"] = time.perf_counter() - start
    figures = cohort_figures(cohort)
    return SynthReport(
        n_patients=cohort.n_patients,
        n_perfusions=cohort.n_perfusions,
        seed=seed,
        csv_path=csv_path,
        database=None if url is None else safe_url(url),
        replaced_patients=replaced[0],
        replaced_perfusions=replaced[1],
        figures={t.name: figures[t.name] for t in TARGETS},
        seconds=seconds,
    )
