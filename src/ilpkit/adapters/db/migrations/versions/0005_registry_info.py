"""registry info (synthetic marker)

Revision ID: 0005
Revises: 0002
Create Date: 2026-12-01

A registry written before this revision by ``ilp synth`` (patients ``SYN-...`` of centre
``SYNTH``) is marked synthetic here, so that it keeps its label.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    info = op.create_table(
        "registry_info",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=256), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_registry_info")),
    )
    conn = op.get_bind()
    patients = sa.table("patients", sa.column("patient_id"), sa.column("center"))
    # A migration is frozen: it keeps its own copy of the synthetic labels (the values of
    # ilpkit.domain.synthetic when it was written), never an import that could change later.
    synthetic = conn.execute(
        sa.select(sa.func.count())
        .select_from(patients)
        .where(patients.c.patient_id.like("SYN-%"), patients.c.center == "SYNTH")
    ).scalar()
    if synthetic:
        op.bulk_insert(info, [{"key": "synthetic", "value": "yes"}])


def downgrade() -> None:
    op.drop_table("registry_info")
