"""Traffic statistics for a site and period: totals, a daily series and top lists.

Every breakdown is one entry of DIMENSIONS, so the CLI, the web app and the API share
the same definitions. Numbers come from the event store (spoor.events): on SQL the daily
rollups the ingest keeps current (one row per day and value, not every visit), on
ClickHouse aggregates of the visits themselves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, func, select

from spoor import events
from spoor.analytics.query import Period
from spoor.db.schema import drops, visits
from spoor.events.sql import days_within
from spoor.ingest.rollups import DIMENSION_COLUMNS
from spoor.sites import Site

# name -> what it is called in reports (the visits column: rollups.DIMENSION_COLUMNS)
DIMENSIONS: dict[str, str] = {
    "entry_page": "Entry pages",
    "exit_page": "Exit pages",
    "channel": "Channels",
    "source": "Sources",
    "campaign": "Campaigns",
    "browser": "Browsers",
    "os": "Operating systems",
    "device": "Devices",
    "country": "Countries",
}
assert DIMENSIONS.keys() == DIMENSION_COLUMNS.keys()
# The top lists the overview (page and API) shows, in order.
OVERVIEW_DIMENSIONS = ("entry_page", "source", "channel", "campaign", "country", "device",
                       "browser", "os")  # fmt: skip


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
    return and_(*days_within(visits, site, period))


def totals(conn: Connection, site: Site, period: Period) -> Totals:
    return Totals(*events.store_of(conn).totals(conn, site, period))


def daily(conn: Connection, site: Site, period: Period) -> list[tuple[date, int]]:
    counts = events.store_of(conn).daily(conn, site, period)
    if not counts:
        return []
    days = period.days() or Period(min(counts), max(counts)).days()
    return [(day, counts.get(day, 0)) for day in days]


def top(
    conn: Connection, site: Site, period: Period, dimension: str, limit: int = 10
) -> list[tuple[str, int]]:
    if dimension not in DIMENSIONS:
        raise KeyError(f"no dimension {dimension!r}")
    return events.store_of(conn).top(conn, site, period, dimension, limit)


def top_pages(
    conn: Connection, site: Site, period: Period, limit: int = 10
) -> list[tuple[str, int, int]]:
    """Pages by pageviews, with the visits that viewed each (per day of the visit)."""
    return events.store_of(conn).top_pages(conn, site, period, limit)


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
