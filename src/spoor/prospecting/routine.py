"""Golden hours and goals: each rep's protected prospecting blocks, daily and weekly
activity goals, and how the rep keeps to them (activities inside the blocks, streaks of
days at goal, the interruptions logged).

Blocks are weekly and in the rep's own time zone (the account's, else UTC).
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select

from spoor.db.schema import activities, goals, interruptions, prospecting_blocks
from spoor.leads.egress import EgressRefused, Guard
from spoor.settings import Settings
from spoor.users import User

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAILY_GOAL, WEEKLY_GOAL = 20, 100
BLOCK = re.compile(r"^\s*([a-z]{3})[a-z]*\s+(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$", re.I)


class RoutineError(ValueError):
    """A block or goal that cannot be saved; the message shows the expected form."""


@dataclass(frozen=True)
class Block:
    id: int
    weekday: int  # 0 Monday
    start_minute: int
    end_minute: int

    def contains(self, local: datetime) -> bool:
        minute = local.hour * 60 + local.minute
        return local.weekday() == self.weekday and self.start_minute <= minute < self.end_minute

    @property
    def label(self) -> str:
        def hm(m: int) -> str:
            return f"{m // 60:02d}:{m % 60:02d}"

        return f"{WEEKDAYS[self.weekday].title()} {hm(self.start_minute)}-{hm(self.end_minute)}"


@dataclass(frozen=True)
class Goals:
    daily: int = DAILY_GOAL
    weekly: int = WEEKLY_GOAL
    remind_webhook: str | None = None


@dataclass(frozen=True)
class Interruption:
    at: float
    minutes: int
    note: str | None


@dataclass(frozen=True)
class Routine:
    goals: Goals
    blocks: list[Block]
    today: int  # activities today
    this_week: int
    streak: int  # working days in a row at the daily goal
    inside_blocks: int  # of the last 30 days' activities
    total_30d: int
    interruptions: list[Interruption]  # the last 30 days'

    @property
    def adherence(self) -> float | None:
        return self.inside_blocks / self.total_30d if self.total_30d else None

    @property
    def interrupted_minutes(self) -> int:
        return sum(i.minutes for i in self.interruptions)

    def as_json(self) -> dict[str, object]:
        return {"goals": {"daily": self.goals.daily, "weekly": self.goals.weekly},
                "blocks": [b.label for b in self.blocks], "today": self.today,
                "this_week": self.this_week, "streak_days": self.streak,
                "adherence_30d": self.adherence, "activities_30d": self.total_30d,
                "interruptions_30d": len(self.interruptions),
                "interrupted_minutes_30d": self.interrupted_minutes}  # fmt: skip


def zone_of(user: User) -> ZoneInfo:
    return ZoneInfo(user.timezone or "UTC")


def parse_block(text: str) -> tuple[int, int, int]:
    """ "Mon 09:00-11:00" -> (weekday, start minute, end minute)."""
    found = BLOCK.match(text)
    day = found and found.group(1).lower()
    if not found or day not in WEEKDAYS:
        raise RoutineError(f"{text!r}: write a block as 'Mon 09:00-11:00'")
    h1, m1, h2, m2 = (int(found.group(i)) for i in range(2, 6))
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if not (0 <= start < end <= 24 * 60 and m1 < 60 and m2 < 60):
        raise RoutineError(f"{text!r}: the block must start before it ends, within one day")
    return WEEKDAYS.index(day), start, end


def blocks_of(conn: Connection, user_id: int) -> list[Block]:
    b = prospecting_blocks.c
    rows = conn.execute(
        select(b.id, b.weekday, b.start_minute, b.end_minute)
        .where(b.user_id == user_id)
        .order_by(b.weekday, b.start_minute)
    )
    return [Block(*row) for row in rows]


def add_block(conn: Connection, user_id: int, text: str) -> Block:
    weekday, start, end = parse_block(text)
    for other in blocks_of(conn, user_id):
        if other.weekday == weekday and start < other.end_minute and other.start_minute < end:
            raise RoutineError(f"overlaps {other.label}")
    conn.execute(prospecting_blocks.insert().values(
        user_id=user_id, weekday=weekday, start_minute=start, end_minute=end))  # fmt: skip
    return next(b for b in blocks_of(conn, user_id)
                if (b.weekday, b.start_minute) == (weekday, start))  # fmt: skip


def remove_block(conn: Connection, user_id: int, block_id: int) -> None:
    b = prospecting_blocks.c
    conn.execute(prospecting_blocks.delete().where(b.id == block_id, b.user_id == user_id))


def goals_of(conn: Connection, user_id: int) -> Goals:
    row = conn.execute(select(goals).where(goals.c.user_id == user_id)).first()
    return Goals(row.daily, row.weekly, row.remind_webhook) if row else Goals()


def set_goals(
    conn: Connection, user_id: int, daily: int, weekly: int, remind_webhook: str | None = None,
    settings: Settings | None = None,
) -> Goals:  # fmt: skip
    """`settings` say which networks the reminder webhook may reach (public ones only when
    not given)."""
    if not (0 < daily <= 500 and 0 < weekly <= 2500):
        raise RoutineError("goals are activities: 1 to 500 a day, 1 to 2500 a week")
    hook = (remind_webhook or "").strip() or None
    if hook and not hook.startswith(("https://", "http://")):
        raise RoutineError("the reminder webhook is an http(s) address")
    if hook:
        try:
            Guard.from_settings(settings or Settings()).check(hook)
        except EgressRefused as exc:
            raise RoutineError(str(exc)) from exc
    values = {"daily": daily, "weekly": weekly, "remind_webhook": hook}
    updated = conn.execute(goals.update().where(goals.c.user_id == user_id).values(**values))
    if not updated.rowcount:
        conn.execute(goals.insert().values(user_id=user_id, **values))
    return goals_of(conn, user_id)


def log_interruption(
    conn: Connection, user_id: int, minutes: int, note: str | None = None, at: float | None = None
) -> None:
    if not 0 < minutes <= 600:
        raise RoutineError("an interruption lasts 1 to 600 minutes")
    conn.execute(interruptions.insert().values(
        user_id=user_id, at=time.time() if at is None else at, minutes=minutes,
        note=(note or "").strip()[:300] or None))  # fmt: skip


def streak(per_day: Mapping[date, int], goal: int, today: date) -> int:
    """Working days (Monday to Friday) in a row at the goal, ending today, or yesterday
    when today is not done yet; weekends neither count nor break a streak."""
    day, count = today, 0
    if per_day.get(day, 0) < goal:
        day -= timedelta(days=1)
    for _ in range(366):
        if day.weekday() < 5:
            if per_day.get(day, 0) < max(goal, 1):
                break
            count += 1
        day -= timedelta(days=1)
    return count


def inside(times: Iterable[float], blocks: Sequence[Block], zone: ZoneInfo) -> int:
    """How many of the moments fall inside a block."""
    local = (datetime.fromtimestamp(t, zone) for t in times)
    return sum(any(b.contains(moment) for b in blocks) for moment in local)


def routine(conn: Connection, user: User, now: float) -> Routine:
    zone = zone_of(user)
    today = datetime.fromtimestamp(now, zone).date()
    times = [float(t) for t in conn.execute(
        select(activities.c.at).where(activities.c.user_id == user.id,
                                      activities.c.at >= now - 60 * 86_400)
    ).scalars()]  # fmt: skip
    per_day = Counter(datetime.fromtimestamp(t, zone).date() for t in times)
    monday = today - timedelta(days=today.weekday())
    recent = [t for t in times if t >= now - 30 * 86_400]
    blocks = blocks_of(conn, user.id)
    stopped = conn.execute(
        select(interruptions.c.at, interruptions.c.minutes, interruptions.c.note)
        .where(interruptions.c.user_id == user.id, interruptions.c.at >= now - 30 * 86_400)
        .order_by(interruptions.c.at.desc())
    )
    return Routine(
        goals=goals_of(conn, user.id), blocks=blocks, today=per_day.get(today, 0),
        this_week=sum(n for d, n in per_day.items() if d >= monday),
        streak=streak(per_day, goals_of(conn, user.id).daily, today),
        inside_blocks=inside(recent, blocks, zone), total_30d=len(recent),
        interruptions=[Interruption(float(a), int(m), n) for a, m, n in stopped],
    )  # fmt: skip


def starting_blocks(
    blocks: Sequence[Block], local: datetime, window_minutes: int = 15
) -> list[Block]:
    """Blocks that started within the last `window_minutes` (for the reminder)."""
    minute = local.hour * 60 + local.minute
    return [b for b in blocks if b.weekday == local.weekday()
            and b.start_minute <= minute < b.start_minute + window_minutes]  # fmt: skip
