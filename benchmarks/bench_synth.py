"""Benchmark: ``ilp synth`` for about 1,000,000 SYNTHETIC perfusions, to CSV and to SQLite.

Budget (synthetic-cohort issue): ``ilp synth`` plus the report for 1,000,000 perfusions within
120 s and 4 GB on a 2-core machine. Each task runs the installed ``ilp`` command in a fresh
process (start-up included); its peak memory is the child's maximum resident set size
(``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss``, measured by a wrapper process that runs only
that child). PostgreSQL is measured too when ``ILP_BENCH_POSTGRES_URL`` names a server (a
database is created and dropped). Usage::

    python benchmarks/bench_synth.py [N_PATIENTS]

910,000 patients give about 1,000,000 perfusions (1.11 per patient).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

TARGET_S = 120.0
TARGET_MIB = 4096.0
DEFAULT_PATIENTS = 910_000


def _ilp() -> str:
    candidate = Path(sys.executable).parent / "ilp"
    return str(candidate) if candidate.exists() else (shutil.which("ilp") or "ilp")


def _child(args: list[str]) -> None:
    """Run ``ilp ARGS`` and print its wall time, peak memory and JSON report."""
    start = time.perf_counter()
    done = subprocess.run([_ilp(), *args], check=True, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
    print(json.dumps({"seconds": seconds, "peak_mib": peak_kib / 1024, "report": done.stdout}))


def _measure(args: list[str]) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", *args], check=True, capture_output=True, text=True
    )
    result = json.loads(out.stdout)
    result["report"] = json.loads(result["report"])
    return result


def _postgres_database(admin_url: str) -> tuple[str, Callable[[], None]]:
    import sqlalchemy as sa

    name = f"ilp_bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False), drop


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_PATIENTS
    work = Path(tempfile.mkdtemp(prefix="ilp-bench-synth-"))
    base = ["synth", "--patients", str(n), "--seed", "1", "--json"]
    tasks: list[tuple[str, list[str]]] = [
        ("ilp synth --out FILE.csv", [*base, "--out", str(work / "synthetic.csv")]),
        ("ilp synth --db FILE.sqlite3 (new registry)", [*base, "--db", str(work / "s.sqlite3")]),
    ]
    cleanup: list[Callable[[], None]] = []
    pg_admin = os.environ.get("ILP_BENCH_POSTGRES_URL")
    if pg_admin:
        url, drop = _postgres_database(pg_admin)
        cleanup.append(drop)
        tasks.append(("ilp synth --db postgresql (new registry)", [*base, "--db", url]))
    try:
        results = [(name, _measure(args)) for name, args in tasks]
        csv_mib = (work / "synthetic.csv").stat().st_size / 2**20
        perfusions = results[0][1]["report"]["n_perfusions"]  # type: ignore[index]
        print(f"ilp synth: {n:,} SYNTHETIC patients, {perfusions:,} perfusions (seed 1)")
        print(
            f"{'task':<44} {'total s':>8} {'generate':>9} {'write':>7} {'peak MiB':>9} "
            f"{'perf/s':>10}"
        )
        for name, r in results:
            stages = r["report"]["seconds"]  # type: ignore[index]
            write = stages.get("csv", 0.0) + stages.get("database", 0.0)
            print(
                f"{name:<44} {r['seconds']:8.1f} {stages['generate']:9.1f} {write:7.1f} "
                f"{r['peak_mib']:9.0f} {perfusions / r['seconds']:10,.0f}"
            )
        print(f"CSV file: {csv_mib:,.0f} MiB")
        worst_s = max(float(r["seconds"]) for _, r in results)  # type: ignore[arg-type]
        worst_mib = max(float(r["peak_mib"]) for _, r in results)  # type: ignore[arg-type]
        print(
            f"Slowest task {worst_s:.1f} s of the {TARGET_S:.0f} s budget (which also covers the "
            f"report); peak {worst_mib:,.0f} MiB of {TARGET_MIB:,.0f} MiB."
        )
    finally:
        for drop in cleanup:
            drop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child(sys.argv[2:])
    else:
        main()
