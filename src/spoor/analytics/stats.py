"""Traffic statistics for a site and period: totals, a daily series and top lists.

Every breakdown is one entry of DIMENSIONS, so the CLI, the web app and the API share
the same definitions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, case, func, select

from spoor.analytics.query import Period
from spoor.db.schema import drops, hits, visits
from spoor.ingest.rawhit import HitKind
from spoor.sites import Site

# name -> (column of visits, what it is called in reports)
DIMENSIONS: dict[str, tuple[Any, str]] = {
    "entry_page": (visits.c.entry_path, "Entry pages"),
    "exit_page": (visits.c.exit_path, "Exit pages"),
    "channel": (visits.c.channel, "Channels"),
    "source": (visits.c.source, "Sources"),
    "campaign": (visits.c.utm_campaign, "Campaigns"),
    "browser": (visits.c.browser, "Browsers"),
    "os": (visits.c.os, "Operating systems"),
    "device": (visits.c.device, "Devices"),
    "country": (visits.c.country, "Countries"),
}


@dataclass
class Totals:
    visits: int = 0
    visitors: int = 0
    pageviews: int = 0
    bounces: int = 0
    duration: int = 0

    @property
    def bounce_rate(self) -> float:
        return self.bounces / self.visits if self.visits else 0.0

    @property
    def avg_duration(self) -> float:
        return self.duration / self.visits if self.visits else 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "visits": self.visits,
            "visitors": self.visitors,
            "pageviews": self.pageviews,
            "bounce_rate": round(self.bounce_rate, 4),
            "avg_duration": round(self.avg_duration, 1),
        }


@dataclass
class Report:
    site: str
    period: Period
    totals: Totals
    previous: Totals | None
    daily: list[tuple[date, int]]
    top: dict[str, list[tuple[str, int]]]
    pages: list[tuple[str, int, int]]  # path, pageviews, visits
    dropped: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "site": self.site,
            "period": {
                "start": self.period.start.isoformat() if self.period.start else None,
                "end": self.period.end.isoformat() if self.period.end else None,
            },
            **self.totals.as_json(),
            "previous": self.previous.as_json() if self.previous else None,
            "daily": [{"day": d.isoformat(), "visits": n} for d, n in self.daily],
            "pages": [{"path": p, "pageviews": pv, "visits": v} for p, pv, v in self.pages],
            **{key: [{"name": k, "visits": n} for k, n in rows] for key, rows in self.top.items()},
            "dropped": self.dropped,
            "bot_hits": self.dropped.get("bot", 0),
        }


def visit_filter(site: Site, period: Period) -> ColumnElement[bool]:
    conditions = [visits.c.site_id == site.id]
    if period.start:
        conditions.append(visits.c.day >= period.start)
    if period.end:
        conditions.append(visits.c.day <= period.end)
    return and_(*conditions)


def totals(conn: Connection, site: Site, period: Period) -> Totals:
    bounce = case((and_(visits.c.pageviews <= 1, visits.c.events == 0), 1), else_=0)
    # Visitor hashes rotate daily, so unique visitors are distinct (day, visitor) pairs.
    per_day = (
        select(visits.c.day, func.count(func.distinct(visits.c.visitor)).label("n"))
        .where(visit_filter(site, period))
        .group_by(visits.c.day)
        .subquery()
    )
    row = conn.execute(
        select(
            func.count(),
            func.coalesce(func.sum(visits.c.pageviews), 0),
            func.coalesce(func.sum(bounce), 0),
            func.coalesce(func.sum(visits.c.ended - visits.c.started), 0),
        ).where(visit_filter(site, period))
    ).one()
    visitors = conn.execute(select(func.coalesce(func.sum(per_day.c.n), 0))).scalar_one()
    return Totals(int(row[0]), int(visitors), int(row[1]), int(row[2]), int(row[3]))


def daily(conn: Connection, site: Site, period: Period) -> list[tuple[date, int]]:
    rows = conn.execute(
        select(visits.c.day, func.count())
        .where(visit_filter(site, period))
        .group_by(visits.c.day)
        .order_by(visits.c.day)
    ).all()
    counts = {row[0]: int(row[1]) for row in rows}
    if not counts:
        return []
    days = period.days() or Period(min(counts), max(counts)).days()
    return [(day, counts.get(day, 0)) for day in days]


def top(
    conn: Connection, site: Site, period: Period, dimension: str, limit: int = 10
) -> list[tuple[str, int]]:
    column, _ = DIMENSIONS[dimension]
    rows = conn.execute(
        select(column, func.count().label("n"))
        .where(visit_filter(site, period), column.is_not(None))
        .group_by(column)
        .order_by(func.count().desc(), column)
        .limit(limit)
    ).all()
    return [(str(row[0]), int(row[1])) for row in rows]


def top_pages(
    conn: Connection, site: Site, period: Period, limit: int = 10
) -> list[tuple[str, int, int]]:
    lower, upper = period.epoch_bounds(site.timezone)
    conditions = [hits.c.site_id == site.id, hits.c.kind == int(HitKind.PAGEVIEW)]
    if lower is not None:
        conditions.append(hits.c.ts >= lower)
    if upper is not None:
        conditions.append(hits.c.ts < upper)
    rows = conn.execute(
        select(hits.c.path, func.count(), func.count(func.distinct(hits.c.visit_id)))
        .where(*conditions)
        .group_by(hits.c.path)
        .order_by(func.count().desc(), hits.c.path)
        .limit(limit)
    ).all()
    return [(str(r[0]), int(r[1]), int(r[2])) for r in rows]


def dropped(conn: Connection, site: Site, period: Period) -> dict[str, int]:
    conditions = [drops.c.site_id == site.id]
    if period.start:
        conditions.append(drops.c.day >= period.start)
    if period.end:
        conditions.append(drops.c.day <= period.end)
    rows = conn.execute(
        select(drops.c.reason, func.sum(drops.c.count)).where(*conditions).group_by(drops.c.reason)
    ).all()
    return {str(r[0]): int(r[1]) for r in sorted(rows)}


REPORT_DIMENSIONS = ("entry_page", "channel", "source", "campaign", "browser", "os", "device")


def report(
    conn: Connection,
    site: Site,
    period: Period,
    limit: int = 10,
    dimensions: tuple[str, ...] = REPORT_DIMENSIONS,
) -> Report:
    previous = period.previous()
    return Report(
        site=site.domain,
        period=period,
        totals=totals(conn, site, period),
        previous=totals(conn, site, previous) if previous else None,
        daily=daily(conn, site, period),
        top={d: top(conn, site, period, d, limit) for d in dimensions},
        pages=top_pages(conn, site, period, limit),
        dropped=dropped(conn, site, period),
    )
