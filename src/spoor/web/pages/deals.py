"""The Forecast page (the 30-day rule: payoff curve, next 90 days, health checks, backtest)
and the Deals page (list, create, move, win, lose). Reps see their own; managers the team,
or one rep with the picker."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Connection
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from spoor.deals.forecasting import Forecast, ForecastError, forecast, run_backtest
from spoor.deals.service import (
    Deal,
    DealError,
    check_may_change,
    create_deal,
    get_deal,
    list_deals,
    lose,
    move_stage,
    win,
)
from spoor.deals.stages import Stage, list_stages
from spoor.forecast.backtest import BacktestResult
from spoor.identify.corrections import CorrectionError, find_org
from spoor.users import Role, User, list_users
from spoor.web.auth import guard
from spoor.web.curves import landings, payoff_chart
from spoor.web.render import back_to, page, read, write

CHECK_NAMES = {
    "replacement_coverage": "Replacement coverage",
    "littles_law": "Stale pipeline (Little's law)",
    "sales_velocity": "Sales velocity",
    "prospecting_gap": "Prospecting gap",
}


@dataclass
class ForecastView:
    reps: list[User]
    chosen: User | None  # None: the team
    found: Forecast | None
    problem: str | None
    backtest: BacktestResult | None
    backtest_problem: str | None


def _zone(request: Request) -> str:
    zone: str = request.app.state.settings.timezone
    return zone


def _today(zone: str) -> date:
    return datetime.now(ZoneInfo(zone)).date()


def _chosen(request: Request, user: User, reps: list[User]) -> User | None:
    """Reps see their own forecast; managers the team's, or the rep they pick."""
    if not user.role.allows(Role.MANAGER):
        return user
    wanted = request.query_params.get("user", "")
    return next((r for r in reps if str(r.id) == wanted), None)


def _load_forecast(conn: Connection, request: Request, user: User, zone: str) -> ForecastView:
    reps = [u for u in list_users(conn) if u.role == Role.REP and not u.disabled]
    chosen = _chosen(request, user, reps)
    as_of, user_id = _today(zone), chosen.id if chosen else None
    view = ForecastView(reps, chosen, None, None, None, None)
    try:
        view.found = forecast(conn, as_of, user_id=user_id, zone=zone)
    except ForecastError as exc:
        view.problem = str(exc)
        return view
    try:
        view.backtest = run_backtest(conn, as_of, user_id=user_id, zone=zone)
    except ForecastError as exc:
        view.backtest_problem = str(exc)
    return view


@guard()
async def forecast_page(request: Request) -> Response:
    user, zone = request.state.user, _zone(request)
    view = await read(request, lambda conn: _load_forecast(conn, request, user, zone))
    summary = view.found.summary if view.found else None
    return page(
        request,
        "forecast.html",
        view=view,
        summary=summary,
        chart=payoff_chart(summary.curve) if summary else None,
        landings=landings(summary.opportunities) if summary else [],
        check_names=CHECK_NAMES,
    )


@dataclass
class DealsView:
    deals: list[Deal]
    stages: list[Stage]
    owners: list[User]


def _load_deals(conn: Connection, user: User) -> DealsView:
    manager = user.role.allows(Role.MANAGER)
    found = list_deals(conn, user_id=None if manager else user.id, limit=300)
    found.sort(key=lambda deal: not deal.is_open)  # open deals first, each part newest first
    owners = [u for u in list_users(conn) if not u.disabled] if manager else [user]
    return DealsView(found, list_stages(conn), owners)


@guard()
async def deals_page(request: Request) -> Response:
    user = request.state.user
    view = await read(request, lambda conn: _load_deals(conn, user))
    return page(request, "deals.html", view=view, flash=request.session.pop("flash", None),
                today=_today(_zone(request)))  # fmt: skip


def _sentence(exc: Exception) -> str:
    # Not str.capitalize(): that would lower-case the names in the message.
    text = str(exc)
    return text[:1].upper() + text[1:] + "."


def _number(form: FormData, name: str) -> float:
    text = str(form.get(name, "")).strip().replace(",", "")
    try:
        return float(text)
    except ValueError as exc:
        raise DealError(f"{name} {text!r} is not a number") from exc


def _add(conn: Connection, user: User, form: FormData) -> str:
    try:
        org = find_org(conn, str(form.get("org", "")).strip())
    except CorrectionError as exc:
        raise DealError(str(exc)) from exc
    owner_id = user.id
    if user.role.allows(Role.MANAGER) and str(form.get("owner", "")).isdigit():
        owner_id = int(str(form.get("owner")))
    close = str(form.get("close", "")).strip()
    try:
        expected = date.fromisoformat(close) if close else None
    except ValueError as exc:
        raise DealError(f"expected close {close!r} is not a date") from exc
    deal = create_deal(
        conn, org.id, owner_id, amount=_number(form, "amount"),
        currency=str(form.get("currency", "EUR")), stage=str(form.get("stage", "")) or None,
        expected_close=expected, name=str(form.get("name", "")) or None,
    )  # fmt: skip
    return f"Deal {deal.id} opened on {deal.org}."


@guard()
async def add_deal(request: Request) -> Response:
    user, form = request.state.user, await request.form()
    try:
        text = await write(request, lambda conn: _add(conn, user, form))
    except DealError as exc:
        return back_to(request, _sentence(exc), True, "/deals")
    return back_to(request, text, to="/deals")


def _change(conn: Connection, user: User, deal_id: int, form: FormData) -> str:
    check_may_change(get_deal(conn, deal_id), user)
    action = str(form.get("action", ""))
    if action == "stage":
        deal = move_stage(conn, deal_id, str(form.get("stage", "")))
        return f"Deal {deal.id} moved to {deal.stage}."
    if action == "won":
        return f"Deal {win(conn, deal_id).id} won."
    if action == "lost":
        deal = lose(conn, deal_id, str(form.get("reason", "")), str(form.get("competitor", "")))
        to = f" to {deal.competitor}" if deal.competitor else ""
        return f"Deal {deal.id} lost{to}."
    raise DealError(f"unknown action {action!r}")


@guard()
async def change_deal(request: Request) -> Response:
    user, form = request.state.user, await request.form()
    deal_id = int(request.path_params["deal_id"])
    try:
        text = await write(request, lambda conn: _change(conn, user, deal_id, form))
    except DealError as exc:
        return back_to(request, _sentence(exc), True, "/deals")
    return back_to(request, text, to="/deals")
