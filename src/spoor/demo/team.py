"""The demo's sales team: reps with golden hours and goals, claims on some of the top leads,
cadences running, and a month of logged activity, all written through the prospecting
services (so the demo shows exactly what real use leaves behind). The hottest lead stays
in the pool, for the person trying the demo to claim."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from spoor.leads.service import Lead
from spoor.prospecting.activities import log_activity
from spoor.prospecting.cadences import start
from spoor.prospecting.claims import claim
from spoor.prospecting.contacts import add_contact
from spoor.prospecting.routine import add_block, set_goals
from spoor.prospecting.tasks import open_tasks
from spoor.users import Role, User, add_user, update_user

TEAM = (  # besides the admin and the rep who sign in to the demo
    ("mia@demo.spoor", Role.MANAGER, "Mia Manager"),
    ("sam@demo.spoor", Role.REP, "Sam Seller"),
)
BLOCKS = ("Mon 09:00-11:00", "Tue 09:00-11:00", "Wed 09:00-11:00", "Thu 09:00-11:00",
          "Fri 09:00-10:30")  # fmt: skip
OUTCOMES = {"call": ("no_answer", "voicemail", "connected", "no_answer"),
            "email": ("sent",), "linkedin": ("sent", "replied")}  # fmt: skip
KEEP_GOING = {"call": ("no_answer", "voicemail", "connected"), "email": ("sent",),
              "linkedin": ("sent",)}  # fmt: skip


def _working_moments(rng: random.Random, now: datetime, days: int, per_day: int) -> list[datetime]:
    """Times on past working days, mostly inside the morning blocks."""
    found = []
    for back in range(days, 0, -1):
        day = (now - timedelta(days=back)).replace(hour=0, minute=0, second=0, microsecond=0)
        if day.weekday() >= 5:
            continue
        for _ in range(max(0, int(rng.gauss(per_day, per_day / 3)))):
            hour = rng.uniform(9, 11) if rng.random() < 0.7 else rng.uniform(11, 17)
            found.append(day + timedelta(hours=hour))
    return sorted(found)


def _work_cadence(
    conn: Connection, rng: random.Random, org_id: int, rep: User, began: float, now: float
) -> None:
    """Start the cadence at `began` and do each step that fell due before today, a little
    after it was due; the step due now stays open."""
    start(conn, org_id, rep.id, "identified", began)
    while True:
        waiting = open_tasks(conn, rep.id, [org_id])
        if not waiting or waiting[0].due_at > now - 86_400:
            return
        task = waiting[0]
        log_activity(conn, org_id, rep.id, task.kind, rng.choice(KEEP_GOING[task.kind]),
                     at=task.due_at + rng.uniform(600, 7200))  # fmt: skip


def seed_team(
    conn: Connection, reps: list[User], ranked: list[Lead], now: datetime, password: str,
    seed: int = 7,
) -> list[User]:  # fmt: skip
    """Add the team; returns every rep (the given ones and the demo's own)."""
    rng = random.Random(seed)
    stamp = int(now.timestamp())
    zone = now.tzinfo if isinstance(now.tzinfo, ZoneInfo) else ZoneInfo("UTC")
    for email, role, name in TEAM:
        added = add_user(conn, email, password, role, stamp, name)
        if role is Role.REP:
            reps.append(added)
    for rep in reps:
        update_user(conn, rep.id, timezone=zone.key)
        for block in BLOCKS:
            add_block(conn, rep.id, block)
        set_goals(conn, rep.id, 10, 50)
    pool = [lead for lead in ranked[1:] if lead.type == "business"][: 3 * len(reps)]
    for n, lead in enumerate(pool):
        owner = reps[n % len(reps)]
        began = now - timedelta(days=rng.randint(2, 9))
        claim(conn, lead.org_id, owner, began.timestamp())
        _work_cadence(conn, rng, lead.org_id, owner, began.timestamp(), now.timestamp())
        add_contact(conn, lead.org_id, rng.choice(("Eva", "Jonas", "Lena", "Pieter")) + " "
                    + rng.choice(("de Vries", "Jansen", "Bakker", "Visser")),
                    rng.choice(("Head of Operations", "COO", "IT Manager", "Procurement Lead")),
                    user_id=owner.id)  # fmt: skip
    # A month of prospecting: cadence touches on the claimed accounts, and more elsewhere.
    others = [lead for lead in ranked[1:] if lead not in pool]
    for rep in reps:
        for moment in _working_moments(rng, now, 30, 11):
            lead = rng.choice(others)
            kind = rng.choice(("call", "call", "email", "linkedin"))
            log_activity(conn, lead.org_id, rep.id, kind, rng.choice(OUTCOMES[kind]),
                         at=moment.timestamp())  # fmt: skip
    return reps
