"""Claims: who hunts which account. One owner at a time, decided by the database (a primary
key on the organization), so twenty colleagues clicking at once leave exactly one owner
and nineteen clear refusals, on SQLite and PostgreSQL alike.

A claim lapses after `days` without a logged activity: the account returns to the pool
and the former owner is told.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, Select, func, select
from sqlalchemy.exc import IntegrityError

from spoor.db.schema import claim_history, claims, users
from spoor.users import Role, User

DEFAULT_LAPSE_DAYS = 14


class ClaimError(ValueError):
    """A claim that cannot be made or ended; the message says who holds it or why."""


@dataclass(frozen=True)
class Claim:
    org_id: int
    user_id: int
    owner: str  # the owner's name or e-mail address
    email: str
    claimed_at: float
    last_activity_at: float | None


def _claim(row: Row[Any]) -> Claim:
    return Claim(
        row.org_id, row.user_id, row.owner, row.email, row.claimed_at, row.last_activity_at
    )


def _query() -> Select[Any]:
    owner = func.coalesce(users.c.name, users.c.email).label("owner")
    return select(claims, owner, users.c.email).join(users, users.c.id == claims.c.user_id)


def get_claim(conn: Connection, org_id: int) -> Claim | None:
    row = conn.execute(_query().where(claims.c.org_id == org_id)).first()
    return _claim(row) if row else None


def claims_of(conn: Connection, org_ids: list[int] | None = None) -> dict[int, Claim]:
    query = _query()
    if org_ids is not None:
        query = query.where(claims.c.org_id.in_(org_ids))
    return {row.org_id: _claim(row) for row in conn.execute(query)}


def claim(conn: Connection, org_id: int, user: User, now: float | None = None) -> Claim:
    """Make `user` the owner; ClaimError naming the holder when someone else is.

    Runs in its own savepoint, so a refused claim leaves the caller's transaction usable.
    """
    now = time.time() if now is None else now
    try:
        with conn.begin_nested():
            conn.execute(claims.insert().values(org_id=org_id, user_id=user.id, claimed_at=now))
    except IntegrityError:
        holder = get_claim(conn, org_id)
        if holder is None:  # released in between: the next try may win
            raise ClaimError("the account changed hands just now; try again") from None
        if holder.user_id == user.id:
            return holder
        since = time.strftime("%Y-%m-%d %H:%M", time.gmtime(holder.claimed_at))
        raise ClaimError(f"already claimed by {holder.owner} since {since} UTC") from None
    found = get_claim(conn, org_id)
    assert found is not None
    return found


def _end(conn: Connection, holder: Claim, reason: str, now: float) -> None:
    conn.execute(claims.delete().where(claims.c.org_id == holder.org_id))
    conn.execute(
        claim_history.insert().values(
            org_id=holder.org_id, user_id=holder.user_id, claimed_at=holder.claimed_at,
            ended_at=now, reason=reason, notified=reason != "lapsed",
        )
    )  # fmt: skip


def release(conn: Connection, org_id: int, user: User, now: float | None = None) -> None:
    """The owner lets go (or a manager frees the account)."""
    holder = get_claim(conn, org_id)
    if holder is None:
        raise ClaimError("nobody holds this account")
    if holder.user_id != user.id and not user.role.allows(Role.MANAGER):
        raise ClaimError(f"claimed by {holder.owner}: only they or a manager can release it")
    _end(conn, holder, "released", time.time() if now is None else now)


def reassign(conn: Connection, org_id: int, to: User, by: User, now: float | None = None) -> Claim:
    if not by.role.allows(Role.MANAGER):
        raise ClaimError("reassigning needs the manager role")
    now = time.time() if now is None else now
    holder = get_claim(conn, org_id)
    if holder is not None:
        _end(conn, holder, "reassigned", now)
    return claim(conn, org_id, to, now)


def open_up(conn: Connection, org_id: int, now: float) -> Claim | None:
    """Speed-to-lead escalation: an untouched hand-raiser's account goes back to the pool."""
    holder = get_claim(conn, org_id)
    if holder is not None:
        _end(conn, holder, "escalated", now)
    return holder


def touch(conn: Connection, org_id: int, now: float | None = None) -> None:
    """A logged activity keeps the claim alive."""
    conn.execute(
        claims.update()
        .where(claims.c.org_id == org_id)
        .values(last_activity_at=time.time() if now is None else now)
    )


def lapse(
    conn: Connection, now: float | None = None, days: int = DEFAULT_LAPSE_DAYS
) -> list[Claim]:
    """End the claims without an activity for `days`; returns them (for the notices)."""
    now = time.time() if now is None else now
    cutoff = now - days * 86_400
    since = func.coalesce(claims.c.last_activity_at, claims.c.claimed_at)
    stale = [_claim(r) for r in conn.execute(_query().where(since < cutoff))]
    for holder in stale:
        _end(conn, holder, "lapsed", now)
    return stale
