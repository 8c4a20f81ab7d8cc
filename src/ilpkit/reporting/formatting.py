"""Number formatting for the report and the terminal: percentages with CIs, p-values, hazard
ratios, medians. ``ilp analyze`` and ``ilp report`` print every number through this module.

Conventions: percentages with one decimal; ranges and intervals with an en dash; counts with
thousands separators; missing numbers print as an en dash. P-values in the plain style
(default) have three decimals below 0.1, two above, and ``< 0.001`` below that (``p = 0.008``);
the journal style (AMA/JAMA) drops the leading zero and writes a capital P (``P = .008``,
``P < .001``, ``P > .99``).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:  # annotations only: ``ilp`` starts without numpy, pandas or pydantic
    from ilpkit.stats.descriptive import NumericSummary
    from ilpkit.stats.results import CoxTerm, Proportion

DASH = "–"
"""Printed for a missing or undefined number."""

PStyle = Literal["plain", "journal"]
"""How p-values are written: ``plain`` (``p = 0.008``) or ``journal`` (``P = .008``)."""
P_STYLES: tuple[PStyle, ...] = ("plain", "journal")


class EstimateWithCI(Protocol):
    """Anything with an estimate and a 95% CI (proportions, survival, medians, headlines)."""

    @property
    def estimate(self) -> float | None: ...

    @property
    def ci95(self) -> tuple[float | None, float | None]: ...


def _ok(x: Any) -> bool:
    return x is not None and isinstance(x, int | float) and math.isfinite(float(x))


def count(n: int | None) -> str:
    """``1234567`` -> ``1,234,567``."""
    return DASH if n is None else f"{int(n):,}"


def percent(fraction: float | None, digits: int = 1) -> str:
    """A fraction (0-1) as a percentage: ``0.697`` -> ``69.7%``."""
    if fraction is None or not _ok(fraction):
        return DASH
    return f"{100 * fraction:.{digits}f}%"


def interval(lo: float | None, hi: float | None, scale: float = 100.0, digits: int = 1) -> str:
    """``(0.633, 0.756)`` -> ``63.3–75.6``; a missing limit prints as an en dash, and a
    positive limit too small for ``digits`` keeps two significant digits (``0–0.037``)."""

    def one(v: float | None) -> str:
        if v is None or not _ok(v):
            return DASH
        x = scale * v
        if 0 < x < 0.5 * 10**-digits:  # a positive limit must not print as 0.0
            return f"{x:.2g}"
        return f"{x:.{digits}f}"

    return f"{one(lo)}{DASH}{one(hi)}"


def estimate_ci(entry: EstimateWithCI | None, digits: int = 1) -> str:
    """An estimate with its 95% CI as percentages: ``69.7% (63.3–75.6)``."""
    if entry is None or not _ok(entry.estimate):
        return DASH
    lo, hi = entry.ci95
    if not _ok(lo) and not _ok(hi):
        return percent(entry.estimate, digits)
    return f"{percent(entry.estimate, digits)} ({interval(lo, hi, digits=digits)})"


def proportion(entry: Proportion | None, digits: int = 1) -> str:
    """A proportion of the results: ``161/231 = 69.7% (63.3–75.6)``."""
    if entry is None or entry.n == 0:
        return DASH
    return f"{count(entry.k)}/{count(entry.n)} = {estimate_ci(entry, digits)}"


def n_of(entry: Proportion | None) -> str:
    """``161/231``."""
    if entry is None or entry.n == 0:
        return DASH
    return f"{count(entry.k)}/{count(entry.n)}"


def pvalue(p: float | None, style: PStyle = "plain") -> str:
    """A p-value for a table cell.

    Plain: ``0.0004`` -> ``< 0.001``; ``0.0081`` -> ``0.008``; ``0.62`` -> ``0.62``.
    Journal: ``< .001``, ``.008``, ``.62``, and ``> .99`` for a p-value that rounds to 1.
    """
    if p is None or not _ok(p):
        return DASH
    if p < 0.001:
        text = "< 0.001"
    elif p < 0.1:
        text = f"{p:.3f}"
    elif style == "journal" and p >= 0.995:
        return "> .99"
    else:
        text = f"{p:.2f}"
    return text.replace("0.", ".", 1) if style == "journal" else text


def p_equals(p: float | None, style: PStyle = "plain") -> str:
    """``p = 0.008`` / ``p < 0.001`` (plain) or ``P = .008`` / ``P < .001`` (journal) for
    running text and figures."""
    text = pvalue(p, style)
    letter = "P" if style == "journal" else "p"
    return f"{letter} {text}" if text[0] in "<>" else f"{letter} = {text}"


def hazard_ratio(term: CoxTerm | None) -> str:
    """``1.52 (1.10–2.09)``."""
    if term is None or term.hr is None or not _ok(term.hr):
        return DASH
    lo, hi = term.ci95
    return f"{term.hr:.2f} ({interval(lo, hi, scale=1.0, digits=2)})"


def ratio_ci(ratio: float | None, ci95: tuple[float | None, float | None]) -> str:
    """A ratio (e.g. a subdistribution hazard ratio) with its CI: ``1.52 (1.10–2.09)``."""
    if not _ok(ratio):
        return DASH
    assert ratio is not None
    return f"{ratio:.2f} ({interval(ci95[0], ci95[1], scale=1.0, digits=2)})"


def years(entry: EstimateWithCI | None, digits: int = 1) -> str:
    """A time in years with its CI: ``12.6 (11.7–15.0)``; ``not reached`` when undefined."""
    if entry is None or entry.estimate is None or not _ok(entry.estimate):
        return "not reached"
    lo, hi = entry.ci95

    def one(v: float | None) -> str:
        return f"{v:.{digits}f}" if _ok(v) else "NR"

    return f"{entry.estimate:.{digits}f} ({one(lo)}{DASH}{one(hi)})"


def number(x: float | None, digits: int = 1) -> str:
    """A plain number with ``digits`` decimals."""
    return f"{x:,.{digits}f}" if _ok(x) else DASH


def median_iqr(s: NumericSummary, digits: int = 1) -> str:
    """``58.2 [45.0–68.1]`` (median [first–third quartile])."""
    if s.n == 0:
        return DASH
    return f"{number(s.median, digits)} [{number(s.q1, digits)}{DASH}{number(s.q3, digits)}]"


def value_range(s: NumericSummary, digits: int = 1) -> str:
    """``20.1–89.7``."""
    if s.n == 0:
        return DASH
    return f"{number(s.minimum, digits)}{DASH}{number(s.maximum, digits)}"


def n_percent(n: int, pct: float | None) -> str:
    """``98 (47.1%)``."""
    if pct is None:
        return count(n)
    return f"{count(n)} ({pct:.1f}%)"
