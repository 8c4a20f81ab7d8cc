"""Whole-process time of ``ilp predict`` on the demo registry (``ilp demo``).

Target: ``ilp predict`` in at most 1 s, the whole process (interpreter start, imports, reading
the registry, fitting the Cox and Fine-Gray models, printing). The machine is shared and noisy,
so both wall-clock time (best and median of ``--repeats`` runs) and the CPU time the process used
(user + system) are reported, with ``python -c pass`` and ``ilp --version`` as the same-run
floor.

Run from the repository root::

    .venv/bin/python benchmarks/bench_predict.py              # makes a demo registry in a temp dir
    .venv/bin/python benchmarks/bench_predict.py --dir ilp-demo --repeats 10
    # before/after in one run: another version's source tree (e.g. from `git archive`)
    .venv/bin/python benchmarks/bench_predict.py --before-src /path/to/old/src

With ``--before-src`` every command also runs on that source tree (``PYTHONPATH``, same
interpreter and packages), the two versions alternating run by run.

Each command (and version) runs once untimed first, so that the timed runs find the files in the
page cache and, unless ``PYTHONDONTWRITEBYTECODE`` is set, the bytecode cache (``__pycache__``)
written; the script prints which. Without the bytecode cache every run compiles ilpkit's own
modules again (an installed package has its cache): about 0.05 s more for ``ilp predict``.
"""

from __future__ import annotations

import argparse
import os
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


def _run_once(cmd: list[str], env: dict[str, str] | None) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env=env)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def timed(cmd: list[str], repeats: int) -> tuple[float, float, float]:
    """Best and median wall time, and median CPU time (user + system), in seconds."""
    walls: list[float] = []
    cpus: list[float] = []
    _run_once(cmd, None)  # warm-up, untimed
    for _ in range(repeats):
        wall, cpu = _run_once(cmd, None)
        walls.append(wall)
        cpus.append(cpu)
    return min(walls), statistics.median(walls), statistics.median(cpus)


def timed_pair(
    cmd: list[str], before_src: Path, repeats: int
) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
    """As :func:`timed` for this version and for ``before_src``, alternating run by run.

    Both run as ``python -c 'from ilpkit.cli.main import run; run()' ARGS`` (the way the ``ilp``
    script starts), only ``PYTHONPATH`` differs.
    """
    launch = [
        sys.executable,
        "-c",
        "import sys; sys.argv[0] = 'ilp'; from ilpkit.cli.main import run; run()",
    ]
    envs = {
        "before": {**os.environ, "PYTHONPATH": str(before_src)},
        "now": {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")},
    }
    out: dict[str, tuple[list[float], list[float]]] = {k: ([], []) for k in envs}
    for env in envs.values():
        _run_once([*launch, *cmd[1:]], env)  # warm-up, untimed
    for i in range(repeats):
        for name in list(envs) if i % 2 == 0 else list(reversed(envs)):
            wall, cpu = _run_once([*launch, *cmd[1:]], envs[name])
            out[name][0].append(wall)
            out[name][1].append(cpu)

    def summary(name: str) -> tuple[float, float, float]:
        w, c = out[name]
        return min(w), statistics.median(w), statistics.median(c)

    return summary("before"), summary("now")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--dir", type=Path, default=None, help="An existing `ilp demo` folder.")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument(
        "--before-src", type=Path, default=None, help="Source tree of the version to compare."
    )
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
        print(f"load average at start: {os.getloadavg()[0]:.1f}")
        no_cache = os.environ.get("PYTHONDONTWRITEBYTECODE")
        print(f"bytecode cache: {'off (PYTHONDONTWRITEBYTECODE)' if no_cache else 'on'}")
        if args.before_src is None:
            print("| command | wall best (s) | wall median (s) | CPU median (s) |")
            print("| --- | ---: | ---: | ---: |")
        else:
            print(
                "| command | before: wall best / median, CPU median (s) "
                "| now: wall best / median, CPU median (s) |"
            )
            print("| --- | ---: | ---: |")
        for name, cmd in cases.items():
            if args.before_src is None or cmd[0] != str(ILP):
                best, med, cpu = timed(cmd, args.repeats)
                print(f"| `{name}` | {best:.2f} | {med:.2f} | {cpu:.2f} |")
                continue
            old, new = timed_pair(cmd, args.before_src, args.repeats)
            print(
                f"| `{name}` | {old[0]:.2f} / {old[1]:.2f}, {old[2]:.2f} "
                f"| {new[0]:.2f} / {new[1]:.2f}, {new[2]:.2f} |"
            )
        print(f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
