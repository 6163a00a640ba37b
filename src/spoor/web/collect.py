"""Collection endpoints: Spoor's tracker, Matomo, Plausible, Umami. Parse, accept, answer.

Every bad request gets a 4xx with a JSON reason; nothing a client sends produces a 500.
"""

from __future__ import annotations

import base64
import hmac
import ipaddress
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from sqlalchemy import Engine
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from spoor.ingest.live import LiveIngest
from spoor.ingest.rawhit import RawHit
from spoor.ingest.sources import matomo, plausible, tracker, umami
from spoor.ingest.sources.common import BadPayload, Incoming
from spoor.ingest.spool import new_key
from spoor.settings import Settings
from spoor.sites import Site, find_site

log = logging.getLogger("spoor.collect")
MAX_BODY = 64 * 1024
MAX_BULK_BODY = 8 * 1024 * 1024
GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
JSON_TYPES = ("application/json", "text/plain", "")
FORM = "application/x-www-form-urlencoded"


class Refused(Exception):
    def __init__(self, status: int, reason: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(reason)
        self.status, self.reason, self.headers = status, reason, headers or {}


class Collector:
    """What the endpoints share: settings, the live ingest, sites, the rate limit."""

    def __init__(self, settings: Settings, engine: Engine, live: LiveIngest) -> None:
        self.settings = settings
        self.engine = engine
        self.live = live
        self._sites: dict[str, tuple[float, Site | None]] = {}
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    # --- requests -------------------------------------------------------------------------

    def client_ip(self, request: Request) -> str:
        peer = request.client.host if request.client else "127.0.0.1"
        trusted = self.settings.trusted_proxies
        if not trusted or not _in(peer, trusted):
            return peer
        # The rightmost address not of a trusted proxy is the client.
        # Every X-Forwarded-For line: a proxy may add its own line after the client's.
        hops = ",".join(request.headers.getlist("x-forwarded-for")).split(",")
        for hop in reversed(hops):
            hop = hop.strip()
            if hop and not _in(hop, trusted):
                return hop
        return peer

    def rate_limit(self, ip: str) -> None:
        """A token bucket per address; bounded to the 100,000 most recent addresses."""
        now = time.monotonic()
        per_second = self.settings.rate_limit / 60
        tokens, seen = self._buckets.pop(ip, (float(self.settings.rate_limit), now))
        tokens = min(float(self.settings.rate_limit), tokens + (now - seen) * per_second)
        if tokens < 1:
            self._buckets[ip] = (tokens, now)
            raise Refused(429, "too many requests", {"Retry-After": "60"})
        self._buckets[ip] = (tokens - 1, now)
        if len(self._buckets) > 100_000:
            self._buckets.popitem(last=False)

    def site(self, ref: str) -> Site:
        cached = self._sites.get(ref)
        if cached is None or time.monotonic() - cached[0] > 10:
            with self.engine.connect() as conn:
                cached = (time.monotonic(), find_site(conn, ref))
            if len(self._sites) > 10_000:  # names of unknown sites must not grow it forever
                self._sites.clear()
            self._sites[ref] = cached
        if cached[1] is None:
            raise Refused(404, f"unknown site {ref!r}")
        return cached[1]

    def token_ok(self, token: str | None) -> bool:
        secret = self.settings.tracking_token
        return bool(secret and token and hmac.compare_digest(secret, token))

    def raw_hit(self, request: Request, incoming: Incoming) -> RawHit | None:
        """The hit to ingest, or None when the visitor asked not to be tracked."""
        site = self.site(incoming.site)
        host = urlsplit(incoming.url).hostname
        if not site.allows_host(host):
            raise Refused(403, f"host {host!r} is not allowed for site {site.domain}")
        if site.honor_dnt and (
            request.headers.get("dnt") == "1" or request.headers.get("sec-gpc") == "1"
        ):
            return None
        ts = incoming.ts or time.time()
        return RawHit(
            site_id=site.id,
            ts=ts,
            ip=incoming.ip or self.client_ip(request),
            user_agent=incoming.user_agent or request.headers.get("user-agent", ""),
            url=incoming.url,
            key=new_key(ts),
            referrer=incoming.referrer,
            host=host,
            kind=incoming.kind,
            title=incoming.title,
            name=incoming.name,
            props=incoming.props or None,
        )

    def accept(self, hits: list[RawHit]) -> None:
        if hits and not self.live.accept(hits):
            raise Refused(503, "busy: try again shortly", {"Retry-After": "5"})


def _in(ip: str, networks: tuple[Any, ...]) -> bool:
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in network for network in networks)


async def _body(request: Request, limit: int, types: tuple[str, ...]) -> bytes:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in types:
        raise Refused(415, f"content type {kind!r} is not accepted here")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise Refused(413, f"body larger than {limit} bytes")
    body = b""
    async for part in request.stream():
        body += part
        if len(body) > limit:
            raise Refused(413, f"body larger than {limit} bytes")
    return body


Handler = Callable[[Collector, Request], Awaitable[Response]]


def endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Turns refusals and bad payloads into 4xx JSON, and anything unexpected into a 400."""

    async def run(request: Request) -> Response:
        collector: Collector = request.app.state.collector
        try:
            collector.rate_limit(collector.client_ip(request))
            return await handler(collector, request)
        except Refused as exc:
            return JSONResponse({"error": exc.reason}, exc.status, headers=exc.headers)
        except BadPayload as exc:
            return JSONResponse({"error": str(exc)}, 400)
        except Exception:  # a bug must not turn a visitor's request into a 500
            log.exception("could not process a tracking request")
            return JSONResponse({"error": "the request could not be processed"}, 400)

    return run


async def _accept_one(
    collector: Collector, request: Request, parse: Callable[[bytes], Incoming]
) -> None:
    hit = collector.raw_hit(request, parse(await _body(request, MAX_BODY, JSON_TYPES)))
    collector.accept([hit] if hit else [])


async def _spoor(collector: Collector, request: Request) -> Response:
    await _accept_one(collector, request, tracker.parse)
    return Response(status_code=202)


async def _plausible(collector: Collector, request: Request) -> Response:
    incoming = plausible.parse(await _body(request, MAX_BODY, JSON_TYPES))
    hits = [hit for i in incoming if (hit := collector.raw_hit(request, i)) is not None]
    collector.accept(hits)
    return JSONResponse({}, 202)


async def _umami(collector: Collector, request: Request) -> Response:
    await _accept_one(collector, request, umami.parse)
    return JSONResponse({}, 200)


async def _matomo(collector: Collector, request: Request) -> Response:
    params: dict[str, str] = dict(request.query_params)
    if request.method == "POST":
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        body = await _body(request, MAX_BULK_BODY, (*JSON_TYPES, FORM))
        if body.lstrip().startswith(b"{"):  # bulk JSON, whatever the content type says
            return _matomo_bulk(collector, request, body)
        if kind == FORM:
            params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    try:
        incoming = matomo.parse(params, collector.token_ok, time.time())
    except matomo.Ignored:
        incoming = None
    hit = collector.raw_hit(request, incoming) if incoming else None
    collector.accept([hit] if hit else [])
    if params.get("send_image") == "0":
        return Response(status_code=204)
    return Response(GIF, media_type="image/gif", headers={"Cache-Control": "no-store"})


def _matomo_bulk(collector: Collector, request: Request, body: bytes) -> Response:
    requests, token = matomo.bulk_requests(body)
    hits, invalid, now = [], [], time.time()
    for n, params in enumerate(requests):
        params.setdefault("token_auth", token or "")
        try:
            hit = collector.raw_hit(request, matomo.parse(params, collector.token_ok, now))
        except matomo.Ignored:
            continue
        except (BadPayload, Refused):
            invalid.append(n)
            continue
        if hit is not None:
            hits.append(hit)
    collector.accept(hits)
    return JSONResponse(
        {
            "status": "success",
            "tracked": len(requests) - len(invalid),
            "invalid": len(invalid),
            "invalid_indices": invalid,
        }
    )


spoor_collect = endpoint(_spoor)
plausible_event = endpoint(_plausible)
umami_send = endpoint(_umami)
matomo_track = endpoint(_matomo)
