"""The simulator: seeded, consistent, and drawn from the kernel it claims."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from spoor.forecast.records import (
    accounts_as_of,
    deals_as_of,
    first_touches_per_day,
)
from spoor.forecast.simulator import (
    COMPETITORS,
    History,
    ProspectingGap,
    SimulationConfig,
    mean_conversion,
    simulate,
    true_payoff,
)


def test_same_seed_same_history() -> None:
    config = SimulationConfig(seed=9, days=120)
    assert simulate(config) == simulate(config)
    assert simulate(config) != simulate(SimulationConfig(seed=10, days=120))


def test_records_are_consistent(steady: History) -> None:
    as_of = steady.as_of
    for account in steady.accounts:
        assert account.first_touch < as_of
        assert account.as_of == as_of
        assert not (account.opportunity and account.disqualified)
        for day in (account.opportunity, account.disqualified):
            assert day is None or account.first_touch <= day < as_of
    converted = {a.account_id for a in steady.accounts if a.opportunity}
    assert {d.account_id for d in steady.deals} == converted
    for deal in steady.deals:
        assert (deal.closed is None) == (deal.outcome is None)
        assert (deal.competitor is not None) == (deal.loss_reason == "competitor")
        assert deal.competitor is None or deal.competitor in COMPETITORS
        assert [s.entered for s in deal.stages] == sorted(s.entered for s in deal.stages)
    assert any(d.competitor for d in steady.deals)
    assert any(d.outcome == "won" for d in steady.deals)


def test_gap_cuts_first_touches_in_its_window() -> None:
    gap = ProspectingGap(date(2023, 7, 3), days=30, drop=0.5)
    config = SimulationConfig(seed=4, days=300, volume_variation=0.0, gap=gap)
    touches = first_touches_per_day(simulate(config).accounts, config.start, config.as_of)
    inside = touches[182:212].sum()
    before = touches[152:182].sum()
    assert 0.35 < inside / before < 0.65


def test_true_payoff_is_a_distribution_function() -> None:
    config = SimulationConfig()
    values = [true_payoff(config, d) for d in (0, 30, 90, 180, 2000)]
    assert values == sorted(values)
    assert true_payoff(config, 2000, competing=False) == pytest.approx(mean_conversion(config))
    # Disqualification competes: fewer accounts ever convert.
    assert values[-1] < 0.9 * mean_conversion(config)
    assert mean_conversion(config, "hand_raiser") > mean_conversion(config, "outbound")


def test_as_of_views_hide_the_future(steady: History) -> None:
    cut = steady.as_of - timedelta(days=200)
    accounts = accounts_as_of(steady.accounts, cut)
    assert all(a.first_touch < cut and a.as_of == cut for a in accounts)
    assert all(a.opportunity is None or a.opportunity < cut for a in accounts)
    deals = deals_as_of(steady.deals, cut)
    assert all(d.closed is None or d.closed < cut for d in deals)
    assert all(s.entered < cut for d in deals for s in d.stages)
    reopened = [d for d in deals if d.is_open]
    assert any(d.outcome is None and d.loss_reason is None for d in reopened)
