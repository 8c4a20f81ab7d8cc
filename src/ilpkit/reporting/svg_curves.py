"""Kaplan-Meier and cumulative-incidence curves as inline SVG text, for the web dashboard.

Pure functions from step-curve data (times in years, estimates, pointwise confidence limits and
the numbers at risk at the tick years) to the text of an ``<svg>`` element: one step curve per
group with a legend, an optional shaded confidence band, axes with year ticks, the y axis from
0 to 100%, and a numbers-at-risk table under the plot, aligned with the ticks.

The SVG follows the conventions of the leakage chart (:mod:`ilpkit.web.leakage_chart`): a
view box that scales to the page width, coordinates rounded to 0.01, classes instead of style
attributes (colours, fonts and line styles are in ``web/static/style.css``, so a page with the
Content-Security-Policy ``default-src 'self'`` can embed it), no script. Every text (group
labels come from registry data) is XML-escaped. It is accessible: ``role="img"``, a ``<title>``
and a ``<desc>`` stating each curve's estimate at the tick years.

The statistics are not computed here: the curves come from :mod:`ilpkit.stats` through
:mod:`ilpkit.services.dashboard`, as the report's matplotlib figures
(:func:`ilpkit.reporting.figures.curve_figure`) do.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal
from xml.sax.saxutils import escape

import numpy as np

from ilpkit.reporting import formatting

WIDTH = 720.0
"""Width of the SVG's view box (it scales to the page width)."""
LEFT, RIGHT, TOP = 170.0, 20.0, 16.0
"""Margins of the plot area: the left one holds the y-axis label and the at-risk row labels."""
PLOT_HEIGHT = 300.0
"""Height of the plot area (y from 0 to 100%)."""
AXIS_HEIGHT = 44.0
"""Below the plot: the x tick labels and the axis label."""
ROW_HEIGHT = 18.0
"""Height of one row of the numbers-at-risk table (the first row is its heading)."""
BOTTOM_PAD = 8.0
Y_TICKS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
"""Values of the y-axis ticks and grid lines."""
TICK_STEPS_YEARS = (0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0)
"""x tick spacings tried, smallest first: at most 10 intervals (as the report's figures)."""
MAX_TICKS = 10
COLOURS = 7
"""Group i gets the stroke class ``s{i % 7}`` and fill class ``f{i % 7}`` (the report's
Okabe-Ito palette, in the style sheet)."""
MAX_CENSOR_MARKS = 150
"""At most one censor mark per 1/150 of the time axis (denser marks merge into a band)."""
LABEL_CHARS = 21
"""Row labels of the at-risk table longer than this are shortened to fit the left margin (the
legend has them in full)."""
CHAR_WIDTH = 6.6
"""Estimated width of one character of legend text (12 px sans-serif), for the legend box."""

Kind = Literal["survival", "incidence"]


@dataclass(frozen=True, eq=False)
class Curve:
    """One group's right-continuous step function.

    Attributes
    ----------
    label : str
        Group name (registry data: escaped when drawn).
    time_years, value : ndarray
        Step times (increasing) and the estimate just after each.
    lower, upper : ndarray or None
        Pointwise 95% confidence limits after each step (NaN: no band there); None: no band.
    start : float
        Value at time 0 (1 for survival, 0 for incidence).
    end_years : float
        Last time the curve is drawn to.
    censor_years, censor_value : ndarray
        Where to put censor marks (may be empty).
    at_risk : tuple of int or None
        Numbers at risk at the plot's tick years (None: no row in the table).
    row_label : str or None
        Name of the at-risk row (default: ``label``), e.g. the group without the legend's note
        that its curve is not drawn.
    """

    label: str
    time_years: np.ndarray
    value: np.ndarray
    lower: np.ndarray | None
    upper: np.ndarray | None
    start: float
    end_years: float
    censor_years: np.ndarray = field(default_factory=lambda: np.empty(0))
    censor_value: np.ndarray = field(default_factory=lambda: np.empty(0))
    at_risk: tuple[int, ...] | None = None
    row_label: str | None = None


@dataclass(frozen=True)
class CurvePlot:
    """What one SVG figure shows.

    Attributes
    ----------
    key : str
        Prefix of the element ids (``{key}-title``, ``{key}-desc``); unique on the page.
    title : str
        The figure's title (``<title>``) and the start of its description.
    kind : {"survival", "incidence"}
        Places the legend top right (survival) or top left (incidence).
    ylabel : str
    curves : sequence of Curve
        One per group, with a band and a row in the at-risk table.
    ticks_years : sequence of float
        The x ticks, from 0; the axis ends at the last one.
    extra : sequence of Curve
        Curves drawn dashed in grey, without band or at-risk row (a competing event).
    notes : sequence of str
        Lines such as ``Log-rank p = 0.001``, shown above the legend entries.
    synthetic : bool
        Mark the figure SYNTHETIC.
    """

    key: str
    title: str
    kind: Kind
    ylabel: str
    curves: Sequence[Curve]
    ticks_years: Sequence[float]
    extra: Sequence[Curve] = ()
    notes: Sequence[str] = ()
    synthetic: bool = False
    xlabel: str = "Years"
    at_risk_label: str = "Number at risk"


def text(value: str) -> str:
    """``value`` escaped for SVG/HTML text and double-quoted attribute values."""
    return escape(value, {'"': "&quot;"})


def tick_years(end_years: float) -> tuple[float, ...]:
    """Ticks from 0 every 0.5, 1, 2, 5, 10, ... years (at most 10 intervals) up to
    ``end_years`` (as the report's figures; at least two ticks)."""
    end = end_years if end_years > 0 else 1.0
    step = next((s for s in TICK_STEPS_YEARS if end / s <= MAX_TICKS), TICK_STEPS_YEARS[-1])
    n = math.floor(end / step + 1e-9)
    return tuple(i * step for i in range(max(n, 1) + 1))


def trim_ticks(
    ticks_years: Sequence[float], total_at_risk: Sequence[int], min_at_risk: int
) -> tuple[float, ...]:
    """The ticks up to the last one with at least ``min_at_risk`` at risk over all groups (at
    least the first two ticks), as the report's figures end their time axis."""
    ok = [i for i, n in enumerate(total_at_risk) if n >= min_at_risk]
    last = ok[-1] if len(ok) >= 2 else len(ticks_years) - 1
    return tuple(ticks_years[: max(last, 1) + 1])


def height(plot: CurvePlot) -> float:
    """Height of the view box: plot, x axis, and the at-risk table (heading + one row each)."""
    return TOP + PLOT_HEIGHT + AXIS_HEIGHT + ROW_HEIGHT * (1 + len(plot.curves)) + BOTTOM_PAD


def _num(v: float) -> str:
    """A coordinate rounded to 0.01, without trailing zeros (view-box values have at most 3
    digits before the point, so ``g`` keeps both decimals)."""
    return f"{round(float(v), 2):g}"


class _Axes:
    """Maps years and estimates to view-box coordinates."""

    def __init__(self, x_end_years: float) -> None:
        self.x_end = x_end_years
        self.plot_w = WIDTH - LEFT - RIGHT
        self.bottom = TOP + PLOT_HEIGHT

    def x(self, years: np.ndarray) -> np.ndarray:
        return np.round(LEFT + np.asarray(years, dtype=float) / self.x_end * self.plot_w, 2)

    def y(self, value: np.ndarray) -> np.ndarray:
        v = np.clip(np.asarray(value, dtype=float), 0.0, 1.0)
        return np.round(TOP + (1.0 - v) * PLOT_HEIGHT, 2)


def _thin(x: np.ndarray, x_end: float, columns: int) -> np.ndarray:
    """Indices of the first and last step in each of ``columns`` equal bins of the axis: the
    drawn step function is unchanged at that resolution."""
    if x.shape[0] <= 2 * columns:
        return np.arange(x.shape[0])
    b = np.minimum((x / x_end * columns).astype(np.int64), columns)
    first = np.flatnonzero(np.diff(b, prepend=-1) != 0)
    last = np.flatnonzero(np.diff(b, append=columns + 1) != 0)
    return np.union1d(first, last)


def _segments(c: Curve, x_end: float, columns: int) -> tuple[np.ndarray, ...]:
    """Step corners of a curve cut at ``x_end``: ``x`` (n + 2 values, from 0 to the end) and
    the value, lower and upper limit on each of the n + 1 segments between them."""
    end = min(max(c.end_years, 0.0), x_end)
    t = np.asarray(c.time_years, dtype=float)
    keep = (t > 0) & (t <= end)
    # a step at time 0 changes the start value
    at_zero = np.flatnonzero(t <= 0)
    v = np.asarray(c.value, dtype=float)
    n = v.shape[0]
    lo = np.asarray(c.lower, dtype=float) if c.lower is not None else np.full(n, np.nan)
    hi = np.asarray(c.upper, dtype=float) if c.upper is not None else np.full(n, np.nan)
    if at_zero.shape[0]:
        j = at_zero[-1]
        v0, lo0, hi0 = v[j], lo[j], hi[j]
    else:
        v0, lo0, hi0 = c.start, np.nan, np.nan
    t, v, lo, hi = t[keep], v[keep], lo[keep], hi[keep]
    idx = _thin(t, x_end, columns)
    t, v, lo, hi = t[idx], v[idx], lo[idx], hi[idx]
    x = np.concatenate(([0.0], t, [end]))
    val = np.concatenate(([v0], v))
    low = np.concatenate(([lo0], lo))
    up = np.concatenate(([hi0], hi))
    # no band where the limits are undefined (S = 1 or F = 0): zero width there
    low = np.where(np.isnan(low), val, low)
    up = np.where(np.isnan(up), val, up)
    return x, val, low, up


def step_path(xs: np.ndarray, ys: np.ndarray) -> str:
    """SVG path data of a step function: ``xs`` the n + 2 corner x (view-box units, rounded to
    0.01), ``ys`` the y of the n + 1 segments: ``M x0,y0 H x1 V y1 H x2 ... H x_last``."""
    x, y = xs.tolist(), ys.tolist()
    inner = "".join([f"H{a:g}V{b:g}" for a, b in zip(x[1:-1], y[1:], strict=True)])
    return f"M{x[0]:g},{y[0]:g}{inner}H{x[-1]:g}"


def band_path(xs: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> str:
    """SVG path data of a step-shaped band: along the upper limit, back along the lower one."""
    x, lo = xs.tolist(), lower.tolist()
    back = "".join([f"H{x[i]:g}V{lo[i - 1]:g}" for i in range(len(lo) - 1, 0, -1)])
    return f"{step_path(xs, upper)}V{lo[-1]:g}{back}H{x[0]:g}Z"


def value_at(c: Curve, years: float) -> float:
    """The curve's estimate at ``years`` (right-continuous)."""
    i = int(np.searchsorted(np.asarray(c.time_years, dtype=float), years, side="right")) - 1
    return float(c.value[i]) if i >= 0 else c.start


def description(plot: CurvePlot) -> str:
    """Plain-text summary for ``<desc>``: each curve's estimate at the tick years it reaches,
    the curves without data, and the test lines."""
    parts = [f"{plot.title}, {_number_of(len(plot.curves) + len(plot.extra), 'curve')}."]
    for c in (*plot.curves, *plot.extra):
        years = [t for t in plot.ticks_years if 0 < t <= c.end_years + 1e-9]
        if not years:
            parts.append(f"{c.label}: not drawn.")
            continue
        points = ", ".join(
            f"{formatting.percent(value_at(c, t))} at {t:g} {'year' if t == 1 else 'years'}"
            for t in years
        )
        parts.append(f"{c.label}: {points}.")
    parts.extend(f"{note}." for note in plot.notes)
    return " ".join(parts)


def _number_of(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _short(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"


def render(plot: CurvePlot) -> str:
    """The ``<svg>`` element of ``plot`` (no XML declaration: it is embedded in HTML)."""
    ticks = [float(t) for t in plot.ticks_years] or [0.0, 1.0]
    if len(ticks) < 2:
        ticks = [0.0, ticks[0] if ticks[0] > 0 else 1.0]
    ax = _Axes(ticks[-1])
    columns = int(ax.plot_w)
    h = height(plot)
    key = text(plot.key)
    out = [
        f'<svg class="chart curves" viewBox="0 0 {_num(WIDTH)} {_num(h)}" role="img" '
        f'aria-labelledby="{key}-title {key}-desc" id="{key}">',
        f'<title id="{key}-title">{text(plot.title)}</title>',
        f'<desc id="{key}-desc">{text(description(plot))}</desc>',
    ]
    right = WIDTH - RIGHT
    for v, y in zip(Y_TICKS, ax.y(np.asarray(Y_TICKS)), strict=True):
        ys = _num(y)
        out.append(
            f'<line class="grid" x1="{_num(LEFT)}" x2="{_num(right)}" y1="{ys}" y2="{ys}"/>'
            f'<text class="tick" x="{_num(LEFT - 6)}" y="{_num(y + 4)}" '
            f'text-anchor="end">{v * 100:.0f}%</text>'
        )
    bottom = _num(ax.bottom)
    xs_ticks = ax.x(np.asarray(ticks))
    for t, x in zip(ticks, xs_ticks, strict=True):
        xs = _num(x)
        out.append(
            f'<line class="axis" x1="{xs}" x2="{xs}" y1="{bottom}" y2="{_num(ax.bottom + 5)}"/>'
            f'<text class="tick" x="{xs}" y="{_num(ax.bottom + 19)}" '
            f'text-anchor="middle">{t:g}</text>'
        )
    out.append(
        f'<line class="axis" x1="{_num(LEFT)}" x2="{_num(LEFT)}" y1="{_num(TOP)}" y2="{bottom}"/>'
        f'<line class="axis" x1="{_num(LEFT)}" x2="{_num(right)}" y1="{bottom}" y2="{bottom}"/>'
    )
    mid_x = _num((LEFT + right) / 2)
    mid_y = _num(TOP + PLOT_HEIGHT / 2)
    y_label_x = _num(LEFT - 48)
    out.append(
        f'<text class="axis-label" x="{mid_x}" y="{_num(ax.bottom + 38)}" '
        f'text-anchor="middle">{text(plot.xlabel)}</text>'
        f'<text class="axis-label" x="{y_label_x}" y="{mid_y}" text-anchor="middle" '
        f'transform="rotate(-90 {y_label_x} {mid_y})">{text(plot.ylabel)}</text>'
    )
    # bands first, then the curves on top of every band
    drawn = []
    for i, c in enumerate(plot.curves):
        x, val, low, up = _segments(c, ax.x_end, columns)
        drawn.append((i, c, x, val))
        if c.lower is not None and c.end_years > 0:
            out.append(
                f'<path class="band f{i % COLOURS}" d="{band_path(ax.x(x), ax.y(low), ax.y(up))}"/>'
            )
    for c in plot.extra:
        if c.end_years > 0:
            x, val, _, _ = _segments(c, ax.x_end, columns)
            out.append(f'<path class="step extra" d="{step_path(ax.x(x), ax.y(val))}"/>')
    for i, c, x, val in drawn:
        if c.end_years <= 0:
            continue
        out.append(f'<path class="step s{i % COLOURS}" d="{step_path(ax.x(x), ax.y(val))}"/>')
        marks = _censor_marks(c, ax)
        if marks:
            out.append(f'<path class="censor s{i % COLOURS}" d="{marks}"/>')
    out.extend(_legend(plot, ax))
    out.extend(_at_risk_table(plot, xs_ticks, ax))
    if plot.synthetic:
        out.append(
            f'<text class="synthetic-mark" x="{_num(right)}" y="{_num(TOP + 14)}" '
            'text-anchor="end">SYNTHETIC DATA — not real patients</text>'
        )
    out.append("</svg>")
    return "\n".join(out)


def _censor_marks(c: Curve, ax: _Axes) -> str:
    """Path data of short vertical censor marks (at most one per 1/150 of the axis)."""
    ct = np.asarray(c.censor_years, dtype=float)
    cv = np.asarray(c.censor_value, dtype=float)
    keep = (ct >= 0) & (ct <= min(c.end_years, ax.x_end))
    ct, cv = ct[keep], cv[keep]
    if ct.shape[0] == 0:
        return ""
    bins = (ct / ax.x_end * MAX_CENSOR_MARKS).astype(np.int64)
    first = np.flatnonzero(np.diff(bins, prepend=-1) != 0)
    xs, ys = ax.x(ct[first]), ax.y(cv[first])
    return "".join(
        [f"M{x:g},{round(y - 4, 2):g}v8" for x, y in zip(xs.tolist(), ys.tolist(), strict=True)]
    )


def _legend(plot: CurvePlot, ax: _Axes) -> list[str]:
    """Legend box inside the plot: test lines, then a line sample and label per curve."""
    entries = [(f"s{i % COLOURS}", c.label) for i, c in enumerate(plot.curves)]
    entries += [("extra", c.label) for c in plot.extra]
    lines = len(plot.notes) + len(entries)
    if not lines:
        return []
    widths = [len(n) * CHAR_WIDTH + 16 for n in plot.notes]
    widths += [len(label) * CHAR_WIDTH + 44 for _, label in entries]
    w = min(WIDTH - LEFT - RIGHT - 20, max(widths))
    line_h = 17.0
    h = lines * line_h + 10
    x0 = WIDTH - RIGHT - 10 - w if plot.kind == "survival" else LEFT + 10
    y0 = TOP + (24 if plot.synthetic else 8)
    out = [
        f'<g class="legend"><rect x="{_num(x0)}" y="{_num(y0)}" width="{_num(w)}" '
        f'height="{_num(h)}"/>'
    ]
    y = y0 + 5 + line_h * 0.75
    for note in plot.notes:
        out.append(f'<text class="note" x="{_num(x0 + 8)}" y="{_num(y)}">{text(note)}</text>')
        y += line_h
    for cls, label in entries:
        ly = _num(y - 4)
        out.append(
            f'<line class="step {cls}" x1="{_num(x0 + 8)}" x2="{_num(x0 + 30)}" '
            f'y1="{ly}" y2="{ly}"/>'
            f'<text x="{_num(x0 + 36)}" y="{_num(y)}">{text(label)}</text>'
        )
        y += line_h
    out.append("</g>")
    return out


def _at_risk_table(plot: CurvePlot, xs_ticks: np.ndarray, ax: _Axes) -> list[str]:
    """Heading and one row per curve: its label (right-aligned left of the axis) and the
    numbers at risk under the x ticks."""
    y = ax.bottom + AXIS_HEIGHT + ROW_HEIGHT * 0.75
    label_x = _num(LEFT - 30)
    out = [
        f'<g class="at-risk"><text class="heading" x="{label_x}" y="{_num(y)}" '
        f'text-anchor="end">{text(plot.at_risk_label)}</text>'
    ]
    for i, c in enumerate(plot.curves):
        y += ROW_HEIGHT
        ys = _num(y)
        out.append(
            f'<text class="label f{i % COLOURS}" x="{label_x}" y="{ys}" '
            f'text-anchor="end">{text(_short(c.row_label or c.label))}</text>'
        )
        if c.at_risk is None:
            continue
        for x, n in zip(xs_ticks, c.at_risk, strict=False):
            out.append(f'<text x="{_num(x)}" y="{ys}" text-anchor="middle">{n:,}</text>')
    out.append("</g>")
    return out
