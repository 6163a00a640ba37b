"""Speed to lead: how soon hand-raisers were first touched (HBR 2011: within an hour made
qualifying about 7x likelier; within 5 minutes is the target here), and the deadlines an
untouched hand-raise passes (escalation at an hour, cold at a day).

For each hand-raise (a form in the ledger), the first activity on that account after it,
by anyone, is its first touch and counts for whoever logged it; a hand-raise still
untouched counts as a breach once 5 minutes have passed.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import Connection, exists, func, select

from spoor.db.schema import activities, lead_signals, sla_events, users
from spoor.identify.corrections import org_names
from spoor.ingest.rawhit import HitKind
from spoor.prospecting.claims import open_up
from spoor.prospecting.huntlist import FIRST_TOUCH, WENT_COLD

HOUR, DAY = 3600, 86_400
ESCALATE = HOUR  # untouched this long: the manager hears of it and the claim opens


@dataclass
class SpeedToLead:
    who: str
    delays: list[float] = field(default_factory=list)  # seconds to first touch
    untouched: int = 0  # hand-raises nobody touched yet (past the 5 minutes)

    @property
    def count(self) -> int:
        return len(self.delays) + self.untouched

    @property
    def median(self) -> float | None:
        return statistics.median(self.delays) if self.delays else None

    def share_within(self, seconds: float) -> float:
        return sum(d <= seconds for d in self.delays) / self.count if self.count else 0.0

    @property
    def breaches(self) -> int:
        return sum(d > FIRST_TOUCH for d in self.delays) + self.untouched

    def as_json(self) -> dict[str, object]:
        return {"who": self.who, "hand_raises": self.count, "median_seconds": self.median,
                "within_5_minutes": round(self.share_within(FIRST_TOUCH), 3),
                "within_1_hour": round(self.share_within(HOUR), 3),
                "within_24_hours": round(self.share_within(DAY), 3),
                "breaches": self.breaches}  # fmt: skip


def speed_to_lead(conn: Connection, since: float, now: float) -> list[SpeedToLead]:
    """The team first, then each person who made first touches, most first."""
    s = lead_signals.c
    raises = conn.execute(
        select(s.org_id, func.min(s.ts)).where(s.kind == int(HitKind.FORM), s.ts >= since)
        .group_by(s.org_id, s.ts)
    ).all()  # fmt: skip
    who = func.coalesce(users.c.name, users.c.email)
    team = SpeedToLead("the team")
    people: defaultdict[str, SpeedToLead] = defaultdict(lambda: SpeedToLead(""))
    for org_id, raised in raises:
        first = conn.execute(
            select(activities.c.at, who)
            .join(users, users.c.id == activities.c.user_id, isouter=True)
            .where(activities.c.org_id == org_id, activities.c.at >= raised)
            .order_by(activities.c.at).limit(1)
        ).first()  # fmt: skip
        if first is None:
            if now - raised > FIRST_TOUCH:
                team.untouched += 1
            continue
        delay = float(first[0]) - raised
        team.delays.append(delay)
        person = people[first[1] or "someone removed"]
        person.who = first[1] or "someone removed"
        person.delays.append(delay)
    return [team, *sorted(people.values(), key=lambda p: -p.count)]


@dataclass(frozen=True)
class SlaEvent:
    org_id: int
    org: str
    raised_at: int
    kind: str  # escalated | went_cold
    owner_email: str | None  # who held the account (escalation takes the claim back)


def pass_deadlines(conn: Connection, now: float) -> list[SlaEvent]:
    """Record each untouched hand-raise's escalation (after an hour; the claim is opened to
    others) and its going cold (after a day), once each; returns what is new, to tell."""
    s = lead_signals.c
    latest = (
        select(s.org_id, func.max(s.ts).label("raised"))
        .where(s.kind == int(HitKind.FORM), s.ts >= now - 7 * DAY, s.ts <= now - ESCALATE)
        .group_by(s.org_id)
        .subquery()
    )
    touched = exists().where(activities.c.org_id == latest.c.org_id,
                             activities.c.at >= latest.c.raised)  # fmt: skip
    untouched = conn.execute(select(latest.c.org_id, latest.c.raised).where(~touched)).all()
    names = org_names(conn, [o for o, _ in untouched])
    events = []
    for org_id, raised in untouched:
        name = names.get(org_id)
        age = now - raised
        due = ["went_cold"] if age >= WENT_COLD else ["escalated"]
        recorded = set(conn.execute(
            select(sla_events.c.kind).where(sla_events.c.org_id == org_id,
                                            sla_events.c.raised_at == raised)
        ).scalars())  # fmt: skip
        for kind in due:
            if kind in recorded:
                continue
            holder = open_up(conn, org_id, now) if kind == "escalated" else None
            conn.execute(sla_events.insert().values(
                org_id=org_id, raised_at=raised, kind=kind, at=now,
                owner_id=holder.user_id if holder else None))  # fmt: skip
            events.append(SlaEvent(org_id, name or f"organization {org_id}", int(raised), kind,
                                   holder.email if holder else None))  # fmt: skip
    return events


def went_cold(conn: Connection, since: float) -> list[tuple[int, str, int]]:
    """Hand-raised accounts that went 24 hours untouched since `since`: (org, name, raised)."""
    rows = conn.execute(
        select(sla_events.c.org_id, sla_events.c.raised_at)
        .where(sla_events.c.kind == "went_cold", sla_events.c.at >= since)
        .order_by(sla_events.c.raised_at.desc())
    ).all()
    names = org_names(conn, [o for o, _ in rows])
    return [(int(o), names.get(o, f"organization {o}"), int(r)) for o, r in rows]
