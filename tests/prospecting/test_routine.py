"""Golden hours, goals, streaks, the iCalendar feed, and the once-a-minute chores: speed-to-
lead deadlines and block reminders reaching a real SMTP server and a real webhook."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from sqlalchemy import Engine, select

from spoor.db.schema import lead_signals, sla_events
from spoor.prospecting import chores
from spoor.prospecting.activities import log_activity
from spoor.prospecting.calendar import feed, new_link, user_for_secret
from spoor.prospecting.claims import claim, get_claim
from spoor.prospecting.routine import (
    Block,
    RoutineError,
    add_block,
    blocks_of,
    log_interruption,
    parse_block,
    routine,
    set_goals,
    streak,
)
from spoor.prospecting.sla import went_cold
from spoor.prospecting.tasks import add_task, open_tasks
from spoor.settings import Settings
from spoor.sites import add_site
from spoor.users import Role, add_user, update_user
from tests.receivers import Mailbox, Receiver

PASSWORD = "a long enough password"
MONDAY_9 = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Europe/Amsterdam")).timestamp()


def test_blocks_parse_and_refuse_nonsense() -> None:
    assert parse_block("Mon 09:00-11:00") == (0, 540, 660)
    assert parse_block("friday 13:30 - 15:00") == (4, 810, 900)
    for bad in ("Mon 11:00-09:00", "Xyz 09:00-10:00", "Mon 9-10", "Mon 09:00-25:00"):
        with pytest.raises(RoutineError):
            parse_block(bad)


def test_streak_counts_working_days_at_goal() -> None:
    friday = date(2026, 11, 27)
    days = {friday - timedelta(days=n): 20 for n in range(7)}  # Sat 21 .. Fri 27
    assert streak(days, 20, friday) == 5
    assert streak(days, 20, friday + timedelta(days=3)) == 5  # Monday, not done yet
    days[friday - timedelta(days=2)] = 3  # Wednesday missed
    assert streak(days, 20, friday) == 2
    assert streak({}, 20, friday) == 0


def test_routine_shows_adherence_goals_and_interruptions(engine: Engine) -> None:
    with engine.begin() as conn:
        ann = add_user(conn, "ann@example.com", PASSWORD, Role.REP, 0, "Ann")
        update_user(conn, ann.id, timezone="Europe/Amsterdam")
        ann = replace(ann, timezone="Europe/Amsterdam")
        add_block(conn, ann.id, "Mon 09:00-11:00")
        with pytest.raises(RoutineError, match="overlaps Mon 09:00-11:00"):
            add_block(conn, ann.id, "Mon 10:00-12:00")
        set_goals(conn, ann.id, 3, 15)
        for minutes in (5, 30, 90, 150):  # 09:05, 09:30 and 10:30 inside; 11:30 outside
            log_activity(conn, 1, ann.id, "call", "no_answer", at=MONDAY_9 + minutes * 60)
        log_interruption(conn, ann.id, 20, "fire drill", MONDAY_9 + 3600)
        seen = routine(conn, ann, MONDAY_9 + 4 * 3600)
    assert (seen.today, seen.this_week, seen.total_30d, seen.inside_blocks) == (4, 4, 4, 3)
    assert seen.adherence == 0.75
    assert seen.streak == 1
    assert (len(seen.interruptions), seen.interrupted_minutes) == (1, 20)
    assert seen.as_json()["blocks"] == ["Mon 09:00-11:00"]


def test_the_calendar_feed_parses_and_holds_tasks_and_blocks(engine: Engine) -> None:
    with engine.begin() as conn:
        ann = add_user(conn, "ann@example.com", PASSWORD, Role.REP, 0, "Ann")
        add_block(conn, ann.id, "Tue 08:30-10:00")
        add_task(conn, 5, ann.id, "call", "Call #1", MONDAY_9)
        secret = new_link(conn, ann.id)
        found = user_for_secret(conn, secret)
        assert found is not None
        assert found.id == ann.id
        assert user_for_secret(conn, secret + "x") is None
        again = new_link(conn, ann.id)  # a new link ends the old one
        assert user_for_secret(conn, secret) is None
        assert user_for_secret(conn, again) is not None
        body = feed(ann, open_tasks(conn, ann.id), blocks_of(conn, ann.id), ZoneInfo("UTC"),
                    "https://spoor.example", datetime.fromtimestamp(MONDAY_9, UTC))  # fmt: skip
    events = Calendar.from_ical(body).walk("VEVENT")
    task = next(e for e in events if str(e["uid"]).startswith("task-"))
    block = next(e for e in events if str(e["uid"]).startswith("block-"))
    assert str(task["summary"]) == "Call #1: organization 5"
    assert task.decoded("dtstart").timestamp() == MONDAY_9
    assert str(task["url"]) == "https://spoor.example/leads/5"
    assert block["rrule"]["BYDAY"] == ["TU"]
    start = block.decoded("dtstart")
    assert (start.weekday(), start.hour, start.minute) == (1, 8, 30)
    assert block.decoded("dtend") - start == timedelta(minutes=90)


def test_chores_escalate_untouched_hand_raisers_and_remind_blocks(
    engine: Engine, settings: Settings, smtp: tuple[Mailbox, int]
) -> None:
    box, port = smtp
    hook = Receiver()
    settings = replace(settings, smtp_host="127.0.0.1", smtp_port=port, smtp_security="none")
    now = MONDAY_9 + 60
    with engine.begin() as conn:
        site = add_site(conn, "www.example.com", "UTC", 0)
        boss = add_user(conn, "boss@example.com", PASSWORD, Role.MANAGER, 0, "Boss")
        ann = add_user(conn, "ann@example.com", PASSWORD, Role.REP, 0, "Ann")
        update_user(conn, ann.id, timezone="Europe/Amsterdam")
        ann = replace(ann, timezone="Europe/Amsterdam")
        add_block(conn, ann.id, "Mon 09:00-10:00")
        set_goals(conn, ann.id, 20, 100, hook.url, settings)
        for org, age in ((1, 61 * 60), (2, 30 * 60), (3, 25 * 3600), (4, 2 * 3600)):
            conn.execute(lead_signals.insert().values(
                site_id=site.id, org_id=org, ts=int(now - age), day=date(2026, 11, 23), kind=5,
                path="/demo", visitor=org, hit_key=bytes([org]) * 16))  # fmt: skip
        claim(conn, 1, ann, now - 3000)  # claimed, never touched: the claim opens
        log_activity(conn, 4, ann.id, "call", "connected", at=now - 3600)  # touched in time
    first = chores.run(engine, settings, now)
    second = chores.run(engine, settings, now + 60)  # nothing happens twice
    assert sorted((e.org_id, e.kind) for e in first.deadlines) == [(1, "escalated"),
                                                                    (3, "went_cold")]  # fmt: skip
    assert (second.deadlines, second.reminders) == ([], [])
    assert [(u.email, b.label) for u, b, _ in first.reminders] == [
        ("ann@example.com", "Mon 09:00-10:00")
    ]
    with engine.connect() as conn:
        assert get_claim(conn, 1) is None
        assert [o for o, _, _ in went_cold(conn, 0)] == [3]
        assert len(conn.execute(select(sla_events)).all()) == 2
    to = sorted((m.rcpt_tos[0], m.content.decode().split("Subject: ")[1].split("\n")[0].strip())
                for m in box.messages)  # fmt: skip
    assert ("ann@example.com", "[Spoor] Golden hours start now") in to
    assert (
        "ann@example.com",
        "[Spoor] Speed to lead: organization 1 waits for a first touch",
    ) in to
    assert ("boss@example.com", "[Spoor] organization 3 went cold") in to
    assert boss.email in {t for t, _ in to}
    assert len(hook.got) == 1
    assert b"golden_hours" in hook.got[0][1]


def test_a_block_contains_only_its_own_minutes() -> None:
    block = Block(1, 0, 540, 600)
    zone = ZoneInfo("UTC")
    assert block.contains(datetime(2026, 11, 23, 9, 59, tzinfo=zone))
    assert not block.contains(datetime(2026, 11, 23, 10, 0, tzinfo=zone))
    assert not block.contains(datetime(2026, 11, 24, 9, 30, tzinfo=zone))
