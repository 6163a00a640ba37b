"""The rep's routine in the web app: today's hunt list and tasks, the forms that change an
account's tasks, cadence and contacts, golden hours and goals, and the calendar feed."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from spoor.prospecting import cadences
from spoor.prospecting.calendar import feed, new_link, user_for_secret
from spoor.prospecting.contacts import ContactError, add_contact, opt_out
from spoor.prospecting.huntlist import HuntRow
from spoor.prospecting.routine import (
    Routine,
    RoutineError,
    add_block,
    blocks_of,
    log_interruption,
    remove_block,
    routine,
    set_goals,
    zone_of,
)
from spoor.prospecting.tasks import Task, TaskError, add_task, open_tasks, snooze
from spoor.prospecting.today import today
from spoor.settings import Settings
from spoor.users import User, UserError, update_user
from spoor.web.auth import guard
from spoor.web.pages.scope import PERIODS, Scope, load_scope
from spoor.web.render import back_to, page, read, refused, write

DAY = 86_400


@dataclass
class Today:
    scope: Scope
    rows: list[HuntRow]
    tasks: list[Task]  # the rep's, due by the end of the day
    routine: Routine


def _end_of_day(user: User, now: float) -> float:
    local = datetime.fromtimestamp(now, zone_of(user))
    return (
        local.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    ).timestamp()


@guard()
async def today_page(request: Request) -> Response:
    now = time.time()
    user = request.state.user
    lapse = request.app.state.settings.claim_lapse_days

    def load(conn: Connection) -> Today:
        scope = load_scope(conn, request)
        rows = today(conn, scope.site, user, now, lapse_days=lapse) if scope.site else []
        due = open_tasks(conn, user.id, due_before=_end_of_day(user, now))
        return Today(scope, rows, due, routine(conn, user, now))

    found = await read(request, load)
    if found.scope.site is None:
        return page(request, "empty.html", scope=found.scope, periods=PERIODS)
    flash = request.session.pop("flash", None)
    return page(request, "today.html", scope=found.scope, rows=found.rows, tasks=found.tasks,
                routine=found.routine, now=now, flash=flash)  # fmt: skip


def _float(form: FormData, name: str, default: float) -> float:
    try:
        return float(str(form.get(name) or default))
    except ValueError:
        raise TaskError(f"{name} must be a number") from None


@guard()
async def change_task(request: Request) -> Response:
    """Done, skipped (with a reason) or snoozed by some days (with a reason)."""
    task_id = int(request.path_params["task_id"])
    form = await request.form()
    user_id, action = request.state.user.id, str(form.get("action", ""))
    reason = str(form.get("reason", ""))

    def change(conn: Connection) -> str:
        if action == "snooze":
            days = _float(form, "days", 1)
            if not 0 < days <= 90:
                raise TaskError("snooze for 1 to 90 days")
            task = snooze(conn, task_id, time.time() + days * DAY, reason, user_id)
            return f"Snoozed: {task.title} waits {days:g} day(s)."
        following = cadences.finish(conn, task_id, user_id, action, reason)
        return f"{'Done' if action == 'done' else 'Skipped'}." + (
            f" Next: {following.title}." if following else ""
        )

    try:
        return back_to(request, await write(request, change), to=str(form.get("next", "/today")))
    except TaskError as exc:
        return refused(request, exc, str(form.get("next", "/today")))


@guard()
async def change_account(request: Request) -> Response:
    """The lead page's forms for the account's cadence, tasks and contacts."""
    org_id = int(request.path_params["org_id"])
    what = request.path_params["what"]
    form = await request.form()
    user = request.state.user
    back = f"/leads/{org_id}?{form.get('back', '')}"

    def change(conn: Connection) -> str:
        action = str(form.get("action", ""))
        if what == "cadence" and action == "stop":
            running = cadences.active_run(conn, org_id)
            if running is None:
                raise TaskError("no cadence runs on this account")
            cadences.stop(conn, running, "stopped by hand", time.time())
            return "Cadence stopped; its open tasks are skipped."
        if what == "cadence":
            run = cadences.start(conn, org_id, user.id, str(form.get("cadence", "")))
            return f"Started: {run.cadence.name}."
        if what == "tasks":
            due = _float(form, "days", 0)
            task = add_task(conn, org_id, user.id, str(form.get("kind", "todo")),
                            str(form.get("title", "")), time.time() + due * DAY)  # fmt: skip
            return f"Task added: {task.title}."
        if action == "opt_out":
            person = opt_out(conn, org_id, int(str(form.get("contact_id", "0"))))
            return f"{person.name} opted out; the cadence stopped."
        f = {k: str(form.get(k, "")) for k in ("name", "role", "email", "phone", "linkedin")}
        return f"Contact added: {add_contact(conn, org_id, **f, user_id=user.id).name}."

    if what not in ("cadence", "tasks", "contacts"):
        raise HTTPException(404)
    try:
        return back_to(request, await write(request, change), to=back)
    except (TaskError, ContactError, ValueError) as exc:
        return refused(request, exc, back)


@guard()
async def routine_page(request: Request) -> Response:
    """Golden hours, goals, interruptions, the time zone and the calendar link."""
    user = request.state.user
    secret = None
    if request.method == "POST":
        form = await request.form()
        settings = request.app.state.settings
        try:
            text, secret = await write(
                request, lambda conn: _change_routine(conn, user, form, settings)
            )
        except (RoutineError, UserError, ValueError) as exc:
            return refused(request, exc, "/routine")
        if secret is None:
            return back_to(request, text, to="/routine")
    now = time.time()
    data = await read(request, lambda conn: routine(conn, user, now))
    public = request.app.state.settings.public_url or str(request.base_url).rstrip("/")
    link = f"{public}/calendar/{secret}.ics" if secret else None
    return page(request, "routine.html", routine=data, calendar=link, now=now,
                flash=request.session.pop("flash", None))  # fmt: skip


def _change_routine(
    conn: Connection, user: User, form: FormData, settings: Settings
) -> tuple[str, str | None]:
    action = str(form.get("action", ""))
    if action == "goals":
        daily, weekly = int(str(form.get("daily", "0"))), int(str(form.get("weekly", "0")))
        hook = str(form.get("webhook", ""))
        goals = set_goals(conn, user.id, daily, weekly, hook, settings)
        return f"Goals saved: {goals.daily} a day, {goals.weekly} a week.", None
    if action == "block":
        return f"Block added: {add_block(conn, user.id, str(form.get('block', ''))).label}.", None
    if action == "remove_block":
        remove_block(conn, user.id, int(str(form.get("block_id", "0"))))
        return "Block removed.", None
    if action == "interruption":
        log_interruption(conn, user.id, int(str(form.get("minutes", "0"))),
                         str(form.get("note", "")))  # fmt: skip
        return "Interruption logged.", None
    if action == "timezone":
        update_user(conn, user.id, timezone=str(form.get("timezone", "")))
        return "Time zone saved.", None
    if action == "calendar":
        return "", new_link(conn, user.id)
    raise RoutineError(f"unknown action {action!r}")


async def calendar_feed(request: Request) -> Response:
    """The rep's tasks and blocks as iCalendar, for the holder of the secret address."""
    secret = request.path_params["secret"]
    public = request.app.state.settings.public_url or str(request.base_url).rstrip("/")

    def load(conn: Connection) -> bytes | None:
        user = user_for_secret(conn, secret)
        if user is None:
            return None
        return feed(user, open_tasks(conn, user.id), blocks_of(conn, user.id), zone_of(user),
                    public, datetime.now(UTC))  # fmt: skip

    body = await read(request, load)
    if body is None:
        raise HTTPException(404, "no such calendar (a new link replaces the old one)")
    return Response(body, media_type="text/calendar; charset=utf-8",
                    headers={"cache-control": "private, max-age=300"})  # fmt: skip
