"""The SQL event store: hits and visits in the SQL database, reports from the daily rollups
that every write keeps current (ingest/rollups.py). Spoor's behaviour before there was a
choice, and still the default."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, FromClause, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from spoor.analytics.query import Period
from spoor.db.bulk import executemany
from spoor.db.schema import hits, rollup_days, rollup_orgs, rollup_pages, visits
from spoor.events.base import Counts, SignalRow, TrailRow
from spoor.ingest import rollups
from spoor.ingest.rawhit import HitKind
from spoor.sites import Site

if TYPE_CHECKING:
    from spoor.ingest.sessions import Visit
    from spoor.ingest.store import Batch

_VISIT_UPDATE = ("ended", "pageviews", "events", "exit_path", "country")
HIT_COLUMNS = ("site_id", "key", "visit_id", "ts", "kind", "path", "title", "name", "props")
VISIT_COLUMNS = tuple(c.name for c in visits.columns)


def days_within(table: Any, site: Site, period: Period) -> list[Any]:
    """Rows of `table` (with site_id and a local day) of this site in this period."""
    conditions = [table.c.site_id == site.id]
    if period.start:
        conditions.append(table.c.day >= period.start)
    if period.end:
        conditions.append(table.c.day <= period.end)
    return conditions


class SqlEventStore:
    name = "sql"
    embedded = False

    def write(self, conn: Connection, batch: Batch) -> None:
        # Rollups take back what the batch's visits counted before: first, while stored.
        rollups.apply(conn, batch.visits, VISIT_COLUMNS, batch.hits, HIT_COLUMNS)
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        if batch.visits:
            stmt = dialect.insert(visits)
            stmt = stmt.on_conflict_do_update(
                index_elements=[visits.c.id],
                set_={name: stmt.excluded[name] for name in _VISIT_UPDATE},
            )
            executemany(conn, stmt, VISIT_COLUMNS, batch.visits)
        if batch.hits:
            executemany(conn, dialect.insert(hits).on_conflict_do_nothing(), HIT_COLUMNS,
                        batch.hits)  # fmt: skip

    def load_visit(self, conn: Connection, site_id: int, visitor: int, since: int) -> Visit | None:
        from spoor.ingest.store import sql_load_visit

        return sql_load_visit(conn, site_id, visitor, since)

    def latest_hit(self, conn: Connection, site_id: int) -> int | None:
        value = conn.execute(select(func.max(hits.c.ts)).where(hits.c.site_id == site_id))
        return value.scalar()

    def latest_visit_end(self, conn: Connection, site_id: int) -> int | None:
        query = select(func.max(visits.c.ended)).where(visits.c.site_id == site_id)
        return conn.execute(query).scalar()

    def existing_keys(self, conn: Connection, site_id: int, keys: list[bytes]) -> set[bytes]:
        found: set[bytes] = set()
        for start in range(0, len(keys), 500):
            part = keys[start : start + 500]
            rows = conn.execute(
                select(hits.c.key).where(hits.c.site_id == site_id, hits.c.key.in_(part))
            )
            found.update(bytes(row[0]) for row in rows)
        return found

    def totals(self, conn: Connection, site: Site, period: Period) -> Counts:
        r = rollup_days.c
        # Visitor hashes rotate daily, so unique visitors are distinct (day, visitor) pairs:
        # the sum of each day's distinct visitors.
        row = conn.execute(
            select(*(func.coalesce(func.sum(c), 0) for c in
                     (r.visits, r.visitors, r.pageviews, r.bounces, r.duration)))
            .where(*days_within(rollup_days, site, period), r.dimension == rollups.TOTALS)
        ).one()  # fmt: skip
        a, b, c, d, e = (int(n) for n in row)
        return a, b, c, d, e

    def daily(self, conn: Connection, site: Site, period: Period) -> dict[date, int]:
        r = rollup_days.c
        rows = conn.execute(
            select(r.day, r.visits)
            .where(*days_within(rollup_days, site, period), r.dimension == rollups.TOTALS)
            .order_by(r.day)
        ).all()
        return {row[0]: int(row[1]) for row in rows if row[1]}

    def top(
        self, conn: Connection, site: Site, period: Period, dimension: str, limit: int
    ) -> list[tuple[str, int]]:
        r = rollup_days.c
        visits_sum = func.sum(r.visits)
        rows = conn.execute(
            select(r.value, visits_sum)
            .where(*days_within(rollup_days, site, period), r.dimension == dimension)
            .group_by(r.value)
            .having(visits_sum > 0)
            .order_by(visits_sum.desc(), r.value)
            .limit(limit)
        ).all()
        return [(str(row[0]), int(row[1])) for row in rows]

    def top_pages(
        self, conn: Connection, site: Site, period: Period, limit: int
    ) -> list[tuple[str, int, int]]:
        p = rollup_pages.c
        views = func.sum(p.pageviews)
        rows = conn.execute(
            select(p.path, views, func.sum(p.visits))
            .where(*days_within(rollup_pages, site, period), p.org_id == rollups.EVERYONE)
            .group_by(p.path)
            .order_by(views.desc(), p.path)
            .limit(limit)
        ).all()
        return [(str(r[0]), int(r[1]), int(r[2])) for r in rows]

    def org_days(self, conn: Connection, site: Site, period: Period) -> FromClause:
        r = rollup_orgs.c
        return (
            select(r.org_id, r.visits, r.visitors, r.pageviews, r.last_seen)
            .where(*days_within(rollup_orgs, site, period))
            .subquery("org_days")
        )

    def org_pages(
        self, conn: Connection, site: Site, period: Period, org_ids: list[int]
    ) -> list[tuple[int, str, int]]:
        p = rollup_pages.c
        rows = conn.execute(
            select(p.org_id, p.path, func.sum(p.pageviews))
            .where(*days_within(rollup_pages, site, period), p.org_id.in_(org_ids))
            .group_by(p.org_id, p.path)
        )
        return [(int(o), str(path), int(n or 0)) for o, path, n in rows]

    def orgs_with_page(self, conn: Connection, site: Site, period: Period, pattern: str) -> Any:
        p = rollup_pages.c
        return select(p.org_id).where(
            *days_within(rollup_pages, site, period),
            p.org_id != rollups.EVERYONE,
            p.path.like(pattern, escape="\\"),
        )

    def trails(
        self, conn: Connection, site: Site, period: Period, org_ids: list[int], limit: int
    ) -> tuple[int, list[TrailRow]]:
        v = visits.c
        where = [*days_within(visits, site, period), or_(*(v.org_id == m for m in org_ids))]
        total = conn.execute(select(func.count()).select_from(visits).where(*where))
        rows = conn.execute(
            select(v.id, v.started, v.ended, v.pageviews, v.source, v.channel, v.country,
                   v.device, v.browser)
            .where(*where)
            .order_by(v.started.desc())
            .limit(limit)
        )  # fmt: skip
        return int(total.scalar_one()), [tuple(r) for r in rows]

    def page_reads(
        self, conn: Connection, visit_ids: list[int]
    ) -> list[tuple[int, int, str, str | None]]:
        rows = conn.execute(
            select(hits.c.visit_id, hits.c.ts, hits.c.path, hits.c.title)
            .where(hits.c.visit_id.in_(visit_ids), hits.c.kind == int(HitKind.PAGEVIEW))
            .order_by(hits.c.visit_id, hits.c.ts, hits.c.id)
        )
        return [(int(v), int(ts), str(path), title) for v, ts, path, title in rows]

    def lead_hits(self, conn: Connection, site_ids: list[int] | None) -> list[SignalRow] | None:
        return None  # hits are in the same database: the ledger is rebuilt in SQL

    def rebuild_rollups(self, conn: Connection, site_ids: list[int] | None) -> None:
        rollups.rebuild(conn, site_ids)
