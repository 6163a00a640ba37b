"""Today's hunt list for one rep, in the order of the prospecting pyramid (DESIGN.md):

1. hand-raisers inside their speed-to-lead window (24 hours), newest clock first;
2. hot and fitting accounts (intent >= 60 and fit >= 50);
3. named target accounts;
4. the rest by priority;

only the rep's own accounts and the pool (never a colleague's), capped at the rep's daily
capacity, leaving out accounts touched in the last 2 days unless they came back since (or
with a task due). Each row says why now, the next step, and warns when a claim of the rep's
is going cold (a week without activity; it lapses after `lapse_days`).
Buying windows (open deals) join when deals do.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from spoor.leads.service import Lead
from spoor.prospecting.claims import DEFAULT_LAPSE_DAYS, Claim
from spoor.prospecting.tasks import Task

FIRST_TOUCH = 5 * 60  # seconds: the speed-to-lead target for a hand-raiser
WENT_COLD = 24 * 3600
RESTING = 2 * 86_400  # touched this recently and not back since: not today
CAPACITY = 25
GOING_COLD = 7 * 86_400  # a claim this long without activity gets a warning


@dataclass(frozen=True)
class HuntRow:
    lead: Lead
    tier: int  # 1 hand-raiser, 2 hot and fitting, 3 a named target, 4 by priority
    why_now: str
    owner: str | None
    sla_seconds: int | None  # for hand-raisers: time since the form, while untouched
    next_step: str = ""
    tasks_due: int = 0  # the rep's open tasks on the account due by now
    warning: str | None = None  # "going cold" on the rep's own claims

    @property
    def sla_breached(self) -> bool:
        return self.sla_seconds is not None and self.sla_seconds > FIRST_TOUCH

    def as_json(self) -> dict[str, object]:
        return {**self.lead.as_json(), "tier": self.tier, "why_now": self.why_now,
                "owner": self.owner, "sla_seconds": self.sla_seconds,
                "sla_breached": self.sla_breached, "next_step": self.next_step,
                "tasks_due": self.tasks_due, "warning": self.warning}  # fmt: skip


def _ago(seconds: float) -> str:
    minutes = int(seconds // 60)
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes // 60} h" if minutes < 48 * 60 else f"{minutes // 1440} days"


def _next_step(held: Claim | None, tasks: Sequence[Task], tier: int, now: float) -> str:
    if tasks:
        task = tasks[0]
        late = now - task.due_at
        if late < 0:
            return f"{task.title}, due in {_ago(-late)}"
        return f"{task.title}, {'due now' if late < 3600 else f'{_ago(late)} overdue'}"
    if held is None:
        return "claim it and call now" if tier == 1 else "claim it to start a cadence"
    return "start a cadence or log a touch"


def _warning(held: Claim | None, user_id: int, now: float, lapse_days: int) -> str | None:
    if held is None or held.user_id != user_id:
        return None
    idle = now - (held.last_activity_at or held.claimed_at)
    if idle < GOING_COLD:
        return None
    left = max(0, lapse_days - int(idle // 86_400))
    return f"going cold: no activity for {int(idle // 86_400)} days; the claim lapses in {left}"


def hunt_list(
    leads: Sequence[Lead],
    claims: Mapping[int, Claim],
    last_touch: Mapping[int, float],
    user_id: int,
    now: float,
    capacity: int = CAPACITY,
    tasks: Mapping[int, Sequence[Task]] | None = None,
    lapse_days: int = DEFAULT_LAPSE_DAYS,
) -> list[HuntRow]:
    """`tasks` are the rep's open tasks by account, soonest first."""
    rows = []
    for lead in leads:
        held = claims.get(lead.org_id)
        if held is not None and held.user_id != user_id:
            continue  # a colleague hunts it
        touched = last_touch.get(lead.org_id)
        seen = lead.intent.last_seen or 0
        waiting = (tasks or {}).get(lead.org_id, ())
        due = [t for t in waiting if t.due_at <= now]
        if touched is not None and now - touched < RESTING and seen <= touched and not due:
            continue  # done recently, and nothing new or due since
        owner = held.owner if held else None
        raised = lead.last_hand_raise
        untouched = raised is not None and (touched is None or touched < raised)
        if untouched and raised is not None and now - raised < WENT_COLD:
            clock = int(now - raised)
            row = HuntRow(lead, 1, f"raised a hand {_ago(clock)} ago: first touch within 5 min",
                          owner, clock)  # fmt: skip
        elif lead.intent.score >= 60 and lead.fit.score >= 50:
            reason = lead.intent.reasons[0].text if lead.intent.reasons else "hot"
            row = HuntRow(
                lead, 2, f"hot and a good fit: {reason}", held.owner if held else None, None
            )
        elif lead.target:
            reason = lead.reasons[0].text if lead.reasons else "visited"
            row = HuntRow(lead, 3, f"a target account: {reason}", owner, None)
        else:
            reason = lead.reasons[0].text if lead.reasons else "on the list"
            row = HuntRow(lead, 4, reason, owner, None)
        rows.append(dataclasses.replace(
            row, next_step=_next_step(held, waiting, row.tier, now), tasks_due=len(due),
            warning=_warning(held, user_id, now, lapse_days)))  # fmt: skip
    rows.sort(key=lambda r: (r.tier, r.sla_seconds if r.tier == 1 else 0, -r.lead.priority))
    return rows[:capacity]
