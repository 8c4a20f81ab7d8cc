"""The report's written parts: the methods paragraph, the results paragraph and the references.

Both paragraphs are generated from the analysis results, so they name exactly the methods that were
used (e.g. Fisher's exact test only when a comparison needed it) and quote the numbers that the
tables show.
"""

from __future__ import annotations

from dataclasses import dataclass

from ilpkit.reporting import formatting as fmt
from ilpkit.reporting.labels import variable_label
from ilpkit.stats.results import AnalysisResults

R_VALIDATION = "R survival 3.5-3 / cmprsk 2.2-11"
"""The R versions ilpkit's statistics are tested against (tests/reference/)."""


@dataclass(frozen=True)
class Reference:
    """A numbered reference of the methods section."""

    key: str
    text: str


REFERENCES: dict[str, str] = {
    "km": "Kaplan EL, Meier P. Nonparametric estimation from incomplete observations. "
    "J Am Stat Assoc. 1958;53:457-481.",
    "greenwood": "Greenwood M. The natural duration of cancer. Reports on Public Health and "
    "Medical Subjects 33. London: HMSO; 1926.",
    "loglog": "Kalbfleisch JD, Prentice RL. The Statistical Analysis of Failure Time Data. "
    "New York: Wiley; 1980 (2nd ed. 2002).",
    "brookmeyer": "Brookmeyer R, Crowley J. A confidence interval for the median survival "
    "time. Biometrics. 1982;38:29-41.",
    "schemper": "Schemper M, Smith TL. A note on quantifying follow-up in studies of failure "
    "time. Control Clin Trials. 1996;17:343-346.",
    "logrank": "Mantel N. Evaluation of survival data and two new rank order statistics "
    "arising in its consideration. Cancer Chemother Rep. 1966;50:163-170.",
    "peto": "Peto R, Pike MC, Armitage P, et al. Design and analysis of randomized clinical "
    "trials requiring prolonged observation of each patient. II. Analysis and examples. "
    "Br J Cancer. 1977;35:1-39.",
    "cox": "Cox DR. Regression models and life-tables. J R Stat Soc B. 1972;34:187-220.",
    "efron": "Efron B. The efficiency of Cox's likelihood function for censored data. "
    "J Am Stat Assoc. 1977;72:557-565.",
    "breslow": "Breslow NE. Covariance analysis of censored survival data. Biometrics. "
    "1974;30:89-99.",
    "grambsch": "Grambsch PM, Therneau TM. Proportional hazards tests and diagnostics based on "
    "weighted residuals. Biometrika. 1994;81:515-526.",
    "aalen": "Aalen OO, Johansen S. An empirical transition matrix for non-homogeneous Markov "
    "chains based on censored observations. Scand J Stat. 1978;5:141-150.",
    "aalen_var": "Aalen O. Nonparametric estimation of partial transition probabilities in "
    "multiple decrement models. Ann Stat. 1978;6:534-545.",
    "choudhury": "Choudhury JB. Non-parametric confidence interval estimation for competing "
    "risks analysis: application to contraceptive data. Stat Med. 2002;21:1129-1144.",
    "gray": "Gray RJ. A class of K-sample tests for comparing the cumulative incidence of a "
    "competing risk. Ann Stat. 1988;16:1141-1154.",
    "clopper": "Clopper CJ, Pearson ES. The use of confidence or fiducial limits illustrated "
    "in the case of the binomial. Biometrika. 1934;26:404-413.",
    "fisher": "Fisher RA. The logic of inductive inference. J R Stat Soc. 1935;98:39-82; "
    "Freeman GH, Halton JH. Note on an exact treatment of contingency, goodness of fit and "
    "other problems of significance. Biometrika. 1951;38:141-149.",
    "mehta": "Mehta CR, Patel NR. A network algorithm for performing Fisher's exact test in "
    "r × c contingency tables. J Am Stat Assoc. 1983;78:427-434.",
    "hyndman": "Hyndman RJ, Fan Y. Sample quantiles in statistical packages. Am Stat. "
    "1996;50:361-365.",
    "strobe": "von Elm E, Altman DG, Egger M, et al. The Strengthening the Reporting of "
    "Observational Studies in Epidemiology (STROBE) statement. Lancet. 2007;370:1453-1457.",
    "who": "Miller AB, Hoogstraten B, Staquet M, Winkler A. Reporting results of cancer "
    "treatment. Cancer. 1981;47:207-214.",
    "wieberdink": "Wieberdink J, et al. Dosimetry in isolation "
    "perfusion of the limbs by assessment of perfused tissue volume and grading of toxic "
    "tissue reactions. Eur J Cancer Clin Oncol. 1982;18:905-910.",
    "ajcc": "Amin MB, Edge SB, Greene FL, et al., eds. AJCC Cancer Staging Manual. 8th ed. "
    "Springer; 2017.",
}


class _Cites:
    """Numbers references in order of first citation."""

    def __init__(self) -> None:
        self.order: list[str] = []

    def __call__(self, *keys: str) -> str:
        nums = []
        for k in keys:
            if k not in self.order:
                self.order.append(k)
            nums.append(self.order.index(k) + 1)
        return "[" + ", ".join(str(n) for n in sorted(nums)) + "]"

    def references(self) -> list[Reference]:
        return [Reference(k, REFERENCES[k]) for k in self.order]


@dataclass(frozen=True)
class WrittenText:
    """Paragraphs (plain text, one string each) and the numbered references they cite."""

    methods: tuple[str, ...]
    results: tuple[str, ...]
    references: tuple[Reference, ...]


def lower_first(label: str) -> str:
    """``Multifocal tumour`` -> ``multifocal tumour``; acronyms (``FNCLCC grade``) are kept."""
    if len(label) > 1 and label[:2].isupper():
        return label
    return label[:1].lower() + label[1:]


def _tests_used(results: AnalysisResults) -> set[str]:
    if results.response is None:
        return set()
    return {entry.test for entry in results.response.by.values() if entry.test}


def methods_paragraphs(results: AnalysisResults, version: str, cite: _Cites) -> list[str]:
    """The statistical methods, naming every method the results used, with citations."""
    c = results.cohort
    paras = [
        f"All {fmt.count(c.n_patients)} patients and {fmt.count(c.n_perfusions)} "
        f"perfusions in the registry ({c.n_centers} centre{'s' if c.n_centers != 1 else ''}; "
        f"perfusions from {c.first_ilp_date} to {c.last_ilp_date}; last follow-up "
        f"{c.last_followup_date}) were analysed, and the report follows the STROBE items for "
        f"cohort studies {cite('strobe')}. Baseline characteristics are given per patient at "
        "the first perfusion and perfusion characteristics per perfusion, as n (%) of the "
        "recorded values and median [interquartile range; quartiles by linear interpolation, "
        f"type 7 {cite('hyndman')}], with the number of missing values for each item. Tumour "
        f"size groups are the AJCC 8th edition T categories {cite('ajcc')} and regional "
        f"toxicity is graded after Wieberdink {cite('wieberdink')}."
    ]
    ep = []
    if results.response is not None:
        ep.append(
            f"tumour response per perfusion (best WHO response {cite('who')}; CR + PR is the "
            "overall response rate, ORR; not-evaluable and unrecorded responses are left out of "
            "the denominator)"
        )
    if results.local_recurrence is not None:
        ep.append(
            "local recurrence per perfusion, from the perfusion, with death without local "
            "recurrence as a competing event"
        )
    if results.overall_survival is not None:
        ep.append(
            "overall survival per patient, from the first perfusion to death from any cause, "
            "censored at the date of last follow-up"
        )
    if results.limb_salvage is not None:
        ep.append(
            "limb salvage per perfusion (no amputation after it) and per patient (never "
            "amputated), and amputation-free survival"
        )
    if ep:
        paras.append("Endpoints were " + "; ".join(ep) + ".")
    stats = [
        f"Proportions are given with exact Clopper–Pearson 95% confidence intervals "
        f"{cite('clopper')}."
    ]
    used = _tests_used(results)
    if used:
        rule = (
            "Groups were compared with Pearson's χ² test without continuity correction when "
            "every expected count was at least 5, and otherwise with Fisher's exact test "
            f"(two-sided, r × c {cite('fisher', 'mehta')})"
        )
        stats.append(rule + "; each comparison names the test it used.")
    stats.append(
        "Survival was estimated by the Kaplan–Meier method "
        f"{cite('km')} with Greenwood's variance {cite('greenwood')} and pointwise 95% "
        f"confidence intervals on the log(−log) scale {cite('loglog')}; median survival "
        f"intervals follow Brookmeyer and Crowley {cite('brookmeyer')}. Median follow-up was "
        f"estimated by the reverse Kaplan–Meier method {cite('schemper')}, with a log(−log) "
        "95% confidence interval."
    )
    os_ = results.overall_survival
    if os_ is not None:
        trend = any(e.trend is not None for e in os_.by.values())
        s = f"Survival curves were compared with the log-rank test {cite('logrank')}"
        if trend:
            s += (
                ", and across ordered groups (grade, tumour-size group) with the log-rank test "
                f"for trend with scores 1, 2, … {cite('peto')}"
            )
        stats.append(s + ".")
        cox = os_.cox
        if cox is not None:
            ties = cox.ties
            tie_ref = cite("efron") if ties == "efron" else cite("breslow")
            stats.append(
                f"Hazard ratios were estimated with Cox proportional-hazards regression "
                f"{cite('cox')}, univariable for each term and multivariable with all terms "
                f"together, with {ties.capitalize()}'s method for tied death times {tie_ref}, "
                "Wald 95% confidence intervals and a likelihood-ratio test of the model; "
                "patients with a missing value of a term were left out of that model. "
                "Proportional hazards were checked with the score test on scaled Schoenfeld "
                f"residuals (cox.zph, Kaplan–Meier time transform) {cite('grambsch')}."
            )
    if results.local_recurrence is not None:
        stats.append(
            "The cumulative incidence of local recurrence was estimated with the Aalen–Johansen "
            f"estimator {cite('aalen')}, treating death without local recurrence as a competing "
            f"risk, with Aalen's variance {cite('aalen_var')} and 95% confidence intervals on "
            f"the log(−log) scale {cite('choudhury')}; groups were compared with Gray's test "
            f"{cite('gray')}. Crude local recurrence rates are also given."
        )
    stats.append(
        "All tests are two-sided, without adjustment for multiple comparisons; subgroup "
        "analyses are exploratory. Times are in years (days / 365.25)."
    )
    stats.append(
        f"Software: ilpkit {version}, validated against {R_VALIDATION} (every estimate, "
        "interval and test is checked against R in ilpkit's test suite)."
    )
    paras.append(" ".join(stats))
    return paras


def _differences(p_by_variable: dict[str, float | None], p_style: fmt.PStyle) -> list[str]:
    """``FNCLCC grade (p = 0.010)`` for each variable whose comparison has p < 0.05."""
    return [
        f"{lower_first(variable_label(v))} ({fmt.p_equals(p, p_style)})"
        for v, p in p_by_variable.items()
        if p is not None and p < 0.05
    ]


def results_paragraphs(results: AnalysisResults, p_style: fmt.PStyle = "plain") -> list[str]:
    """A short results paragraph with the headline numbers."""
    c = results.cohort
    parts = [
        f"{fmt.count(c.n_patients)} patients underwent {fmt.count(c.n_perfusions)} "
        f"perfusions between {c.first_ilp_date} and {c.last_ilp_date}; median follow-up "
        f"was {fmt.years(c.median_followup_years)} years."
    ]
    r = results.response
    if r:
        parts.append(
            f"Of {fmt.count(r.n_evaluable)} evaluable perfusions, "
            f"{fmt.count(r.orr.k)} responded (ORR {fmt.estimate_ci(r.orr)}): complete "
            f"response {fmt.estimate_ci(r.cr)}, partial response {fmt.estimate_ci(r.pr)}."
        )
        sig = _differences({v: e.p for v, e in r.by.items()}, p_style)
        if sig:
            parts.append("Response differed by " + ", ".join(sig) + ".")
    lr = results.local_recurrence
    if lr:
        five = lr.at_years.get("5")
        text = (
            f"Local recurrence followed {fmt.count(lr.crude.k)} of "
            f"{fmt.count(lr.crude.n)} perfusions (crude {fmt.estimate_ci(lr.crude)})"
        )
        if five and five.estimate is not None:
            text += f"; the 5-year cumulative incidence was {fmt.estimate_ci(five)}"
        sig = _differences({v: e.gray.p for v, e in lr.by.items()}, p_style)
        if sig:
            text += "; it differed by " + ", ".join(sig) + " (Gray's test)"
        parts.append(text + ".")
    os_ = results.overall_survival
    if os_:
        s5 = os_.at_years.get("5")
        text = f"{fmt.count(os_.events)} of {fmt.count(os_.n)} patients died"
        if s5 and s5.estimate is not None:
            text += f"; 5-year overall survival was {fmt.estimate_ci(s5)}"
        text += f" and median survival {fmt.years(os_.median_years)} years"
        sig = _differences({v: e.logrank.p for v, e in os_.by.items()}, p_style)
        if sig:
            text += "; survival differed by " + ", ".join(sig) + " (log-rank)"
        parts.append(text + ".")
    ls = results.limb_salvage
    if ls:
        parts.append(
            f"The limb was saved after {fmt.estimate_ci(ls.per_perfusion)} of perfusions "
            f"and in {fmt.estimate_ci(ls.per_patient)} of patients."
        )
    return [" ".join(parts)]


def written_text(
    results: AnalysisResults, version: str, p_style: fmt.PStyle = "plain"
) -> WrittenText:
    """Methods and results paragraphs with their numbered references."""
    cite = _Cites()
    methods = methods_paragraphs(results, version, cite)
    return WrittenText(
        tuple(methods), tuple(results_paragraphs(results, p_style)), tuple(cite.references())
    )
