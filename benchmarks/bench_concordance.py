"""Speed of Harrell's C (``cox_concordance``: C, its SE and the pair counts) against the Cox fit.

Target: on 1,000,000 rows, Harrell's C of a fitted Cox model within 2x of the Cox fit's time.
The Cox fit is the reference of the same run (the machine is shared and noisy), timed
alternately with the concordance, best of ``--repeats`` each; wall-clock and, in brackets, the
CPU time of the process (less sensitive to other processes; run with OPENBLAS_NUM_THREADS=1 so
that both count one thread).

Run from the repository root::

    .venv/bin/python benchmarks/bench_concordance.py                  # n = 1e6, days
    .venv/bin/python benchmarks/bench_concordance.py --sizes 100000 --times continuous

Data (synthetic, fixed seed): as ``bench_cox_cr.py``, 5 covariates, exponential event and
censoring times, in whole days (many ties, as dates give) or continuous (no ties).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from ilpkit.stats.cox import cox_concordance, fit_cox


def make_data(n: int, seed: int, times: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
    t_event = rng.exponential(1.0 / np.exp(x @ beta))
    t_cens = rng.exponential(2.0, n)
    t = np.minimum(t_event, t_cens)
    if times == "days":
        t = np.ceil(t * 365.0)
    return x, t, (t_event <= t_cens).astype(int)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000_000])
    ap.add_argument("--times", choices=["days", "continuous"], default="days")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    print("| n | times | Cox fit, s (CPU) | Harrell's C + SE, s (CPU) | C / Cox fit (CPU) | C |")
    print("| ---: | --- | ---: | ---: | ---: | ---: |")
    for n in args.sizes:
        x, t, e = make_data(n, 20261201, args.times)
        best_fit = best_c = cpu_fit = cpu_c = float("inf")
        c = float("nan")
        for _ in range(args.repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            fit = fit_cox(x, t, e)
            t1, c1 = time.perf_counter(), time.process_time()
            res = cox_concordance(fit)
            t2, c2 = time.perf_counter(), time.process_time()
            best_fit = min(best_fit, t1 - t0)
            best_c = min(best_c, t2 - t1)
            cpu_fit = min(cpu_fit, c1 - c0)
            cpu_c = min(cpu_c, c2 - c1)
            c = res.concordance
        print(
            f"| {n:,} | {args.times} | {best_fit:.3f} ({cpu_fit:.3f}) | "
            f"{best_c:.3f} ({cpu_c:.3f}) | {best_c / best_fit:.2f} ({cpu_c / cpu_fit:.2f}) | "
            f"{c:.6f} |"
        )


if __name__ == "__main__":
    main()
