"""Benchmark: ``ilp analyze`` against R, whole process, on SQLite and PostgreSQL registries.

Target: ``ilp analyze`` (all endpoints, default subgroup variables and Cox terms) at or below R's
whole-process time for the equivalent analysis of the same data, at 10,000, 100,000 and
1,000,000 perfusions. R (survival + cmprsk) reads the registry exported as Registry CSV v1 with
``read.csv`` and computes: response proportions with exact CIs and chi-squared (Fisher's exact
test where expected counts are small) by 8 subgroup variables; overall survival per patient by
Kaplan-Meier (log-log CIs) overall and per level, reverse Kaplan-Meier follow-up, log-rank per
variable; Cox models (6 terms together and one by one, each with cox.zph); local recurrence
cumulative incidence with Gray's test overall and by the 8 variables; limb salvage per perfusion
and per patient, amputation-free survival; and the sections added since: regional toxicity
(Wieberdink, systemic CTCAE and Clavien-Dindo distributions, severe toxicity by TNF dose,
melphalan per litre, leakage, temperature and limb with chi-squared/Fisher and
``prop.trend.test``, ``glm(binomial)`` with 5 terms), response, toxicity and local recurrence by
TNF dose group, distant metastasis (``cuminc``), metastasis-free and sarcoma-specific survival,
and the 3-month landmark analysis of local recurrence by the 4 post-baseline factors
(``cuminc`` and ``coxph`` with ``cluster(patient_id)``). ilpkit does all of that plus log-rank
tests for trend.

Each command runs in a fresh process (start-up included); the figure is the median of
``--repeat`` runs, taken in turns (every command once per round, R included) so that a noisy
neighbour hits every side alike. The same run
also times the registry load alone, columnar (today's loader) and through pandas ``read_sql``
(the previous loader), in this process, after one warm-up load of each. Usage::

    python benchmarks/bench_analyze.py                       # 1e4, 1e5, 1e6 perfusions
    python benchmarks/bench_analyze.py --sizes 10000 --repeat 5
    python benchmarks/bench_analyze.py --no-postgres

PostgreSQL: the server of ``ILP_BENCH_POSTGRES_URL`` (default: the local server, user postgres,
database test); one scratch database per size is created and dropped.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

OS_ONLY = ["--endpoint", "os", "--by", "grade", "--cox", "age_years,tumor_size_cm"]
"""The narrower analysis of the first comparison (overall survival by grade, two Cox terms)."""
PERFUSIONS_PER_PATIENT = 1.11
"""About how many perfusions ``ilp synth`` gives per patient."""
PG_ADMIN_URL = os.environ.get(
    "ILP_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
R_SCRIPT = r"""
suppressPackageStartupMessages({library(survival); library(cmprsk)})
d <- read.csv(commandArgs(TRUE)[1], na.strings = "", stringsAsFactors = FALSE)
dt <- function(x) as.Date(x)
ilp <- dt(d$ilp_date); lfu <- dt(d$last_followup_date)
d$leiomyosarcoma <- ifelse(d$histology == "leiomyosarcoma", "yes", "no")
d$tumor_size_group <- as.character(cut(d$tumor_size_cm, c(0, 5, 10, 15, Inf),
  labels = c("<=5cm", ">5-10cm", ">10-15cm", ">15cm"), right = TRUE))
d$age_years <- as.numeric(ilp - dt(d$birth_date)) / 365.25
by_vars <- c("multifocal", "prior_radiotherapy", "presentation", "histology",
             "leiomyosarcoma", "grade", "tumor_size_group", "sex")
yrs <- c(1, 2, 5)
# response, per perfusion
ev <- d[!is.na(d$response) & d$response != "NE", ]
ev$obj <- as.integer(ev$response %in% c("CR", "PR"))
for (k in c("CR", "PR", "NC", "PD")) binom.test(sum(ev$response == k), nrow(ev))
binom.test(sum(ev$obj), nrow(ev))
for (v in by_vars) {
  tab <- table(ev[[v]], ev$obj)
  for (lv in rownames(tab)) binom.test(tab[lv, "1"], sum(tab[lv, ]))
  ex <- suppressWarnings(chisq.test(tab, correct = FALSE))
  if (any(ex$expected < 5)) try(fisher.test(tab, simulate.p.value = nrow(tab) > 2))
}
# overall survival, per patient (first perfusion; the file is ordered by patient and date)
o <- d[!duplicated(d$patient_id), ]
o$t <- as.numeric(dt(o$last_followup_date) - dt(o$ilp_date)) / 365.25
o$e <- as.integer(!is.na(o$death_date))
f <- survfit(Surv(t, e) ~ 1, data = o, conf.type = "log-log"); summary(f, times = yrs); print(f)
fu <- survfit(Surv(t, 1 - e) ~ 1, data = o, conf.type = "log-log"); print(fu)
for (v in by_vars) {
  s <- o[!is.na(o[[v]]), ]
  g <- survfit(Surv(t, e) ~ s[[v]], data = s, conf.type = "log-log")
  summary(g, times = yrs, extend = TRUE); print(g)
  survdiff(Surv(t, e) ~ s[[v]], data = s)
}
cox_terms <- c("age_years", "tumor_size_cm", "leiomyosarcoma", "multifocal",
               "prior_radiotherapy", "presentation")
m <- coxph(as.formula(paste("Surv(t, e) ~", paste(cox_terms, collapse = " + "))), data = o)
summary(m); cox.zph(m)
for (v in cox_terms) {
  m1 <- coxph(as.formula(paste("Surv(t, e) ~", v)), data = o); summary(m1); cox.zph(m1)
}
# local recurrence, per perfusion, death competing
has_lr <- !is.na(d$local_recurrence_date)
lt <- (ifelse(has_lr, as.numeric(dt(d$local_recurrence_date)), as.numeric(lfu)) -
  as.numeric(ilp)) / 365.25
ls <- ifelse(has_lr, 1, ifelse(!is.na(d$death_date), 2, 0))
timepoints(cuminc(lt, ls), yrs)
for (v in by_vars) {
  k <- !is.na(d[[v]])
  timepoints(cuminc(lt[k], ls[k], d[[v]][k]), yrs)
}
# limb salvage and amputation-free survival, per perfusion
amp <- !is.na(d$amputation_date)
binom.test(sum(!amp), nrow(d))
pp <- tapply(amp, d$patient_id, any); binom.test(sum(!pp), length(pp))
at <- (ifelse(amp, as.numeric(dt(d$amputation_date)), as.numeric(lfu)) - as.numeric(ilp)) / 365.25
summary(survfit(Surv(at, as.integer(amp | !is.na(d$death_date))) ~ 1, conf.type = "log-log"),
        times = yrs)
# --- the sections added since (toxicity, TNF dose, distant metastasis, landmark) ---
grp <- function(x, cuts, labs, left = FALSE) as.character(cut(x, c(-Inf, cuts, Inf), labs,
  right = !left))
test2 <- function(g, y) { k <- !is.na(g) & !is.na(y); tab <- table(g[k], y[k])
  if (nrow(tab) < 2 || ncol(tab) < 2) return(NULL)
  ex <- suppressWarnings(chisq.test(tab, correct = FALSE))
  if (any(ex$expected < 5)) try(fisher.test(tab, simulate.p.value = nrow(tab) > 2)) else ex }
trend <- function(g, y, levs) { k <- !is.na(g) & !is.na(y)
  x <- tapply(y[k], factor(g[k], levs), sum); n <- tapply(y[k], factor(g[k], levs), length)
  ok <- !is.na(n) & n > 0; if (sum(ok) > 1) prop.trend.test(x[ok], n[ok], which(ok)) }
d$severe <- ifelse(is.na(d$wieberdink_grade), NA, as.integer(d$wieberdink_grade >= 4))
d$tnf_group <- ifelse(is.na(d$tnf_mg), NA, ifelse(d$tnf_mg <= 2, "low", "high"))
d$melph_l <- d$melphalan_mg / d$limb_volume_l
d$melph_group <- grp(d$melph_l, c(10, 13), c("a", "b", "c"))
d$leak_group <- grp(d$max_leakage_pct, c(2, 10), c("a", "b", "c"), left = TRUE)
d$temp_group <- grp(d$max_tissue_temp_c, c(39, 40), c("a", "b", "c"), left = TRUE)
for (v in c("wieberdink_grade", "systemic_toxicity_grade", "complication_clavien_dindo")) {
  tab <- table(d[[v]]); for (k in names(tab)) binom.test(tab[[k]], sum(tab)) }
binom.test(sum(d$severe, na.rm = TRUE), sum(!is.na(d$severe)))
test2(d$tnf_group, d$severe); trend(d$tnf_group, d$severe, c("low", "high"))
for (v in c("melph_group", "leak_group", "temp_group")) {
  test2(d[[v]], d$severe); trend(d[[v]], d$severe, c("a", "b", "c")) }
test2(d$limb, d$severe)
summary(glm(severe ~ tnf_group + melph_l + max_leakage_pct + max_tissue_temp_c + limb,
            family = binomial, data = d))
# TNF dose: response, severe toxicity and local recurrence by dose group
test2(d$tnf_group, ifelse(is.na(d$response) | d$response == "NE", NA,
                          as.integer(d$response %in% c("CR", "PR"))))
test2(d$tnf_group, ifelse(is.na(d$response) | d$response == "NE", NA,
                          as.integer(d$response == "CR")))
k <- !is.na(d$tnf_group); timepoints(cuminc(lt[k], ls[k], d$tnf_group[k]), yrs)
# distant metastasis (per patient, first metastasis over all perfusions, death competing),
# metastasis-free and sarcoma-specific survival
first_dm <- tapply(as.numeric(dt(d$distant_metastasis_date)), d$patient_id, min, na.rm = TRUE)
first_dm[!is.finite(first_dm)] <- NA
o$dm <- first_dm[o$patient_id]
o$dmt <- (ifelse(is.na(o$dm), as.numeric(dt(o$last_followup_date)), o$dm) -
  as.numeric(dt(o$ilp_date))) / 365.25
o$dms <- ifelse(!is.na(o$dm), 1, ifelse(o$e == 1, 2, 0))
timepoints(cuminc(o$dmt, o$dms), yrs)
summary(survfit(Surv(o$dmt, o$dms != 0) ~ 1, conf.type = "log-log"), times = yrs)
cause <- ifelse(o$e == 1, ifelse(o$cause_of_death %in% c("sarcoma", "other"),
  o$cause_of_death, "unknown"), NA)
keep <- is.na(cause) | cause != "unknown"
print(survfit(Surv(o$t[keep], cause[keep] %in% "sarcoma") ~ 1, conf.type = "log-log"))
print(survfit(Surv(o$t, cause %in% c("sarcoma", "unknown")) ~ 1, conf.type = "log-log"))
# landmark at 3 months: local recurrence by the post-baseline factors (CIF + Gray, Cox with
# the variance clustered on the patient)
cut_y <- 3 * 365.25 / 12 / 365.25
lm <- d[lt > cut_y, ]; lm$lt <- lt[lt > cut_y] - cut_y; lm$ls <- ls[lt > cut_y]
res <- (as.numeric(dt(lm$resection_date)) - as.numeric(dt(lm$ilp_date))) <= 3 * 365.25 / 12
res[is.na(res)] <- FALSE
lm$necrosis_group <- ifelse(is.na(lm$pathological_necrosis_pct), NA,
  ifelse(lm$pathological_necrosis_pct > 50, "high", "low"))
for (v in c("resection_margin", "adjuvant_radiotherapy", "necrosis_group"))
  lm[[v]][!res] <- NA
for (v in c("response", "resection_margin", "adjuvant_radiotherapy", "necrosis_group")) {
  k <- !is.na(lm[[v]]) & lm[[v]] != ""
  if (length(unique(lm[[v]][k])) < 2) next
  timepoints(cuminc(lm$lt[k], lm$ls[k], lm[[v]][k]), yrs)
  summary(coxph(Surv(lt, ls == 1) ~ get(v) + cluster(patient_id), data = lm[k, ]))
}
"""


def _ilp() -> str:
    candidate = Path(sys.executable).parent / "ilp"
    return str(candidate) if candidate.exists() else (shutil.which("ilp") or "ilp")


def wall(cmd: list[str]) -> tuple[float, float]:
    """Wall-clock and CPU (user + system) seconds of one run of ``cmd`` (which must succeed)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr[-2000:]}")
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return seconds, cpu


CPU: dict[str, float] = {}
"""Median CPU seconds of each command of the last :func:`medians` call."""


def medians(commands: dict[str, list[str]], repeat: int) -> dict[str, float]:
    """Median wall time of each command over ``repeat`` rounds (one run of each per round);
    the median CPU times go to :data:`CPU`."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    cpus: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(repeat):
        for name, cmd in commands.items():
            w, c = wall(cmd)
            times[name].append(w)
            cpus[name].append(c)
    CPU.clear()
    CPU.update({name: statistics.median(c) for name, c in cpus.items()})
    return {name: statistics.median(t) for name, t in times.items()}


def load_times(url: str, repeat: int) -> tuple[float, float]:
    """Median seconds to load the registry frame: columnar loader, and pandas ``read_sql``."""
    from ilpkit.adapters.db import registry_frame
    from ilpkit.services.unit_of_work import UnitOfWork

    times: dict[str, list[float]] = {"columnar": [], "read_sql": []}
    loaders = {
        "columnar": registry_frame.load_registry_frame,
        "read_sql": registry_frame._read_sql,
    }
    for round_ in range(repeat + 1):  # round 0 warms up: imports, database caches
        order = list(loaders) if round_ % 2 else list(reversed(loaders))
        for name in order:
            with UnitOfWork(url, migrate=False) as uow:
                start = time.perf_counter()
                loaders[name](uow.connection)
                if round_:
                    times[name].append(time.perf_counter() - start)
    return statistics.median(times["columnar"]), statistics.median(times["read_sql"])


def _pg_database(name: str, create: bool) -> str:
    import sqlalchemy as sa

    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        if create:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return sa.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-postgres", action="store_true")
    opts = parser.parse_args()
    ilp = _ilp()
    have_r = shutil.which("Rscript") is not None
    rows = [
        "| perfusions | database | load, read_sql | load, columnar | ilp analyze "
        "| ilp analyze --endpoint os --by grade --cox age_years,tumor_size_cm | R | met "
        "| CPU: ilp analyze | CPU: R | load average |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |",
    ]
    with tempfile.TemporaryDirectory(prefix="ilp-bench-analyze-") as tmp:
        work = Path(tmp)
        script = work / "analysis.R"
        script.write_text(R_SCRIPT)
        for size in opts.sizes:
            patients = max(1, round(size / PERFUSIONS_PER_PATIENT))
            db_file = work / f"registry-{size}.sqlite3"
            csv = work / f"registry-{size}.csv"
            subprocess.run(
                [ilp, "synth", "--patients", str(patients), "--seed", "7", "--db", str(db_file)],
                check=True,
                capture_output=True,
            )
            subprocess.run(
                [ilp, "export", str(csv), "--db", str(db_file)], check=True, capture_output=True
            )
            n_perfusions = sum(1 for _ in csv.open()) - 1
            urls = {"SQLite": f"sqlite:///{db_file}"}
            pg_name = f"ilp_bench_{uuid.uuid4().hex[:8]}"
            if not opts.no_postgres:
                pg_url = urls["PostgreSQL"] = _pg_database(pg_name, create=True)
                subprocess.run(  # the same seed and size give the same registry
                    [ilp, "synth", "--patients", str(patients), "--seed", "7", "--db", pg_url],
                    check=True,
                    capture_output=True,
                )
            try:
                commands: dict[str, list[str]] = {}
                for db_name, url in urls.items():
                    commands[f"{db_name} all"] = [ilp, "analyze", "--json", "--db", url]
                    commands[f"{db_name} os"] = [ilp, "analyze", "--json", *OS_ONLY, "--db", url]
                if have_r:
                    commands["R"] = ["Rscript", str(script), str(csv)]
                t = medians(commands, opts.repeat)
                r_s = t.get("R")
                for db_name, url in urls.items():
                    new, old = load_times(url, opts.repeat)
                    all_s = t[f"{db_name} all"]
                    r_cpu = "-" if r_s is None else f"{CPU['R']:.2f}"
                    met = "-" if r_s is None else ("yes" if all_s <= r_s else "NO")
                    rows.append(
                        f"| {n_perfusions:,} | {db_name} | {old:.2f} | {new:.2f} | {all_s:.2f} "
                        f"| {t[f'{db_name} os']:.2f} | {'-' if r_s is None else f'{r_s:.2f}'} "
                        f"| {met} | {CPU[f'{db_name} all']:.2f} "
                        f"| {r_cpu} "
                        f"| {os.getloadavg()[0]:.1f} |"
                    )
                    print(rows[-1], file=sys.stderr, flush=True)
            finally:
                if not opts.no_postgres:
                    _pg_database(pg_name, create=False)
    print(f"Median of {opts.repeat} runs, seconds (whole process except the load columns)")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
