"""Server-rendered line charts for the Forecast page: the payoff curve F(d) with its interval
band, and when the next 90 days' opportunities are expected to land.

Pure arithmetic like ``charts.py``; the template draws the SVG and adds the text
alternative (a title, a description and the numbers as a table).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from spoor.forecast.cohorts import PayoffCurve
from spoor.forecast.expect import OpportunityForecast
from spoor.web.charts import Tick, XLabel, nice_step

SHOWN_DAYS = 180


@dataclass(frozen=True)
class Marker:
    x: float
    label: str


@dataclass(frozen=True)
class CurveChart:
    width: int
    height: int
    left: int
    top: int
    bottom: int
    line: str  # polyline points
    band: str  # polygon points of the interval
    ticks: list[Tick]
    xlabels: list[XLabel]
    markers: list[Marker]
    title: str
    summary: str
    rows: list[tuple[int, float, float, float]]  # day, F, lower, upper (the data table)


def _percent_ticks(top: float) -> tuple[float, float]:
    """The y axis top and step, in shares, on whole percents."""
    step = nice_step(max(1, math.ceil(top * 100))) / 100
    return max(step, math.ceil(top / step) * step), step


def payoff_chart(curve: PayoffCurve, width: int = 720, height: int = 260) -> CurveChart:
    """F(d) for d = 0..180 with its interval, and markers at 30, 90 and 180 days."""
    left, top, bottom = 52, 12, 30
    plot_w, plot_h = width - left - 24, height - top - bottom  # room for the last label
    days = min(SHOWN_DAYS, curve.horizon)
    axis_top, step = _percent_ticks(max(float(curve.upper[: days + 1].max()), 0.01))

    def x(day: float) -> float:
        return round(left + plot_w * day / days, 2)

    def y(value: float) -> float:
        return round(top + plot_h - plot_h * min(value, axis_top) / axis_top, 2)

    line = " ".join(f"{x(d)},{y(float(curve.f[d]))}" for d in range(days + 1))
    upper = [f"{x(d)},{y(float(curve.upper[d]))}" for d in range(days + 1)]
    lower = [f"{x(d)},{y(float(curve.lower[d]))}" for d in range(days, -1, -1)]
    count = round(axis_top / step)
    ticks = [Tick(y(i * step), f"{i * step:.0%}") for i in range(count + 1)]
    xlabels = [XLabel(x(d), f"{d} d") for d in range(0, days + 1, 30)]
    markers = [Marker(x(d), f"F({d}) {curve.at(d):.1%}") for d in (90, 180) if d <= days]
    f90, f180 = curve.at(90), curve.at(180)
    summary = (
        f"Of {curve.accounts:,} prospected accounts, {f90:.1%} become an opportunity within "
        f"90 days of the first touch and {f180:.1%} within 180"
        + (f", so {f90 / f180:.0%} of the payoff comes within 90 days." if f180 > 0 else ".")
    )
    rows = [(d, curve.at(d), *curve.interval(d)) for d in range(0, days + 1, 15)]
    return CurveChart(width, height, left, top, bottom, line, " ".join(upper + lower), ticks,
                      xlabels, markers, "Payoff curve F(d)", summary, rows)  # fmt: skip


@dataclass(frozen=True)
class Landing:
    """Expected new opportunities in one 30-day stretch of the next 90 days."""

    label: str
    from_open: float
    from_planned: float

    @property
    def total(self) -> float:
        return self.from_open + self.from_planned


def landings(forecast: OpportunityForecast, stretch: int = 30) -> list[Landing]:
    """The 90 days in stretches of 30: when the payoff lands, from each source."""
    found = []
    for start in range(0, forecast.horizon, stretch):
        end = min(start + stretch, forecast.horizon)
        first = forecast.as_of + timedelta(days=start)
        last = forecast.as_of + timedelta(days=end - 1)
        found.append(
            Landing(
                f"{first:%b %d} – {last:%b %d}",
                float(forecast.daily_open[start:end].sum()),
                float(forecast.daily_planned[start:end].sum()),
            )
        )
    return found
