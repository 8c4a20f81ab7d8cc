# Reference values for the Fine-Gray model (ilpkit.stats.fine_gray, = cmprsk::crr and
# predict.crr), the Cox survival predictions for new covariates (= summary(survfit(coxph, newdata),
# times), log CI) and the `ilp predict` / `ilp analyze --fine-gray` outputs on the registry built
# from R's colon data (tests/reference/data/registry_colon.csv, see r_registry_colon.R).
#
# Run from the repository root:
#     Rscript tests/reference/r_fine_gray.R
# Needs R with survival (made with 3.5-3), cmprsk (2.2-11) and jsonlite. Writes the data it
# fitted on to tests/reference/data/fg_*.csv (17 significant digits, re-read before fitting) and
# R's numbers to tests/reference/r_fine_gray.json (jsonlite digits = NA: 15 significant digits).
#
# Public data sets used: survival's mgus2 (progression to a plasma-cell malignancy, death
# competing), colon (recurrence, death without recurrence competing) and a simulated data set
# with heavy ties (fixed seed) that exercises tied failure, competing and censoring times.
suppressPackageStartupMessages({
  library(survival)
  library(cmprsk)
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

crr_case <- function(name, file, d, terms, newx, at) {
  cov <- as.matrix(d[, terms, drop = FALSE])
  fit <- crr(d$time, d$status, cov1 = cov, failcode = 1, cencode = 0)
  se <- sqrt(diag(fit$var))
  z <- fit$coef / se
  s <- summary(fit)
  pr <- predict(fit, cov1 = newx)
  cif_at <- lapply(seq_len(nrow(newx)), function(j) {
    sapply(at, function(t) {
      i <- findInterval(t, pr[, 1])
      if (i == 0) 0 else pr[i, j + 1]
    })
  })
  list(name = name, data_file = file, terms = terms,
       coef = unname(fit$coef), se = unname(se), z = unname(z),
       p = unname(2 * pnorm(-abs(z))),
       sdhr_ci95 = unname(s$conf.int[, 3:4, drop = FALSE]),
       var = unname(fit$var), loglik = fit$loglik, loglik_null = fit$loglik.null,
       converged = fit$converged, n = fit$n,
       uftime = unname(fit$uftime), bfitj = unname(fit$bfitj),
       newx = unname(newx), predict_cif = unname(pr[, -1, drop = FALSE]),
       at = at, cif_at = cif_at)
}

# ---------------------------------------------------------------- mgus2: progression vs death
m <- na.omit(data.frame(
  time = ifelse(mgus2$pstat == 1, mgus2$ptime, mgus2$futime),
  status = ifelse(mgus2$pstat == 1, 1, 2 * mgus2$death),
  age = mgus2$age, male = as.integer(mgus2$sex == "M"), mspike = mgus2$mspike))
m <- write_exact(m, "fg_mgus2.csv")
# ------------------------------------------------------ colon: recurrence vs death without it
cr <- colon[colon$etype == 1, ]
cd <- colon[colon$etype == 2, ]
cd <- cd[match(cr$id, cd$id), ]
col <- na.omit(data.frame(
  time = ifelse(cr$status == 1, cr$time, cd$time),
  status = ifelse(cr$status == 1, 1, 2 * cd$status),
  rx_lev = as.integer(cr$rx == "Lev"), rx_lev5fu = as.integer(cr$rx == "Lev+5FU"),
  nodes = cr$nodes, age = cr$age, extent = cr$extent))
col <- write_exact(col, "fg_colon.csv")
# ---------------------------------------------------- simulated: heavy ties in every status
set.seed(20261201)
ns <- 400
sim <- data.frame(x1 = rnorm(ns), x2 = rbinom(ns, 1, 0.4), x3 = round(runif(ns, 20, 80)))
lin <- 0.5 * sim$x1 - 0.4 * sim$x2 + 0.01 * sim$x3
sim$time <- pmax(1, round(rexp(ns, 0.1 * exp(lin)) * 3))
sim$status <- sample(0:2, ns, replace = TRUE, prob = c(0.3, 0.4, 0.3))
sim$time[1:5] <- 0                   # times of 0, as crr reads G(0) there
sim$status[1:5] <- c(0, 1, 2, 1, 0)
sim <- write_exact(sim[, c("time", "status", "x1", "x2", "x3")], "fg_sim.csv")

crr_runs <- list(
  crr_case("mgus2", "fg_mgus2.csv", m, c("age", "male", "mspike"),
           rbind(c(60, 1, 1.2), c(75, 0, 0.5), c(85, 1, 2.5)), c(12, 60, 120, 240, 420)),
  crr_case("mgus2_age", "fg_mgus2.csv", m, c("age"), rbind(70), c(60, 120)),
  crr_case("colon", "fg_colon.csv", col, c("rx_lev", "rx_lev5fu", "nodes", "age", "extent"),
           rbind(c(0, 1, 4, 60, 3), c(1, 0, 1, 45, 2)), c(365.25, 730.5, 1826.25)),
  crr_case("sim_ties", "fg_sim.csv", sim, c("x1", "x2", "x3"),
           rbind(c(0, 0, 50), c(1.5, 1, 30)), c(0, 5, 20, 60, 1000))
)

# ------------------------------------------- Cox survival for new covariates: survfit(newdata)
surv_case <- function(name, file, d, terms, ties, newx, at) {
  f <- as.formula(paste("Surv(time, status) ~", paste(terms, collapse = " + ")))
  fit <- coxph(f, data = d, ties = ties)
  nd <- as.data.frame(newx)
  names(nd) <- terms
  sf <- survfit(fit, newdata = nd)  # default conf.type = "log"
  s <- summary(sf, times = at)
  list(name = name, data_file = file, terms = terms, ties = ties, newx = unname(newx),
       coef = unname(coef(fit)), times = s$time,
       surv = unname(as.matrix(s$surv)), std_err = unname(as.matrix(s$std.err)),
       lower = unname(as.matrix(s$lower)), upper = unname(as.matrix(s$upper)))
}
lung_d <- na.omit(data.frame(time = lung$time, status = as.integer(lung$status == 2),
                             age = lung$age, sex = lung$sex, ph_ecog = lung$ph.ecog))
lung_d <- write_exact(lung_d, "fg_lung.csv")
vet <- write_exact(data.frame(time = veteran$time, status = veteran$status,
                              karno = veteran$karno, trt = veteran$trt), "fg_veteran.csv")
surv_runs <- list(
  surv_case("lung_efron", "fg_lung.csv", lung_d, c("age", "sex", "ph_ecog"), "efron",
            rbind(c(62, 1, 1), c(70, 2, 2), c(50, 2, 0)), c(90, 180, 365, 730)),
  surv_case("lung_breslow", "fg_lung.csv", lung_d, c("age", "sex", "ph_ecog"), "breslow",
            rbind(c(62, 1, 1), c(70, 2, 2)), c(90, 180, 365, 730)),
  surv_case("veteran_efron", "fg_veteran.csv", vet, c("karno", "trt"), "efron",
            rbind(c(60, 1), c(30, 2)), c(30, 100, 200))
)

# --------------------------------------------------------- the registry built from colon data
reg <- read.csv(file.path(data_dir, "registry_colon.csv"), stringsAsFactors = FALSE,
                na.strings = "")
ilp <- as.Date(reg$ilp_date)
lfu <- as.Date(reg$last_followup_date)
lr_date <- as.Date(reg$local_recurrence_date)
died <- !is.na(reg$death_date)
has_lr <- !is.na(lr_date)
rd <- data.frame(
  lr_days = as.numeric(ifelse(has_lr, lr_date - ilp, lfu - ilp)),
  lr_status = ifelse(has_lr, 1, ifelse(died, 2, 0)),
  os_days = as.numeric(lfu - ilp), death = as.integer(died),
  age_years = as.numeric(ilp - as.Date(reg$birth_date)) / 365.25,
  tumor_size_cm = reg$tumor_size_cm,
  leiomyosarcoma = as.integer(reg$histology == "leiomyosarcoma"),
  multifocal = as.integer(reg$multifocal == "yes"),
  prior_radiotherapy = as.integer(reg$prior_radiotherapy == "yes"))
rd$lr_years <- rd$lr_days / 365.25
fg_terms <- c("age_years", "tumor_size_cm")
rk <- rd[complete.cases(rd[, fg_terms]), ]
fg <- crr(rk$lr_years, rk$lr_status, cov1 = as.matrix(rk[, fg_terms]))
fg_se <- sqrt(diag(fg$var))
cs <- coxph(Surv(lr_years, lr_status == 1) ~ age_years + tumor_size_cm, data = rk)
registry_fg <- list(
  terms = fg_terms, n = fg$n, events = sum(rk$lr_status == 1),
  competing = sum(rk$lr_status == 2),
  coef = unname(fg$coef), se = unname(fg_se), p = unname(2 * pnorm(-abs(fg$coef / fg_se))),
  ci95 = unname(cbind(exp(fg$coef - qnorm(0.975) * fg_se), exp(fg$coef + qnorm(0.975) * fg_se))),
  cause_specific = list(coef = unname(coef(cs)), se = unname(sqrt(diag(vcov(cs)))),
                        ci95 = unname(summary(cs)$conf.int[, 3:4])))

# `ilp predict`: Cox of overall survival (per patient; one perfusion each here) and Fine-Gray of
# local recurrence with the default terms, for two profiles
pred_terms <- c("age_years", "tumor_size_cm", "leiomyosarcoma", "multifocal",
                "prior_radiotherapy")
profiles <- rbind(c(62, 14, 1, 0, 1), c(60, 10, 0, 1, 0))
ok <- complete.cases(rd[, pred_terms])
od <- rd[ok, ]
f_os <- as.formula(paste("Surv(os_days, death) ~", paste(pred_terms, collapse = " + ")))
cox_os <- coxph(f_os, data = od)
nd <- as.data.frame(profiles)
names(nd) <- pred_terms
s_os <- summary(survfit(cox_os, newdata = nd), times = c(1, 2, 5) * 365.25)
fg_lr <- crr(od$lr_years, od$lr_status, cov1 = as.matrix(od[, pred_terms]))
pr_lr <- predict(fg_lr, cov1 = profiles)
lr_at <- lapply(seq_len(nrow(profiles)), function(j)
  sapply(c(1, 2, 5), function(t) { i <- findInterval(t, pr_lr[, 1]); if (i == 0) 0 else pr_lr[i, j + 1] }))
cc <- concordance(cox_os)
registry_predict <- list(
  terms = pred_terms, profiles = unname(profiles), n = cox_os$n, events = cox_os$nevent,
  concordance = unname(cc$concordance),
  os_times = s_os$time, os_surv = unname(as.matrix(s_os$surv)),
  os_lower = unname(as.matrix(s_os$lower)), os_upper = unname(as.matrix(s_os$upper)),
  lr_n = fg_lr$n, lr_events = sum(od$lr_status == 1), lr_cif = lr_at)

out <- list(crr = crr_runs, survfit_newdata = surv_runs, registry_fine_gray = registry_fg,
            registry_predict = registry_predict,
            r_version = R.version.string,
            survival_version = as.character(packageVersion("survival")),
            cmprsk_version = as.character(packageVersion("cmprsk")))
write_json(out, file.path(out_dir, "r_fine_gray.json"), auto_unbox = TRUE, digits = NA,
           pretty = TRUE, null = "null", na = "null", matrix = "rowmajor")
cat("wrote tests/reference/r_fine_gray.json\n")
