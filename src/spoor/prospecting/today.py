"""Assembling one rep's hunt list for a site from the stored leads, claims and activities."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import Connection

from spoor.leads.service import leads
from spoor.prospecting.activities import last_touches
from spoor.prospecting.claims import DEFAULT_LAPSE_DAYS, claims_of
from spoor.prospecting.huntlist import CAPACITY, HuntRow, hunt_list
from spoor.prospecting.tasks import Task, open_tasks
from spoor.sites import Site
from spoor.users import User


def today(
    conn: Connection, site: Site, user: User, now: float, capacity: int = CAPACITY,
    lapse_days: int = DEFAULT_LAPSE_DAYS,
) -> list[HuntRow]:  # fmt: skip
    ranked = leads(conn, site, int(now), limit=None)
    ids = [lead.org_id for lead in ranked]
    mine: defaultdict[int, list[Task]] = defaultdict(list)
    for task in open_tasks(conn, user.id):
        mine[task.org_id].append(task)
    return hunt_list(ranked, claims_of(conn, ids), last_touches(conn, ids), user.id, now,
                     capacity, mine, lapse_days)  # fmt: skip
