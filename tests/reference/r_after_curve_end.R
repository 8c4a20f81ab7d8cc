# Reference values for survival and cumulative incidence after a curve has ended
# (ilpkit.stats.analysis: S(t) = 0 once every patient has died; unknown otherwise).
#
# Run from the repository root:
#   Rscript tests/reference/r_after_curve_end.R
# Writes tests/reference/r_after_curve_end.json, which
# tests/unit/stats/test_analysis_degenerate.py reads; the Python tests need no R.

suppressPackageStartupMessages({
  library(survival)
  library(cmprsk)
  library(jsonlite)
})

out_file <- file.path("tests", "reference", "r_after_curve_end.json")
at <- c(1, 2, 5)

km <- function(time, event) {
  fit <- survfit(Surv(time, event) ~ 1, conf.type = "log-log")
  s <- summary(fit, times = at, extend = TRUE)
  list(time = time, event = event, at = at, surv = s$surv, lower = s$lower, upper = s$upper,
       n_risk = s$n.risk)
}

cif <- function(time, status) {
  ci <- cuminc(time, status, cencode = 0)
  tp <- timepoints(ci, at)
  last <- timepoints(ci, max(time))  # the final value, which ilpkit keeps when all is known
  list(time = time, status = status, at = at, estimate = unname(tp$est["1 1", ]),
       variance = unname(tp$var["1 1", ]), last_time = max(time),
       last_estimate = unname(last$est["1 1", 1]), last_variance = unname(last$var["1 1", 1]))
}

out <- list(
  r_version = R.version.string,
  survival_version = as.character(packageVersion("survival")),
  cmprsk_version = as.character(packageVersion("cmprsk")),
  # every patient died before 2 years: S(2) = S(5) = 0, limits NA
  km_all_dead = km(c(0.2, 0.5, 0.9, 1.3, 1.7), c(1, 1, 1, 1, 1)),
  # last patient censored at 1.7: R carries 0.2667 forward (extend = TRUE); ilpkit: unknown
  km_censored = km(c(0.2, 0.5, 0.9, 1.3, 1.7), c(1, 0, 1, 1, 0)),
  # every outcome known (LR or death) by 1.8 years; timepoints is NA after 1.8
  cif_complete = cif(c(0.5, 1.0, 1.5, 1.8), c(1, 2, 1, 2))
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null", pretty = TRUE), out_file)
