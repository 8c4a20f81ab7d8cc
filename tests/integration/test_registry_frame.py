"""The analysis DataFrame holds exactly what was imported, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pandas as pd

from ilpkit.services.outcome_analysis import load_frame
from ilpkit.services.registry_import import import_registry


def test_frame_types_and_values(db_url, row_factory, csv_file):
    rows = [
        row_factory(),
        row_factory(
            patient_id="SYN-0002",
            grade="",
            wieberdink_grade="",
            death_date="2008-06-30",
            multifocal="yes",
            tumor_size_cm="",
        ),
    ]
    import_registry(csv_file(rows), db_url, date(2026, 11, 27), "tester")
    f = load_frame(db_url)
    assert f["patient_id"].tolist() == ["SYN-0001", "SYN-0002"]
    assert f["ilp_date"].tolist() == [pd.Timestamp("2001-03-14")] * 2
    assert f["death_date"].isna().tolist() == [True, False]
    assert f["multifocal"].tolist() == [False, True]
    assert f["grade"].tolist()[0] == 2 and pd.isna(f["grade"].tolist()[1])
    assert f["wieberdink_grade"].dtype == "Int64"
    assert f["tumor_size_cm"].tolist()[0] == 12.5 and pd.isna(f["tumor_size_cm"].tolist()[1])
    assert f["melphalan_mg"].tolist() == [80.0, 80.0]


def test_empty_registry_gives_empty_frame(sqlite_url):
    from ilpkit.adapters.db.engine import ensure_schema, make_engine

    engine = make_engine(sqlite_url)
    ensure_schema(engine)
    engine.dispose()
    assert len(load_frame(sqlite_url)) == 0
