"""Commands for the hunt: claim and release accounts, log what you did."""

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
from spoor.prospecting.claims import ClaimError, claim, release
from spoor.prospecting.huntlist import CAPACITY
from spoor.prospecting.today import today
from spoor.terminal import hunt_table
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
    console.print(
        f"Logged {done.kind}{f' ({done.outcome})' if done.outcome else ''} on {ref.name}."
    )


@app.command("claim")
def claim_command(org: OrgArgument, user: UserOption) -> None:
    """Claim an account for yourself (refused, naming the holder, when taken)."""
    with open_database(load_settings()).begin() as conn:
        try:
            ref = find_org(conn, org)
            held = claim(conn, ref.id, _who(conn, user))
        except (CorrectionError, ClaimError) as exc:
            raise fail(str(exc)) from exc
    console.print(f"{ref.name} is yours ({held.owner}).")


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
        rows = today(conn, pick_site(conn, site), _who(conn, user), now, capacity)
    if as_json:
        print_json([row.as_json() for row in rows])
        return
    console.print(hunt_table(rows))
