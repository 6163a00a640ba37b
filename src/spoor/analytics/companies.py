"""Organizations that visited a site, and how many visits could be tied to one.

The team's corrections apply here as everywhere: merged organizations count as their
target, renamed and re-typed ones show as corrected, hidden ones are left out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, func, select
from sqlalchemy.orm import aliased

from spoor.analytics.query import Period
from spoor.analytics.stats import visit_filter
from spoor.db.schema import hits, org_corrections, organizations, visits
from spoor.identify.classify import FIRM_LEAD_CONFIDENCE
from spoor.identify.types import LEAD_TYPES, OrgType
from spoor.ingest.rawhit import HitKind
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


def _effective_org() -> tuple[Any, Any, Any]:
    """(org id after merges, corrections of the visit's org, corrections of the target)."""
    own = aliased(org_corrections)
    target = aliased(org_corrections)
    org_id = func.coalesce(own.c.merged_into, visits.c.org_id)
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


def _company_query(site: Site, period: Period, wanted: CompanyFilter) -> Any:
    org_id, own, target = _effective_org()
    org = organizations.c
    # Per visit the corrections that apply are the merge target's, else the org's own.
    name = func.coalesce(func.max(func.coalesce(target.c.name, own.c.name)), func.max(org.name))
    kind = func.coalesce(func.max(func.coalesce(target.c.type, own.c.type)), func.max(org.type))
    # Visitor hashes rotate daily, so distinct hashes already count each day apart.
    visitors = func.count(func.distinct(visits.c.visitor))
    pageviews = func.sum(visits.c.pageviews)
    last_seen = func.max(visits.c.ended)
    query = (
        select(
            org_id.label("org_id"),
            name.label("name"),
            kind.label("type"),
            func.max(org.country),
            func.max(org.domain),
            func.count(),
            visitors,
            pageviews,
            last_seen,
            func.max(func.coalesce(target.c.relation, own.c.relation)).label("relation"),
        )
        .select_from(visits)
        .join(own, own.c.org_id == visits.c.org_id, isouter=True)
        .join(target, target.c.org_id == own.c.merged_into, isouter=True)
        .join(organizations, org.id == org_id, isouter=True)
        .where(visit_filter(site, period), visits.c.org_id.is_not(None))
        .where(_not_hidden(own, target))
        .group_by(org_id)
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
    if wanted.min_visits > 1:
        query = query.having(func.count() >= wanted.min_visits)
    if wanted.path:
        query = query.where(visits.c.id.in_(_visits_with_page(site, period, wanted.path)))
    order = {
        "visits": func.count(),
        "visitors": visitors,
        "pageviews": pageviews,
        "last_seen": last_seen,
        "name": name,
    }[wanted.sort if wanted.sort in SORTS else "visits"]
    direction = order.desc() if wanted.descending else order.asc()
    return query.order_by(direction, name, org_id)


def _visits_with_page(site: Site, period: Period, text: str) -> Any:
    lower, upper = period.epoch_bounds(site.timezone)
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    conditions = [
        hits.c.site_id == site.id,
        hits.c.kind == int(HitKind.PAGEVIEW),
        hits.c.path.like(f"%{escaped}%", escape="\\"),
    ]
    if lower is not None:
        conditions.append(hits.c.ts >= lower)
    if upper is not None:
        conditions.append(hits.c.ts < upper)
    return select(hits.c.visit_id).where(*conditions)


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
    query = _company_query(site, period, wanted)
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
    query = _company_query(site, period, wanted).order_by(None).subquery()
    return int(conn.execute(select(func.count()).select_from(query)).scalar_one())


def _not_hidden(own: Any, target: Any) -> ColumnElement[bool]:
    return and_(
        func.coalesce(own.c.hidden, False).is_(False),
        func.coalesce(target.c.hidden, False).is_(False),
    )


def _add_top_pages(
    conn: Connection, site: Site, period: Period, rows: list[CompanyRow], limit: int
) -> None:
    org_id, own, _ = _effective_org()
    wanted = {row.org_id: row for row in rows}
    query = (
        select(org_id, hits.c.path, func.count())
        .select_from(hits)
        .join(visits, visits.c.id == hits.c.visit_id)
        .join(own, own.c.org_id == visits.c.org_id, isouter=True)
        .where(visit_filter(site, period), hits.c.kind == int(HitKind.PAGEVIEW))
        .where(org_id.in_(list(wanted)))
        .group_by(org_id, hits.c.path)
        .order_by(org_id, func.count().desc(), hits.c.path)
    )
    for oid, path, count in conn.execute(query):
        row = wanted[oid]
        if len(row.top_pages) < limit:
            row.top_pages.append((path, int(count)))


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
    org_id, own, target = _effective_org()
    kind = func.coalesce(target.c.type, own.c.type, organizations.c.type)
    rows = conn.execute(
        select(kind, func.count())
        .select_from(visits)
        .join(own, own.c.org_id == visits.c.org_id, isouter=True)
        .join(target, target.c.org_id == own.c.merged_into, isouter=True)
        .join(organizations, organizations.c.id == org_id, isouter=True)
        .where(visit_filter(site, period))
        .group_by(kind)
    ).all()
    by_type = {str(t): int(n) for t, n in rows if t is not None}
    unresolved = sum(int(n) for t, n in rows if t is None)
    return IdentifyReport(sum(by_type.values()) + unresolved, by_type, unresolved)
