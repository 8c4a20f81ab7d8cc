"""Benchmark: import 100,000 SYNTHETIC perfusion rows into a new SQLite registry.

Target (registry-core issue): at most 30 s on a 2-core machine. Baselines measured in the same
run, on the same file: reading the CSV with the csv module only (the floor for any importer), and
pandas.read_csv + DataFrame.to_sql (what an ad-hoc script does: no validation, no upsert, no
audit). Usage::

    python benchmarks/bench_import.py [N_ROWS]
"""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from registry_rows import synthetic_rows, write_rows

TARGET_S = 30.0


def _time(fn) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    work = Path(tempfile.mkdtemp(prefix="ilp-bench-"))
    try:
        path = work / "registry.csv"
        write_rows(synthetic_rows(n, seed=1), str(path))
        ilp = str(Path(sys.executable).parent / "ilp")

        def read_only() -> None:
            with path.open(encoding="utf-8", newline="") as f:
                for _ in csv.reader(f):
                    pass

        def pandas_to_sql() -> None:
            import sqlite3

            import pandas as pd

            con = sqlite3.connect(work / "pandas.sqlite3")
            pd.read_csv(path).to_sql("perfusions", con, if_exists="replace", index=False)
            con.close()

        def ilp_import() -> None:
            subprocess.run(
                [ilp, "import", str(path), "--db", str(work / "ilp.sqlite3")],
                check=True,
                capture_output=True,
            )

        results = [
            ("csv.reader, read only (floor)", _time(read_only)),
            ("pandas read_csv + to_sql (no validation)", _time(pandas_to_sql)),
            ("ilp import, new registry (whole process)", _time(ilp_import)),
            ("ilp import, same file again (all unchanged)", _time(ilp_import)),
        ]
        print(f"Import of {n:,} SYNTHETIC perfusion rows into SQLite")
        print(f"{'task':<48} {'seconds':>8} {'rows/s':>10}")
        for name, seconds in results:
            print(f"{name:<48} {seconds:8.2f} {n / seconds:10,.0f}")
        verdict = "meets" if results[2][1] <= TARGET_S else "MISSES"
        print(f"ilp import {verdict} the target of {TARGET_S:.0f} s for {n:,} rows.")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
