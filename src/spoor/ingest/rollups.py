"""Daily rollups of visits and pageviews, kept current by every batch that is written.

Reports read these instead of scanning visits and hits, so a month of millions of hits is
a few thousand rows. Each batch adds its difference: a visit written again (it grew) first
takes its previous contribution back, hits already stored count once, and a visitor or a
(visit, page) pair counts only the first time it is seen that day. `rebuild` computes the
same tables from scratch; a test keeps the two equal.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import date
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Table, and_, case, delete, func, insert, literal, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from spoor.db.bulk import executemany
from spoor.db.schema import (
    PAGE_KEY,
    PAGE_KEY_LENGTH,
    hits,
    rollup_days,
    rollup_orgs,
    rollup_pages,
    visits,
)
from spoor.ingest.rawhit import HitKind

# Report dimension -> the visits column it breaks down by.
DIMENSION_COLUMNS: dict[str, str] = {
    "entry_page": "entry_path",
    "exit_page": "exit_path",
    "channel": "channel",
    "source": "source",
    "campaign": "utm_campaign",
    "browser": "browser",
    "os": "os",
    "device": "device",
    "country": "country",
}
TOTALS = ""  # the dimension of a day's totals rows
EVERYONE = 0  # the org_id of rollup_pages rows that count every visit
CHUNK = 500
PAIRS_CHUNK = 200  # (visit, page) pairs ORed in one query: SQLite nests ORs
_VISIT_COLUMNS = ("id", "site_id", "visitor", "day", "started", "ended", "pageviews", "events",
                  "org_id", *DIMENSION_COLUMNS.values())  # fmt: skip
_PAGEVIEW = int(HitKind.PAGEVIEW)

Counts = list[int]  # visits, visitors, pageviews, bounces, duration (rollup_days order)


def _chunks(values: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _day(value: Any) -> date:
    return value if isinstance(value, date) else _iso_day(str(value))


@lru_cache(maxsize=4096)
def _iso_day(text: str) -> date:
    # SQLite hands days back as text, once per visit and pageview: a few distinct ones.
    return date.fromisoformat(text)


def _limit(column: str) -> int | None:
    length: int | None = getattr(visits.c[column].type, "length", None)
    return length


_LIMITS = {column: _limit(column) for column in DIMENSION_COLUMNS.values()}


class Delta:
    """The batch's additions to the three rollup tables, keyed by their primary keys."""

    def __init__(self) -> None:
        self.days: defaultdict[tuple[int, date, str, str], Counts] = defaultdict(
            lambda: [0, 0, 0, 0, 0]
        )
        self.orgs: defaultdict[tuple[int, date, int], list[int]] = defaultdict(
            lambda: [0, 0, 0, 0]  # visits, visitors, pageviews, last_seen
        )
        self.pages: defaultdict[tuple[int, date, int, str], list[int]] = defaultdict(
            lambda: [0, 0]  # pageviews, visits
        )

    def visit(self, row: dict[str, Any], sign: int) -> None:
        """Add (sign 1) or take back (sign -1) one visit's contribution."""
        site, day, views = row["site_id"], _day(row["day"]), row["pageviews"]
        bounce = int(views <= 1 and row["events"] == 0)
        numbers = (sign, 0, sign * views, sign * bounce, sign * (row["ended"] - row["started"]))
        keys = [(site, day, TOTALS, "")]
        for dimension, column in DIMENSION_COLUMNS.items():
            value = row[column]
            if value is not None:
                limit = _LIMITS[column]
                keys.append((site, day, dimension, value[:limit] if limit else value))
        for key in keys:
            counts = self.days[key]
            for i, n in enumerate(numbers):
                counts[i] += n
        if row["org_id"] is not None:
            org = self.orgs[(site, day, row["org_id"])]
            org[0] += sign
            org[2] += sign * views
            org[3] = max(org[3], row["ended"])

    def visitor(self, site: int, day: date, org_id: int | None) -> None:
        self.days[(site, day, TOTALS, "")][1] += 1
        if org_id is not None:
            self.orgs[(site, day, org_id)][1] += 1

    def pageview(self, site: int, day: date, org_id: int | None, path: str, first: bool) -> None:
        for who in (EVERYONE, org_id) if org_id is not None else (EVERYONE,):
            page = self.pages[(site, day, who, path)]
            page[0] += 1
            page[1] += int(first)


def apply(
    conn: Connection,
    visit_rows: Sequence[Sequence[Any]],
    visit_columns: Sequence[str],
    hit_rows: Sequence[Sequence[Any]],
    hit_columns: Sequence[str],
) -> None:
    """Add one batch to the rollups; call before the batch's visits and hits are written."""
    delta = Delta()
    where = [visit_columns.index(c) for c in _VISIT_COLUMNS]
    new = {row[where[0]]: dict(zip(_VISIT_COLUMNS, (row[i] for i in where), strict=True))
           for row in visit_rows}  # fmt: skip
    old = _stored_visits(conn, list(new))
    for visit_id, row in new.items():
        if visit_id in old:
            delta.visit(old[visit_id], -1)
        delta.visit(row, 1)
    _count_visitors(conn, delta, [row for visit_id, row in new.items() if visit_id not in old])
    _count_pageviews(conn, delta, new, old, hit_rows, hit_columns)
    _write(conn, delta)


def _stored_visits(conn: Connection, ids: list[int]) -> dict[int, dict[str, Any]]:
    found: dict[int, dict[str, Any]] = {}
    columns = [visits.c[c] for c in _VISIT_COLUMNS]
    for chunk in _chunks(ids):
        for row in conn.execute(select(*columns).where(visits.c.id.in_(chunk))):
            found[row[0]] = dict(zip(_VISIT_COLUMNS, row, strict=True))
    return found


def _count_visitors(conn: Connection, delta: Delta, fresh: list[dict[str, Any]]) -> None:
    """A new visit adds a visitor unless its visitor already had a visit that day."""
    seen: set[tuple[int, int, date]] = set()
    by_site: defaultdict[int, list[int]] = defaultdict(list)
    for row in fresh:
        by_site[row["site_id"]].append(row["visitor"])
    for site, visitors in by_site.items():
        for chunk in _chunks(sorted(set(visitors))):
            query = select(visits.c.visitor, visits.c.day).where(
                visits.c.site_id == site, visits.c.visitor.in_(chunk)
            )
            seen.update((site, v, _day(d)) for v, d in conn.execute(query))
    for row in sorted(fresh, key=lambda r: r["started"]):
        key = (row["site_id"], row["visitor"], _day(row["day"]))
        if key not in seen:
            seen.add(key)
            delta.visitor(key[0], key[2], row["org_id"])


def _count_pageviews(
    conn: Connection,
    delta: Delta,
    new: dict[int, dict[str, Any]],
    old: dict[int, dict[str, Any]],
    hit_rows: Sequence[Sequence[Any]],
    hit_columns: Sequence[str],
) -> None:
    site_i, key_i, visit_i, kind_i, path_i, ts_i = (
        hit_columns.index(c) for c in ("site_id", "key", "visit_id", "kind", "path", "ts")
    )
    views = [row for row in hit_rows if row[kind_i] == _PAGEVIEW]
    if not views:
        return
    # Hits stored before (a replay, an overlapping log) are not written again: not counted.
    # Only hits no later than a site's latest stored one can be among them; in a log import
    # that is a handful per batch, so most batches look up no key at all.
    stored_keys: set[tuple[int, bytes]] = set()
    latest: dict[int, int | None] = {}
    by_site: defaultdict[int, list[bytes]] = defaultdict(list)
    for row in views:
        site = row[site_i]
        if site not in latest:
            newest = select(func.max(hits.c.ts)).where(hits.c.site_id == site)
            latest[site] = conn.execute(newest).scalar()
        horizon = latest[site]
        if horizon is not None and row[ts_i] <= horizon:
            by_site[site].append(row[key_i])
    for site, keys in by_site.items():
        for chunk in _chunks(keys):
            query = select(hits.c.key).where(hits.c.site_id == site, hits.c.key.in_(chunk))
            stored_keys.update((site, bytes(k)) for (k,) in conn.execute(query))
    # Which of the batch's (visit, page) pairs were viewed before. Only a stored visit has
    # stored hits, and only the batch's own pairs are looked up: a long visit (a day of one
    # office's traffic through one address) must not be read back whole with every batch.
    pairs = sorted({(row[visit_i], row[path_i]) for row in views if row[visit_i] in old})
    viewed: set[tuple[int, str]] = set()
    page_key = PAGE_KEY
    for chunk in _chunks(pairs, PAIRS_CHUNK):
        # OR of (visit, start of path) pairs: both SQLite and PostgreSQL seek each in the
        # index; a row-value IN makes SQLite scan the table.
        match = or_(*(and_(hits.c.visit_id == v, page_key == p[:PAGE_KEY_LENGTH])
                      for v, p in chunk))  # fmt: skip
        query = select(hits.c.visit_id, hits.c.path).where(match, hits.c.kind == _PAGEVIEW)
        viewed.update((v, p) for v, p in conn.execute(query))
    for row in views:
        site, key, visit_id, path = row[site_i], row[key_i], row[visit_i], row[path_i]
        if (site, key) in stored_keys:
            continue
        stored_keys.add((site, key))
        visit = new.get(visit_id) or old.get(visit_id)
        if visit is None:  # a hit always comes with its visit; never count a stray one
            continue
        first = (visit_id, path) not in viewed
        viewed.add((visit_id, path))
        delta.pageview(site, _day(visit["day"]), visit["org_id"], path, first)


def _insert(conn: Connection, table: Table) -> Any:
    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(table)


def _upsert(
    conn: Connection, table: Table, keys: tuple[str, ...], sums: tuple[str, ...],
    rows: list[tuple[Any, ...]], maxima: tuple[str, ...] = (),
) -> None:  # fmt: skip
    if not rows:
        return
    stmt = _insert(conn, table)
    changes = {c: table.c[c] + stmt.excluded[c] for c in sums}
    for c in maxima:
        changes[c] = case((stmt.excluded[c] > table.c[c], stmt.excluded[c]), else_=table.c[c])
    stmt = stmt.on_conflict_do_update(index_elements=[table.c[k] for k in keys], set_=changes)
    executemany(conn, stmt, keys + sums + maxima, rows)


def _write(conn: Connection, delta: Delta) -> None:
    as_text = conn.dialect.name == "sqlite"

    def day(value: date) -> Any:
        return value.isoformat() if as_text else value

    _upsert(
        conn, rollup_days, ("site_id", "day", "dimension", "value"),
        ("visits", "visitors", "pageviews", "bounces", "duration"),
        [(s, day(d), dim, v, *n) for (s, d, dim, v), n in delta.days.items() if any(n)],
    )  # fmt: skip
    _upsert(
        conn, rollup_orgs, ("site_id", "day", "org_id"), ("visits", "visitors", "pageviews"),
        [(s, day(d), o, *n) for (s, d, o), n in delta.orgs.items() if any(n[:3])],
        maxima=("last_seen",),
    )  # fmt: skip
    _upsert(
        conn, rollup_pages, ("site_id", "day", "org_id", "path"), ("pageviews", "visits"),
        [(s, day(d), o, p, *n) for (s, d, o, p), n in delta.pages.items() if any(n)],
    )  # fmt: skip


def rebuild(
    conn: Connection,
    site_ids: Iterable[int] | None = None,
    days: tuple[date, date] | None = None,
) -> None:
    """Recompute the rollups from visits and hits (all sites, or the given ones; all days,
    or the (first, last) days inclusive: a day's rows depend on that day's visits only)."""
    sites = None if site_ids is None else list(site_ids)
    for table in (rollup_days, rollup_orgs, rollup_pages):
        query = delete(table)
        if sites is not None:
            query = query.where(table.c.site_id.in_(sites))
        if days is not None:
            query = query.where(table.c.day.between(*days))
        conn.execute(query)
    v = visits.c
    scope = [v.site_id.in_(sites)] if sites is not None else []
    if days is not None:
        scope.append(v.day.between(*days))
    bounce = func.sum(case((and_(v.pageviews <= 1, v.events == 0), 1), else_=0))
    measures = (func.sum(v.pageviews), bounce, func.sum(v.ended - v.started))
    cols = ("site_id", "day", "dimension", "value", "visits", "visitors", "pageviews",
            "bounces", "duration")  # fmt: skip
    totals = select(
        v.site_id, v.day, literal(TOTALS), literal(""), func.count(),
        func.count(func.distinct(v.visitor)), *measures,
    ).where(*scope).group_by(v.site_id, v.day)  # fmt: skip
    conn.execute(insert(rollup_days).from_select(cols, totals))
    for dimension, column in DIMENSION_COLUMNS.items():
        value = v[column]
        limit = _LIMITS[column]
        shown = func.substr(value, 1, limit) if limit else value
        per_value = (
            select(v.site_id, v.day, literal(dimension), shown, func.count(), literal(0), *measures)
            .where(value.is_not(None), *scope)
            .group_by(v.site_id, v.day, shown)
        )
        conn.execute(insert(rollup_days).from_select(cols, per_value))
    per_org = (
        select(v.site_id, v.day, v.org_id, func.count(), func.count(func.distinct(v.visitor)),
               func.sum(v.pageviews), func.max(v.ended))
        .where(v.org_id.is_not(None), *scope)
        .group_by(v.site_id, v.day, v.org_id)
    )  # fmt: skip
    conn.execute(
        insert(rollup_orgs).from_select(
            ("site_id", "day", "org_id", "visits", "visitors", "pageviews", "last_seen"), per_org
        )
    )
    h = hits.c
    views = (func.count(), func.count(func.distinct(h.visit_id)))
    page_cols = ("site_id", "day", "org_id", "path", "pageviews", "visits")
    everyone = (
        select(v.site_id, v.day, literal(EVERYONE), h.path, *views)
        .select_from(hits.join(visits, v.id == h.visit_id))
        .where(h.kind == _PAGEVIEW, *scope)
        .group_by(v.site_id, v.day, h.path)
    )
    per_org = (
        select(v.site_id, v.day, v.org_id, h.path, *views)
        .select_from(hits.join(visits, v.id == h.visit_id))
        .where(h.kind == _PAGEVIEW, v.org_id.is_not(None), *scope)
        .group_by(v.site_id, v.day, v.org_id, h.path)
    )
    for pages in (everyone, per_org):
        conn.execute(insert(rollup_pages).from_select(page_cols, pages))
