"""SQLAlchemy table definitions of the registry.

The tables mirror the domain: ``patients``; ``perfusions`` (one row per perfusion, holding the
tumour at that time, the conduct, the response and the outcome of that perfusion); ``audit_log``
(every change, who made it, when, old and new values). Enumerated values are stored as their
Registry CSV v1 text and guarded by CHECK constraints. Constraint names follow one naming
convention so that Alembic migrations can address them on every database.
"""

from __future__ import annotations

from enum import Enum

import sqlalchemy as sa

from ilpkit.domain.outcome import AmputationReason, CauseOfDeath, Margin
from ilpkit.domain.patient import Sex
from ilpkit.domain.perfusion import Limb, PerfusionLevel, VolumeMethod
from ilpkit.domain.response import Response
from ilpkit.domain.toxicity import ClavienDindo
from ilpkit.domain.tumour import Histology, Presentation

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


def _in(column: str, enum: type[Enum]) -> str:
    values = ", ".join(f"'{m.value}'" for m in enum)
    return f"{column} IN ({values})"


patients = sa.Table(
    "patients",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("patient_id", sa.String(64), nullable=False, unique=True),
    sa.Column("center", sa.String(32), nullable=False, index=True),
    sa.Column("sex", sa.String(1), nullable=False),
    sa.Column("birth_date", sa.Date, nullable=False),
    sa.Column("death_date", sa.Date),
    sa.Column("last_followup_date", sa.Date, nullable=False),
    sa.Column("cause_of_death", sa.String(8)),
    # raised by every change; an edit based on an older version is refused (no lost updates)
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    sa.CheckConstraint(_in("sex", Sex), name="sex"),
    sa.CheckConstraint(_in("cause_of_death", CauseOfDeath), name="cause_of_death"),
)
sa.Index("ix_patients_patient_id_lower", sa.func.lower(patients.c.patient_id))
"""Finds patient ids that differ only in case (ids are ASCII, so lower() is exact)."""

perfusions = sa.Table(
    "perfusions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "patient_pk",
        sa.Integer,
        sa.ForeignKey("patients.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("ilp_date", sa.Date, nullable=False),
    sa.Column("limb", sa.String(8), nullable=False),
    sa.Column("perfusion_level", sa.String(16), nullable=False),
    sa.Column("limb_volume_l", sa.Float, nullable=False),
    sa.Column("limb_volume_method", sa.String(32)),
    sa.Column("tnf_mg", sa.Float, nullable=False),
    sa.Column("melphalan_mg", sa.Float, nullable=False),
    # the tumour at this perfusion
    sa.Column("histology", sa.String(64), nullable=False),
    sa.Column("grade", sa.SmallInteger),
    sa.Column("tumor_size_cm", sa.Float),
    sa.Column("multifocal", sa.Boolean(create_constraint=False), nullable=False),
    sa.Column("presentation", sa.String(16), nullable=False),
    sa.Column("prior_radiotherapy", sa.Boolean(create_constraint=False), nullable=False),
    # conduct
    sa.Column("max_tissue_temp_c", sa.Float),
    sa.Column("perfusion_minutes", sa.Float),
    sa.Column("max_leakage_pct", sa.Float),
    sa.Column("wieberdink_grade", sa.SmallInteger),
    # response and outcome
    sa.Column("response", sa.String(2)),
    sa.Column("resection_date", sa.Date),
    sa.Column("resection_margin", sa.String(2)),
    sa.Column("amputation_date", sa.Date),
    sa.Column("local_recurrence_date", sa.Date),
    sa.Column("distant_metastasis_date", sa.Date),
    # stable identifier written by `ilp export`: a re-import can correct the perfusion date
    sa.Column("perfusion_id", sa.String(64)),
    # outcome-study fields (migration 0008)
    sa.Column("adjuvant_radiotherapy", sa.Boolean(create_constraint=False)),
    sa.Column("pathological_necrosis_pct", sa.Float),
    sa.Column("systemic_toxicity_grade", sa.SmallInteger),
    sa.Column("complication_clavien_dindo", sa.String(4)),
    sa.Column("amputation_reason", sa.String(16)),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    sa.Index("uq_perfusions_perfusion_id", "perfusion_id", unique=True),
    sa.Index("ix_perfusions_patient_pk", "patient_pk"),
    sa.UniqueConstraint("patient_pk", "ilp_date", name="uq_perfusions_patient_pk_ilp_date"),
    sa.CheckConstraint(_in("limb", Limb), name="limb"),
    sa.CheckConstraint(_in("perfusion_level", PerfusionLevel), name="perfusion_level"),
    sa.CheckConstraint(_in("limb_volume_method", VolumeMethod), name="limb_volume_method"),
    sa.CheckConstraint(_in("histology", Histology), name="histology"),
    sa.CheckConstraint(_in("presentation", Presentation), name="presentation"),
    sa.CheckConstraint(_in("response", Response), name="response"),
    sa.CheckConstraint(_in("resection_margin", Margin), name="resection_margin"),
    sa.CheckConstraint("grade IN (1, 2, 3)", name="grade"),
    sa.CheckConstraint("wieberdink_grade BETWEEN 1 AND 5", name="wieberdink_grade"),
    sa.CheckConstraint("tnf_mg >= 0 AND tnf_mg <= 4", name="tnf_mg"),
    sa.CheckConstraint("melphalan_mg > 0 AND melphalan_mg <= 150", name="melphalan_mg"),
    sa.CheckConstraint("limb_volume_l >= 0.3 AND limb_volume_l <= 30", name="limb_volume_l"),
    sa.CheckConstraint(
        "pathological_necrosis_pct >= 0 AND pathological_necrosis_pct <= 100",
        name="pathological_necrosis_pct",
    ),
    sa.CheckConstraint("systemic_toxicity_grade BETWEEN 0 AND 5", name="systemic_toxicity_grade"),
    sa.CheckConstraint(
        _in("complication_clavien_dindo", ClavienDindo), name="complication_clavien_dindo"
    ),
    sa.CheckConstraint(_in("amputation_reason", AmputationReason), name="amputation_reason"),
)

leakage_monitorings = sa.Table(
    "leakage_monitorings",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "perfusion_pk",
        sa.Integer,
        sa.ForeignKey("perfusions.id", ondelete="CASCADE"),
        nullable=False,
        unique=True,
    ),
    sa.Column("isotope", sa.String(16), nullable=False),
    sa.Column("background_cps", sa.Float, nullable=False),
    sa.Column("calibration_cps", sa.Float, nullable=False),
    sa.Column("standard_fraction", sa.Float, nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("actor", sa.String(128), nullable=False),
)
"""The calibration of one perfusion's leakage measurement (live leakage monitor)."""

leakage_readings = sa.Table(
    "leakage_readings",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "monitoring_id",
        sa.Integer,
        sa.ForeignKey("leakage_monitorings.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("minute", sa.Float, nullable=False),
    sa.Column("counts_per_s", sa.Float, nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.UniqueConstraint("monitoring_id", "minute", name="uq_leakage_readings_monitoring_id_minute"),
)
"""Gamma-probe count rates entered during surgery, minutes after calibration."""

perfusion_plans = sa.Table(
    "perfusion_plans",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("patient_id", sa.String(64), nullable=False),
    sa.Column("ilp_date", sa.Date, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("protocol", sa.String(64), nullable=False),
    sa.Column("study_protocol", sa.Boolean(create_constraint=False), nullable=False),
    sa.Column("limb", sa.String(8), nullable=False),
    sa.Column("perfusion_level", sa.String(16), nullable=False),
    sa.Column("limb_volume_l", sa.Float, nullable=False),
    sa.Column("tnf_mg", sa.Float, nullable=False),
    sa.Column("melphalan_mg", sa.Float, nullable=False),
    sa.Column("melphalan_capped", sa.Boolean(create_constraint=False), nullable=False),
    sa.Column("plan", sa.JSON, nullable=False),
    sa.Index("ix_perfusion_plans_patient_id_ilp_date", "patient_id", "ilp_date"),
)
"""Perfusion plans made with ``ilp plan --save``, keyed by patient and planned perfusion date
(the perfusion itself is usually recorded later, so planned and given doses can be compared)."""

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("actor", sa.String(128), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("entity", sa.String(32), nullable=False),
    sa.Column("entity_key", sa.String(128), nullable=False),
    sa.Column("details", sa.JSON, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("entry_hash", sa.String(64), nullable=False),
    sa.Index("uq_audit_log_prev_hash", "prev_hash", unique=True),
)
"""Who changed what and when. Append-only and chained by hash: ``prev_hash`` is the
``entry_hash`` of the entry before (see :mod:`ilpkit.adapters.db.audit_chain`); the unique index
on ``prev_hash`` keeps the chain from forking, and database triggers refuse UPDATE and DELETE."""

registry_info = sa.Table(
    "registry_info",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.String(256), nullable=False),
)
"""Facts about the registry as a whole, as key/value text: ``synthetic`` = ``yes`` once
``ilp synth`` has written into it (never removed, so synthetic data keeps its label when real
rows are imported later), with ``synthetic_seed`` and ``synthetic_patients``."""

# --- accounts of the web application -------------------------------------------------------

ROLES = ("admin", "data_manager", "clinician", "statistician", "monitor")
"""Roles of a web account (what each may do: docs/web.md)."""

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("username", sa.String(64), nullable=False, unique=True),
    sa.Column("password_hash", sa.String(256), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("disabled", sa.Boolean(create_constraint=False), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("role IN ({})".format(", ".join(f"'{r}'" for r in ROLES)), name="role"),
)
"""Accounts of the web application; passwords only as argon2 hashes."""

user_centers = sa.Table(
    "user_centers",
    metadata,
    sa.Column(
        "user_id",
        sa.Integer,
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("center", sa.String(32), primary_key=True),
)
"""The centres whose records an account may see (an admin sees every centre)."""

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column(
        "user_id",
        sa.Integer,
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("kind", sa.String(8), nullable=False),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('web', 'api')", name="kind"),
)
"""Browser sessions and API bearer tokens, stored as the SHA-256 of the token only."""

login_attempts = sa.Table(
    "login_attempts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("username", sa.String(64), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("succeeded", sa.Boolean(create_constraint=False), nullable=False),
    sa.Index("ix_login_attempts_username_at", "username", "at"),
)
"""Every login attempt, for throttling and lock-out (kept in the database so that every
worker of the application sees the same count)."""
