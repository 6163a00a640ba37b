"""The ingest pipeline: RawHit -> named steps -> Hit attached to a Visit, or Dropped(reason).

Every source (log import, live tracker endpoints) runs the same steps. A step is a small
function `(hit, ctx) -> Hit | Dropped`; the first step that drops a hit ends its way
through the pipeline and the reason is counted. Steps never read the clock: the time
of a hit travels in the hit.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from spoor.ingest.bots import is_bot
from spoor.ingest.rawhit import HitKind, RawHit
from spoor.ingest.referrers import NO_CAMPAIGN, Campaign, campaign_from_query, classify, is_internal
from spoor.ingest.sessions import LocalDays, SessionTracker, Visit, visit_id
from spoor.ingest.useragents import Client, parse_client
from spoor.ingest.visitors import VisitorHasher, truncate_ip
from spoor.settings import Network

if TYPE_CHECKING:
    from spoor.identify.resolver import Resolution


class DropReason(StrEnum):
    INVALID_IP = "invalid_ip"
    INVALID_URL = "invalid_url"
    BOT = "bot"
    METHOD = "method"
    STATIC = "static"
    HTTP_ERROR = "http_error"
    REDIRECT = "redirect"
    EXCLUDED_PATH = "excluded_path"
    EXCLUDED_IP = "excluded_ip"
    DUPLICATE = "duplicate"  # already stored (an overlapping log imported again)


@dataclass(slots=True)
class Dropped:
    reason: DropReason


class OrgResolver(Protocol):
    """Resolves an address to an organization (spoor.identify.resolver.Resolver)."""

    def resolve(self, ip: str, hostname: str | None = None) -> Resolution | None: ...


@dataclass(slots=True)
class Hit:
    raw: RawHit
    path: str = ""
    query: str = ""
    campaign: Campaign = NO_CAMPAIGN
    client: Client | None = None
    visitor: int = 0
    visitor_before: int = 0  # the same visitor under yesterday's salt
    ip_prefix: str | None = None
    org: Resolution | None = None
    visit: Visit | None = None


@dataclass(frozen=True)
class SiteRules:
    """What the pipeline needs to know about a site."""

    id: int
    domain: str
    timezone: str
    exclude_paths: tuple[re.Pattern[str], ...] = ()
    exclude_ips: tuple[Network, ...] = ()
    keep_static: bool = False


@dataclass
class Context:
    site: SiteRules
    hasher: VisitorHasher | None  # None where only SESSION_STEPS run
    sessions: SessionTracker | None  # None where only PER_HIT_STEPS run
    keep_ip_prefix: bool = False
    resolver: OrgResolver | None = None  # None: no IP data imported yet
    # Reverse DNS names looked up ahead for a batch of hits (None: reverse DNS is off).
    hostnames: dict[str, str | None] | None = None
    local_day: LocalDays = field(init=False)

    def __post_init__(self) -> None:
        self.local_day = LocalDays(self.site.timezone)


Step = Callable[[Hit, Context], "Hit | Dropped"]

_STATIC_EXTENSIONS = frozenset(
    (
        "css js mjs map png jpg jpeg gif webp avif svg ico bmp tif tiff woff woff2 ttf otf eot "
        "mp3 mp4 webm ogg wav flac m4a mov avi swf json xml txt rss atom csv"
    ).split()
)
_FORM_METHODS = frozenset({"POST"})
_PAGE_METHODS = frozenset({"GET", ""})


def _is_ip(text: str) -> bool:
    # inet_pton is C and ten times faster than ipaddress for the common valid case.
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in text else socket.AF_INET, text)
    except (OSError, ValueError):
        return False
    return True


_SURROGATES = re.compile("[\ud800-\udfff]")


def _clean(text: str) -> str:
    """Text any database stores: no NUL, no lone surrogates (from JSON \\ud800 escapes)."""
    if text.isascii():
        return text.replace("\x00", "") if "\x00" in text else text
    # Lone surrogates become U+FFFD (a "?" would start a query string in a URL).
    return _SURROGATES.sub("\ufffd", text).replace("\x00", "")


def validate(hit: Hit, ctx: Context) -> Hit | Dropped:
    raw = hit.raw
    if raw.ip.startswith("::ffff:") and "." in raw.ip:
        raw.ip = raw.ip[7:]  # an IPv4 client seen through an IPv6 socket
    if not _is_ip(raw.ip):
        return Dropped(DropReason.INVALID_IP)
    raw.url = _clean(raw.url)
    raw.user_agent = _clean(raw.user_agent)
    if raw.referrer:
        raw.referrer = _clean(raw.referrer)
    if raw.host:
        raw.host = _clean(raw.host)
    if raw.title:
        raw.title = _clean(raw.title)
    if raw.name:
        raw.name = _clean(raw.name)
    url = raw.url
    if url.startswith(("http://", "https://")):
        rest = url.split("://", 1)[1]
        slash = rest.find("/")
        url = rest[slash:] if slash >= 0 else "/"
    if not url.startswith("/") or len(url) > 8192:
        return Dropped(DropReason.INVALID_URL)
    url = url.split("#", 1)[0]
    path, _, query = url.partition("?")
    hit.path = path or "/"
    hit.query = query
    return hit


def drop_bot(hit: Hit, ctx: Context) -> Hit | Dropped:
    return Dropped(DropReason.BOT) if is_bot(hit.raw.user_agent) else hit


def drop_excluded(hit: Hit, ctx: Context) -> Hit | Dropped:
    """Matomo's importer defaults: only successful page requests and form posts count."""
    raw, site = hit.raw, ctx.site
    status = raw.status
    if raw.method in _FORM_METHODS:
        # Post/redirect/get: a form post answered 2xx or 3xx is a submission.
        if status is not None and status >= 400:
            return Dropped(DropReason.HTTP_ERROR)
        if raw.kind == HitKind.PAGEVIEW:
            raw.kind = HitKind.FORM
    elif raw.method not in _PAGE_METHODS:
        return Dropped(DropReason.METHOD)
    elif status is not None:
        if status >= 400:
            return Dropped(DropReason.HTTP_ERROR)
        if 300 <= status < 400 and status != 304:
            return Dropped(DropReason.REDIRECT)
    if not site.keep_static:
        dot = hit.path.rfind(".")
        if dot > hit.path.rfind("/") and hit.path[dot + 1 :].lower() in _STATIC_EXTENSIONS:
            return Dropped(DropReason.STATIC)
    for pattern in site.exclude_paths:
        if pattern.search(hit.path):
            return Dropped(DropReason.EXCLUDED_PATH)
    if site.exclude_ips:
        address = ipaddress.ip_address(raw.ip)
        if any(address in network for network in site.exclude_ips):
            return Dropped(DropReason.EXCLUDED_IP)
    return hit


def put_ua(hit: Hit, ctx: Context) -> Hit | Dropped:
    hit.client = parse_client(hit.raw.user_agent)
    return hit


def put_org(hit: Hit, ctx: Context) -> Hit | Dropped:
    """The organization behind the address, resolved while the raw IP is still here."""
    if ctx.resolver is not None:
        hostname = ctx.hostnames.get(hit.raw.ip) if ctx.hostnames is not None else None
        hit.org = ctx.resolver.resolve(hit.raw.ip, hostname)
    return hit


def put_visitor_hash(hit: Hit, ctx: Context) -> Hit | Dropped:
    raw = hit.raw
    if ctx.hasher is None:
        raise RuntimeError("put_visitor_hash needs a VisitorHasher in the context")
    hit.visitor, hit.visitor_before = ctx.hasher.hashes(raw.site_id, raw.ip, raw.user_agent, raw.ts)
    if ctx.keep_ip_prefix:
        hit.ip_prefix = truncate_ip(raw.ip)
    raw.ip = ""  # the raw address goes no further than this step
    return hit


def put_session(hit: Hit, ctx: Context) -> Hit | Dropped:
    raw, sessions = hit.raw, ctx.sessions
    if sessions is None:
        raise RuntimeError("put_session needs a SessionTracker in the context")
    ts = int(raw.ts)
    day = ctx.local_day(ts)
    hit.campaign = campaign_from_query(hit.query)
    campaign_key = hit.campaign.key
    visit = sessions.find(raw.site_id, hit.visitor, ts, day, campaign_key)
    if visit is None:
        visit = sessions.find(raw.site_id, hit.visitor_before, ts, day, campaign_key)
    if visit is None:
        visit = _new_visit(hit, ctx, ts, day)
        sessions.open(visit)
    if ts > visit.ended:
        visit.ended = ts
    if raw.kind == HitKind.PAGEVIEW:
        visit.pageviews += 1
        visit.exit_path = hit.path
    else:
        visit.events += 1
    visit.dirty = True
    hit.visit = visit
    return hit


def _new_visit(hit: Hit, ctx: Context, ts: int, day: date) -> Visit:
    raw = hit.raw
    internal = is_internal(raw.referrer, raw.host or ctx.site.domain)
    client = hit.client or parse_client(raw.user_agent)
    referrer = None if internal else raw.referrer
    origin = classify(referrer, raw.host or ctx.site.domain, hit.campaign)
    c = hit.campaign
    return Visit(
        id=visit_id(raw.site_id, hit.visitor, ts),
        site_id=raw.site_id,
        visitor=hit.visitor,
        day=day,
        started=ts,
        ended=ts,
        entry_path=hit.path,
        exit_path=hit.path,
        channel=origin.channel,
        source=origin.source,
        referrer=referrer[:1000] if referrer else None,
        campaign_key=c.key,
        utm=(c.campaign, c.source, c.medium, c.term, c.content),
        browser=client.browser,
        os=client.os,
        device=client.device,
        ip_prefix=hit.ip_prefix,
        org_id=hit.org.org_id if hit.org else None,
        country=hit.org.country if hit.org else None,
    )


STEPS: tuple[tuple[str, Step], ...] = (
    ("validate", validate),
    ("drop_bot", drop_bot),
    ("drop_excluded", drop_excluded),
    ("put_ua", put_ua),
    ("put_org", put_org),
    ("put_visitor_hash", put_visitor_hash),
    ("put_session", put_session),
)
# Steps that look at one hit alone: they may run anywhere, e.g. in import worker processes.
PER_HIT_STEPS = STEPS[:-1]
# The step that needs the visitor's earlier hits: runs in one place, in time order.
SESSION_STEPS = STEPS[-1:]


class Pipeline:
    """Runs hits through the steps and counts what was dropped, by reason."""

    def __init__(self, ctx: Context, steps: tuple[tuple[str, Step], ...] = STEPS) -> None:
        self.ctx = ctx
        self._steps = tuple(step for _, step in steps)
        self.dropped: Counter[DropReason] = Counter()

    def process(self, raw: RawHit) -> Hit | Dropped:
        return self.run(Hit(raw))

    def run(self, hit: Hit) -> Hit | Dropped:
        """Continue a hit that earlier steps (elsewhere) already enriched."""
        for step in self._steps:
            result = step(hit, self.ctx)
            if isinstance(result, Dropped):
                self.dropped[result.reason] += 1
                return result
            hit = result
        return hit
