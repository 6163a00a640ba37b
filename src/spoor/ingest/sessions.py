"""Sessionizing hits into visits, the way Matomo defines a visit.

A visit ends after the inactivity timeout, at midnight in the site's time zone, and when
a hit arrives with a different campaign. Open visits live in memory; a visitor not in
memory is looked up in the store (a restarted server or a resumed import continues the
visit it had), unless the store cannot hold a visit that recent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo


@dataclass(slots=True)
class Visit:
    id: int
    site_id: int
    visitor: int
    day: date
    started: int
    ended: int
    entry_path: str
    exit_path: str
    channel: str
    source: str | None
    referrer: str | None
    campaign_key: str | None
    utm: tuple[str | None, str | None, str | None, str | None, str | None]
    browser: str | None
    os: str | None
    device: str
    country: str | None = None
    ip_prefix: str | None = None
    org_id: int | None = None
    pageviews: int = 0
    events: int = 0
    dirty: bool = field(default=True)

    @property
    def duration(self) -> int:
        return self.ended - self.started


def visit_id(site_id: int, visitor: int, started: int) -> int:
    digest = hashlib.blake2b(f"{site_id}:{visitor}:{started}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") & 0x7FFF_FFFF_FFFF_FFFF


class LocalDays:
    """Epoch seconds -> local date in one time zone, cached per quarter hour."""

    def __init__(self, timezone: str) -> None:
        self._zone = ZoneInfo(timezone)
        self._cache: dict[int, date] = {}

    def __call__(self, ts: float) -> date:
        bucket = int(ts // 900)  # every UTC offset in use is a multiple of 15 minutes
        day = self._cache.get(bucket)
        if day is None:
            day = datetime.fromtimestamp(bucket * 900, self._zone).date()
            if len(self._cache) > 100_000:
                self._cache.clear()
            self._cache[bucket] = day
        return day


StoredVisitLookup = Callable[[int, int, int], Visit | None]


class SessionTracker:
    """Open visits per (site, visitor); `prune` bounds memory on time-ordered input."""

    def __init__(self, timeout_seconds: int, lookup: StoredVisitLookup | None = None) -> None:
        self.timeout = timeout_seconds
        self._open: dict[tuple[int, int], Visit] = {}
        self._lookup = lookup
        self._closed: list[Visit] = []
        # The latest end of a stored visit when tracking began (None: nothing stored).
        # Hits later than it by more than the timeout cannot continue a stored visit, so
        # their lookups are skipped: on a fresh import that is nearly every lookup.
        self.store_horizon: int | None = None

    def __len__(self) -> int:
        return len(self._open)

    def find(
        self, site_id: int, visitor: int, ts: int, day: date, campaign: str | None
    ) -> Visit | None:
        """The open visit this hit continues, if any."""
        visit = self._open.get((site_id, visitor))
        if visit is None and self._lookup is not None and self._may_be_stored(ts):
            visit = self._lookup(site_id, visitor, ts - self.timeout)
            if visit is not None:
                self._open[(site_id, visitor)] = visit
        if visit is None:
            return None
        if ts - visit.ended > self.timeout or visit.day != day:
            return None
        if campaign is not None and campaign != visit.campaign_key:
            return None
        return visit

    def _may_be_stored(self, ts: int) -> bool:
        return self.store_horizon is not None and ts - self.timeout <= self.store_horizon

    def open(self, visit: Visit) -> None:
        previous = self._open.get((visit.site_id, visit.visitor))
        if previous is not None and previous.dirty:
            self._closed.append(previous)
        self._open[(visit.site_id, visit.visitor)] = visit

    def dirty(self) -> list[Visit]:
        """Visits changed since the last call (closed ones included), marked clean."""
        out = self._closed
        self._closed = []
        for visit in self._open.values():
            if visit.dirty:
                out.append(visit)
        for visit in out:
            visit.dirty = False
        return out

    def prune(self, now: int) -> None:
        """Forget visits that can no longer continue (call after `dirty()` was written)."""
        cutoff = now - self.timeout
        stale = [k for k, v in self._open.items() if v.ended < cutoff and not v.dirty]
        for key in stale:
            del self._open[key]
