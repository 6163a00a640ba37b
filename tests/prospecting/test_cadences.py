"""Tasks and cadences: a claim starts the fitting cadence; logged activities close its
tasks and bring the next; a reply, a meeting or an opt-out stops it; calls are capped."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
from sqlalchemy import Connection, Engine

from spoor.db.schema import lead_signals
from spoor.prospecting.activities import log_activity
from spoor.prospecting.cadences import (
    CADENCES,
    DAY,
    MAX_CALLS,
    active_run,
    claim_and_start,
    finish,
    start,
)
from spoor.prospecting.contacts import ContactError, add_contact, contacts_of, opt_out
from spoor.prospecting.tasks import TaskError, add_task, open_tasks, snooze
from spoor.sites import add_site
from spoor.users import Role, User, add_user

T0 = 1_780_000_000.0
ORG = 77


def _rep(conn: Connection, email: str = "ann@example.com") -> User:
    return add_user(conn, email, "a long enough password", Role.REP, 0, email.split("@")[0])


def _hand_raise(conn: Connection, org_id: int, ts: float) -> None:
    site = add_site(conn, "www.example.com", "UTC", 0)
    conn.execute(lead_signals.insert().values(
        site_id=site.id, org_id=org_id, ts=int(ts), day=date(2026, 5, 28), kind=5,
        path="/demo", visitor=1, hit_key=b"k" * 16,
    ))  # fmt: skip


def test_the_default_cadences_are_the_ones_in_the_design() -> None:
    hand, seen = CADENCES["hand_raiser"], CADENCES["identified"]
    assert Counter(s.kind for s in hand.steps) == {"call": 6, "email": 5, "linkedin": 2}
    assert (len(hand.steps), hand.steps[-1].day + 1) == (13, 14)
    assert Counter(s.kind for s in seen.steps) == {"email": 5, "call": 4, "linkedin": 2}
    assert (len(seen.steps), seen.steps[-1].day + 1) == (11, 21)
    for cadence in (hand, seen):
        assert [s.day for s in cadence.steps] == sorted(s.day for s in cadence.steps)


def test_a_claim_on_a_hand_raiser_starts_its_cadence_and_activities_advance_it(
    engine: Engine,
) -> None:
    with engine.begin() as conn:
        ann = _rep(conn)
        _hand_raise(conn, ORG, T0 - 60)
        claim_and_start(conn, ORG, ann, T0)
        run = active_run(conn, ORG)
        assert run is not None
        assert run.cadence.key == "hand_raiser"
        [first] = open_tasks(conn, ann.id)
        assert (first.kind, first.title, first.due_at) == ("call", "Call #1", T0)
        done = log_activity(conn, ORG, ann.id, "call", "no_answer", at=T0 + 120)
        assert done.next_task is not None
        assert (done.next_task.title, done.next_task.due_at) == ("E-mail #1", T0 + 120)
        # a note is not a cadence touch: the e-mail stays open
        log_activity(conn, ORG, ann.id, "note", None, "read their annual report", T0 + 130)
        assert [t.title for t in open_tasks(conn, ann.id)] == ["E-mail #1"]
        following = finish(conn, done.next_task.id, ann.id, "done", now=T0 + 200)
        assert following is not None
        assert (following.title, following.due_at) == ("Call #2", T0 + DAY)  # day 1
        again = active_run(conn, ORG)
        assert again is not None
        assert again.done == 2


def test_a_reply_a_meeting_or_an_opt_out_stops_the_cadence(engine: Engine) -> None:
    with engine.begin() as conn:
        ann = _rep(conn)
        for org, stopper in ((1, "replied"), (2, "meeting_booked")):
            start(conn, org, ann.id, "identified", T0)
            log_activity(conn, org, ann.id, "email", stopper, at=T0 + 60)
            assert active_run(conn, org) is None
            assert open_tasks(conn, ann.id, [org]) == []
        start(conn, 3, ann.id, "identified", T0)
        person = add_contact(conn, 3, "Eva Jansen", "Head of Logistics", "eva@example.nl")
        opt_out(conn, 3, person.id, T0 + 60)
        assert active_run(conn, 3) is None
        assert contacts_of(conn, 3)[0].opted_out


def test_calls_past_the_cap_are_skipped(engine: Engine) -> None:
    with engine.begin() as conn:
        ann = _rep(conn)
        start(conn, ORG, ann.id, "hand_raiser", T0)
        for n in range(MAX_CALLS):  # calls outside the cadence's tasks count as well
            log_activity(conn, ORG, ann.id, "call", "no_answer", at=T0 + n)
        titles = []
        for _ in range(20):
            [task] = open_tasks(conn, ann.id) or [None]
            if task is None:
                break
            titles.append(task.title)
            finish(conn, task.id, ann.id, "done", now=T0 + 100)
    assert not any(t.startswith("Call") for t in titles[1:])
    assert titles[:3] == ["E-mail #1", "LinkedIn message #1", "E-mail #2"]


def test_snooze_and_skip_need_a_reason_and_only_the_owner_may(engine: Engine) -> None:
    with engine.begin() as conn:
        ann, bob = _rep(conn), _rep(conn, "bob@example.com")
        task = add_task(conn, ORG, ann.id, "todo", "Send the case study", T0)
        with pytest.raises(TaskError, match="needs a reason"):
            snooze(conn, task.id, T0 + DAY, " ", ann.id)
        with pytest.raises(TaskError, match="someone else's"):
            snooze(conn, task.id, T0 + DAY, "on holiday", bob.id)
        assert snooze(conn, task.id, T0 + DAY, "on holiday", ann.id).due_at == T0 + DAY
        with pytest.raises(TaskError, match="why the task is skipped"):
            finish(conn, task.id, ann.id, "skipped")
        finish(conn, task.id, ann.id, "skipped", "they signed with us already")
        assert open_tasks(conn, ann.id) == []
        with pytest.raises(TaskError, match="already skipped"):
            finish(conn, task.id, ann.id, "done")
        with pytest.raises(TaskError, match="not a task"):
            add_task(conn, ORG, ann.id, "fax", "x", T0)


def test_contacts_are_checked(engine: Engine) -> None:
    with engine.begin() as conn:
        with pytest.raises(ContactError, match="needs a name"):
            add_contact(conn, ORG, " ")
        with pytest.raises(ContactError, match="not an e-mail address"):
            add_contact(conn, ORG, "Eva", email="eva at example")
        with pytest.raises(ContactError, match="profile's address"):
            add_contact(conn, ORG, "Eva", linkedin="linkedin.com/in/eva")
        saved = add_contact(conn, ORG, "Eva", "CFO", "eva@example.nl", "+31 20 123",
                            "https://www.linkedin.com/in/eva")  # fmt: skip
        assert contacts_of(conn, ORG) == [saved]
