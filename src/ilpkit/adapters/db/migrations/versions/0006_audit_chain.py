"""audit log hash chain, append-only

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

Adds ``audit_log.prev_hash`` and ``audit_log.entry_hash`` and chains the entries already stored
in id order (see :mod:`ilpkit.adapters.db.audit_chain`), adds a unique index on ``prev_hash``
(the chain cannot fork) and triggers that refuse UPDATE and DELETE on ``audit_log`` (and
TRUNCATE on PostgreSQL).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from ilpkit.adapters.db.audit_chain import GENESIS_HASH, entry_hash

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_PAGE = 5000

_PG_TRIGGERS = (
    """
    CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'the audit log is append-only: % of audit_log refused', TG_OP;
    END
    $$
    """,
    """
    CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()
    """,
    """
    CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()
    """,
)
_PG_DROP = (
    "DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log",
    "DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log",
    "DROP FUNCTION IF EXISTS audit_log_append_only()",
)
_SQLITE_TRIGGERS = tuple(
    f"""
    CREATE TRIGGER audit_log_no_{op_name.lower()} BEFORE {op_name} ON audit_log
    BEGIN
        SELECT RAISE(ABORT, 'the audit log is append-only: {op_name} of audit_log refused');
    END
    """
    for op_name in ("UPDATE", "DELETE")
)
_SQLITE_DROP = (
    "DROP TRIGGER IF EXISTS audit_log_no_update",
    "DROP TRIGGER IF EXISTS audit_log_no_delete",
)


def _chain_stored_entries() -> None:
    conn = op.get_bind()
    log = sa.table(
        "audit_log",
        sa.column("id", sa.Integer),
        sa.column("at", sa.DateTime(timezone=True)),
        sa.column("actor", sa.String),
        sa.column("action", sa.String),
        sa.column("entity", sa.String),
        sa.column("entity_key", sa.String),
        sa.column("details", sa.JSON),
        sa.column("prev_hash", sa.String),
        sa.column("entry_hash", sa.String),
    )
    update = (
        sa.update(log)
        .where(log.c.id == sa.bindparam("b_id"))
        .values(prev_hash=sa.bindparam("b_prev"), entry_hash=sa.bindparam("b_hash"))
    )
    prev, last_id = GENESIS_HASH, None
    while True:
        query = sa.select(*(c for c in log.c if c.name not in ("prev_hash", "entry_hash")))
        if last_id is not None:
            query = query.where(log.c.id > last_id)
        rows = conn.execute(query.order_by(log.c.id).limit(_PAGE)).mappings().all()
        if not rows:
            return
        params = []
        for row in rows:
            digest = entry_hash({**row, "prev_hash": prev})
            params.append({"b_id": row["id"], "b_prev": prev, "b_hash": digest})
            prev = digest
        conn.execute(update, params)
        last_id = rows[-1]["id"]


def upgrade() -> None:
    op.add_column("audit_log", sa.Column("prev_hash", sa.String(length=64), nullable=True))
    op.add_column("audit_log", sa.Column("entry_hash", sa.String(length=64), nullable=True))
    _chain_stored_entries()
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("entry_hash", existing_type=sa.String(length=64), nullable=False)
    op.create_index("uq_audit_log_prev_hash", "audit_log", ["prev_hash"], unique=True)
    postgresql = op.get_bind().dialect.name == "postgresql"
    for statement in _PG_TRIGGERS if postgresql else _SQLITE_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for statement in _PG_DROP if postgresql else _SQLITE_DROP:
        op.execute(statement)
    op.drop_index("uq_audit_log_prev_hash", table_name="audit_log")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_column("entry_hash")
        batch_op.drop_column("prev_hash")
