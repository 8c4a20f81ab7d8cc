"""Alembic environment: runs migrations on the connection ilpkit hands over (or on the URL)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from ilpkit.adapters.db.tables import metadata

config = context.config
target_metadata = metadata


def _run(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run migrations on the given connection, or connect to ``sqlalchemy.url``."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = sa.create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as conn:
        _run(conn)


if context.is_offline_mode():
    raise SystemExit("ilpkit migrations run online only")
run_migrations_online()
