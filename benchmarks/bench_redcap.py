"""Benchmark: ``ilp export-redcap`` and ``ilp import-redcap`` on a 100,000-perfusion registry.

Target (interop issue): each at most 30 s on the 2-core machine. The SYNTHETIC registry is made
by :func:`ilpkit.services.synthesize.synthesize` (90,000 patients give about 100,000
perfusions). Each command runs the installed ``ilp`` in a fresh process (start-up included).
Same-run baselines: ``ilp export`` (Registry CSV v1) of the same registry and ``ilp import`` of
that file into an empty registry - the import that ``import-redcap`` calls. The REDCap import
goes into an empty registry too, and its Registry CSV export is compared with the original's
(the round trip must give the identical registry). Usage::

    python benchmarks/bench_redcap.py [--patients N] [--postgres ADMIN_URL] [--no-sqlite]
        [--redcap-first]

With ``--postgres`` the same runs are made on PostgreSQL (temporary databases on that server).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from ilpkit.services.synthesize import synthesize

TARGET_S = 30.0
DEFAULT_PATIENTS = 90_000


def _ilp() -> str:
    candidate = Path(sys.executable).parent / "ilp"
    return str(candidate) if candidate.exists() else (shutil.which("ilp") or "ilp")


def _timed(args: list[str]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system) of one ``ilp`` process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(args, check=True, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


@contextmanager
def _databases(kind: str, work: Path, admin: str | None) -> Iterator[tuple[str, str, str]]:
    """Three fresh databases: the source registry and two empty targets."""
    if kind == "sqlite":
        yield tuple(f"sqlite:///{work / f'{n}.sqlite3'}" for n in ("src", "csv", "redcap"))  # type: ignore[misc]
        return
    assert admin is not None
    engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    names = [f"ilp_bench_{uuid.uuid4().hex[:10]}" for _ in range(3)]
    with engine.connect() as conn:
        for name in names:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        base = sa.make_url(admin)
        yield tuple(  # type: ignore[misc]
            base.set(database=n).render_as_string(hide_password=False) for n in names
        )
    finally:
        with engine.connect() as conn:
            for name in names:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


def run(kind: str, patients: int, admin: str | None, redcap_first: bool = False) -> None:
    ilp = _ilp()
    work = Path(tempfile.mkdtemp(prefix="ilp-bench-redcap-"))
    try:
        with _databases(kind, work, admin) as (source, csv_target, redcap_target):
            start = time.perf_counter()
            report = synthesize(patients, 7, "benchmark", url=source)
            print(
                f"{kind}: SYNTHETIC registry of {report.n_patients:,} patients, "
                f"{report.n_perfusions:,} perfusions ({time.perf_counter() - start:.1f} s)"
            )
            original = work / "original.csv"
            out = work / "redcap"
            mapping = work / "mapping.toml"
            roundtrip = work / "roundtrip.csv"
            redcap_args = ["--dictionary", str(out / "data_dictionary.csv"), "--records",
                           str(out / "records.csv"), "--mapping", str(mapping)]  # fmt: skip
            rows = [
                ("ilp export (Registry CSV v1), baseline",
                 _timed([ilp, "export", str(original), "--db", source])),
                ("ilp export-redcap", _timed([ilp, "export-redcap", str(out), "--db", source])),
                ("ilp redcap-mapping", _timed([ilp, "redcap-mapping", "--dictionary",
                                               str(out / "data_dictionary.csv"), "--out",
                                               str(mapping)])),
            ]  # fmt: skip
            imports = [
                ("ilp import (Registry CSV v1, empty registry), baseline",
                 [ilp, "import", str(original), "--db", csv_target]),
                ("ilp import-redcap (empty registry)",
                 [ilp, "import-redcap", *redcap_args, "--db", redcap_target]),
            ]  # fmt: skip
            if redcap_first:  # the second import may pay for the first one's checkpoint
                imports.reverse()
            rows += [(name, _timed(args)) for name, args in imports]
            _timed([ilp, "export", str(roundtrip), "--db", redcap_target])
            same = roundtrip.read_bytes() == original.read_bytes()
            size = (out / "records.csv").stat().st_size
            print(f"records.csv: {size / 1e6:.1f} MB; round trip identical: {same}")
            print(f"  load average (1 min) after the runs: {os.getloadavg()[0]:.1f}")
            print(f"  {'command':<58} {'wall s':>7} {'CPU s':>7}")
            for name, (wall, cpu) in rows:
                met = ""
                if "redcap" in name and "mapping" not in name:
                    met = "  (target met)" if wall <= TARGET_S else "  (target missed)"
                print(f"  {name:<58} {wall:7.1f} {cpu:7.1f}{met}")
            if not same:
                raise SystemExit("the round trip changed the registry")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=DEFAULT_PATIENTS)
    parser.add_argument("--postgres", metavar="ADMIN_URL", default=None)
    parser.add_argument("--no-sqlite", action="store_true", help="Only PostgreSQL.")
    parser.add_argument(
        "--redcap-first", action="store_true", help="Run import-redcap before the baseline import."
    )
    args = parser.parse_args()
    if not args.no_sqlite:
        run("sqlite", args.patients, None, args.redcap_first)
    if args.postgres:
        run("postgresql", args.patients, args.postgres, args.redcap_first)


if __name__ == "__main__":
    main()
