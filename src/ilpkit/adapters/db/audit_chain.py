"""The audit log's hash chain: how an entry's hash is computed and how the chain is checked.

Every audit entry stores ``prev_hash`` (the ``entry_hash`` of the entry before it, or
:data:`GENESIS_HASH` for the first entry) and ``entry_hash``: the SHA-256 (hexadecimal) of the
entry's canonical serialisation, a JSON object with sorted keys, no spaces and ASCII only::

    {"action": ..., "actor": ..., "at": "2026-12-01T05:47:43.123456Z", "details": {...},
     "entity": ..., "entity_key": ..., "id": 17, "prev_hash": "..."}

``at`` is the time in UTC with microseconds; ``details`` is the stored JSON value. Changing,
deleting or reordering a stored entry therefore breaks the chain at that entry (or at the next
one), which :func:`verify_chain` finds.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

GENESIS_HASH = "0" * 64
"""``prev_hash`` of the first audit entry."""

HASHED_FIELDS = ("id", "at", "actor", "action", "entity", "entity_key", "details", "prev_hash")
"""The fields an entry's hash covers."""


def utc_iso(at: datetime) -> str:
    """``at`` in UTC as ISO 8601 with microseconds (a time without zone is taken as UTC).

    Examples
    --------
    >>> from datetime import timedelta, timezone
    >>> utc_iso(datetime(2026, 12, 1, 7, 0, tzinfo=timezone(timedelta(hours=2))))
    '2026-12-01T05:00:00.000000Z'
    """
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_entry(entry: Mapping[str, Any]) -> str:
    """The canonical serialisation of an audit entry (the text its hash is computed over).

    Examples
    --------
    >>> canonical_entry({"id": 1, "at": datetime(2026, 1, 2, 3, 4, 5), "actor": "ana",
    ...     "action": "import", "entity": "import", "entity_key": "a.csv",
    ...     "details": {"rows": 2}, "prev_hash": "00"})
    '{"action":"import","actor":"ana","at":"2026-01-02T03:04:05.000000Z","details":{"rows":2},\
"entity":"import","entity_key":"a.csv","id":1,"prev_hash":"00"}'
    """
    at = entry["at"]
    values = {
        "id": int(entry["id"]),
        "at": utc_iso(at) if isinstance(at, datetime) else str(at),
        "actor": entry["actor"],
        "action": entry["action"],
        "entity": entry["entity"],
        "entity_key": entry["entity_key"],
        # the value as stored: a JSON round trip turns tuples into lists, keys into text
        "details": json.loads(json.dumps(entry["details"])),
        "prev_hash": entry["prev_hash"],
    }
    return json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def entry_hash(entry: Mapping[str, Any]) -> str:
    """SHA-256 (hexadecimal) of :func:`canonical_entry` of ``entry``."""
    return hashlib.sha256(canonical_entry(entry).encode("ascii")).hexdigest()


def chain_rows(
    rows: Iterable[dict[str, Any]], first_id: int, prev_hash: str
) -> list[dict[str, Any]]:
    """Give ``rows`` consecutive ids from ``first_id`` and chain them after ``prev_hash``."""
    out = []
    for offset, row in enumerate(rows):
        row = {**row, "id": first_id + offset, "prev_hash": prev_hash}
        row["entry_hash"] = prev_hash = entry_hash(row)
        out.append(row)
    return out


@dataclass(frozen=True, slots=True)
class ChainReport:
    """Outcome of :func:`verify_chain`.

    Attributes
    ----------
    entries : int
        Entries checked (all of them when the chain is intact; up to the break otherwise).
    head_id, head_hash : int or None, str
        The newest entry's id and hash (of the intact part); keep ``head_hash`` elsewhere to
        be able to tell later that no newest entries were removed.
    broken_id : int or None
        The first entry whose link is broken (None when intact).
    problem : str or None
        What differs there, in words.
    """

    entries: int
    head_id: int | None
    head_hash: str
    broken_id: int | None = None
    problem: str | None = None

    @property
    def intact(self) -> bool:
        """True when every link holds."""
        return self.broken_id is None


_COLUMNS = (*HASHED_FIELDS, "entry_hash")


def _stored_entries(conn: Connection, table: sa.Table) -> Iterator[dict[str, Any]]:
    query = sa.select(*(table.c[name] for name in _COLUMNS)).order_by(table.c.id)
    result = conn.execution_options(yield_per=2000).execute(query)
    for row in result:
        yield dict(row._mapping)


def _ids_with_hash(conn: Connection, table: sa.Table, value: str) -> list[int]:
    query = sa.select(table.c.id).where(table.c.entry_hash == value).order_by(table.c.id)
    return [int(i) for i in conn.execute(query).scalars()]


def _link_problem(
    conn: Connection, table: sa.Table, entry: dict[str, Any], before_id: int | None
) -> str:
    """Why ``entry``'s ``prev_hash`` does not name the entry stored before it."""
    entry_id = int(entry["id"])
    expected_id = 1 if before_id is None else before_id + 1
    if entry_id > expected_id:
        missing = (
            f"entry {expected_id}"
            if entry_id == expected_id + 1
            else f"entries {expected_id} to {entry_id - 1}"
        )
        return f"{missing} deleted (entry {entry_id} follows a different entry in the chain)"
    prev = entry["prev_hash"]
    if prev == GENESIS_HASH and before_id is not None:
        return "reordered: it is marked as the first entry of the log, but entries precede it"
    owners = [i for i in _ids_with_hash(conn, table, prev) if i != entry_id] if prev else []
    if owners:
        return f"reordered: it was written after entry {owners[0]}, not after entry {before_id}"
    return "its link to the entry before it (prev_hash) was changed"


def verify_chain(conn: Connection, table: sa.Table) -> ChainReport:
    """Walk the audit log in id order and check every link; stop at the first broken one.

    Parameters
    ----------
    conn : Connection
        An open connection (only read).
    table : sa.Table
        The ``audit_log`` table.

    Returns
    -------
    ChainReport
    """
    expected_prev = GENESIS_HASH
    before_id: int | None = None
    count = 0
    entries = _stored_entries(conn, table)
    current = next(entries, None)
    while current is not None:
        following = next(entries, None)
        entry_id = int(current["id"])
        if current["prev_hash"] != expected_prev:
            problem = _link_problem(conn, table, current, before_id)
            return ChainReport(count, before_id, expected_prev, entry_id, problem)
        stored = current["entry_hash"]
        computed = entry_hash(current)
        if stored != computed:
            if stored is None:
                problem = "it has no hash: it was written without the audit chain"
            elif following is not None and following["prev_hash"] == computed:
                problem = "its stored hash (entry_hash) was changed; its content is as written"
            elif following is not None and following["prev_hash"] == stored:
                problem = "its content was changed after it was written (it no longer matches "
                problem += "its hash)"
            else:
                problem = "its content or its stored hash was changed (it no longer matches)"
            return ChainReport(count, before_id, expected_prev, entry_id, problem)
        count += 1
        before_id, expected_prev = entry_id, stored
        current = following
    return ChainReport(count, before_id, expected_prev)
