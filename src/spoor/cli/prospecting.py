"""Commands for the hunt: claim and release accounts, log what you did, tasks and
cadences, contacts, and your golden hours and goals."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from sqlalchemy import Connection

from spoor.cli.app import app
from spoor.cli.common import (
    JsonOption,
    console,
    fail,
    load_settings,
    pick_site,
    print_json,
)
from spoor.db.engine import open_database
from spoor.identify.corrections import CorrectionError, find_org
from spoor.prospecting.activities import KINDS, OUTCOMES, ActivityError, log_activity
from spoor.prospecting.cadences import (
    CADENCES,
    active_run,
    claim_and_start,
    finish,
    hand_over,
    start,
    stop,
)
from spoor.prospecting.claims import ClaimError, release
from spoor.prospecting.contacts import ContactError, add_contact
from spoor.prospecting.huntlist import CAPACITY
from spoor.prospecting.routine import RoutineError, add_block, routine, set_goals
from spoor.prospecting.tasks import TaskError, open_tasks, snooze
from spoor.prospecting.today import today
from spoor.terminal import hunt_table, task_table
from spoor.users import User, UserError, get_user_by_email

OrgArgument = Annotated[str, typer.Argument(help="Organization id, name or domain.")]
UserOption = Annotated[str, typer.Option("--user", help="Your e-mail address in Spoor.")]


def _who(conn: Connection, email: str) -> User:
    user = get_user_by_email(conn, email)
    if user is None:
        raise fail(f"no user {email}; `spoor user list` shows them")
    return user


@app.command("log")
def log_command(
    kind: Annotated[str, typer.Argument(help=", ".join(KINDS))],
    org: OrgArgument,
    user: UserOption,
    outcome: Annotated[str | None, typer.Option(help=", ".join(OUTCOMES))] = None,
    note: Annotated[str | None, typer.Option(help="What happened, in a line.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Log an activity on an account: `spoor log call ACME --outcome voicemail --user ME`."""
    with open_database(load_settings()).begin() as conn:
        try:
            ref = find_org(conn, org)
            done = log_activity(conn, ref.id, _who(conn, user).id, kind, outcome, note)
        except (CorrectionError, ActivityError, UserError) as exc:
            raise fail(str(exc)) from exc
    if as_json:
        print_json(done.__dict__)
        return
    following = f" Next: {done.next_task.title}." if done.next_task else ""
    console.print(
        f"Logged {done.kind}{f' ({done.outcome})' if done.outcome else ''} on {ref.name}."
        + following
    )


@app.command("claim")
def claim_command(
    org: OrgArgument,
    user: UserOption,
    to: Annotated[
        str | None, typer.Option(help="A manager hands the account to this person.")
    ] = None,
) -> None:
    """Claim an account for yourself (refused, naming the holder, when taken); a claim
    starts the cadence that fits the account. Managers can reassign with --to."""
    with open_database(load_settings()).begin() as conn:
        try:
            ref = find_org(conn, org)
            who = _who(conn, user)
            if to is not None:
                held = hand_over(conn, ref.id, _who(conn, to), who)
            else:
                held = claim_and_start(conn, ref.id, who)
            run = active_run(conn, ref.id)
        except (CorrectionError, ClaimError) as exc:
            raise fail(str(exc)) from exc
    cadence = f" Cadence: {run.cadence.name}." if run else ""
    console.print(f"{ref.name} is {held.owner}'s now.{cadence}" if to else
                  f"{ref.name} is yours ({held.owner}).{cadence}")  # fmt: skip


@app.command("release")
def release_command(org: OrgArgument, user: UserOption) -> None:
    """Release an account back to the pool (its owner or a manager)."""
    with open_database(load_settings()).begin() as conn:
        try:
            ref = find_org(conn, org)
            release(conn, ref.id, _who(conn, user))
        except (CorrectionError, ClaimError) as exc:
            raise fail(str(exc)) from exc
    console.print(f"{ref.name} is back in the pool.")


@app.command("today")
def today_command(
    user: UserOption,
    site: Annotated[
        str | None, typer.Option("--site", help="The site (default: the only one).")
    ] = None,
    capacity: Annotated[int, typer.Option(help="How many accounts you can work today.")] = CAPACITY,
    as_json: JsonOption = False,
) -> None:
    """Your hunt list for today: hand-raisers first, then hot fits, then by priority."""
    now = time.time()
    with open_database(load_settings()).connect() as conn:
        settings = load_settings()
        rows = today(conn, pick_site(conn, site), _who(conn, user), now, capacity,
                     settings.claim_lapse_days)  # fmt: skip
    if as_json:
        print_json([row.as_json() for row in rows])
        return
    console.print(hunt_table(rows))


@app.command("tasks")
def tasks_command(
    user: UserOption,
    days: Annotated[float | None, typer.Option(help="Only those due within so many days.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Your open tasks, soonest first (cadence steps and your own)."""
    now = time.time()
    with open_database(load_settings()).connect() as conn:
        by = now + days * 86_400 if days is not None else None
        found = open_tasks(conn, _who(conn, user).id, due_before=by)
    if as_json:
        print_json([t.as_json() for t in found])
        return
    console.print(task_table(found, now))


@app.command("task")
def task_command(
    task_id: Annotated[int, typer.Argument(help="The task's id (`spoor tasks` shows them).")],
    action: Annotated[str, typer.Argument(help="done, skip or snooze")],
    user: UserOption,
    reason: Annotated[str | None, typer.Option(help="Why (to skip or snooze).")] = None,
    days: Annotated[float, typer.Option(help="How long to snooze.")] = 1,
) -> None:
    """Mark a task done, skip it or snooze it; a cadence's next step follows."""
    with open_database(load_settings()).begin() as conn:
        who = _who(conn, user)
        try:
            if action == "snooze":
                task = snooze(conn, task_id, time.time() + days * 86_400, reason or "", who.id)
                console.print(f"{task.title} on {task.org} waits {days:g} day(s).")
                return
            status = {"done": "done", "skip": "skipped"}.get(action)
            if status is None:
                raise fail(f"{action!r}: use done, skip or snooze")
            following = finish(conn, task_id, who.id, status, reason)
        except TaskError as exc:
            raise fail(str(exc)) from exc
    after = f" Next: {following.title} on {following.org}." if following else ""
    console.print(f"{'Done' if status == 'done' else 'Skipped'}.{after}")


@app.command("cadence")
def cadence_command(
    org: OrgArgument,
    user: UserOption,
    cadence: Annotated[str | None, typer.Option("--start", help=", ".join(CADENCES))] = None,
    stop_it: Annotated[bool, typer.Option("--stop", help="Stop the running cadence.")] = False,
) -> None:
    """Start a cadence on an account (or stop the one running); shows what runs."""
    with open_database(load_settings()).begin() as conn:
        try:
            ref = find_org(conn, org)
            who = _who(conn, user)
            running = active_run(conn, ref.id)
            if stop_it and running:
                stop(conn, running, "stopped by hand", time.time())
                running = None
            if cadence:
                running = start(conn, ref.id, who.id, cadence)
        except (CorrectionError, TaskError) as exc:
            raise fail(str(exc)) from exc
    if running is None:
        console.print(f"No cadence runs on {ref.name}.")
    else:
        console.print(f"{ref.name}: {running.cadence.name}, "
                      f"{running.done} of {len(running.cadence.steps)} steps done.")  # fmt: skip


@app.command("contact")
def contact_command(
    org: OrgArgument,
    name: Annotated[str, typer.Argument(help="The person's name.")],
    user: UserOption,
    role: Annotated[str | None, typer.Option(help="Their job title.")] = None,
    email: Annotated[str | None, typer.Option(help="Their e-mail address.")] = None,
    phone: Annotated[str | None, typer.Option(help="Their phone number.")] = None,
    linkedin: Annotated[str | None, typer.Option(help="Their LinkedIn profile's address.")] = None,
) -> None:
    """Add a person you found at an account (Spoor never identifies people itself)."""
    with open_database(load_settings()).begin() as conn:
        try:
            ref = find_org(conn, org)
            made = add_contact(conn, ref.id, name, role, email, phone, linkedin,
                               _who(conn, user).id)  # fmt: skip
        except (CorrectionError, ContactError) as exc:
            raise fail(str(exc)) from exc
    console.print(f"{made.name} added to {ref.name}.")


@app.command("routine")
def routine_command(
    user: UserOption,
    block: Annotated[list[str] | None, typer.Option(help="Add a block: 'Mon 09:00-11:00'.")] = None,
    daily: Annotated[int | None, typer.Option(help="Set the daily activity goal.")] = None,
    weekly: Annotated[int | None, typer.Option(help="Set the weekly activity goal.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Your golden hours and goals: add blocks, set goals, see streak and adherence."""
    settings = load_settings()
    with open_database(settings).begin() as conn:
        who = _who(conn, user)
        try:
            for text in block or []:
                add_block(conn, who.id, text)
            if daily is not None or weekly is not None:
                now = routine(conn, who, time.time()).goals
                set_goals(conn, who.id, daily or now.daily, weekly or now.weekly,
                          now.remind_webhook, settings)  # fmt: skip
        except RoutineError as exc:
            raise fail(str(exc)) from exc
        seen = routine(conn, who, time.time())
    if as_json:
        print_json(seen.as_json())
        return
    adherence = f"{seen.adherence:.0%}" if seen.adherence is not None else "–"
    console.print(
        f"Blocks: {', '.join(b.label for b in seen.blocks) or 'none'}\n"
        f"Today {seen.today}/{seen.goals.daily} · this week {seen.this_week}/{seen.goals.weekly}"
        f" · streak {seen.streak} · in golden hours {adherence}"
        f" · interruptions {len(seen.interruptions)} ({seen.interrupted_minutes} min)"
    )
