"""Server-rendered charts: the geometry of a labelled bar chart, drawn as SVG by a template.

Pure arithmetic, so a chart is the same on screen, on paper and in a test; the template
adds the text alternative (a title, a description and the data as a table).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: int


@dataclass(frozen=True)
class Tick:
    y: float
    label: str


@dataclass(frozen=True)
class XLabel:
    x: float
    label: str


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    left: int
    bottom: int
    bars: list[Bar]
    ticks: list[Tick]
    xlabels: list[XLabel]
    title: str
    summary: str


def nice_step(top: int, ticks: int = 4) -> int:
    """A round step (1, 2 or 5 times a power of ten) that covers `top` in about `ticks`."""
    if top <= 0:
        return 1
    raw = top / ticks
    power = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    for factor in (1, 2, 5, 10):
        if factor * power >= raw:
            return max(1, int(factor * power))
    return int(10 * power)


def daily_bars(
    series: list[tuple[date, int]], title: str, width: int = 720, height: int = 220
) -> BarChart:
    left, bottom, top_pad = 48, 28, 10
    plot_w, plot_h = width - left - 8, height - bottom - top_pad
    peak = max((n for _, n in series), default=0)
    step = nice_step(peak)
    axis_top = max(step, math.ceil(peak / step) * step)
    slot = plot_w / max(len(series), 1)
    bars = []
    for i, (day, n) in enumerate(series):
        h = plot_h * n / axis_top
        bars.append(
            Bar(
                x=round(left + i * slot + slot * 0.1, 2),
                y=round(top_pad + plot_h - h, 2),
                width=round(max(slot * 0.8, 1), 2),
                height=round(h, 2),
                label=day.isoformat(),
                value=n,
            )
        )
    ticks = [
        Tick(round(top_pad + plot_h - plot_h * v / axis_top, 2), f"{v:,}")
        for v in range(0, axis_top + 1, step)
    ]
    every = max(1, math.ceil(len(series) / 8))  # at most about 8 dates under the axis
    xlabels = [
        XLabel(round(left + i * slot + slot / 2, 2), day.strftime("%b %d"))
        for i, (day, _) in enumerate(series)
        if i % every == 0
    ]
    total = sum(n for _, n in series)
    if series:
        best_day, best = max(series, key=lambda s: s[1])
        summary = (
            f"{total:,} in {len(series)} days from {series[0][0]} to {series[-1][0]}; "
            f"the busiest day was {best_day} with {best:,}."
        )
    else:
        summary = "No data in this period."
    return BarChart(width, height, left, bottom, bars, ticks, xlabels, title, summary)


@dataclass(frozen=True)
class Sparkline:
    width: int
    height: int
    points: str  # for an SVG polyline
    summary: str


def sparkline(values: list[int], what: str, width: int = 120, height: int = 24) -> Sparkline:
    """A small trend line (e.g. activities a day over 30 days), with its words."""
    peak = max(values, default=0) or 1
    step = width / max(len(values) - 1, 1)
    points = " ".join(
        f"{round(i * step, 1)},{round(height - 2 - (height - 4) * v / peak, 1)}"
        for i, v in enumerate(values)
    )
    half = len(values) // 2
    first, last = sum(values[:half]), sum(values[half:])
    trend = "up" if last > first else "down" if last < first else "flat"
    summary = f"{sum(values)} {what} in {len(values)} days, peak {max(values, default=0)}; {trend}"
    return Sparkline(width, height, points, summary)
