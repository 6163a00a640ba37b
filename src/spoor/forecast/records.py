"""The engine's inputs: plain records of accounts, touches and deals, and their day arithmetic.

Everything downstream works on these frozen dataclasses and numpy arrays, so the database
layer only has to fill them in. Dates are calendar days; the engine never reads a clock:
every function that needs "now" takes an ``as_of`` date.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Literal

import numpy as np
from numpy.typing import NDArray

Outcome = Literal["won", "lost"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class AccountRecord:
    """One prospected account: when it was first touched and what became of it.

    ``opportunity`` and ``disqualified`` are None when they had not happened by ``as_of``
    (the censoring date: the day the record was read, or the day the account left view).
    """

    account_id: str
    first_touch: date
    source: str
    touches: int
    opportunity: date | None
    disqualified: date | None
    as_of: date


@dataclass(frozen=True)
class StageEntry:
    """A deal entered ``stage`` on ``entered``."""

    stage: str
    entered: date


@dataclass(frozen=True)
class DealRecord:
    """One opportunity, its stage history, and how it closed (if it has)."""

    deal_id: str
    account_id: str
    created: date
    amount: float
    stages: tuple[StageEntry, ...]
    closed: date | None = None
    outcome: Outcome | None = None
    loss_reason: str | None = None
    competitor: str | None = None
    source: str = ""

    @property
    def is_open(self) -> bool:
        """True while the deal has not closed."""
        return self.closed is None

    def stage_at(self, day: date) -> str | None:
        """The stage the deal was in on ``day`` (None before it was created)."""
        current: str | None = None
        for entry in self.stages:
            if entry.entered > day:
                break
            current = entry.stage
        return current

    def age(self, day: date) -> int:
        """Days since the deal was created, on ``day``."""
        return (day - self.created).days


def account_as_of(record: AccountRecord, as_of: date) -> AccountRecord | None:
    """The record as it looked on ``as_of`` (None if the account was not yet touched).

    Backtests use this to hide the future from a forecast made at an origin.
    """
    if record.first_touch >= as_of:
        return None
    opportunity = record.opportunity if record.opportunity and record.opportunity < as_of else None
    disqualified = (
        record.disqualified if record.disqualified and record.disqualified < as_of else None
    )
    return replace(
        record,
        opportunity=opportunity,
        disqualified=disqualified,
        as_of=min(as_of, record.as_of),
    )


def accounts_as_of(records: Iterable[AccountRecord], as_of: date) -> list[AccountRecord]:
    """All records as they looked on ``as_of``, leaving out accounts touched later."""
    seen = (account_as_of(record, as_of) for record in records)
    return [record for record in seen if record is not None]


def deal_as_of(deal: DealRecord, as_of: date) -> DealRecord | None:
    """The deal as it looked on ``as_of`` (None if it did not exist yet)."""
    if deal.created >= as_of:
        return None
    stages = tuple(entry for entry in deal.stages if entry.entered < as_of)
    if deal.closed is not None and deal.closed < as_of:
        return replace(deal, stages=stages)
    return replace(
        deal, stages=stages, closed=None, outcome=None, loss_reason=None, competitor=None
    )


def deals_as_of(deals: Iterable[DealRecord], as_of: date) -> list[DealRecord]:
    """All deals as they looked on ``as_of``, leaving out deals created later."""
    seen = (deal_as_of(deal, as_of) for deal in deals)
    return [deal for deal in seen if deal is not None]


def daily_counts(days: Iterable[date], start: date, end: date) -> FloatArray:
    """How many of ``days`` fall on each day of [start, end): index 0 is ``start``."""
    length = (end - start).days
    offsets = np.array([(day - start).days for day in days], dtype=np.int64)
    offsets = offsets[(offsets >= 0) & (offsets < length)]
    return np.bincount(offsets, minlength=max(length, 0)).astype(np.float64)


def first_touches_per_day(records: Sequence[AccountRecord], start: date, end: date) -> FloatArray:
    """New accounts prospected per day over [start, end)."""
    return daily_counts((record.first_touch for record in records), start, end)


def opportunities_per_day(records: Sequence[AccountRecord], start: date, end: date) -> FloatArray:
    """Opportunities created per day over [start, end)."""
    days = (record.opportunity for record in records if record.opportunity is not None)
    return daily_counts(days, start, end)


def day_range(start: date, days: int) -> list[date]:
    """``days`` consecutive dates from ``start``."""
    return [start + timedelta(days=offset) for offset in range(days)]
