"""The outcome study's sections from the registry frame, against the Cox fit, for this version of
ilpkit and (``--before-src``) another one, in the same sitting.

Each section (regional toxicity, TNF dose, the landmark analysis of local recurrence by the four
post-baseline factors, distant metastasis with metastasis-free and sarcoma-specific survival) is
timed as ``ilp analyze`` runs it when only that endpoint is asked for: from the registry frame,
its data preparation included. The reference is ``fit_cox`` of overall survival per patient (the
6 default terms of ``ilp analyze``, 8 columns, Efron), on arrays prepared beforehand; up to
100,000 perfusions the whole ``analyze()`` of every endpoint is timed too. The registry is
SYNTHETIC (``ilp synth --seed 7``, SQLite), made once per size in ``--dir``.

Each version runs in its own child process (``PYTHONPATH`` = its ``src``), the versions taking
turns, and times every task ``--repeats`` times after a warm-up (rounds alternate the task
order); the figure is the median wall clock and CPU time of the process.

Run from the repository root::

    .venv/bin/python benchmarks/bench_outcome_sections.py --sizes 100000 1000000
    # before/after: another version's source tree (e.g. from `git archive`)
    .venv/bin/python benchmarks/bench_outcome_sections.py --before-src /path/to/old/src
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from bench_outcome_study import registry_file

CHILD = r"""
import gc, json, statistics, sys, time
from ilpkit.adapters.db.registry_frame import load_registry_frame
from ilpkit.services.unit_of_work import UnitOfWork
from ilpkit.stats import analysis, cohort
from ilpkit.stats.cox import design_from_frame, fit_cox
from ilpkit.stats.landmark_sections import landmark_recurrence_section
from ilpkit.stats.metastasis import distant_metastasis_section
from ilpkit.stats.tnf_dose import tnf_dose_section
from ilpkit.stats.toxicity import toxicity_section

db, repeats, whole = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
with UnitOfWork(f"sqlite:///{db}", migrate=False) as uow:
    frame = load_registry_frame(uow.connection)
years = (1, 2, 5)
os_data = cohort.overall_survival(frame).dropna(subset=list(analysis.DEFAULT_COX))
os_data = os_data.reset_index(drop=True)
x, _, _ = design_from_frame(os_data, analysis.DEFAULT_COX)
t = os_data["time_years"].to_numpy(float)
e = os_data["event"].to_numpy(int)
tasks = {
    "Cox fit (reference)": lambda: fit_cox(x, t, e),
    "toxicity section": lambda: toxicity_section(frame),
    "TNF dose section": lambda: tnf_dose_section(frame, years),
    "landmark local recurrence section (4 factors)": lambda: landmark_recurrence_section(
        frame, years
    ),
    "distant metastasis section": lambda: distant_metastasis_section(frame, years),
}
if whole:
    tasks["analyze(), every endpoint"] = lambda: analysis.analyze(frame)
walls = {k: [] for k in tasks}
cpus = {k: [] for k in tasks}
for round_ in range(repeats + 1):
    for name in list(tasks) if round_ % 2 else list(reversed(list(tasks))):
        gc.collect()
        w0, c0 = time.perf_counter(), time.process_time()
        tasks[name]()
        if round_:
            walls[name].append(time.perf_counter() - w0)
            cpus[name].append(time.process_time() - c0)
print(json.dumps({k: [statistics.median(walls[k]), statistics.median(cpus[k])] for k in tasks}))
"""

WHOLE_ANALYSIS_MAX = 100_000
"""Time the whole analysis only up to this many perfusions (it takes minutes before the change)."""


def run_child(src: Path, db: Path, repeats: int, whole: bool) -> dict[str, list[float]]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(db), str(repeats), "1" if whole else "0"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--dir", type=Path, default=Path("benchmarks/out/registries"))
    ap.add_argument("--before-src", type=Path, default=None)
    ap.add_argument("--json", type=Path, default=Path("benchmarks/out/bench_outcome_sections.json"))
    args = ap.parse_args()
    here = Path(__file__).resolve().parents[1] / "src"
    versions = (
        {"now": here} if args.before_src is None else {"before": args.before_src, "now": here}
    )
    report: dict[str, object] = {}
    args.dir.mkdir(parents=True, exist_ok=True)
    for size in args.sizes:
        db = registry_file(args.dir, size)
        got = {
            v: run_child(src, db, args.repeats, size <= WHOLE_ANALYSIS_MAX)
            for v, src in versions.items()
        }
        print(f"\n{size:,} perfusions (load average {os.getloadavg()[0]:.1f})")
        head = " | ".join(f"{v}: wall s (CPU s), / Cox fit wall" for v in versions)
        print(f"| task | {head} |")
        print("| --- |" + " ---: |" * len(versions))
        for task in got["now"]:
            cells = []
            for v in versions:
                wall, cpu = got[v][task]
                cells.append(
                    f"{wall:.3f} ({cpu:.3f}), {wall / got[v]['Cox fit (reference)'][0]:.1f}"
                )
            print(f"| {task} | " + " | ".join(cells) + " |")
        report[str(size)] = got
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2))
    print(f"\nwritten {args.json}")


if __name__ == "__main__":
    main()
