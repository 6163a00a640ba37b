"""The SQL event store: hits and visits in the SQL database, reports from the daily rollups
that every write keeps current (ingest/rollups.py). Spoor's behaviour before there was a
choice, and still the default."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Connection, FromClause, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from spoor.analytics.query import Period
from spoor.db.bulk import executemany
from spoor.db.schema import hits, rollup_days, rollup_orgs, rollup_pages, visits
from spoor.events.base import Counts, Erased, SignalRow, TrailRow, Visits
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


def picked_visits(picked: Visits) -> list[ColumnElement[bool]]:
    v = visits.c
    where: list[ColumnElement[bool]] = []
    if picked.site_ids is not None:
        where.append(v.site_id.in_(picked.site_ids))
    if picked.org_ids is not None:
        where.append(v.org_id.in_(picked.org_ids))
    if picked.ip_prefixes is not None:
        where.append(v.ip_prefix.in_(picked.ip_prefixes))
    if picked.first_day is not None:
        where.append(v.day >= picked.first_day)
    if picked.last_day is not None:
        where.append(v.day <= picked.last_day)
    return where


def _count(conn: Connection, table: Any, *where: ColumnElement[bool]) -> int:
    return int(conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one())


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

    def rebuild_rollups(
        self, conn: Connection, site_ids: list[int] | None, days: tuple[date, date] | None = None
    ) -> None:
        rollups.rebuild(conn, site_ids, days)

    # --- privacy --------------------------------------------------------------------------
    def erase_visits(
        self, conn: Connection, picked: Visits, *, dry_run: bool = False, limit: int | None = None
    ) -> Erased:
        where = picked_visits(picked)
        if limit is None:
            ids: Any = select(visits.c.id).where(*where).scalar_subquery()
            days: Any = conn.execute(
                select(visits.c.site_id, visits.c.day).where(*where).distinct()
            )
        else:  # a batch: these visits, oldest first
            query = select(visits.c.id, visits.c.site_id, visits.c.day).where(*where)
            rows = conn.execute(query.order_by(visits.c.day).limit(limit)).all()
            ids, days = [r.id for r in rows], [(r.site_id, r.day) for r in rows]
        erased = Erased(days={(int(s), d) for s, d in days})
        if dry_run:
            erased.hits = _count(conn, hits, hits.c.visit_id.in_(ids))
            erased.visits = _count(conn, visits, visits.c.id.in_(ids))
            return erased
        erased.hits = conn.execute(delete(hits).where(hits.c.visit_id.in_(ids))).rowcount
        erased.visits = conn.execute(delete(visits).where(visits.c.id.in_(ids))).rowcount
        return erased

    def erase_hits(
        self, conn: Connection, site_id: int, before: int, *, visits_before: date | None = None,
        dry_run: bool = False, limit: int | None = None,
    ) -> Erased:  # fmt: skip
        h, v = hits.c, visits.c
        where = [h.site_id == site_id, h.ts < before]
        if visits_before is not None:
            earlier = select(v.id).where(v.site_id == site_id, v.day < visits_before)
            where.append(h.visit_id.not_in(earlier.scalar_subquery()))
        joined = hits.outerjoin(visits, v.id == h.visit_id)
        if limit is None:
            if dry_run:
                return Erased(hits=_count(conn, hits, *where))
            days = select(v.day).select_from(joined).where(*where, v.day.is_not(None)).distinct()
            erased = Erased(days={(site_id, d) for (d,) in conn.execute(days)})
            erased.hits = conn.execute(delete(hits).where(*where)).rowcount
            return erased
        query = select(h.id, v.day).select_from(joined).where(*where).order_by(h.ts).limit(limit)
        rows = conn.execute(query).all()
        erased = Erased(days={(site_id, r.day) for r in rows if r.day is not None})
        if dry_run:
            erased.hits = len(rows)
        elif rows:
            gone = conn.execute(delete(hits).where(h.id.in_([r.id for r in rows])))
            erased.hits = gone.rowcount
        return erased

    def blank_ip_prefixes(
        self, conn: Connection, picked: Visits, *, dry_run: bool = False, limit: int | None = None
    ) -> Erased:
        where = [*picked_visits(picked), visits.c.ip_prefix.is_not(None)]
        if dry_run:
            return Erased(ip_prefixes=_count(conn, visits, *where))
        ids: Any = select(visits.c.id).where(*where)
        ids = conn.execute(ids.limit(limit)).scalars().all() if limit else ids.scalar_subquery()
        blanked = conn.execute(update(visits).where(visits.c.id.in_(ids)).values(ip_prefix=None))
        return Erased(ip_prefixes=blanked.rowcount)

    def ip_prefixes(self, conn: Connection) -> set[str]:
        query = select(visits.c.ip_prefix).where(visits.c.ip_prefix.is_not(None)).distinct()
        return {str(p) for (p,) in conn.execute(query)}

    def hit_keys(self, conn: Connection, picked: Visits) -> list[bytes]:
        ids = select(visits.c.id).where(*picked_visits(picked)).scalar_subquery()
        rows = conn.execute(select(hits.c.key).where(hits.c.visit_id.in_(ids)))
        return [bytes(k) for (k,) in rows]

    def orgs_with_visits(self, conn: Connection, org_ids: list[int]) -> set[int]:
        found: set[int] = set()
        for start in range(0, len(org_ids), 500):
            part = org_ids[start : start + 500]
            query = select(visits.c.org_id).where(visits.c.org_id.in_(part)).distinct()
            found.update(int(o) for (o,) in conn.execute(query))
        return found

    def export_rows(self, conn: Connection, picked: Visits) -> dict[str, list[dict[str, Any]]]:
        where = picked_visits(picked)
        ids = select(visits.c.id).where(*where).scalar_subquery()
        return {
            "visits": [
                dict(r._mapping)
                for r in conn.execute(select(visits).where(*where).order_by(visits.c.id))
            ],
            "hits": [
                dict(r._mapping)
                for r in conn.execute(
                    select(hits).where(hits.c.visit_id.in_(ids)).order_by(hits.c.id)
                )
            ],
        }
