# Reference values for ilpkit.stats.cox and ilpkit.stats.competing_risks, computed by R.
#
# Run from the repository root:
#     Rscript tests/reference/r_cox_cr.R
# Needs R with survival (>= 3.0; made with 3.5-3), cmprsk (made with 2.2-11) and jsonlite.
#
# It writes the exact analysis data it used to tests/reference/data/cox_*.csv and cr_*.csv
# (17 significant digits, so the Python tests read bit-identical doubles and need no R), then
# re-reads those files, fits the models on what was read back, and writes every number the
# Python tests compare with to tests/reference/r_cox_cr.json (jsonlite, digits = NA, which jsonlite
# caps at 15 significant digits: a rounding of <= 5e-16 relative, far inside the 1e-6 tolerance
# of the tests; R NA -> JSON null).
#
# Public data sets used (all shipped with the survival package):
#   lung     (NCCTG lung cancer; many tied death times)
#   veteran  (VA lung cancer trial; a 4-level factor, celltype)
#   ovarian  (no tied times; n = 26)
#   pbc      (Mayo PBC trial, the 312 randomised patients; status 1 = transplant, 2 = death)
#   colon    (adjuvant colon cancer trial; 3-arm rx factor, 0/1 covariates, heavy ties; also
#             with follow-up rounded up to whole years)
#   mgus2    (MGUS cohort; progression to plasma-cell malignancy vs death)

suppressPackageStartupMessages({
  library(survival)
  library(cmprsk)
  library(jsonlite)
})

out_dir <- file.path("tests", "reference")
data_dir <- file.path(out_dir, "data")
dir.create(data_dir, showWarnings = FALSE, recursive = TRUE)

# Write a data frame with 17 significant digits, then read it back: the models below are fitted
# on exactly what the Python tests will read.
write_exact <- function(df, name) {
  path <- file.path(data_dir, name)
  txt <- df
  for (nm in names(txt)) {
    if (is.numeric(txt[[nm]])) txt[[nm]] <- sprintf("%.17g", txt[[nm]])
    else txt[[nm]] <- as.character(txt[[nm]])
  }
  write.csv(txt, path, row.names = FALSE, quote = TRUE)
  read.csv(path, stringsAsFactors = FALSE)
}

# ---------------------------------------------------------------------------------------------
# Cox data
# ---------------------------------------------------------------------------------------------
lung_d <- na.omit(data.frame(time = lung$time, status = as.integer(lung$status == 2),
                             age = lung$age, sex = lung$sex, ph_ecog = lung$ph.ecog))
lung_d <- write_exact(lung_d, "cox_lung.csv")

veteran_d <- data.frame(time = veteran$time, status = veteran$status, trt = veteran$trt,
                        celltype = as.character(veteran$celltype), karno = veteran$karno,
                        diagtime = veteran$diagtime, age = veteran$age, prior = veteran$prior)
veteran_d <- write_exact(veteran_d, "cox_veteran.csv")
veteran_levels <- levels(veteran$celltype)
veteran_d$celltype <- factor(veteran_d$celltype, levels = veteran_levels)

ovarian_d <- data.frame(time = ovarian$futime, status = ovarian$fustat, age = ovarian$age,
                        ecog_ps = ovarian$ecog.ps, rx = ovarian$rx, resid_ds = ovarian$resid.ds)
ovarian_d <- write_exact(ovarian_d, "cox_ovarian.csv")

pbc312 <- pbc[!is.na(pbc$trt), ]
pbc_d <- data.frame(time = pbc312$time, status = as.integer(pbc312$status == 2),
                    age = pbc312$age, edema = pbc312$edema, log_bili = log(pbc312$bili),
                    log_protime = log(pbc312$protime), albumin = pbc312$albumin)
pbc_d <- write_exact(pbc_d, "cox_pbc.csv")

colon_death <- colon[colon$etype == 2, ]
colon_d <- na.omit(data.frame(time = colon_death$time, status = colon_death$status,
                              rx = as.character(colon_death$rx), sex = colon_death$sex,
                              age = colon_death$age, obstruct = colon_death$obstruct,
                              nodes = colon_death$nodes))
colon_d <- write_exact(colon_d, "cox_colon.csv")
colon_levels <- levels(colon$rx)
colon_d$rx <- factor(colon_d$rx, levels = colon_levels)

# The same, with follow-up in whole years: only a handful of distinct death times, each with many
# tied deaths (exercises ilpkit's segment-sum code path for heavily tied data).
colon_years_d <- colon_d
colon_years_d$time <- ceiling(colon_years_d$time / 365.25)
colon_years_d <- write_exact(colon_years_d, "cox_colon_years.csv")
colon_years_d$rx <- factor(colon_years_d$rx, levels = colon_levels)

# A made-up monotone-likelihood example: x = 1 exactly for the three earliest deaths, so at every
# death time with any x = 1 subject at risk the one who dies has the largest x; the partial
# likelihood increases for ever in beta and the MLE is +infinity.
mono_d <- data.frame(time = c(1, 2, 3, 4, 5, 6, 7, 8, 9, 10),
                     status = c(1, 1, 1, 1, 0, 1, 1, 0, 1, 1),
                     x = c(1, 1, 1, 0, 0, 0, 0, 0, 0, 0),
                     z = c(0.5, -1.2, 0.3, 1.1, -0.4, 0.9, -0.7, 0.2, 1.5, -0.3))
mono_d <- write_exact(mono_d, "cox_monotone.csv")

# ---------------------------------------------------------------------------------------------
# Cox fits
# ---------------------------------------------------------------------------------------------
cox_entry <- function(name, data_file, formula, data, ties, iter_max = 20, zph_transforms = "km",
                      factor_levels = list()) {
  warns <- character(0)
  fit <- withCallingHandlers(
    coxph(formula, data = data, ties = ties, control = coxph.control(iter.max = iter_max),
          x = TRUE, y = TRUE, model = TRUE),
    warning = function(w) {
      warns <<- c(warns, conditionMessage(w))
      invokeRestart("muffleWarning")
    }
  )
  s <- summary(fit)
  cf <- s$coefficients
  ci <- s$conf.int
  p <- length(fit$coefficients)
  lr <- -2 * (fit$loglik[1] - fit$loglik[2])
  assign <- lapply(fit$assign, function(i) as.integer(i))
  zph <- list()
  for (tr in zph_transforms) {
    z <- cox.zph(fit, transform = tr)
    zph[[tr]] <- list(rows = rownames(z$table), chisq = unname(z$table[, "chisq"]),
                      df = unname(z$table[, "df"]), p = unname(z$table[, "p"]))
  }
  list(
    name = name, data_file = data_file, formula = deparse(formula), ties = ties,
    iter_max = iter_max, factor_levels = factor_levels,
    columns = I(names(fit$coefficients)), terms = I(names(fit$assign)),
    assign = lapply(unname(assign), I),
    n = fit$n, nevent = fit$nevent, iter = fit$iter, warnings = I(warns),
    coef = I(unname(cf[, "coef"])), se = I(unname(cf[, "se(coef)"])),
    exp_coef = I(unname(cf[, "exp(coef)"])), z = I(unname(cf[, "z"])),
    p = I(unname(cf[, "Pr(>|z|)"])),
    lower95 = I(unname(ci[, "lower .95"])), upper95 = I(unname(ci[, "upper .95"])),
    var = unname(fit$var), means = I(unname(fit$means)),
    loglik = I(unname(fit$loglik)),
    lr_test = list(statistic = lr, df = p, p = pchisq(lr, p, lower.tail = FALSE)),
    wald_test = list(statistic = unname(fit$wald.test), df = p,
                     p = pchisq(unname(fit$wald.test), p, lower.tail = FALSE)),
    score_test = list(statistic = unname(fit$score), df = p,
                      p = pchisq(unname(fit$score), p, lower.tail = FALSE)),
    zph = zph
  )
}

cox_runs <- list()
add_cox <- function(...) cox_runs[[length(cox_runs) + 1]] <<- cox_entry(...)
all_tr <- c("km", "rank", "identity", "log")
for (ties in c("efron", "breslow")) {
  add_cox("lung_uni", "cox_lung.csv", Surv(time, status) ~ sex, lung_d, ties)
  add_cox("lung_multi", "cox_lung.csv", Surv(time, status) ~ age + sex + ph_ecog, lung_d, ties,
          zph_transforms = all_tr)
  add_cox("veteran_uni", "cox_veteran.csv", Surv(time, status) ~ karno, veteran_d, ties)
  add_cox("veteran_multi", "cox_veteran.csv",
          Surv(time, status) ~ trt + celltype + karno + diagtime + age + prior, veteran_d, ties,
          factor_levels = list(celltype = veteran_levels))
  add_cox("ovarian_uni", "cox_ovarian.csv", Surv(time, status) ~ rx, ovarian_d, ties)
  add_cox("ovarian_multi", "cox_ovarian.csv", Surv(time, status) ~ age + ecog_ps + rx + resid_ds,
          ovarian_d, ties, zph_transforms = all_tr)
  add_cox("pbc_uni", "cox_pbc.csv", Surv(time, status) ~ log_bili, pbc_d, ties)
  add_cox("pbc_multi", "cox_pbc.csv",
          Surv(time, status) ~ age + edema + log_bili + log_protime + albumin, pbc_d, ties)
  add_cox("colon_multi", "cox_colon.csv", Surv(time, status) ~ rx + sex + age + obstruct + nodes,
          colon_d, ties, factor_levels = list(rx = colon_levels))
  add_cox("colon_years_multi", "cox_colon_years.csv",
          Surv(time, status) ~ rx + sex + age + obstruct + nodes, colon_years_d, ties,
          factor_levels = list(rx = colon_levels), zph_transforms = all_tr)
}
# Iteration limit reached: R warns and returns the last accepted iterate. (survival 3.5-3 then
# reports diag(1 / I_jj) as fit$var -- coxfit6.c inverts the information matrix without first
# decomposing it -- which tests/unit/stats/test_cox.py uses to check ilpkit's full inverse.)
add_cox("lung_multi_iter2", "cox_lung.csv", Surv(time, status) ~ age + sex + ph_ecog, lung_d,
        "efron", iter_max = 2)
add_cox("pbc_multi_iter1", "cox_pbc.csv",
        Surv(time, status) ~ age + edema + log_bili + log_protime + albumin, pbc_d, "breslow",
        iter_max = 1)
# Monotone likelihood: R warns that a coefficient may be infinite.
add_cox("monotone", "cox_monotone.csv", Surv(time, status) ~ x + z, mono_d, "efron",
        zph_transforms = character(0))

# ---------------------------------------------------------------------------------------------
# Competing-risks data
# ---------------------------------------------------------------------------------------------
cr_pbc <- data.frame(time = pbc312$time, status = pbc312$status, trt = pbc312$trt,
                     sex = as.character(pbc312$sex))
cr_pbc <- write_exact(cr_pbc, "cr_pbc.csv")

etime <- with(mgus2, ifelse(pstat == 0, futime, ptime))
event <- with(mgus2, ifelse(pstat == 0, 2 * death, 1))
cr_mgus2 <- data.frame(time = etime, status = event, sex = as.character(mgus2$sex))
cr_mgus2 <- write_exact(cr_mgus2, "cr_mgus2.csv")

# colon: first event, recurrence (1) or death without recurrence (2)
rec <- colon[colon$etype == 1, ]
dth <- colon[colon$etype == 2, ]
stopifnot(all(rec$id == dth$id))
cr_colon <- data.frame(
  time = ifelse(rec$status == 1, rec$time, dth$time),
  status = ifelse(rec$status == 1, 1L, ifelse(dth$status == 1, 2L, 0L)),
  rx = as.character(rec$rx), sex = rec$sex
)
cr_colon <- write_exact(cr_colon, "cr_colon.csv")

# A small made-up data set for the edge cases of cinc/crstm: tied events of both causes, groups
# whose all-cause Kaplan-Meier reaches 0 (the last subject fails; in B two subjects fail at the last
# time, one of each cause), a group (C) that empties early, and a stratum lacking group C.
cr_edge <- data.frame(
  time = c(1, 2, 2, 3, 3, 3, 4, 5, 5, 6, 1, 1, 2, 3, 4, 4, 5, 6, 7, 7, 1, 2, 3),
  status = c(1, 2, 1, 1, 1, 2, 0, 1, 2, 1, 2, 1, 1, 0, 1, 1, 2, 0, 1, 2, 1, 1, 2),
  group = c(rep("A", 10), rep("B", 10), rep("C", 3)),
  stratum = c(rep(1, 5), rep(2, 5), rep(1, 3), rep(2, 7), rep(2, 3))
)
cr_edge <- write_exact(cr_edge, "cr_edge.csv")

cr_entry <- function(name, data_file, d, group = NULL, strata = NULL, rho = 0, times = NULL) {
  args <- list(ftime = d$time, fstatus = d$status, rho = rho)
  if (!is.null(group)) args$group <- d[[group]]
  if (!is.null(strata)) args$strata <- d[[strata]]
  ci <- do.call(cuminc, args)
  tests <- NULL
  if (!is.null(ci$Tests)) {
    tt <- ci$Tests
    tests <- list(cause = I(rownames(tt)), stat = I(unname(tt[, "stat"])),
                  pv = I(unname(tt[, "pv"])), df = I(unname(tt[, "df"])),
                  p_upper_tail = I(pchisq(unname(tt[, "stat"]), unname(tt[, "df"]),
                                          lower.tail = FALSE)))
  }
  curves <- list()
  for (nm in names(ci)) {
    if (nm == "Tests") next
    cc <- ci[[nm]]
    curves[[length(curves) + 1]] <- list(name = nm, time = cc$time, est = cc$est, var = cc$var)
  }
  tp <- NULL
  if (!is.null(times)) {
    tpo <- timepoints(ci, times)
    z <- qnorm(0.975)
    est <- tpo$est
    se <- sqrt(tpo$var)
    # log(-log) transform (Choudhury 2002; Pintilie 2006): F^exp(+-z se / (F log F))
    lower <- est^exp(-z * se / (est * log(est)))
    upper <- est^exp(z * se / (est * log(est)))
    tp <- list(rows = I(rownames(est)), times = I(as.numeric(colnames(est))),
               est = unname(est), var = unname(tpo$var),
               lower95 = unname(lower), upper95 = unname(upper))
  }
  list(name = name, data_file = data_file, group = group, strata = strata, rho = rho,
       curves = curves, tests = tests, timepoints = tp)
}

cr_runs <- list(
  cr_entry("pbc_trt", "cr_pbc.csv", cr_pbc, group = "trt",
           times = c(0, 365, 1000, 1826.25, 3650, 4795, 6000)),
  cr_entry("pbc_trt_strata_sex", "cr_pbc.csv", cr_pbc, group = "trt", strata = "sex"),
  cr_entry("pbc_nogroup", "cr_pbc.csv", cr_pbc, times = c(100, 1000, 2000, 4000)),
  cr_entry("pbc_trt_rho1", "cr_pbc.csv", cr_pbc, group = "trt", rho = 1),
  cr_entry("mgus2_sex", "cr_mgus2.csv", cr_mgus2, group = "sex",
           times = c(12, 60, 120, 240, 360, 424)),
  cr_entry("colon_rx", "cr_colon.csv", cr_colon, group = "rx",
           times = c(30, 365, 730, 1825, 3000)),
  cr_entry("colon_rx_strata_sex", "cr_colon.csv", cr_colon, group = "rx", strata = "sex"),
  cr_entry("colon_rx_rho_half", "cr_colon.csv", cr_colon, group = "rx", rho = 0.5),
  cr_entry("edge_group", "cr_edge.csv", cr_edge, group = "group",
           times = c(-1, 0, 0.5, 1, 2.5, 3, 6, 6.5, 7, 8)),
  cr_entry("edge_group_strata", "cr_edge.csv", cr_edge, group = "group", strata = "stratum"),
  cr_entry("edge_group_rho2", "cr_edge.csv", cr_edge, group = "group", rho = 2)
)

ref <- list(
  generated_by = "tests/reference/r_cox_cr.R",
  r_version = R.version.string,
  survival_version = as.character(packageVersion("survival")),
  cmprsk_version = as.character(packageVersion("cmprsk")),
  cox = cox_runs,
  cuminc = cr_runs
)
write_json(ref, file.path(out_dir, "r_cox_cr.json"), digits = NA, auto_unbox = TRUE,
           na = "null", pretty = FALSE)
cat("wrote", file.path(out_dir, "r_cox_cr.json"), "\n")
