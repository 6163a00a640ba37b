"""Activities: what a rep did about an account, logged in seconds; each keeps the claim on
the account alive (claims lapse without them)."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

from sqlalchemy import Connection, func, select

from spoor.db.schema import activities, users
from spoor.prospecting.cadences import on_activity
from spoor.prospecting.claims import touch
from spoor.prospecting.tasks import Task

KINDS = ("call", "email", "linkedin", "meeting", "note")
OUTCOMES = ("connected", "no_answer", "voicemail", "sent", "replied", "meeting_booked",
            "not_interested", "wrong_person", "opted_out")  # fmt: skip


class ActivityError(ValueError):
    """An activity that cannot be logged; the message says which values are allowed."""


@dataclass(frozen=True)
class Activity:
    id: int
    org_id: int
    user: str | None
    kind: str
    outcome: str | None
    note: str | None
    at: float
    next_task: Task | None = None  # the cadence step this activity led to, when logged


def log_activity(
    conn: Connection, org_id: int, user_id: int | None, kind: str, outcome: str | None = None,
    note: str | None = None, at: float | None = None,
) -> Activity:  # fmt: skip
    if kind not in KINDS:
        raise ActivityError(f"{kind!r} is not an activity: use {', '.join(KINDS)}")
    outcome = (outcome or "").strip().lower().replace(" ", "_") or None
    if outcome is not None and outcome not in OUTCOMES:
        raise ActivityError(f"{outcome!r} is not an outcome: use {', '.join(OUTCOMES)}")
    at = time.time() if at is None else at
    inserted = conn.execute(
        activities.insert().values(
            org_id=org_id, user_id=user_id, kind=kind, outcome=outcome,
            note=(note or "").strip() or None, at=at,
        )
    )  # fmt: skip
    touch(conn, org_id, at)
    following = on_activity(conn, org_id, user_id, kind, outcome, at)
    done = history(conn, org_id, activity_id=int(inserted.inserted_primary_key[0]))[0]  # type: ignore[index]
    return dataclasses.replace(done, next_task=following)


def history(
    conn: Connection, org_id: int, limit: int = 50, activity_id: int | None = None
) -> list[Activity]:
    who = func.coalesce(users.c.name, users.c.email)
    query = (
        select(activities, who.label("who"))
        .join(users, users.c.id == activities.c.user_id, isouter=True)
        .where(activities.c.org_id == org_id)
        .order_by(activities.c.at.desc(), activities.c.id.desc())
        .limit(limit)
    )
    if activity_id is not None:
        query = query.where(activities.c.id == activity_id)
    return [Activity(r.id, r.org_id, r.who, r.kind, r.outcome, r.note, r.at)
            for r in conn.execute(query)]  # fmt: skip


def last_touches(conn: Connection, org_ids: list[int]) -> dict[int, float]:
    """When each account was last worked on, by anyone."""
    found: dict[int, float] = {}
    for start in range(0, len(org_ids), 500):
        query = (
            select(activities.c.org_id, func.max(activities.c.at))
            .where(activities.c.org_id.in_(org_ids[start : start + 500]))
            .group_by(activities.c.org_id)
        )
        found.update({int(o): float(at) for o, at in conn.execute(query)})
    return found


def counts_by_person(conn: Connection, since: float) -> dict[str, dict[str, int]]:
    """Activities per person and kind since `since` (the manager's team table)."""
    who = func.coalesce(users.c.name, users.c.email)
    rows = conn.execute(
        select(who, activities.c.kind, func.count())
        .join(users, users.c.id == activities.c.user_id)
        .where(activities.c.at >= since)
        .group_by(who, activities.c.kind)
    ).all()
    found: dict[str, dict[str, int]] = {}
    for person, kind, n in rows:
        found.setdefault(person, dict.fromkeys(KINDS, 0))[kind] = int(n)
    return found


def daily_counts(conn: Connection, since: float, days: int) -> dict[str, list[int]]:
    """Activities per person and day (UTC) for `days` days from `since`: the team's trend."""
    who = func.coalesce(users.c.name, users.c.email)
    rows = conn.execute(
        select(who, activities.c.at).join(users, users.c.id == activities.c.user_id)
        .where(activities.c.at >= since)
    )  # fmt: skip
    found: dict[str, list[int]] = {}
    for person, at in rows:
        day = int((float(at) - since) // 86_400)
        if day < days:
            found.setdefault(person, [0] * days)[day] += 1
    return found
