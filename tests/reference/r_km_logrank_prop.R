# Reference values for ilpkit.stats.{kaplan_meier, logrank, proportions}.
#
# Run from the repository root:
#   Rscript tests/reference/r_km_logrank_prop.R
# Writes tests/reference/r_km_logrank_prop.json (inputs and results, full precision), which
# tests/unit/stats/test_{kaplan_meier,logrank,proportions}.py read; the Python tests need no R.
#
# Produced with R 4.2.2, survival 3.5-3, jsonlite 1.8.4. Datasets: survival::lung, veteran,
# ovarian, pbc, colon (public, shipped with R) plus small hand-made examples.
# Conventions: event = 1 for the event of interest, 0 for censored. conf.type is ALWAYS given
# explicitly (R's default is "log", ilpkit's is "log-log").

suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
})

out_file <- file.path("tests", "reference", "r_km_logrank_prop.json")

# ---------------------------------------------------------------------------- input data
lung_d <- with(survival::lung, data.frame(
  time = time, event = as.integer(status == 2), sex = sex, ph_ecog = ph.ecog
))
veteran_d <- with(survival::veteran, data.frame(
  time = time, event = as.integer(status), trt = trt,
  celltype = as.character(celltype), prior = prior
))
ovarian_d <- with(survival::ovarian, data.frame(
  time = futime, event = as.integer(fustat), rx = rx, resid_ds = resid.ds
))
pbc_d <- with(survival::pbc, data.frame(
  time = time, event = as.integer(status == 2), trt = trt, stage = stage,
  edema = edema, sex = as.character(sex)
))
colon_d <- with(subset(survival::colon, etype == 2), data.frame(
  time = time, event = as.integer(status), rx = as.character(rx), sex = sex,
  differ = differ
))
# hand-made: survival exactly 0.5 over an interval, and at the end of follow-up
flat_mid <- data.frame(time = c(1, 2, 3, 4), event = c(1, 1, 1, 1))
flat_end <- data.frame(time = c(1, 2, 3, 4), event = c(1, 1, 0, 0))
# hand-made: times equal up to floating-point error (merged by Surv's timefix / aeqSurv)
near_ties <- data.frame(
  time = c(1, 1 + 1e-10, 2, 3 - 1e-12, 3, 4, 5, 5 + 1e-9),
  event = c(1, 0, 1, 1, 1, 0, 1, 1)
)

near_ties_group <- transform(near_ties, grp = c(1, 2, 1, 2, 1, 2, 1, 2))
# hand-made edges: events and censorings at time 0; no events at all
zero_time <- data.frame(time = c(0, 0, 1, 2, 2, 3, 5), event = c(1, 0, 1, 0, 1, 0, 1))
all_censored <- data.frame(time = c(2, 3, 3, 7), event = c(0, 0, 0, 0))

datasets <- list(
  lung = lung_d, veteran = veteran_d, ovarian = ovarian_d, pbc = pbc_d, colon = colon_d,
  flat_mid = flat_mid, flat_end = flat_end, near_ties = near_ties,
  zero_time = zero_time, all_censored = all_censored
)
km_datasets <- names(datasets)
datasets$near_ties_group <- near_ties_group
# factor levels (group order) used by survdiff
levels_of <- list(
  veteran_celltype = levels(survival::veteran$celltype),
  colon_rx = levels(survival::colon$rx)
)

conf_types <- c("log-log", "log", "plain")

# ---------------------------------------------------------------------------- Kaplan-Meier
km_fit <- function(d, ct, reverse = FALSE) {
  if (reverse) {
    survfit(Surv(time, 1 - event) ~ 1, data = d, conf.type = ct)
  } else {
    survfit(Surv(time, event) ~ 1, data = d, conf.type = ct)
  }
}

km_curve <- function(fit) {
  list(
    time = fit$time, n_risk = fit$n.risk, n_event = fit$n.event, n_censor = fit$n.censor,
    surv = fit$surv,
    std_err_log = fit$std.err,                         # SE of log S (R's fit$std.err)
    std_err = summary(fit, censored = TRUE)$std.err,   # SE of S (Greenwood)
    lower = fit$lower, upper = fit$upper
  )
}

km_times <- list(
  lung = c(0, 30, 90, 182.5, 365, 730, 1000, 1022, 1100),
  veteran = c(-1, 0, 10, 30, 100, 365, 999, 1000),
  ovarian = c(100, 365, 730, 1000, 1227, 1500),
  pbc = c(365.25, 2 * 365.25, 5 * 365.25, 10 * 365.25, 4795, 5000),
  colon = c(365, 1826, 3000, 3329, 4000),
  flat_mid = c(0.5, 2, 2.5, 4, 5),
  flat_end = c(2, 3, 4, 10),
  near_ties = c(1, 1 + 1e-10, 3, 5),
  zero_time = c(0, 0.5, 2, 5),
  all_censored = c(0, 3, 7, 8)
)

km <- list()
surv_at <- list()
quantiles <- list()
reverse <- list()
for (nm in km_datasets) {
  d <- datasets[[nm]]
  for (ct in conf_types) {
    fit <- km_fit(d, ct)
    km[[length(km) + 1]] <- c(list(dataset = nm, conf_type = ct), km_curve(fit))
    for (ext in c(FALSE, TRUE)) {
      s <- summary(fit, times = km_times[[nm]], extend = ext)
      surv_at[[length(surv_at) + 1]] <- list(
        dataset = nm, conf_type = ct, extend = ext, times = km_times[[nm]],
        time = s$time, n_risk = s$n.risk, n_event = s$n.event, n_censor = s$n.censor,
        surv = s$surv, std_err = s$std.err, lower = s$lower, upper = s$upper
      )
    }
    probs <- c(0.25, 0.5, 0.75)
    q <- quantile(fit, probs = probs)
    tab <- summary(fit)$table
    quantiles[[length(quantiles) + 1]] <- list(
      dataset = nm, conf_type = ct, probs = probs,
      quantile = unname(q$quantile), lower = unname(q$lower), upper = unname(q$upper),
      print_median = unname(tab["median"]),
      print_lcl = unname(tab[grep("LCL", names(tab))]),
      print_ucl = unname(tab[grep("UCL", names(tab))])
    )
    rfit <- km_fit(d, ct, reverse = TRUE)
    rq <- quantile(rfit, probs = 0.5)
    reverse[[length(reverse) + 1]] <- list(
      dataset = nm, conf_type = ct,
      median = unname(rq$quantile), lower = unname(rq$lower), upper = unname(rq$upper),
      curve = km_curve(rfit)
    )
  }
}
# a 90% interval once, to check conf_level is honoured
fit90 <- survfit(Surv(time, event) ~ 1, data = lung_d, conf.type = "log-log", conf.int = 0.9)
km[[length(km) + 1]] <- c(list(dataset = "lung", conf_type = "log-log", conf_level = 0.9),
                          km_curve(fit90))

# ---------------------------------------------------------------------------- log-rank
# trend statistic from survdiff's obs / exp / var: (w'(O-E))^2 / (w'Vw), 1 df
trend <- function(sd, w) {
  o <- if (is.matrix(sd$obs)) rowSums(sd$obs) else sd$obs
  e <- if (is.matrix(sd$exp)) rowSums(sd$exp) else sd$exp
  u <- sum(w * (o - e))
  v <- drop(t(w) %*% sd$var %*% w)
  list(u = u, variance = v, chisq = u^2 / v, p = pchisq(u^2 / v, 1, lower.tail = FALSE))
}

logrank_case <- function(name, dataset, d, group, levels = NULL, strata = NULL, scores = NULL) {
  keep <- !is.na(d[[group]])
  if (!is.null(strata)) keep <- keep & !is.na(d[[strata]])
  d <- d[keep, ]
  d$g <- if (is.null(levels)) factor(d[[group]]) else factor(d[[group]], levels = levels)
  if (is.null(strata)) {
    sd <- survdiff(Surv(time, event) ~ g, data = d)
  } else {
    d$s <- d[[strata]]
    sd <- survdiff(Surv(time, event) ~ g + strata(s), data = d)
  }
  o <- if (is.matrix(sd$obs)) rowSums(sd$obs) else sd$obs
  e <- if (is.matrix(sd$exp)) rowSums(sd$exp) else sd$exp
  df <- sum(e > 0) - 1
  res <- list(
    name = name, dataset = dataset, group = group, strata = strata,
    groups = levels(d$g), n = as.vector(table(d$g)),
    observed = o, expected = e, variance = sd$var,
    chisq = sd$chisq, df = df, p = pchisq(sd$chisq, df, lower.tail = FALSE)
  )
  if (!is.null(scores)) {
    res$scores <- scores
    res$trend <- trend(sd, scores)
  }
  res
}

logrank <- list(
  logrank_case("lung_sex", "lung", lung_d, "sex"),
  logrank_case("lung_ecog_trend", "lung", lung_d, "ph_ecog", scores = c(0, 1, 2, 3)),
  logrank_case("veteran_celltype", "veteran", veteran_d, "celltype",
               levels = levels_of$veteran_celltype, scores = c(1, 2, 3, 4)),
  logrank_case("veteran_celltype_by_trt", "veteran", veteran_d, "celltype",
               levels = levels_of$veteran_celltype, strata = "trt", scores = c(1, 2, 3, 4)),
  logrank_case("ovarian_rx", "ovarian", ovarian_d, "rx"),
  logrank_case("pbc_stage_trend", "pbc", pbc_d, "stage", scores = c(1, 2, 3, 4)),
  logrank_case("pbc_edema_trend", "pbc", pbc_d, "edema", scores = c(0, 0.5, 1)),
  logrank_case("colon_rx", "colon", colon_d, "rx", levels = levels_of$colon_rx,
               scores = c(0, 1, 2)),
  logrank_case("colon_rx_by_sex", "colon", colon_d, "rx", levels = levels_of$colon_rx,
               strata = "sex"),
  logrank_case("near_ties_group", "near_ties_group", near_ties_group, "grp")
)

# ---------------------------------------------------------------------------- proportions
binom_cases <- list(
  c(0, 10), c(10, 10), c(3, 10), c(1, 1), c(0, 1), c(17, 45), c(125, 150), c(1, 250),
  c(5, 7), c(49, 98)
)
binom <- list()
for (kn in binom_cases) {
  for (cl in c(0.95, 0.9)) {
    b <- binom.test(kn[1], kn[2], conf.level = cl)
    binom[[length(binom) + 1]] <- list(
      x = kn[1], n = kn[2], conf_level = cl, estimate = unname(b$estimate),
      lower = b$conf.int[1], upper = b$conf.int[2]
    )
  }
}

table_case <- function(name, tab, source) {
  tab <- unclass(as.matrix(tab))
  storage.mode(tab) <- "integer"
  ch <- suppressWarnings(chisq.test(tab, correct = FALSE))
  fi <- fisher.test(tab, workspace = 2e7)
  list(
    name = name, source = source, table = unname(tab),
    row_labels = rownames(tab), col_labels = colnames(tab),
    chisq = list(statistic = unname(ch$statistic), df = unname(ch$parameter),
                 p = ch$p.value, expected = unname(ch$expected)),
    fisher = list(p = fi$p.value),
    min_expected = min(ch$expected)
  )
}

tables <- list(
  table_case("lung_sex_x_ecog", table(lung_d$sex, lung_d$ph_ecog),
             "table(lung$sex, lung$ph.ecog)"),
  table_case("lung_sex_x_death", table(lung_d$sex, lung_d$event),
             "table(lung$sex, lung$status == 2)"),
  table_case("veteran_celltype_x_trt",
             table(factor(veteran_d$celltype, levels_of$veteran_celltype), veteran_d$trt),
             "table(veteran$celltype, veteran$trt)"),
  table_case("veteran_celltype_x_prior",
             table(factor(veteran_d$celltype, levels_of$veteran_celltype), veteran_d$prior),
             "table(veteran$celltype, veteran$prior)"),
  table_case("pbc_stage_x_edema", table(pbc_d$stage, pbc_d$edema),
             "table(pbc$stage, pbc$edema)"),
  table_case("colon_rx_x_differ",
             table(factor(colon_d$rx, levels_of$colon_rx), colon_d$differ),
             "table(colon$rx, colon$differ), etype == 2"),
  table_case("ovarian_rx_x_resid", table(ovarian_d$rx, ovarian_d$resid_ds),
             "table(ovarian$rx, ovarian$resid.ds)"),
  table_case("tea", matrix(c(3, 1, 1, 3), 2), "Fisher's tea tasting"),
  table_case("symmetric_ties", matrix(c(5, 0, 0, 5), 2), "hand-made, tied probabilities"),
  table_case("rxc_small", matrix(c(8, 1, 2, 5, 3, 4), 2), "hand-made 2 x 3"),
  table_case("rxc_3x3", matrix(c(3, 0, 1, 1, 4, 0, 0, 2, 5), 3), "hand-made 3 x 3"),
  table_case("rxc_4x4", matrix(c(10, 6, 5, 9, 5, 9, 10, 6, 7, 8, 6, 9, 8, 7, 9, 6), 4),
             "hand-made 4 x 4, n = 120")
)

# ---------------------------------------------------------------------------- write
result <- list(
  meta = list(
    r_version = R.version.string,
    survival = as.character(packageVersion("survival")),
    jsonlite = as.character(packageVersion("jsonlite")),
    script = "tests/reference/r_km_logrank_prop.R",
    note = paste(
      "Matrices are row-major (jsonlite default). NA, NaN, Inf are the strings \"NA\", \"NaN\", \"Inf\".",
      "std_err_log is survfit's std.err (SE of log S); std_err is summary()'s (SE of S)."
    )
  ),
  data = datasets,
  levels = levels_of,
  km = km,
  survival_at = surv_at,
  quantiles = quantiles,
  reverse_km = reverse,
  logrank = logrank,
  binom = binom,
  tables = tables
)
write_json(result, out_file, digits = NA, auto_unbox = TRUE, na = "string",
           dataframe = "columns", pretty = FALSE)
cat("wrote", out_file, "\n")
