"""RawHit: what every source (log line, tracker, Matomo, Plausible, Umami) turns into."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class HitKind(IntEnum):
    PAGEVIEW = 1
    EVENT = 2
    DOWNLOAD = 3
    OUTLINK = 4
    # A form submission: a POST answered with a redirect (post/redirect/get) in logs.
    FORM = 5


@dataclass(slots=True)
class RawHit:
    site_id: int
    ts: float  # when the hit happened, epoch seconds UTC; steps never read the clock
    ip: str
    user_agent: str
    url: str  # path with query, or an absolute URL
    key: bytes  # 16-byte identity of the source record: the same record is stored once
    method: str = "GET"
    status: int | None = None
    referrer: str | None = None
    host: str | None = None
    kind: HitKind = HitKind.PAGEVIEW
    title: str | None = None
    name: str | None = None  # event name for EVENT hits
    props: dict[str, str] | None = None  # event properties, e.g. a link's target
