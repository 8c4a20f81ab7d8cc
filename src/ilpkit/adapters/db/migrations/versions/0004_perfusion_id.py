"""perfusion_id and case-insensitive patient id index

Revision ID: 0004
Revises: 0002
Create Date: 2026-12-01

Adds ``perfusions.perfusion_id`` (a stable identifier, filled for every stored perfusion with
32 random hexadecimal digits), a unique index on it, an index on ``lower(patients.patient_id)``
(to find ids that differ only in case) and an index on ``perfusions.patient_pk``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("perfusions", sa.Column("perfusion_id", sa.String(length=64), nullable=True))
    random_hex = (
        "replace(gen_random_uuid()::text, '-', '')"
        if op.get_bind().dialect.name == "postgresql"
        else "lower(hex(randomblob(16)))"
    )
    op.execute(f"UPDATE perfusions SET perfusion_id = {random_hex}")
    op.create_index("uq_perfusions_perfusion_id", "perfusions", ["perfusion_id"], unique=True)
    op.create_index("ix_perfusions_patient_pk", "perfusions", ["patient_pk"])
    op.create_index("ix_patients_patient_id_lower", "patients", [sa.text("lower(patient_id)")])


def downgrade() -> None:
    op.drop_index("ix_patients_patient_id_lower", table_name="patients")
    op.drop_index("ix_perfusions_patient_pk", table_name="perfusions")
    op.drop_index("uq_perfusions_perfusion_id", table_name="perfusions")
    with op.batch_alter_table("perfusions", schema=None) as batch_op:
        batch_op.drop_column("perfusion_id")
