"""Win rates by stage and age, and revenue expected from open and new deals."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from spoor.forecast.records import DealRecord, StageEntry, deals_as_of
from spoor.forecast.revenue import (
    age_band,
    average_deal,
    estimate_win_rates,
    expected_revenue,
    new_deal_win_rate,
)
from spoor.forecast.simulator import History

DAY0 = date(2025, 1, 1)


def deal(name: str, stages: list[tuple[str, int]], closed: int | None, won: bool) -> DealRecord:
    return DealRecord(
        deal_id=name,
        account_id=name,
        created=DAY0,
        amount=1000.0,
        stages=tuple(StageEntry(stage, DAY0 + timedelta(days=day)) for stage, day in stages),
        closed=None if closed is None else DAY0 + timedelta(days=closed),
        outcome=None if closed is None else ("won" if won else "lost"),
    )


def test_win_rates_by_stage_and_age_by_hand() -> None:
    deals = [
        deal("w", [("qualify", 0), ("propose", 10)], closed=20, won=True),
        deal("l", [("qualify", 0), ("propose", 40)], closed=50, won=False),
        deal("s", [("qualify", 0)], closed=None, won=False),  # open 200 days: no win in 90
    ]
    rates = estimate_win_rates(deals, DAY0 + timedelta(days=200), prior=0.0)
    # qualify, 0-29 days: all three were there on day 0; only w won within 90 days.
    assert rates.cells["qualify", 0] == (1, 3)
    assert rates.cells["propose", 0] == (1, 1)  # w entered propose at 10 days
    assert rates.cells["propose", 1] == (0, 1)  # l entered propose at 40 days
    assert rates.rate("propose", 5) == pytest.approx(1.0)
    assert rates.rate("propose", 45) == pytest.approx(0.0)
    # s sat in qualify from day 90 to 180 without winning; from day 180 its next 90 days
    # are not over yet, so that cell has not seen it.
    assert rates.cells["qualify", 3] == (0, 1)
    assert ("qualify", 4) not in rates.cells
    # A prior pulls thin cells toward the stage's rate.
    smoothed = estimate_win_rates(deals, DAY0 + timedelta(days=200), prior=5.0)
    assert 0.0 < smoothed.rate("propose", 45) < smoothed.rate("propose", 5) < 1.0


def test_age_bands() -> None:
    assert [age_band(a) for a in (0, 29, 30, 89, 90, 179, 180, 999)] == [0, 0, 1, 2, 3, 3, 4, 4]


def test_expected_revenue_mean_is_rate_times_amount(steady: History) -> None:
    as_of = steady.as_of
    rates = estimate_win_rates(steady.deals, as_of)
    open_deals = [d for d in steady.deals if d.is_open]
    forecast = expected_revenue(
        open_deals, rates, as_of, new_opportunities=40.0, new_win_rate=0.1, deal_size=10_000.0
    )
    pipeline = sum(d.amount * rates.rate(d.stage_at(as_of) or "", d.age(as_of)) for d in open_deals)
    assert forecast.from_pipeline.mean == pytest.approx(pipeline)
    assert forecast.from_new.mean == pytest.approx(40_000.0)
    assert forecast.total.mean == pytest.approx(pipeline + 40_000.0)
    for part in (forecast.from_pipeline, forecast.from_new, forecast.total):
        assert part.lower <= part.mean <= part.upper


def test_win_rates_predict_the_next_quarter(steady: History) -> None:
    origin = steady.as_of - timedelta(days=120)
    known = deals_as_of(steady.deals, origin)
    rates = estimate_win_rates(known, origin)
    open_deals = [d for d in known if d.is_open]
    forecast = expected_revenue(
        open_deals, rates, origin, new_opportunities=0.0, new_win_rate=0.0, deal_size=0.0
    )
    ids = {d.deal_id for d in open_deals}
    end = origin + timedelta(days=90)
    actual = sum(
        d.amount
        for d in steady.deals
        if d.deal_id in ids and d.outcome == "won" and d.closed and d.closed < end
    )
    assert forecast.from_pipeline.lower <= actual <= forecast.from_pipeline.upper


def test_new_deal_win_rate_and_average_deal(steady: History) -> None:
    rate = new_deal_win_rate(steady.deals, steady.as_of)
    # 30% win after a gamma cycle of mean 45 days: about 30% x E[(90 - T)+ / 90] ~ 0.13.
    assert 0.08 < rate < 0.2
    won = [d.amount for d in steady.deals if d.outcome == "won"]
    assert average_deal(steady.deals) == pytest.approx(sum(won) / len(won))
