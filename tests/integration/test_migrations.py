"""Alembic migrations upgrade and downgrade on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from ilpkit.adapters.db.engine import (
    current_revision,
    downgrade,
    ensure_schema,
    head_revision,
    make_engine,
    upgrade,
)
from ilpkit.adapters.db.tables import metadata


def test_upgrade_downgrade_upgrade(db_url):
    engine = make_engine(db_url)
    try:
        assert current_revision(engine) is None
        upgrade(engine)
        assert current_revision(engine) == head_revision()
        tables = set(sa.inspect(engine).get_table_names())
        assert {"patients", "perfusions", "audit_log"} <= tables
        downgrade(engine, "base")
        assert set(sa.inspect(engine).get_table_names()) <= {"alembic_version"}
        assert ensure_schema(engine) is True
        assert ensure_schema(engine) is False
    finally:
        engine.dispose()


def test_migrated_schema_matches_the_table_definitions(db_url):
    """The migrations create exactly the columns and named constraints the code declares."""
    engine = make_engine(db_url)
    try:
        upgrade(engine)
        inspector = sa.inspect(engine)
        for table in metadata.sorted_tables:
            columns = {c["name"] for c in inspector.get_columns(table.name)}
            assert columns == {c.name for c in table.columns}, table.name
        checks = {c["name"] for c in inspector.get_check_constraints("perfusions")}
        assert "ck_perfusions_tnf_mg" in checks
        uniques = {c["name"] for c in inspector.get_unique_constraints("perfusions")}
        assert "uq_perfusions_patient_pk_ilp_date" in uniques
    finally:
        engine.dispose()


def test_schema_revision_constant_is_the_newest_migration():
    from ilpkit.adapters.db.engine import SCHEMA_REVISION

    assert head_revision() == SCHEMA_REVISION


def test_registry_info_upgrade_downgrade_and_synthetic_backfill(db_url):
    """0005 adds registry_info; a registry that ilp synth wrote before it is marked synthetic."""
    from datetime import date

    from ilpkit.adapters.db import registry_info
    from ilpkit.adapters.db.tables import patients

    engine = make_engine(db_url)
    try:
        upgrade(engine, "0002")
        assert "registry_info" not in sa.inspect(engine).get_table_names()
        with engine.begin() as conn:
            conn.execute(
                sa.insert(patients),
                [
                    {
                        "patient_id": "SYN-0001",
                        "center": "SYNTH",
                        "sex": "F",
                        "birth_date": date(1950, 1, 1),
                        "last_followup_date": date(2005, 1, 1),
                    }
                ],
            )
        upgrade(engine, "0005")
        assert "registry_info" in sa.inspect(engine).get_table_names()
        with engine.connect() as conn:
            assert registry_info.read_info(conn) == {"synthetic": "yes"}
        downgrade(engine, "0002")
        assert "registry_info" not in sa.inspect(engine).get_table_names()
        with engine.connect() as conn:
            assert registry_info.read_info(conn) == {}
    finally:
        engine.dispose()


def test_real_registry_is_not_marked_on_upgrade(db_url):
    from ilpkit.adapters.db import registry_info

    engine = make_engine(db_url)
    try:
        upgrade(engine)
        with engine.connect() as conn:
            assert registry_info.read_info(conn) == {}
            assert registry_info.is_synthetic(conn) is False
    finally:
        engine.dispose()


def test_perfusion_id_migration_fills_stored_perfusions_and_downgrades(db_url):
    """0004 gives every stored perfusion a unique perfusion_id; downgrading keeps the data."""
    engine = make_engine(db_url)
    insert_patient = sa.text(
        "INSERT INTO patients (id, patient_id, center, sex, birth_date, last_followup_date) "
        "VALUES (1, 'SYN-1', 'C', 'F', '1950-01-01', '2008-01-01')"
    )
    insert_perfusion = sa.text(
        "INSERT INTO perfusions (patient_pk, ilp_date, limb, perfusion_level, limb_volume_l, "
        "tnf_mg, melphalan_mg, histology, multifocal, presentation, prior_radiotherapy) "
        "VALUES (1, :d, 'leg', 'femoral', 8, 3, 80, 'liposarcoma', false, 'primary', false)"
    )
    try:
        upgrade(engine, "0002")
        with engine.begin() as conn:
            conn.execute(insert_patient)
            for d in ("2001-01-01", "2002-01-01", "2003-01-01"):
                conn.execute(insert_perfusion, {"d": d})
        upgrade(engine, "0004")
        with engine.connect() as conn:
            ids = conn.execute(sa.text("SELECT perfusion_id FROM perfusions")).scalars().all()
        assert len(ids) == 3 and len(set(ids)) == 3
        assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
        downgrade(engine, "0002")
        inspector = sa.inspect(engine)
        assert "perfusion_id" not in {c["name"] for c in inspector.get_columns("perfusions")}
        checks = {c["name"] for c in inspector.get_check_constraints("perfusions")}
        assert "ck_perfusions_tnf_mg" in checks
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM perfusions")).scalar() == 3
    finally:
        engine.dispose()


def test_outcome_fields_migration_keeps_existing_rows(db_url):
    """0008 adds the outcome-study columns (empty) and record versions (1) to stored rows;
    downgrading drops only those columns and keeps every row and its other values."""
    engine = make_engine(db_url)
    insert_patient = sa.text(
        "INSERT INTO patients (id, patient_id, center, sex, birth_date, death_date, "
        "last_followup_date) VALUES (1, 'SYN-1', 'C', 'F', '1950-01-01', '2008-01-01', "
        "'2008-01-01')"
    )
    insert_perfusion = sa.text(
        "INSERT INTO perfusions (patient_pk, ilp_date, limb, perfusion_level, limb_volume_l, "
        "tnf_mg, melphalan_mg, histology, multifocal, presentation, prior_radiotherapy, "
        "amputation_date) VALUES (1, :d, 'leg', 'femoral', 8, 3, 80, 'liposarcoma', false, "
        "'primary', false, '2004-01-01')"
    )
    new_perfusion_columns = (
        "adjuvant_radiotherapy",
        "pathological_necrosis_pct",
        "systemic_toxicity_grade",
        "complication_clavien_dindo",
        "amputation_reason",
    )
    kept = (
        "SELECT ilp_date, tnf_mg, melphalan_mg, amputation_date FROM perfusions ORDER BY ilp_date"
    )
    try:
        upgrade(engine, "0007")
        with engine.begin() as conn:
            conn.execute(insert_patient)
            for d in ("2001-01-01", "2002-01-01"):
                conn.execute(insert_perfusion, {"d": d})
            before = [tuple(r) for r in conn.execute(sa.text(kept))]
        upgrade(engine, "0008")
        with engine.begin() as conn:
            rows = conn.execute(
                sa.text(f"SELECT version, {', '.join(new_perfusion_columns)} FROM perfusions")
            ).all()
            assert [tuple(r) for r in rows] == [(1, None, None, None, None, None)] * 2
            assert conn.execute(sa.text("SELECT version, cause_of_death FROM patients")).one() == (
                1,
                None,
            )
            conn.execute(
                sa.text(
                    "UPDATE perfusions SET adjuvant_radiotherapy = true, "
                    "pathological_necrosis_pct = 55, systemic_toxicity_grade = 2, "
                    "complication_clavien_dindo = 'IIIb', amputation_reason = 'toxicity'"
                )
            )
            conn.execute(sa.text("UPDATE patients SET cause_of_death = 'sarcoma'"))
        with engine.begin() as conn, pytest.raises(sa.exc.IntegrityError):
            conn.execute(sa.text("UPDATE perfusions SET systemic_toxicity_grade = 6"))
        downgrade(engine, "0007")
        inspector = sa.inspect(engine)
        columns = {c["name"] for c in inspector.get_columns("perfusions")}
        assert not columns & {*new_perfusion_columns, "version"}
        assert "cause_of_death" not in {c["name"] for c in inspector.get_columns("patients")}
        with engine.connect() as conn:
            assert [tuple(r) for r in conn.execute(sa.text(kept))] == before
            assert conn.execute(sa.text("SELECT count(*) FROM patients")).scalar() == 1
        upgrade(engine, "0008")
        with engine.connect() as conn:
            again = conn.execute(sa.text("SELECT amputation_reason FROM perfusions")).scalars()
            assert list(again) == [None, None]
    finally:
        engine.dispose()
