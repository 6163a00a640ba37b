"""The prospecting chores, run once a minute by the alert watcher: lapse idle claims, pass
speed-to-lead deadlines (escalate, went cold), remind reps when a golden-hours block
starts; and tell the people concerned, by e-mail (and a rep's reminder webhook).

State changes commit first and notices go out after, so a mail server being down never
holds a claim or repeats an escalation; a notice that fails is logged, not retried.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

import httpx
from sqlalchemy import Connection, Engine

from spoor.db.schema import prospecting_blocks
from spoor.identify.corrections import org_names
from spoor.leads.channels import SendError, send_mail
from spoor.leads.egress import EgressRefused, Guard, HostUnknown
from spoor.prospecting.claims import Claim, lapse
from spoor.prospecting.routine import Block, blocks_of, goals_of, starting_blocks, zone_of
from spoor.prospecting.sla import SlaEvent, pass_deadlines
from spoor.settings import Settings
from spoor.users import Role, User, list_users

log = logging.getLogger(__name__)


@dataclass
class Notices:
    lapsed: list[tuple[Claim, str]] = field(default_factory=list)  # claim, account name
    deadlines: list[SlaEvent] = field(default_factory=list)
    managers: list[User] = field(default_factory=list)
    reminders: list[tuple[User, Block, str | None]] = field(default_factory=list)  # webhook


def due_reminders(conn: Connection, people: list[User], now: float) -> list[tuple[User, Block]]:
    """Blocks that just started, each marked reminded for the day so it goes out once."""
    found = []
    for user in people:
        local = datetime.fromtimestamp(now, zone_of(user))
        for block in starting_blocks(blocks_of(conn, user.id), local):
            marked = conn.execute(
                prospecting_blocks.update()
                .where(prospecting_blocks.c.id == block.id,
                       (prospecting_blocks.c.reminded_on != local.date())
                       | prospecting_blocks.c.reminded_on.is_(None))
                .values(reminded_on=local.date())
            )  # fmt: skip
            if marked.rowcount:
                found.append((user, block))
    return found


def run(engine: Engine, settings: Settings, now: float) -> Notices:
    """Do the chores and send their notices; returns what was noticed (for tests, logs)."""
    notices = Notices()
    with engine.begin() as conn:
        ended = lapse(conn, now, settings.claim_lapse_days)
        names = org_names(conn, [c.org_id for c in ended])
        notices.lapsed = [(c, names.get(c.org_id, f"organization {c.org_id}")) for c in ended]
        notices.deadlines = pass_deadlines(conn, now)
        people = [u for u in list_users(conn) if not u.disabled]
        notices.managers = [u for u in people if u.role.allows(Role.MANAGER)]
        notices.reminders = [(user, block, goals_of(conn, user.id).remind_webhook)
                             for user, block in due_reminders(conn, people, now)]  # fmt: skip
    _tell(settings, notices)
    return notices


def _mail(settings: Settings, to: str, subject: str, body: str) -> None:
    if not settings.smtp_host:
        return
    try:
        send_mail(settings, to, f"[Spoor] {subject}", body)
    except SendError:
        log.warning("could not send %r to %s", subject, to)


def _tell(settings: Settings, notices: Notices) -> None:
    url = settings.public_url
    for gone, name in notices.lapsed:
        body = (f"Your claim on {name} lapsed after {settings.claim_lapse_days} days without a "
                "logged activity; the account is back in the pool."
                f"\n\n{url}/leads/{gone.org_id}")  # fmt: skip
        _mail(settings, gone.email, f"Your claim on {name} lapsed", body)
    for event in notices.deadlines:
        if event.kind == "escalated":
            body = (f"{event.org} raised a hand an hour ago and nobody has touched it yet."
                    + (f" The claim of {event.owner_email} is open to others now."
                       if event.owner_email else "")
                    + f"\n\n{url}/leads/{event.org_id}")  # fmt: skip
            told = {m.email for m in notices.managers}
            if event.owner_email:
                told.add(event.owner_email)
            for person in sorted(told):
                _mail(settings, person, f"Speed to lead: {event.org} waits for a first touch",
                      body)  # fmt: skip
        else:
            for manager in notices.managers:
                _mail(settings, manager.email, f"{event.org} went cold",
                      f"{event.org} raised a hand 24 hours ago and was never touched.\n\n"
                      f"{url}/leads/{event.org_id}")  # fmt: skip
    for user, block, hook in notices.reminders:
        text = f"Golden hours start now ({block.label}): your hunt list is at {url}/today"
        _mail(settings, user.email, "Golden hours start now", text)
        if hook:
            payload = {"event": "golden_hours", "user": user.email, "block": block.label,
                       "text": text}  # fmt: skip
            try:
                Guard.from_settings(settings).post(hook, json=payload).raise_for_status()
            except (httpx.HTTPError, EgressRefused, HostUnknown) as exc:
                log.warning("golden hours reminder to %s failed: %s", hook, exc)
