"""Benchmark: `ilp analyze` on a demo-sized registry (208 patients, 231 perfusions), whole process.

Target (statistics issue): under 2 s for the whole process. Baseline in the same run: Python's
own start-up with pandas imported (the floor any Python tool pays), and - where Rscript is
installed - R loading survival and cmprsk and fitting KM, log-rank, Cox and cuminc on the same
registry (an R analysis script's whole process). Usage::

    python benchmarks/bench_analyze.py
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_S = 2.0
R_SCRIPT = """
suppressPackageStartupMessages({library(survival); library(cmprsk)})
d <- read.csv(commandArgs(TRUE)[1], na.strings = "")
t <- as.numeric(as.Date(d$last_followup_date) - as.Date(d$ilp_date)) / 365.25
e <- as.integer(!is.na(d$death_date))
f <- survfit(Surv(t, e) ~ 1, conf.type = "log-log"); s <- summary(f, times = c(1, 2, 5))
for (v in c("multifocal", "prior_radiotherapy", "presentation", "histology", "sex"))
  survdiff(Surv(t, e) ~ d[[v]])
m <- coxph(Surv(t, e) ~ tumor_size_cm + multifocal + prior_radiotherapy, data = d)
z <- cox.zph(m)
lr <- ifelse(!is.na(d$local_recurrence_date), 1, ifelse(e == 1, 2, 0))
for (v in c("multifocal", "prior_radiotherapy", "presentation", "sex"))
  cuminc(t, lr, d[[v]])
"""


def best_of(cmd: list[str], repeat: int = 5) -> float:
    """Best wall-clock time of ``repeat`` runs of ``cmd``."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    bindir = Path(sys.executable).parent
    ilp = str(bindir / "ilp")
    work = Path(tempfile.mkdtemp(prefix="ilp-bench-analyze-"))
    try:
        db = work / "demo.sqlite3"
        csv = work / "demo_synthetic.csv"
        subprocess.run(
            [ilp, "synth", "--patients", "208", "--db", str(db)], check=True, capture_output=True
        )
        subprocess.run([ilp, "export", str(csv), "--db", str(db)], check=True, capture_output=True)
        rows = [
            ("python -c 'import pandas' (floor)", best_of([sys.executable, "-c", "import pandas"])),
            (
                "ilp analyze --json (all endpoints, 8 subgroup variables, Cox)",
                best_of([ilp, "analyze", "--json", "--db", str(db)]),
            ),
        ]
        if shutil.which("Rscript"):
            script = work / "analysis.R"
            script.write_text(R_SCRIPT)
            rows.append(
                (
                    "Rscript: KM, 5 log-rank, Cox + zph, 4 cuminc (fewer analyses)",
                    best_of(["Rscript", str(script), str(csv)]),
                )
            )
        print("Whole-process time on a 231-perfusion SYNTHETIC registry (best of 5)")
        for name, seconds in rows:
            print(f"{name:<66} {seconds:6.2f} s")
        verdict = "meets" if rows[1][1] < TARGET_S else "MISSES"
        print(f"ilp analyze {verdict} the target of {TARGET_S:.0f} s.")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
