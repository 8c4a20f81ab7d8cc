"""Speed of ilpkit's Cox model and cumulative incidence against lifelines, statsmodels and R.

Run from the repository root (R with survival and cmprsk must be on PATH for the R column)::

    .venv/bin/python benchmarks/bench_cox_cr.py                 # n = 1e3 and 1e6
    .venv/bin/python benchmarks/bench_cox_cr.py --sizes 1000    # quick
    .venv/bin/python benchmarks/bench_cox_cr.py --times continuous   # no tied times

What is timed (same data for every tool, written to a CSV for R):

* Cox: Efron ties, 5 covariates (two normal, one 0/1, one uniform, one 0/1/2); ilpkit
  ``fit_cox`` (estimates, SEs, CIs, LR/Wald/score tests), lifelines ``CoxPHFitter.fit`` (Efron
  only), statsmodels ``PHReg(ties="efron").fit``, R ``coxph(ties = "efron")``.
* Harrell's C of that Cox model: ilpkit ``cox_concordance`` (C and its SE), R
  ``concordance(fit)`` (the model fit is not timed).
* Cox with a robust variance clustered on patient (two rows per patient): ilpkit
  ``fit_cox(..., cluster=)``, R ``coxph(..., cluster = id)`` (R skipped above n = 200,000: it
  takes about 33 s per fit at n = 1e5).
* Cochran-Armitage trend test of the event proportion over the three levels of ``x5`` grouped
  from the rows (counting included): ilpkit ``prop_trend_test``, R ``prop.trend.test``.
* Cumulative incidence: two causes, two groups; ilpkit ``cumulative_incidence`` (estimates,
  variances and Gray's test), R ``cmprsk::cuminc`` (the same), statsmodels
  ``CumIncidenceRight`` per group (estimates and SEs; no test), lifelines
  ``AalenJohansenFitter`` per group and cause (estimates; no test; it jitters tied times).

Times are the best of 3 runs (each run repeats a fast call until it has taken >= 0.2 s and
reports the mean); R is timed inside R, so process start and CSV reading are not counted.
Calls that take more than ``--slow-limit`` seconds are run once. lifelines'
``AalenJohansenFitter`` is skipped at n >= 1e6 (about a minute per run: 4.6 s at n = 1e5).

The data: follow-up times are whole days (``--times days``, the default: many ties, as dates in
a registry give) or continuous (``--times continuous``: no ties).
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import subprocess
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ilpkit.stats.competing_risks import cumulative_incidence
from ilpkit.stats.cox import cox_concordance, fit_cox
from ilpkit.stats.trend import prop_trend_test

COVARIATES = ["x1", "x2", "x3", "x4", "x5"]
LIFELINES_AJ_MAX_N = 200_000


def make_cox_data(n: int, seed: int, times: str) -> pd.DataFrame:
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
    df = pd.DataFrame(x, columns=COVARIATES)
    df.insert(0, "event", (t_event <= t_cens).astype(int))
    df.insert(0, "time", t)
    return df


def make_cr_data(n: int, seed: int, times: str) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    group = rng.integers(1, 3, n)
    t1 = rng.exponential(5.0 / (1.0 + 0.3 * (group - 1)))
    t2 = rng.exponential(8.0, n)
    tc = rng.exponential(10.0, n)
    t = np.minimum(np.minimum(t1, t2), tc)
    status = np.where(t == tc, 0, np.where(t == t1, 1, 2))
    if times == "days":
        t = np.ceil(t * 365.0)
    return pd.DataFrame({"time": t, "status": status, "group": group})


def best_of(fn: Callable[[], Any], slow_limit: float, repeats: int = 3) -> tuple[float, int]:
    """Seconds per call (best of ``repeats``) and the number of runs actually made."""
    t0 = time.perf_counter()
    fn()
    first = time.perf_counter() - t0
    if first > slow_limit:
        return first, 1
    inner = max(1, math.ceil(0.2 / max(first, 1e-6)))
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        best = min(best, (time.perf_counter() - t0) / inner)
    return best, repeats


R_SCRIPT = r"""
suppressPackageStartupMessages({library(survival); library(cmprsk)})
args <- commandArgs(trailingOnly = TRUE)
cox <- read.csv(args[1]); cr <- read.csv(args[2]); n <- nrow(cox)
bench <- function(f) {
  t0 <- proc.time()[["elapsed"]]; f(); first <- proc.time()[["elapsed"]] - t0
  inner <- max(1, ceiling(0.2 / max(first, 1e-3)))
  best <- Inf
  for (i in 1:3) {
    t0 <- proc.time()[["elapsed"]]
    for (j in seq_len(inner)) f()
    best <- min(best, (proc.time()[["elapsed"]] - t0) / inner)
  }
  best
}
fit <- NULL
t_cox <- bench(function() fit <<- coxph(Surv(time, event) ~ x1 + x2 + x3 + x4 + x5, data = cox,
                                          ties = "efron"))
cc <- NULL
t_conc <- bench(function() cc <<- concordance(fit))
cox$id <- (seq_len(n) - 1) %/% 2
rfit <- NULL
t_robust <- NA
if (n <= 200000) {  # R's coxph(cluster =) takes about 33 s at n = 1e5
  t_robust <- bench(function() rfit <<- coxph(Surv(time, event) ~ x1 + x2 + x3 + x4 + x5,
                                              data = cox, ties = "efron", cluster = id))
}
tr <- NULL
t_trend <- bench(function() {
  tab <- table(factor(cox$x5, levels = 0:2), cox$event)
  tr <<- prop.trend.test(tab[, 2], rowSums(tab))
})
ci <- NULL
t_cr <- bench(function() ci <<- cuminc(cr$time, cr$status, cr$group))
cat("RESULT", jsonlite::toJSON(list(cox = t_cox, cuminc = t_cr, coef = unname(coef(fit)),
    gray = unname(ci$Tests[, "stat"]), concordance = t_conc, c = unname(cc$concordance),
    robust = t_robust, robust_se = if (is.null(rfit)) NA else unname(sqrt(diag(rfit$var))),
    trend = t_trend,
    trend_stat = unname(tr$statistic)), digits = NA, auto_unbox = TRUE), "\n")
"""


def run_r(cox: pd.DataFrame, cr: pd.DataFrame) -> dict[str, Any] | None:
    if shutil.which("Rscript") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        cox_csv = Path(tmp) / "cox.csv"
        cr_csv = Path(tmp) / "cr.csv"
        script = Path(tmp) / "bench.R"
        cox.to_csv(cox_csv, index=False, float_format="%.17g")
        cr.to_csv(cr_csv, index=False, float_format="%.17g")
        script.write_text(R_SCRIPT)
        out = subprocess.run(
            ["Rscript", str(script), str(cox_csv), str(cr_csv)],
            capture_output=True,
            text=True,
            check=True,
        )
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            result: dict[str, Any] = json.loads(line[len("RESULT ") :])
            return result
    raise RuntimeError(f"R printed no result:\n{out.stdout}\n{out.stderr}")


def fmt(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 1.0:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


Row = tuple[str, int, str, float | None, str]
COX = "Cox (Efron, 5 covariates)"
CIF = "cum. incidence + Gray"
CONC = "Harrell's C + SE of the Cox model"
ROBUST = "Cox, robust SE clustered (2 rows/patient)"
TREND = "Cochran-Armitage trend (3 groups)"


def bench_size(n: int, args: argparse.Namespace) -> list[Row]:
    """Every tool at one size."""
    rows: list[Row] = []
    cox = make_cox_data(n, seed=20240601, times=args.times)
    cr = make_cr_data(n, seed=20240602, times=args.times)
    x = cox[COVARIATES].to_numpy()
    t = cox["time"].to_numpy()
    e = cox["event"].to_numpy()
    cr_time = cr["time"].to_numpy()
    cr_status = cr["status"].to_numpy()
    cr_group = cr["group"].to_numpy()

    ours_fit = fit_cox(x, t, e, names=COVARIATES)
    sec, runs = best_of(lambda: fit_cox(x, t, e, names=COVARIATES), args.slow_limit)
    rows.append((COX, n, "ilpkit", sec, f"best of {runs}"))
    ours_c = cox_concordance(ours_fit)
    sec, runs = best_of(lambda: cox_concordance(ours_fit), args.slow_limit)
    rows.append((CONC, n, "ilpkit", sec, f"best of {runs}"))
    ids = np.arange(n) // 2
    ours_robust = fit_cox(x, t, e, names=COVARIATES, cluster=ids)
    sec, runs = best_of(lambda: fit_cox(x, t, e, names=COVARIATES, cluster=ids), args.slow_limit)
    rows.append((ROBUST, n, "ilpkit", sec, f"best of {runs}"))
    x5 = x[:, 4].astype(np.intp)

    def trend() -> Any:
        events = np.bincount(x5, weights=e, minlength=3)
        totals = np.bincount(x5, minlength=3)
        return prop_trend_test(events.astype(int), totals)

    ours_trend = trend()
    sec, runs = best_of(trend, args.slow_limit)
    rows.append((TREND, n, "ilpkit", sec, f"best of {runs}"))
    ours_cr = cumulative_incidence(cr_time, cr_status, cr_group)
    sec, runs = best_of(lambda: cumulative_incidence(cr_time, cr_status, cr_group), args.slow_limit)
    rows.append((CIF, n, "ilpkit", sec, f"best of {runs}"))

    if not args.no_libraries:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from lifelines import AalenJohansenFitter, CoxPHFitter
            from statsmodels.duration.api import CumIncidenceRight, PHReg

            sec, runs = best_of(lambda: CoxPHFitter().fit(cox, "time", "event"), args.slow_limit)
            rows.append((COX, n, "lifelines", sec, f"best of {runs}"))
            sec, runs = best_of(lambda: PHReg(t, x, status=e, ties="efron").fit(), args.slow_limit)
            rows.append((COX, n, "statsmodels", sec, f"best of {runs}"))

            groups = [cr[cr["group"] == g] for g in (1, 2)]

            def sm_cif() -> None:
                for d in groups:
                    CumIncidenceRight(d["time"].to_numpy(), d["status"].to_numpy())

            sec, runs = best_of(sm_cif, args.slow_limit)
            rows.append((CIF, n, "statsmodels", sec, f"CIF + SE only (no test); best of {runs}"))

            if n <= LIFELINES_AJ_MAX_N:

                def ll_cif() -> None:
                    for d in groups:
                        for cause in (1, 2):
                            AalenJohansenFitter(seed=1).fit(
                                d["time"], d["status"], event_of_interest=cause
                            )

                sec, runs = best_of(ll_cif, args.slow_limit)
                rows.append((CIF, n, "lifelines", sec, f"CIF only (jittered); best of {runs}"))
            else:
                rows.append((CIF, n, "lifelines", None, "skipped: ~1 min per run"))

    if not args.no_r:
        r = run_r(cox, cr)
        if r is None:
            rows.append((COX, n, "R", None, "Rscript not found"))
        else:
            d_coef = float(np.max(np.abs(np.asarray(r["coef"]) - ours_fit.coef)))
            d_gray = max(
                abs(a - b.statistic) / abs(a) for a, b in zip(r["gray"], ours_cr.tests, strict=True)
            )
            rows.append(
                (COX, n, "R survival", r["cox"], f"max abs coef diff vs ilpkit {d_coef:.1e}")
            )
            rows.append(
                (CIF, n, "R cmprsk", r["cuminc"], f"max rel. Gray stat diff vs ilpkit {d_gray:.1e}")
            )
            d_c = abs(r["c"] - ours_c.concordance)
            rows.append((CONC, n, "R survival", r["concordance"], f"C diff vs ilpkit {d_c:.1e}"))
            if r["robust"] is None:
                rows.append((ROBUST, n, "R survival", None, "skipped: ~33 s per run at n = 1e5"))
            else:
                d_rse = float(np.max(np.abs(np.asarray(r["robust_se"]) / ours_robust.se - 1)))
                rows.append(
                    (ROBUST, n, "R survival", r["robust"], f"max rel. robust SE diff {d_rse:.1e}")
                )
            d_tr = abs(r["trend_stat"] / (ours_trend.statistic or math.nan) - 1)
            rows.append((TREND, n, "R stats", r["trend"], f"rel. statistic diff {d_tr:.1e}"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 1_000_000])
    parser.add_argument("--times", choices=["days", "continuous"], default="days")
    parser.add_argument("--slow-limit", type=float, default=5.0)
    parser.add_argument("--no-r", action="store_true")
    parser.add_argument("--no-libraries", action="store_true", help="skip lifelines/statsmodels")
    args = parser.parse_args()

    rows: list[Row] = []
    for n in args.sizes:
        rows.extend(bench_size(n, args))

    ours = {(task, n): sec for task, n, tool, sec, _ in rows if tool == "ilpkit"}
    print(f"\nfollow-up times: {args.times}\n")
    print("| task | n | tool | time | / ilpkit | note |")
    print("|---|---:|---|---:|---:|---|")
    for task, n, tool, sec, note in sorted(rows, key=lambda r: (r[0], r[1])):
        base = ours[(task, n)]
        ratio = "" if sec is None or base is None else f"{sec / base:.1f}"
        print(f"| {task} | {n:,} | {tool} | {fmt(sec)} | {ratio} | {note} |")


if __name__ == "__main__":
    main()
