"""One call from stored records to everything ``spoor forecast`` shows.

The database layer builds ``AccountRecord`` and ``DealRecord`` lists; ``summarize`` runs
the payoff curve, the 90-day expectations, the revenue forecast and the health checks,
and ``as_json`` gives the keys the CLI prints.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np

from spoor.forecast.cohorts import PayoffCurve, RuleTest, payoff_curve, rule_test
from spoor.forecast.expect import (
    HORIZON_DAYS,
    OpportunityForecast,
    expected_opportunities,
    trailing_plan,
)
from spoor.forecast.health import (
    HealthCheck,
    littles_law,
    needed_opportunities,
    prospecting_gap,
    replacement_coverage,
    sales_velocity,
)
from spoor.forecast.records import AccountRecord, DealRecord, FloatArray, first_touches_per_day
from spoor.forecast.revenue import (
    RevenueForecast,
    average_deal,
    estimate_win_rates,
    expected_revenue,
    new_deal_win_rate,
)


@dataclass(frozen=True)
class ForecastSummary:
    """The forecast as of one day, for one rep or the team."""

    as_of: date
    curve: PayoffCurve
    rule: RuleTest
    opportunities: OpportunityForecast
    revenue: RevenueForecast
    health: tuple[HealthCheck, ...]


def _closed_cycle(deals: Sequence[DealRecord]) -> float:
    days = [deal.age(deal.closed) for deal in deals if deal.closed is not None]
    return float(np.mean(days)) if days else 0.0


def _pipeline_checks(
    deals: Sequence[DealRecord], as_of: date, expected: float, target_revenue: float | None
) -> list[HealthCheck]:
    recent = [deal for deal in deals if deal.created >= as_of - timedelta(days=HORIZON_DAYS)]
    cycle = _closed_cycle(deals)
    closed = [deal for deal in deals if deal.outcome is not None]
    win_rate = sum(deal.outcome == "won" for deal in closed) / len(closed) if closed else 0.0
    size = average_deal(deals)
    open_ages = [deal.age(as_of) for deal in deals if deal.is_open]
    checks = [
        littles_law(open_ages, len(recent) / HORIZON_DAYS, cycle),
        sales_velocity(len(open_ages), win_rate, size, cycle),
    ]
    if target_revenue is not None:
        needed = needed_opportunities(target_revenue, size, win_rate)
        checks.insert(0, replacement_coverage(expected, needed))
    return checks


def summarize(
    accounts: Sequence[AccountRecord],
    deals: Sequence[DealRecord],
    as_of: date,
    *,
    planned_first_touches: FloatArray | None = None,
    target_revenue: float | None = None,
    history_start: date | None = None,
    seed: int = 0,
) -> ForecastSummary:
    """Forecast the next 90 days from records as of ``as_of``.

    Without ``planned_first_touches`` the plan is the trailing 13 weeks' pace. Replacement
    coverage is checked only when a ``target_revenue`` for the next 90 days is given.
    """
    start = history_start or min((a.first_touch for a in accounts), default=as_of)
    curve = payoff_curve(accounts, competing=True, seed=seed)
    touches = first_touches_per_day(accounts, start, as_of)
    plan = trailing_plan(touches) if planned_first_touches is None else planned_first_touches
    opportunities = expected_opportunities(accounts, curve, as_of, plan)
    revenue = expected_revenue(
        [deal for deal in deals if deal.is_open],
        estimate_win_rates(deals, as_of),
        as_of,
        new_opportunities=opportunities.total.mean,
        new_win_rate=new_deal_win_rate(deals, as_of),
        deal_size=average_deal(deals),
        seed=seed,
    )
    health = [
        *_pipeline_checks(deals, as_of, opportunities.total.mean, target_revenue),
        prospecting_gap(touches, as_of, curve),
    ]
    return ForecastSummary(as_of, curve, rule_test(curve), opportunities, revenue, tuple(health))


def as_json(summary: ForecastSummary) -> dict[str, Any]:
    """The keys ``spoor forecast --json`` prints (plain floats, strings and lists)."""
    curve, rule = summary.curve, summary.rule
    return {
        "as_of": summary.as_of.isoformat(),
        "payoff_f90": rule.f90,
        "payoff_f180": rule.f180,
        "payoff_f90_interval": list(curve.interval(90)),
        "payoff_ratio_f90_f180": rule.ratio,
        "mean_lag_days": curve.mean_lag(),
        "expected_opportunities_90d": asdict(summary.opportunities.total),
        "expected_opportunities_90d_from_open_cohorts": asdict(
            summary.opportunities.from_open_cohorts
        ),
        "expected_opportunities_90d_from_planned": asdict(summary.opportunities.from_planned),
        "expected_revenue_90d": asdict(summary.revenue.total),
        "expected_revenue_90d_from_pipeline": asdict(summary.revenue.from_pipeline),
        "expected_revenue_90d_from_new": asdict(summary.revenue.from_new),
        "health": [
            {
                "name": check.name,
                "status": check.status,
                "message": check.message,
                "numbers": dict(check.numbers),
            }
            for check in summary.health
        ],
    }
