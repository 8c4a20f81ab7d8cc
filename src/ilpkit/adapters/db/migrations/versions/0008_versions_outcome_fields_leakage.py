"""record versions, outcome-study fields and leakage monitoring

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01

- ``version`` on ``patients`` and ``perfusions`` (starts at 1, raised by every change; an edit
  based on an older version is refused instead of silently overwriting a newer one).
- New optional registry fields: ``patients.cause_of_death`` (sarcoma, other, unknown) and, on
  ``perfusions``, ``adjuvant_radiotherapy``, ``pathological_necrosis_pct`` (0-100),
  ``systemic_toxicity_grade`` (CTCAE 0-5), ``complication_clavien_dindo`` (0, I, II, IIIa, IIIb,
  IVa, IVb, V) and ``amputation_reason`` (recurrence, toxicity, non_response, other).
- ``leakage_monitorings`` (the calibration of one perfusion's leakage measurement) and
  ``leakage_readings`` (the count rates entered during surgery).

On SQLite the columns are added with ``ALTER TABLE ... ADD COLUMN`` and their CHECK constraint
inline (rebuilding ``patients`` would cascade-delete perfusions), and dropped with
``ALTER TABLE ... DROP COLUMN`` (SQLite 3.35 and later).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

CAUSES_OF_DEATH = ("sarcoma", "other", "unknown")
CLAVIEN_DINDO = ("0", "I", "II", "IIIa", "IIIb", "IVa", "IVb", "V")
AMPUTATION_REASONS = ("recurrence", "toxicity", "non_response", "other")


def _in(column: str, values: tuple[str, ...]) -> str:
    return "{} IN ({})".format(column, ", ".join(f"'{v}'" for v in values))


# (table, column, SQL type, check expression or None)
_COLUMNS: tuple[tuple[str, str, str, str | None], ...] = (
    ("patients", "cause_of_death", "VARCHAR(8)", _in("cause_of_death", CAUSES_OF_DEATH)),
    ("perfusions", "adjuvant_radiotherapy", "BOOLEAN", None),
    (
        "perfusions",
        "pathological_necrosis_pct",
        "FLOAT",
        "pathological_necrosis_pct >= 0 AND pathological_necrosis_pct <= 100",
    ),
    (
        "perfusions",
        "systemic_toxicity_grade",
        "SMALLINT",
        "systemic_toxicity_grade BETWEEN 0 AND 5",
    ),
    (
        "perfusions",
        "complication_clavien_dindo",
        "VARCHAR(4)",
        _in("complication_clavien_dindo", CLAVIEN_DINDO),
    ),
    (
        "perfusions",
        "amputation_reason",
        "VARCHAR(16)",
        _in("amputation_reason", AMPUTATION_REASONS),
    ),
)


def upgrade() -> None:
    for table in ("patients", "perfusions"):
        op.add_column(table, sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
    for table, column, sql_type, check in _COLUMNS:
        if check is None:
            op.execute(f"ALTER TABLE {table} ADD COLUMN {column} {sql_type}")
        else:
            op.execute(
                f"ALTER TABLE {table} ADD COLUMN {column} {sql_type} "
                f"CONSTRAINT ck_{table}_{column} CHECK ({check})"
            )
    op.create_table(
        "leakage_monitorings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("perfusion_pk", sa.Integer(), nullable=False),
        sa.Column("isotope", sa.String(length=16), nullable=False),
        sa.Column("background_cps", sa.Float(), nullable=False),
        sa.Column("calibration_cps", sa.Float(), nullable=False),
        sa.Column("standard_fraction", sa.Float(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ["perfusion_pk"],
            ["perfusions.id"],
            name=op.f("fk_leakage_monitorings_perfusion_pk_perfusions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leakage_monitorings")),
        sa.UniqueConstraint("perfusion_pk", name=op.f("uq_leakage_monitorings_perfusion_pk")),
    )
    op.create_table(
        "leakage_readings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("monitoring_id", sa.Integer(), nullable=False),
        sa.Column("minute", sa.Float(), nullable=False),
        sa.Column("counts_per_s", sa.Float(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ["monitoring_id"],
            ["leakage_monitorings.id"],
            name=op.f("fk_leakage_readings_monitoring_id_leakage_monitorings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leakage_readings")),
        sa.UniqueConstraint(
            "monitoring_id", "minute", name=op.f("uq_leakage_readings_monitoring_id_minute")
        ),
    )


def downgrade() -> None:
    op.drop_table("leakage_readings")
    op.drop_table("leakage_monitorings")
    for table, column, _sql_type, _check in reversed(_COLUMNS):
        # the column's own CHECK constraint goes with it (PostgreSQL and SQLite)
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    for table in ("perfusions", "patients"):
        op.execute(f"ALTER TABLE {table} DROP COLUMN version")
