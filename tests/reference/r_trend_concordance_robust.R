# Reference values for the Cochran-Armitage trend test (ilpkit.stats.trend), Harrell's C of a Cox
# model (ilpkit.stats.cox.concordance) and the robust variance clustered on patient
# (fit_cox(..., cluster=)), computed by R.
#
# Run from the repository root:
#     Rscript tests/reference/r_trend_concordance_robust.R
# Needs R with survival (made with 3.5-3) and jsonlite. Writes the data it fitted on to
# tests/reference/data/ctr_*.csv (17 significant digits, re-read before fitting) and R's numbers
# to tests/reference/r_trend_concordance_robust.json (jsonlite digits = NA: 15 significant digits).
#
# Public data sets used: R's ?prop.test smokers example; esoph (datasets); survival's colon,
# lung, veteran and bladder (WLW format, several rows per patient).

suppressPackageStartupMessages({
  library(survival)
  library(jsonlite)
})

out_dir <- file.path("tests", "reference")
data_dir <- file.path(out_dir, "data")
dir.create(data_dir, showWarnings = FALSE, recursive = TRUE)

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

# ------------------------------------------------------------------ Cochran-Armitage trend test
trend_case <- function(name, x, n, score = seq_along(x)) {
  r <- prop.trend.test(x, n, score)
  list(name = name, events = as.numeric(x), totals = as.numeric(n), scores = as.numeric(score),
       statistic = unname(r$statistic), df = unname(r$parameter), p_value = r$p.value)
}
esoph_age <- aggregate(cbind(ncases, ncontrols) ~ agegp, data = esoph, FUN = sum)
esoph_alc <- aggregate(cbind(ncases, ncontrols) ~ alcgp, data = esoph, FUN = sum)
colon_death <- subset(colon, etype == 2)
colon_differ <- aggregate(status ~ differ, data = colon_death, FUN = function(v) c(sum(v), length(v)))
colon_nodes <- cut(colon_death$nodes, c(-Inf, 0, 3, 9, Inf))
nodes_tab <- table(colon_nodes, colon_death$status)
trend <- list(
  trend_case("smokers", c(83, 90, 129, 70), c(86, 93, 136, 82)),
  trend_case("smokers_scores", c(83, 90, 129, 70), c(86, 93, 136, 82), c(0, 1, 2.5, 7)),
  trend_case("esoph_agegp", esoph_age$ncases, esoph_age$ncases + esoph_age$ncontrols),
  trend_case("esoph_alcgp", esoph_alc$ncases, esoph_alc$ncases + esoph_alc$ncontrols,
             c(20, 60, 100, 150)),
  trend_case("colon_differ", colon_differ$status[, 1], colon_differ$status[, 2]),
  trend_case("colon_nodes", as.numeric(nodes_tab[, 2]), as.numeric(rowSums(nodes_tab)),
             c(0, 2, 6, 12))
)

# ------------------------------------------------------------------ Cox data
lung_d <- na.omit(data.frame(time = lung$time, status = as.integer(lung$status == 2),
                             age = lung$age, sex = lung$sex, ph_ecog = lung$ph.ecog,
                             inst = lung$inst))
lung_d <- write_exact(lung_d, "ctr_lung.csv")
veteran_d <- data.frame(time = veteran$time, status = veteran$status, trt = veteran$trt,
                        karno = veteran$karno, age = veteran$age)
veteran_d <- write_exact(veteran_d, "ctr_veteran.csv")
colon_d <- na.omit(data.frame(id = colon$id, etype = colon$etype, time = colon$time,
                              status = colon$status,
                              rx_lev = as.integer(colon$rx == "Lev"),
                              rx_lev5fu = as.integer(colon$rx == "Lev+5FU"),
                              nodes = colon$nodes, age = colon$age))
colon_d <- write_exact(colon_d, "ctr_colon.csv")
bladder_d <- data.frame(id = bladder$id, stop = bladder$stop, event = bladder$event,
                        rx = bladder$rx, number = bladder$number, size = bladder$size)
bladder_d <- write_exact(bladder_d, "ctr_bladder.csv")
# a registry with repeat perfusions: lung patients, a third of them treated twice
set.seed(20261201)
rep_ids <- sort(sample(seq_len(nrow(lung_d)), nrow(lung_d) %/% 3))
lung_rep <- rbind(cbind(id = seq_len(nrow(lung_d)), lung_d),
                  cbind(id = rep_ids, transform(lung_d[rep_ids, ],
                                                time = pmax(1, round(time * 0.6)))))
lung_rep <- write_exact(lung_rep, "ctr_lung_repeat.csv")

concord_case <- function(name, file, formula, data) {
  fit <- coxph(formula, data = data)
  cc <- concordance(fit)
  list(name = name, data_file = file, terms = as.list(attr(terms(formula), "term.labels")),
       concordance = unname(cc$concordance), concordance_se = sqrt(unname(cc$var)),
       var = unname(cc$var), count = as.list(cc$count), coef = unname(coef(fit)))
}
concordance_runs <- list(
  concord_case("lung", "ctr_lung.csv", Surv(time, status) ~ age + sex + ph_ecog, lung_d),
  concord_case("lung_sex", "ctr_lung.csv", Surv(time, status) ~ sex, lung_d),
  concord_case("veteran", "ctr_veteran.csv", Surv(time, status) ~ trt + karno + age, veteran_d),
  concord_case("colon", "ctr_colon.csv", Surv(time, status) ~ rx_lev + rx_lev5fu + nodes,
               colon_d)
)

robust_case <- function(name, file, formula, data, id_col, ties = "efron") {
  data$.cl <- data[[id_col]]
  fit <- coxph(formula, data = data, cluster = .cl, ties = ties)
  list(name = name, data_file = file, terms = as.list(attr(terms(formula), "term.labels")),
       cluster = id_col, ties = ties, coef = unname(coef(fit)), robust_se = unname(sqrt(diag(fit$var))),
       robust_var = unname(fit$var), naive_se = unname(sqrt(diag(fit$naive.var))),
       n_clusters = length(unique(data[[id_col]])),
       robust_z = unname(summary(fit)$coefficients[, "z"]),
       robust_p = unname(summary(fit)$coefficients[, "Pr(>|z|)"]),
       wald_test = unname(fit$wald.test))
}
robust_runs <- list(
  robust_case("bladder", "ctr_bladder.csv", Surv(stop, event) ~ rx + number + size, bladder_d,
              "id"),
  robust_case("colon", "ctr_colon.csv", Surv(time, status) ~ rx_lev + rx_lev5fu + nodes + age,
              colon_d, "id"),
  robust_case("lung_repeat", "ctr_lung_repeat.csv", Surv(time, status) ~ age + sex + ph_ecog,
              lung_rep, "id"),
  robust_case("lung_inst", "ctr_lung.csv", Surv(time, status) ~ age + sex, lung_d, "inst"),
  robust_case("lung_repeat_breslow", "ctr_lung_repeat.csv",
              Surv(time, status) ~ age + sex + ph_ecog, lung_rep, "id", ties = "breslow"),
  robust_case("colon_breslow", "ctr_colon.csv", Surv(time, status) ~ rx_lev + rx_lev5fu + nodes,
              colon_d, "id", ties = "breslow")
)

out <- list(r_version = R.version.string,
            survival_version = as.character(packageVersion("survival")),
            trend = trend, concordance = concordance_runs, robust = robust_runs)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           file.path(out_dir, "r_trend_concordance_robust.json"))
