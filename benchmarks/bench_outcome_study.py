"""Speed of the outcome study's newer statistics against the Cox fit and cumulative incidence
(the existing engines) on the same registry, and against R.

Target: each new statistic on 1,000,000 rows within 2x of the time of the existing Cox /
cumulative-incidence engines and at least as fast as R.

The registry is SYNTHETIC (``ilp synth --seed 7``, SQLite, made once per size in ``--dir``),
loaded once; every task then runs on that frame in this process. Tasks are timed in rounds
(every task once per round, the order alternating) so that a noisy neighbour hits every task
alike; the figure is the median of ``--repeats`` rounds (wall clock, and CPU time of this
process). The references:

* ``Cox fit``: ``fit_cox`` of overall survival per patient, Efron ties, the 6 default terms of
  ``ilp analyze`` (8 columns);
* ``CIF + Gray``: ``cumulative_incidence`` of local recurrence per perfusion (death
  competing) by grade (3 groups).

The landmark comparison by one factor (response, from the 3-month landmark: cumulative
incidence with Gray's test and the Cox model clustered on patient) is one of each, so its ratio
is to the sum of the two references.

R (``Rscript``, survival + cmprsk) is timed inside R (no start-up), one call each, on the same
arrays written to CSV: ``coxph``, ``cuminc``, ``glm(binomial)``, ``table`` + ``prop.trend.test``,
``survfit``, and ``cuminc`` + ``coxph(cluster = patient)`` for the landmark comparison (only up
to ``--r-landmark-max`` rows); ``crr`` only at ``--crr-size`` rows (its time grows faster than
n^2).

Run from the repository root::

    .venv/bin/python benchmarks/bench_outcome_study.py                  # 1e5 and 1e6 perfusions
    .venv/bin/python benchmarks/bench_outcome_study.py --sizes 100000 --json out.json

The JSON (default ``benchmarks/out/bench_outcome_study.json``) holds, per size and task, the
median wall and CPU seconds, their ratio to the slower reference, and R's seconds.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ilpkit.adapters.db.registry_frame import load_registry_frame
from ilpkit.services.unit_of_work import UnitOfWork
from ilpkit.stats import cohort
from ilpkit.stats.analysis import DEFAULT_COX, _recurrence_comparison
from ilpkit.stats.competing_risks import cumulative_incidence
from ilpkit.stats.cox import design_from_frame, fit_cox
from ilpkit.stats.fine_gray import fit_fine_gray
from ilpkit.stats.kaplan_meier import kaplan_meier
from ilpkit.stats.landmark import landmark
from ilpkit.stats.landmark_sections import cause_specific_cox, landmark_recurrence_section
from ilpkit.stats.logistic import fit_logistic
from ilpkit.stats.metastasis import distant_metastasis_section
from ilpkit.stats.tnf_dose import tnf_dose_section
from ilpkit.stats.toxicity import (
    DEFAULT_MODEL_TERMS,
    logistic_model,
    toxicity_data,
    toxicity_section,
)
from ilpkit.stats.trend import prop_trend_test

PERFUSIONS_PER_PATIENT = 1.11
YEARS = (1, 2, 5)
LANDMARK_FACTOR = "landmark LR by response: CIF + Gray + clustered Cox (one factor)"
"""Timed against the sum of the two references (it is one CIF with Gray's test and one Cox fit)."""
FG_TERMS = ("age_years", "tumor_size_cm", "multifocal", "prior_radiotherapy", "leiomyosarcoma")

R_SCRIPT = r"""
suppressPackageStartupMessages({library(survival); library(cmprsk)})
a <- commandArgs(TRUE)
tm <- function(expr) { t0 <- proc.time()[["elapsed"]]; force(expr);
  proc.time()[["elapsed"]] - t0 }
o <- read.csv(a[1]); l <- read.csv(a[2]); g <- read.csv(a[3]); m <- read.csv(a[4])
k <- read.csv(a[6])
xo <- as.matrix(o[, grepl("^x", names(o))])
out <- list()
out$cox <- tm(coxph(Surv(o$time, o$event) ~ xo, ties = "efron"))
out$cif <- tm(cuminc(l$time, l$status, l$grade))
xg <- as.matrix(g[, grepl("^x", names(g))])
out$logistic <- tm(glm(g$y ~ xg, family = binomial))
out$trend <- tm({tab <- table(g$tnf, g$y); prop.trend.test(tab[, 2], rowSums(tab))})
out$metastasis <- tm({cuminc(m$time, m$status);
  summary(survfit(Surv(m$time, m$status != 0) ~ 1, conf.type = "log-log"), times = c(1, 2, 5))})
if (nrow(k) <= as.integer(a[7])) out$landmark_factor <- tm({cuminc(k$time, k$status, k$response);
  coxph(Surv(k$time, k$status == 1) ~ factor(k$response),
        cluster = k$patient, ties = "efron")})
n <- as.integer(a[5])
if (n > 0) {
  xl <- as.matrix(l[seq_len(n), grepl("^x", names(l))])
  out$crr <- tm(crr(l$time[seq_len(n)], l$status[seq_len(n)], xl))
}
cat(jsonlite::toJSON(out, auto_unbox = TRUE, digits = 6))
"""


def _ilp() -> str:
    candidate = Path(sys.executable).parent / "ilp"
    return str(candidate) if candidate.exists() else (shutil.which("ilp") or "ilp")


def registry_file(folder: Path, perfusions: int) -> Path:
    """The SQLite file of the synthetic registry of about ``perfusions`` rows (made once)."""
    db = folder / f"registry-{perfusions}.sqlite3"
    if not db.exists():
        patients = max(1, round(perfusions / PERFUSIONS_PER_PATIENT))
        subprocess.run(
            [_ilp(), "synth", "--patients", str(patients), "--seed", "7", "--db", str(db)],
            check=True,
            capture_output=True,
        )
    return db


def registry(folder: Path, perfusions: int) -> pd.DataFrame:
    """The synthetic registry of about ``perfusions`` rows (made once), as the analysis frame."""
    db = registry_file(folder, perfusions)
    with UnitOfWork(f"sqlite:///{db}", migrate=False) as uow:
        return load_registry_frame(uow.connection)


def tasks(frame: pd.DataFrame) -> tuple[dict[str, Callable[[], Any]], dict[str, pd.DataFrame]]:
    """The timed tasks on one frame, and the arrays R is given."""
    os_data = cohort.overall_survival(frame)
    os_data = os_data.dropna(subset=list(DEFAULT_COX)).reset_index(drop=True)
    x_cox, _, _ = design_from_frame(os_data, DEFAULT_COX)
    os_time = os_data["time_years"].to_numpy(dtype=float)
    os_event = os_data["event"].to_numpy(dtype=int)
    lr = cohort.local_recurrence(frame)
    lr_keep = lr["grade"].notna().to_numpy()
    lr_time = lr["time_years"].to_numpy(dtype=float)
    lr_status = lr["status"].to_numpy(dtype=int)
    lr_grade = lr["grade"].to_numpy(dtype=object)
    lr_fg = lr.dropna(subset=list(FG_TERMS)).reset_index(drop=True)
    x_fg, _, _ = design_from_frame(lr_fg, FG_TERMS)
    fg_time = lr_fg["time_years"].to_numpy(dtype=float)
    fg_status = lr_fg["status"].to_numpy(dtype=int)
    tox = toxicity_data(frame)
    graded = tox[tox["severe"].notna()].dropna(subset=list(DEFAULT_MODEL_TERMS))
    tnf = graded["tnf_dose_group"].to_numpy(dtype=object)
    tnf_levels = sorted(set(tnf))
    x_logit = np.column_stack(
        [
            (tnf == tnf_levels[-1]).astype(float),
            graded["melphalan_mg_per_l"].to_numpy(dtype=float),
            graded["max_leakage_pct"].to_numpy(dtype=float),
            graded["max_tissue_temp_c"].to_numpy(dtype=float),
            (graded["limb"].to_numpy(dtype=object) == "leg").astype(float),
        ]
    )
    y_logit = graded["severe"].to_numpy(dtype=float)
    dm = cohort.distant_metastasis(frame)
    lm = landmark(cohort.local_recurrence(frame), 3.0).data
    lm_patients = cohort.patient_codes(lm)
    lm_response = lm.dropna(subset=["response"])

    def trend() -> Any:
        codes = np.searchsorted(tnf_levels, tnf)
        totals = np.bincount(codes, minlength=len(tnf_levels))
        events = np.bincount(codes, weights=y_logit, minlength=len(tnf_levels))
        return prop_trend_test(events.astype(int), totals)

    def metastasis_core() -> Any:
        t = dm["time_years"].to_numpy(dtype=float)
        s = dm["status"].to_numpy(dtype=int)
        cumulative_incidence(t, s)
        return kaplan_meier(t, (s != 0).astype(int), conf_type="log-log")

    run: dict[str, Callable[[], Any]] = {
        "Cox fit (reference)": lambda: fit_cox(x_cox, os_time, os_event),
        "CIF + Gray (reference)": lambda: cumulative_incidence(
            lr_time[lr_keep], lr_status[lr_keep], lr_grade[lr_keep]
        ),
        "logistic fit, 5 terms (fit_logistic)": lambda: fit_logistic(
            x_logit, y_logit, ["tnf", "melphalan", "leakage", "temperature", "leg"]
        ),
        "logistic model of the section (logistic_model)": lambda: logistic_model(tox),
        "Cochran-Armitage trend (counting included)": trend,
        "toxicity section (toxicity_section)": lambda: toxicity_section(frame),
        "TNF dose section (tnf_dose_section)": lambda: tnf_dose_section(frame, YEARS),
        "landmark LR: CIF + Gray + Cox (landmark_recurrence_section)": lambda: (
            landmark_recurrence_section(frame, YEARS)
        ),
        "metastasis CIF + MFS KM (core)": metastasis_core,
        "metastasis section (distant_metastasis_section)": lambda: distant_metastasis_section(
            frame, YEARS
        ),
        "Fine-Gray, 5 terms (fit_fine_gray)": lambda: fit_fine_gray(x_fg, fg_time, fg_status),
        LANDMARK_FACTOR: lambda: (
            _recurrence_comparison(lm, "response", YEARS),
            cause_specific_cox(lm, "response", "efron", True, lm_patients),
        ),
    }
    r_data = {
        "os": pd.DataFrame(
            {"time": os_time, "event": os_event}
            | {f"x{i}": x_cox[:, i] for i in range(x_cox.shape[1])}
        ),
        "lr": pd.DataFrame(
            {"time": lr_fg["time_years"], "status": fg_status, "grade": lr_fg["grade"]}
            | {f"x{i}": x_fg[:, i] for i in range(x_fg.shape[1])}
        ),
        "logit": pd.DataFrame(
            {"y": y_logit, "tnf": np.searchsorted(tnf_levels, tnf) + 1}
            | {f"x{i}": x_logit[:, i] for i in range(x_logit.shape[1])}
        ),
        "dm": dm[["time_years", "status"]].rename(columns={"time_years": "time"}),
        "landmark": pd.DataFrame(
            {
                "time": lm_response["time_years"],
                "status": lm_response["status"],
                "response": lm_response["response"],
                "patient": lm_patients[lm["response"].notna().to_numpy()],
            }
        ),
    }
    return run, r_data


def time_tasks(run: dict[str, Callable[[], Any]], repeats: int) -> dict[str, tuple[float, float]]:
    """Median wall and CPU seconds of each task over ``repeats`` rounds (after a warm-up)."""
    walls: dict[str, list[float]] = {k: [] for k in run}
    cpus: dict[str, list[float]] = {k: [] for k in run}
    names = list(run)
    for round_ in range(repeats + 1):
        for name in names if round_ % 2 else reversed(names):
            gc.collect()
            t0, c0 = time.perf_counter(), time.process_time()
            run[name]()
            t1, c1 = time.perf_counter(), time.process_time()
            if round_:
                walls[name].append(t1 - t0)
                cpus[name].append(c1 - c0)
    return {k: (statistics.median(walls[k]), statistics.median(cpus[k])) for k in run}


def time_r(
    r_data: dict[str, pd.DataFrame], crr_size: int, landmark_max: int
) -> dict[str, float] | None:
    if shutil.which("Rscript") is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for name in ("os", "lr", "logit", "dm", "landmark"):
            p = Path(tmp) / f"{name}.csv"
            r_data[name].to_csv(p, index=False)
            paths.append(str(p))
        script = Path(tmp) / "b.R"
        script.write_text(R_SCRIPT)
        out = subprocess.run(
            ["Rscript", str(script), *paths[:4], str(crr_size), paths[4], str(landmark_max)],
            capture_output=True,
            text=True,
            check=True,
        )
    return {k: float(v) for k, v in json.loads(out.stdout).items()}


R_OF = {
    "Cox fit (reference)": "cox",
    "CIF + Gray (reference)": "cif",
    "logistic fit, 5 terms (fit_logistic)": "logistic",
    "Cochran-Armitage trend (counting included)": "trend",
    "metastasis CIF + MFS KM (core)": "metastasis",
    LANDMARK_FACTOR: "landmark_factor",
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--dir", type=Path, default=None, help="Keep the registries here.")
    ap.add_argument("--r-sizes", type=int, nargs="*", default=None, help="Default: --sizes.")
    ap.add_argument("--crr-size", type=int, default=2000)
    ap.add_argument(
        "--r-landmark-max",
        type=int,
        default=200_000,
        help="Time R's landmark comparison only up to this many rows (at 1e6 rows R's cuminc by "
        "response with coxph(cluster) had not finished after 14 minutes).",
    )
    ap.add_argument("--json", type=Path, default=Path("benchmarks/out/bench_outcome_study.json"))
    args = ap.parse_args()
    r_sizes = set(args.sizes if args.r_sizes is None else args.r_sizes)
    report: dict[str, Any] = {"load_average_start": os.getloadavg(), "sizes": {}}
    with tempfile.TemporaryDirectory(prefix="ilp-bench-outcome-") as tmp:
        folder = args.dir or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for size in args.sizes:
            frame = registry(folder, size)
            run, r_data = tasks(frame)
            t = time_tasks(run, args.repeats)
            r = (
                time_r(r_data, args.crr_size if size == max(args.sizes) else 0, args.r_landmark_max)
                if size in (r_sizes)
                else None
            )
            cox_w, cox_c = t["Cox fit (reference)"]
            cif_w, cif_c = t["CIF + Gray (reference)"]
            ref_w, ref_c = max(cox_w, cif_w), max(cox_c, cif_c)
            print(f"\n{len(frame):,} perfusions (load average {os.getloadavg()[0]:.1f})")
            print(
                "| task | wall s | CPU s | / slower reference, wall (CPU) | R s | within 2x | "
                "faster than R |"
            )
            print("| --- | ---: | ---: | ---: | ---: | --- | --- |")
            rows = {}
            for name, (w, c) in t.items():
                r_s = None if r is None or name not in R_OF else r.get(R_OF[name])
                ratio_w, ratio_c = w / ref_w, c / ref_c
                if name == LANDMARK_FACTOR:
                    ratio_w, ratio_c = w / (cox_w + cif_w), c / (cox_c + cif_c)
                rows[name] = {
                    "wall_s": w,
                    "cpu_s": c,
                    "ratio_wall": ratio_w,
                    "ratio_cpu": ratio_c,
                    "r_s": r_s,
                }
                print(
                    f"| {name} | {w:.4f} | {c:.4f} | {ratio_w:.2f} ({ratio_c:.2f}) | "
                    f"{'-' if r_s is None else f'{r_s:.3f}'} | "
                    f"{'yes' if min(ratio_w, ratio_c) <= 2 else 'NO'} | "
                    f"{'-' if r_s is None else ('yes' if w <= r_s else 'NO')} |"
                )
            if r is not None and "crr" in r:
                print(f"R crr at {args.crr_size:,} rows: {r['crr']:.2f} s")
            report["sizes"][str(len(frame))] = {"tasks": rows, "r": r}
    report["load_average_end"] = os.getloadavg()
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2))
    print(f"\nwritten {args.json}")


if __name__ == "__main__":
    main()
