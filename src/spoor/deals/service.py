"""Deals on accounts: create one, move it through the stages (every move is kept), close it
won or lost (with a reason, and the competitor it was lost to), list them.

Times are epoch seconds and may be passed in (imports, the demo's history); without one the
clock is read once per call.
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection, Row, func, select

from spoor.db.schema import deal_stage_history, deals, organizations, users
from spoor.deals.sources import first_hand_raises, source_of, target_accounts
from spoor.deals.stages import Stage, StageError, get_stage, list_stages, open_stages
from spoor.identify.corrections import org_names
from spoor.users import Role, User

_CURRENCY = re.compile(r"^[A-Z]{3}$")
DEFAULT_CURRENCY = "EUR"


class DealError(ValueError):
    """A deal that cannot be created or changed; the message says why and what to do."""


@dataclass(frozen=True)
class StageChange:
    stage: str
    entered_at: float


@dataclass(frozen=True)
class Deal:
    id: int
    org_id: int
    org: str
    user_id: int | None
    owner: str | None
    name: str
    amount: float
    currency: str
    stage: str
    expected_close: date | None
    created_at: float
    closed_at: float | None
    outcome: str | None
    loss_reason: str | None
    competitor: str | None
    source: str | None
    history: tuple[StageChange, ...] = ()

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["expected_close"] = self.expected_close.isoformat() if self.expected_close else None
        data["history"] = [asdict(change) for change in self.history]
        return data


def _day(at: float) -> date:
    return datetime.fromtimestamp(at, UTC).date()


def _deal(row: Row[Any], names: dict[int, str], history: tuple[StageChange, ...]) -> Deal:
    return Deal(
        id=row.id, org_id=int(row.org_id), org=names.get(int(row.org_id), f"#{row.org_id}"),
        user_id=row.user_id, owner=row.owner, name=row.name, amount=float(row.amount),
        currency=row.currency, stage=row.stage, expected_close=row.expected_close,
        created_at=float(row.created_at), closed_at=row.closed_at, outcome=row.outcome,
        loss_reason=row.loss_reason, competitor=row.competitor, source=row.source,
        history=history,
    )  # fmt: skip


def _select() -> Any:
    owner = func.coalesce(users.c.name, users.c.email).label("owner")
    return select(deals, owner).join(users, users.c.id == deals.c.user_id, isouter=True)


def _histories(conn: Connection, ids: list[int]) -> dict[int, tuple[StageChange, ...]]:
    found: dict[int, list[StageChange]] = {}
    for start in range(0, len(ids), 500):
        h = deal_stage_history.c
        rows = conn.execute(
            select(h.deal_id, h.stage, h.entered_at)
            .where(h.deal_id.in_(ids[start : start + 500]))
            .order_by(h.deal_id, h.entered_at, h.id)
        )
        for deal_id, stage, at in rows:
            found.setdefault(int(deal_id), []).append(StageChange(stage, float(at)))
    return {deal_id: tuple(changes) for deal_id, changes in found.items()}


def list_deals(
    conn: Connection,
    *,
    user_id: int | None = None,
    org_id: int | None = None,
    open_only: bool = False,
    limit: int | None = 200,
) -> list[Deal]:
    """Deals, newest first; only one owner's, one account's, or the open ones if asked."""
    query = _select().order_by(deals.c.created_at.desc(), deals.c.id.desc())
    if user_id is not None:
        query = query.where(deals.c.user_id == user_id)
    if org_id is not None:
        query = query.where(deals.c.org_id == org_id)
    if open_only:
        query = query.where(deals.c.closed_at.is_(None))
    if limit is not None:
        query = query.limit(limit)
    rows = conn.execute(query).all()
    names = org_names(conn, sorted({int(r.org_id) for r in rows}))
    histories = _histories(conn, [r.id for r in rows])
    return [_deal(r, names, histories.get(r.id, ())) for r in rows]


def get_deal(conn: Connection, deal_id: int) -> Deal:
    row = conn.execute(_select().where(deals.c.id == deal_id)).first()
    if row is None:
        raise DealError(f"no deal {deal_id}; `spoor deals` lists them")
    names = org_names(conn, [int(row.org_id)])
    return _deal(row, names, _histories(conn, [deal_id]).get(deal_id, ()))


def _enter(conn: Connection, deal_id: int, stage: str, at: float) -> None:
    conn.execute(deal_stage_history.insert().values(deal_id=deal_id, stage=stage, entered_at=at))


def _opening_stage(conn: Connection, key: str | None) -> Stage:
    if key is None:
        first = open_stages(conn)
        if not first:
            raise DealError("there is no open stage; add one with `spoor deal stages set`")
        return first[0]
    try:
        stage = get_stage(conn, key)
    except StageError as exc:
        raise DealError(str(exc)) from exc
    if stage.closes:
        raise DealError(f"a new deal cannot start {stage.key}; create it, then close it")
    return stage


def create_deal(
    conn: Connection,
    org_id: int,
    user_id: int | None,
    *,
    amount: float,
    currency: str = DEFAULT_CURRENCY,
    stage: str | None = None,
    expected_close: date | None = None,
    name: str | None = None,
    source: str | None = None,
    at: float | None = None,
) -> Deal:
    """Open a deal on an account; it enters ``stage`` (default: the first open one).

    The source, unless given, is the account's as the forecast sees it (hand-raiser,
    target or identified) on the day the deal is created.
    """
    at = time.time() if at is None else at
    if not amount >= 0:  # also refuses NaN
        raise DealError(f"amount {amount} must be zero or more")
    currency = currency.strip().upper()
    if not _CURRENCY.match(currency):
        raise DealError(f"{currency!r} is not a currency code such as EUR or USD")
    org = conn.execute(
        select(organizations.c.name).where(organizations.c.id == org_id)
    ).scalar_one_or_none()
    if org is None:
        raise DealError(f"no organization {org_id}; `spoor companies` lists them with ids")
    if expected_close is not None and expected_close < _day(at):
        raise DealError(f"expected close {expected_close} is before the deal opens")
    opening = _opening_stage(conn, stage)
    if source is None:
        source = source_of(org_id, _day(at), first_hand_raises(conn), target_accounts(conn))
    inserted = conn.execute(
        deals.insert().values(
            org_id=org_id, user_id=user_id, name=(name or "").strip() or str(org),
            amount=float(amount), currency=currency, stage=opening.key,
            expected_close=expected_close, created_at=at, source=source,
        )
    )  # fmt: skip
    deal_id = int(inserted.inserted_primary_key[0])  # type: ignore[index]
    _enter(conn, deal_id, opening.key, at)
    return get_deal(conn, deal_id)


def _open_deal(conn: Connection, deal_id: int) -> Deal:
    deal = get_deal(conn, deal_id)
    if not deal.is_open:
        raise DealError(f"deal {deal_id} is closed ({deal.outcome}); open a new deal instead")
    return deal


def _later(deal: Deal, at: float) -> None:
    if deal.history and at < deal.history[-1].entered_at:
        raise DealError(f"deal {deal.id} changed stage later than that; times only move forward")


def move_stage(conn: Connection, deal_id: int, stage: str, at: float | None = None) -> Deal:
    """Move an open deal to another open stage (backwards too: deals do slip)."""
    at = time.time() if at is None else at
    deal = _open_deal(conn, deal_id)
    try:
        target = get_stage(conn, stage)
    except StageError as exc:
        raise DealError(str(exc)) from exc
    if target.closes:
        verb = "won" if target.is_won else "lost"
        raise DealError(f"close a deal with `spoor deal {verb}`, which records the outcome")
    if target.key == deal.stage:
        raise DealError(f"deal {deal_id} is already in {target.key}")
    _later(deal, at)
    conn.execute(deals.update().where(deals.c.id == deal_id).values(stage=target.key))
    _enter(conn, deal_id, target.key, at)
    return get_deal(conn, deal_id)


def _close(conn: Connection, deal_id: int, won: bool, at: float, **values: Any) -> Deal:
    deal = _open_deal(conn, deal_id)
    _later(deal, at)
    closing = next((s for s in list_stages(conn) if (s.is_won if won else s.is_lost)), None)
    if closing is None:
        raise DealError(f"there is no {'won' if won else 'lost'} stage; add one first")
    conn.execute(
        deals.update().where(deals.c.id == deal_id).values(
            stage=closing.key, closed_at=at, outcome="won" if won else "lost", **values
        )
    )  # fmt: skip
    _enter(conn, deal_id, closing.key, at)
    return get_deal(conn, deal_id)


def win(conn: Connection, deal_id: int, at: float | None = None) -> Deal:
    """Close a deal as won."""
    return _close(conn, deal_id, True, time.time() if at is None else at)


def lose(
    conn: Connection,
    deal_id: int,
    reason: str | None = None,
    competitor: str | None = None,
    at: float | None = None,
) -> Deal:
    """Close a deal as lost, with why; losing to a competitor names which one (the reason
    is then "competitor" unless another is given)."""
    reason = (reason or "").strip() or None
    competitor = (competitor or "").strip() or None
    if competitor is not None and reason is None:
        reason = "competitor"
    if reason == "competitor" and competitor is None:
        raise DealError("lost to a competitor: say which one (--competitor NAME)")
    return _close(
        conn, deal_id, False, time.time() if at is None else at,
        loss_reason=reason, competitor=competitor,
    )  # fmt: skip


def may_change(deal: Deal, user: User) -> bool:
    """Reps change their own deals (and unowned ones); managers and admins any."""
    return user.role.allows(Role.MANAGER) or deal.user_id in (None, user.id)


def check_may_change(deal: Deal, user: User) -> None:
    if not may_change(deal, user):
        raise DealError(f"deal {deal.id} is {deal.owner}'s; ask them or a manager")


def set_stage(
    conn: Connection,
    deal_id: int,
    stage: str,
    *,
    reason: str | None = None,
    competitor: str | None = None,
    at: float | None = None,
) -> Deal:
    """Move a deal to any stage: a won or lost stage closes it (the API's one verb)."""
    try:
        target = get_stage(conn, stage)
    except StageError as exc:
        raise DealError(str(exc)) from exc
    if target.is_won:
        return win(conn, deal_id, at)
    if target.is_lost:
        return lose(conn, deal_id, reason, competitor, at)
    return move_stage(conn, deal_id, stage, at)
