"""Every export publishes the same way: audit row, files moved into place, commit - all or
nothing. A failure after a file was moved into place puts the replaced file (or folder) back and
keeps no audit row, for the Registry CSV export and for every other format alike."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from ilpkit.services.deidentify import DeidentifyOptions
from ilpkit.services.registry_export import export_registry
from ilpkit.services.registry_export_formats import export_registry_as
from ilpkit.services.unit_of_work import UnitOfWork

KEY = b"0123456789abcdef0123456789abcdef"


def audit_count(url: str) -> int:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        n = conn.execute(sa.text("SELECT count(*) FROM audit_log")).scalar_one()
    engine.dispose()
    return int(n)


@pytest.fixture
def failing_commit(monkeypatch):
    def broken(self):
        raise sa.exc.OperationalError("COMMIT", {}, Exception("disk I/O error"))

    monkeypatch.setattr(UnitOfWork, "commit", broken)


def export(url, target, fmt, **kw):
    if fmt == "registry-csv":
        return export_registry(url, target, "tester", replace=True)
    return export_registry_as(url, target, fmt, "tester", replace=True, **kw)


@pytest.mark.parametrize("fmt", ["registry-csv", "csv", "parquet", "odm"])
def test_failed_commit_puts_the_replaced_file_back(registry, out_dir, fmt, failing_commit):
    target = out_dir / "registry.out"
    target.write_bytes(b"the previous export")
    before = audit_count(registry)
    with pytest.raises(sa.exc.OperationalError):
        export(registry, target, fmt)
    assert target.read_bytes() == b"the previous export"
    assert [p.name for p in out_dir.iterdir()] == ["registry.out"]  # nothing left over
    assert audit_count(registry) == before


def test_failed_commit_puts_file_and_manifest_back(registry, out_dir, failing_commit):
    target = out_dir / "shared.sav"
    manifest = out_dir / "shared.sav.manifest.json"
    target.write_bytes(b"old data")
    manifest.write_text("old manifest")
    with pytest.raises(sa.exc.OperationalError):
        export(registry, target, "sav", deidentify=DeidentifyOptions(KEY))
    assert (target.read_bytes(), manifest.read_text()) == (b"old data", "old manifest")
    assert sorted(p.name for p in out_dir.iterdir()) == sorted([manifest.name, target.name])


def test_failed_commit_puts_the_replaced_fhir_folder_back(registry, out_dir, failing_commit):
    folder = out_dir / "fhir"
    folder.mkdir()
    (folder / "stale.json").write_text("{}")
    with pytest.raises(sa.exc.OperationalError):
        export(registry, folder, "fhir")
    assert [p.name for p in folder.iterdir()] == ["stale.json"]
    assert [p.name for p in out_dir.iterdir()] == ["fhir"]


def test_replace_publishes_and_audits_once(registry, out_dir):
    target = out_dir / "registry.csv"
    target.write_text("old")
    before = audit_count(registry)
    assert export(registry, target, "registry-csv") == 4
    assert export(registry, target, "csv").rows == 4
    assert target.read_text(encoding="utf-8").startswith("patient_id,")
    assert [p.name for p in out_dir.iterdir()] == ["registry.csv"]
    assert audit_count(registry) == before + 2


def test_redcap_failed_commit_puts_both_files_back(registry, out_dir, failing_commit):
    from ilpkit.services.redcap_export import DICTIONARY_FILE, RECORDS_FILE, export_redcap

    (out_dir / DICTIONARY_FILE).write_text("old dictionary")
    (out_dir / RECORDS_FILE).write_text("old records")
    before = audit_count(registry)
    with pytest.raises(sa.exc.OperationalError):
        export_redcap(registry, out_dir, "tester", replace=True)
    assert (out_dir / DICTIONARY_FILE).read_text() == "old dictionary"
    assert (out_dir / RECORDS_FILE).read_text() == "old records"
    assert sorted(p.name for p in out_dir.iterdir()) == sorted([DICTIONARY_FILE, RECORDS_FILE])
    assert audit_count(registry) == before


def test_redcap_failed_commit_removes_the_folder_it_made(registry, out_dir, failing_commit):
    from ilpkit.services.redcap_export import export_redcap

    with pytest.raises(sa.exc.OperationalError):
        export_redcap(registry, out_dir / "redcap", "tester")
    assert list(out_dir.iterdir()) == []


def test_redcap_export_is_audited_under_the_folder_name(registry, out_dir):
    from ilpkit.services.redcap_export import export_redcap

    export_redcap(registry, out_dir / "for-redcap", "tester")
    engine = sa.create_engine(registry)
    with engine.connect() as conn:
        key = conn.execute(
            sa.text("SELECT entity_key FROM audit_log ORDER BY id DESC LIMIT 1")
        ).scalar_one()
    engine.dispose()
    assert key == "for-redcap"
    assert sorted(p.name for p in (out_dir / "for-redcap").iterdir()) == [
        "data_dictionary.csv",
        "records.csv",
    ]
