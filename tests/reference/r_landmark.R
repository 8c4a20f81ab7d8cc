# Reference values for the landmark analyses, distant metastasis, metastasis-free and
# sarcoma-specific survival of `ilp analyze`, on two registries built from R datasets.
#
# Registries (SYNTHETIC, the numbers only are borrowed; nothing here is clinical data about limb
# perfusion), written as Registry CSV v1 columns plus the outcome-study columns
# adjuvant_radiotherapy, pathological_necrosis_pct and cause_of_death:
#   - colon (survival::colon, Moertel 1990): recurrence -> local recurrence, death -> death;
#     colon ids 1-300 are paired (1+2, 3+4, ...) into patients with TWO perfusions, the second
#     100 days after the first (patient-level fields from the first), so the Cox models of local
#     recurrence need the robust variance clustered on patient;
#   - mgus2 (survival::mgus2, Kyle 2002): progression -> local recurrence, death -> death, months
#     -> days (x 30.4375, rounded); one perfusion per patient.
# Post-baseline factors are derived deterministically: resection 20-139 days (colon) or
# 10-159 days (mgus2) after the perfusion (some after the 3-month landmark), margin, adjuvant
# radiotherapy and necrosis from other columns; distant metastasis and cause of death likewise.
#
# R then computes, from the registry file it wrote and independently of ilpkit, the datasets
# defined in docs/methods.md and the statistics. Run from the repository root:
#   Rscript tests/reference/r_landmark.R
# Writes tests/reference/data/registry_landmark_{colon,mgus2}.csv and
# tests/reference/r_landmark.json.
suppressPackageStartupMessages({
  library(survival)
  library(cmprsk)
  library(jsonlite)
})

LANDMARK_MONTHS <- 3
L <- LANDMARK_MONTHS * 365.25 / 12
YEARS <- c(1, 2, 5)
base <- as.Date("1990-01-01")

empty_registry <- function(n) {
  data.frame(center = rep("SYNTH", n), limb = "leg", perfusion_level = "femoral",
             limb_volume_l = "8", tnf_mg = "3", melphalan_mg = "80", histology = "liposarcoma",
             grade = "2", tumor_size_cm = "10", multifocal = "no", presentation = "primary",
             prior_radiotherapy = "no", amputation_date = "", stringsAsFactors = FALSE)
}

# ---------------------------------------------------------------- registry from colon
build_colon <- function() {
  d <- colon[colon$etype == 2, ]
  r <- colon[colon$etype == 1, ]
  r <- r[match(d$id, r$id), ]
  n <- nrow(d)
  ilp <- base + 3 * d$id
  lfu <- ilp + d$time
  dead <- d$status == 1
  cause <- ifelse(!dead, "", ifelse(d$rx == "Obs", "sarcoma", ifelse(d$rx == "Lev", "other",
                  ifelse(d$id %% 2 == 0, "unknown", ""))))
  reg <- empty_registry(n)
  reg$patient_id <- sprintf("SYN-LMC-%04d", d$id)
  reg$sex <- ifelse(d$sex == 1, "M", "F")
  reg$birth_date <- format(ilp - round(d$age * 365.25))
  reg$death_date <- ifelse(dead, format(lfu), "")
  reg$last_followup_date <- format(lfu)
  reg$ilp_date <- format(ilp)
  codes <- c("CR", "PR", "PR", "NC", "PD", "NE", "PR", "CR", "")
  reg$response <- codes[(d$id %% length(codes)) + 1]
  lr <- ifelse(r$status == 1, format(ilp + r$time), "")
  # second perfusions: colon id 2k joins patient 2k-1, 100 days after its first perfusion
  first <- match(d$id - 1, d$id)
  pair <- d$id <= 300 & d$id %% 2 == 0 & !is.na(first)
  pair[pair] <- d$time[first[pair]] > 200
  for (i in which(pair)) {
    j <- first[i]
    ilp2 <- ilp[j] + 100
    reg$patient_id[i] <- reg$patient_id[j]
    reg$sex[i] <- reg$sex[j]
    reg$birth_date[i] <- reg$birth_date[j]
    reg$death_date[i] <- reg$death_date[j]
    reg$last_followup_date[i] <- reg$last_followup_date[j]
    cause[i] <- cause[j]
    reg$ilp_date[i] <- format(ilp2)
    ilp[i] <- ilp2
    lfu[i] <- lfu[j]
    lr[i] <- ifelse(r$status[i] == 1 & ilp2 + r$time[i] < lfu[j], format(ilp2 + r$time[i]), "")
  }
  reg$local_recurrence_date <- lr
  reg$cause_of_death <- cause
  res_days <- 20 + (d$id * 37) %% 120
  resected <- ilp + res_days < lfu
  reg$resection_date <- ifelse(resected, format(ilp + res_days), "")
  margin <- c("R0", "R1", "R2")[d$differ]
  reg$resection_margin <- ifelse(resected & !is.na(margin), margin, "")
  reg$adjuvant_radiotherapy <- ifelse(resected, ifelse(d$extent >= 3, "yes", "no"), "")
  nodes <- ifelse(is.na(d$nodes), 0, d$nodes)
  reg$pathological_necrosis_pct <- ifelse(resected, as.character((nodes * 7 + d$id) %% 101), "")
  dm_days <- round(r$time * 0.8)
  reg$distant_metastasis_date <- ifelse(r$status == 1 & d$id %% 3 != 0 & ilp + dm_days < lfu,
                                        format(ilp + dm_days), "")
  reg
}

# ---------------------------------------------------------------- registry from mgus2
build_mgus2 <- function() {
  m <- mgus2
  n <- nrow(m)
  ilp <- base + m$id
  fu_days <- round(m$futime * 30.4375)
  p_days <- round(m$ptime * 30.4375)
  lfu <- ilp + fu_days
  dead <- m$death == 1
  reg <- empty_registry(n)
  reg$patient_id <- sprintf("SYN-LMM-%04d", m$id)
  reg$sex <- ifelse(m$sex == "M", "M", "F")
  reg$birth_date <- format(ilp - round(m$age * 365.25))
  reg$death_date <- ifelse(dead, format(lfu), "")
  reg$last_followup_date <- format(lfu)
  reg$ilp_date <- format(ilp)
  resp <- ifelse(m$hgb >= 14, "CR", ifelse(m$hgb >= 12, "PR", ifelse(m$hgb >= 10, "NC", "PD")))
  reg$response <- ifelse(is.na(resp), "", resp)
  has_lr <- m$pstat == 1 & p_days <= fu_days
  reg$local_recurrence_date <- ifelse(has_lr, format(ilp + p_days), "")
  reg$cause_of_death <- ifelse(!dead, "", ifelse(m$sex == "M", "sarcoma",
                               ifelse(m$id %% 3 == 0, "other", ifelse(m$id %% 3 == 1, "unknown", ""))))
  res_days <- 10 + (m$id * 17) %% 150
  resected <- ilp + res_days < lfu
  reg$resection_date <- ifelse(resected, format(ilp + res_days), "")
  margin <- ifelse(m$mspike < 0.5, "R0", ifelse(m$mspike < 1.5, "R1", "R2"))
  reg$resection_margin <- ifelse(resected & !is.na(margin), margin, "")
  reg$adjuvant_radiotherapy <- ifelse(resected & !is.na(m$creat),
                                      ifelse(m$creat > 1.2, "yes", "no"), "")
  reg$pathological_necrosis_pct <- ifelse(resected, as.character((round(m$age) * 3 + m$id) %% 101), "")
  reg$distant_metastasis_date <- ifelse(has_lr & m$id %% 3 == 0, format(ilp + p_days), "")
  reg
}

COLUMNS <- c("patient_id", "center", "sex", "birth_date", "death_date", "last_followup_date",
             "ilp_date", "limb", "perfusion_level", "limb_volume_l", "tnf_mg", "melphalan_mg",
             "histology", "grade", "tumor_size_cm", "multifocal", "presentation",
             "prior_radiotherapy", "response", "resection_date", "resection_margin",
             "amputation_date", "local_recurrence_date", "distant_metastasis_date",
             "adjuvant_radiotherapy", "pathological_necrosis_pct", "cause_of_death")

# ---------------------------------------------------------------- statistics
bin <- function(k, n) {
  if (n == 0) return(list(k = k, n = n))
  b <- binom.test(k, n)
  list(k = k, n = n, estimate = k / n, ci95 = unname(as.numeric(b$conf.int)))
}
km_at <- function(fit, at) {
  s <- summary(fit, times = at, extend = FALSE)
  out <- list()
  for (y in at) {
    i <- which(s$time == y)
    if (length(i) == 1) {
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
cif_at <- function(t, status, group = NULL) {
  fit <- if (is.null(group)) cuminc(t, status) else cuminc(t, status, group)
  tp <- timepoints(fit, YEARS)
  list(fit = fit, tp = tp)
}
at_from_tp <- function(tp, row) {
  out <- list()
  for (k in seq_along(YEARS)) {
    e <- tp$est[row, k]
    if (!is.na(e)) out[[as.character(YEARS[k])]] <- list(estimate = e, variance = tp$var[row, k])
  }
  out
}
day <- function(x) as.numeric(as.Date(ifelse(x == "", NA, x)))

analyse <- function(reg) {
  ilp <- day(reg$ilp_date)
  lfu <- day(reg$last_followup_date)
  died <- reg$death_date != ""
  lrd <- day(reg$local_recurrence_date)
  res_days <- day(reg$resection_date) - ilp
  out <- list()

  # ---- local recurrence per perfusion, landmark
  has_lr <- !is.na(lrd)
  time <- ifelse(has_lr, lrd, lfu) - ilp
  status <- ifelse(has_lr, 1, ifelse(died, 2, 0))
  keep <- time > L
  t <- (time[keep] - L) / 365.25
  st <- status[keep]
  pid <- reg$patient_id[keep]
  resected <- !is.na(res_days[keep]) & res_days[keep] <= L
  nec <- suppressWarnings(as.numeric(reg$pathological_necrosis_pct[keep]))
  blank <- function(x) ifelse(x == "", NA, x)
  factors <- list(
    response = list(v = blank(reg$response[keep]), lv = c("CR", "PR", "NC", "PD", "NE")),
    resection_margin = list(v = ifelse(resected, blank(reg$resection_margin[keep]), NA),
                            lv = c("R0", "R1", "R2")),
    adjuvant_radiotherapy = list(v = ifelse(resected, blank(reg$adjuvant_radiotherapy[keep]), NA),
                                 lv = c("no", "yes")),
    necrosis_group = list(v = ifelse(resected & !is.na(nec), ifelse(nec > 50, ">50%", "<=50%"), NA),
                          lv = c("<=50%", ">50%"))
  )
  repeats <- sum(table(pid) > 1)
  lm <- list(n = sum(keep), n_excluded = sum(!keep), patients_with_repeat_perfusions = repeats,
             by = list(), cox = list())
  for (name in names(factors)) {
    v <- factors[[name]]$v
    ok <- !is.na(v)
    lv <- factors[[name]]$lv[factors[[name]]$lv %in% v[ok]]
    g <- factor(v[ok], levels = lv)
    ci <- cif_at(t[ok], st[ok], g)
    groups <- list()
    for (l in lv) {
      sel <- ok & v == l
      row <- which(rownames(ci$tp$est) == paste(l, 1))
      groups[[l]] <- list(crude = bin(sum(st[sel] == 1), sum(sel)), at_years = at_from_tp(ci$tp, row))
    }
    gray <- ci$fit$Tests
    lm$by[[name]] <- list(groups = groups, n_missing = sum(!ok),
                          gray = list(statistic = unname(gray["1", "stat"]),
                                      df = unname(gray["1", "df"]), p = unname(gray["1", "pv"])))
    cd <- data.frame(t = t[ok], ev = as.integer(st[ok] == 1), g = g, id = pid[ok])
    m <- if (repeats > 0) coxph(Surv(t, ev) ~ g, data = cd, cluster = id, ties = "efron")
         else coxph(Surv(t, ev) ~ g, data = cd, ties = "efron")
    s <- summary(m)
    terms <- list()
    for (i in seq_along(coef(m))) {
      nm <- if (name == "adjuvant_radiotherapy") name else sprintf("%s[%s]", name, lv[i + 1])
      terms[[nm]] <- list(coef = unname(coef(m)[i]), se = unname(sqrt(diag(vcov(m)))[i]),
                          hr = unname(exp(coef(m))[i]),
                          ci95 = unname(s$conf.int[i, c("lower .95", "upper .95")]),
                          z = unname(s$coefficients[i, "z"]),
                          p = unname(s$coefficients[i, "Pr(>|z|)"]))
    }
    lm$cox[[name]] <- list(n = m$n, events = m$nevent, terms = terms)
  }
  lm$variance <- if (repeats > 0) "robust, clustered on patient" else "model-based"
  out$local_recurrence_landmark <- lm

  # ---- per patient: first perfusion
  o <- order(reg$patient_id, ilp)
  firsts <- o[!duplicated(reg$patient_id[o])]
  dm_all <- day(reg$distant_metastasis_date)
  dm <- tapply(dm_all, reg$patient_id, function(x) if (all(is.na(x))) NA else min(x, na.rm = TRUE))
  p <- reg$patient_id[firsts]
  dm1 <- as.numeric(dm[p])
  ilp1 <- ilp[firsts]
  lfu1 <- lfu[firsts]
  died1 <- died[firsts]
  has_dm <- !is.na(dm1)
  dtime <- (ifelse(has_dm, dm1, lfu1) - ilp1) / 365.25
  dstatus <- ifelse(has_dm, 1, ifelse(died1, 2, 0))
  ci <- cif_at(dtime, dstatus)
  dmo <- list(n = length(p), crude = bin(sum(has_dm), length(p)),
              deaths_without_metastasis = sum(dstatus == 2),
              at_years = at_from_tp(ci$tp, which(rownames(ci$tp$est) == "1 1")))
  mfs_event <- as.integer(has_dm | died1)
  f <- survfit(Surv(dtime, mfs_event) ~ 1, conf.type = "log-log")
  dmo$metastasis_free_survival <- list(n = length(p), events = sum(mfs_event),
                                       at_years = km_at(f, YEARS), median_years = med(f))
  ostime <- (lfu1 - ilp1) / 365.25
  cause <- reg$cause_of_death[firsts]
  cause <- ifelse(!died1, NA, ifelse(cause %in% c("sarcoma", "other"), cause, "unknown"))
  main <- is.na(cause) | cause != "unknown"
  ev <- as.integer(!is.na(cause) & cause == "sarcoma")
  f <- survfit(Surv(ostime[main], ev[main]) ~ 1, conf.type = "log-log")
  ev2 <- as.integer(!is.na(cause) & cause %in% c("sarcoma", "unknown"))
  f2 <- survfit(Surv(ostime, ev2) ~ 1, conf.type = "log-log")
  dmo$sarcoma_specific_survival <- list(
    n = sum(main), events = sum(ev[main]), deaths_other_cause = sum(cause == "other", na.rm = TRUE),
    deaths_unknown_cause = sum(cause == "unknown", na.rm = TRUE),
    at_years = km_at(f, YEARS), median_years = med(f),
    sensitivity_unknown_as_sarcoma = list(n = length(p), events = sum(ev2),
                                          at_years = km_at(f2, YEARS), median_years = med(f2)))
  out$distant_metastasis <- dmo

  # ---- overall survival from the landmark, by response (first perfusions)
  keep <- (lfu1 - ilp1) > L
  t <- (lfu1[keep] - ilp1[keep] - L) / 365.25
  e <- as.integer(died1[keep])
  v <- reg$response[firsts][keep]
  v <- ifelse(v == "", NA, v)
  ok <- !is.na(v)
  lv <- c("CR", "PR", "NC", "PD", "NE")
  lv <- lv[lv %in% v[ok]]
  sd <- survdiff(Surv(t[ok], e[ok]) ~ factor(v[ok], levels = lv))
  df <- sum(sd$exp > 0) - 1
  groups <- list()
  for (l in lv) {
    sel <- ok & v == l
    gf <- survfit(Surv(t[sel], e[sel]) ~ 1, conf.type = "log-log")
    groups[[l]] <- list(n = sum(sel), events = sum(e[sel]), at_years = km_at(gf, YEARS))
  }
  out$overall_survival_landmark <- list(
    n = sum(keep), n_excluded = sum(!keep),
    by = list(response = list(groups = groups, n_missing = sum(!ok),
                              logrank = list(statistic = sd$chisq, df = df,
                                             p = pchisq(sd$chisq, df, lower.tail = FALSE)))))
  out
}

dir.create("tests/reference/data", showWarnings = FALSE, recursive = TRUE)
result <- list(landmark_months = LANDMARK_MONTHS, registries = list())
for (name in c("colon", "mgus2")) {
  reg <- if (name == "colon") build_colon() else build_mgus2()
  file <- sprintf("tests/reference/data/registry_landmark_%s.csv", name)
  write.csv(reg[, COLUMNS], file, row.names = FALSE, quote = FALSE, na = "")
  back <- read.csv(file, colClasses = "character", na.strings = character(0))
  result$registries[[name]] <- analyse(back)
}
writeLines(toJSON(result, auto_unbox = TRUE, digits = NA, null = "null", na = "null", pretty = TRUE),
           "tests/reference/r_landmark.json")
