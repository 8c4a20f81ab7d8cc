"""Benchmark: `ilp import` time and peak memory on SQLite and PostgreSQL, 1e5 and 1e6 rows.

Each import runs as its own `ilp import` process (whole process: start-up, reading, validation of
every rule, the all-or-nothing transaction and the audit log) into a new registry; its peak
memory is the peak resident set size of that process and its CPU time is user + system seconds
(``getrusage(RUSAGE_CHILDREN)`` read in a fresh wrapper process per import, so earlier runs do
not count; the CPU time excludes the database server's own work). Baselines in the same run:
reading the file with the csv module only (the floor for any importer). Targets: peak memory
≤ 1 GB and ≤ 120 s for 1,000,000 rows on each database.

Usage::

    python benchmarks/bench_import.py [--sizes N ...] [--databases sqlite postgresql]
        [--postgres-url URL] [--again]

``--again`` also times a second import of the same file into the now-full registry (every row
unchanged). PostgreSQL uses a new database on the server of ``--postgres-url`` (default: the
local test server), dropped afterwards.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from registry_rows import iter_synthetic_rows, write_rows

TARGET_S_PER_MILLION = 120.0
TARGET_PEAK_MIB = 1024.0

_WRAPPER = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
seconds = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"seconds": seconds, "peak_mib": usage.ru_maxrss / 1024, "rc": done.returncode,
                  "cpu_seconds": usage.ru_utime + usage.ru_stime,
                  "out": done.stdout[-400:], "err": done.stderr[-400:]}))
"""


def measure(command: list[str]) -> dict[str, object]:
    """Run ``command`` in a fresh wrapper process; wall seconds and the child's peak RSS."""
    out = subprocess.run(
        [sys.executable, "-c", _WRAPPER, *command], capture_output=True, text=True, check=True
    )
    result: dict[str, object] = json.loads(out.stdout)
    if result["rc"] != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result['out']}\n{result['err']}")
    return result


def csv_floor(path: Path) -> float:
    start = time.perf_counter()
    with path.open(encoding="utf-8", newline="") as f:
        for _ in csv.reader(f):
            pass
    return time.perf_counter() - start


def new_postgres(admin_url: str) -> tuple[str, str]:
    import sqlalchemy as sa

    name = f"ilp_bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = sa.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    return url, name


def drop_postgres(admin_url: str, name: str) -> None:
    import sqlalchemy as sa

    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument(
        "--databases", nargs="+", default=["sqlite", "postgresql"], choices=["sqlite", "postgresql"]
    )
    parser.add_argument(
        "--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    parser.add_argument("--again", action="store_true", help="also re-import the same file")
    args = parser.parse_args()
    ilp = str(Path(sys.executable).parent / "ilp")
    work = Path(tempfile.mkdtemp(prefix="ilp-bench-"))
    results: list[tuple[str, int, str, float, float, float]] = []
    try:
        for n in args.sizes:
            path = work / f"registry-{n}.csv"
            write_rows(iter_synthetic_rows(n, seed=1), str(path))
            mib = path.stat().st_size / 2**20
            print(
                f"{n:,} rows, {mib:,.0f} MiB; csv.reader floor {csv_floor(path):.1f} s", flush=True
            )
            for database in args.databases:
                pg_name = None
                if database == "sqlite":
                    url = f"sqlite:///{work / f'registry-{n}.sqlite3'}"
                else:
                    url, pg_name = new_postgres(args.postgres_url)
                try:
                    runs = [("new registry", measure([ilp, "import", str(path), "--db", url]))]
                    if args.again:
                        again = measure([ilp, "import", str(path), "--db", url])
                        runs.append(("same file again", again))
                finally:
                    if pg_name is not None:
                        drop_postgres(args.postgres_url, pg_name)
                    (work / f"registry-{n}.sqlite3").unlink(missing_ok=True)
                for label, r in runs:
                    seconds, peak = float(str(r["seconds"])), float(str(r["peak_mib"]))
                    cpu = float(str(r["cpu_seconds"]))
                    results.append((database, n, label, seconds, cpu, peak))
                    print(
                        f"  {database:<10} {label:<16} {seconds:8.1f} s ({cpu:.1f} s CPU) "
                        f"{peak:8.0f} MiB peak {n / seconds:10,.0f} rows/s",
                        flush=True,
                    )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print()
    print("| database | rows | import | wall s | CPU s (ilp) | peak MiB | rows/s |")
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: |")
    for database, n, label, seconds, cpu, peak in results:
        print(
            f"| {database} | {n:,} | {label} | {seconds:.1f} | {cpu:.1f} | {peak:.0f} "
            f"| {n / seconds:,.0f} |"
        )
    for database, n, label, seconds, _cpu, peak in results:
        if label != "new registry":
            continue
        limit_s = TARGET_S_PER_MILLION * n / 1_000_000
        ok = seconds <= limit_s and peak <= TARGET_PEAK_MIB
        print(
            f"{database} {n:,} rows: {'meets' if ok else 'MISSES'} the targets "
            f"(≤ {limit_s:.0f} s, ≤ {TARGET_PEAK_MIB:.0f} MiB)"
        )


if __name__ == "__main__":
    main()
