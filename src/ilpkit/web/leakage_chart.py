"""Geometry of the leakage chart drawn as inline SVG on the leakage monitor page.

Leakage % (y) against minutes since the calibration (x), with the notify and stop levels of the
protocol file as horizontal lines. Only coordinates are computed here; the template draws them
(escaped, no script, no inline style: the page's Content-Security-Policy forbids both).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ilpkit.planning.leakage import LeakageResult

WIDTH, HEIGHT = 640.0, 320.0
"""Size of the SVG's view box (it scales to the page width)."""
LEFT, RIGHT, TOP, BOTTOM = 56.0, 16.0, 14.0, 42.0
"""Margins for the axis labels."""
MIN_MINUTES = 90.0
"""The x axis shows at least the 90 minutes of a standard perfusion (protocol timeline)."""
HEADROOM = 1.2
"""The y axis reaches at least 1.2 x the stop level, so the stop line is never at the edge."""
STEPS = (0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0)
"""Tick spacings tried for the y axis, smallest first."""


@dataclass(frozen=True, slots=True)
class ChartPoint:
    """One reading on the chart: SVG coordinates, values and level."""

    x: float
    y: float
    minute: float
    leakage_pct: float
    level: str


@dataclass(frozen=True, slots=True)
class Tick:
    """An axis tick: its SVG coordinate and label."""

    at: float
    label: str


@dataclass(frozen=True, slots=True)
class LeakageChart:
    """Everything the template needs to draw the chart."""

    width: float
    height: float
    left: float
    right: float
    top: float
    bottom: float
    points: tuple[ChartPoint, ...]
    polyline: str
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    notify_y: float
    stop_y: float
    notify_label: str
    stop_label: str
    zero_y: float


def _step(span: float, max_ticks: int) -> float:
    return next((s for s in STEPS if span / s <= max_ticks), STEPS[-1])


def chart(result: LeakageResult) -> LeakageChart:
    """The chart of ``result``: readings, the notify and stop lines, axes with ticks."""
    s = result.settings
    notify, stop = s.notify_pct.value, s.stop_pct.value
    values = [p.leakage_pct for p in result.points]
    minutes = [p.minute for p in result.points]
    x_step = 15.0 if max(minutes, default=0.0) <= 120 else 30.0
    x_max = max(MIN_MINUTES, math.ceil(max(minutes, default=0.0) / x_step) * x_step)
    top_value = max(stop * HEADROOM, *values) if values else stop * HEADROOM
    low_value = min(0.0, *values) if values else 0.0
    y_step = _step(top_value - low_value, 8)
    y_max = math.ceil(top_value / y_step) * y_step
    y_min = math.floor(low_value / y_step) * y_step
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM

    def x_of(minute: float) -> float:
        return round(LEFT + minute / x_max * plot_w, 2)

    def y_of(pct: float) -> float:
        return round(TOP + (y_max - pct) / (y_max - y_min) * plot_h, 2)

    points = tuple(
        ChartPoint(x_of(p.minute), y_of(p.leakage_pct), p.minute, p.leakage_pct, p.level.value)
        for p in result.points
    )
    x_ticks = tuple(
        Tick(x_of(i * x_step), f"{i * x_step:g}") for i in range(int(x_max / x_step) + 1)
    )
    n_y = round((y_max - y_min) / y_step)
    y_ticks = tuple(
        Tick(y_of(y_min + i * y_step), f"{y_min + i * y_step:g}") for i in range(n_y + 1)
    )
    return LeakageChart(
        width=WIDTH,
        height=HEIGHT,
        left=LEFT,
        right=WIDTH - RIGHT,
        top=TOP,
        bottom=HEIGHT - BOTTOM,
        points=points,
        polyline=" ".join(f"{p.x:g},{p.y:g}" for p in points),
        x_ticks=x_ticks,
        y_ticks=y_ticks,
        notify_y=y_of(notify),
        stop_y=y_of(stop),
        notify_label=f"notify {s.notify_pct.describe()}",
        stop_label=f"stop {s.stop_pct.describe()}",
        zero_y=y_of(0.0),
    )
