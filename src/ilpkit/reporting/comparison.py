"""The registry's headline figures beside the published ones (the report and ``ilp demo``)."""

from __future__ import annotations

from dataclasses import dataclass

from ilpkit.reporting import formatting as fmt
from ilpkit.reporting.published import PublishedSeries
from ilpkit.stats.results import AnalysisResults, Proportion


@dataclass(frozen=True)
class Headline:
    """One headline figure of the registry, with the published value it is compared with.

    Attributes
    ----------
    key : str
        ``orr``, ``cr``, ``pr``, ``local_recurrence``, ``os_5y`` or ``limb_salvage`` (the
        field names of the published-series data file).
    label, unit : str
        What it is, and per what (perfusion, patient).
    estimate : float or None
        Fraction (0-1).
    ci95 : tuple of float or None
    counts : str
        ``k/n`` for proportions, ``n = ...`` for survival.
    published : float or None
        The seed study's figure as a fraction.
    """

    key: str
    label: str
    unit: str
    estimate: float | None
    ci95: tuple[float | None, float | None]
    counts: str
    published: float | None

    @property
    def text(self) -> str:
        """``69.7% (63.3–75.6)``."""
        return fmt.estimate_ci(self)

    @property
    def published_text(self) -> str:
        return fmt.percent(self.published, 0) if self.published is not None else fmt.DASH

    @property
    def published_inside_ci(self) -> bool | None:
        """Whether the published figure lies inside this registry's 95% CI."""
        lo, hi = self.ci95
        if self.published is None or lo is None or hi is None:
            return None
        return lo <= self.published <= hi


def headline_figures(results: AnalysisResults, seed: PublishedSeries | None) -> list[Headline]:
    """The six headline figures: ORR, CR, PR, crude local recurrence, 5-year OS, limb salvage.

    Parameters
    ----------
    results : AnalysisResults
        From :func:`ilpkit.stats.analysis.analyze`; sections not analysed
        are left out.
    seed : PublishedSeries, optional
        Published values to put beside them.
    """
    pub = {} if seed is None else {k: v / 100.0 for k, v in seed.pct.items()}
    out: list[Headline] = []

    def prop(key: str, label: str, unit: str, entry: Proportion) -> None:
        if not entry.n:
            return
        out.append(
            Headline(key, label, unit, entry.estimate, entry.ci95, fmt.n_of(entry), pub.get(key))
        )

    resp = results.response
    if resp:
        prop("orr", "Overall response (CR + PR)", "perfusion", resp.orr)
        prop("cr", "Complete response", "perfusion", resp.cr)
        prop("pr", "Partial response", "perfusion", resp.pr)
    lr = results.local_recurrence
    if lr:
        prop("local_recurrence", "Local recurrence (crude)", "perfusion", lr.crude)
    os_ = results.overall_survival
    if os_:
        s5 = os_.at_years.get("5")
        if s5 is not None and s5.estimate is not None:
            out.append(
                Headline(
                    "os_5y",
                    "5-year overall survival",
                    "patient",
                    s5.estimate,
                    s5.ci95,
                    f"n = {fmt.count(os_.n)}",
                    pub.get("os_5y"),
                )
            )
    ls = results.limb_salvage
    if ls:
        prop("limb_salvage", "Limb salvage", "perfusion", ls.per_perfusion)
    return out
