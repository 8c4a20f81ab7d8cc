# Reference values for `ilp analyze --json` on a registry built from R's survival::colon data.
#
# The colon cancer trial data (Moertel 1990, shipped with R's survival package) are recast as a
# SYNTHETIC Registry CSV v1 file, one perfusion per patient: recurrence -> local recurrence,
# death -> death, obstruct -> multifocal, perfor -> prior radiotherapy, adhere -> recurrent
# presentation, differ -> grade, nodes + 0.5 -> tumour size (cm), treatment arm Lev+5FU ->
# leiomyosarcoma (else liposarcoma), sex 1 -> M. Dates start from a fixed accrual date. The
# mapping only borrows the numbers; nothing here is clinical data about limb perfusion.
#
# R then computes, independently of ilpkit, every statistic `ilp analyze` reports. Run from the
# repository root:  Rscript tests/reference/r_registry_colon.R
# Writes tests/reference/data/registry_colon.csv and tests/reference/r_registry_colon.json.
suppressPackageStartupMessages({
  library(survival)
  library(cmprsk)
  library(jsonlite)
})

d <- colon[colon$etype == 2, ]           # death rows (time = follow-up, status = died)
r <- colon[colon$etype == 1, ]           # recurrence rows
r <- r[match(d$id, r$id), ]
stopifnot(all(r$time <= d$time))

base <- as.Date("1990-01-01")
ilp <- base + 2 * d$id                   # accrual over about five years
lfu <- ilp + d$time
birth <- ilp - round(d$age * 365.25)
resp_codes <- c("CR", "PR", "PR", "NC", "PD", "NE", "PR", "CR", "")
reg <- data.frame(
  patient_id = sprintf("SYN-COLON-%04d", d$id),
  center = ifelse(d$study == 1, "SYNTH", "SYNTH"),
  sex = ifelse(d$sex == 1, "M", "F"),
  birth_date = format(birth),
  death_date = ifelse(d$status == 1, format(lfu), ""),
  last_followup_date = format(lfu),
  ilp_date = format(ilp),
  limb = "leg",
  perfusion_level = "femoral",
  limb_volume_l = "8",
  tnf_mg = "3",
  melphalan_mg = "80",
  histology = ifelse(d$rx == "Lev+5FU", "leiomyosarcoma", "liposarcoma"),
  grade = ifelse(is.na(d$differ), "", as.character(d$differ)),
  tumor_size_cm = ifelse(is.na(d$nodes), "", as.character(d$nodes + 0.5)),
  multifocal = ifelse(d$obstruct == 1, "yes", "no"),
  presentation = ifelse(d$adhere == 1, "recurrent", "primary"),
  prior_radiotherapy = ifelse(d$perfor == 1, "yes", "no"),
  response = resp_codes[(d$id %% length(resp_codes)) + 1],
  resection_date = "",
  resection_margin = "",
  amputation_date = ifelse(r$status == 1 & d$surg == 1, format(ilp + r$time), ""),
  local_recurrence_date = ifelse(r$status == 1, format(ilp + r$time), ""),
  distant_metastasis_date = "",
  stringsAsFactors = FALSE
)
dir.create("tests/reference/data", showWarnings = FALSE, recursive = TRUE)
write.csv(reg, "tests/reference/data/registry_colon.csv", row.names = FALSE, quote = FALSE,
          na = "")

# ---- analysis datasets, as defined in docs/methods.md
years <- d$time / 365.25
death <- d$status
lr_status <- ifelse(r$status == 1, 1, ifelse(d$status == 1, 2, 0))
lr_years <- ifelse(r$status == 1, r$time, d$time) / 365.25
age_years <- as.numeric(ilp - birth) / 365.25
size <- ifelse(is.na(d$nodes), NA, d$nodes + 0.5)
vars <- data.frame(
  multifocal = reg$multifocal,
  prior_radiotherapy = reg$prior_radiotherapy,
  presentation = reg$presentation,
  histology = reg$histology,
  leiomyosarcoma = ifelse(reg$histology == "leiomyosarcoma", "yes", "no"),
  grade = ifelse(reg$grade == "", NA, reg$grade),
  tumor_size_group = as.character(cut(size, c(0, 5, 10, 15, Inf),
                                      labels = c("<=5cm", ">5-10cm", ">10-15cm", ">15cm"),
                                      right = TRUE)),
  sex = reg$sex,
  stringsAsFactors = FALSE
)
by_vars <- names(vars)
ordered_levels <- list(grade = c("1", "2", "3"),
                       tumor_size_group = c("<=5cm", ">5-10cm", ">10-15cm", ">15cm"))
levels_of <- function(v, name) {
  present <- sort(unique(v[!is.na(v)]))
  if (!is.null(ordered_levels[[name]])) return(ordered_levels[[name]][ordered_levels[[name]] %in% present])
  if (name %in% c("multifocal", "prior_radiotherapy", "leiomyosarcoma")) return(c("no", "yes")[c("no", "yes") %in% present])
  present
}
bin <- function(k, n) {
  b <- binom.test(k, n)
  list(k = k, n = n, estimate = k / n, ci95 = unname(as.numeric(b$conf.int)))
}
km_at <- function(fit, at) {
  s <- summary(fit, times = at, extend = FALSE)
  out <- list()
  for (y in at) {
    i <- which(s$time == y)
    if (length(i) == 0) {
      out[[as.character(y)]] <- list(estimate = NULL, n_at_risk = 0)
    } else {
      out[[as.character(y)]] <- list(estimate = s$surv[i], ci95 = c(s$lower[i], s$upper[i]),
                                     n_at_risk = s$n.risk[i])
    }
  }
  out
}
med <- function(fit) {
  q <- quantile(fit, 0.5)
  list(estimate = unname(q$quantile), ci95 = c(unname(q$lower), unname(q$upper)))
}

# ---- cohort: median follow-up by reverse Kaplan-Meier
rev <- survfit(Surv(years, 1 - death) ~ 1, conf.type = "log-log")
out <- list(cohort = list(n_patients = nrow(d), n_perfusions = nrow(d),
                          median_followup_years = med(rev)))

# ---- response
resp <- reg$response
ev <- !(resp %in% c("NE", ""))
objective <- as.integer(resp[ev] %in% c("CR", "PR"))
response <- list(n_evaluable = sum(ev), n_not_evaluable = sum(resp == "NE"),
                 n_missing = sum(resp == ""))
for (cat in c("CR", "PR", "NC", "PD")) response[[tolower(cat)]] <- bin(sum(resp[ev] == cat), sum(ev))
response$orr <- bin(sum(objective), sum(ev))
response$by <- list()
for (v in by_vars) {
  g <- vars[[v]][ev]
  keep <- !is.na(g)
  lv <- levels_of(g[keep], v)
  tab <- table(factor(g[keep], levels = lv), factor(objective[keep], levels = c(0, 1)))
  tab <- tab[rowSums(tab) > 0, colSums(tab) > 0, drop = FALSE]
  expected <- outer(rowSums(tab), colSums(tab)) / sum(tab)
  if (all(expected >= 5)) {
    t <- suppressWarnings(chisq.test(tab, correct = FALSE))
    test <- list(test = "chi2", statistic = unname(t$statistic), df = unname(t$parameter), p = t$p.value)
  } else {
    t <- fisher.test(tab, workspace = 2e8)
    test <- list(test = "fisher", p = t$p.value)
  }
  groups <- list()
  for (l in lv) {
    sel <- keep & g == l
    groups[[l]] <- list(orr = bin(sum(objective[sel]), sum(sel)))
  }
  response$by[[v]] <- c(list(groups = groups), test)
}
out$response <- response

# ---- overall survival
fit <- survfit(Surv(years, death) ~ 1, conf.type = "log-log")
os <- list(n = length(years), events = sum(death), at_years = km_at(fit, c(1, 2, 5)),
           median_years = med(fit), by = list())
for (v in by_vars) {
  g <- vars[[v]]
  keep <- !is.na(g)
  lv <- levels_of(g[keep], v)
  f <- factor(g[keep], levels = lv)
  sd <- survdiff(Surv(years[keep], death[keep]) ~ f)
  df <- sum(sd$exp > 0) - 1
  entry <- list(logrank = list(statistic = sd$chisq, df = df,
                               p = pchisq(sd$chisq, df, lower.tail = FALSE)), groups = list())
  if (!is.null(ordered_levels[[v]]) && length(lv) >= 3) {
    w <- seq_along(lv)
    oe <- sd$obs - sd$exp
    chi <- sum(w * oe)^2 / as.numeric(t(w) %*% sd$var %*% w)
    entry$trend <- list(statistic = chi, df = 1, p = pchisq(chi, 1, lower.tail = FALSE))
  }
  for (l in lv) {
    sel <- keep & g == l
    gf <- survfit(Surv(years[sel], death[sel]) ~ 1, conf.type = "log-log")
    entry$groups[[l]] <- list(n = sum(sel), events = sum(death[sel]), at_years = km_at(gf, c(1, 2, 5)))
  }
  os$by[[v]] <- entry
}

# Cox: the default terms of `ilp analyze`
cd <- data.frame(years = years, death = death, age_years = age_years, tumor_size_cm = size,
                 leiomyosarcoma = as.integer(vars$leiomyosarcoma == "yes"),
                 multifocal = as.integer(vars$multifocal == "yes"),
                 prior_radiotherapy = as.integer(vars$prior_radiotherapy == "yes"),
                 presentation = factor(vars$presentation, levels = c("primary", "recurrent")))
cox_out <- function(formula, ties) {
  m <- eval(bquote(coxph(.(formula), data = cd, ties = .(ties))))
  s <- summary(m)
  terms <- list()
  nm <- names(coef(m))
  nm <- sub("^presentationrecurrent$", "presentation[recurrent]", nm)
  for (i in seq_along(nm)) {
    terms[[nm[i]]] <- list(coef = unname(coef(m)[i]), se = unname(sqrt(diag(vcov(m)))[i]),
                           hr = unname(exp(coef(m))[i]),
                           ci95 = unname(s$conf.int[i, c("lower .95", "upper .95")]),
                           p = unname(s$coefficients[i, "Pr(>|z|)"]))
  }
  z <- cox.zph(m)
  list(ties = ties, n = m$n, events = m$nevent, n_excluded = length(m$na.action), terms = terms,
       loglik = m$loglik[2], lr_test = list(statistic = unname(s$logtest["test"]),
                                            df = unname(s$logtest["df"]),
                                            p = unname(s$logtest["pvalue"])),
       ph_test = list(rows = setNames(lapply(seq_len(nrow(z$table)), function(i)
         list(statistic = z$table[i, "chisq"], df = z$table[i, "df"], p = z$table[i, "p"])),
         rownames(z$table))))
}
f_all <- Surv(years, death) ~ age_years + tumor_size_cm + leiomyosarcoma + multifocal +
  prior_radiotherapy + presentation
# Harrell's C of the multivariable model (concordance(coxph): timewt = "n", ties in x count 1/2)
cox_c <- function(formula, ties) {
  m <- eval(bquote(coxph(.(formula), data = cd, ties = .(ties))))
  cc <- concordance(m)
  c(cox_out(formula, ties),
    list(concordance = unname(cc$concordance), concordance_se = sqrt(unname(cc$var))))
}
os$cox <- list(efron = cox_c(f_all, "efron"), breslow = cox_c(f_all, "breslow"))
os$cox$univariable <- list()
for (term in c("age_years", "tumor_size_cm", "leiomyosarcoma", "multifocal",
               "prior_radiotherapy", "presentation")) {
  os$cox$univariable[[term]] <- cox_out(as.formula(paste("Surv(years, death) ~", term)), "efron")
}
out$overall_survival <- os

# ---- local recurrence: crude, cumulative incidence with death competing, Gray's test
cif_at <- function(ci, name) {
  tp <- timepoints(ci, c(1, 2, 5))
  est <- tp$est[name, ]
  var <- tp$var[name, ]
  lapply(setNames(seq_along(est), c("1", "2", "5")),
         function(i) list(estimate = unname(est[i]), variance = unname(var[i])))
}
ci <- cuminc(lr_years, lr_status, cencode = 0)
lr <- list(crude = bin(sum(lr_status == 1), length(lr_status)), at_years = cif_at(ci, "1 1"),
           by = list())
for (v in by_vars) {
  g <- vars[[v]]
  keep <- !is.na(g)
  lv <- levels_of(g[keep], v)
  cg <- cuminc(lr_years[keep], lr_status[keep], group = g[keep], cencode = 0)
  entry <- list(gray = list(statistic = unname(cg$Tests["1", "stat"]),
                            df = unname(cg$Tests["1", "df"]), p = unname(cg$Tests["1", "pv"])),
                groups = list())
  for (l in lv) {
    sel <- keep & g == l
    e <- list(crude = bin(sum(lr_status[sel] == 1), sum(sel)))
    if (any(lr_status[sel] == 1)) {
      e$at_years <- cif_at(cuminc(lr_years[sel], lr_status[sel], cencode = 0), "1 1")
    }
    entry$groups[[l]] <- e
  }
  lr$by[[v]] <- entry
}
out$local_recurrence <- lr

# ---- limb salvage
amputated <- reg$amputation_date != ""
out$limb_salvage <- list(per_perfusion = bin(sum(!amputated), length(amputated)),
                         per_patient = bin(sum(!amputated), length(amputated)))
out$r_version <- R.version.string
out$survival_version <- as.character(packageVersion("survival"))
out$cmprsk_version <- as.character(packageVersion("cmprsk"))
write_json(out, "tests/reference/r_registry_colon.json", auto_unbox = TRUE, digits = NA,
           pretty = TRUE, null = "null", na = "null")
cat("wrote tests/reference/r_registry_colon.json\n")
