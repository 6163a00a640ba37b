"""Revenue expected in the next 90 days: open deals by stage-and-age win rates, plus new deals.

A win rate here is P(won within the horizon | the deal is in stage s at an age in band b),
read off the team's own deals: each deal that spent time in (s, b) counts once, from the
first day it was there, if by then its fate over the horizon is known. Thin cells borrow
strength from the stage's rate, and that from the overall rate (a beta prior of
``prior`` pseudo-deals), so one lucky deal does not make a cell certain.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from spoor.forecast.expect import HORIZON_DAYS, Interval
from spoor.forecast.records import DealRecord, FloatArray

AGE_EDGES = (30, 60, 90, 180)


@dataclass(frozen=True)
class WinRates:
    """Smoothed P(won within ``horizon`` days) by stage and deal-age band."""

    horizon: int
    edges: tuple[int, ...]
    cells: dict[tuple[str, int], tuple[int, int]]
    stages: dict[str, tuple[int, int]]
    overall: float
    prior: float

    def rate(self, stage: str, age: int) -> float:
        """The win rate of a deal in ``stage`` at ``age`` days."""
        won, seen = self.stages.get(stage, (0, 0))
        stage_rate = (won + self.prior * self.overall) / (seen + self.prior)
        won, seen = self.cells.get((stage, age_band(age, self.edges)), (0, 0))
        return (won + self.prior * stage_rate) / (seen + self.prior)


@dataclass(frozen=True)
class RevenueForecast:
    """Revenue expected to be won in [as_of, as_of + horizon), by where it comes from."""

    horizon: int
    from_pipeline: Interval
    from_new: Interval
    total: Interval


def age_band(age: int, edges: Sequence[int] = AGE_EDGES) -> int:
    """Index of the age band: with edges (30, 60, 90, 180), 0 is 0-29 days, 4 is 180+."""
    return int(np.searchsorted(np.asarray(edges), age, side="right"))


def _occupancy(deal: DealRecord, as_of: date) -> list[tuple[str, date, date]]:
    """(stage, first day, day after the last) for each stage the deal has been in."""
    end = deal.closed or as_of
    spans = []
    for i, entry in enumerate(deal.stages):
        left = deal.stages[i + 1].entered if i + 1 < len(deal.stages) else end
        if left > entry.entered:
            spans.append((entry.stage, entry.entered, left))
    return spans


def _snapshots(deal: DealRecord, as_of: date, edges: Sequence[int]) -> list[tuple[str, int, date]]:
    """The first day the deal was in each (stage, age band) it occupied."""
    bounds = [0, *edges, 10**6]
    found = []
    for stage, first, after in _occupancy(deal, as_of):
        for band in range(len(bounds) - 1):
            band_first = deal.created + timedelta(days=bounds[band])
            band_after = deal.created + timedelta(days=bounds[band + 1])
            start = max(first, band_first)
            if start < min(after, band_after):
                found.append((stage, band, start))
    return found


def _won_within(deal: DealRecord, start: date, horizon: int, as_of: date) -> bool | None:
    """Whether the deal was won within ``horizon`` days of ``start``; None if not yet known."""
    deadline = start + timedelta(days=horizon)
    if deal.closed is not None and deal.closed < min(deadline, as_of + timedelta(days=1)):
        return deal.outcome == "won"
    return False if deadline <= as_of else None


def estimate_win_rates(
    deals: Sequence[DealRecord],
    as_of: date,
    *,
    horizon: int = HORIZON_DAYS,
    edges: Sequence[int] = AGE_EDGES,
    prior: float = 5.0,
) -> WinRates:
    """Win rates by stage and age band from the deals' histories as of ``as_of``."""
    cells: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0])
    stages: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    counted_stage: set[tuple[str, str]] = set()
    for deal in deals:
        for stage, band, start in _snapshots(deal, as_of, edges):
            won = _won_within(deal, start, horizon, as_of)
            if won is None:
                continue
            cells[stage, band][0] += won
            cells[stage, band][1] += 1
            if (deal.deal_id, stage) not in counted_stage:
                counted_stage.add((deal.deal_id, stage))
                stages[stage][0] += won
                stages[stage][1] += 1
    won_total = sum(won for won, _ in stages.values())
    seen_total = sum(seen for _, seen in stages.values())
    return WinRates(
        horizon=horizon,
        edges=tuple(edges),
        cells={key: (won, seen) for key, (won, seen) in cells.items()},
        stages={key: (won, seen) for key, (won, seen) in stages.items()},
        overall=won_total / seen_total if seen_total else 0.0,
        prior=prior,
    )


def new_deal_win_rate(
    deals: Sequence[DealRecord], as_of: date, horizon: int = HORIZON_DAYS
) -> float:
    """P(a deal created at a uniform moment in the next ``horizon`` days is won inside them).

    From deals old enough to have been watched for a whole horizon: a deal won after
    t days counts (horizon - t) / horizon, the chance a uniform creation day leaves room.
    """
    credit, count = 0.0, 0
    for deal in deals:
        if deal.created + timedelta(days=horizon) > as_of:
            continue
        count += 1
        if deal.outcome == "won" and deal.closed is not None:
            credit += max(horizon - deal.age(deal.closed), 0) / horizon
    return credit / count if count else 0.0


def average_deal(deals: Sequence[DealRecord]) -> float:
    """Mean amount of won deals (of all deals while none is won yet)."""
    won = [deal.amount for deal in deals if deal.outcome == "won"]
    amounts = won or [deal.amount for deal in deals]
    return float(np.mean(amounts)) if amounts else 0.0


def _interval(mean: float, draws: FloatArray, confidence: float) -> Interval:
    tail = (1.0 - confidence) / 2 * 100
    low, high = np.percentile(draws, [tail, 100 - tail])
    return Interval(mean, min(float(low), mean), max(float(high), mean))


def expected_revenue(
    open_deals: Sequence[DealRecord],
    win_rates: WinRates,
    as_of: date,
    *,
    new_opportunities: float,
    new_win_rate: float,
    deal_size: float,
    confidence: float = 0.9,
    draws: int = 4000,
    seed: int = 0,
) -> RevenueForecast:
    """Revenue won within the horizon: open deals at their win rates, plus new deals.

    Intervals come from ``draws`` Monte Carlo worlds: each open deal is won or not, and
    the number of new deals won is Poisson(new_opportunities x new_win_rate).
    """
    rng = np.random.default_rng(seed)
    still_open = [deal for deal in open_deals if deal.is_open]
    rates = np.array(
        [win_rates.rate(deal.stage_at(as_of) or "", deal.age(as_of)) for deal in still_open]
    )
    amounts = np.array([deal.amount for deal in still_open], dtype=np.float64)
    wins = rng.random((draws, len(still_open))) < rates
    pipeline: FloatArray = (wins * amounts).sum(axis=1).astype(np.float64)
    new_won = max(new_opportunities * new_win_rate, 0.0)
    new: FloatArray = rng.poisson(new_won, size=draws).astype(np.float64) * deal_size
    pipeline_mean = float(np.dot(rates, amounts)) if len(still_open) else 0.0
    new_mean = new_won * deal_size
    return RevenueForecast(
        horizon=win_rates.horizon,
        from_pipeline=_interval(pipeline_mean, pipeline, confidence),
        from_new=_interval(new_mean, new, confidence),
        total=_interval(pipeline_mean + new_mean, pipeline + new, confidence),
    )
