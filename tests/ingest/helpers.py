"""Building hits and a pipeline for tests, without a database unless one is given."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime

from spoor.ingest.pipeline import Context, Pipeline, SiteRules
from spoor.ingest.rawhit import RawHit
from spoor.ingest.sessions import SessionTracker
from spoor.ingest.visitors import VisitorHasher

CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)


def epoch(text: str) -> float:
    """'2026-03-02 10:00:00' (UTC) -> epoch seconds."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def fixed_salt(day: date) -> bytes:
    return hashlib.sha256(day.isoformat().encode()).digest()


def make_pipeline(timezone: str = "UTC", **rules: object) -> Pipeline:
    site = SiteRules(id=1, domain="www.example.com", timezone=timezone, **rules)  # type: ignore[arg-type]
    return Pipeline(Context(site, VisitorHasher(fixed_salt), SessionTracker(30 * 60)))


def raw(
    url: str = "/",
    when: str = "2026-03-02 10:00:00",
    ip: str = "198.18.0.10",
    ua: str = CHROME,
    **fields: object,
) -> RawHit:
    ts = epoch(when)
    key = hashlib.blake2b(f"{url}{ts}{ip}{ua}{fields}".encode(), digest_size=16).digest()
    return RawHit(site_id=1, ts=ts, ip=ip, user_agent=ua, url=url, key=key, **fields)  # type: ignore[arg-type]
