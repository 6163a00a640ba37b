"""A rep's calendar feed (iCalendar): open tasks as events on their due time, and the
golden-hours blocks as weekly recurring events, at a secret address a calendar app can
subscribe to. Only a SHA-256 of the secret is stored; a new link replaces the old one.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event
from sqlalchemy import Connection, select

from spoor.db.schema import goals
from spoor.prospecting.routine import WEEKDAYS, Block, goals_of
from spoor.prospecting.tasks import Task
from spoor.users import User, get_user

TASK_MINUTES = 15
RRULE_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def new_link(conn: Connection, user_id: int) -> str:
    """A new secret for the user's feed (the old address stops working); shown once."""
    secret = secrets.token_urlsafe(24)
    current = goals_of(conn, user_id)
    updated = conn.execute(
        goals.update().where(goals.c.user_id == user_id).values(calendar_hash=_digest(secret))
    )
    if not updated.rowcount:
        conn.execute(goals.insert().values(user_id=user_id, daily=current.daily,
                                           weekly=current.weekly,
                                           calendar_hash=_digest(secret)))  # fmt: skip
    return secret


def user_for_secret(conn: Connection, secret: str) -> User | None:
    user_id = conn.execute(
        select(goals.c.user_id).where(goals.c.calendar_hash == _digest(secret))
    ).scalar()
    user = get_user(conn, int(user_id)) if user_id is not None else None
    return None if user is None or user.disabled else user


def feed(
    user: User, tasks: Sequence[Task], blocks: Sequence[Block], zone: ZoneInfo, public_url: str,
    now: datetime,
) -> bytes:  # fmt: skip
    cal = Calendar()
    cal.add("prodid", "-//Spoor//prospecting//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", f"Spoor: {user.label}")
    for task in tasks:
        event = Event()
        start = datetime.fromtimestamp(task.due_at, zone)
        event.add("uid", f"task-{task.id}@spoor")
        event.add("summary", f"{task.title}: {task.org}")
        event.add("dtstart", start)
        event.add("dtend", start + timedelta(minutes=TASK_MINUTES))
        event.add("dtstamp", now)
        event.add("url", f"{public_url}/leads/{task.org_id}")
        event.add("categories", [task.kind])
        cal.add_component(event)
    for block in blocks:
        cal.add_component(_block_event(block, zone, now))
    return bytes(cal.to_ical())


def _block_event(block: Block, zone: ZoneInfo, now: datetime) -> Event:
    today = now.astimezone(zone).date()
    first = today + timedelta(days=(block.weekday - today.weekday()) % 7)
    start = datetime(first.year, first.month, first.day, tzinfo=zone) + timedelta(
        minutes=block.start_minute
    )
    event = Event()
    event.add("uid", f"block-{block.id}@spoor")
    event.add("summary", "Golden hours: prospecting")
    event.add("description", f"Protected prospecting block ({block.label}, every "
                             f"{WEEKDAYS[block.weekday].title()})")  # fmt: skip
    event.add("dtstart", start)
    event.add("dtend", start + timedelta(minutes=block.end_minute - block.start_minute))
    event.add("dtstamp", now)
    event.add("rrule", {"freq": "weekly", "byday": RRULE_DAYS[block.weekday]})
    return event
