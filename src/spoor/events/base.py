"""What the application needs from an event store (hits and visits), in one Protocol.

Two implementations: sql.py (the SQL database, with the daily rollups every write keeps
current) and clickhouse.py (MergeTree tables, aggregated when read). Every method gets
the SQL connection of the caller: the SQL store works in it (one transaction with the
rest of a batch); ClickHouse uses it only to stage results the SQL side joins with.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import Connection, FromClause

from spoor.analytics.query import Period
from spoor.sites import Site

if TYPE_CHECKING:
    from spoor.ingest.sessions import Visit
    from spoor.ingest.store import Batch

# visits, visitors (distinct per day, summed), pageviews, bounces, duration (seconds)
Counts = tuple[int, int, int, int, int]
# A visit of a company's timeline: id, started, ended, pageviews, source, channel,
# country, device, browser.
TrailRow = tuple[int, int, int, int, str | None, str, str | None, str | None, str | None]
# A ledger row: site_id, org_id, ts, day, kind, path, visitor, hit key.
SignalRow = tuple[int, int, int, date, int, str, int, bytes]


@dataclass(frozen=True)
class Visits:
    """Stored visits picked for a privacy operation (privacy/): every condition given holds,
    None is no condition. A visit's hits go with it, wherever the store keeps them."""

    site_ids: tuple[int, ...] | None = None
    org_ids: tuple[int, ...] | None = None
    ip_prefixes: tuple[str, ...] | None = None
    first_day: date | None = None  # site-local days, inclusive
    last_day: date | None = None


@dataclass
class Erased:
    """What an erasure deleted (or, in a dry run, would delete)."""

    visits: int = 0
    hits: int = 0
    ip_prefixes: int = 0  # truncated IPs blanked (the visits stay)
    # (site_id, day) pairs whose rollups must be recomputed; a store keeps none for data it
    # does not roll up.
    days: set[tuple[int, date]] = field(default_factory=set)


class EventStore(Protocol):
    name: str
    # True when the store lives inside this process (chdb): nothing else may open it, so
    # the live consumer runs as a thread instead of a process.
    embedded: bool

    # --- ingest ---------------------------------------------------------------------------
    def write(self, conn: Connection, batch: Batch) -> None:
        """Hits and visits of a batch; replaying a batch must change nothing."""

    def load_visit(self, conn: Connection, site_id: int, visitor: int, since: int) -> Visit | None:
        """The latest stored visit of a visitor that ended at or after `since`."""

    def latest_hit(self, conn: Connection, site_id: int) -> int | None: ...

    def latest_visit_end(self, conn: Connection, site_id: int) -> int | None: ...

    def existing_keys(self, conn: Connection, site_id: int, keys: list[bytes]) -> set[bytes]: ...

    # --- reports --------------------------------------------------------------------------
    def totals(self, conn: Connection, site: Site, period: Period) -> Counts: ...

    def daily(self, conn: Connection, site: Site, period: Period) -> dict[date, int]: ...

    def top(
        self, conn: Connection, site: Site, period: Period, dimension: str, limit: int
    ) -> list[tuple[str, int]]: ...

    def top_pages(
        self, conn: Connection, site: Site, period: Period, limit: int
    ) -> list[tuple[str, int, int]]:
        """path, pageviews, visits that viewed it."""

    def org_days(self, conn: Connection, site: Site, period: Period) -> FromClause:
        """Rows (org_id, visits, visitors, pageviews, last_seen) of the site's visits in the
        period, per organization as resolved, for the SQL side to apply corrections to."""

    def org_pages(
        self, conn: Connection, site: Site, period: Period, org_ids: list[int]
    ) -> list[tuple[int, str, int]]:
        """org_id (as resolved), path, pageviews, for these organizations."""

    def orgs_with_page(self, conn: Connection, site: Site, period: Period, pattern: str) -> Any:
        """Organizations (as resolved) that viewed a page whose path is LIKE `pattern`
        (backslash escapes): a subquery or a list, for `column.in_()`."""

    def trails(
        self, conn: Connection, site: Site, period: Period, org_ids: list[int], limit: int
    ) -> tuple[int, list[TrailRow]]:
        """How many visits these organizations made, and the latest `limit` of them."""

    def page_reads(
        self, conn: Connection, visit_ids: list[int]
    ) -> list[tuple[int, int, str, str | None]]:
        """visit_id, ts, path, title of these visits' pageviews, by visit and time."""

    def lead_hits(self, conn: Connection, site_ids: list[int] | None) -> list[SignalRow] | None:
        """Pageviews and forms of identified visits (the ledger's source); None: the store
        rebuilds the ledger inside the SQL database itself."""

    def rebuild_rollups(
        self, conn: Connection, site_ids: list[int] | None, days: tuple[date, date] | None = None
    ) -> None:
        """Recompute the store's rollups (all sites or these; all days or first..last)."""

    # --- privacy (retention, erasure, export) ---------------------------------------------
    # With `dry_run` they count instead. `limit` bounds the visits (hits, prefixes) of one
    # call where deleting is transactional, so retention can work in short transactions;
    # a store that deletes by mutation (ClickHouse) does all in one and may exceed it.
    def erase_visits(
        self, conn: Connection, picked: Visits, *, dry_run: bool = False, limit: int | None = None
    ) -> Erased:
        """The picked visits with their hits; with `limit`, the oldest days first."""

    def erase_hits(
        self, conn: Connection, site_id: int, before: int, *, visits_before: date | None = None,
        dry_run: bool = False, limit: int | None = None,
    ) -> Erased:  # fmt: skip
        """Hits of the site with a time before `before` (their visits stay), except those of
        visits of days before `visits_before`: they go, and are counted, with their visits."""

    def blank_ip_prefixes(
        self, conn: Connection, picked: Visits, *, dry_run: bool = False, limit: int | None = None
    ) -> Erased:
        """Forget the truncated IP of the picked visits that keep one."""

    def ip_prefixes(self, conn: Connection) -> set[str]:
        """The distinct truncated IPs kept."""

    def hit_keys(self, conn: Connection, picked: Visits) -> list[bytes]:
        """The keys of the picked visits' hits (the lead ledger names hits by key)."""

    def orgs_with_visits(self, conn: Connection, org_ids: list[int]) -> set[int]:
        """Those of the organizations that stored visits still name."""

    def export_rows(self, conn: Connection, picked: Visits) -> dict[str, list[dict[str, Any]]]:
        """{"visits": ..., "hits": ...}: every column of the picked visits and their hits."""
