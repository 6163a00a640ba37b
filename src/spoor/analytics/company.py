"""One organization: who it is (with the team's corrections and the evidence), and what it
did on a site: its visits in a period, each with the pages read and the time spent."""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, func, select

from spoor import events
from spoor.analytics.query import Period
from spoor.db.schema import known_ranges, org_corrections, organizations
from spoor.sites import Site


@dataclass(frozen=True)
class PageRead:
    ts: int
    path: str
    title: str | None
    seconds: int | None  # until the next page of the visit; None for the last one


@dataclass
class VisitTrail:
    id: int
    started: int
    ended: int
    pageviews: int
    source: str | None
    channel: str
    country: str | None
    device: str | None
    browser: str | None
    pages: list[PageRead] = field(default_factory=list)

    @property
    def seconds(self) -> int:
        return self.ended - self.started

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "started": self.started,
            "ended": self.ended,
            "seconds": self.seconds,
            "pageviews": self.pageviews,
            "source": self.source,
            "channel": self.channel,
            "country": self.country,
            "device": self.device,
            "browser": self.browser,
            "pages": [p.__dict__ for p in self.pages],
        }


@dataclass
class KnownRange:
    id: int
    text: str
    note: str | None


@dataclass
class CompanyDetail:
    org_id: int
    name: str
    found_name: str
    type: str
    found_type: str
    domain: str | None
    country: str | None
    confidence: float
    asn: int | None
    source: str | None
    evidence: list[str]
    relation: str | None
    hidden: bool
    target: bool
    merged_into: int | None
    merged_from: list[tuple[int, str]]
    ranges: list[KnownRange]
    first_seen: int
    last_seen: int
    visits: list[VisitTrail] = field(default_factory=list)
    total_visits: int = 0

    def as_json(self) -> dict[str, Any]:
        data = {k: v for k, v in self.__dict__.items() if k not in {"visits", "ranges"}}
        data["merged_from"] = [{"org_id": i, "name": n} for i, n in self.merged_from]
        data["ranges"] = [r.__dict__ for r in self.ranges]
        data["visits"] = [v.as_json() for v in self.visits]
        return data


def _range_text(version: int, first: bytes, last: bytes) -> str:
    size = 4 if version == 4 else 16
    a = ipaddress.ip_address(int.from_bytes(first, "big").to_bytes(16, "big")[-size:])
    b = ipaddress.ip_address(int.from_bytes(last, "big").to_bytes(16, "big")[-size:])
    try:
        (network,) = ipaddress.summarize_address_range(a, b)
        return str(network)
    except ValueError:
        return f"{a} - {b}"


def company_detail(
    conn: Connection, site: Site, period: Period, org_id: int, limit: int = 50
) -> CompanyDetail | None:
    row = conn.execute(select(organizations).where(organizations.c.id == org_id)).first()
    if row is None:
        return None
    fix = conn.execute(select(org_corrections).where(org_corrections.c.org_id == org_id)).first()
    merged_from = conn.execute(
        select(organizations.c.id, func.coalesce(org_corrections.c.name, organizations.c.name))
        .join(org_corrections, org_corrections.c.org_id == organizations.c.id)
        .where(org_corrections.c.merged_into == org_id)
        .order_by(organizations.c.name)
    ).all()
    ranges = [
        KnownRange(r.id, _range_text(r.version, r.first, r.last), r.note)
        for r in conn.execute(
            select(known_ranges).where(known_ranges.c.org_id == org_id).order_by(known_ranges.c.id)
        )
    ]
    detail = CompanyDetail(
        org_id=org_id,
        name=(fix.name if fix and fix.name else row.name),
        found_name=row.name,
        type=(fix.type if fix and fix.type else row.type),
        found_type=row.type,
        domain=row.domain,
        country=row.country,
        confidence=row.confidence,
        asn=row.asn,
        source=row.source,
        evidence=list(json.loads(row.evidence or "[]")),
        relation=fix.relation if fix else None,
        hidden=bool(fix.hidden) if fix else False,
        target=bool(fix.target) if fix else False,
        merged_into=fix.merged_into if fix else None,
        merged_from=[(int(i), str(n)) for i, n in merged_from],
        ranges=ranges,
        first_seen=row.first_seen,
        last_seen=row.last_seen,
    )
    members = [org_id, *(i for i, _ in detail.merged_from)]
    detail.total_visits, detail.visits = _trails(conn, site, period, members, limit)
    return detail


def _trails(
    conn: Connection, site: Site, period: Period, members: list[int], limit: int
) -> tuple[int, list[VisitTrail]]:
    store = events.store_of(conn)
    total, found = store.trails(conn, site, period, members, limit)
    trails = {row[0]: VisitTrail(*row) for row in found}
    if not trails:
        return total, []
    rows = store.page_reads(conn, list(trails))
    for i, (visit_id, ts, path, title) in enumerate(rows):
        following = rows[i + 1] if i + 1 < len(rows) else None
        same_visit = following is not None and following[0] == visit_id
        seconds = int(following[1] - ts) if same_visit and following else None
        trails[visit_id].pages.append(PageRead(int(ts), str(path), title, seconds))
    return total, list(trails.values())
