"""Health checks: the prospecting-gap warning names the months, and the pipeline checks grade."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from scipy import stats

from spoor.forecast.cohorts import PayoffCurve, payoff_curve
from spoor.forecast.health import (
    HealthCheck,
    gap_window,
    littles_law,
    month_span,
    needed_opportunities,
    prospecting_gap,
    replacement_coverage,
    sales_velocity,
)
from spoor.forecast.records import accounts_as_of, first_touches_per_day, opportunities_per_day
from spoor.forecast.simulator import History, SimulationConfig, simulate

from .conftest import GAP_START, START

WARNING = re.compile(
    r"prospecting fell (\d+)% in the last 30 days: "
    r"expect about (\d+) fewer opportunities in (\w+) to (\w+)"
)


def gap_check(history: History, as_of: date) -> tuple[HealthCheck, PayoffCurve]:
    known = accounts_as_of(history.accounts, as_of)
    curve = payoff_curve(known, horizon=365, replicates=0)
    return prospecting_gap(
        first_touches_per_day(history.accounts, START, as_of), as_of, curve
    ), curve


def test_a_gap_is_a_named_warning_with_the_months_that_suffer(
    gapped: History, ungapped: History
) -> None:
    as_of = GAP_START + timedelta(days=30)  # 2024-09-23: the gap ran 2024-08-24 to 09-22
    check, curve = gap_check(gapped, as_of)
    assert check.name == "prospecting_gap"
    assert check.status == "alert"
    match = WARNING.fullmatch(check.message)
    assert match, check.message
    assert 45 <= int(match[1]) <= 75  # drop 60%, measured against a swinging norm
    # The payoff of 2024-09-07 +- 15 days, lags 12 to 87 days (gamma quantiles): Sep-Nov.
    kernel = gapped.config.kernel
    low = stats.gamma.ppf(0.1, kernel.shape, scale=kernel.mean / kernel.shape)
    first, last = gap_window(as_of, curve)
    assert abs((first - (date(2024, 9, 7) + timedelta(days=low))).days) <= 5
    assert (match[3], match[4]) == ("September", "November")
    assert (last.year, last.month) == (2024, 11)
    # "About N fewer" is the size of the real shortfall (same seed, without the gap).
    window = (GAP_START, GAP_START + timedelta(days=150))
    lost = (
        opportunities_per_day(ungapped.accounts, *window).sum()
        - opportunities_per_day(gapped.accounts, *window).sum()
    )
    assert int(match[2]) == pytest.approx(lost, abs=8)
    assert check.numbers["fewer_opportunities"] == pytest.approx(int(match[2]), abs=0.5)


def test_no_warning_without_a_gap(ungapped: History) -> None:
    check, _ = gap_check(ungapped, GAP_START + timedelta(days=30))
    assert check.status != "alert"
    assert "fell" not in check.message or check.status == "warn"


def test_month_span() -> None:
    assert month_span(date(2025, 2, 3), date(2025, 4, 30)) == "February to April"
    assert month_span(date(2025, 3, 1), date(2025, 3, 9)) == "March"
    assert month_span(date(2024, 12, 1), date(2025, 2, 1)) == "December 2024 to February 2025"


@pytest.mark.parametrize(
    ("expected", "needed", "status"),
    [(120.0, 100.0, "ok"), (100.0, 100.0, "ok"), (80.0, 100.0, "warn"), (50.0, 100.0, "alert")],
)
def test_replacement_coverage(expected: float, needed: float, status: str) -> None:
    check = replacement_coverage(expected, needed)
    assert check.status == status
    assert check.numbers["coverage"] == pytest.approx(expected / needed)


def test_needed_opportunities() -> None:
    assert needed_opportunities(300_000, 10_000, 0.3) == pytest.approx(100)


def test_littles_law_flags_a_stale_pipeline() -> None:
    # 1 deal a day open 60 days on average: about 60 open deals is healthy, 200 is not.
    assert littles_law([30] * 60, 1.0, 60.0).status == "ok"
    stale = littles_law([30] * 100 + [400] * 100, 1.0, 60.0)
    assert stale.status == "alert"
    assert stale.numbers["stale"] == 100


def test_littles_law_on_simulated_deals_left_open() -> None:
    healthy, stalled = (
        simulate(SimulationConfig(seed=3, days=540, stalled_share=share)) for share in (0.0, 0.6)
    )
    statuses = []
    for history in (healthy, stalled):
        closed = [d for d in history.deals if d.closed is not None]
        days_open = sum(d.age(d.closed) for d in closed if d.closed) / len(closed)
        created = sum(1 for d in history.deals if d.created >= history.as_of - timedelta(days=180))
        ages = [d.age(history.as_of) for d in history.deals if d.is_open]
        statuses.append(littles_law(ages, created / 180, days_open).status)
    assert statuses == ["ok", "alert"]


def test_sales_velocity() -> None:
    check = sales_velocity(100, 0.25, 12_000, 60)
    assert check.numbers["velocity"] == pytest.approx(5_000)
    assert check.status == "ok"
    assert sales_velocity(100, 0.25, 12_000, 60, previous=10_000).status == "alert"
    assert sales_velocity(100, 0.25, 12_000, 60, previous=6_500).status == "warn"  # 23% down
