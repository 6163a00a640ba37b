"""`spoor privacy ...`: retention, erasure, export and the erasure log (docs/privacy.md)."""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer

from spoor.cli.app import privacy_app
from spoor.cli.common import JsonOption, console, fail, load_settings, pick_site, print_json
from spoor.db.engine import open_database
from spoor.identify.corrections import CorrectionError, find_org
from spoor.privacy import journal, retention
from spoor.privacy.erasure import (
    Erasure,
    erase_ip_range,
    erase_orgs,
    erase_time_range,
)
from spoor.privacy.export import export_org
from spoor.privacy.scope import ErasureError

DryRun = Annotated[bool, typer.Option("--dry-run", help="Only count what would be deleted.")]


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {name}" for name, n in sorted(counts.items()) if n) or "nothing"


@privacy_app.command("retain")
def retain_command(dry_run: DryRun = False, as_json: JsonOption = False) -> None:
    """Delete what is older than the SPOOR_RETAIN_* settings allow (what `spoor serve` does
    once a day), in batches, and recompute the rollups of the days touched."""
    settings = load_settings()
    policy = retention.Policy.of(settings)
    report = retention.run(open_database(settings), policy, time.time(), dry_run=dry_run,
                           actor="cli")  # fmt: skip
    if as_json:
        print_json(report.as_json())
        return
    for what, limit in sorted(report.limits.items()):
        console.print(f"{what}: {limit}")
    verb = "Would delete" if dry_run else "Deleted"
    console.print(f"{verb}: {_counts(report.counts)}.")


def _date(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise fail(f"{option} takes a day such as 2026-01-31, not {text!r}") from exc


@privacy_app.command("erase")
def erase_command(
    org: Annotated[
        str | None, typer.Option("--org", help="Organization id, name or domain.")
    ] = None,
    ip_range: Annotated[
        str | None, typer.Option("--ip-range", help="An address or CIDR range.")
    ] = None,
    first: Annotated[str | None, typer.Option("--from", help="First day (YYYY-MM-DD).")] = None,
    last: Annotated[str | None, typer.Option("--to", help="Last day, included.")] = None,
    site: Annotated[
        str | None, typer.Option("--site", help="Only this site (--from/--to).")
    ] = None,
    dry_run: DryRun = False,
    as_json: JsonOption = False,
) -> None:
    """Erase an organization (everything about it, in every table), what an IP range leads
    to, or the visits of a range of days; rollups are recomputed. Logged without names."""
    if sum(x is not None for x in (org, ip_range, first or last)) != 1:
        raise fail("say what to erase: --org ORG, --ip-range CIDR, or --from DAY --to DAY")
    engine = open_database(load_settings())
    now, actor = time.time(), "cli"
    try:
        if org is not None:
            with engine.connect() as conn:
                found = find_org(conn, org)
            result = erase_orgs(engine, [found.id], actor=actor, now=now, dry_run=dry_run)
        elif ip_range is not None:
            result = erase_ip_range(engine, ip_range, actor=actor, now=now, dry_run=dry_run)
        else:
            if not (first and last):
                raise fail("--from and --to go together")
            site_id = None
            if site:
                with engine.connect() as conn:
                    site_id = pick_site(conn, site).id
            result = erase_time_range(
                engine, _date(first, "--from"), _date(last, "--to"), site_id=site_id,
                actor=actor, now=now, dry_run=dry_run,
            )  # fmt: skip
    except (CorrectionError, ErasureError) as exc:
        raise fail(str(exc)) from exc
    _print_erasure(result, as_json)


def _print_erasure(result: Erasure, as_json: bool) -> None:
    if as_json:
        print_json(result.as_json())
        return
    for org_id, name in result.orgs:
        console.print(f"organization {org_id}: {name}", highlight=False)
    verb = "Would erase" if result.dry_run else "Erased"
    console.print(f"{verb} ({result.scope or result.kind}): {_counts(result.counts)}.")


@privacy_app.command("export")
def export_command(
    org: Annotated[str, typer.Option("--org", help="Organization id, name or domain.")],
    out: Annotated[
        Path | None, typer.Option("--out", help="File to write (default: stdout).")
    ] = None,
) -> None:
    """Everything stored about one organization (and those merged into it) as JSON: one
    key per table, every row."""
    engine = open_database(load_settings())
    with engine.connect() as conn:
        try:
            found = find_org(conn, org)
            data = export_org(conn, found.id, time.time())
        except (CorrectionError, ErasureError) as exc:
            raise fail(str(exc)) from exc
    text = json.dumps(data, indent=2, ensure_ascii=False)
    if out is None:
        print(text)
        return
    out.write_text(text + "\n")
    rows = sum(len(r) for r in data["tables"].values())
    console.print(f"Wrote {rows} rows from {len(data['tables'])} tables to {out}.")


@privacy_app.command("log")
def log_command(as_json: JsonOption = False) -> None:
    """The erasure log: erasures and retention runs, newest first (no names in it)."""
    with open_database(load_settings()).connect() as conn:
        entries = journal.recent(conn, limit=50)
    if as_json:
        print_json([e.as_json() for e in entries])
        return
    for e in entries:
        when = datetime.fromtimestamp(e.at, UTC).strftime("%Y-%m-%d %H:%M")
        console.print(f"{when}  {e.kind:<12} {e.actor:<20} {e.scope}: {_counts(e.counts)}")
