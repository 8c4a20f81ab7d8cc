"""Use case: run the outcome study on the registry database."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from ilpkit.adapters.db import registry_info
from ilpkit.adapters.db.registry_frame import load_registry_frame
from ilpkit.services.unit_of_work import UnitOfWork

if TYPE_CHECKING:
    from ilpkit.stats.analysis import AnalysisOptions
    from ilpkit.stats.results import AnalysisResults


def load_frame(url: str) -> pd.DataFrame:
    """The registry at ``url`` as one DataFrame, one row per perfusion."""
    with UnitOfWork(url, write=False) as uow:
        return _read_frame(uow)


def _read_frame(uow: UnitOfWork) -> pd.DataFrame:
    """The frame, read columnar where possible.

    A SQLite file is read columnar by a second SQLite library in this process, which must not
    open the file while this connection holds a transaction (closing it would drop this
    connection's file locks): the read-only transaction that checked the schema ends first.
    """
    conn = uow.connection
    if conn.dialect.name == "sqlite":
        conn.rollback()
    return load_registry_frame(conn)


@dataclass(frozen=True)
class LoadedRegistry:
    """A registry as one DataFrame (one row per perfusion) with what it says about itself.

    Attributes
    ----------
    frame : DataFrame
    synthetic : bool
        Made by ``ilp synth`` (marked in the registry, or holding its patients).
    synthetic_seed : int or None
        The seed ``ilp synth`` used, when recorded.
    """

    frame: pd.DataFrame
    synthetic: bool
    synthetic_seed: int | None


def load_registry(url: str) -> LoadedRegistry:
    """The registry at ``url`` with its SYNTHETIC mark (:class:`LoadedRegistry`)."""
    with UnitOfWork(url, write=False) as uow:
        conn = uow.connection
        synthetic = registry_info.is_synthetic(conn)
        seed = registry_info.synthetic_seed(conn)
        return LoadedRegistry(_read_frame(uow), synthetic, seed)


def analyze_registry(url: str, options: AnalysisOptions | None = None) -> AnalysisResults:
    """Results (schema ``ilpkit.results/1``) of the registry at ``url``; ``synthetic`` is
    true for a registry made by ``ilp synth``."""
    # imported here: reading the registry (``ilp predict``) needs none of the outcome study
    from ilpkit.stats.analysis import analyze

    loaded = load_registry(url)
    return analyze(loaded.frame, options, synthetic=loaded.synthetic)
