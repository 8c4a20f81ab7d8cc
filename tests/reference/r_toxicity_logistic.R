# Reference values for the logistic regression (ilpkit.stats.logistic), the toxicity analysis
# (ilpkit.stats.toxicity) and the TNF dose comparison (ilpkit.stats.tnf_dose), computed by R.
#
# Run from the repository root:
#     Rscript tests/reference/r_toxicity_logistic.R
# Needs R with cmprsk and jsonlite. Writes the data it fitted on to tests/reference/data/tox_*.csv
# and registry_infert_toxicity.csv (a Registry CSV v1 file built here from R's infert data), and
# R's numbers to tests/reference/r_toxicity_logistic.json (15 significant digits).
#
# Public data sets used: mtcars and infert (R datasets).

suppressPackageStartupMessages({
  library(cmprsk)
  library(jsonlite)
})

out_dir <- file.path("tests", "reference")
data_dir <- file.path(out_dir, "data")
dir.create(data_dir, showWarnings = FALSE, recursive = TRUE)
tight <- glm.control(epsilon = 1e-14, maxit = 100)

glm_summary <- function(fit) {
  co <- summary(fit)$coefficients
  list(
    names = rownames(co),
    coef = unname(co[, 1]), se = unname(co[, 2]), z = unname(co[, 3]), p = unname(co[, 4]),
    deviance = fit$deviance, null_deviance = fit$null.deviance, aic = fit$aic,
    lr_statistic = fit$null.deviance - fit$deviance, lr_df = fit$df.null - fit$df.residual,
    lr_p = pchisq(fit$null.deviance - fit$deviance, fit$df.null - fit$df.residual,
                  lower.tail = FALSE)
  )
}

# ---- plain logistic models on two R data sets
mt <- mtcars[, c("am", "wt", "hp")]
write.csv(mt, file.path(data_dir, "tox_mtcars.csv"), row.names = FALSE)
inf <- infert[, c("case", "age", "parity", "induced", "spontaneous")]
write.csv(inf, file.path(data_dir, "tox_infert.csv"), row.names = FALSE)
models <- list(
  c(list(name = "mtcars", data_file = "tox_mtcars.csv", outcome = "am", terms = c("wt", "hp")),
    glm_summary(glm(am ~ wt + hp, data = mt, family = binomial, control = tight))),
  c(list(name = "infert", data_file = "tox_infert.csv", outcome = "case",
         terms = c("age", "parity", "induced", "spontaneous")),
    glm_summary(glm(case ~ age + parity + induced + spontaneous, data = inf,
                    family = binomial, control = tight)))
)

# ---- a Registry CSV v1 file built from infert (248 SYNTHETIC perfusions, one per patient)
edu <- as.integer(infert$education)  # 1 = 0-5yrs, 2 = 6-11yrs, 3 = 12+ yrs
leg <- infert$spontaneous < 2
volume <- ifelse(leg, 8, 2.5)
fu_days <- 200 + 15 * infert$stratum
lr <- infert$spontaneous >= 1
lr_days <- pmin(60 * infert$parity + 10 * infert$spontaneous, fu_days)
dead <- infert$age >= 40
ilp <- as.Date("2000-01-01")
reg <- data.frame(
  patient_id = sprintf("SYN-%03d", seq_len(nrow(infert))),
  center = "SYNTH",
  sex = ifelse(infert$stratum %% 2 == 1, "M", "F"),
  birth_date = sprintf("%d-06-15", 1999 - infert$age),
  death_date = ifelse(dead, format(ilp + fu_days), ""),
  last_followup_date = format(ilp + fu_days),
  ilp_date = format(ilp),
  limb = ifelse(leg, "leg", "arm"),
  perfusion_level = ifelse(leg, "femoral", "axillary"),
  limb_volume_l = volume,
  tnf_mg = ifelse(infert$induced == 0, 2, 3),
  melphalan_mg = volume * infert$age / 4,
  histology = "liposarcoma",
  multifocal = "no",
  presentation = "primary",
  prior_radiotherapy = "no",
  response = c("CR", "PR", "NC")[edu],
  local_recurrence_date = ifelse(lr, format(ilp + lr_days), ""),
  max_leakage_pct = (infert$parity - 1) * 1.5,
  wieberdink_grade = ifelse(infert$case == 1, ifelse(infert$spontaneous == 2, 5, 4),
                            ifelse(infert$induced == 0, 2, 3)),
  max_tissue_temp_c = c(38.5, 39.5, 40.5)[edu],
  systemic_toxicity_grade = infert$induced,
  complication_clavien_dindo = c("0", "I", "II")[infert$spontaneous + 1],
  stringsAsFactors = FALSE
)
registry_file <- "registry_infert_toxicity.csv"
write.csv(reg, file.path(data_dir, registry_file), row.names = FALSE, na = "")

# ---- the analysis, from the file as written
r <- read.csv(file.path(data_dir, registry_file), stringsAsFactors = FALSE,
              colClasses = "character")
num <- function(x) as.numeric(x)
severe <- as.integer(num(r$wieberdink_grade) >= 4)
mgl <- num(r$melphalan_mg) / num(r$limb_volume_l)
leak <- num(r$max_leakage_pct)
temp <- num(r$max_tissue_temp_c)
tnf_group <- ifelse(num(r$tnf_mg) <= 2, "<=2 mg", ">2 mg")
groupings <- list(
  tnf_dose_group = list(values = tnf_group, levels = c("<=2 mg", ">2 mg"), ordered = TRUE),
  melphalan_mg_per_l_group = list(
    values = ifelse(mgl <= 10, "<=10 mg/L", ifelse(mgl <= 13, ">10-13 mg/L", ">13 mg/L")),
    levels = c("<=10 mg/L", ">10-13 mg/L", ">13 mg/L"), ordered = TRUE),
  max_leakage_pct_group = list(
    values = ifelse(leak < 2, "<2%", ifelse(leak < 10, "2-<10%", ">=10%")),
    levels = c("<2%", "2-<10%", ">=10%"), ordered = TRUE),
  max_tissue_temp_c_group = list(
    values = ifelse(temp < 39, "<39 °C", ifelse(temp <= 40, "39-40 °C", ">40 °C")),
    levels = c("<39 °C", "39-40 °C", ">40 °C"), ordered = TRUE),
  limb = list(values = r$limb, levels = c("arm", "leg"), ordered = FALSE)
)

table_test <- function(group, y, levels) {
  present <- levels[levels %in% group]
  tab <- table(factor(group, levels = present), factor(y, levels = c(0, 1)))
  expected <- suppressWarnings(chisq.test(tab, correct = FALSE)$expected)
  if (all(expected >= 5)) {
    ct <- chisq.test(tab, correct = FALSE)
    list(test = "chi2", statistic = unname(ct$statistic), df = unname(ct$parameter),
         p = ct$p.value)
  } else {
    list(test = "fisher", p = fisher.test(tab)$p.value)
  }
}

associations <- list()
for (nm in names(groupings)) {
  g <- groupings[[nm]]
  present <- g$levels[g$levels %in% g$values]
  k <- sapply(present, function(lv) sum(severe[g$values == lv]))
  n <- sapply(present, function(lv) sum(g$values == lv))
  entry <- c(list(levels = present, k = unname(k), n = unname(n)),
             table_test(g$values, severe, g$levels))
  if (g$ordered) {
    tr <- prop.trend.test(k, n, score = match(present, g$levels))
    entry$trend <- list(statistic = unname(tr$statistic), p = tr$p.value)
  }
  associations[[nm]] <- entry
}

grade_ci <- function(values, labels) {
  n <- length(values)
  lapply(setNames(labels, labels), function(lb) {
    k <- sum(values == lb)
    ci <- binom.test(k, n)$conf.int
    list(k = k, n = n, lower = ci[1], upper = ci[2])
  })
}
wieberdink <- grade_ci(c("I", "II", "III", "IV", "V")[num(r$wieberdink_grade)],
                       c("I", "II", "III", "IV", "V"))
systemic <- grade_ci(r$systemic_toxicity_grade, as.character(0:5))
complications <- grade_ci(r$complication_clavien_dindo,
                          c("0", "I", "II", "IIIa", "IIIb", "IVa", "IVb", "V"))

d <- data.frame(severe = severe, tnf_high = as.integer(tnf_group == ">2 mg"), mgl = mgl,
                leak = leak, temp = temp, leg = as.integer(r$limb == "leg"))
tox_model <- glm_summary(glm(severe ~ tnf_high + mgl + leak + temp + leg, data = d,
                             family = binomial, control = tight))
tox_model$names <- c("(Intercept)", "tnf_dose_group[>2 mg]", "melphalan_mg_per_l",
                     "max_leakage_pct", "max_tissue_temp_c", "limb[leg]")

# TNF dose: response (CR + PR; CR), severe toxicity, local recurrence with death competing
objective <- as.integer(r$response %in% c("CR", "PR"))
complete <- as.integer(r$response == "CR")
has_lr <- r$local_recurrence_date != ""
died <- r$death_date != ""
end <- as.Date(ifelse(has_lr, r$local_recurrence_date, r$last_followup_date))
time_years <- as.numeric(end - as.Date(r$ilp_date)) / 365.25
status <- ifelse(has_lr, 1, ifelse(died, 2, 0))
ci <- cuminc(time_years, status, group = tnf_group)
gray <- ci$Tests["1", ]
tp <- timepoints(ci, c(1, 2))
tnf <- list(
  orr = table_test(tnf_group, objective, c("<=2 mg", ">2 mg")),
  orr_k = unname(tapply(objective, tnf_group, sum)), n = unname(tapply(objective, tnf_group, length)),
  cr = table_test(tnf_group, complete, c("<=2 mg", ">2 mg")),
  cr_k = unname(tapply(complete, tnf_group, sum)),
  severe = table_test(tnf_group, severe, c("<=2 mg", ">2 mg")),
  gray = list(statistic = unname(gray["stat"]), p = unname(gray["pv"]), df = unname(gray["df"])),
  cif_low = unname(tp$est["<=2 mg 1", ]), cif_high = unname(tp$est[">2 mg 1", ]),
  var_low = unname(tp$var["<=2 mg 1", ]), var_high = unname(tp$var[">2 mg 1", ])
)

out <- list(
  r_version = R.version.string,
  models = models,
  registry = list(
    data_file = registry_file,
    wieberdink = wieberdink, systemic = systemic, complications = complications,
    associations = associations, model = tox_model, tnf_dose = tnf
  )
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           file.path(out_dir, "r_toxicity_logistic.json"))
