"""initial registry schema

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("entity", sa.String(length=32), nullable=False),
        sa.Column("entity_key", sa.String(length=128), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_table(
        "patients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("center", sa.String(length=32), nullable=False),
        sa.Column("sex", sa.String(length=1), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("death_date", sa.Date(), nullable=True),
        sa.Column("last_followup_date", sa.Date(), nullable=False),
        sa.CheckConstraint("sex IN ('M', 'F')", name=op.f("ck_patients_sex")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patients")),
        sa.UniqueConstraint("patient_id", name=op.f("uq_patients_patient_id")),
    )
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_patients_center"), ["center"], unique=False)

    op.create_table(
        "perfusions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_pk", sa.Integer(), nullable=False),
        sa.Column("ilp_date", sa.Date(), nullable=False),
        sa.Column("limb", sa.String(length=8), nullable=False),
        sa.Column("perfusion_level", sa.String(length=16), nullable=False),
        sa.Column("limb_volume_l", sa.Float(), nullable=False),
        sa.Column("limb_volume_method", sa.String(length=32), nullable=True),
        sa.Column("tnf_mg", sa.Float(), nullable=False),
        sa.Column("melphalan_mg", sa.Float(), nullable=False),
        sa.Column("histology", sa.String(length=64), nullable=False),
        sa.Column("grade", sa.SmallInteger(), nullable=True),
        sa.Column("tumor_size_cm", sa.Float(), nullable=True),
        sa.Column("multifocal", sa.Boolean(), nullable=False),
        sa.Column("presentation", sa.String(length=16), nullable=False),
        sa.Column("prior_radiotherapy", sa.Boolean(), nullable=False),
        sa.Column("max_tissue_temp_c", sa.Float(), nullable=True),
        sa.Column("perfusion_minutes", sa.Float(), nullable=True),
        sa.Column("max_leakage_pct", sa.Float(), nullable=True),
        sa.Column("wieberdink_grade", sa.SmallInteger(), nullable=True),
        sa.Column("response", sa.String(length=2), nullable=True),
        sa.Column("resection_date", sa.Date(), nullable=True),
        sa.Column("resection_margin", sa.String(length=2), nullable=True),
        sa.Column("amputation_date", sa.Date(), nullable=True),
        sa.Column("local_recurrence_date", sa.Date(), nullable=True),
        sa.Column("distant_metastasis_date", sa.Date(), nullable=True),
        sa.CheckConstraint(
            "histology IN ('leiomyosarcoma', 'liposarcoma', 'myxofibrosarcoma', 'undifferentiated_pleomorphic_sarcoma', 'synovial_sarcoma', 'mpnst', 'angiosarcoma', 'epithelioid_sarcoma', 'clear_cell_sarcoma', 'rhabdomyosarcoma', 'kaposi_sarcoma', 'fibrosarcoma', 'alveolar_soft_part_sarcoma', 'extraskeletal_myxoid_chondrosarcoma', 'dermatofibrosarcoma_protuberans', 'other')",
            name=op.f("ck_perfusions_histology"),
        ),
        sa.CheckConstraint("limb IN ('arm', 'leg')", name=op.f("ck_perfusions_limb")),
        sa.CheckConstraint(
            "limb_volume_method IN ('water_displacement', 'circumferences', 'other')",
            name=op.f("ck_perfusions_limb_volume_method"),
        ),
        sa.CheckConstraint(
            "perfusion_level IN ('iliac', 'femoral', 'popliteal', 'axillary', 'brachial')",
            name=op.f("ck_perfusions_perfusion_level"),
        ),
        sa.CheckConstraint(
            "presentation IN ('primary', 'recurrent')", name=op.f("ck_perfusions_presentation")
        ),
        sa.CheckConstraint(
            "resection_margin IN ('R0', 'R1', 'R2')", name=op.f("ck_perfusions_resection_margin")
        ),
        sa.CheckConstraint(
            "response IN ('CR', 'PR', 'NC', 'PD', 'NE')", name=op.f("ck_perfusions_response")
        ),
        sa.CheckConstraint("grade IN (1, 2, 3)", name=op.f("ck_perfusions_grade")),
        sa.CheckConstraint(
            "limb_volume_l >= 0.3 AND limb_volume_l <= 30", name=op.f("ck_perfusions_limb_volume_l")
        ),
        sa.CheckConstraint(
            "melphalan_mg > 0 AND melphalan_mg <= 150", name=op.f("ck_perfusions_melphalan_mg")
        ),
        sa.CheckConstraint("tnf_mg >= 0 AND tnf_mg <= 4", name=op.f("ck_perfusions_tnf_mg")),
        sa.CheckConstraint(
            "wieberdink_grade BETWEEN 1 AND 5", name=op.f("ck_perfusions_wieberdink_grade")
        ),
        sa.ForeignKeyConstraint(
            ["patient_pk"],
            ["patients.id"],
            name=op.f("fk_perfusions_patient_pk_patients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_perfusions")),
        sa.UniqueConstraint("patient_pk", "ilp_date", name="uq_perfusions_patient_pk_ilp_date"),
    )


def downgrade() -> None:
    op.drop_table("perfusions")
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_patients_center"))

    op.drop_table("patients")
    op.drop_table("audit_log")
