"""What the application needs from an event store (hits and visits), in one Protocol.

Two implementations: sql.py (the SQL database, with the daily rollups every write keeps
current) and clickhouse.py (MergeTree tables, aggregated when read). Every method gets
the SQL connection of the caller: the SQL store works in it (one transaction with the
rest of a batch); ClickHouse uses it only to stage results the SQL side joins with.
"""

from __future__ import annotations

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

    def rebuild_rollups(self, conn: Connection, site_ids: list[int] | None) -> None: ...
