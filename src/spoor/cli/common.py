"""What every command shares: consoles, errors, settings, JSON output, the chosen site."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from sqlalchemy import Connection

from spoor import settings as settings_module
from spoor.analytics.query import Period, PeriodError, period_in_zone
from spoor.settings import Settings, SettingsError
from spoor.sites import Site, SiteError, get_site, only_site

console = Console()
err = Console(stderr=True)


SiteOption = Annotated[str | None, typer.Option("--site", help="The site (default: the only one).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def fail(message: str) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}", soft_wrap=True)  # paths stay whole
    return typer.Exit(2)


def load_settings() -> Settings:
    try:
        return settings_module.load()
    except SettingsError as exc:
        raise fail(str(exc)) from exc


def print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))


def pick_site(conn: Connection, domain: str | None) -> Site:
    """The named site, or the only one."""
    try:
        site = get_site(conn, domain) if domain else only_site(conn)
    except SiteError as exc:
        raise fail(str(exc)) from exc
    if site is None:
        raise fail(f"no site {domain}; `spoor site list` shows the sites")
    return site


def site_and_period(
    conn: Connection, settings: Settings, domain: str | None, period: str
) -> tuple[Site, Period]:
    """The named site (or the only one) and the period in its time zone."""
    site = pick_site(conn, domain)
    try:
        return site, period_in_zone(period, site.timezone)
    except PeriodError as exc:
        raise fail(str(exc)) from exc
