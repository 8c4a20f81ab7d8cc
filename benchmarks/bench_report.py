"""Benchmark: ``ilp demo`` end to end, and ``ilp synth`` + ``ilp report`` for ~1,000,000 perfusions.

Budgets (issue "Seed-calibrated synthetic cohort, the outcome study report, and ilp demo"), on
this project's 2-core machine:

- ``ilp demo`` (synthetic 208-patient registry + report, whole process, start-up included):
  at most 10 s;
- ``ilp synth`` + ``ilp report`` for 1,000,000 perfusions: at most 120 s together and at most
  4 GB peak memory.

Each command is the installed ``ilp`` in a fresh process. Its peak memory is the child's
maximum resident set size (``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss``), measured by a
wrapper process that runs only that child, so that the figures of one command never mix with
another's. Usage::

    python benchmarks/bench_report.py                 # demo x3, then 910,000 patients
    python benchmarks/bench_report.py --demo-only
    python benchmarks/bench_report.py --patients 100000

910,000 patients give about 1,000,000 perfusions (1.11 per patient).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

DEMO_TARGET_S = 10.0
BIG_TARGET_S = 120.0
BIG_TARGET_MIB = 4096.0
DEFAULT_PATIENTS = 910_000
DEMO_RUNS = 3


def _ilp() -> str:
    candidate = Path(sys.executable).parent / "ilp"
    return str(candidate) if candidate.exists() else (shutil.which("ilp") or "ilp")


def _child(args: list[str]) -> None:
    """Run ``ilp ARGS``; print its wall time and peak memory as JSON (wrapper process)."""
    start = time.perf_counter()
    done = subprocess.run([_ilp(), *args], capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
    print(
        json.dumps(
            {
                "seconds": seconds,
                "peak_mib": peak_kib / 1024,
                "returncode": done.returncode,
                "stderr": done.stderr[-2000:],
            }
        )
    )


@dataclass(frozen=True)
class Measured:
    """Wall time (s) and peak resident memory (MiB) of one command."""

    seconds: float
    peak_mib: float


def measure(args: list[str]) -> Measured:
    """Wall time and peak RSS of ``ilp ARGS`` in a fresh process."""
    out = subprocess.run(
        [sys.executable, __file__, "--child", *args], check=True, capture_output=True, text=True
    )
    result = json.loads(out.stdout)
    if result["returncode"] != 0:
        raise SystemExit(f"ilp {' '.join(args)} failed:\n{result['stderr']}")
    return Measured(float(result["seconds"]), float(result["peak_mib"]))


def _row(task: str, seconds: float, mib: float, target: str, ok: bool) -> str:
    return f"| {task} | {seconds:.1f} | {mib:,.0f} | {target} | {'yes' if ok else 'NO'} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=DEFAULT_PATIENTS)
    parser.add_argument("--demo-only", action="store_true")
    parser.add_argument("--child", nargs=argparse.REMAINDER)
    opts = parser.parse_args()
    if opts.child is not None:
        _child(opts.child)
        return

    lines = [
        "| task | wall s | peak MiB | target | met |",
        "| --- | ---: | ---: | --- | --- |",
    ]
    with tempfile.TemporaryDirectory(prefix="ilp-bench-report-") as tmp:
        base = Path(tmp)
        demo_times = []
        demo_peak = 0.0
        for i in range(DEMO_RUNS):
            # the first run creates the folder, later runs replace the demo registry
            r = measure(["demo", "--dir", str(base / "demo")])
            demo_times.append(r.seconds)
            demo_peak = max(demo_peak, r.peak_mib)
            print(f"ilp demo run {i + 1}: {demo_times[-1]:.2f} s", file=sys.stderr)
        worst = max(demo_times)
        lines.append(
            _row(
                f"ilp demo (208 patients; median of {DEMO_RUNS}, worst {worst:.1f} s)",
                statistics.median(demo_times),
                demo_peak,
                f"<= {DEMO_TARGET_S:.0f} s",
                worst <= DEMO_TARGET_S,
            )
        )
        r = measure(
            [
                "report",
                "--db",
                str(base / "demo" / "registry.sqlite3"),
                "--out",
                str(base / "demo-pdf"),
                "--pdf",
            ]
        )
        lines.append(
            _row(
                "ilp report --pdf (208 patients)",
                r.seconds,
                r.peak_mib,
                "-",
                True,
            )
        )
        if not opts.demo_only:
            db = base / "big.sqlite3"
            synth = measure(
                ["synth", "--patients", str(opts.patients), "--seed", "7", "--db", str(db)]
            )
            print(f"ilp synth: {synth.seconds:.1f} s", file=sys.stderr)
            report = measure(["report", "--db", str(db), "--out", str(base / "big-report")])
            results = json.loads((base / "big-report" / "results.json").read_text())
            n_perf = results["cohort"]["n_perfusions"]
            s_synth, s_report = synth.seconds, report.seconds
            m_synth, m_report = synth.peak_mib, report.peak_mib
            label = f"{opts.patients:,} patients, {n_perf:,} perfusions"
            lines.append(_row(f"ilp synth --db ({label})", s_synth, m_synth, "-", True))
            lines.append(_row(f"ilp report ({label})", s_report, m_report, "-", True))
            total = s_synth + s_report
            peak = max(m_synth, m_report)
            lines.append(
                _row(
                    "ilp synth + ilp report",
                    total,
                    peak,
                    f"<= {BIG_TARGET_S:.0f} s, <= {BIG_TARGET_MIB:,.0f} MiB",
                    total <= BIG_TARGET_S and peak <= BIG_TARGET_MIB,
                )
            )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
