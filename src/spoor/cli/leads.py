"""Commands for leads: the ranked list, one lead and why, rescoring, the rules as TOML."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from spoor.cli.app import app, leads_app, rules_app
from spoor.cli.common import (
    JsonOption,
    SiteOption,
    console,
    fail,
    load_settings,
    pick_site,
    print_json,
)
from spoor.db.engine import open_database
from spoor.identify.corrections import CorrectionError, find_org
from spoor.leads import ledger
from spoor.leads.feeds import FeedError, find_feed
from spoor.leads.rules import RulesError, load_rules, save_rules, to_toml
from spoor.leads.service import leads
from spoor.terminal import lead_detail, leads_table


@leads_app.callback(invoke_without_command=True)
def leads_command(
    ctx: typer.Context,
    site: SiteOption = None,
    limit: Annotated[int, typer.Option(help="How many leads.")] = 20,
    feed: Annotated[str | None, typer.Option(help="Only the leads of this saved feed.")] = None,
    as_json: JsonOption = False,
) -> None:
    """The leads, highest priority first, each with why (subcommands below)."""
    if ctx.invoked_subcommand:
        return
    now = int(time.time())
    with open_database(load_settings()).connect() as conn:
        chosen = pick_site(conn, site)
        if feed is None:
            ranked = leads(conn, chosen, now, limit=limit)
        else:
            try:
                saved = find_feed(conn, feed)
            except FeedError as exc:
                raise fail(str(exc)) from exc
            ranked = saved.select(leads(conn, chosen, now, limit=None), now)[:limit]
    if as_json:
        print_json([lead.as_json() for lead in ranked])
        return
    console.print(leads_table(ranked, f"Leads · {len(ranked)} shown", now))


@leads_app.command("rescore")
def leads_rescore(site: SiteOption = None) -> None:
    """Rebuild the signal ledger from stored hits (after re-typing organizations)."""
    started = time.perf_counter()
    with open_database(load_settings()).begin() as conn:
        sites = [pick_site(conn, site).id] if site else None
        count = ledger.rebuild(conn, sites)
    console.print(f"{count:,} signals rebuilt in {time.perf_counter() - started:.1f} s.")


@app.command("lead")
def lead_command(
    org: Annotated[str, typer.Argument(help="Organization id, name or domain.")],
    site: SiteOption = None,
    as_json: JsonOption = False,
) -> None:
    """One lead: its scores and every reason."""
    now = int(time.time())
    with open_database(load_settings()).connect() as conn:
        try:
            ref = find_org(conn, org)
        except CorrectionError as exc:
            raise fail(str(exc)) from exc
        found = leads(conn, pick_site(conn, site), now, limit=None, org_id=ref.id)
    if not found:
        raise fail(f"{ref.name} is not a lead (not a lead type, hidden, a customer or "
                   "competitor, merged, or no visits in 90 days)")  # fmt: skip
    if as_json:
        print_json(found[0].as_json())
        return
    console.print(lead_detail(found[0], now))


@rules_app.command("export")
def rules_export(
    file: Annotated[Path | None, typer.Argument(help="Write here (default: stdout).")] = None,
) -> None:
    """The scoring rules in force, as TOML."""
    with open_database(load_settings()).connect() as conn:
        text = to_toml(load_rules(conn))
    if file is None:
        sys.stdout.write(text)
    else:
        file.write_text(text)
        console.print(f"Rules written to {file}.")


@rules_app.command("import")
def rules_import(file: Annotated[Path, typer.Argument(help="A TOML file (- for stdin).")]) -> None:
    """Replace the scoring rules (checked first; nothing changes when they are wrong)."""
    text = sys.stdin.read() if str(file) == "-" else file.read_text()
    try:
        with open_database(load_settings()).begin() as conn:
            rules = save_rules(conn, text)
    except RulesError as exc:
        raise fail(f"{file}: {exc}") from exc
    console.print(f"Rules imported: {len(rules.pages)} page rules, {len(rules.fit)} fit rules.")
