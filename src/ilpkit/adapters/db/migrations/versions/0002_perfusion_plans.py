"""perfusion plans

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "perfusion_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("ilp_date", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("protocol", sa.String(length=64), nullable=False),
        sa.Column("study_protocol", sa.Boolean(), nullable=False),
        sa.Column("limb", sa.String(length=8), nullable=False),
        sa.Column("perfusion_level", sa.String(length=16), nullable=False),
        sa.Column("limb_volume_l", sa.Float(), nullable=False),
        sa.Column("tnf_mg", sa.Float(), nullable=False),
        sa.Column("melphalan_mg", sa.Float(), nullable=False),
        sa.Column("melphalan_capped", sa.Boolean(), nullable=False),
        sa.Column("plan", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_perfusion_plans")),
    )
    with op.batch_alter_table("perfusion_plans", schema=None) as batch_op:
        batch_op.create_index(
            "ix_perfusion_plans_patient_id_ilp_date", ["patient_id", "ilp_date"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("perfusion_plans", schema=None) as batch_op:
        batch_op.drop_index("ix_perfusion_plans_patient_id_ilp_date")

    op.drop_table("perfusion_plans")
