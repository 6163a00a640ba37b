"""Assembling one rep's hunt list for a site from the stored leads, claims and activities."""

from __future__ import annotations

from sqlalchemy import Connection

from spoor.leads.service import leads
from spoor.prospecting.activities import last_touches
from spoor.prospecting.claims import claims_of
from spoor.prospecting.huntlist import CAPACITY, HuntRow, hunt_list
from spoor.sites import Site
from spoor.users import User


def today(
    conn: Connection, site: Site, user: User, now: float, capacity: int = CAPACITY
) -> list[HuntRow]:
    ranked = leads(conn, site, int(now), limit=None)
    ids = [lead.org_id for lead in ranked]
    return hunt_list(ranked, claims_of(conn, ids), last_touches(conn, ids), user.id, now, capacity)
