"""The hunt list's order and its gates, on plain leads (no database)."""

from __future__ import annotations

from dataclasses import replace

from spoor.leads.scoring import Fit, Intent, Reason
from spoor.leads.service import Lead
from spoor.prospecting.claims import Claim
from spoor.prospecting.huntlist import hunt_list

NOW = 1_790_000_000.0
ME, COLLEAGUE = 1, 2


def lead(org_id: int, priority: float, intent: float = 30, fit: float = 60,
         seen: float = NOW - 3600, raised: float | None = None) -> Lead:  # fmt: skip
    reasons = (Reason(intent, f"read /pricing ({org_id})"),)
    return Lead(org_id, f"Org {org_id}", "business", None, None, priority, Fit(fit, ()),
                Intent(intent, 10, reasons, False, int(seen)), 0, frozenset(), 1,
                int(raised) if raised else None)  # fmt: skip


def claimed(org_id: int, user_id: int) -> Claim:
    return Claim(org_id, user_id, f"user {user_id}", "x@example.com", NOW - 86_400, None)


def test_the_pyramid_order_and_the_gates() -> None:
    leads = [
        lead(1, 90, intent=90),  # hot and fitting
        lead(2, 40, intent=20),  # just priority
        lead(3, 60, intent=70, raised=NOW - 120),  # raised a hand 2 minutes ago
        lead(4, 95, intent=95),  # a colleague's account
        lead(5, 80, intent=80, seen=NOW - 3 * 86_400),  # touched yesterday, not back since
        lead(6, 70, intent=70, raised=NOW - 600),  # raised 10 minutes ago: SLA breached
        lead(7, 50, intent=65, fit=30),  # hot but not a fit
    ]
    claims = {4: claimed(4, COLLEAGUE), 1: claimed(1, ME)}
    touches = {5: NOW - 86_400}
    rows = hunt_list(leads, claims, touches, ME, NOW, capacity=10)
    assert [r.lead.org_id for r in rows] == [3, 6, 1, 7, 2]
    assert [r.tier for r in rows] == [1, 1, 2, 4, 4]
    assert rows[0].why_now.startswith("raised a hand 2 min ago")
    assert not rows[0].sla_breached
    assert rows[1].sla_breached
    assert rows[2].owner == "user 1"
    assert hunt_list(leads, claims, touches, ME, NOW, capacity=2)[-1].lead.org_id == 6


def test_an_account_that_came_back_after_a_touch_is_back_on_the_list() -> None:
    back = lead(5, 80, intent=80, seen=NOW - 600)
    rows = hunt_list([back], {}, {5: NOW - 86_400}, ME, NOW)
    assert [r.lead.org_id for r in rows] == [5]


def test_a_touched_hand_raiser_leaves_the_first_tier() -> None:
    raised = lead(3, 60, intent=70, raised=NOW - 3600, seen=NOW - 3600)
    rows = hunt_list([raised], {}, {3: NOW - 1800}, ME, NOW + 3 * 86_400)
    assert [r.tier for r in rows] == [2]


def test_named_targets_come_before_the_rest() -> None:
    plain = lead(1, 80, intent=40)
    target = replace(lead(2, 30, intent=10), target=True)
    rows = hunt_list([plain, target], {}, {}, ME, NOW)
    assert [(r.lead.org_id, r.tier) for r in rows] == [(2, 3), (1, 4)]
    assert rows[0].why_now.startswith("a target account: ")


def test_rows_say_the_next_step_and_warn_when_a_claim_goes_cold() -> None:
    from spoor.prospecting.tasks import Task

    def task(org_id: int, title: str, due: float) -> Task:
        return Task(org_id * 10, org_id, f"Org {org_id}", ME, "call", title, due, "open", None,
                    None, None)  # fmt: skip

    leads = [lead(1, 90, intent=90), lead(2, 80, intent=80), lead(3, 70, intent=70),
             lead(4, 60, intent=70, raised=NOW - 60), lead(5, 50, intent=65)]  # fmt: skip
    idle = Claim(3, ME, "me", "me@example.com", NOW - 10 * 86_400, NOW - 9 * 86_400)
    claims = {1: claimed(1, ME), 2: claimed(2, ME), 3: idle}
    waiting = {1: [task(1, "Call #2", NOW - 3 * 3600)], 2: [task(2, "E-mail #3", NOW + 86_400)],
               5: [task(5, "Call #1", NOW - 60)]}  # fmt: skip
    touched = {5: NOW - 3600}  # touched an hour ago, but a task is due: still listed
    rows = {r.lead.org_id: r for r in hunt_list(leads, claims, touched, ME, NOW, 10, waiting, 14)}
    assert rows[1].next_step == "Call #2, 3 h overdue"
    assert rows[1].tasks_due == 1
    assert rows[2].next_step == "E-mail #3, due in 24 h"
    assert rows[2].tasks_due == 0
    assert rows[3].next_step == "start a cadence or log a touch"
    assert rows[3].warning == "going cold: no activity for 9 days; the claim lapses in 5"
    assert rows[4].next_step == "claim it and call now"
    assert rows[5].next_step == "Call #1, due now"
    assert rows[1].warning is None
