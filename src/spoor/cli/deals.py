"""Commands for deals and the 30-day rule forecast: add, move, win and lose deals, edit the
stages, and print the forecast and its backtest."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.table import Table
from sqlalchemy import Connection

from spoor.cli.app import app, deal_app, forecast_app
from spoor.cli.common import JsonOption, console, fail, load_settings, print_json
from spoor.db.engine import open_database
from spoor.deals.service import DealError, create_deal, list_deals, lose, move_stage, win
from spoor.deals.stages import StageError, list_stages, remove_stage, save_stage
from spoor.identify.corrections import CorrectionError, find_org
from spoor.users import User, get_user_by_email

stages_app = typer.Typer(help="The team's deal stages.", no_args_is_help=True)
deal_app.add_typer(stages_app, name="stages")

DealArgument = Annotated[int, typer.Argument(help="The deal's id (`spoor deals` lists them).")]
UserOption = Annotated[str | None, typer.Option("--user", help="A rep's e-mail address.")]
AsOfOption = Annotated[
    str | None, typer.Option("--as-of", help="Forecast as of this day (YYYY-MM-DD; default today).")
]


def _who(conn: Connection, email: str | None) -> User | None:
    if email is None:
        return None
    user = get_user_by_email(conn, email)
    if user is None:
        raise fail(f"no user {email}; `spoor user list` shows them")
    return user


def _date(text: str | None, what: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise fail(f"{what} {text!r} is not a date like 2026-03-31") from exc


def _deals_table(rows: list[dict[str, object]]) -> Table:
    table = Table(title="Deals", show_lines=False)
    for column in ("id", "account", "owner", "stage", "amount", "close", "outcome"):
        table.add_column(column, justify="right" if column in ("id", "amount") else "left")
    keys = ("id", "org", "owner", "stage", "amount", "expected_close", "outcome")
    for r in rows:
        table.add_row(*(str(r[k]) if r[k] is not None else "–" for k in keys))
    return table


@app.command("deals")
def deals_command(
    user: UserOption = None,
    open_only: Annotated[bool, typer.Option("--open", help="Only open deals.")] = False,
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 200,
    as_json: JsonOption = False,
) -> None:
    """The deals, newest first (one rep's with --user)."""
    with open_database(load_settings()).connect() as conn:
        owner = _who(conn, user)
        found = list_deals(
            conn, user_id=owner.id if owner else None, open_only=open_only, limit=limit
        )
    rows = [deal.as_json() for deal in found]
    if as_json:
        print_json(rows)
        return
    for row in rows:
        row["amount"] = f"{row['amount']:,.0f} {row['currency']}"
    console.print(_deals_table(rows))


@deal_app.command("add")
def add_command(
    org: Annotated[str, typer.Argument(help="Organization id, name or domain.")],
    amount: Annotated[float, typer.Option(help="What the deal is worth.")],
    user: Annotated[str, typer.Option("--user", help="The owner's e-mail address.")],
    currency: Annotated[str, typer.Option(help="ISO currency code.")] = "EUR",
    stage: Annotated[str | None, typer.Option(help="Stage key (default: the first).")] = None,
    close: Annotated[str | None, typer.Option(help="Expected close (YYYY-MM-DD).")] = None,
    name: Annotated[str | None, typer.Option(help="A name (default: the account's).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Open a deal on an account: `spoor deal add ACME --amount 12000 --user ME`."""
    expected = _date(close, "--close")
    with open_database(load_settings()).begin() as conn:
        try:
            ref = find_org(conn, org)
            owner = _who(conn, user)
            deal = create_deal(
                conn, ref.id, owner.id if owner else None, amount=amount, currency=currency,
                stage=stage, expected_close=expected, name=name,
            )  # fmt: skip
        except (CorrectionError, DealError) as exc:
            raise fail(str(exc)) from exc
    if as_json:
        print_json(deal.as_json())
        return
    console.print(
        f"Deal {deal.id} on {deal.org}: {deal.amount:,.0f} {deal.currency}, {deal.stage}."
    )


@deal_app.command("stage")
def stage_command(
    deal_id: DealArgument,
    stage: Annotated[str, typer.Argument(help="The stage key it moves to.")],
) -> None:
    """Move a deal to another stage (kept in its history)."""
    with open_database(load_settings()).begin() as conn:
        try:
            deal = move_stage(conn, deal_id, stage)
        except DealError as exc:
            raise fail(str(exc)) from exc
    console.print(f"Deal {deal.id} is in {deal.stage}.")


@deal_app.command("won")
def won_command(deal_id: DealArgument) -> None:
    """Close a deal as won."""
    with open_database(load_settings()).begin() as conn:
        try:
            deal = win(conn, deal_id)
        except DealError as exc:
            raise fail(str(exc)) from exc
    console.print(f"Deal {deal.id} on {deal.org} is won.")


@deal_app.command("lost")
def lost_command(
    deal_id: DealArgument,
    reason: Annotated[str | None, typer.Option(help="Why: price, timing, no decision...")] = None,
    competitor: Annotated[str | None, typer.Option(help="Who won it instead.")] = None,
) -> None:
    """Close a deal as lost, with why (and to which competitor)."""
    with open_database(load_settings()).begin() as conn:
        try:
            deal = lose(conn, deal_id, reason, competitor)
        except DealError as exc:
            raise fail(str(exc)) from exc
    lost_to = f" to {deal.competitor}" if deal.competitor else ""
    console.print(f"Deal {deal.id} on {deal.org} is lost{lost_to} ({deal.loss_reason or '–'}).")


@stages_app.command("list")
def stages_list(as_json: JsonOption = False) -> None:
    """The stages in order, with their probabilities."""
    with open_database(load_settings()).connect() as conn:
        stages = list_stages(conn)
    if as_json:
        print_json([stage.__dict__ for stage in stages])
        return
    table = Table(title="Deal stages")
    for column in ("key", "name", "probability", "closes"):
        table.add_column(column)
    for s in stages:
        closes = "won" if s.is_won else "lost" if s.is_lost else ""
        table.add_row(s.key, s.name, f"{s.probability:.0%}", closes)
    console.print(table)


@stages_app.command("set")
def stages_set(
    key: Annotated[str, typer.Argument(help="The stage key (lower case).")],
    name: Annotated[str | None, typer.Option(help="The name people see.")] = None,
    position: Annotated[int | None, typer.Option(help="Place in the order, 0 first.")] = None,
    probability: Annotated[float | None, typer.Option(help="The team's win chance, 0-1.")] = None,
    outcome: Annotated[str | None, typer.Option(help="won or lost: a new closing stage.")] = None,
) -> None:
    """Add a stage or change its name, place or probability."""
    with open_database(load_settings()).begin() as conn:
        try:
            stage = save_stage(
                conn, key, name=name, position=position, probability=probability, outcome=outcome
            )
        except StageError as exc:
            raise fail(str(exc)) from exc
    console.print(f"Stage {stage.key} ({stage.name}) at {stage.position}, {stage.probability:.0%}.")


@stages_app.command("remove")
def stages_remove(key: Annotated[str, typer.Argument(help="The stage key.")]) -> None:
    """Remove a stage no deal is in."""
    with open_database(load_settings()).begin() as conn:
        try:
            remove_stage(conn, key)
        except StageError as exc:
            raise fail(str(exc)) from exc
    console.print(f"Stage {key} removed.")


def _as_of(text: str | None, zone: str) -> date:
    return _date(text, "--as-of") or datetime.now(ZoneInfo(zone)).date()


@forecast_app.callback(invoke_without_command=True)
def forecast_command(
    ctx: typer.Context,
    user: UserOption = None,
    target: Annotated[
        float | None, typer.Option(help="Revenue needed in the next 90 days (coverage check).")
    ] = None,
    as_of: AsOfOption = None,
    as_json: JsonOption = False,
) -> None:
    """F(90), F(180), the next 90 days' opportunities and revenue, and the health checks."""
    if ctx.invoked_subcommand:
        return
    # Imported here: the forecast needs scipy, which would slow every other command's start.
    from spoor.deals.forecasting import ForecastError, forecast, forecast_json

    settings = load_settings()
    day = _as_of(as_of, settings.timezone)
    with open_database(settings).connect() as conn:
        owner = _who(conn, user)
        try:
            found = forecast(
                conn, day, user_id=owner.id if owner else None, zone=settings.timezone,
                target_revenue=target,
            )  # fmt: skip
        except ForecastError as exc:
            raise fail(str(exc)) from exc
    data = forecast_json(found)
    if as_json:
        print_json(data)
        return
    opps, revenue = data["expected_opportunities_90d"], data["expected_revenue_90d"]
    low, high = data["payoff_f90_interval"]
    console.print(
        f"[bold]As of {data['as_of']}[/] ({data['accounts']:,} accounts, {data['deals']:,} deals)\n"
        f"F(90) = {data['payoff_f90']:.1%} ({low:.1%} to {high:.1%}), "
        f"F(180) = {data['payoff_f180']:.1%}, F(90)/F(180) = {data['payoff_ratio_f90_f180']:.2f}\n"
        f"Next 90 days: {opps['mean']:.0f} new opportunities ({opps['lower']:.0f} to "
        f"{opps['upper']:.0f}; {data['expected_opportunities_90d_from_open_cohorts']['mean']:.0f} "
        f"from open cohorts, {data['expected_opportunities_90d_from_planned']['mean']:.0f} from "
        f"planned prospecting), revenue {revenue['mean']:,.0f} ({revenue['lower']:,.0f} to "
        f"{revenue['upper']:,.0f})"
    )
    for check in data["health"]:
        colour = {"ok": "green", "warn": "yellow", "alert": "red"}[check["status"]]
        console.print(f"[{colour}]{check['status']:>5}[/] {check['name']}: {check['message']}")


@forecast_app.command("backtest")
def backtest_command(
    user: UserOption = None, as_of: AsOfOption = None, as_json: JsonOption = False
) -> None:
    """Rolling-origin backtest: WAPE, MASE and bias against run-rate and no-lag baselines."""
    from spoor.deals.forecasting import ForecastError, backtest_json, run_backtest

    settings = load_settings()
    day = _as_of(as_of, settings.timezone)
    with open_database(settings).connect() as conn:
        owner = _who(conn, user)
        try:
            result = run_backtest(
                conn, day, user_id=owner.id if owner else None, zone=settings.timezone
            )
        except ForecastError as exc:
            raise fail(str(exc)) from exc
    data = backtest_json(result)
    if as_json:
        print_json(data)
        return
    table = Table(title=f"Backtest, {len(data['origins'])} origins, 90-day windows")
    for column in ("target", "method", "WAPE", "MASE", "bias"):
        table.add_column(column, justify="left" if column in ("target", "method") else "right")

    def shown(value: float | None, fmt: str) -> str:
        return "–" if value is None else format(value, fmt)

    for row in data["rows"]:
        table.add_row(row["target"], row["method"], shown(row["wape"], ".3f"),
                      shown(row["mase"], ".2f"), shown(row["bias"], "+.3f"))  # fmt: skip
    console.print(table)
