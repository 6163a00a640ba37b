"""Rolling-origin backtest: forecast each past 90-day window from what was known at its start.

At every origin the records are cut back to what was visible then (``accounts_as_of``,
``deals_as_of``), each method forecasts the next ``horizon`` days, and the forecast is set
against what happened. Methods for opportunities:

- ``cohort``: open cohorts through the payoff curve, plus the prospecting of the window;
- ``distributed-lag``: the fallback model fitted on daily totals before the origin;
- ``run-rate``: the last ``horizon`` days' opportunities, repeated;
- ``no-lag``: opportunities in proportion to the same window's first touches.

Prospecting inside the window is the team's plan; the backtest takes the plan as met
(``plan="actual"``) or as the trailing pace (``plan="trailing"``). For revenue won:
``cohort+pipeline``, ``pipeline-only`` (stage-and-age-weighted open deals) and ``run-rate``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

import numpy as np

from spoor.forecast.cohorts import payoff_curve
from spoor.forecast.dlm import fit_distributed_lag
from spoor.forecast.expect import HORIZON_DAYS, expected_opportunities, trailing_plan
from spoor.forecast.records import (
    AccountRecord,
    DealRecord,
    FloatArray,
    accounts_as_of,
    deals_as_of,
    first_touches_per_day,
    opportunities_per_day,
)
from spoor.forecast.revenue import (
    average_deal,
    estimate_win_rates,
    expected_revenue,
    new_deal_win_rate,
)

Plan = Literal["actual", "trailing"]
Target = Literal["opportunities", "revenue"]


@dataclass(frozen=True)
class BacktestPoint:
    """One method's forecast for the window starting at ``origin``, and what happened."""

    target: Target
    method: str
    origin: date
    forecast: float
    actual: float


@dataclass(frozen=True)
class BacktestRow:
    """One method's scores over all origins.

    WAPE = sum|F - A| / sum A; bias = sum(F - A) / sum A; MASE = mean|F - A| divided by
    the run-rate's mean|F - A| (so run-rate scores 1 and lower is better).
    """

    target: Target
    method: str
    origins: int
    wape: float
    mase: float
    bias: float
    mean_forecast: float
    mean_actual: float


@dataclass(frozen=True)
class BacktestResult:
    """The score table and every point behind it."""

    rows: tuple[BacktestRow, ...]
    points: tuple[BacktestPoint, ...]

    def row(self, target: Target, method: str) -> BacktestRow:
        """The row of one target and method."""
        return next(r for r in self.rows if r.target == target and r.method == method)


def rolling_origins(
    start: date, as_of: date, *, horizon: int = HORIZON_DAYS, step: int = 30, warmup: int = 270
) -> list[date]:
    """Origins ``step`` days apart, from ``warmup`` days after ``start`` to the last one whose
    whole window has been seen by ``as_of``."""
    origins, origin = [], start + timedelta(days=warmup)
    while origin + timedelta(days=horizon) <= as_of:
        origins.append(origin)
        origin += timedelta(days=step)
    return origins


@dataclass(frozen=True)
class _Slice:
    """Everything one origin may see, plus the actuals of its window."""

    origin: date
    accounts: list[AccountRecord]
    deals: list[DealRecord]
    touches_before: FloatArray
    opps_before: FloatArray
    touches_window: FloatArray
    actual_opps: float
    actual_won: float
    won_before: float


def _slice(
    accounts: Sequence[AccountRecord],
    deals: Sequence[DealRecord],
    start: date,
    origin: date,
    horizon: int,
) -> _Slice:
    end = origin + timedelta(days=horizon)
    won = [deal for deal in deals if deal.outcome == "won" and deal.closed is not None]

    def won_between(first: date, last: date) -> float:
        return sum(deal.amount for deal in won if deal.closed and first <= deal.closed < last)

    return _Slice(
        origin=origin,
        accounts=accounts_as_of(accounts, origin),
        deals=deals_as_of(deals, origin),
        touches_before=first_touches_per_day(accounts, start, origin),
        opps_before=opportunities_per_day(accounts, start, origin),
        touches_window=first_touches_per_day(accounts, origin, end),
        actual_opps=float(opportunities_per_day(accounts, origin, end).sum()),
        actual_won=won_between(origin, end),
        won_before=won_between(origin - timedelta(days=horizon), origin),
    )


def _plan(data: _Slice, plan: Plan, horizon: int) -> FloatArray:
    if plan == "actual":
        return data.touches_window
    return trailing_plan(data.touches_before, horizon)


def _opportunity_methods(data: _Slice, plan: Plan, horizon: int) -> dict[str, float]:
    planned = _plan(data, plan, horizon)
    curve = payoff_curve(data.accounts, competing=True, horizon=365, replicates=0)
    cohort = expected_opportunities(data.accounts, curve, data.origin, planned, horizon=horizon)
    fit = fit_distributed_lag(data.touches_before, data.opps_before)
    recent_touches = float(data.touches_before[-horizon:].sum())
    recent_opps = float(data.opps_before[-horizon:].sum())
    per_touch = recent_opps / recent_touches if recent_touches > 0 else 0.0
    return {
        "cohort": cohort.total.mean,
        "distributed-lag": float(fit.forecast(data.touches_before, planned).sum()),
        "run-rate": recent_opps,
        "no-lag": per_touch * float(planned.sum()),
    }


def _revenue_methods(data: _Slice, new_opportunities: float, horizon: int) -> dict[str, float]:
    rates = estimate_win_rates(data.deals, data.origin, horizon=horizon)
    open_deals = [deal for deal in data.deals if deal.is_open]
    revenue = expected_revenue(
        open_deals,
        rates,
        data.origin,
        new_opportunities=new_opportunities,
        new_win_rate=new_deal_win_rate(data.deals, data.origin, horizon),
        deal_size=average_deal(data.deals),
        draws=200,
    )
    return {
        "cohort+pipeline": revenue.total.mean,
        "pipeline-only": revenue.from_pipeline.mean,
        "run-rate": data.won_before,
    }


def score(points: Sequence[BacktestPoint]) -> tuple[BacktestRow, ...]:
    """WAPE, MASE (against run-rate) and bias per target and method."""
    groups: dict[tuple[Target, str], list[BacktestPoint]] = defaultdict(list)
    for point in points:
        groups[point.target, point.method].append(point)
    rows = []
    for (target, method), group in groups.items():
        f = np.array([p.forecast for p in group])
        a = np.array([p.actual for p in group])
        naive = groups.get((target, "run-rate"), group)
        scale = float(np.mean([abs(p.forecast - p.actual) for p in naive]))
        total = float(a.sum())
        rows.append(
            BacktestRow(
                target=target,
                method=method,
                origins=len(group),
                wape=float(np.abs(f - a).sum()) / total if total else float("nan"),
                mase=float(np.abs(f - a).mean()) / scale if scale else float("nan"),
                bias=float((f - a).sum()) / total if total else float("nan"),
                mean_forecast=float(f.mean()),
                mean_actual=float(a.mean()),
            )
        )
    return tuple(rows)


def backtest(
    accounts: Sequence[AccountRecord],
    deals: Sequence[DealRecord],
    *,
    start: date,
    as_of: date,
    horizon: int = HORIZON_DAYS,
    step: int = 30,
    warmup: int = 270,
    plan: Plan = "actual",
    progress: Callable[[date], None] | None = None,
) -> BacktestResult:
    """Run every method at every rolling origin between ``start`` + ``warmup`` and ``as_of``."""
    points: list[BacktestPoint] = []
    for origin in rolling_origins(start, as_of, horizon=horizon, step=step, warmup=warmup):
        if progress is not None:
            progress(origin)
        data = _slice(accounts, deals, start, origin, horizon)
        opportunity = _opportunity_methods(data, plan, horizon)
        for method, value in opportunity.items():
            points.append(BacktestPoint("opportunities", method, origin, value, data.actual_opps))
        revenue = _revenue_methods(data, opportunity["cohort"], horizon)
        for method, value in revenue.items():
            points.append(BacktestPoint("revenue", method, origin, value, data.actual_won))
    return BacktestResult(rows=score(points), points=tuple(points))
