"""The daily digest: each person's e-mail with the leads to look at today, sent between
07:00 and 08:00 in their time zone (so it is there before the working day starts)."""

from __future__ import annotations

import time
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, select

from spoor.db.schema import digests
from spoor.leads.channels import SendError, send_mail
from spoor.leads.service import leads
from spoor.settings import Settings
from spoor.sites import list_sites
from spoor.users import User, list_users

SEND_HOUR = 7  # local hour in which digests go out
TOP = 10


def due(conn: Connection, settings: Settings, now: float) -> list[tuple[User, date]]:
    """Active people whose local time is in the sending hour and who have no digest today."""
    found = []
    for user in list_users(conn):
        if user.disabled:
            continue
        local = datetime.fromtimestamp(now, ZoneInfo(user.timezone or settings.timezone))
        if local.hour != SEND_HOUR:
            continue
        sent = conn.execute(
            select(digests.c.user_id).where(
                digests.c.user_id == user.id, digests.c.day == local.date()
            )
        ).first()
        if sent is None:
            found.append((user, local.date()))
    return found


def compose(conn: Connection, settings: Settings, user: User, now: float) -> tuple[str, str]:
    """The subject and text of one person's digest: the top leads of every site."""
    lines = [f"Good morning {user.label},", "", "The hottest tracks today:"]
    total = 0
    for site in list_sites(conn):
        ranked = leads(conn, site, int(now), limit=TOP)
        if not ranked:
            continue
        lines += ["", f"{site.domain}"]
        for n, lead in enumerate(ranked, start=1):
            why = "; ".join(r.text for r in lead.reasons[:2])
            lines.append(f"{n:2}. {lead.name} (priority {lead.priority:.0f}): {why}")
        total += len(ranked)
    lines += ["", f"All leads: {settings.public_url}/leads"]
    return f"[Spoor] {total} leads to look at today", "\n".join(lines)


def send_due(engine: Engine, settings: Settings, now: float | None = None) -> int:
    """Send every digest that is due; a failed one is tried again on the next call."""
    now = now or time.time()
    with engine.connect() as conn:
        waiting = due(conn, settings, now)
    sent = 0
    for user, day in waiting:
        with engine.connect() as conn:
            subject, body = compose(conn, settings, user, now)
        try:
            send_mail(settings, user.email, subject, body)
        except SendError:
            continue
        with engine.begin() as conn:
            conn.execute(digests.insert().values(user_id=user.id, day=day, sent_at=now))
        sent += 1
    return sent
