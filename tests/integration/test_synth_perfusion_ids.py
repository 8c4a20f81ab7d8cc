"""``ilp synth`` gives every perfusion its perfusion_id when it inserts it; an export then
changes no id and assigns none."""

from __future__ import annotations

import re
from pathlib import Path

import sqlalchemy as sa

from ilpkit.adapters.db import registry_repository as repo
from ilpkit.adapters.db.engine import make_engine
from ilpkit.services import registry_export
from ilpkit.services.registry_export import export_registry
from ilpkit.services.synthesize import synthesize

HEX32 = re.compile(r"[0-9a-f]{32}")


def ids(url: str) -> dict[int, str | None]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return dict(conn.execute(sa.text("SELECT id, perfusion_id FROM perfusions")).all())
    finally:
        engine.dispose()


def test_every_synthesized_perfusion_has_an_id_and_export_keeps_them(db_url, tmp_path, monkeypatch):
    report = synthesize(300, 5, "tester", url=db_url)
    stored = ids(db_url)
    assert len(stored) == report.n_perfusions > 300
    assert all(v is not None and HEX32.fullmatch(v) for v in stored.values())
    assert len(set(stored.values())) == len(stored)

    assigned: list[int] = []
    original = repo.assign_missing_perfusion_ids

    def spy(conn):
        n = original(conn)
        assigned.append(n)
        return n

    monkeypatch.setattr(registry_export.repo, "assign_missing_perfusion_ids", spy)
    out = tmp_path / "registry.csv"
    export_registry(db_url, out, "tester")
    assert assigned == [0]  # the export found no perfusion without an id
    assert ids(db_url) == stored
    exported = out.read_text(encoding="utf-8").splitlines()
    header = exported[0].split(",")
    column = header.index("perfusion_id")
    assert {line.split(",")[column] for line in exported[1:]} == set(stored.values())


def test_two_synth_runs_give_different_ids(tmp_path: Path):
    first, second = (f"sqlite:///{tmp_path / name}" for name in ("a.sqlite3", "b.sqlite3"))
    synthesize(50, 5, "tester", url=first)
    synthesize(50, 5, "tester", url=second)
    assert not set(ids(first).values()) & set(ids(second).values())
