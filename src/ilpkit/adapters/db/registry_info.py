"""The ``registry_info`` key/value table: facts about the registry as a whole.

``ilp synth`` marks the registry synthetic in the same transaction as it writes the cohort;
the mark is never removed (importing real rows later keeps it), so synthetic data keeps its
label in ``ilp summary``, ``ilp analyze``, the report and every file made from it.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ilpkit.adapters.db.tables import patients, registry_info
from ilpkit.domain.synthetic import SYNTHETIC_CENTER, SYNTHETIC_ID_PREFIX

SYNTHETIC = "synthetic"
SYNTHETIC_SEED = "synthetic_seed"


def read_info(conn: Connection) -> dict[str, str]:
    """Every key and value (an empty dict when the table is absent or empty)."""
    if not sa.inspect(conn).has_table(registry_info.name):
        return {}
    rows = conn.execute(sa.select(registry_info.c.key, registry_info.c.value)).all()
    return {str(k): str(v) for k, v in rows}


def set_info(conn: Connection, values: dict[str, str]) -> None:
    """Insert or replace ``values`` (inside the caller's transaction)."""
    if not values:
        return
    conn.execute(sa.delete(registry_info).where(registry_info.c.key.in_(list(values))))
    conn.execute(sa.insert(registry_info), [{"key": k, "value": v} for k, v in values.items()])


def mark_synthetic(conn: Connection, seed: int) -> None:
    """Mark the registry as made by ``ilp synth`` with ``seed``."""
    set_info(conn, {SYNTHETIC: "yes", SYNTHETIC_SEED: str(seed)})


def is_synthetic(conn: Connection) -> bool:
    """True when the registry is marked synthetic, or holds a patient that ``ilp synth`` made
    (id ``SYN-...`` at centre ``SYNTH``: a synthetic export imported elsewhere)."""
    if read_info(conn).get(SYNTHETIC) == "yes":
        return True
    found = conn.execute(
        sa.select(patients.c.id)
        .where(
            patients.c.patient_id.like(f"{SYNTHETIC_ID_PREFIX}%"),
            patients.c.center == SYNTHETIC_CENTER,
        )
        .limit(1)
    ).first()
    return found is not None


def synthetic_seed(conn: Connection) -> int | None:
    """The seed ``ilp synth`` used, when recorded."""
    value = read_info(conn).get(SYNTHETIC_SEED)
    return int(value) if value is not None and value.isdigit() else None
