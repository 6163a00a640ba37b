"""The ClickHouse event store: hits and visits in MergeTree tables, reports aggregated when
read (no rollups to keep: scanning millions of rows a second is what ClickHouse is for).

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
from datetime import date, timedelta
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
)


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
    escaped = str(value).replace("\\", "\\\\").replace("'", "\\'").replace("\0", "\\0")
    return f"'{escaped}'"


def _in(values: Iterable[Any]) -> str:
    return "(" + ",".join(literal(v) for v in values) + ")"


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

    # --- reports --------------------------------------------------------------------------
    def totals(self, conn: Connection, site: Site, period: Period) -> Counts:
        # Visitor hashes rotate daily: unique visitors are distinct (day, visitor) pairs.
        (row,) = self._q(
            "SELECT count(), uniqExact(day, visitor), sum(pageviews), "
            "countIf(pageviews <= 1 AND events = 0), sum(ended - started) "
            f"FROM {self.db}.visits FINAL WHERE {self._visits_in(site, period)}"
        )
        a, b, c, d, e = (int(n or 0) for n in row)
        return a, b, c, d, e

    def daily(self, conn: Connection, site: Site, period: Period) -> dict[date, int]:
        rows = self._q(
            f"SELECT day, count() FROM {self.db}.visits FINAL "
            f"WHERE {self._visits_in(site, period)} GROUP BY day ORDER BY day"
        )
        return {_day(d): int(n) for d, n in rows}

    def top(
        self, conn: Connection, site: Site, period: Period, dimension: str, limit: int
    ) -> list[tuple[str, int]]:
        column = DIMENSION_COLUMNS[dimension]
        size = getattr(visits.c[column].type, "length", None)
        value = f"leftUTF8(assumeNotNull({column}), {size})" if size else f"assumeNotNull({column})"
        rows = self._q(
            f"SELECT {value} AS value, count() AS n FROM {self.db}.visits FINAL "
            f"WHERE {self._visits_in(site, period)} AND {column} IS NOT NULL "
            f"GROUP BY value ORDER BY n DESC, value LIMIT {int(limit)}"
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
        views = self._page_views(site, period)
        rows = self._q(
            f"SELECT path, count() AS n, uniqExact(visit_id) FROM ({views}) "
            f"GROUP BY path ORDER BY n DESC, path LIMIT {int(limit)}"
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
        return None  # nothing to rebuild: reports aggregate the tables themselves

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
            if erased.hits:  # first: the visits name them
                self._mutate("hits", "DELETE", hits_of)
            if erased.visits:
                self._mutate("visits", "DELETE", where)
        return erased

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
            self._mutate("hits", "DELETE", where)
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

    def empty(self) -> None:
        for table in self.COLUMNS:
            self._q(f"TRUNCATE TABLE {self.db}.{table}")

    def counts(self) -> tuple[int, int]:
        """Hits and visits stored (merged duplicates not counted)."""
        ((h,),) = self._q(f"SELECT count() FROM {self.db}.hits FINAL")
        ((v,),) = self._q(f"SELECT count() FROM {self.db}.visits FINAL")
        return int(h), int(v)
