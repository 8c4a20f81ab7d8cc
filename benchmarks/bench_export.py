"""Benchmark: ``ilp export`` in every format on a 100,000-perfusion SYNTHETIC registry.

Target (interop issue): at most 30 s per format on a 2-core machine. Each export runs the
installed ``ilp`` in a fresh process (start-up included) on the same SQLite registry, made with
``ilp synth`` (90,000 patients give about 100,000 perfusions, 1.11 per patient). Baselines in the
same run: the existing ``ilp export`` (Registry CSV v1) and pandas reading the registry and
writing it with ``DataFrame.to_parquet`` (no labels, no audit). Usage::

    python benchmarks/bench_export.py [N_PATIENTS]
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_S = 30.0
DEFAULT_PATIENTS = 90_000
KEY = "benchmark-key-0123456789abcdef"


def _ilp() -> str:
    candidate = Path(sys.executable).parent / "ilp"
    return str(candidate) if candidate.exists() else (shutil.which("ilp") or "ilp")


def _timed(args: list[str]) -> float:
    env = {**os.environ, "ILP_PSEUDONYM_KEY": KEY}
    start = time.perf_counter()
    subprocess.run(args, check=True, capture_output=True, env=env)
    return time.perf_counter() - start


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.iterdir())
    return path.stat().st_size


def main() -> None:
    patients = int(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_PATIENTS
    ilp = _ilp()
    work = Path(tempfile.mkdtemp(prefix="ilp-bench-export-"))
    try:
        db = work / "registry.sqlite3"
        seconds = _timed(
            [ilp, "synth", "--patients", str(patients), "--seed", "7", "--db", str(db)]
        )
        con = sqlite3.connect(db)
        perfusions = con.execute("SELECT count(*) FROM perfusions").fetchone()[0]
        con.close()
        print(f"registry: {patients:,} patients, {perfusions:,} perfusions ({seconds:.1f} s)")

        def pandas_parquet() -> None:
            import pandas as pd

            con = sqlite3.connect(db)
            frame = pd.read_sql_query(
                "SELECT patients.patient_id, patients.center, patients.sex, patients.birth_date, "
                "patients.death_date, patients.last_followup_date, perfusions.* "
                "FROM perfusions JOIN patients ON perfusions.patient_pk = patients.id",
                con,
            )
            con.close()
            frame.to_parquet(work / "pandas.parquet")

        start = time.perf_counter()
        pandas_parquet()
        seconds = time.perf_counter() - start
        baseline = "pandas read_sql + to_parquet (no labels, no audit)"
        rows = [(baseline, seconds, _size(work / "pandas.parquet"))]
        out = work / "plain.csv"
        rows.append(
            (
                "ilp export (Registry CSV v1, existing)",
                _timed([ilp, "export", str(out), "--db", str(db)]),
                _size(out),
            )
        )
        tasks = [
            ("csv", "registry.csv", []),
            ("sav", "registry.sav", []),
            ("dta", "registry.dta", []),
            ("xpt", "registry.xpt", []),
            ("parquet", "registry.parquet", []),
            ("sav", "patients.sav", ["--per", "patient"]),
            ("odm", "registry.xml", []),
            ("fhir", "fhir", []),
            ("csv", "deidentified.csv", ["--deidentify"]),
            ("fhir", "fhir-deidentified", ["--deidentify"]),
        ]
        for fmt, name, extra in tasks:
            target = work / name
            args = [ilp, "export", "--db", str(db), "--format", fmt, *extra, str(target)]
            rows.append(
                (
                    f"ilp export --format {fmt} {' '.join(extra)}".strip(),
                    _timed(args),
                    _size(target),
                )
            )
        print()
        print(f"| task ({perfusions:,} perfusions) | seconds | MiB written |")
        print("| --- | ---: | ---: |")
        for label, secs, size in rows:
            print(f"| {label} | {secs:.1f} | {size / 2**20:,.1f} |")
        worst = max(secs for label, secs, _ in rows if label.startswith("ilp export"))
        verdict = "met" if worst <= TARGET_S else "NOT met"
        print(f"\nslowest export: {worst:.1f} s; target {TARGET_S:.0f} s {verdict}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
