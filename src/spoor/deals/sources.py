"""Where an account came from, as the forecast stratifies it: it raised a hand (sent a
form), it was a named target, or it was otherwise identified (a visit, a list, a call)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Connection, func, select

from spoor.db.schema import lead_signals, org_corrections
from spoor.ingest.rawhit import HitKind

HAND_RAISER, TARGET, IDENTIFIED = "hand_raiser", "target", "identified"
SOURCES = (HAND_RAISER, TARGET, IDENTIFIED)


def first_hand_raises(conn: Connection) -> dict[int, date]:
    """The first day each organization sent a form (on any site)."""
    query = (
        select(lead_signals.c.org_id, func.min(lead_signals.c.day))
        .where(lead_signals.c.kind == int(HitKind.FORM))
        .group_by(lead_signals.c.org_id)
    )
    return {int(org): day for org, day in conn.execute(query)}


def target_accounts(conn: Connection) -> set[int]:
    """Organizations the team marked as named targets."""
    query = select(org_corrections.c.org_id).where(org_corrections.c.target.is_(True))
    return {int(org) for org in conn.scalars(query)}


def source_of(org_id: int, day: date, raised: dict[int, date], targets: set[int]) -> str:
    """The account's source as of ``day``: a hand-raise on or before it counts, one after
    it does not (then the prospecting came first, and the form is its result)."""
    first = raised.get(org_id)
    if first is not None and first <= day:
        return HAND_RAISER
    return TARGET if org_id in targets else IDENTIFIED
