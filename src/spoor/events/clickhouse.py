"""The ClickHouse event store: hits and visits in MergeTree tables; the overview's numbers
from daily rollups of closed days, built when a report first needs them (see "rollups"),
the rest aggregated when read.

Idempotence without transactions: both tables are ReplacingMergeTree. A hit is keyed by
its content key (a replayed or overlapping log inserts the same row again and it collapses);
a visit is keyed by its deterministic id with a version that grows with the visit, so the
latest state wins. Reads use FINAL, so duplicates not merged yet never count.

Two ways to reach ClickHouse: chdb, the engine in this process, with its files in the data
directory (one process only: `spoor serve` then runs its live consumer as a thread), or a
ClickHouse server over HTTP (SPOOR_CLICKHOUSE_URL) that many processes and machines share.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from sqlalchemy import BigInteger, Column, Connection, FromClause, MetaData, Table, text

from spoor.analytics.query import Period
from spoor.db.bulk import _fit
from spoor.db.schema import visits
from spoor.events.base import Counts, Erased, SignalRow, TrailRow, Visits
from spoor.events.sql import HIT_COLUMNS, VISIT_COLUMNS
from spoor.ingest.rawhit import HitKind
from spoor.ingest.rollups import DIMENSION_COLUMNS
from spoor.sites import Site

if TYPE_CHECKING:
    from spoor.ingest.sessions import Visit
    from spoor.ingest.store import Batch
    from spoor.settings import Settings

_PAGEVIEW = int(HitKind.PAGEVIEW)
_SIGNAL_KINDS = (int(HitKind.PAGEVIEW), int(HitKind.FORM))  # leads.ledger.KINDS
# The SQL schema's column lengths, applied on insert as PostgreSQL does (db/bulk.py), so
# every store shows the same values.
_VISIT_FIT = visits.insert()
MUTATION_TIMEOUT = 3600.0  # seconds an erasure waits for a server's ALTER ... DELETE

_TABLES = (
    """CREATE TABLE IF NOT EXISTS {db}.visits (
        id Int64, site_id Int32, visitor Int64, day Date, started Int64, ended Int64,
        pageviews Int32, events Int32, entry_path String, exit_path String,
        referrer Nullable(String), channel LowCardinality(String), source Nullable(String),
        utm_campaign Nullable(String), utm_source Nullable(String), utm_medium Nullable(String),
        utm_term Nullable(String), utm_content Nullable(String),
        browser LowCardinality(Nullable(String)), os LowCardinality(Nullable(String)),
        device LowCardinality(Nullable(String)), country LowCardinality(Nullable(String)),
        ip_prefix Nullable(String), org_id Nullable(Int64),
        version UInt64,
        INDEX visitor_ix visitor TYPE bloom_filter GRANULARITY 4,
        INDEX org_ix org_id TYPE bloom_filter GRANULARITY 4
    ) ENGINE = ReplacingMergeTree(version)
    PARTITION BY toYYYYMM(day) ORDER BY (site_id, day, id)""",
    # A hit's key is a hash of its source record, time included: (site_id, ts, key) orders
    # by time for reports and still collapses the same hit stored twice.
    """CREATE TABLE IF NOT EXISTS {db}.hits (
        site_id Int32, key FixedString(16), visit_id Int64, ts Int64, kind Int16,
        path String, title Nullable(String), name Nullable(String), props Nullable(String),
        INDEX visit_ix visit_id TYPE bloom_filter GRANULARITY 4,
        INDEX key_ix key TYPE bloom_filter GRANULARITY 4
    ) ENGINE = ReplacingMergeTree
    PARTITION BY toYYYYMM(toDateTime(ts)) ORDER BY (site_id, ts, key)""",
    # Daily rollups (see "rollups" below). When a day's visits or hits were last written,
    # in microseconds of the server's clock, taken after the write completed:
    """CREATE TABLE IF NOT EXISTS {db}.written (site_id Int32, day Date, at UInt64)
    ENGINE = ReplacingMergeTree(at) ORDER BY (site_id, day)""",
    # When a day's rollups were built (the clock read before reading the visits):
    """CREATE TABLE IF NOT EXISTS {db}.rollup_days (site_id Int32, day Date, generation UInt64)
    ENGINE = ReplacingMergeTree(generation) ORDER BY (site_id, day)""",
    # The rollups of each build; dimension '' is the day's totals, 'page' its pages.
    """CREATE TABLE IF NOT EXISTS {db}.rollups (
        site_id Int32, day Date, generation UInt64, dimension LowCardinality(String),
        value String, visits UInt64, visitors UInt64, pageviews UInt64, bounces UInt64,
        duration Int64
    ) ENGINE = MergeTree
    PARTITION BY toYYYYMM(day) ORDER BY (site_id, day, generation, dimension, value)""",
)
_NOW = "toUnixTimestamp64Micro(now64(6))"
_PAGE = "page"  # the rollups' dimension of pages
_CLOSED_AFTER = 2  # days: no visit of a site-local day is written two UTC days later


class Transport(Protocol):
    def query(self, sql: str, timeout: float | None = None) -> list[list[Any]]:
        """Run one statement; the rows of a SELECT (JSONCompact), else []. `timeout`
        (seconds) replaces the transport's own, where it has one."""


def _rows(body: bytes) -> list[list[Any]]:
    if not body.strip():
        return []
    data = json.loads(body)
    # 64-bit integers come quoted (JSON numbers lose precision past 2**53).
    wide = [i for i, m in enumerate(data["meta"]) if "Int64" in m["type"] or "Int128" in m["type"]]
    rows: list[list[Any]] = data["data"]
    for row in rows:
        for i in wide:
            if row[i] is not None:
                row[i] = int(row[i])
    return rows


class Chdb:
    """chdb: ClickHouse inside this process. Its embedded server opens one path per
    process, so sessions are shared by path; databases separate stores within it."""

    _sessions: ClassVar[dict[str, Any]] = {}
    _lock = threading.Lock()

    def __init__(self, path: Path) -> None:
        from chdb import session

        key = str(path.resolve())
        with Chdb._lock:
            if key not in Chdb._sessions:
                path.mkdir(parents=True, exist_ok=True)
                Chdb._sessions[key] = session.Session(key)  # type: ignore[no-untyped-call]
            self._session = Chdb._sessions[key]

    def query(self, sql: str, timeout: float | None = None) -> list[list[Any]]:
        with Chdb._lock:  # one statement at a time: the web app and the consumer share it
            result = self._session.query(sql, "JSONCompact")
        return _rows(result.bytes())


class Http:
    """A ClickHouse server through its HTTP interface (port 8123), with the standard
    library only. The URL may carry user and password."""

    def __init__(self, url: str, timeout: float = 60.0) -> None:
        parts = urllib.parse.urlsplit(url)
        self._url = urllib.parse.urlunsplit((parts.scheme, parts.hostname or "", "", "", ""))
        if parts.port:
            self._url = f"{self._url}:{parts.port}"
        self._url += (parts.path or "/") + "?default_format=JSONCompact"
        self._auth = {}
        if parts.username:
            self._auth["X-ClickHouse-User"] = urllib.parse.unquote(parts.username)
            self._auth["X-ClickHouse-Key"] = urllib.parse.unquote(parts.password or "")
        self._timeout = timeout

    def query(self, sql: str, timeout: float | None = None) -> list[list[Any]]:
        request = urllib.request.Request(
            self._url, data=sql.encode(), headers=self._auth, method="POST"
        )
        with urllib.request.urlopen(request, timeout=timeout or self._timeout) as answer:
            return _rows(answer.read())


def database_of(url: str) -> str:
    """The database a server URL names (?database=), else "spoor"."""
    database = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query).get("database")
    return database[0] if database else "spoor"


def chdb_path(settings: Settings) -> Path:
    return settings.data_dir / "clickhouse"


def literal(value: Any) -> str:
    """A value as a ClickHouse SQL literal (inserts are sent as VALUES)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return f"unhex('{bytes(value).hex()}')"
    if isinstance(value, date):
        return f"'{value.isoformat()}'"
    if isinstance(value, tuple):
        return "(" + ",".join(literal(v) for v in value) + ")"
    escaped = str(value).replace("\\", "\\\\").replace("'", "\\'").replace("\0", "\\0")
    return f"'{escaped}'"


def _in(values: Iterable[Any]) -> str:
    return "(" + ",".join(literal(v) for v in values) + ")"


def _value(column: str) -> str:
    """A dimension's value as reports show it: cut to the SQL schema's column length."""
    size = getattr(visits.c[column].type, "length", None)
    return f"leftUTF8(assumeNotNull({column}), {size})" if size else f"assumeNotNull({column})"


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


# Staged per-organization numbers, for the SQL side's joins with corrections.
_STAGE = Table(
    "spoor_ch_org_days",
    MetaData(),
    *(Column(name, BigInteger) for name in ("org_id", "visits", "visitors", "pageviews",
                                            "last_seen")),
    prefixes=["TEMPORARY"],
)  # fmt: skip


class ClickHouseEventStore:
    name = "clickhouse"

    def __init__(self, transport: Transport, database: str = "spoor") -> None:
        if not database.replace("_", "").isalnum():
            raise ValueError(f"{database!r} is not a plain database name")
        self.transport = transport
        self.db = database
        self.embedded = isinstance(transport, Chdb)
        transport.query(f"CREATE DATABASE IF NOT EXISTS {database}")
        for statement in _TABLES:
            transport.query(statement.format(db=database))
        if not self._q(f"SELECT 1 FROM {database}.written LIMIT 1"):
            # Events from before the rollups (or a restore): their days are due for them.
            self._mark(f"SELECT DISTINCT site_id, day FROM {database}.visits")

    @classmethod
    def from_settings(cls, settings: Settings) -> ClickHouseEventStore:
        url = settings.clickhouse_url
        if url:
            return cls(Http(url), database_of(url))
        return cls(Chdb(chdb_path(settings)))

    @classmethod
    def scratch(cls, path: Path) -> ClickHouseEventStore:
        """A store of its own in the chdb at `path` (tests, benchmarks)."""
        return cls(Chdb(path), f"t_{uuid.uuid4().hex[:16]}")

    def drop(self) -> None:
        self.transport.query(f"DROP DATABASE IF EXISTS {self.db}")

    def _q(self, sql: str) -> list[list[Any]]:
        return self.transport.query(sql)

    def _visits_in(self, site: Site, period: Period) -> str:
        where = f"site_id = {int(site.id)}"
        if period.start:
            where += f" AND day >= {literal(period.start)}"
        if period.end:
            where += f" AND day <= {literal(period.end)}"
        return where

    def _hits_in(self, site: Site, period: Period, alias: str) -> str:
        """Hits of the period's visits: a visit's hits fall on its local day (visits end at
        midnight), so the period's epoch bounds select them by the primary key."""
        where = f"{alias}.site_id = {int(site.id)}"
        lower, upper = period.epoch_bounds(site.timezone)
        if lower is not None:
            where += f" AND {alias}.ts >= {lower}"
        if upper is not None:
            where += f" AND {alias}.ts < {upper}"
        return where

    # --- ingest ---------------------------------------------------------------------------
    def write(self, conn: Connection, batch: Batch) -> None:
        if batch.visits:
            rows = _fit(_VISIT_FIT, VISIT_COLUMNS, batch.visits)
            pv, ev, end = (VISIT_COLUMNS.index(c) for c in ("pageviews", "events", "ended"))
            values = ",".join(
                "(" + ",".join(map(literal, row)) +
                f",{int(row[end]) * 1_000_000 + min(int(row[pv]) + int(row[ev]), 999_999)})"
                for row in rows
            )  # fmt: skip
            self._q(f"INSERT INTO {self.db}.visits ({','.join(VISIT_COLUMNS)}, version) VALUES "
                    + values)  # fmt: skip
        if batch.hits:
            values = ",".join("(" + ",".join(map(literal, row)) + ")" for row in batch.hits)
            self._q(f"INSERT INTO {self.db}.hits ({','.join(HIT_COLUMNS)}) VALUES "
                    + values)  # fmt: skip
        if batch.visits:  # last: the mark's time follows both writes (every hit's visit is
            # in its batch: it changed)
            site, day = VISIT_COLUMNS.index("site_id"), VISIT_COLUMNS.index("day")
            days = sorted({(int(r[site]), _day(r[day])) for r in batch.visits})
            self._mark(f"SELECT * FROM values('site_id Int32, day Date', "
                       f"{','.join(f'({s},{literal(d)})' for s, d in days)})")  # fmt: skip

    def load_visit(self, conn: Connection, site_id: int, visitor: int, since: int) -> Visit | None:
        from spoor.ingest.store import visit_from

        # A day before `since` in UTC covers every zone's local day of it: the key prunes.
        first_day = date.fromtimestamp(since) - timedelta(1) if since > 86400 else date(1970, 1, 1)
        rows = self._q(
            f"SELECT {','.join(VISIT_COLUMNS)} FROM {self.db}.visits FINAL "
            f"WHERE site_id = {int(site_id)} AND day >= {literal(first_day)} "
            f"AND visitor = {int(visitor)} AND ended >= {int(since)} ORDER BY ended DESC LIMIT 1"
        )
        if not rows:
            return None
        row = dict(zip(VISIT_COLUMNS, rows[0], strict=True))
        row["day"] = _day(row["day"])
        return visit_from(row)

    def latest_hit(self, conn: Connection, site_id: int) -> int | None:
        rows = self._q(
            f"SELECT max(ts), count() FROM {self.db}.hits WHERE site_id = {int(site_id)}"
        )
        return int(rows[0][0]) if rows and rows[0][1] else None

    def latest_visit_end(self, conn: Connection, site_id: int) -> int | None:
        rows = self._q(
            f"SELECT max(ended), count() FROM {self.db}.visits WHERE site_id = {int(site_id)}"
        )
        return int(rows[0][0]) if rows and rows[0][1] else None

    def existing_keys(self, conn: Connection, site_id: int, keys: list[bytes]) -> set[bytes]:
        found: set[bytes] = set()
        for start in range(0, len(keys), 5000):
            part = keys[start : start + 5000]
            rows = self._q(
                f"SELECT DISTINCT hex(key) FROM {self.db}.hits "
                f"WHERE site_id = {int(site_id)} AND key IN {_in(part)}"
            )
            found.update(bytes.fromhex(r[0]) for r in rows)
        return found

    # --- rollups --------------------------------------------------------------------------
    # A visit is stored again each time it grows, so rollups kept by materialized views
    # would count its earlier versions too. Instead a day's rollups are built from the
    # merged (FINAL) rows once the day is closed, and used only while no write came after:
    # every write marks its days (`written`, after the rows are stored), every build notes
    # the clock read before it read (`rollup_days`), both on the server's clock. A day
    # whose mark is not older than its build is read raw, so a report is right whatever
    # was written or erased meanwhile; reports build what is due before they read.
    def _mark(self, days: str) -> None:
        """Note that the (site_id, day) rows of the query `days` were written just now."""
        self._q(f"INSERT INTO {self.db}.written SELECT site_id, day, {_NOW} FROM ({days})")

    def _days(self, where: str) -> list[tuple[int, date, int, int]]:
        """(site, day, written, built) of the days that have either."""
        rows = self._q(
            "SELECT site_id, day, max(a), max(g) FROM ("
            f"SELECT site_id, day, at AS a, toUInt64(0) AS g FROM {self.db}.written "
            f"WHERE {where} UNION ALL SELECT site_id, day, toUInt64(0), generation "
            f"FROM {self.db}.rollup_days WHERE {where}) GROUP BY site_id, day"
        )
        return [(int(s), _day(d), int(a), int(g)) for s, d, a, g in rows]

    def _build(self, site_ids: list[int] | None) -> None:
        """Build the rollups of the closed days that were written since their last build."""
        self._build_due(self._days("1" if site_ids is None else f"site_id IN {_in(site_ids)}"))

    def _build_due(self, days: list[tuple[int, date, int, int]]) -> bool:
        closed = date.today() - timedelta(_CLOSED_AFTER)
        due = [(s, d, g) for s, d, a, g in days if a >= g and d <= closed]
        for start in range(0, len(due), 1000):
            self._build_days(due[start : start + 1000])
        return bool(due)

    def _build_days(self, due: list[tuple[int, date, int]]) -> None:
        ((generation,),) = self._q(f"SELECT {_NOW}")  # before reading anything
        pairs = _in((s, d) for s, d, _ in due)
        where = f"(site_id, day) IN {pairs}"
        ins = f"INSERT INTO {self.db}.rollups SELECT site_id, day, {int(generation)}"
        self._q(f"{ins}, '', '', count(), uniqExact(visitor), sum(pageviews), "
                "countIf(pageviews <= 1 AND events = 0), sum(ended - started) "
                f"FROM {self.db}.visits FINAL WHERE {where} GROUP BY site_id, day")  # fmt: skip
        for dimension, column in DIMENSION_COLUMNS.items():
            self._q(f"{ins}, {literal(dimension)}, {_value(column)} AS value, count(), 0, 0, "
                    f"0, 0 FROM {self.db}.visits FINAL WHERE {where} AND {column} IS NOT NULL "
                    "GROUP BY site_id, day, value")  # fmt: skip
        # Pages: the hits of those days' visits (they fall on the visit's day, give or take
        # the site's offset from UTC: the bounds only prune).
        first, last = min(d for _, d, _ in due), max(d for _, d, _ in due)
        lower = int(datetime.combine(first - timedelta(2), time(), UTC).timestamp())
        upper = int(datetime.combine(last + timedelta(3), time(), UTC).timestamp())
        sites = _in(sorted({s for s, _, _ in due}))
        self._q(f"INSERT INTO {self.db}.rollups SELECT v.site_id, v.day, {int(generation)}, "
                f"'{_PAGE}', h.path, uniqExact(h.visit_id), 0, count(), 0, 0 "
                f"FROM {self.db}.hits AS h FINAL INNER JOIN (SELECT id, site_id, day "
                f"FROM {self.db}.visits FINAL WHERE {where}) AS v ON h.visit_id = v.id "
                f"WHERE h.site_id IN {sites} AND h.ts >= {lower} AND h.ts < {upper} "
                f"AND h.kind = {_PAGEVIEW} GROUP BY v.site_id, v.day, h.path")  # fmt: skip
        self._q(
            f"INSERT INTO {self.db}.rollup_days VALUES "
            + ",".join(f"({s},{literal(d)},{int(generation)})" for s, d, _ in due)
        )
        if any(g for _, _, g in due):  # earlier builds of these days are of no more use
            self._q(f"ALTER TABLE {self.db}.rollups DELETE WHERE {where} "
                    f"AND generation < {int(generation)} SETTINGS mutations_sync = 2")  # fmt: skip

    def _built(self, site: Site, period: Period) -> tuple[str, str]:
        """Conditions for the rollups to read and the visits to read raw: the period's days
        with a build newer than their last write, and the others (as ranges of days, which
        the primary key finds)."""
        where = f"site_id = {int(site.id)}"
        days = self._days(where)
        if self._build_due(days):
            days = self._days(where)
        start, end = period.start or date.min, period.end or date.max
        fresh = sorted((d, g) for _, d, a, g in days if g > a and start <= d <= end)
        if not fresh:
            return "0", ""
        built = f"{where} AND (day, generation) IN {_in(fresh)}"
        others = [f"day < {literal(fresh[0][0])}", f"day > {literal(fresh[-1][0])}"]
        for (before, _), (after, _) in pairwise(fresh):
            if after - before > timedelta(1):
                others.append(f"day BETWEEN {literal(before + timedelta(1))} AND "
                              f"{literal(after - timedelta(1))}")  # fmt: skip
        return built, f" AND ({' OR '.join(others)})"

    # --- reports --------------------------------------------------------------------------
    def totals(self, conn: Connection, site: Site, period: Period) -> Counts:
        built, raw = self._built(site, period)
        # Visitor hashes rotate daily: unique visitors are distinct (day, visitor) pairs,
        # so days add up.
        (row,) = self._q(
            "SELECT sum(a), sum(b), sum(c), sum(d), sum(e) FROM ("
            "SELECT toInt64(count()) AS a, toInt64(uniqExact(day, visitor)) AS b, "
            "toInt64(sum(pageviews)) AS c, toInt64(countIf(pageviews <= 1 AND events = 0)) "
            f"AS d, sum(ended - started) AS e FROM {self.db}.visits FINAL "
            f"WHERE {self._visits_in(site, period)}{raw} UNION ALL SELECT toInt64(sum(visits)), "
            "toInt64(sum(visitors)), toInt64(sum(pageviews)), toInt64(sum(bounces)), "
            f"sum(duration) FROM {self.db}.rollups WHERE {built} AND dimension = '')"
        )
        a, b, c, d, e = (int(n or 0) for n in row)
        return a, b, c, d, e

    def daily(self, conn: Connection, site: Site, period: Period) -> dict[date, int]:
        built, raw = self._built(site, period)
        rows = self._q(
            f"SELECT day, count() FROM {self.db}.visits FINAL "
            f"WHERE {self._visits_in(site, period)}{raw} GROUP BY day UNION ALL "
            f"SELECT day, visits FROM {self.db}.rollups WHERE {built} AND dimension = ''"
        )
        return {_day(d): int(n) for d, n in sorted(rows) if int(n)}

    def top(
        self, conn: Connection, site: Site, period: Period, dimension: str, limit: int
    ) -> list[tuple[str, int]]:
        built, raw = self._built(site, period)
        column = DIMENSION_COLUMNS[dimension]
        rows = self._q(
            f"SELECT value, sum(n) AS total FROM (SELECT {_value(column)} AS value, count() AS n "
            f"FROM {self.db}.visits FINAL WHERE {self._visits_in(site, period)}{raw} AND "
            f"{column} IS NOT NULL GROUP BY value UNION ALL SELECT value, visits "
            f"FROM {self.db}.rollups WHERE {built} AND dimension = {literal(dimension)}) "
            f"GROUP BY value HAVING total > 0 ORDER BY total DESC, value LIMIT {int(limit)}"
        )
        return [(str(v), int(n)) for v, n in rows]

    def _page_views(self, site: Site, period: Period, visit_filter: str = "") -> str:
        """Pageviews of the period's visits, each with its visit's organization."""
        return (
            f"SELECT h.visit_id AS visit_id, h.path AS path, v.org_id AS org_id "
            f"FROM {self.db}.hits AS h FINAL INNER JOIN ("
            f"SELECT id, org_id FROM {self.db}.visits FINAL "
            f"WHERE {self._visits_in(site, period)}{visit_filter}) AS v ON h.visit_id = v.id "
            f"WHERE {self._hits_in(site, period, 'h')} AND h.kind = {_PAGEVIEW}"
        )

    def top_pages(
        self, conn: Connection, site: Site, period: Period, limit: int
    ) -> list[tuple[str, int, int]]:
        built, raw = self._built(site, period)
        views = self._page_views(site, period, raw)
        # A visit is of one day: visits that viewed a page add up over days.
        rows = self._q(
            "SELECT path, sum(n) AS total, sum(v) FROM ("
            f"SELECT path, count() AS n, uniqExact(visit_id) AS v FROM ({views}) GROUP BY path "
            f"UNION ALL SELECT value, pageviews, visits FROM {self.db}.rollups "
            f"WHERE {built} AND dimension = '{_PAGE}') "
            f"GROUP BY path ORDER BY total DESC, path LIMIT {int(limit)}"
        )
        return [(str(p), int(n), int(v)) for p, n, v in rows]

    def org_days(self, conn: Connection, site: Site, period: Period) -> FromClause:
        rows = self._q(
            "SELECT org_id, count(), uniqExact(day, visitor), sum(pageviews), max(ended) "
            f"FROM {self.db}.visits FINAL WHERE {self._visits_in(site, period)} "
            "AND org_id IS NOT NULL GROUP BY org_id"
        )
        # Corrections (merges, names, types, hidden) live in SQL: the numbers go there, into
        # a temporary table of this connection, and the same query as on SQL applies them.
        conn.execute(text(
            "CREATE TEMPORARY TABLE IF NOT EXISTS spoor_ch_org_days (org_id BIGINT, "
            "visits BIGINT, visitors BIGINT, pageviews BIGINT, last_seen BIGINT)"
        ))  # fmt: skip
        conn.execute(_STAGE.delete())
        if rows:
            names = _STAGE.c.keys()
            conn.execute(_STAGE.insert(), [dict(zip(names, r, strict=True)) for r in rows])
        return _STAGE

    def org_pages(
        self, conn: Connection, site: Site, period: Period, org_ids: list[int]
    ) -> list[tuple[int, str, int]]:
        if not org_ids:
            return []
        views = self._page_views(site, period, f" AND org_id IN {_in(org_ids)}")
        rows = self._q(f"SELECT org_id, path, count() FROM ({views}) GROUP BY org_id, path")
        return [(int(o), str(p), int(n)) for o, p, n in rows]

    def orgs_with_page(self, conn: Connection, site: Site, period: Period, pattern: str) -> Any:
        views = self._page_views(site, period, " AND org_id IS NOT NULL")
        rows = self._q(f"SELECT DISTINCT org_id FROM ({views}) WHERE path LIKE {literal(pattern)}")
        return [int(r[0]) for r in rows]

    def trails(
        self, conn: Connection, site: Site, period: Period, org_ids: list[int], limit: int
    ) -> tuple[int, list[TrailRow]]:
        where = f"{self._visits_in(site, period)} AND org_id IN {_in(org_ids)}"
        ((total,),) = self._q(f"SELECT count() FROM {self.db}.visits FINAL WHERE {where}")
        rows = self._q(
            "SELECT id, started, ended, pageviews, source, channel, country, device, browser "
            f"FROM {self.db}.visits FINAL WHERE {where} ORDER BY started DESC LIMIT {int(limit)}"
        )
        return int(total), [tuple(r) for r in rows]

    def page_reads(
        self, conn: Connection, visit_ids: list[int]
    ) -> list[tuple[int, int, str, str | None]]:
        if not visit_ids:
            return []
        rows = self._q(
            f"SELECT visit_id, ts, path, title FROM {self.db}.hits FINAL "
            f"WHERE visit_id IN {_in(visit_ids)} AND kind = {_PAGEVIEW} "
            "ORDER BY visit_id, ts, key"
        )
        return [(int(v), int(ts), str(p), t) for v, ts, p, t in rows]

    def lead_hits(self, conn: Connection, site_ids: list[int] | None) -> list[SignalRow] | None:
        scope = f" AND h.site_id IN {_in(site_ids)}" if site_ids else ""
        if site_ids is not None and not site_ids:
            return []
        rows = self._q(
            "SELECT h.site_id, v.org_id, h.ts, v.day, h.kind, h.path, v.visitor, hex(h.key) "
            f"FROM {self.db}.hits AS h FINAL INNER JOIN (SELECT id, org_id, day, visitor "
            f"FROM {self.db}.visits FINAL WHERE org_id IS NOT NULL) AS v ON h.visit_id = v.id "
            f"WHERE h.kind IN {_in(_SIGNAL_KINDS)}{scope}"
        )
        return [
            (int(s), int(o), int(ts), _day(d), int(k), str(p), int(vis), bytes.fromhex(key))
            for s, o, ts, d, k, p, vis, key in rows
        ]

    def rebuild_rollups(
        self, conn: Connection, site_ids: list[int] | None, days: tuple[date, date] | None = None
    ) -> None:
        # The erasures here mark the days they change: a span adds nothing to those.
        if days is None:
            scope = "1" if site_ids is None else f"site_id IN {_in(site_ids)}"
            self._mark(f"SELECT DISTINCT site_id, day FROM {self.db}.visits WHERE {scope} "
                       f"UNION DISTINCT SELECT site_id, day FROM {self.db}.rollup_days "
                       f"WHERE {scope}")  # fmt: skip
        self._build(site_ids)

    def _mark_days(self, days: set[tuple[int, date]]) -> None:
        if days:
            self._mark(f"SELECT * FROM values('site_id Int32, day Date', "
                       f"{','.join(literal(d) for d in sorted(days))})")  # fmt: skip

    # --- privacy --------------------------------------------------------------------------
    # Deletes are mutations that rewrite the parts holding the rows, every version of a
    # visit included, and return only when done (mutations_sync): afterwards the rows are
    # gone from disk, not hidden by a mask as a lightweight DELETE leaves them until merges.
    # Counts come first, with FINAL, so a dry run and the run report the same numbers.
    # A mutation is heavy and has no transaction to keep short: `limit` is not used.
    def _mutate(self, table: str, action: str, where: str) -> None:
        # A mutation rewrites whole parts: on a big table it takes longer than a query.
        self.transport.query(f"ALTER TABLE {self.db}.{table} {action} WHERE {where} "
                             "SETTINGS mutations_sync = 2", timeout=MUTATION_TIMEOUT)  # fmt: skip

    def _count(self, table: str, where: str) -> int:
        ((n,),) = self._q(f"SELECT count() FROM {self.db}.{table} FINAL WHERE {where}")
        return int(n)

    @staticmethod
    def _picked(picked: Visits) -> str:
        where = ["1"]
        if picked.site_ids is not None:
            where.append(f"site_id IN {_in(picked.site_ids)}")
        if picked.org_ids is not None:
            where.append(f"org_id IN {_in(picked.org_ids)}")
        if picked.ip_prefixes is not None:
            where.append(f"ip_prefix IN {_in(picked.ip_prefixes)}")
        if picked.first_day is not None:
            where.append(f"day >= {literal(picked.first_day)}")
        if picked.last_day is not None:
            where.append(f"day <= {literal(picked.last_day)}")
        return " AND ".join(where)

    def _hits_of(self, picked: Visits) -> str:
        where = f"visit_id IN (SELECT id FROM {self.db}.visits WHERE {self._picked(picked)})"
        if picked.site_ids is not None:  # the hits' sort key: parts of other sites are skipped
            where = f"site_id IN {_in(picked.site_ids)} AND {where}"
        return where

    def erase_visits(
        self, conn: Connection, picked: Visits, *, dry_run: bool = False, limit: int | None = None
    ) -> Erased:
        where, hits_of = self._picked(picked), self._hits_of(picked)
        erased = Erased(visits=self._count("visits", where), hits=self._count("hits", hits_of))
        if not dry_run:
            erased.days = self._days_of(f"SELECT DISTINCT site_id, day FROM {self.db}.visits "
                                        f"WHERE {where}")  # fmt: skip
            if erased.hits:  # first: the visits name them
                self._mutate("hits", "DELETE", hits_of)
            if erased.visits:
                self._mutate("visits", "DELETE", where)
            self._mark_days(erased.days)  # after: the rollups' mark follows the change
        return erased

    def _days_of(self, query: str) -> set[tuple[int, date]]:
        return {(int(s), _day(d)) for s, d in self._q(query)}

    def erase_hits(
        self, conn: Connection, site_id: int, before: int, *, visits_before: date | None = None,
        dry_run: bool = False, limit: int | None = None,
    ) -> Erased:  # fmt: skip
        where = f"site_id = {int(site_id)} AND ts < {int(before)}"
        if visits_before is not None:
            where += (f" AND visit_id NOT IN (SELECT id FROM {self.db}.visits WHERE "
                      f"site_id = {int(site_id)} AND day < {literal(visits_before)})")  # fmt: skip
        erased = Erased(hits=self._count("hits", where))
        if erased.hits and not dry_run:
            erased.days = self._days_of(
                f"SELECT DISTINCT site_id, day FROM {self.db}.visits WHERE site_id = "
                f"{int(site_id)} AND id IN (SELECT visit_id FROM {self.db}.hits WHERE {where})"
            )
            self._mutate("hits", "DELETE", where)
            self._mark_days(erased.days)
        return erased

    def blank_ip_prefixes(
        self, conn: Connection, picked: Visits, *, dry_run: bool = False, limit: int | None = None
    ) -> Erased:
        where = f"{self._picked(picked)} AND ip_prefix IS NOT NULL"
        erased = Erased(ip_prefixes=self._count("visits", where))
        if erased.ip_prefixes and not dry_run:
            self._mutate("visits", "UPDATE ip_prefix = NULL", where)
        return erased

    def ip_prefixes(self, conn: Connection) -> set[str]:
        rows = self._q(
            f"SELECT DISTINCT ip_prefix FROM {self.db}.visits WHERE ip_prefix IS NOT NULL"
        )
        return {str(r[0]) for r in rows}

    def hit_keys(self, conn: Connection, picked: Visits) -> list[bytes]:
        rows = self._q(f"SELECT DISTINCT hex(key) FROM {self.db}.hits "
                       f"WHERE {self._hits_of(picked)}")  # fmt: skip
        return [bytes.fromhex(r[0]) for r in rows]

    def orgs_with_visits(self, conn: Connection, org_ids: list[int]) -> set[int]:
        found: set[int] = set()
        for start in range(0, len(org_ids), 5000):
            part = org_ids[start : start + 5000]
            rows = self._q(
                f"SELECT DISTINCT org_id FROM {self.db}.visits WHERE org_id IN {_in(part)}"
            )
            found.update(int(r[0]) for r in rows)
        return found

    def export_rows(self, conn: Connection, picked: Visits) -> dict[str, list[dict[str, Any]]]:
        rows = self._q(f"SELECT {','.join(VISIT_COLUMNS)} FROM {self.db}.visits FINAL "
                       f"WHERE {self._picked(picked)} ORDER BY id")  # fmt: skip
        found = [dict(zip(VISIT_COLUMNS, r, strict=True)) for r in rows]
        for visit in found:
            visit["day"] = _day(visit["day"])
        columns = ",".join("hex(key)" if c == "key" else c for c in HIT_COLUMNS)
        rows = self._q(f"SELECT {columns} FROM {self.db}.hits FINAL "
                       f"WHERE {self._hits_of(picked)} ORDER BY visit_id, ts, key")  # fmt: skip
        hits = [dict(zip(HIT_COLUMNS, r, strict=True)) for r in rows]
        for hit in hits:
            hit["key"] = bytes.fromhex(hit["key"])
        return {"visits": found, "hits": hits}

    # --- backup (ops/backup.py) -------------------------------------------------------------
    COLUMNS: ClassVar[dict[str, tuple[str, ...]]] = {
        "visits": (*VISIT_COLUMNS, "version"),
        "hits": HIT_COLUMNS,
    }

    def dump(self, dest: Path) -> dict[str, int]:
        """Each table's rows, merged (FINAL), to dest/TABLE.native; the rows written. Only
        chdb writes files here: a server would write them on its own disk."""
        if not self.embedded:
            raise ValueError("only the ClickHouse inside this process (chdb) dumps to files")
        rows = {}
        for table, columns in self.COLUMNS.items():
            path = dest / f"{table}.native"
            self._q(f"SELECT {','.join(columns)} FROM {self.db}.{table} FINAL "
                    f"INTO OUTFILE {literal(str(path))} FORMAT Native")  # fmt: skip
            ((n,),) = self._q(f"SELECT count() FROM file({literal(str(path))}, Native)")
            rows[table] = int(n)
        return rows

    def load(self, source: Path) -> None:
        """Add the rows of files written by `dump` (chdb only, as `dump`)."""
        if not self.embedded:
            raise ValueError("only the ClickHouse inside this process (chdb) loads files")
        for table, columns in self.COLUMNS.items():
            names = ",".join(columns)
            path = literal(str(source / f"{table}.native"))
            self._q(f"INSERT INTO {self.db}.{table} ({names}) SELECT {names} "
                    f"FROM file({path}, Native)")  # fmt: skip
        self._mark(f"SELECT DISTINCT site_id, day FROM {self.db}.visits")  # rollups: rebuilt

    def empty(self) -> None:
        for table in (*self.COLUMNS, "written", "rollup_days", "rollups"):
            self._q(f"TRUNCATE TABLE {self.db}.{table}")

    def counts(self) -> tuple[int, int]:
        """Hits and visits stored (merged duplicates not counted)."""
        ((h,),) = self._q(f"SELECT count() FROM {self.db}.hits FINAL")
        ((v,),) = self._q(f"SELECT count() FROM {self.db}.visits FINAL")
        return int(h), int(v)
