"""Expected opportunities from open cohorts and from planned prospecting."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from spoor.forecast.cohorts import payoff_curve
from spoor.forecast.expect import (
    expected_opportunities,
    open_accounts,
    poisson_interval,
    trailing_plan,
)
from spoor.forecast.records import (
    AccountRecord,
    accounts_as_of,
    first_touches_per_day,
    opportunities_per_day,
)
from spoor.forecast.simulator import History

from .conftest import GAP_START, START

DAY0 = date(2025, 1, 1)


def test_an_open_account_gets_the_conditional_probability() -> None:
    # Four accounts: opportunities on days 10 and 40, one watched 100 days with nothing,
    # one 20 days old and open. KM: F(10) = 1/4, F(40) = 1/4 + 3/4 * 1/2 = 5/8 (two at risk).
    records = [
        AccountRecord(
            "a", DAY0, "s", 1, DAY0 + timedelta(days=10), None, DAY0 + timedelta(days=100)
        ),
        AccountRecord(
            "b", DAY0, "s", 1, DAY0 + timedelta(days=40), None, DAY0 + timedelta(days=100)
        ),
        AccountRecord("c", DAY0, "s", 1, None, None, DAY0 + timedelta(days=100)),
        AccountRecord(
            "d", DAY0 + timedelta(days=80), "s", 1, None, None, DAY0 + timedelta(days=100)
        ),
    ]
    curve = payoff_curve(records, competing=False, horizon=120)
    assert curve.at(40) == pytest.approx(5 / 8)
    # d is 20 days old on day 100: (F(20 + 90) - F(19)) / (1 - F(19)) = (5/8 - 1/4) / (3/4).
    young = [records[3]]
    forecast = expected_opportunities(young, curve, DAY0 + timedelta(days=100))
    assert forecast.from_open_cohorts.mean == pytest.approx(0.5)
    assert forecast.daily_open[20] == pytest.approx(0.5)  # it lands on day 40 of its life
    assert forecast.from_planned.mean == 0.0


def test_planned_first_touches_convolve_with_the_curve(steady: History) -> None:
    curve = payoff_curve(steady.accounts, competing=True, horizon=365, replicates=0)
    plan = np.zeros(90)
    plan[0] = 100.0  # 100 new accounts on the first day only
    forecast = expected_opportunities([], curve, steady.as_of, plan)
    assert forecast.from_planned.mean == pytest.approx(100 * curve.at(89))
    assert forecast.from_open_cohorts.mean == 0.0
    assert forecast.total.lower <= forecast.total.mean <= forecast.total.upper


def test_forecast_matches_what_happened_next(ungapped: History) -> None:
    origin = START + timedelta(days=600)
    known = accounts_as_of(ungapped.accounts, origin)
    curve = payoff_curve(known, horizon=365, replicates=0)
    plan = first_touches_per_day(ungapped.accounts, origin, origin + timedelta(days=90))
    forecast = expected_opportunities(known, curve, origin, plan)
    actual = opportunities_per_day(ungapped.accounts, origin, origin + timedelta(days=90)).sum()
    assert forecast.total.lower <= actual <= forecast.total.upper
    assert len(open_accounts(known)) > 0


def test_a_prospecting_gap_shows_as_a_dip_30_to_90_days_later(
    gapped: History, ungapped: History
) -> None:
    # Forecast right after the gap (at its end), with prospecting back to normal from then.
    origin = GAP_START + timedelta(days=30)
    months = []
    for history in (gapped, ungapped):
        known = accounts_as_of(history.accounts, origin)
        curve = payoff_curve(known, horizon=365, replicates=0)
        norm = first_touches_per_day(history.accounts, START, origin)[-212:-30].mean()
        forecast = expected_opportunities(known, curve, origin, np.full(90, norm))
        months.append([forecast.daily[i : i + 30].sum() for i in (0, 30, 60)])
    gap, base = np.array(months[0]), np.array(months[1])
    ratio = gap / base
    # Days 30-60 after the gap began lose the most; by days 90-120 it has mostly passed.
    assert ratio[0] < 0.85
    assert ratio[0] < ratio[1] < ratio[2]
    # And the simulated truth dips in the same window.
    window = (GAP_START + timedelta(days=30), GAP_START + timedelta(days=90))
    actual_gap = opportunities_per_day(gapped.accounts, *window).sum()
    actual_base = opportunities_per_day(ungapped.accounts, *window).sum()
    assert actual_gap < 0.85 * actual_base


def test_trailing_plan_keeps_the_recent_pace() -> None:
    series = np.concatenate((np.zeros(100), np.full(91, 7.0)))
    assert trailing_plan(series, 10) == pytest.approx(np.full(10, 7.0))


@pytest.mark.parametrize("mean", [0.0, 0.3, 4.0, 250.0])
def test_poisson_interval_contains_its_mean(mean: float) -> None:
    interval = poisson_interval(mean)
    assert interval.lower <= mean <= interval.upper
    if mean > 100:
        assert interval.upper - interval.lower == pytest.approx(2 * 1.645 * mean**0.5, rel=0.1)
