"""Speed of ilpkit's Kaplan–Meier and log-rank test against lifelines, statsmodels and R.

Run from the repository root (Rscript with the survival package on PATH for the R column)::

    .venv/bin/python benchmarks/bench_km_logrank.py                  # n = 1e3 and 1e6
    .venv/bin/python benchmarks/bench_km_logrank.py --sizes 1000     # quick
    .venv/bin/python benchmarks/bench_km_logrank.py --times continuous   # no tied times

What is timed (the same data for every tool; R reads it from a CSV that is not timed):

* KM + CI: the whole curve with Greenwood SEs and pointwise 95% log-log limits.
  ilpkit ``kaplan_meier(conf_type="log-log")``; lifelines ``KaplanMeierFitter.fit`` (log-log
  is its only interval); statsmodels ``SurvfuncRight`` plus the log-log limits computed from its
  SEs with numpy (it has no pointwise interval); R ``survfit(conf.type = "log-log")``.
* log-rank: 3 groups. ilpkit ``logrank_test``; lifelines ``multivariate_logrank_test``;
  statsmodels ``survdiff``; R ``survdiff``.

Each figure is the best of 3 runs; a run repeats the call until it has taken >= 0.2 s and
reports the mean, so fast calls are not dominated by timer resolution. R is timed inside R with
``system.time`` around the same loop, so process start and reading the CSV are not counted.

The data: follow-up times in whole days (``--times days``, the default: many ties, as
registry dates give), or continuous (``--times continuous``: no ties); about 60% events.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtri

from ilpkit.stats.kaplan_meier import kaplan_meier
from ilpkit.stats.logrank import logrank_test

MIN_RUN_SECONDS = 0.2


def make_data(n: int, seed: int, times: str) -> pd.DataFrame:
    """Three groups with hazards 1, 1.3, 1.6 per year; exponential censoring (mean 2 years)."""
    rng = np.random.default_rng(seed)
    group = rng.integers(0, 3, n)
    t_event = rng.exponential(1.0 / (1.0 + 0.3 * group))
    t_cens = rng.exponential(2.0, n)
    t = np.minimum(t_event, t_cens) * 365.25
    if times == "days":
        t = np.ceil(t)
    return pd.DataFrame(
        {"time": t, "event": (t_event <= t_cens).astype(np.int64), "group": group + 1}
    )


def best_of(fn: Callable[[], Any], repeats: int = 3) -> float:
    """Best of ``repeats`` runs; each run loops until MIN_RUN_SECONDS and reports the mean."""
    fn()  # warm-up (imports, caches)
    best = float("inf")
    for _ in range(repeats):
        calls = 0
        start = time.perf_counter()
        while True:
            fn()
            calls += 1
            elapsed = time.perf_counter() - start
            if elapsed >= MIN_RUN_SECONDS:
                break
        best = min(best, elapsed / calls)
    return best


R_SCRIPT = r"""
suppressPackageStartupMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
timeit <- function(f, min_time = 0.2) {
  f()
  best <- Inf
  for (run in 1:3) {
    calls <- 0
    t0 <- proc.time()[["elapsed"]]
    repeat {
      f()
      calls <- calls + 1
      el <- proc.time()[["elapsed"]] - t0
      if (el >= min_time) break
    }
    best <- min(best, el / calls)
  }
  best
}
km <- timeit(function() survfit(Surv(time, event) ~ 1, data = d, conf.type = "log-log"))
lr <- timeit(function() survdiff(Surv(time, event) ~ group, data = d))
sd <- survdiff(Surv(time, event) ~ group, data = d)
fit <- survfit(Surv(time, event) ~ 1, data = d, conf.type = "log-log")
cat(sprintf('{"km": %.17g, "logrank": %.17g, "chisq": %.17g, "surv_365": %.17g}\n',
            km, lr, sd$chisq, summary(fit, times = 365)$surv))
"""


def run_r(df: pd.DataFrame) -> dict[str, float] | None:
    rscript = shutil.which("Rscript")
    if rscript is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "data.csv"
        script = Path(tmp) / "bench.R"
        df.to_csv(csv, index=False)
        script.write_text(R_SCRIPT)
        out = subprocess.run(
            [rscript, str(script), str(csv)], capture_output=True, text=True, check=False
        )
    if out.returncode != 0:
        print("R failed:", out.stderr.strip().splitlines()[-1:])
        return None
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


@dataclass
class Row:
    task: str
    n: int
    tool: str
    seconds: float | None
    check: float | None = None  # S(365 days) for KM, chi-squared for log-rank


def statsmodels_km(t: np.ndarray, e: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from statsmodels.duration.survfunc import SurvfuncRight

    sf = SurvfuncRight(t, e)
    s = sf.surv_prob
    z = float(ndtri(0.975))
    with np.errstate(divide="ignore", invalid="ignore"):
        se_log = sf.surv_prob_se / s
        lls = np.log(-np.log(s))
        half = z * se_log / np.log(s)
        return s, np.exp(-np.exp(lls - half)), np.exp(-np.exp(lls + half))


def bench_size(n: int, args: argparse.Namespace) -> list[Row]:
    df = make_data(n, seed=20240601 + n, times=args.times)
    t = df["time"].to_numpy()
    e = df["event"].to_numpy()
    g = df["group"].to_numpy()
    rows: list[Row] = []

    km = kaplan_meier(t, e, conf_type="log-log")
    lr = logrank_test(t, e, g)
    s365 = float(km.survival_at([365.0]).surv[0])
    rows.append(Row("KM + CI", n, "ilpkit", best_of(lambda: kaplan_meier(t, e)), s365))
    rows.append(Row("log-rank", n, "ilpkit", best_of(lambda: logrank_test(t, e, g)), lr.chisq))

    if not args.no_libraries:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from lifelines import KaplanMeierFitter
            from lifelines.statistics import multivariate_logrank_test
            from statsmodels.duration.survfunc import SurvfuncRight, survdiff

            ll_km = KaplanMeierFitter().fit(t, e)
            rows.append(
                Row(
                    "KM + CI",
                    n,
                    "lifelines",
                    best_of(lambda: KaplanMeierFitter().fit(t, e)),
                    float(ll_km.predict(365.0)),
                )
            )
            rows.append(
                Row(
                    "KM + CI",
                    n,
                    "statsmodels",
                    best_of(lambda: statsmodels_km(t, e)),
                    float(
                        SurvfuncRight(t, e).surv_prob[
                            np.searchsorted(SurvfuncRight(t, e).surv_times, 365.0, side="right") - 1
                        ]
                    ),
                )
            )
            ll_lr = multivariate_logrank_test(t, g, e)
            rows.append(
                Row(
                    "log-rank",
                    n,
                    "lifelines",
                    best_of(lambda: multivariate_logrank_test(t, g, e)),
                    float(ll_lr.test_statistic),
                )
            )
            rows.append(
                Row(
                    "log-rank",
                    n,
                    "statsmodels",
                    best_of(lambda: survdiff(t, e, g)),
                    float(survdiff(t, e, g)[0]),
                )
            )

    if not args.no_r:
        r = run_r(df)
        if r is not None:
            rows.append(Row("KM + CI", n, "R survival", r["km"], r["surv_365"]))
            rows.append(Row("log-rank", n, "R survival", r["logrank"], r["chisq"]))
    return rows


def fmt(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1.0:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 1_000_000])
    parser.add_argument("--times", choices=["days", "continuous"], default="days")
    parser.add_argument("--no-r", action="store_true", help="skip the R column")
    parser.add_argument("--no-libraries", action="store_true", help="skip lifelines/statsmodels")
    parser.add_argument("--json", type=Path, help="also write the rows to this JSON file")
    args = parser.parse_args()

    rows: list[Row] = []
    for n in args.sizes:
        rows.extend(bench_size(n, args))

    print(f"times: {args.times}; best of 3 runs (each >= {MIN_RUN_SECONDS} s of repeated calls)")
    print("| task | n | tool | time | check: S(365) or chi2 |")
    print("| --- | ---: | --- | ---: | ---: |")
    for r in rows:
        check = "-" if r.check is None else f"{r.check:.10g}"
        print(f"| {r.task} | {r.n:,} | {r.tool} | {fmt(r.seconds)} | {check} |")
    if args.json:
        args.json.write_text(json.dumps([r.__dict__ for r in rows], indent=2, default=float))


if __name__ == "__main__":
    main()
