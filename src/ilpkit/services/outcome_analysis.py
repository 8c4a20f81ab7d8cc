"""Use case: run the outcome study on the registry database."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ilpkit.adapters.db.registry_frame import load_registry_frame
from ilpkit.services.unit_of_work import UnitOfWork
from ilpkit.stats.analysis import AnalysisOptions, analyze


def load_frame(url: str) -> pd.DataFrame:
    """The registry at ``url`` as one DataFrame, one row per perfusion."""
    with UnitOfWork(url, write=False) as uow:
        return load_registry_frame(uow.connection)


def analyze_registry(url: str, options: AnalysisOptions | None = None) -> dict[str, Any]:
    """Results (schema ``ilpkit.results/1``) of the registry at ``url``."""
    return analyze(load_frame(url), options)
