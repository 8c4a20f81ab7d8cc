"""Speed of the Fine-Gray model (``fit_fine_gray``: estimates, sandwich SEs, baseline) against
ilpkit's Cox fit on the same data and against R ``cmprsk::crr``.

Target: on 1,000,000 rows within 2x of the Cox fit's time (the cause-specific Cox model of the
same data, Efron ties, timed alternately in the same run: the machine is shared and noisy; wall
clock and, in brackets, CPU time of the process, best of ``--repeats``), and
faster than R ``crr``, whose Fortran loops over pairs of rows (``O(n^2)`` per iteration and more
for the variance); R is timed at the sizes it can do (``--r-sizes``) and extrapolated.

Run from the repository root::

    .venv/bin/python benchmarks/bench_fine_gray.py                       # 1e4, 1e5, 1e6
    .venv/bin/python benchmarks/bench_fine_gray.py --sizes 10000 --r-sizes 2000 5000

Data (synthetic, fixed seed): 5 covariates (two normal, one 0/1, one uniform, one 0/1/2); the
event of interest exponential with a proportional effect, a competing event and censoring
exponential; times in whole days (ties, as dates give).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ilpkit.stats.cox import fit_cox
from ilpkit.stats.fine_gray import fit_fine_gray

R_SCRIPT = r"""
suppressPackageStartupMessages(library(cmprsk))
d <- read.csv(commandArgs(trailingOnly = TRUE)[1])
x <- as.matrix(d[, c("x1", "x2", "x3", "x4", "x5")])
t0 <- proc.time()[["elapsed"]]
f <- crr(d$time, d$status, x)
cat(proc.time()[["elapsed"]] - t0, f$coef, "\n")
"""


def make_data(n: int, seed: int = 20261201) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = np.column_stack(
        [
            rng.normal(size=n),
            rng.integers(0, 2, n),
            rng.normal(size=n),
            rng.uniform(size=n),
            rng.integers(0, 3, n),
        ]
    ).astype(float)
    beta = np.array([0.5, -0.3, 0.2, 0.4, 0.1])
    t1 = rng.exponential(5.0 / np.exp(x @ beta))
    t2 = rng.exponential(8.0, n)
    tc = rng.exponential(10.0, n)
    t = np.minimum(np.minimum(t1, t2), tc)
    status = np.where(t == tc, 0, np.where(t == t1, 1, 2))
    df = pd.DataFrame(x, columns=["x1", "x2", "x3", "x4", "x5"])
    df.insert(0, "status", status)
    df.insert(0, "time", np.ceil(t * 365.0))
    return df


def time_r(df: pd.DataFrame) -> tuple[float, list[float]] | None:
    if shutil.which("Rscript") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "d.csv"
        script = Path(tmp) / "b.R"
        df.to_csv(csv, index=False)
        script.write_text(R_SCRIPT)
        out = subprocess.run(
            ["Rscript", str(script), str(csv)], capture_output=True, text=True, check=True
        )
    values = [float(v) for v in out.stdout.split()]
    return values[0], values[1:]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--r-sizes", type=int, nargs="*", default=[2_000, 5_000])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    print("| n | Cox fit, s (CPU) | Fine-Gray fit, s (CPU) | Fine-Gray / Cox (CPU) |")
    print("| ---: | ---: | ---: | ---: |")
    for n in args.sizes:
        df = make_data(n)
        x = df[["x1", "x2", "x3", "x4", "x5"]].to_numpy()
        best_cox = best_fg = cpu_cox = cpu_fg = float("inf")
        for _ in range(args.repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            fit_cox(x, df["time"], df["status"] == 1)
            t1, c1 = time.perf_counter(), time.process_time()
            fit_fine_gray(x, df["time"], df["status"])
            t2, c2 = time.perf_counter(), time.process_time()
            best_cox, cpu_cox = min(best_cox, t1 - t0), min(cpu_cox, c1 - c0)
            best_fg, cpu_fg = min(best_fg, t2 - t1), min(cpu_fg, c2 - c1)
        print(
            f"| {n:,} | {best_cox:.3f} ({cpu_cox:.3f}) | {best_fg:.3f} ({cpu_fg:.3f}) | "
            f"{best_fg / best_cox:.2f} ({cpu_fg / cpu_cox:.2f}) |"
        )
    if args.r_sizes:
        print()
        print("| n | R crr (s, one call) | ilpkit (s) | largest coef difference |")
        print("| ---: | ---: | ---: | ---: |")
    for n in args.r_sizes:
        df = make_data(n)
        x = df[["x1", "x2", "x3", "x4", "x5"]].to_numpy()
        t0 = time.perf_counter()
        ours = fit_fine_gray(x, df["time"], df["status"])
        sec = time.perf_counter() - t0
        r = time_r(df)
        if r is None:
            print(f"| {n:,} | R not found | {sec:.4f} | |")
            continue
        diff = float(np.max(np.abs(np.asarray(r[1]) - ours.coef)))
        print(f"| {n:,} | {r[0]:.2f} | {sec:.4f} | {diff:.1e} |")


if __name__ == "__main__":
    main()
