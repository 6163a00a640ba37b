"""Health checks on the pipeline: each returns a ``HealthCheck`` with a status and its numbers.

- replacement coverage: expected new opportunities against the number the target needs;
- Little's law: open deals L against creation rate x average time in the pipeline (lambda W);
  L far above lambda W means deals are staying open longer than they used to (stale);
- sales velocity: opportunities x win rate x average deal / cycle length, per day;
- prospecting gap: the last 30 days' first touches against the trailing norm, with the
  months that will feel it taken from the payoff curve's lag window.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

import numpy as np

from spoor.forecast.cohorts import PayoffCurve
from spoor.forecast.records import FloatArray

Status = Literal["ok", "warn", "alert"]


@dataclass(frozen=True)
class HealthCheck:
    """One check's verdict, a sentence for people, and the numbers behind it."""

    name: str
    status: Status
    message: str
    numbers: Mapping[str, float] = field(default_factory=dict)


def _grade(shortfall: float, warn: float, alert: float) -> Status:
    """Status for a shortfall (0 = none, 1 = everything missing) against two thresholds."""
    if shortfall >= alert:
        return "alert"
    return "warn" if shortfall >= warn else "ok"


def needed_opportunities(target_revenue: float, deal_size: float, win_rate: float) -> float:
    """Opportunities needed to reach ``target_revenue`` at this deal size and win rate."""
    per_opportunity = deal_size * win_rate
    return target_revenue / per_opportunity if per_opportunity > 0 else float("inf")


def replacement_coverage(
    expected_opportunities: float, needed: float, *, warn: float = 1.0, alert: float = 0.7
) -> HealthCheck:
    """Expected new opportunities over the number the target needs (1 or more is covered)."""
    coverage = expected_opportunities / needed if needed > 0 else float("inf")
    status: Status = "ok" if coverage >= warn else ("warn" if coverage >= alert else "alert")
    return HealthCheck(
        name="replacement_coverage",
        status=status,
        message=(
            f"expected {expected_opportunities:.0f} new opportunities against "
            f"{needed:.0f} needed ({coverage:.0%} coverage)"
        ),
        numbers={"expected": expected_opportunities, "needed": needed, "coverage": coverage},
    )


def littles_law(
    open_ages: Sequence[int],
    created_per_day: float,
    average_days_open: float,
    *,
    warn: float = 1.5,
    alert: float = 2.5,
    age_norm: float | None = None,
) -> HealthCheck:
    """Open deals L against lambda W (creation rate x average days a closed deal was open).

    In a steady pipeline L is about lambda W; much more means deals linger. ``age_norm``
    (default 2 W) also counts open deals older than it.
    """
    count = len(open_ages)
    steady = created_per_day * average_days_open
    ratio = count / steady if steady > 0 else float("inf") if count else 1.0
    norm = age_norm if age_norm is not None else 2.0 * average_days_open
    stale = int(np.sum(np.asarray(open_ages) > norm)) if count else 0
    status = _grade(ratio - 1.0, warn - 1.0, alert - 1.0)
    return HealthCheck(
        name="littles_law",
        status=status,
        message=(
            f"{count} open deals against {steady:.0f} expected from {created_per_day:.2f} a day "
            f"x {average_days_open:.0f} days ({ratio:.1f}x); {stale} older than {norm:.0f} days"
        ),
        numbers={"open": count, "expected_open": steady, "ratio": ratio, "stale": stale},
    )


def sales_velocity(
    opportunities: float,
    win_rate: float,
    deal_size: float,
    cycle_days: float,
    *,
    previous: float | None = None,
    warn_drop: float = 0.2,
    alert_drop: float = 0.4,
) -> HealthCheck:
    """Revenue per day the pipeline moves: opportunities x win rate x deal size / cycle."""
    velocity = opportunities * win_rate * deal_size / cycle_days if cycle_days > 0 else 0.0
    drop = 1.0 - velocity / previous if previous else 0.0
    message = f"sales velocity {velocity:,.0f} a day"
    if previous:
        message += f" ({-drop:+.0%} against {previous:,.0f})"
    return HealthCheck(
        name="sales_velocity",
        status=_grade(drop, warn_drop, alert_drop),
        message=message,
        numbers={"velocity": velocity, "previous": previous or 0.0, "drop": drop},
    )


def month_span(first: date, last: date) -> str:
    """ "February to April", or "March" when both fall in one month (with years if they differ)."""
    same_year = first.year == last.year
    start = first.strftime("%B") if same_year else first.strftime("%B %Y")
    end = last.strftime("%B") if same_year else last.strftime("%B %Y")
    if (first.year, first.month) == (last.year, last.month):
        return start
    return f"{start} to {end}"


def gap_window(
    as_of: date,
    curve: PayoffCurve,
    *,
    window: int = 30,
    lag_window: tuple[float, float] = (0.1, 0.9),
) -> tuple[date, date]:
    """The days when the last ``window`` days' prospecting pays off: the window's middle
    day plus the curve's lag quantiles (10% and 90% of the opportunities by default)."""
    middle = as_of - timedelta(days=window // 2 + 1)
    low_q, high_q = lag_window
    first = middle + timedelta(days=curve.lag_quantile(low_q))
    return first, middle + timedelta(days=curve.lag_quantile(high_q))


def prospecting_gap(
    first_touches_per_day: FloatArray,
    as_of: date,
    curve: PayoffCurve,
    *,
    window: int = 30,
    norm_days: int = 182,
    warn_drop: float = 0.2,
    alert_drop: float = 0.4,
    lag_window: tuple[float, float] = (0.1, 0.9),
) -> HealthCheck:
    """Compare the last ``window`` days' first touches (the series ends the day before
    ``as_of``) with the ``norm_days`` before them, and say which months will feel it.

    The missing first touches x F(horizon) x the lag window's share of the payoff is
    the expected shortfall; the months are those from the window's middle day plus the
    curve's 10% lag quantile to it plus the 90% quantile.
    """
    series = np.asarray(first_touches_per_day, dtype=np.float64)
    recent = series[-window:]
    trailing = series[-(window + norm_days) : -window]
    norm = float(trailing.mean()) * window if trailing.size else 0.0
    done = float(recent.sum())
    drop = 1.0 - done / norm if norm > 0 else 0.0
    low_q, high_q = lag_window
    share = curve.at(curve.lag_quantile(high_q)) - curve.at(curve.lag_quantile(low_q))
    fewer = max(norm - done, 0.0) * share
    months = month_span(*gap_window(as_of, curve, window=window, lag_window=lag_window))
    status = _grade(drop, warn_drop, alert_drop)
    if status == "ok":
        message = f"prospecting in the last {window} days is at {1 - drop:.0%} of the norm"
    else:
        message = (
            f"prospecting fell {drop:.0%} in the last {window} days: expect about "
            f"{fewer:.0f} fewer opportunities in {months}"
        )
    return HealthCheck(
        name="prospecting_gap",
        status=status,
        message=message,
        numbers={"recent": done, "norm": norm, "drop": drop, "fewer_opportunities": fewer},
    )
