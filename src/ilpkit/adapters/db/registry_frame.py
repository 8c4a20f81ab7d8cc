"""Load the whole registry as one pandas DataFrame (one row per perfusion) for analysis.

Read with one SQL query through pandas rather than building domain objects row by row: the
analysis of a 1,000,000-perfusion registry must load in seconds (benchmarks/bench_report.py).
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy.engine import Connection

from ilpkit.adapters.db.registry_repository import select_records
from ilpkit.domain.fields import FIELDS

DATE_COLUMNS = tuple(f.name for f in FIELDS if f.kind == "date")
BOOL_COLUMNS = tuple(f.name for f in FIELDS if f.kind == "yes/no")


def load_registry_frame(conn: Connection) -> pd.DataFrame:
    """Every stored perfusion with its patient's data, one row each, ordered by patient and date.

    Columns are the Registry CSV v1 columns; dates are ``datetime64[ns]`` (NaT when empty),
    yes/no columns ``bool``, numbers ``float64`` (NaN when empty), grade ``Int64``, choices
    ``object`` strings (None when empty).
    """
    frame = pd.read_sql(select_records(), conn)
    for name in DATE_COLUMNS:
        frame[name] = pd.to_datetime(frame[name])
    for name in BOOL_COLUMNS:
        frame[name] = frame[name].astype(bool)
    frame["grade"] = frame["grade"].astype("Int64")
    return frame
