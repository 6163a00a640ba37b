"""The JSON API under /api/v1: what the pages show, for scripts and other tools.

FastAPI writes the OpenAPI description from these signatures. Requests authenticate with
`Authorization: Bearer TOKEN` (tokens are made on the account page), or with the
session cookie plus the X-CSRF-Token header for unsafe methods.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any, Literal, TypeVar
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import Connection, Engine

from spoor.analytics.companies import SORTS, CompanyFilter, companies, count_companies
from spoor.analytics.companies import identify_report as identification
from spoor.analytics.company import company_detail
from spoor.analytics.query import Period, PeriodError, period_in_zone
from spoor.analytics.stats import OVERVIEW_DIMENSIONS, report
from spoor.deals import forecasting
from spoor.deals import service as deals_service
from spoor.identify.corrections import CORRECTIONS, CorrectionError
from spoor.identify.corrections import apply as apply_correction
from spoor.identify.ipdb import status
from spoor.leads.feeds import FeedError, find_feed
from spoor.leads.rules import RulesError, load_rules, save_rules, to_toml
from spoor.leads.service import leads
from spoor.privacy.export import export_org
from spoor.privacy.scope import ErasureError
from spoor.prospecting.activities import OUTCOMES, ActivityError, history, log_activity
from spoor.prospecting.cadences import (
    CADENCES,
    active_run,
    claim_and_start,
    finish,
    hand_over,
    start,
)
from spoor.prospecting.claims import Claim, ClaimError, get_claim, release
from spoor.prospecting.contacts import ContactError, add_contact, contacts_of
from spoor.prospecting.routine import routine
from spoor.prospecting.tasks import TaskError, open_tasks, snooze
from spoor.prospecting.today import today
from spoor.sites import Site, get_site, list_sites
from spoor.users import Role, User, get_user_by_email, list_users
from spoor.web.auth import UNSAFE, check_csrf, session_user, token_user

T = TypeVar("T")
api = APIRouter()


def create_api() -> FastAPI:
    app = FastAPI(
        title="Spoor API",
        version="1",
        description="Visits, the organizations behind them, and the team's corrections.",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,  # served by a route of its own, behind authentication
    )
    app.include_router(api)
    return app


async def current_user(request: Request) -> User:
    user = await token_user(request)
    if user is None:
        user = await session_user(request)
        if user is not None and request.method in UNSAFE:
            await check_csrf(request)
    if user is None:
        raise HTTPException(401, "sign in or send Authorization: Bearer TOKEN")
    return user


def role(needed: Role) -> Callable[..., Any]:
    async def check(user: Annotated[User, Depends(current_user)]) -> User:
        if not user.role.allows(needed):
            raise HTTPException(403, f"this needs the {needed.value} role")
        return user

    return check


Reader = Annotated[User, Depends(current_user)]


def _run(request: Request, work: Callable[[Connection], T], write: bool = False) -> T:
    engine: Engine = request.app.state.engine
    with engine.begin() if write else engine.connect() as conn:
        return work(conn)


def _site_period(conn: Connection, domain: str, period: str) -> tuple[Site, Period]:
    site = get_site(conn, domain)
    if site is None:
        raise HTTPException(404, f"no site {domain!r}")
    try:
        return site, period_in_zone(period, site.timezone)
    except PeriodError as exc:
        raise HTTPException(400, str(exc)) from exc


PeriodQuery = Annotated[
    str, Query(description="7d, 30d, all, today or 2026-01-01..2026-01-31 (site's time zone)")
]


class SiteOut(BaseModel):
    domain: str
    public_id: str
    timezone: str
    hosts: list[str]
    honor_dnt: bool


class UserOut(BaseModel):
    id: int
    email: str
    name: str | None
    role: Role
    disabled: bool


class CompanyOut(BaseModel):
    org_id: int
    name: str
    type: str
    country: str | None
    domain: str | None
    visits: int
    visitors: int
    pageviews: int
    last_seen: int = Field(description="epoch seconds of the last visit's end")
    relation: str | None
    top_pages: list[dict[str, Any]]


class CompanyPage(BaseModel):
    total: int
    items: list[CompanyOut]
    identification: dict[str, Any]


class Correction(BaseModel):
    action: Literal[
        "rename", "retype", "hide", "unhide", "relation", "merge", "range", "target", "untarget"
    ]
    value: str = ""
    note: str = ""


def _user_out(user: User) -> UserOut:
    return UserOut(
        id=user.id, email=user.email, name=user.name, role=user.role, disabled=user.disabled
    )


@api.get("/openapi.json", include_in_schema=False)
def openapi(request: Request, user: Reader) -> dict[str, Any]:
    schema: dict[str, Any] = request.app.openapi()
    return schema


@api.get("/me", response_model=UserOut, summary="Who this token or session belongs to")
def me(user: Reader) -> UserOut:
    return _user_out(user)


@api.get("/sites", response_model=list[SiteOut], summary="The sites Spoor records")
def sites(request: Request, user: Reader) -> list[SiteOut]:
    return [
        SiteOut(
            domain=s.domain,
            public_id=s.public_id,
            timezone=s.timezone,
            hosts=list(s.hosts),
            honor_dnt=s.honor_dnt,
        )
        for s in _run(request, list_sites)
    ]


@api.get("/sites/{domain}/overview", summary="Traffic totals, per day and top lists")
def overview(
    request: Request, user: Reader, domain: str, period: PeriodQuery = "30d"
) -> dict[str, Any]:
    def work(conn: Connection) -> dict[str, Any]:
        site, span = _site_period(conn, domain, period)
        return report(conn, site, span, dimensions=OVERVIEW_DIMENSIONS).as_json()

    return _run(request, work)


@api.get(
    "/sites/{domain}/companies",
    response_model=CompanyPage,
    summary="Organizations that visited, filtered and sorted",
)
def company_list(
    request: Request,
    user: Reader,
    domain: str,
    period: PeriodQuery = "30d",
    type: Annotated[str | None, Query(description="an organization type, or 'leads'")] = None,
    country: Annotated[str | None, Query(max_length=2)] = None,
    page_path: Annotated[str | None, Query(description="visited a page containing this")] = None,
    min_visits: Annotated[int, Query(ge=1)] = 1,
    sort: Literal["visits", "visitors", "pageviews", "last_seen", "name"] = "visits",
    order: Literal["asc", "desc"] = "desc",
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> CompanyPage:
    assert sort in SORTS
    wanted = CompanyFilter(
        org_type=(type,) if type and type != "leads" else (),
        leads_only=type == "leads",
        country=country,
        path=page_path,
        min_visits=min_visits,
        sort=sort,
        descending=order == "desc",
    )

    def work(conn: Connection) -> CompanyPage:
        site, span = _site_period(conn, domain, period)
        rows = companies(conn, site, span, wanted=wanted, limit=limit, offset=offset)
        return CompanyPage(
            total=count_companies(conn, site, span, wanted),
            items=[CompanyOut(**r.as_json()) for r in rows],
            identification=identification(conn, site, span).as_json(),
        )

    return _run(request, work)


@api.get("/sites/{domain}/companies/{org_id}", summary="One organization and its visits")
def company(
    request: Request, user: Reader, domain: str, org_id: int, period: PeriodQuery = "30d"
) -> dict[str, Any]:
    def work(conn: Connection) -> dict[str, Any]:
        site, span = _site_period(conn, domain, period)
        detail = company_detail(conn, site, span, org_id)
        if detail is None:
            raise HTTPException(404, f"no organization {org_id}")
        return detail.as_json()

    return _run(request, work)


@api.post(
    "/organizations/{org_id}/corrections",
    summary="Correct an organization (managers and admins)",
    description=f"Actions: {', '.join(CORRECTIONS)}. `value` is the new name, type, relation "
    "(customer, competitor or empty), the organization to merge into, or the range.",
)
def correct(
    request: Request,
    org_id: int,
    body: Correction,
    user: Annotated[User, Depends(role(Role.MANAGER))],
) -> dict[str, str]:
    try:
        done = _run(
            request,
            lambda conn: apply_correction(conn, org_id, body.action, body.value, body.note),
            write=True,
        )
    except CorrectionError as exc:
        raise HTTPException(400, str(exc)) from exc
    return {"done": done}


class Rules(BaseModel):
    toml: str = Field(description="the rules as `spoor rules export` writes them")


@api.get("/sites/{domain}/leads", summary="Leads, highest priority first, with reasons")
def lead_list(
    request: Request,
    user: Reader,
    domain: str,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    feed: Annotated[str | None, Query(description="a saved feed's name or id")] = None,
) -> list[dict[str, Any]]:
    def work(conn: Connection) -> list[dict[str, Any]]:
        site, _ = _site_period(conn, domain, "today")
        now = int(time.time())
        if feed is None:
            return [lead.as_json() for lead in leads(conn, site, now, limit=limit)]
        try:
            chosen = find_feed(conn, feed)
        except FeedError as exc:
            raise HTTPException(404, str(exc)) from exc
        everyone = leads(conn, site, now, limit=None)
        return [lead.as_json() for lead in chosen.select(everyone, now)[:limit]]

    return _run(request, work)


@api.get("/sites/{domain}/leads/{org_id}", summary="One lead and every reason")
def lead(request: Request, user: Reader, domain: str, org_id: int) -> dict[str, Any]:
    def work(conn: Connection) -> dict[str, Any]:
        site, _ = _site_period(conn, domain, "today")
        found = leads(conn, site, int(time.time()), limit=None, org_id=org_id)
        if not found:
            raise HTTPException(404, f"organization {org_id} is not a lead")
        return found[0].as_json()

    return _run(request, work)


@api.get("/rules", response_model=Rules, summary="The lead scoring rules")
def rules(request: Request, user: Reader) -> Rules:
    return Rules(toml=_run(request, lambda conn: to_toml(load_rules(conn))))


@api.put("/rules", response_model=Rules, summary="Replace the lead scoring rules (managers)")
def replace_rules(
    request: Request, body: Rules, user: Annotated[User, Depends(role(Role.MANAGER))]
) -> Rules:
    try:
        saved = _run(request, lambda conn: save_rules(conn, body.toml), write=True)
    except RulesError as exc:
        raise HTTPException(400, str(exc)) from exc
    return Rules(toml=to_toml(saved))


class ClaimOut(BaseModel):
    org_id: int
    user_id: int
    owner: str
    email: str
    claimed_at: float
    last_activity_at: float | None


def _claim_out(found: Claim) -> ClaimOut:
    return ClaimOut(**found.__dict__)


@api.get("/organizations/{org_id}/claim", response_model=ClaimOut | None,
         summary="Who holds the account (null: nobody)")  # fmt: skip
def claim_status(request: Request, org_id: int, user: Reader) -> ClaimOut | None:
    found = _run(request, lambda conn: get_claim(conn, org_id))
    return _claim_out(found) if found else None


@api.post(
    "/organizations/{org_id}/claim",
    response_model=ClaimOut,
    summary="Claim the account for yourself (409 with the holder when taken)",
    responses={409: {"description": "someone else holds it"}},
)
def claim_account(request: Request, org_id: int, user: Reader) -> ClaimOut:
    try:
        found = _run(request, lambda conn: claim_and_start(conn, org_id, user), write=True)
    except ClaimError as exc:
        raise HTTPException(409, str(exc)) from exc
    return _claim_out(found)


@api.put(
    "/organizations/{org_id}/claim",
    response_model=ClaimOut,
    summary="Hand the account, its cadence and tasks to someone (managers)",
    responses={409: {"description": "not allowed, or no such person"}},
)
def reassign_account(
    request: Request, org_id: int, user: Reader,
    to: Annotated[str, Query(description="The new owner's e-mail address")],
) -> ClaimOut:  # fmt: skip
    def work(conn: Connection) -> Claim:
        person = get_user_by_email(conn, to)
        if person is None or person.disabled:
            raise ClaimError(f"no active user {to}")
        return hand_over(conn, org_id, person, user)

    try:
        return _claim_out(_run(request, work, write=True))
    except ClaimError as exc:
        raise HTTPException(409, str(exc)) from exc


@api.delete("/organizations/{org_id}/claim", status_code=204,
            summary="Release the account (its owner or a manager)")  # fmt: skip
def release_account(request: Request, org_id: int, user: Reader) -> None:
    try:
        _run(request, lambda conn: release(conn, org_id, user), write=True)
    except ClaimError as exc:
        raise HTTPException(409, str(exc)) from exc


class ActivityIn(BaseModel):
    kind: Literal["call", "email", "linkedin", "meeting", "note"]
    outcome: str | None = Field(None, description=", ".join(OUTCOMES))
    note: str | None = None


@api.post("/organizations/{org_id}/activities", summary="Log what you did on an account")
def log_account_activity(
    request: Request, org_id: int, body: ActivityIn, user: Reader
) -> dict[str, Any]:
    try:
        done = _run(
            request,
            lambda conn: log_activity(conn, org_id, user.id, body.kind, body.outcome, body.note),
            write=True,
        )
    except ActivityError as exc:
        raise HTTPException(400, str(exc)) from exc
    following = done.next_task.as_json() if done.next_task else None
    return {**done.__dict__, "next_task": following}


@api.get("/organizations/{org_id}/activities", summary="What the team did on an account")
def account_activities(request: Request, org_id: int, user: Reader) -> list[dict[str, Any]]:
    return [a.__dict__ for a in _run(request, lambda conn: history(conn, org_id))]


@api.get("/sites/{domain}/today", summary="Your hunt list for today")
def hunt(request: Request, domain: str, user: Reader) -> list[dict[str, Any]]:
    def work(conn: Connection) -> list[dict[str, Any]]:
        site, _ = _site_period(conn, domain, "today")
        lapse = request.app.state.settings.claim_lapse_days
        return [row.as_json() for row in today(conn, site, user, time.time(), lapse_days=lapse)]

    return _run(request, work)


@api.get("/tasks", summary="Your open tasks, soonest first")
def my_tasks(
    request: Request, user: Reader,
    due_within_days: Annotated[float | None, Query(ge=0, le=365)] = None,
) -> list[dict[str, object]]:  # fmt: skip
    by = time.time() + due_within_days * 86_400 if due_within_days is not None else None
    return [t.as_json() for t in _run(request, lambda c: open_tasks(c, user.id, due_before=by))]


class TaskChange(BaseModel):
    action: Literal["done", "skipped", "snooze"]
    reason: str | None = Field(None, description="Needed to skip or snooze")
    days: float = Field(1, gt=0, le=90, description="How long a snooze lasts")


@api.post("/tasks/{task_id}", summary="Mark a task done, skip it or snooze it")
def change_task(
    request: Request, task_id: int, body: TaskChange, user: Reader
) -> dict[str, object]:
    def work(conn: Connection) -> dict[str, object]:
        if body.action == "snooze":
            later = time.time() + body.days * 86_400
            return {"task": snooze(conn, task_id, later, body.reason or "", user.id).as_json()}
        following = finish(conn, task_id, user.id, body.action, body.reason)
        return {"next_task": following.as_json() if following else None}

    try:
        return _run(request, work, write=True)
    except TaskError as exc:
        raise HTTPException(400, str(exc)) from exc


@api.get("/organizations/{org_id}/cadence", summary="The cadence running on an account")
def account_cadence(request: Request, org_id: int, user: Reader) -> dict[str, object] | None:
    run = _run(request, lambda conn: active_run(conn, org_id))
    return run.as_json() if run else None


@api.post("/organizations/{org_id}/cadence", summary="Start a cadence on an account")
def start_cadence(
    request: Request, org_id: int, user: Reader,
    cadence: Annotated[str, Query(description=", ".join(CADENCES))],
) -> dict[str, object]:  # fmt: skip
    try:
        run = _run(request, lambda conn: start(conn, org_id, user.id, cadence), write=True)
    except TaskError as exc:
        raise HTTPException(400, str(exc)) from exc
    return run.as_json()


class ContactIn(BaseModel):
    name: str
    role: str | None = None
    email: str | None = None
    phone: str | None = None
    linkedin: str | None = None


@api.get("/organizations/{org_id}/contacts", summary="The people at an account")
def account_contacts(request: Request, org_id: int, user: Reader) -> list[dict[str, object]]:
    return [c.as_json() for c in _run(request, lambda conn: contacts_of(conn, org_id))]


@api.post("/organizations/{org_id}/contacts", summary="Add a person you found at an account")
def add_account_contact(
    request: Request, org_id: int, body: ContactIn, user: Reader
) -> dict[str, object]:
    try:
        made = _run(request, lambda conn: add_contact(
            conn, org_id, **body.model_dump(), user_id=user.id), write=True)  # fmt: skip
    except ContactError as exc:
        raise HTTPException(400, str(exc)) from exc
    return made.as_json()


@api.get("/me/routine", summary="Your golden hours, goals, streak and adherence")
def my_routine(request: Request, user: Reader) -> dict[str, object]:
    return _run(request, lambda conn: routine(conn, user, time.time())).as_json()


@api.get("/ipdata", summary="The IP datasets and when they were imported")
def ipdata(request: Request, user: Reader) -> list[dict[str, Any]]:
    return [s.__dict__ for s in status(request.app.state.engine)]


@api.get(
    "/organizations/{org_id}/export",
    summary="Everything stored about an organization (admins)",
    description="One key per table under `tables`, every row about the organization and "
    "those merged into it (docs/privacy.md).",
)
def export_organization(
    request: Request, org_id: int, user: Annotated[User, Depends(role(Role.ADMIN))]
) -> dict[str, Any]:
    try:
        data = _run(request, lambda conn: export_org(conn, org_id, time.time()))
    except ErasureError as exc:
        raise HTTPException(409, str(exc)) from exc
    if not data["tables"]:
        raise HTTPException(404, f"nothing is stored about organization {org_id}")
    return data


@api.get("/users", response_model=list[UserOut], summary="Everyone who may sign in (admins)")
def users(request: Request, user: Annotated[User, Depends(role(Role.ADMIN))]) -> list[UserOut]:
    return [_user_out(u) for u in _run(request, list_users)]


class DealIn(BaseModel):
    org_id: int
    amount: float = Field(ge=0)
    currency: str = Field("EUR", description="ISO code")
    stage: str | None = Field(None, description="a stage key (default: the first open stage)")
    expected_close: date | None = None
    name: str | None = None
    user_id: int | None = Field(None, description="the owner (managers only; default: you)")


class StageIn(BaseModel):
    stage: str = Field(description="a stage key; won or lost closes the deal")
    reason: str | None = Field(None, description="why it was lost")
    competitor: str | None = Field(None, description="who it was lost to")


def _owner_filter(user: User, user_id: int | None) -> int | None:
    """Reps read their own deals and forecast; managers anyone's (None: the team)."""
    if user.role.allows(Role.MANAGER):
        return user_id
    if user_id not in (None, user.id):
        raise HTTPException(403, "reps see their own deals and forecast")
    return user.id


@api.get("/deals", summary="Deals, newest first (reps: their own)")
def deal_list(
    request: Request,
    user: Reader,
    user_id: Annotated[int | None, Query(description="one owner's (managers)")] = None,
    open_only: bool = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[dict[str, Any]]:
    owner = _owner_filter(user, user_id)
    found = _run(request, lambda conn: deals_service.list_deals(
        conn, user_id=owner, open_only=open_only, limit=limit))  # fmt: skip
    return [deal.as_json() for deal in found]


@api.post("/deals", status_code=201, summary="Open a deal on an account")
def open_deal(request: Request, body: DealIn, user: Reader) -> dict[str, Any]:
    owner = body.user_id if body.user_id is not None else user.id
    if owner != user.id and not user.role.allows(Role.MANAGER):
        raise HTTPException(403, "reps open deals for themselves")
    try:
        deal = _run(request, lambda conn: deals_service.create_deal(
            conn, body.org_id, owner, amount=body.amount, currency=body.currency,
            stage=body.stage, expected_close=body.expected_close, name=body.name,
        ), write=True)  # fmt: skip
    except deals_service.DealError as exc:
        raise HTTPException(400, str(exc)) from exc
    return deal.as_json()


@api.post("/deals/{deal_id}/stage", summary="Move a deal; won or lost closes it")
def deal_stage(request: Request, deal_id: int, body: StageIn, user: Reader) -> dict[str, Any]:
    def work(conn: Connection) -> deals_service.Deal:
        deals_service.check_may_change(deals_service.get_deal(conn, deal_id), user)
        return deals_service.set_stage(
            conn, deal_id, body.stage, reason=body.reason, competitor=body.competitor
        )

    try:
        deal = _run(request, work, write=True)
    except deals_service.DealError as exc:
        status = 404 if str(exc).startswith("no deal") else 400
        raise HTTPException(status, str(exc)) from exc
    return deal.as_json()


@api.get("/forecast", summary="The 30-day rule forecast (reps: their own)")
def forecast_json(
    request: Request,
    user: Reader,
    user_id: Annotated[int | None, Query(description="one rep's (managers)")] = None,
    target: Annotated[float | None, Query(description="revenue needed in 90 days")] = None,
) -> dict[str, Any]:
    owner = _owner_filter(user, user_id)
    zone: str = request.app.state.settings.timezone
    as_of = datetime.now(ZoneInfo(zone)).date()
    try:
        found = _run(request, lambda conn: forecasting.forecast(
            conn, as_of, user_id=owner, zone=zone, target_revenue=target))  # fmt: skip
    except forecasting.ForecastError as exc:
        raise HTTPException(409, str(exc)) from exc
    return forecasting.forecast_json(found)
