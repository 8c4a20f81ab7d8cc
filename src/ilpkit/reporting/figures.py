"""The report's figures, drawn with matplotlib (Agg), returned as PNG and SVG bytes.

Every function takes results that the statistics layer has already computed (curves, hazard
ratios, proportions with their CIs) and only draws them. Figures are built on
:class:`matplotlib.figure.Figure` with an Agg canvas created inside the function, so nothing
touches pyplot's global state and nothing happens at import time.

Style: Okabe-Ito colour-blind-safe palette (Okabe & Ito 2008), one sans-serif font, no chart
junk; Kaplan-Meier and cumulative-incidence curves carry censor marks, a confidence band and a
numbers-at-risk table aligned with the x-axis ticks.

Large registries: a curve has one step per distinct time (at most one per day of follow-up), and
steps or censor marks closer together than a fraction of a pixel are thinned before drawing (the
first and last point of each pixel column are kept, so the drawn step function is unchanged at
the output resolution).
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ilpkit.stats.competing_risks import IncidenceCurve
    from ilpkit.stats.kaplan_meier import KaplanMeierResult
    from ilpkit.stats.prediction_results import Calibration

PALETTE: tuple[str, ...] = (
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#000000",  # black
)
"""Okabe & Ito (2008) colour-blind-safe palette, in the order groups get them."""

INK = "#222222"
MUTED = "#6b6b6b"
GRID = "#e6e6e6"
SYNTHETIC_COLOUR = "#B8001F"
WIDTH_IN = 7.0
PNG_DPI = 200
JOURNAL_DPI = 600
"""Resolution of the journal PNG files (``ilp report --journal-figures``): 600 dpi, the usual
minimum of journals for line art with text."""
MAX_STEPS = 3000
"""Curves with more steps than this are thinned to the pixel columns of the PNG."""
MAX_CENSOR_MARKS = 150
"""At most this many censor marks per curve (one per 1/150 of the time axis)."""
MIN_AT_RISK = 10
"""The time axis of a curve plot ends at the last tick with at least this many at risk."""

WORKERS_ENV = "ILP_FIGURE_WORKERS"
"""Environment variable: how many processes draw report figures at once (1: no workers)."""

FONT_CANDIDATES = ("Liberation Sans", "Nimbus Sans", "Arial", "Helvetica", "DejaVu Sans")


# --------------------------------------------------------------------------- plumbing


def _font_family() -> str:
    from matplotlib import font_manager

    for name in FONT_CANDIDATES:
        try:
            font_manager.findfont(
                font_manager.FontProperties(family=name), fallback_to_default=False
            )
        except ValueError:
            continue
        return name
    return "DejaVu Sans"


def style() -> dict[str, Any]:
    """matplotlib rcParams of the report (used with ``matplotlib.rc_context``)."""
    return {
        "font.family": [_font_family(), "DejaVu Sans"],
        "font.size": 9,
        "axes.labelsize": 9,
        "axes.titlesize": 10,
        "axes.edgecolor": INK,
        "axes.labelcolor": INK,
        "axes.linewidth": 0.8,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "xtick.color": INK,
        "ytick.color": INK,
        "xtick.labelsize": 8.5,
        "ytick.labelsize": 8.5,
        "legend.fontsize": 8.5,
        "legend.frameon": False,
        "lines.linewidth": 1.6,
        "svg.hashsalt": "ilpkit",
        "svg.fonttype": "path",
        "path.simplify": True,
    }


@contextmanager
def figure_style() -> Iterator[None]:
    """Apply the report's matplotlib style while drawing and saving figures."""
    import matplotlib

    with matplotlib.rc_context(style()):  # type: ignore[arg-type]
        yield


@dataclass(frozen=True, eq=False)
class RenderedFigure:
    """A figure of the report in both file formats.

    Attributes
    ----------
    key : str
        File stem, e.g. ``fig03-overall-survival``.
    number : int
        Figure number in the report.
    title, caption : str
        Shown under the figure in the report.
    png, svg : bytes
        The files; a figure queued with :func:`render_later` has them once its
        :class:`FigureRenderer` has run.
    """

    key: str
    number: int
    title: str
    caption: str
    files: dict[str, bytes] = field(default_factory=dict, repr=False)
    kind: ClassVar[str] = "figure"

    def _file(self, ext: str) -> bytes:
        try:
            return self.files[ext]
        except KeyError:
            raise RuntimeError(
                f"figure {self.key} has no {ext.upper()} file (not drawn yet, or drawn without it)"
            ) from None

    @property
    def formats(self) -> tuple[str, ...]:
        """The formats the figure has been saved in."""
        return tuple(self.files)

    @property
    def png(self) -> bytes:
        """The PNG file (``PNG_DPI``)."""
        return self._file("png")

    @property
    def svg(self) -> bytes:
        """The SVG file (text as paths)."""
        return self._file("svg")

    @property
    def data_uri(self) -> str:
        """The SVG as a ``data:`` URI for an ``<img>`` (self-contained HTML)."""
        return "data:image/svg+xml;base64," + base64.b64encode(self.svg).decode("ascii")

    @property
    def png_data_uri(self) -> str:
        """The PNG as a ``data:`` URI."""
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


def new_figure(width_in: float, height_in: float) -> Figure:
    """A Figure with its own Agg canvas (no pyplot, no global backend switch)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in), facecolor="white")
    FigureCanvasAgg(fig)
    return fig


def to_bytes(fig: Figure) -> tuple[bytes, bytes]:
    """PNG (``PNG_DPI``) and SVG (text as paths: no font needed to view it) of a figure."""
    files = save(fig, ("png", "svg"))
    return files["png"], files["svg"]


FORMATS = ("png", "svg")
"""File formats a report figure is saved in by default."""
JOURNAL_FORMATS = ("png600", "pdf")
"""Extra formats for journal submission: PNG at :data:`JOURNAL_DPI` and PDF (vector)."""
FILE_SUFFIX = {"png": ".png", "svg": ".svg", "png600": "-600dpi.png", "pdf": ".pdf"}
"""File name ending of each format."""


def save(fig: Figure, formats: Sequence[str] = FORMATS) -> dict[str, bytes]:
    """The figure's files, by format: ``png`` (``PNG_DPI``), ``svg`` (text as paths),
    ``png600`` (PNG at :data:`JOURNAL_DPI`) and/or ``pdf`` (vector, fonts embedded).

    Each format draws the whole figure again, so ask only for those that are needed.
    """
    files: dict[str, bytes] = {}
    for ext in formats:
        out = io.BytesIO()
        if ext == "png":
            fig.savefig(out, format="png", dpi=PNG_DPI, metadata={"Software": None})
        elif ext == "svg":
            fig.savefig(out, format="svg", metadata={"Date": None, "Creator": None})
        elif ext == "png600":
            fig.savefig(out, format="png", dpi=JOURNAL_DPI, metadata={"Software": None})
        elif ext == "pdf":
            fig.savefig(out, format="pdf", metadata={"CreationDate": None, "Creator": None})
        else:
            known = ", ".join((*FORMATS, *JOURNAL_FORMATS))
            raise ValueError(f"unknown figure format {ext!r}; choose from {known}")
        files[ext] = out.getvalue()
    return files


def _watermark(fig: Figure, synthetic: bool) -> None:
    if synthetic:
        fig.text(
            0.995,
            0.995,
            "SYNTHETIC DATA — not real patients",
            ha="right",
            va="top",
            fontsize=7.5,
            fontweight="bold",
            color=SYNTHETIC_COLOUR,
        )


# ---------------------------------------------------------------------------- curves


@dataclass(frozen=True)
class StepCurve:
    """A right-continuous step function to draw (survival or cumulative incidence).

    Attributes
    ----------
    label : str
    time, value : ndarray
        Step times (increasing) and the value just after each.
    lower, upper : ndarray or None
        Pointwise confidence limits after each step (NaN: no band there).
    start : float
        Value at time 0 (1 for survival, 0 for incidence).
    end_time : float
        Last follow-up time: the curve is drawn to here.
    censor_time, censor_value : ndarray
        Where to put censor marks.
    at_risk : callable, optional
        Number at risk at given times (for the table under the plot).
    """

    label: str
    time: np.ndarray
    value: np.ndarray
    lower: np.ndarray | None
    upper: np.ndarray | None
    start: float
    end_time: float
    censor_time: np.ndarray
    censor_value: np.ndarray
    at_risk: Callable[[np.ndarray], np.ndarray] | None = None


def km_curve(km: KaplanMeierResult, label: str) -> StepCurve:
    """A Kaplan-Meier result as a drawable curve (censor marks at censoring times)."""
    censored = km.n_censor > 0
    return StepCurve(
        label=label,
        time=np.asarray(km.time, dtype=float),
        value=np.asarray(km.surv, dtype=float),
        lower=np.asarray(km.lower, dtype=float),
        upper=np.asarray(km.upper, dtype=float),
        start=1.0,
        end_time=float(km.time[-1]) if len(km.time) else 0.0,
        censor_time=np.asarray(km.time[censored], dtype=float),
        censor_value=np.asarray(km.surv[censored], dtype=float),
        at_risk=km.number_at_risk,
    )


def cif_curve(
    curve: IncidenceCurve,
    label: str,
    at_risk: Callable[[np.ndarray], np.ndarray] | None = None,
    with_band: bool = True,
) -> StepCurve:
    """A cumulative-incidence curve (Aalen-Johansen) as a drawable curve."""
    lower, upper = curve.confidence_interval() if with_band else (None, None)
    empty = np.empty(0)
    return StepCurve(
        label=label,
        time=np.asarray(curve.time, dtype=float),
        value=np.asarray(curve.estimate, dtype=float),
        lower=None if lower is None else np.asarray(lower, dtype=float),
        upper=None if upper is None else np.asarray(upper, dtype=float),
        start=0.0,
        end_time=float(curve.max_time),
        censor_time=empty,
        censor_value=empty,
        at_risk=at_risk,
    )


def stop_at_risk(
    curve: StepCurve, min_at_risk: int, observed: np.ndarray | None = None
) -> StepCurve:
    """The curve cut at the last observed time with at least ``min_at_risk`` still at risk.

    Beyond that time the estimate rests on too few patients to be shown. ``observed``: every
    follow-up time of the group (default: the curve's step and censoring times and its end).
    A curve without an at-risk function is returned unchanged; one with fewer than
    ``min_at_risk`` from the start is not drawn and its legend label says so.
    """
    if curve.at_risk is None or min_at_risk <= 0:
        return curve
    candidates = np.unique(
        np.concatenate(
            (
                curve.time,
                curve.censor_time,
                [curve.end_time],
                np.asarray(observed if observed is not None else [], dtype=float),
            )
        )
    )
    counts = np.asarray(curve.at_risk(candidates))
    ok = candidates[counts >= min_at_risk]
    cut = float(ok.max()) if ok.shape[0] else 0.0
    if cut >= curve.end_time:
        return curve
    keep = curve.time <= cut
    marks = curve.censor_time <= cut
    label = curve.label if cut > 0 else f"{curve.label} (< {min_at_risk}: not drawn)"
    return replace(
        curve,
        label=label,
        time=curve.time[keep],
        value=curve.value[keep],
        lower=None if curve.lower is None else curve.lower[keep],
        upper=None if curve.upper is None else curve.upper[keep],
        end_time=cut,
        censor_time=curve.censor_time[marks],
        censor_value=curve.censor_value[marks],
    )


def thin_indices(x: np.ndarray, x_max: float, columns: int) -> np.ndarray:
    """Indices of the first and last point in each of ``columns`` equal bins of [0, x_max].

    For a monotone step function this keeps its drawn shape at that horizontal resolution.
    """
    if x.shape[0] <= 2 or x_max <= 0:
        return np.arange(x.shape[0])
    b = np.minimum((x / x_max * columns).astype(np.int64), columns)
    first = np.flatnonzero(np.diff(b, prepend=-1) != 0)
    last = np.flatnonzero(np.diff(b, append=columns + 1) != 0)
    return np.union1d(first, last)


def _steps(c: StepCurve, x_max: float, columns: int) -> tuple[np.ndarray, ...]:
    """x, y, lo, hi arrays starting at time 0 and ending at the curve's end, thinned."""
    t, v = c.time, c.value
    lo = c.lower if c.lower is not None else np.full_like(v, np.nan)
    hi = c.upper if c.upper is not None else np.full_like(v, np.nan)
    if t.shape[0] > MAX_STEPS:
        keep = thin_indices(t, x_max, columns)
        t, v, lo, hi = t[keep], v[keep], lo[keep], hi[keep]
    end = max(c.end_time, float(t[-1]) if t.shape[0] else 0.0)
    last = v[-1] if v.shape[0] else c.start
    x = np.concatenate(([0.0], t, [end]))
    y = np.concatenate(([c.start], v, [last]))
    lo = np.concatenate(([c.start], lo, [lo[-1] if lo.shape[0] else c.start]))
    hi = np.concatenate(([c.start], hi, [hi[-1] if hi.shape[0] else c.start]))
    # no band where the limits are undefined (S = 1 or F = 0): draw it with zero width
    lo = np.where(np.isnan(lo), y, lo)
    hi = np.where(np.isnan(hi), y, hi)
    return x, y, lo, hi


def _tick_step(span: float) -> float:
    for step in (0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0):
        if span / step <= 10:
            return step
    return 100.0


def _time_axis(curves: Sequence[StepCurve]) -> tuple[float, np.ndarray]:
    """x-axis end and ticks: ticks every 1, 2 or 5 years; the axis ends at the last tick with at
    least :data:`MIN_AT_RISK` at risk over all groups (or at the end of follow-up)."""
    end = max((c.end_time for c in curves), default=1.0) or 1.0
    step = _tick_step(end)
    ticks = np.arange(0.0, end + 1e-9, step)
    if all(c.at_risk is not None for c in curves):
        total = np.zeros(ticks.shape[0], dtype=np.int64)
        for c in curves:
            assert c.at_risk is not None
            total += np.asarray(c.at_risk(ticks), dtype=np.int64)
        ok = np.flatnonzero(total >= MIN_AT_RISK)
        if ok.shape[0] >= 2:
            ticks = ticks[: ok[-1] + 1]
    if ticks.shape[0] < 2:
        ticks = np.array([0.0, step])
    return float(ticks[-1]), ticks


def curve_figure(
    curves: Sequence[StepCurve],
    *,
    kind: str,
    ylabel: str,
    xlabel: str = "Years",
    test_text: Sequence[str] = (),
    band: bool = True,
    at_risk_label: str = "Number at risk",
    extra: Sequence[StepCurve] = (),
    synthetic: bool = False,
) -> Figure:
    """Kaplan-Meier (``kind="survival"``) or cumulative-incidence (``kind="incidence"``) plot.

    Parameters
    ----------
    curves : sequence of StepCurve
        One per group; colours follow :data:`PALETTE`. The numbers-at-risk table has one row per
        curve, aligned with the x-axis ticks.
    kind : {"survival", "incidence"}
    ylabel, xlabel : str
    test_text : sequence of str
        Lines such as ``Log-rank p = 0.001`` shown as the legend title.
    band : bool
        Draw the confidence band of every curve that has one.
    extra : sequence of StepCurve
        Curves drawn dashed in grey without band or at-risk row (e.g. the competing event).
    synthetic : bool
        Mark the figure SYNTHETIC.
    """
    from matplotlib.ticker import PercentFormatter

    x_end, ticks = _time_axis(curves)
    n_rows = len(curves)
    top, plot_h, axis_h = 0.3, 3.1, 0.55
    table_h = 0.28 + 0.2 * n_rows
    height = top + plot_h + axis_h + table_h + 0.1
    left, right = 1.45, 0.3
    fig = new_figure(WIDTH_IN, height)
    w = WIDTH_IN - left - right
    ax = fig.add_axes(
        (left / WIDTH_IN, (height - top - plot_h) / height, w / WIDTH_IN, plot_h / height)
    )
    columns = int(w * PNG_DPI)
    y_top = 1.0
    for i, c in enumerate(curves):
        colour = PALETTE[i % len(PALETTE)]
        x, y, lo, hi = _steps(c, x_end, columns)
        if band and c.lower is not None:
            ax.fill_between(x, lo, hi, step="post", color=colour, alpha=0.16, linewidth=0)
            y_top = max(y_top if kind == "survival" else 0.0, float(np.nanmax(hi)))
        ax.plot(x, y, drawstyle="steps-post", color=colour, label=c.label, zorder=3)
        if c.censor_time.shape[0]:
            ct, cv = c.censor_time, c.censor_value
            if ct.shape[0] > MAX_CENSOR_MARKS:
                # one mark per 1/MAX_CENSOR_MARKS of the axis: denser marks merge into a band
                bins = np.minimum((ct / x_end * MAX_CENSOR_MARKS).astype(np.int64), 10**9)
                first = np.flatnonzero(np.diff(bins, prepend=-1) != 0)
                ct, cv = ct[first], cv[first]
            ax.plot(ct, cv, linestyle="none", marker="|", markersize=5, color=colour, zorder=4)
        if kind == "incidence":
            y_top = max(y_top if i else 0.0, float(np.nanmax(y)))
    for c in extra:
        x, y, _, _ = _steps(c, x_end, columns)
        ax.plot(x, y, drawstyle="steps-post", color=MUTED, linestyle="--", label=c.label)
        y_top = max(y_top, float(np.nanmax(y)))
    ax.set_xlim(0, x_end)
    ax.set_xticks(ticks)
    ax.set_xticklabels([f"{t:g}" for t in ticks])
    if kind == "survival":
        ax.set_ylim(0, 1.02)
    else:
        ax.set_ylim(0, min(1.0, math.ceil((y_top + 0.05) * 10) / 10))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(axis="y", color=GRID, linewidth=0.6)
    ax.set_axisbelow(True)
    legend = ax.legend(
        loc="upper right" if kind == "survival" else "upper left",
        title="\n".join(test_text) if test_text else None,
        alignment="left",
        handlelength=1.8,
    )
    if legend.get_title():
        legend.get_title().set_fontsize(8.5)
    # numbers at risk, aligned with the ticks; labels end 0.3 in left of the axis
    tab = fig.add_axes((left / WIDTH_IN, 0.1 / height, w / WIDTH_IN, table_h / height))
    tab.set_xlim(0, x_end)
    tab.set_ylim(n_rows + 0.1, -1.2)
    tab.axis("off")
    x_lab = -0.3 / w
    tr = tab.get_yaxis_transform()
    tab.text(
        x_lab,
        -0.6,
        at_risk_label,
        transform=tr,
        ha="right",
        va="center",
        fontsize=8.5,
        fontweight="bold",
        color=INK,
    )
    for i, c in enumerate(curves):
        colour = PALETTE[i % len(PALETTE)]
        tab.text(
            x_lab,
            i + 0.4,
            c.label,
            transform=tr,
            ha="right",
            va="center",
            fontsize=8.5,
            color=colour,
            fontweight="bold",
        )
        if c.at_risk is None:
            continue
        counts = np.asarray(c.at_risk(ticks))
        for t, n in zip(ticks, counts, strict=True):
            tab.text(t, i + 0.4, f"{int(n):,}", ha="center", va="center", fontsize=8, color=INK)
    _watermark(fig, synthetic)
    return fig


# ---------------------------------------------------------------------------- forest


@dataclass(frozen=True)
class ForestRow:
    """One term of the forest plot: hazard ratios with CIs (None when not estimable)."""

    label: str
    hr: float | None
    lower: float | None
    upper: float | None
    p: str
    hr_text: str
    uni_hr: float | None = None
    uni_lower: float | None = None
    uni_upper: float | None = None
    uni_text: str = ""


def forest_figure(
    rows: Sequence[ForestRow],
    *,
    synthetic: bool = False,
    headers: tuple[str, str, str] = ("HR (95% CI)", "Univariable", "Multivariable"),
    legend: tuple[str, str] = ("Multivariable", "Univariable (one term per model)"),
    axis_label: str = "Hazard ratio (log scale)",
) -> Figure:
    """Forest plot of hazard ratios on a log scale: multivariable (filled squares) and
    univariable (open circles) estimates with 95% CIs, with the numbers in columns.

    ``headers`` (plot, circles column, squares column), ``legend`` (squares, circles) and
    ``axis_label`` rename the two estimates, e.g. Fine-Gray and cause-specific hazard ratios."""
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FixedLocator, NullLocator

    n = max(len(rows), 1)
    row_h = 0.3
    top, bottom = 0.75, 0.6
    height = top + bottom + row_h * n
    total_w = 7.6
    left, plot_w = 2.6, 1.75
    col_uni, col_multi, col_p = 0.12, 1.32, 2.52  # inches right of the plot
    fig = new_figure(total_w, height)
    ax = fig.add_axes((left / total_w, bottom / height, plot_w / total_w, row_h * n / height))
    values = [
        v
        for r in rows
        for v in (r.lower, r.upper, r.uni_lower, r.uni_upper)
        if v is not None and math.isfinite(v) and v > 0
    ]
    candidates = [0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 10.0, 20.0, 50.0]
    lo = max(min(values, default=0.5), candidates[0])
    hi = min(max(values, default=2.0), candidates[-1])
    x_min = max([c for c in candidates if c <= min(lo, 0.9)], default=candidates[0])
    x_max = min([c for c in candidates if c >= max(hi, 1.1)], default=candidates[-1])
    ax.set_xscale("log")
    ax.set_xlim(x_min, x_max)
    ax.set_ylim(n - 0.5, -0.5)
    ax.axvline(1.0, color=MUTED, linewidth=0.8, linestyle="--", zorder=1)
    for y, r in enumerate(rows):
        if r.uni_hr is not None and r.uni_lower is not None and r.uni_upper is not None:
            ax.plot([r.uni_lower, r.uni_upper], [y + 0.14] * 2, color=PALETTE[5], linewidth=1.2)
            ax.plot(r.uni_hr, y + 0.14, "o", mfc="white", mec=PALETTE[5], markersize=4.5)
        if r.hr is not None and r.lower is not None and r.upper is not None:
            ax.plot([r.lower, r.upper], [y - 0.12] * 2, color=PALETTE[0], linewidth=1.6)
            ax.plot(r.hr, y - 0.12, "s", color=PALETTE[0], markersize=5)
    ax.xaxis.set_major_locator(FixedLocator([c for c in candidates if x_min <= c <= x_max]))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(lambda v, _pos: f"{v:g}")
    ax.set_yticks([])
    ax.spines["left"].set_visible(False)
    ax.set_xlabel(axis_label)
    ax.grid(axis="x", color=GRID, linewidth=0.6)
    ax.set_axisbelow(True)
    tr = ax.get_yaxis_transform()
    x_label = -(left - 0.12) / plot_w
    x_uni = 1.0 + col_uni / plot_w
    x_multi = 1.0 + col_multi / plot_w
    x_p = 1.0 + col_p / plot_w
    head_y = -0.5 - 0.3 / row_h
    for x, text in (
        (x_label, "Term"),
        (0.5, headers[0]),
        (x_uni, headers[1]),
        (x_multi, headers[2]),
        (x_p, "p"),
    ):
        ax.text(
            x,
            head_y,
            text,
            transform=tr,
            ha="center" if x == 0.5 else "left",
            va="center",
            fontweight="bold",
            fontsize=8.5,
            clip_on=False,
        )
    ax.plot(
        [x_label, x_p + 0.45 / plot_w],
        [head_y + 0.75] * 2,
        transform=tr,
        color=INK,
        linewidth=0.8,
        clip_on=False,
    )
    for y, r in enumerate(rows):
        for x, text, colour in (
            (x_label, r.label, INK),
            (x_uni, r.uni_text, MUTED),
            (x_multi, r.hr_text, INK),
            (x_p, r.p, INK),
        ):
            ax.text(
                x,
                y,
                text,
                transform=tr,
                ha="left",
                va="center",
                fontsize=8.2,
                color=colour,
                clip_on=False,
            )
    handles = [
        Line2D([], [], color=PALETTE[0], marker="s", markersize=5, label=legend[0]),
        Line2D(
            [],
            [],
            color=PALETTE[5],
            marker="o",
            mfc="white",
            markersize=4.5,
            label=legend[1],
        ),
    ]
    fig.legend(handles=handles, loc="lower left", ncol=2, bbox_to_anchor=(0.01, 0.0), fontsize=8)
    _watermark(fig, synthetic)
    return fig


# ------------------------------------------------------------------------- calibration


def calibration_figure(cal: Calibration, *, synthetic: bool = False) -> Figure:
    """Predicted against observed (Kaplan-Meier, 95% CI) survival at ``cal.years`` by group of
    predicted risk, with the line of perfect calibration."""
    fig = new_figure(4.8, 4.6)
    ax = fig.add_axes((0.15, 0.13, 0.8, 0.75))
    ax.plot([0, 1], [0, 1], color=MUTED, linewidth=0.9, linestyle="--", zorder=1)
    for i, g in enumerate(cal.groups):
        if g.predicted is None or g.observed is None:
            continue
        lo, hi = g.observed_ci95
        if lo is not None and hi is not None:
            ax.plot([g.predicted] * 2, [lo, hi], color=PALETTE[0], linewidth=1.3)
        ax.plot(g.predicted, g.observed, "o", color=PALETTE[0], markersize=5.5, zorder=3)
        ax.annotate(
            f"{i + 1}",
            (g.predicted, g.observed),
            xytext=(5, 4),
            textcoords="offset points",
            fontsize=8,
            color=INK,
        )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")
    ax.set_xlabel(f"Predicted {cal.years}-year survival (Cox model, group mean)")
    ax.set_ylabel(f"Observed {cal.years}-year survival (Kaplan-Meier)")
    ax.grid(color=GRID, linewidth=0.6)
    ax.set_axisbelow(True)
    ax.set_title(
        f"Calibration by {cal.grouping} of predicted risk (in-sample)",
        fontsize=9.5,
        loc="left",
    )
    _watermark(fig, synthetic)
    return fig


# ------------------------------------------------------------------------- proportions


@dataclass(frozen=True)
class ProportionRow:
    """One bar or dot: a proportion with its exact CI (fractions), a label and extra text."""

    label: str
    estimate: float | None
    lower: float | None
    upper: float | None
    text: str = ""
    header: bool = False
    reference: float | None = None
    right: str = ""


def response_figure(
    rows: Sequence[ProportionRow], *, reference_label: str = "", synthetic: bool = False
) -> Figure:
    """Horizontal bars of response categories with exact 95% CIs, and the published values
    (diamonds) where given."""
    n = len(rows)
    height = 0.55 + 0.36 * n + 0.5
    fig = new_figure(WIDTH_IN, height)
    left, right = 1.9, 1.6
    w = WIDTH_IN - left - right
    ax = fig.add_axes((left / WIDTH_IN, 0.5 / height, w / WIDTH_IN, (0.36 * n) / height))
    colours = [PALETTE[2], PALETTE[5], "#9a9a9a", PALETTE[1], PALETTE[0]]
    for y, r in enumerate(rows):
        if r.estimate is None:
            continue
        colour = colours[y % len(colours)]
        ax.barh(y, r.estimate, height=0.6, color=colour, alpha=0.75)
        if r.lower is not None and r.upper is not None:
            ax.plot([r.lower, r.upper], [y, y], color=INK, linewidth=1.0)
            ax.plot([r.lower, r.lower], [y - 0.12, y + 0.12], color=INK, linewidth=1.0)
            ax.plot([r.upper, r.upper], [y - 0.12, y + 0.12], color=INK, linewidth=1.0)
        if r.reference is not None:
            ax.plot(r.reference, y, "D", color=PALETTE[4], mec=INK, mew=0.6, markersize=6, zorder=5)
        ax.text(
            1.02,
            y,
            r.text,
            transform=ax.get_yaxis_transform(),
            va="center",
            fontsize=8.5,
            clip_on=False,
        )
    ax.set_yticks(list(range(n)))
    ax.set_yticklabels([r.label for r in rows])
    ax.set_ylim(n - 0.4, -0.6)
    ax.set_xlim(0, 1)
    from matplotlib.ticker import PercentFormatter

    ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.grid(axis="x", color=GRID, linewidth=0.6)
    ax.set_axisbelow(True)
    ax.set_xlabel("Perfusions (%), with exact 95% CI")
    if reference_label and any(r.reference is not None for r in rows):
        from matplotlib.lines import Line2D

        ax.legend(
            handles=[
                Line2D(
                    [],
                    [],
                    color=PALETTE[4],
                    marker="D",
                    mec=INK,
                    mew=0.6,
                    linestyle="none",
                    label=reference_label,
                )
            ],
            loc="lower right",
            bbox_to_anchor=(1.0, 1.0),
            fontsize=8,
        )
    _watermark(fig, synthetic)
    return fig


def subgroup_figure(
    rows: Sequence[ProportionRow],
    *,
    overall: float | None,
    xlabel: str,
    synthetic: bool = False,
) -> Figure:
    """Dot-and-whisker plot of a proportion by subgroup: header rows name the variable (with the
    test's p-value on the right), level rows carry the estimate, its exact CI and ``k/n``."""
    n = len(rows)
    row_h = 0.24
    height = 0.45 + row_h * n + 0.55
    fig = new_figure(WIDTH_IN, height)
    left, right = 2.4, 1.75
    w = WIDTH_IN - left - right
    ax = fig.add_axes((left / WIDTH_IN, 0.55 / height, w / WIDTH_IN, (row_h * n) / height))
    for y, r in enumerate(rows):
        if r.header:
            ax.axhspan(y - 0.5, y + 0.5, color="#f3f3f3", zorder=0, linewidth=0)
        if r.estimate is None:
            continue
        if r.lower is not None and r.upper is not None:
            ax.plot([r.lower, r.upper], [y, y], color=PALETTE[0], linewidth=1.3)
        ax.plot(r.estimate, y, "o", color=PALETTE[0], markersize=4.5, zorder=4)
    if overall is not None:
        ax.axvline(overall, color=PALETTE[1], linestyle="--", linewidth=0.9, zorder=1)
        ax.text(
            overall,
            -0.9,
            f"overall {100 * overall:.0f}%",
            ha="center",
            va="bottom",
            fontsize=7.5,
            color=PALETTE[1],
        )
    tr = ax.get_yaxis_transform()
    for y, r in enumerate(rows):
        ax.text(
            -(left - 0.1) / w,
            y,
            r.label,
            transform=tr,
            ha="left",
            va="center",
            fontsize=8.5,
            fontweight="bold" if r.header else "normal",
            clip_on=False,
        )
        ax.text(
            1.03,
            y,
            r.right if r.header else r.text,
            transform=tr,
            ha="left",
            va="center",
            fontsize=8,
            color=INK if r.header else MUTED,
            clip_on=False,
        )
    ax.set_yticks([])
    ax.spines["left"].set_visible(False)
    ax.set_ylim(n - 0.5, -0.5)
    ax.set_xlim(0, 1)
    from matplotlib.ticker import PercentFormatter

    ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.grid(axis="x", color=GRID, linewidth=0.6)
    ax.set_axisbelow(True)
    ax.set_xlabel(xlabel)
    _watermark(fig, synthetic)
    return fig


# ----------------------------------------------------------------------------- flow


@dataclass(frozen=True)
class FlowBox:
    """A stage of the flow diagram: a bold first line, then details; ``side`` lines go in a box
    branching off the arrow that leads into this stage (exclusions, other outcomes)."""

    title: str
    lines: tuple[str, ...] = ()
    side: tuple[str, ...] = ()
    side_title: str = ""


def flow_figure(boxes: Sequence[FlowBox], *, synthetic: bool = False) -> Figure:
    """STROBE-style flow diagram: the stages top to bottom; side boxes branch off the arrows."""
    from matplotlib.patches import FancyBboxPatch

    line_h = 0.18
    box_h = [0.42 + line_h * len(b.lines) for b in boxes]
    side_h = [0.32 + line_h * len(b.side) if b.side else 0.0 for b in boxes]
    gaps = [max(0.34, sh + 0.2) for sh in side_h]  # gap above each box
    top = 0.3
    height = top + sum(box_h) + sum(gaps[1:]) + 0.15
    fig = new_figure(WIDTH_IN, height)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, WIDTH_IN)
    ax.set_ylim(height, 0)
    ax.axis("off")
    main_x, main_w = 0.3, 3.7
    side_x, side_w = 4.45, 2.4
    cx = main_x + main_w / 2
    arrow = {"arrowstyle": "-|>", "lw": 1.0, "shrinkA": 0, "shrinkB": 0, "mutation_scale": 11}
    y = top
    for i, (b, h) in enumerate(zip(boxes, box_h, strict=True)):
        if i:
            gap = gaps[i]
            ax.annotate("", xy=(cx, y + gap), xytext=(cx, y), arrowprops={**arrow, "color": INK})
            if b.side:
                sh = side_h[i]
                sy = y + (gap - sh) / 2
                ax.add_patch(
                    FancyBboxPatch(
                        (side_x, sy),
                        side_w,
                        sh,
                        boxstyle="round,pad=0,rounding_size=0.06",
                        facecolor="#fbf1e9",
                        edgecolor=PALETTE[1],
                        linewidth=0.9,
                    )
                )
                ax.text(
                    side_x + 0.12,
                    sy + 0.17,
                    b.side_title,
                    fontsize=8.5,
                    fontweight="bold",
                    va="center",
                    color=INK,
                )
                for j, line in enumerate(b.side):
                    ax.text(
                        side_x + 0.12,
                        sy + 0.36 + line_h * j,
                        line,
                        fontsize=8.2,
                        va="center",
                        color=INK,
                    )
                ax.annotate(
                    "",
                    xy=(side_x, sy + sh / 2),
                    xytext=(cx, sy + sh / 2),
                    arrowprops={**arrow, "color": MUTED},
                )
            y += gap
        ax.add_patch(
            FancyBboxPatch(
                (main_x, y),
                main_w,
                h,
                boxstyle="round,pad=0,rounding_size=0.06",
                facecolor="#eaf2fa",
                edgecolor=PALETTE[0],
                linewidth=1.0,
            )
        )
        ax.text(
            main_x + 0.14, y + 0.2, b.title, fontsize=9.5, fontweight="bold", va="center", color=INK
        )
        for j, line in enumerate(b.lines):
            ax.text(
                main_x + 0.14, y + 0.42 + line_h * j, line, fontsize=8.3, va="center", color=INK
            )
        y += h
    _watermark(fig, synthetic)
    return fig


def render(fig: Figure, *, key: str, number: int, title: str, caption: str) -> RenderedFigure:
    """Save a figure to PNG and SVG bytes and release it."""
    png, svg = to_bytes(fig)
    fig.clear()
    return RenderedFigure(key, number, title, caption, {"png": png, "svg": svg})


# ------------------------------------------------------------------- drawing many at once


@dataclass(frozen=True)
class _Job:
    draw: Callable[[], Figure]
    figure: RenderedFigure
    formats: tuple[str, ...] = FORMATS


class FigureRenderer:
    """Figures queued now, drawn and saved together later, in parallel where the system forks.

    Drawing and saving a report figure (about 0.2 s each, most of it matplotlib laying out and
    rasterising text) is the largest part of building a small report. :meth:`run` shares the
    queued figures among this process and worker processes forked from it, one per CPU
    available: each figure is drawn once by one process, which saves it as PNG and SVG. A fork
    inherits the drawing functions and their data as they are, so nothing needs to be pickled
    but the finished files. Where fork is not available (Windows, macOS) or ``workers`` is 1,
    everything is drawn here, one after the other; the files are the same either way.

    Parameters
    ----------
    workers : int, optional
        Processes drawing at once, this one included (default: the environment variable
        ``ILP_FIGURE_WORKERS`` if set, else the CPUs available).
    formats : sequence of str
        The files each figure is saved as: ``png`` and/or ``svg`` (default both).
    """

    def __init__(self, workers: int | None = None, formats: Sequence[str] = FORMATS) -> None:
        self.workers = workers
        self.formats = tuple(formats)
        self._jobs: list[_Job] = []

    def add(
        self, draw: Callable[[], Figure], *, key: str, number: int, title: str, caption: str
    ) -> RenderedFigure:
        """Queue a figure; its files are there once :meth:`run` has returned."""
        figure = RenderedFigure(key, number, title, caption)
        self._jobs.append(_Job(draw, figure, self.formats))
        return figure

    def run(self, progress: Callable[[int, int], None] | None = None) -> None:
        """Draw and save every queued figure; ``progress(done, total)`` as they are done."""
        jobs, self._jobs = self._jobs, []
        total = len(jobs)
        tick = progress or (lambda done, total: None)
        processes = min(total, self.workers or _workers_from_environment() or available_cpus())
        if processes < 2 or not _can_fork():
            for i, job in enumerate(jobs):
                job.figure.files.update(_draw_and_save(job))
                tick(i + 1, total)
            return
        _draw_in_parallel(jobs, processes, tick)


def _workers_from_environment() -> int | None:
    import os

    value = os.environ.get(WORKERS_ENV, "").strip()
    return max(1, int(value)) if value.isdigit() else None


def available_cpus() -> int:
    """CPUs this process may run on."""
    import os

    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _can_fork() -> bool:
    import multiprocessing
    import sys

    return sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()


def _draw_and_save(job: _Job) -> dict[str, bytes]:
    fig = job.draw()
    files = save(fig, job.formats)
    fig.clear()
    return files


def _draw_in_parallel(jobs: list[_Job], processes: int, tick: Callable[[int, int], None]) -> None:
    """Draw ``jobs`` in this process and ``processes - 1`` forked ones, taking turns by index.

    Each process takes the next undrawn figure from a shared counter until none is left, so a
    slow figure does not hold the others up. A worker sends its files back when it has finished;
    any figure a worker did not deliver (it failed or was killed) is drawn here afterwards.
    """
    import gc
    import multiprocessing
    import os
    import sys

    ctx = multiprocessing.get_context("fork")
    counter = ctx.Value("i", 0)

    def next_index() -> int:
        with counter.get_lock():
            i = int(counter.value)
            counter.value = i + 1
        return i

    def work(conn: Any) -> None:
        # A worker writes nothing: the parent reports any problem. Fresh streams also keep it
        # clear of the inherited ones, whose locks another thread may have held at the fork.
        sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115
        done: dict[int, dict[str, bytes]] = {}
        try:
            while (i := next_index()) < len(jobs):
                done[i] = _draw_and_save(jobs[i])
        except BaseException:  # the parent draws the rest again and reports any error
            pass
        try:
            conn.send(done)
            conn.close()
        except OSError:
            pass

    # The first figure is drawn here before forking: the workers then inherit matplotlib's
    # modules, fonts and text-layout caches instead of each loading them again.
    n_done = 0
    if jobs:
        jobs[next_index()].figure.files.update(_draw_and_save(jobs[0]))
        n_done = 1
        tick(n_done, len(jobs))
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    gc.freeze()  # the workers leave the parent's objects alone: no copy-on-write of them
    workers = []
    try:
        for _ in range(processes - 1):
            receive, send = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=work, args=(send,), daemon=True)
            proc.start()
            send.close()
            workers.append((proc, receive))
    finally:
        gc.unfreeze()
    try:
        while (i := next_index()) < len(jobs):
            jobs[i].figure.files.update(_draw_and_save(jobs[i]))
            n_done += 1
            tick(n_done, len(jobs))
    except BaseException:
        for proc, receive in workers:
            proc.terminate()
            proc.join()
            receive.close()
        raise
    for proc, receive in workers:
        try:
            for i, files in receive.recv().items():
                jobs[i].figure.files.update(files)
                n_done += 1
        except (EOFError, OSError):
            pass
        receive.close()
        proc.join()
        tick(n_done, len(jobs))
    for job in jobs:  # anything a worker did not deliver
        if not job.figure.files:
            job.figure.files.update(_draw_and_save(job))
            n_done += 1
            tick(n_done, len(jobs))


_active: list[FigureRenderer] = []


@contextmanager
def deferred_rendering(renderer: FigureRenderer) -> Iterator[FigureRenderer]:
    """While open, :func:`render_later` queues figures on ``renderer`` instead of drawing them."""
    _active.append(renderer)
    try:
        yield renderer
    finally:
        _active.remove(renderer)


def render_later(
    draw: Callable[[], Figure], *, key: str, number: int, title: str, caption: str
) -> RenderedFigure:
    """Queue ``draw`` on the open :func:`deferred_rendering` renderer, or draw it now."""
    if _active:
        return _active[-1].add(draw, key=key, number=number, title=title, caption=caption)
    return render(draw(), key=key, number=number, title=title, caption=caption)


# ------------------------------------------------------------------ published comparison


@dataclass(frozen=True)
class PublishedPoint:
    """One row of the published-series forest plot: a percentage (as a fraction) with, for
    this registry, its exact 95% CI (published figures have none here)."""

    label: str
    estimate: float
    lower: float | None = None
    upper: float | None = None
    registry: bool = False


@dataclass(frozen=True)
class PublishedPanel:
    """One outcome of the published-series forest plot (e.g. overall response)."""

    title: str
    points: tuple[PublishedPoint, ...]


def published_forest_figure(panels: Sequence[PublishedPanel], *, synthetic: bool = False) -> Figure:
    """This registry (filled square, exact 95% CI) beside the published series (open
    diamonds, as published), one panel per outcome, on a 0-100% axis."""
    panels = [p for p in panels if p.points]
    n_rows = sum(len(p.points) + 1 for p in panels) or 1
    row_h = 0.24
    top, bottom = 0.3, 0.55
    height = top + bottom + row_h * n_rows
    total_w = WIDTH_IN
    left, plot_w = 2.7, 3.0
    fig = new_figure(total_w, height)
    ax = fig.add_axes((left / total_w, bottom / height, plot_w / total_w, row_h * n_rows / height))
    ax.set_xlim(0, 100)
    ax.set_ylim(n_rows - 0.5, -0.5)
    tr = ax.get_yaxis_transform()
    y = 0
    for panel in panels:
        ax.text(
            -(left - 0.1) / plot_w, y, panel.title, transform=tr, ha="left", va="center",
            fontweight="bold", fontsize=8.5, clip_on=False,
        )  # fmt: skip
        y += 1
        for p in panel.points:
            colour = PALETTE[0] if p.registry else INK
            if p.registry and p.lower is not None and p.upper is not None:
                ax.plot([100 * p.lower, 100 * p.upper], [y, y], color=colour, linewidth=1.6)
            ax.plot(
                100 * p.estimate, y, "s" if p.registry else "D", color=colour,
                mfc=colour if p.registry else "white", markersize=5 if p.registry else 4.5,
                clip_on=False,
            )  # fmt: skip
            ax.text(
                -(left - 0.25) / plot_w, y, p.label, transform=tr, ha="left", va="center",
                fontsize=8, color=colour, fontweight="bold" if p.registry else "normal",
                clip_on=False,
            )  # fmt: skip
            text = (
                f"{100 * p.estimate:.1f}%".replace(".0%", "%")
                if not p.registry
                else (
                    f"{100 * p.estimate:.1f}%"
                    + (
                        f" ({100 * p.lower:.1f}–{100 * p.upper:.1f})"
                        if p.lower is not None and p.upper is not None
                        else ""
                    )
                )
            )
            ax.text(
                1.0 + 0.1 / plot_w, y, text, transform=tr, ha="left", va="center", fontsize=8,
                color=colour, clip_on=False,
            )  # fmt: skip
            y += 1
    ax.set_yticks([])
    ax.spines["left"].set_visible(False)
    ax.set_xlabel("Percentage (this registry: exact 95% CI)")
    ax.grid(axis="x", color=GRID, linewidth=0.6)
    ax.set_axisbelow(True)
    _watermark(fig, synthetic)
    return fig
