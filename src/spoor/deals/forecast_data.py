"""From the database to the forecast engine: activities become ``AccountRecord``s and deals
become ``DealRecord``s.

The rules, in one place (docs/forecast.md, "From the database"):

- An account enters its prospecting cohort on its **first touch**: its first call, e-mail,
  LinkedIn message or meeting (notes are not touches). ``touches`` counts them all.
- Its **source** is "hand_raiser" if it sent a form on or before that day, "target" if the
  team marked it a named target, else "identified" (``sources.source_of``).
- Its **opportunity** is the day its first deal was created on or after the first touch. An
  account that already had a deal before its first touch was in the pipeline, not
  prospected, and is left out.
- It is **disqualified** on the first activity whose outcome is not_interested,
  wrong_person or opted_out, if that came before any opportunity (a deal lost later is the
  deal's outcome, not the account's: it did become an opportunity).
- Per rep (``user_id``): the accounts that rep first touched, and the deals that rep owns.
- Days are calendar days in ``zone``; everything before ``as_of`` (so up to yesterday) is
  read, and the engine's own ``accounts_as_of`` / ``deals_as_of`` hide the rest.
- Stage history leaves out the won and lost stages: the engine reads closing from
  ``closed`` and ``outcome``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select

from spoor.db.schema import activities, deal_stage_history, deals
from spoor.deals.sources import first_hand_raises, source_of, target_accounts
from spoor.deals.stages import list_stages
from spoor.forecast.records import (
    AccountRecord,
    DealRecord,
    Outcome,
    StageEntry,
    accounts_as_of,
    deals_as_of,
)

TOUCH_KINDS = ("call", "email", "linkedin", "meeting")
DISQUALIFYING = ("not_interested", "wrong_person", "opted_out")


@dataclass(frozen=True)
class ForecastInput:
    """What the engine needs: the records, the day they were read, where history starts."""

    accounts: tuple[AccountRecord, ...]
    deals: tuple[DealRecord, ...]
    as_of: date
    history_start: date


@dataclass
class _Account:
    first_at: float
    first_user: int | None
    touches: int = 0
    disqualified_at: float | None = None


def _cutoff(as_of: date, zone: ZoneInfo) -> float:
    return datetime.combine(as_of, time(), zone).timestamp()


def _day(at: float, zone: ZoneInfo) -> date:
    return datetime.fromtimestamp(at, zone).date()


def _activity_accounts(conn: Connection, cutoff: float) -> dict[int, _Account]:
    a = activities.c
    rows = conn.execute(
        select(a.org_id, a.user_id, a.kind, a.outcome, a.at)
        .where(a.at < cutoff)
        .order_by(a.at, a.id)
    )
    found: dict[int, _Account] = {}
    for org_id, user_id, kind, outcome, at in rows:
        org = int(org_id)
        account = found.get(org)
        if kind in TOUCH_KINDS:
            if account is None:
                account = found[org] = _Account(float(at), user_id)
            account.touches += 1
        if account is not None and outcome in DISQUALIFYING and account.disqualified_at is None:
            account.disqualified_at = float(at)
    return found


def _first_deals(conn: Connection, cutoff: float) -> dict[int, float]:
    query = (
        select(deals.c.org_id, deals.c.created_at)
        .where(deals.c.created_at < cutoff)
        .order_by(deals.c.created_at)
    )
    first: dict[int, float] = {}
    for org_id, at in conn.execute(query):
        first.setdefault(int(org_id), float(at))
    return first


def account_records(
    conn: Connection, as_of: date, *, user_id: int | None = None, zone: str = "UTC"
) -> list[AccountRecord]:
    """Every prospected account as of ``as_of``, in the order it was first touched."""
    tz = ZoneInfo(zone)
    cutoff = _cutoff(as_of, tz)
    raised, targets = first_hand_raises(conn), target_accounts(conn)
    opened = _first_deals(conn, cutoff)
    records = []
    touched = _activity_accounts(conn, cutoff)
    for org_id, account in sorted(touched.items(), key=lambda item: (item[1].first_at, item[0])):
        if user_id is not None and account.first_user != user_id:
            continue
        deal_at = opened.get(org_id)
        if deal_at is not None and deal_at < account.first_at:
            continue  # already in the pipeline when first touched
        dq = account.disqualified_at
        if dq is not None and deal_at is not None and deal_at <= dq:
            dq = None
        if dq is not None:
            deal_at = None
        first = _day(account.first_at, tz)
        records.append(
            AccountRecord(
                account_id=str(org_id),
                first_touch=first,
                source=source_of(org_id, first, raised, targets),
                touches=account.touches,
                opportunity=_day(deal_at, tz) if deal_at is not None else None,
                disqualified=_day(dq, tz) if dq is not None else None,
                as_of=as_of,
            )
        )
    return accounts_as_of(records, as_of)


def deal_records(
    conn: Connection, as_of: date, *, user_id: int | None = None, zone: str = "UTC"
) -> list[DealRecord]:
    """Every deal created before ``as_of``, oldest first, with its open-stage history."""
    tz = ZoneInfo(zone)
    cutoff = _cutoff(as_of, tz)
    closing = {stage.key for stage in list_stages(conn) if stage.closes}
    query = (
        select(deals).where(deals.c.created_at < cutoff).order_by(deals.c.created_at, deals.c.id)
    )
    if user_id is not None:
        query = query.where(deals.c.user_id == user_id)
    rows = conn.execute(query).all()
    history: dict[int, list[StageEntry]] = {}
    h = deal_stage_history.c
    for deal_id, stage, at in conn.execute(
        select(h.deal_id, h.stage, h.entered_at)
        .where(h.entered_at < cutoff)
        .order_by(h.entered_at, h.id)
    ):
        if stage not in closing:
            history.setdefault(int(deal_id), []).append(StageEntry(stage, _day(float(at), tz)))
    records = []
    for row in rows:
        outcome: Outcome | None = "won" if row.outcome == "won" else (
            "lost" if row.outcome == "lost" else None)  # fmt: skip
        records.append(
            DealRecord(
                deal_id=str(row.id),
                account_id=str(row.org_id),
                created=_day(float(row.created_at), tz),
                amount=float(row.amount),
                stages=tuple(history.get(int(row.id), ())),
                closed=_day(float(row.closed_at), tz) if row.closed_at is not None else None,
                outcome=outcome,
                loss_reason=row.loss_reason,
                competitor=row.competitor,
                source=row.source or "",
            )
        )
    return deals_as_of(records, as_of)


def load_input(
    conn: Connection, as_of: date, *, user_id: int | None = None, zone: str = "UTC"
) -> ForecastInput:
    """Accounts and deals as of ``as_of`` (one rep's, or the team's)."""
    accounts = account_records(conn, as_of, user_id=user_id, zone=zone)
    found = deal_records(conn, as_of, user_id=user_id, zone=zone)
    return ForecastInput(
        tuple(accounts), tuple(found), as_of, history_start(accounts, found, as_of)
    )


def history_start(
    accounts: Sequence[AccountRecord], found: Sequence[DealRecord], as_of: date
) -> date:
    """The first day of prospecting history (the as-of day when there is none)."""
    # The engine's own default (summarize): prospecting history starts at the first touch.
    return min((a.first_touch for a in accounts), default=as_of)
