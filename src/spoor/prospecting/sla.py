"""Speed to lead: how soon hand-raisers were first touched (HBR 2011: within an hour made
qualifying about 7x likelier; within 5 minutes is the target here).

For each hand-raise (a form in the ledger), the first activity on that account after it,
by anyone, is its first touch and counts for whoever logged it; a hand-raise still
untouched counts as a breach once 5 minutes have passed.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import Connection, func, select

from spoor.db.schema import activities, lead_signals, users
from spoor.ingest.rawhit import HitKind
from spoor.prospecting.huntlist import FIRST_TOUCH

HOUR, DAY = 3600, 86_400


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
