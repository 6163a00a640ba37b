"""Sites: the websites Spoor records, each with its own time zone and rules."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection, func, select

from spoor.db.schema import sites
from spoor.ingest.pipeline import SiteRules
from spoor.settings import Network, Settings, parse_networks, parse_patterns

_DOMAIN = re.compile(
    r"^(?=.{1,253}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$"
)


class SiteError(ValueError):
    """A site does not exist, is ambiguous, or its domain is invalid."""


@dataclass(frozen=True)
class Site:
    id: int
    domain: str
    public_id: str
    timezone: str
    hosts: tuple[str, ...] = ()  # extra host names allowed to send hits
    honor_dnt: bool = True
    exclude_ips: tuple[Network, ...] = ()
    exclude_paths: tuple[re.Pattern[str], ...] = ()

    def rules(self, settings: Settings) -> SiteRules:
        """What the pipeline applies to this site: its own exclusions and the global ones."""
        return SiteRules(
            id=self.id,
            domain=self.domain,
            timezone=self.timezone,
            exclude_paths=settings.exclude_paths + self.exclude_paths,
            exclude_ips=settings.exclude_ips + self.exclude_ips,
            keep_static=settings.keep_static,
        )

    def allows_host(self, host: str | None) -> bool:
        """Hits may come from the domain, its subdomains and the listed hosts."""
        if not host:
            return False
        host = host.lower().rstrip(".")
        base = self.domain.removeprefix("www.")
        return host in self.hosts or host == base or host.endswith("." + base)


def snippet(site: Site, base: str) -> str:
    """The script tag to paste into the site's pages; `base` is Spoor's public address."""
    base = base.rstrip("/")
    return f'<script defer src="{base}/js/spoor.js" data-site="{site.public_id}"></script>'


def normalize_domain(domain: str) -> str:
    cleaned = domain.strip().lower().removeprefix("https://").removeprefix("http://").rstrip("/")
    if not _DOMAIN.match(cleaned):
        raise SiteError(f"{domain!r} is not a domain name such as www.example.com")
    return cleaned


def _site(row: object) -> Site:
    m = row._mapping  # type: ignore[attr-defined]
    hosts = tuple(h.strip().lower() for h in (m["hosts"] or "").split(",") if h.strip())
    return Site(
        m["id"],
        m["domain"],
        m["public_id"],
        m["timezone"],
        hosts,
        bool(m["honor_dnt"]),
        parse_networks(m["exclude_ips"] or ""),
        parse_patterns(m["exclude_paths"] or ""),
    )


def get_site(conn: Connection, domain: str) -> Site | None:
    row = conn.execute(select(sites).where(sites.c.domain == normalize_domain(domain))).first()
    return _site(row) if row else None


def find_site(conn: Connection, ref: str) -> Site | None:
    """A site by public id, numeric id (Matomo's idsite) or domain."""
    condition = sites.c.public_id == ref
    if ref.isdigit():
        condition = condition | (sites.c.id == int(ref))
    row = conn.execute(select(sites).where(condition)).first()
    if row is None and "." in ref:
        try:
            return get_site(conn, ref)
        except SiteError:
            return None
    return _site(row) if row else None


def configure_site(
    conn: Connection,
    domain: str,
    *,
    hosts: list[str] | None = None,
    honor_dnt: bool | None = None,
    timezone: str | None = None,
    exclude_ips: str | None = None,
    exclude_paths: str | None = None,
) -> Site:
    """Change a site's allowed hosts, Do-Not-Track handling, time zone or exclusions."""
    site = get_site(conn, domain)
    if site is None:
        raise SiteError(f"no site {domain}; `spoor site list` shows the sites")
    values: dict[str, object] = {}
    if hosts is not None:
        values["hosts"] = ",".join(normalize_domain(h) for h in hosts if h.strip()) or None
    if honor_dnt is not None:
        values["honor_dnt"] = honor_dnt
    if timezone is not None:
        values["timezone"] = check_timezone(timezone)
    try:
        if exclude_ips is not None:
            values["exclude_ips"] = ",".join(map(str, parse_networks(exclude_ips))) or None
        if exclude_paths is not None:
            parse_patterns(exclude_paths)
            values["exclude_paths"] = exclude_paths or None
    except ValueError as exc:
        raise SiteError(str(exc)) from exc
    if values:
        conn.execute(sites.update().where(sites.c.id == site.id).values(**values))
    updated = get_site(conn, domain)
    assert updated is not None
    return updated


def remove_site(conn: Connection, domain: str) -> bool:
    """Remove a site and everything recorded for it."""
    from spoor.events import store_of  # the events package imports this module
    from spoor.events.base import Visits

    site = get_site(conn, domain)
    if site is None:
        return False
    # Foreign keys take the SQL rows with the site; an event store elsewhere (ClickHouse)
    # has none, and a later site could be given the same id.
    store = store_of(conn)
    store.erase_visits(conn, Visits(site_ids=(site.id,)))
    store.erase_hits(conn, site.id, 2**62)
    store.rebuild_rollups(conn, [site.id])  # to nothing: no aggregate outlives the site
    conn.execute(sites.delete().where(sites.c.id == site.id))
    return True


def list_sites(conn: Connection) -> list[Site]:
    return [_site(row) for row in conn.execute(select(sites).order_by(sites.c.domain))]


def check_timezone(timezone: str) -> str:
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise SiteError(f"{timezone!r} is not a time zone such as Europe/Amsterdam") from exc
    return timezone


def add_site(conn: Connection, domain: str, timezone: str, now: int) -> Site:
    domain = normalize_domain(domain)
    check_timezone(timezone)
    if get_site(conn, domain):
        raise SiteError(f"site {domain} already exists")
    public_id = secrets.token_urlsafe(9)
    conn.execute(
        sites.insert().values(domain=domain, public_id=public_id, timezone=timezone, created_at=now)
    )
    site = get_site(conn, domain)
    assert site is not None
    return site


def only_site(conn: Connection) -> Site:
    """The one site, when there is exactly one; otherwise say what to do."""
    found = list_sites(conn)
    if len(found) == 1:
        return found[0]
    if not found:
        raise SiteError("no sites yet: import a log or `spoor site add DOMAIN`")
    names = ", ".join(s.domain for s in found)
    raise SiteError(f"several sites exist ({names}): say which one with --site DOMAIN")


def site_for_import(conn: Connection, domain: str | None, timezone: str, now: int) -> Site:
    """The site named by `domain` (created if new), or the only site when none is named."""
    if domain:
        return get_site(conn, domain) or add_site(conn, domain, timezone, now)
    count = conn.execute(select(func.count()).select_from(sites)).scalar_one()
    if count == 0:
        return add_site(conn, "localhost", timezone, now)
    if count == 1:
        return _site(conn.execute(select(sites)).one())
    names = ", ".join(s.domain for s in list_sites(conn))
    raise SiteError(f"several sites exist ({names}): say which one with --site DOMAIN")
