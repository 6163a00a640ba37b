"""Expected new opportunities in the next 90 days: from open cohorts and from planned prospecting.

An open account of age a (touched, no opportunity, not disqualified) turns into an
opportunity within the next h days with probability (F(a + h) - F(a)) / S(a), where S is
the curve's event-free survival (1 - F for Kaplan-Meier). Planned first touches on future
day j add F(h - j) each. Both are sums of independent Bernoulli trials, so the count is
close to Poisson; the intervals are Poisson quantiles around the mean.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
from scipy import stats

from spoor.forecast.cohorts import PayoffCurve
from spoor.forecast.records import AccountRecord, FloatArray

HORIZON_DAYS = 90


@dataclass(frozen=True)
class Interval:
    """An expected value with a (lower, upper) interval around it."""

    mean: float
    lower: float
    upper: float


@dataclass(frozen=True)
class OpportunityForecast:
    """Expected opportunities over the next ``horizon`` days, by where they come from.

    ``daily_open`` and ``daily_planned`` give the expected count per future day
    (index 0 = the as-of day), so a chart can show when the payoff lands.
    """

    as_of: date
    horizon: int
    from_open_cohorts: Interval
    from_planned: Interval
    total: Interval
    daily_open: FloatArray
    daily_planned: FloatArray

    @property
    def daily(self) -> FloatArray:
        """Expected opportunities per future day from both parts."""
        return self.daily_open + self.daily_planned


def poisson_interval(mean: float, confidence: float = 0.9) -> Interval:
    """Poisson quantiles around ``mean`` (a count's interval when events are rare)."""
    if mean <= 0.0:
        return Interval(0.0, 0.0, 0.0)
    tail = (1.0 - confidence) / 2
    lower = float(stats.poisson.ppf(tail, mean))
    upper = float(stats.poisson.ppf(1.0 - tail, mean))
    return Interval(mean, min(lower, mean), max(upper, mean))


def open_accounts(records: Sequence[AccountRecord]) -> list[AccountRecord]:
    """Accounts touched but neither converted nor disqualified (yet)."""
    return [r for r in records if r.opportunity is None and r.disqualified is None]


def open_cohort_daily(
    records: Sequence[AccountRecord], curve: PayoffCurve, as_of: date, horizon: int
) -> FloatArray:
    """Expected opportunities per future day from accounts already touched."""
    ages = np.array([(as_of - r.first_touch).days for r in open_accounts(records)], dtype=int)
    if ages.size == 0:
        return np.zeros(horizon)
    # An open account of age a was watched through day a - 1; its next days are lags
    # a..a+h-1. cdf[i] = F(i - 1), flat past the curve's horizon.
    cdf = np.concatenate(([0.0], curve.f, np.full(horizon + 1, curve.f[-1])))
    lags = np.minimum(ages, curve.horizon + 1)[:, None] + np.arange(horizon)[None, :]
    survival = np.array([curve.survival_at(age - 1) for age in ages])
    alive = survival > 0
    windows = cdf[lags[alive] + 1] - cdf[lags[alive]]
    daily: FloatArray = (windows / survival[alive][:, None]).sum(axis=0)
    return daily


def planned_daily(
    planned_first_touches: FloatArray, curve: PayoffCurve, horizon: int
) -> FloatArray:
    """Expected opportunities per future day from first touches planned per future day."""
    plan = np.asarray(planned_first_touches, dtype=np.float64)[:horizon]
    return np.convolve(plan, curve.pmf())[:horizon]


def expected_opportunities(
    records: Sequence[AccountRecord],
    curve: PayoffCurve,
    as_of: date,
    planned_first_touches: FloatArray | None = None,
    *,
    horizon: int = HORIZON_DAYS,
    confidence: float = 0.9,
) -> OpportunityForecast:
    """Opportunities expected in [as_of, as_of + horizon), open cohorts and plan apart.

    ``planned_first_touches[j]`` is the number of new accounts to be first touched on day
    as_of + j (use ``trailing_plan`` for "as many as lately").
    """
    daily_open = open_cohort_daily(records, curve, as_of, horizon)
    plan = np.zeros(horizon) if planned_first_touches is None else planned_first_touches
    daily_plan = np.zeros(horizon)
    daily_plan[: min(horizon, len(plan))] = planned_daily(plan, curve, horizon)
    open_mean, plan_mean = float(daily_open.sum()), float(daily_plan.sum())
    return OpportunityForecast(
        as_of=as_of,
        horizon=horizon,
        from_open_cohorts=poisson_interval(open_mean, confidence),
        from_planned=poisson_interval(plan_mean, confidence),
        total=poisson_interval(open_mean + plan_mean, confidence),
        daily_open=daily_open,
        daily_planned=daily_plan,
    )


def trailing_plan(
    first_touches_per_day: FloatArray, horizon: int = HORIZON_DAYS, window: int = 91
) -> FloatArray:
    """A plan that keeps the recent pace: the trailing ``window`` days' daily mean, repeated.

    91 days (13 whole weeks) so weekends weigh the same in every window.
    """
    recent = np.asarray(first_touches_per_day, dtype=np.float64)[-window:]
    pace = float(recent.mean()) if recent.size else 0.0
    return np.full(horizon, pace)
