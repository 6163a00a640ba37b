"""What every tracking source produces, and the errors they raise."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from spoor.ingest.rawhit import HitKind

MAX_URL = 2000


class BadPayload(ValueError):
    """A request that cannot be a hit; the message is the reason sent back (4xx)."""


@dataclass
class Incoming:
    """One hit as a source understood it, before its site is looked up."""

    site: str  # public id, numeric id or domain, as the source names the site
    url: str  # absolute URL of the page
    kind: HitKind = HitKind.PAGEVIEW
    referrer: str | None = None
    title: str | None = None
    name: str | None = None  # event name
    props: dict[str, str] = field(default_factory=dict)
    user_agent: str | None = None  # given in the payload (Matomo `ua`), else the header's
    ip: str | None = None  # given in the payload (Matomo `cip`, with a token only)
    ts: float | None = None  # given in the payload (Matomo `cdt`, with a token only)


def check_url(url: object, what: str = "url") -> str:
    """An absolute http(s) URL of at most 2,000 bytes, or BadPayload."""
    if not isinstance(url, str) or not url:
        raise BadPayload(f"{what} is missing")
    if len(url.encode("utf-8", "surrogatepass")) > MAX_URL:
        raise BadPayload(f"{what} is longer than {MAX_URL} bytes")
    if url.startswith("data:"):
        raise BadPayload(f"{what} is a data: URL")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadPayload(f"{what} must be an absolute http(s) URL")
    return url


def text(value: object, limit: int = 500) -> str | None:
    """An optional short string field."""
    if value is None or value == "":
        return None
    if not isinstance(value, str | int | float):
        raise BadPayload("a text field has the wrong type")
    return str(value)[:limit]
