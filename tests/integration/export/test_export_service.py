"""The export use case: audit row before publishing, no overwrite without replace, nothing left
behind on failure, clear refusals."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from ilpkit.adapters.db import registry_repository
from ilpkit.services import registry_export_formats as service
from ilpkit.services.deidentify import DeidentifyOptions
from ilpkit.services.registry_export_formats import ExportError, export_registry_as

KEY = b"0123456789abcdef0123456789abcdef"
TODAY = date(2026, 11, 27)


def audit_rows(url: str) -> list[tuple]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT action, entity_key, details FROM audit_log ORDER BY id")
        ).all()
    engine.dispose()
    return [tuple(r) for r in rows]


def test_audit_row_names_format_and_deidentification(registry, out_dir):
    before = len(audit_rows(registry))
    export_registry_as(registry, out_dir / "a.sav", "sav", "tester")
    export_registry_as(
        registry, out_dir / "b.dta", "dta", "tester", deidentify=DeidentifyOptions(KEY)
    )
    rows = audit_rows(registry)[before:]
    assert [(a, k) for a, k, _ in rows] == [("export", "a.sav"), ("export", "b.dta")]
    first, second = (d if isinstance(d, dict) else __import__("json").loads(d) for _, _, d in rows)
    assert first["format"] == "sav" and first["deidentified"] is False and first["rows"] == 4
    assert second["format"] == "dta" and second["deidentified"] is True
    assert KEY.decode() not in str(second)


def test_existing_output_is_refused_without_replace(sqlite_registry, out_dir):
    target = out_dir / "registry.parquet"
    target.write_bytes(b"keep me")
    before = audit_rows(sqlite_registry)
    with pytest.raises(ExportError, match="already exists"):
        export_registry_as(sqlite_registry, target, "parquet", "tester")
    assert target.read_bytes() == b"keep me"
    assert audit_rows(sqlite_registry) == before
    export_registry_as(sqlite_registry, target, "parquet", "tester", replace=True)
    assert target.read_bytes()[:4] == b"PAR1"


def test_fhir_folder_is_replaced_whole(sqlite_registry, out_dir):
    folder = out_dir / "fhir"
    folder.mkdir()
    (folder / "stale.json").write_text("{}")
    with pytest.raises(ExportError, match="already exists"):
        export_registry_as(sqlite_registry, folder, "fhir", "tester")
    export_registry_as(sqlite_registry, folder, "fhir", "tester", replace=True)
    assert sorted(p.name for p in folder.iterdir()) == [
        "SYN-0001.json",
        "SYN-0002.json",
        "SYN-0003.json",
    ]


def test_failed_write_leaves_no_file_and_no_audit_row(sqlite_registry, out_dir, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(service, "_write", broken)
    before = audit_rows(sqlite_registry)
    with pytest.raises(OSError):
        export_registry_as(sqlite_registry, out_dir / "x.sav", "sav", "tester")
    assert list(out_dir.iterdir()) == []
    assert audit_rows(sqlite_registry) == before


def test_failed_audit_insert_publishes_nothing(sqlite_registry, out_dir, monkeypatch):
    def broken(*args, **kwargs):
        raise sa.exc.OperationalError("INSERT", {}, Exception("database is locked"))

    monkeypatch.setattr(registry_repository, "add_audit", broken)
    with pytest.raises(sa.exc.OperationalError):
        export_registry_as(sqlite_registry, out_dir / "x.xml", "odm", "tester")
    assert list(out_dir.iterdir()) == []


@pytest.mark.parametrize(
    ("fmt", "kwargs", "message"),
    [
        ("csv", {"per": "patient"}, "one row per perfusion"),
        ("odm", {"per": "patient"}, "already group"),
        ("csv", {"deidentify": DeidentifyOptions(KEY, coarsen_age=True)}, "needs full dates"),
        ("csv", {"deidentify": DeidentifyOptions(KEY, year_only=True)}, "needs full dates"),
        ("xls", {}, "not an export format"),
    ],
)
def test_requests_that_cannot_be_met_are_refused(sqlite_registry, out_dir, fmt, kwargs, message):
    with pytest.raises(ExportError, match=message):
        export_registry_as(sqlite_registry, out_dir / "x", fmt, "tester", **kwargs)
    assert list(out_dir.iterdir()) == []


def test_empty_registry_is_refused(sqlite_url, out_dir):
    from ilpkit.adapters.db.engine import migrate_registry

    migrate_registry(sqlite_url)  # a registry with its tables and no perfusion
    with pytest.raises(ExportError, match="no perfusions"):
        export_registry_as(sqlite_url, out_dir / "x.sav", "sav", "tester")
    assert list(out_dir.iterdir()) == []


def test_csv_cells_that_look_like_formulas_are_neutralised(
    sqlite_url, out_dir, row_factory, csv_file
):
    """A centre code may start with '-', which a spreadsheet reads as a formula: the exported
    cell gets a leading apostrophe, and importing the file gives the same values back."""
    from ilpkit.services.registry_import import import_registry

    import_registry(csv_file([row_factory(center="-5", patient_id="-A1")]), sqlite_url, TODAY, "t")
    path = out_dir / "registry.csv"
    export_registry_as(sqlite_url, path, "csv", "tester")
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[1].startswith("'-A1,'-5,F,1950-05-17,")
    copy = f"sqlite:///{out_dir / 'copy.sqlite3'}"
    report = import_registry(path, copy, TODAY, "tester")
    assert report.perfusions_created == 1
    again = out_dir / "again.csv"
    export_registry_as(copy, again, "csv", "tester")
    assert again.read_text(encoding="utf-8") == path.read_text(encoding="utf-8")
