"""Whole-process time of ``ilp predict`` on the demo registry (``ilp demo``).

Target: ``ilp predict`` in at most 1 s, the whole process (interpreter start, imports, reading
the registry, fitting the Cox and Fine-Gray models, printing). The machine is shared and noisy,
so both wall-clock time (best and median of ``--repeats`` runs) and the CPU time the process used
(user + system) are reported, with ``python -c pass`` and ``ilp --version`` as the same-run
floor.

Run from the repository root::

    .venv/bin/python benchmarks/bench_predict.py              # makes a demo registry in a temp dir
    .venv/bin/python benchmarks/bench_predict.py --dir ilp-demo --repeats 10
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ILP = Path(sys.executable).with_name("ilp")
PROFILE = [
    "--age", "62", "--size-cm", "14", "--histology", "leiomyosarcoma",
    "--multifocal", "no", "--prior-radiotherapy", "yes",
]  # fmt: skip


TWO_TERMS = [
    "--terms", "age_years,tumor_size_cm", "--age", "60", "--size-cm", "10", "--json",
]  # fmt: skip


def timed(cmd: list[str], repeats: int) -> tuple[float, float, float]:
    """Best and median wall time, and median CPU time (user + system), in seconds."""
    walls: list[float] = []
    cpus: list[float] = []
    for _ in range(repeats):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        walls.append(time.perf_counter() - t0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return min(walls), statistics.median(walls), statistics.median(cpus)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--dir", type=Path, default=None, help="An existing `ilp demo` folder.")
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.dir
        if folder is None:
            folder = Path(tmp) / "demo"
            subprocess.run(
                [str(ILP), "demo", "--dir", str(folder)], check=True, capture_output=True
            )
        db = f"sqlite:///{folder / 'registry.sqlite3'}"
        cases = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "ilp --version": [str(ILP), "--version"],
            "ilp predict (default terms)": [str(ILP), "predict", "--db", db, *PROFILE],
            "ilp predict --json": [str(ILP), "predict", "--db", db, *PROFILE, "--json"],
            "ilp predict --terms age_years,tumor_size_cm --json": [
                str(ILP),
                "predict",
                "--db",
                db,
                *TWO_TERMS,
            ],
        }
        print("| command | wall best (s) | wall median (s) | CPU median (s) |")
        print("| --- | ---: | ---: | ---: |")
        for name, cmd in cases.items():
            best, med, cpu = timed(cmd, args.repeats)
            print(f"| `{name}` | {best:.2f} | {med:.2f} | {cpu:.2f} |")


if __name__ == "__main__":
    main()
