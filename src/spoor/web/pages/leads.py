"""Leads: the ranked list with reasons and freshness, one lead, and the scoring rules."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import Connection
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from spoor.identify.types import LEAD_TYPES
from spoor.leads.feeds import Feed, FeedError, FeedFilter, list_feeds, save_feed
from spoor.leads.rules import RulesError, load_rules, save_rules, to_toml
from spoor.leads.service import Lead, leads
from spoor.prospecting.activities import (
    KINDS,
    OUTCOMES,
    Activity,
    ActivityError,
    history,
    log_activity,
)
from spoor.prospecting.cadences import CADENCES, Run, active_run, claim_and_start, hand_over
from spoor.prospecting.claims import Claim, ClaimError, claims_of, get_claim, release
from spoor.prospecting.contacts import Contact, contacts_of
from spoor.prospecting.tasks import TASK_KINDS, Task, open_tasks
from spoor.users import Role, User, get_user, list_users
from spoor.web.auth import guard
from spoor.web.pages.scope import PERIODS, Scope, load_scope
from spoor.web.render import back_to, page, read, refused, when, write
from spoor.web.tables import Column, Table, export

LIMIT = 100


def leads_table(rows: list[Lead], zone: str) -> Table:
    return Table(
        "leads",
        "Leads",
        [
            Column("org", "Organization", link="/leads/{org_id}"),
            Column("type", "Type"),
            Column("country", "Country"),
            Column("priority", "Priority", True),
            Column("fit", "Fit", True),
            Column("intent", "Intent", True),
            Column("last_seen", "Last seen"),
            Column("why", "Why"),
        ],
        [_row(lead, zone) for lead in rows],
        empty="No leads yet: no business, school or public body visited in the last 90 days.",
    )


def _row(lead: Lead, zone: str) -> dict[str, object]:
    why = "; ".join(r.text for r in lead.reasons[:3])
    return {**lead.as_json(), "last_seen": when(lead.intent.last_seen, zone), "why": why}


@dataclass
class LeadList:
    scope: Scope
    rows: list[Lead]
    feeds: list[tuple[Feed, int]]  # each saved feed with its count now
    feed: Feed | None
    claims: dict[int, Claim]


@guard()
async def lead_list(request: Request) -> Response:
    now = int(time.time())
    wanted = request.query_params.get("feed")

    def load(conn: Connection) -> LeadList:
        scope = load_scope(conn, request)
        everyone = leads(conn, scope.site, now, limit=None) if scope.site else []
        saved = list_feeds(conn)
        chosen = next((f for f in saved if str(f.id) == wanted), None)
        if wanted and chosen is None:
            raise HTTPException(404, f"no feed {wanted!r}")
        counts = [(feed, len(feed.select(everyone, now))) for feed in saved]
        rows = chosen.select(everyone, now) if chosen else everyone
        shown = rows[:LIMIT]
        return LeadList(scope, shown, counts, chosen, claims_of(conn, [r.org_id for r in shown]))

    found = await read(request, load)
    scope = found.scope
    if scope.site is None:
        return page(request, "empty.html", scope=scope, periods=PERIODS)
    table = leads_table(found.rows, scope.site.timezone)
    exported = export(request, [table], f"{scope.site.domain}-leads")
    if exported:
        return exported
    return page(
        request, "leads.html", scope=scope, leads=found.rows, table=table, now=now,
        feeds=found.feeds, feed=found.feed, types=[t.value for t in sorted(LEAD_TYPES)],
        claims=found.claims,
        flash=request.session.pop("flash", None),
    )  # fmt: skip


@guard()
async def save_lead_feed(request: Request) -> Response:
    form = await request.form()
    user_id = request.state.user.id
    try:
        wanted = FeedFilter.parse(form)
        feed = await write(
            request, lambda conn: save_feed(conn, str(form.get("name", "")), wanted, user_id)
        )
        request.session["flash"] = {"text": f"Feed {feed.name} saved.", "error": False}
        return RedirectResponse(f"/leads?feed={feed.id}", 303)
    except FeedError as exc:
        request.session["flash"] = {"text": str(exc), "error": True}
        return RedirectResponse("/leads", 303)


@dataclass
class Account:
    scope: Scope
    lead: list[Lead]  # empty when it is not a lead
    claim: Claim | None
    activities: list[Activity]
    tasks: list[Task]
    run: Run | None
    contacts: list[Contact]
    people: list[User]  # who a manager can hand the account to


@guard()
async def lead_page(request: Request) -> Response:
    org_id = int(request.path_params["org_id"])
    now = int(time.time())

    def load(conn: Connection) -> Account:
        scope = load_scope(conn, request)
        found = leads(conn, scope.site, now, limit=None, org_id=org_id) if scope.site else []
        return Account(scope, found, get_claim(conn, org_id), history(conn, org_id),
                       open_tasks(conn, org_ids=[org_id]), active_run(conn, org_id),
                       contacts_of(conn, org_id),
                       [u for u in list_users(conn) if not u.disabled])  # fmt: skip

    account = await read(request, load)
    scope, found = account.scope, account.lead
    if not found:
        raise HTTPException(
            404,
            "Not a lead: not a business, school or public body, hidden, a customer or "
            "competitor, merged into another, or no visits in the last 90 days.",
        )
    flash = request.session.pop("flash", None)
    return page(request, "lead.html", scope=scope, lead=found[0], now=now, claim=account.claim,
                flash=flash, activities=account.activities, kinds=KINDS, outcomes=OUTCOMES,
                tasks=account.tasks, run=account.run, contacts=account.contacts,
                task_kinds=TASK_KINDS, cadences=CADENCES.values(),
                people=account.people)  # fmt: skip


@guard()
async def log_lead_activity(request: Request) -> Response:
    org_id = int(request.path_params["org_id"])
    form = await request.form()
    user_id = request.state.user.id

    # the quick buttons send "kind:outcome" in one click
    kind, _, outcome = str(form.get("quick") or "").partition(":")

    def log(conn: Connection) -> Activity:
        return log_activity(
            conn, org_id, user_id, kind or str(form.get("kind", "")),
            outcome or str(form.get("outcome", "")), str(form.get("note", "")),
        )  # fmt: skip

    back = f"/leads/{org_id}?{form.get('back', '')}"
    try:
        done = await write(request, log)
    except ActivityError as exc:
        return refused(request, exc, back)
    text = f"Logged: {done.kind}{f' ({done.outcome})' if done.outcome else ''}."
    if done.next_task:
        text += f" Next: {done.next_task.title}."
    return back_to(request, text, to=back)


@guard()
async def change_claim(request: Request) -> Response:
    org_id = int(request.path_params["org_id"])
    form = await request.form()
    user = request.state.user

    def change(conn: Connection) -> str:
        if form.get("action") == "release":
            release(conn, org_id, user)
            return "Released: the account is back in the pool."
        if form.get("action") == "reassign":
            to = get_user(conn, int(str(form.get("to") or 0)))
            if to is None or to.disabled:
                raise ClaimError("choose someone who can sign in")
            return f"Reassigned to {hand_over(conn, org_id, to, user).owner}, with its tasks."
        claim_and_start(conn, org_id, user)
        run = active_run(conn, org_id)
        return "Claimed: it is yours to hunt." + (f" Cadence: {run.cadence.name}." if run else "")

    back = f"/leads/{org_id}?{form.get('back', '')}"
    try:
        return back_to(request, await write(request, change), to=back)
    except ClaimError as exc:
        return refused(request, exc, back)


@guard(Role.MANAGER)
async def rules_page(request: Request) -> Response:
    error = message = None
    if request.method == "POST":
        text = str((await request.form()).get("rules", ""))
        try:
            await write(request, lambda conn: save_rules(conn, text))
            return RedirectResponse("/leads/rules?saved=1", 303)
        except RulesError as exc:
            error = str(exc)
    else:
        text = await read(request, lambda conn: to_toml(load_rules(conn)))
        message = (
            "Rules saved; every score now uses them." if request.query_params.get("saved") else None
        )
    return page(
        request, "rules.html", 400 if error else 200, text=text, error=error, message=message
    )
