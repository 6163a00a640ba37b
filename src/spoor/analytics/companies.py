"""Organizations that visited a site, and how many visits could be tied to one.

The team's corrections apply here as everywhere: merged organizations count as their
target, renamed and re-typed ones show as corrected, hidden ones are left out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, func, select
from sqlalchemy.orm import aliased

from spoor import events
from spoor.analytics.query import Period
from spoor.analytics.stats import totals
from spoor.db.schema import org_corrections, organizations
from spoor.identify.classify import FIRM_LEAD_CONFIDENCE
from spoor.identify.types import LEAD_TYPES, OrgType
from spoor.sites import Site

NETWORK_TYPES = (OrgType.ISP, OrgType.MOBILE, OrgType.HOSTING)


@dataclass
class CompanyRow:
    org_id: int
    name: str
    type: str
    country: str | None
    domain: str | None
    visits: int
    visitors: int
    pageviews: int
    last_seen: int
    relation: str | None
    top_pages: list[tuple[str, int]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "org_id": self.org_id,
            "name": self.name,
            "type": self.type,
            "country": self.country,
            "domain": self.domain,
            "visits": self.visits,
            "visitors": self.visitors,
            "pageviews": self.pageviews,
            "last_seen": self.last_seen,
            "relation": self.relation,
            "top_pages": [{"path": p, "pageviews": n} for p, n in self.top_pages],
        }


def _effective_org(column: Any) -> tuple[Any, Any, Any]:
    """(org id after merges, corrections of the row's org, corrections of the target)."""
    own = aliased(org_corrections)
    target = aliased(org_corrections)
    org_id = func.coalesce(own.c.merged_into, column)
    return org_id, own, target


SORTS = ("visits", "visitors", "pageviews", "last_seen", "name")


@dataclass(frozen=True)
class CompanyFilter:
    """Which organizations a list keeps, and in what order."""

    org_type: tuple[str, ...] = ()
    country: str | None = None
    path: str | None = None  # visited a page whose path contains this
    min_visits: int = 1
    leads_only: bool = False
    sort: str = "visits"
    descending: bool = True


def _company_query(conn: Connection, site: Site, period: Period, wanted: CompanyFilter) -> Any:
    store = events.store_of(conn)
    # Per organization as resolved, the period's numbers (the event store's): the team's
    # corrections, which live in SQL, apply to them here alike for every store.
    org_days = store.org_days(conn, site, period)
    r = org_days.c
    org_id, own, target = _effective_org(r.org_id)
    org = organizations.c
    # Per row the corrections that apply are the merge target's, else the org's own.
    name = func.coalesce(func.max(func.coalesce(target.c.name, own.c.name)), func.max(org.name))
    kind = func.coalesce(func.max(func.coalesce(target.c.type, own.c.type)), func.max(org.type))
    visit_count = func.sum(r.visits)
    # Visitor hashes rotate daily: the sum of each day's distinct visitors.
    visitors = func.sum(r.visitors)
    pageviews = func.sum(r.pageviews)
    last_seen = func.max(r.last_seen)
    query = (
        select(
            org_id.label("org_id"),
            name.label("name"),
            kind.label("type"),
            func.max(org.country),
            func.max(org.domain),
            visit_count,
            visitors,
            pageviews,
            last_seen,
            func.max(func.coalesce(target.c.relation, own.c.relation)).label("relation"),
        )
        .select_from(org_days)
        .join(own, own.c.org_id == r.org_id, isouter=True)
        .join(target, target.c.org_id == own.c.merged_into, isouter=True)
        .join(organizations, org.id == org_id, isouter=True)
        .where(_not_hidden(own, target))
        .group_by(org_id)
        .having(visit_count >= max(wanted.min_visits, 1))
    )
    org_type = list(wanted.org_type)
    if wanted.leads_only:
        org_type = [t.value for t in LEAD_TYPES]
        firm = func.max(func.coalesce(target.c.type, own.c.type)).is_not(None) | (
            func.max(org.confidence) >= FIRM_LEAD_CONFIDENCE
        )
        relation = func.max(func.coalesce(target.c.relation, own.c.relation))
        query = query.having(firm & relation.is_(None))
    if org_type:
        query = query.having(kind.in_(org_type))
    if wanted.country:
        query = query.having(func.max(org.country) == wanted.country.upper())
    if wanted.path:
        escaped = wanted.path.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        matching = store.orgs_with_page(conn, site, period, f"%{escaped}%")
        query = query.where(r.org_id.in_(matching))
    order = {
        "visits": visit_count,
        "visitors": visitors,
        "pageviews": pageviews,
        "last_seen": last_seen,
        "name": name,
    }[wanted.sort if wanted.sort in SORTS else "visits"]
    direction = order.desc() if wanted.descending else order.asc()
    return query.order_by(direction, name, org_id)


def companies(
    conn: Connection,
    site: Site,
    period: Period,
    org_type: str | Iterable[str] | None = None,
    limit: int = 50,
    top_pages: int = 3,
    leads_only: bool = False,
    wanted: CompanyFilter | None = None,
    offset: int = 0,
) -> list[CompanyRow]:
    """Organizations by visits in the period; `org_type` keeps one type or several.

    `leads_only` keeps what may become a lead: a lead type, classified firmly (or set by the
    team), and neither a customer nor a competitor. `wanted` filters and sorts further.
    """
    if wanted is None:
        types = (org_type,) if isinstance(org_type, str) else tuple(org_type or ())
        wanted = CompanyFilter(org_type=types, leads_only=leads_only)
    query = _company_query(conn, site, period, wanted)
    rows = conn.execute(query.limit(limit).offset(offset)).all()
    result = [
        CompanyRow(
            r[0], r[1] or f"organization {r[0]}", r[2] or "unknown", r[3], r[4], r[5], r[6],
            int(r[7] or 0), r[8], r[9],
        )
        for r in rows
    ]  # fmt: skip
    if top_pages and result:
        _add_top_pages(conn, site, period, result, top_pages)
    return result


def count_companies(conn: Connection, site: Site, period: Period, wanted: CompanyFilter) -> int:
    query = _company_query(conn, site, period, wanted).order_by(None).subquery()
    return int(conn.execute(select(func.count()).select_from(query)).scalar_one())


def _not_hidden(own: Any, target: Any) -> ColumnElement[bool]:
    return and_(
        func.coalesce(own.c.hidden, False).is_(False),
        func.coalesce(target.c.hidden, False).is_(False),
    )


def _add_top_pages(
    conn: Connection, site: Site, period: Period, rows: list[CompanyRow], limit: int
) -> None:
    # An access network's "top pages" mix thousands of unrelated people: not worth a look
    # (and the bulk of the rows to read).
    networks = {t.value for t in NETWORK_TYPES}
    wanted = {row.org_id: row for row in rows if row.type not in networks}
    if not wanted:
        return
    # The listed organizations and those merged into them, by raw id: the index finds them.
    fix = org_corrections.c
    merged = dict(
        conn.execute(select(fix.org_id, fix.merged_into).where(fix.merged_into.in_(wanted))).all()
    )
    members = [*wanted, *merged]
    views: defaultdict[tuple[int, str], int] = defaultdict(int)
    for raw, path, count in events.store_of(conn).org_pages(conn, site, period, members):
        views[(merged.get(raw, raw), path)] += count
    for (oid, path), count in sorted(views.items(), key=lambda i: (i[0][0], -i[1], i[0][1])):
        row = wanted[oid]
        if len(row.top_pages) < limit and count:
            row.top_pages.append((path, count))


@dataclass
class IdentifyReport:
    visits: int
    by_type: dict[str, int]
    unresolved: int

    @property
    def leads_share(self) -> float:
        n = sum(self.by_type.get(t.value, 0) for t in LEAD_TYPES)
        return n / self.visits if self.visits else 0.0

    @property
    def network_share(self) -> float:
        n = sum(self.by_type.get(t.value, 0) for t in NETWORK_TYPES)
        return n / self.visits if self.visits else 0.0

    @property
    def unresolved_share(self) -> float:
        return self.unresolved / self.visits if self.visits else 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "visits": self.visits,
            "by_type": self.by_type,
            "unresolved": self.unresolved,
            "shares": {
                "business_education_government": round(self.leads_share, 4),
                "isp_mobile_hosting": round(self.network_share, 4),
                "unresolved": round(self.unresolved_share, 4),
            },
        }


def identify_report(conn: Connection, site: Site, period: Period) -> IdentifyReport:
    """Human visits (bots never become visits) by the type of their organization."""
    org_days = events.store_of(conn).org_days(conn, site, period)
    r = org_days.c
    org_id, own, target = _effective_org(r.org_id)
    kind = func.coalesce(target.c.type, own.c.type, organizations.c.type)
    rows = conn.execute(
        select(kind, func.sum(r.visits))
        .select_from(org_days)
        .join(own, own.c.org_id == r.org_id, isouter=True)
        .join(target, target.c.org_id == own.c.merged_into, isouter=True)
        .join(organizations, organizations.c.id == org_id, isouter=True)
        .group_by(kind)
    ).all()
    by_type = {str(t): int(n) for t, n in rows if t is not None and n}
    everything = totals(conn, site, period).visits
    unresolved = everything - sum(by_type.values())
    return IdentifyReport(everything, by_type, unresolved)
