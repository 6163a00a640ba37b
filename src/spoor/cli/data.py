"""Commands for the data itself: schema, sites, log import, stats, settings, the demo."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from spoor import settings as settings_module
from spoor.analytics.stats import report
from spoor.cli.app import app, db_app, site_app
from spoor.cli.common import console, err, fail, load_settings, print_json, site_and_period
from spoor.db.engine import make_engine, open_database, upgrade
from spoor.ingest.logfiles import InputError
from spoor.ingest.logformats import UnknownFormat
from spoor.ingest.logimport import import_logs
from spoor.ingest.writer import WriteError
from spoor.sites import (
    SiteError,
    add_site,
    configure_site,
    get_site,
    list_sites,
    remove_site,
    snippet,
)
from spoor.terminal import (
    ImportProgress,
    companies_table,
    identify_summary,
    import_summary,
    leads_table,
    stats_report,
)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply database migrations (also done automatically on first use)."""
    settings = load_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(make_engine(settings.sqlalchemy_url))
    console.print("Database schema is up to date.")


@db_app.command("rebuild-rollups")
def db_rebuild_rollups() -> None:
    """Recompute the daily rollups reports read from visits and hits (they are kept
    current at ingest; this is for after restoring or editing data by hand)."""
    from spoor import events

    engine = open_database(load_settings())
    started = time.perf_counter()
    with engine.begin() as conn:  # ClickHouse has no rollups: its reports read the tables
        events.store_of(conn).rebuild_rollups(conn, None)
    console.print(f"Rollups rebuilt in {time.perf_counter() - started:.1f} s.")


@site_app.command("add")
def site_add(
    domain: str,
    timezone: Annotated[str | None, typer.Option(help="IANA time zone of the site.")] = None,
) -> None:
    """Add a site."""
    settings = load_settings()
    tz = timezone or settings.timezone
    engine = open_database(settings)
    try:
        with engine.begin() as conn:
            site = add_site(conn, domain, tz, int(time.time()))
    except SiteError as exc:
        raise fail(str(exc)) from exc
    console.print(f"Added {site.domain} ({site.timezone}), public id {site.public_id}")


@site_app.command("list")
def site_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List sites."""
    engine = open_database(load_settings())
    with engine.connect() as conn:
        rows = list_sites(conn)
    if as_json:
        print_json([s.__dict__ for s in rows])
        return
    table = Table("domain", "time zone", "public id")
    for s in rows:
        table.add_row(s.domain, s.timezone, s.public_id)
    console.print(table)


@app.command("import")
def import_command(
    files: Annotated[
        list[str], typer.Argument(help="Log files (.gz and .bz2 too), or - for stdin.")
    ],
    site: Annotated[str | None, typer.Option(help="Site domain (created if new).")] = None,
    fmt: Annotated[
        str,
        typer.Option(
            "--format", help="auto, a format name, or an nginx log_format / GoAccess format string."
        ),
    ] = "auto",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON summary.")] = False,
    reverse_dns: Annotated[
        bool, typer.Option(help="Look up each address's PTR name to identify organizations.")
    ] = False,
) -> None:
    """Import web-server access logs into visits."""
    settings = load_settings()
    engine = open_database(settings)
    progress = ImportProgress(err)
    started = time.perf_counter()
    try:
        with progress.shown():
            summary = import_logs(
                engine,
                settings,
                files,
                site=site,
                fmt=fmt,
                progress=progress,
                reverse_dns=reverse_dns,
            )
    except (InputError, UnknownFormat, SiteError, WriteError) as exc:
        raise fail(str(exc)) from exc
    seconds = time.perf_counter() - started
    if as_json:
        print_json(summary.as_json())
    else:
        console.print(import_summary(summary, seconds))


@app.command("stats")
def stats_command(
    site: Annotated[str | None, typer.Option(help="Site domain; optional with one site.")] = None,
    period: Annotated[str, typer.Option(help="7d, 30d, all, today or START..END.")] = "all",
    limit: Annotated[int, typer.Option(min=1, help="Rows per top list.")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Traffic report: visits, visitors, pages, sources, campaigns, devices, bots."""
    settings = load_settings()
    engine = open_database(settings)
    with engine.connect() as conn:
        target, chosen = site_and_period(conn, settings, site, period)
        result = report(conn, target, chosen, limit)
    if as_json:
        print_json(result.as_json())
    else:
        console.print(stats_report(result))


@app.command("serve")
def serve_command(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Run the web app, its JSON API and the tracking endpoints with uvicorn."""
    import uvicorn

    from spoor.ops.logs import configure as configure_logging
    from spoor.web.app import create_app

    settings = load_settings()
    configure_logging(settings)
    # uvicorn turns SIGTERM and SIGINT into a graceful shutdown: the lifespan then stores
    # every accepted hit before the process exits. Its own lines go through our handler
    # (log_config=None); no access log, as it would write every visitor's address.
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_config=None,
        log_level=settings.log_level.lower(),
        access_log=False,
        timeout_graceful_shutdown=30,
        proxy_headers=False,
    )


@site_app.command("set")
def site_set(
    domain: str,
    hosts: Annotated[
        str | None, typer.Option(help="Other host names that may send hits, comma-separated.")
    ] = None,
    honor_dnt: Annotated[
        bool | None, typer.Option("--honor-dnt/--ignore-dnt", help="Do-Not-Track and GPC.")
    ] = None,
    timezone: Annotated[str | None, typer.Option(help="IANA time zone.")] = None,
    exclude_ips: Annotated[
        str | None, typer.Option(help="Addresses or ranges never recorded, comma-separated.")
    ] = None,
    exclude_paths: Annotated[
        str | None, typer.Option(help="Regular expressions of paths never recorded.")
    ] = None,
) -> None:
    """Change a site's options."""
    engine = open_database(load_settings())
    try:
        with engine.begin() as conn:
            site = configure_site(
                conn,
                domain,
                hosts=hosts.split(",") if hosts is not None else None,
                honor_dnt=honor_dnt,
                timezone=timezone,
                exclude_ips=exclude_ips,
                exclude_paths=exclude_paths,
            )
    except SiteError as exc:
        raise fail(str(exc)) from exc
    allowed = ", ".join(site.hosts) or "(the domain and its subdomains)"
    console.print(
        f"{site.domain}: time zone {site.timezone}, also allowed: {allowed}, "
        f"Do-Not-Track {'honoured' if site.honor_dnt else 'ignored'}"
    )


@site_app.command("snippet")
def site_snippet(
    domain: str,
    base: Annotated[
        str,
        typer.Option(help="Where Spoor is reachable from browsers, e.g. https://spoor.example.com"),
    ] = "http://127.0.0.1:8000",
) -> None:
    """Print the script tag to paste into every page of the site."""
    engine = open_database(load_settings())
    with engine.connect() as conn:
        site = get_site(conn, domain)
    if site is None:
        raise fail(f"no site {domain}; `spoor site list` shows the sites")
    print(snippet(site, base))


@site_app.command("remove")
def site_remove(domain: str) -> None:
    """Remove a site and everything recorded for it."""
    engine = open_database(load_settings())
    with engine.begin() as conn:
        removed = remove_site(conn, domain)
    if not removed:
        raise fail(f"no site {domain}; `spoor site list` shows the sites")
    console.print(f"Removed {domain}.")


@app.command("settings")
def settings_command(
    markdown: Annotated[
        bool, typer.Option(help="Print the reference page (docs/settings.md).")
    ] = False,
) -> None:
    """Show the settings in force, or the settings reference."""
    if markdown:
        print(settings_module.markdown_reference(), end="")
        return
    current = load_settings()
    table = Table("setting", "value", "default")
    for s in settings_module.SETTINGS:
        table.add_row(s.name, settings_module.shown(s, getattr(current, s.attr)), s.default)
    console.print(table)


@app.command("demo")
def demo_command(
    serve: Annotated[
        bool, typer.Option(help="Then serve the tracking endpoints and replay live traffic.")
    ] = True,
    port: Annotated[int, typer.Option(help="Port for --serve.")] = 8000,
    days: Annotated[int, typer.Option(help="Days of simulated traffic.")] = 120,
    seed: Annotated[int, typer.Option(help="Random seed of the simulation.")] = 7,
) -> None:
    """Build a fresh demo database from a simulated B2B website and show the result."""
    from spoor.demo.run import build_demo

    settings = load_settings()
    demo_dir = settings.data_dir / "demo"
    console.print(f"Simulating {days} days of traffic for a fictional B2B software company ...")
    started = time.perf_counter()
    progress = ImportProgress(err)
    with progress.shown():
        result = build_demo(demo_dir, days=days, seed=seed, progress=progress)
    console.print(import_summary(result.summary, time.perf_counter() - started))
    console.print(stats_report(result.report))
    month = result.report.period.label()
    console.print(companies_table(result.companies, f"Companies that visited · {month}"))
    console.print(identify_summary(result.identified, "Identification"))
    console.print(leads_table(result.leads, "Leads: the hottest tracks now", int(time.time())))
    console.print(
        f"\nThe demo database is {Path(result.database)}. Explore it with, for example:\n"
        f"  SPOOR_DATA_DIR={demo_dir} .venv/bin/spoor stats --period 30d\n"
    )
    if serve:
        serve_demo(demo_dir, result.log, port)


def serve_demo(demo_dir: Path, log: Path, port: int) -> None:
    """Serve the demo database and replay its last simulated requests through /api/event."""
    from spoor.demo.live import serve_and_replay

    serve_and_replay(demo_dir, log, port, console.print)
