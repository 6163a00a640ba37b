"""Collection endpoints: Spoor's tracker, Matomo, Plausible, Umami. Parse, accept, answer.

Every bad request gets a 4xx with a JSON reason; nothing a client sends produces a 500.
The JSON endpoints are plain ASGI apps that the application calls before Starlette's
middleware and routing (app.py): those cost about as much per request as parsing and
spooling a hit.
"""

from __future__ import annotations

import base64
import hmac
import ipaddress
import json
import logging
import time
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from sqlalchemy import Engine
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from spoor.ingest.live import LiveIngest
from spoor.ingest.rawhit import RawHit
from spoor.ingest.sources import matomo, plausible, tracker, umami
from spoor.ingest.sources.common import BadPayload, Incoming
from spoor.ingest.spool import new_key
from spoor.privacy import optout
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
        self.refused: Counter[int] = Counter()  # requests answered 4xx/5xx, by status (metrics)

    # --- requests -------------------------------------------------------------------------

    def client_ip(self, peer: str, headers: Headers) -> str:
        trusted = self.settings.trusted_proxies
        if not trusted or not _in(peer, trusted):
            return peer
        # The rightmost address not of a trusted proxy is the client.
        # Every X-Forwarded-For line: a proxy may add its own line after the client's.
        hops = ",".join(headers.getlist("x-forwarded-for")).split(",")
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

    def raw_hit(self, incoming: Incoming, client: str, headers: Headers) -> RawHit | None:
        """The hit to ingest, or None when the visitor asked not to be tracked; `client` is
        the sender's address (`client_ip`)."""
        site = self.site(incoming.site)
        host = urlsplit(incoming.url).hostname
        if not site.allows_host(host):
            raise Refused(403, f"host {host!r} is not allowed for site {site.domain}")
        if site.honor_dnt and (headers.get("dnt") == "1" or headers.get("sec-gpc") == "1"):
            return None
        if optout.opted_out(headers.get("cookie"), site.public_id):  # the /opt-out page's
            return None
        ts = incoming.ts or time.time()
        return RawHit(
            site_id=site.id,
            ts=ts,
            ip=incoming.ip or client,
            user_agent=incoming.user_agent or headers.get("user-agent", ""),
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


def _check_body(headers: Headers, limit: int, types: tuple[str, ...]) -> None:
    """Refuse by the headers what would be refused by the body."""
    kind = headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in types:
        raise Refused(415, f"content type {kind!r} is not accepted here")
    declared = headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise Refused(413, f"body larger than {limit} bytes")


async def _body(request: Request, limit: int, types: tuple[str, ...]) -> bytes:
    _check_body(request.headers, limit, types)
    body = b""
    async for part in request.stream():
        body += part
        if len(body) > limit:
            raise Refused(413, f"body larger than {limit} bytes")
    return body


class Gone(Exception):
    """The client went away before its request was read: there is no one to answer."""


async def _receive_body(receive: Receive, limit: int) -> bytes:
    body = b""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise Gone
        chunk: bytes = message.get("body", b"")
        body += chunk
        if len(body) > limit:
            raise Refused(413, f"body larger than {limit} bytes")
        if not message.get("more_body", False):
            return body


def _peer(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "127.0.0.1"


Parse = Callable[[bytes], list[Incoming]]
Head = list[tuple[bytes, bytes]]
_JSON = b"application/json"
# What CORSMiddleware adds to an answer (app.py): these endpoints are called before it.
_CORS = [(b"vary", b"Origin")]
_CORS_ORIGIN = [(b"access-control-allow-origin", b"*"), *_CORS]


class JsonEndpoint:
    """A collection endpoint taking a JSON body, as a plain ASGI app.

    `app.py` calls `answer` for POSTs before Starlette's middleware and routing, so it
    adds what the CORS middleware would; through Starlette (`__call__`) it does not.
    """

    def __init__(self, parse: Parse, status: int, body: bytes, content_type: bytes | None):
        self.parse = parse
        self.accepted = status, body, _head(body, content_type)  # the same for every hit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.answer(scope["app"].state.collector, scope, receive, send, cors=False)

    async def answer(
        self, collector: Collector, scope: Scope, receive: Receive, send: Send, *, cors: bool
    ) -> None:
        headers = Headers(scope=scope)
        try:
            client = collector.client_ip(_peer(scope), headers)
            collector.rate_limit(client)
            _check_body(headers, MAX_BODY, JSON_TYPES)
            incoming = self.parse(await _receive_body(receive, MAX_BODY))
            hits = [h for i in incoming if (h := collector.raw_hit(i, client, headers)) is not None]
            collector.accept(hits)
        except Gone:
            return
        except Refused as exc:
            status, body = exc.status, _error(exc.reason)
            head = _head(body, _JSON, exc.headers)
        except BadPayload as exc:
            status, body = 400, _error(str(exc))
            head = _head(body, _JSON)
        except Exception:  # a bug must not turn a visitor's request into a 500
            log.exception("could not process a tracking request")
            status, body = 400, _error("the request could not be processed")
            head = _head(body, _JSON)
        else:
            status, body, head = self.accepted
        if status >= 400:
            collector.refused[status] += 1
        if cors:
            head = head + (_CORS_ORIGIN if headers.get("origin") is not None else _CORS)
        await send({"type": "http.response.start", "status": status, "headers": head})
        await send({"type": "http.response.body", "body": body})


def _head(body: bytes, content_type: bytes | None, extra: dict[str, str] | None = None) -> Head:
    """The headers Starlette's Response (JSONResponse with a content type) sends."""
    head = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (extra or {}).items()]
    head.append((b"content-length", str(len(body)).encode()))
    if content_type is not None:
        head.append((b"content-type", content_type))
    return head


def _error(reason: str) -> bytes:
    """As JSONResponse renders {"error": reason}."""
    return json.dumps({"error": reason}, ensure_ascii=False, separators=(",", ":")).encode()


Handler = Callable[[Collector, Request], Awaitable[Response]]


def endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Turns refusals and bad payloads into 4xx JSON, and anything unexpected into a 400."""

    async def run(request: Request) -> Response:
        collector: Collector = request.app.state.collector
        try:
            collector.rate_limit(collector.client_ip(_peer(request.scope), request.headers))
            return await handler(collector, request)
        except Refused as exc:
            collector.refused[exc.status] += 1
            return JSONResponse({"error": exc.reason}, exc.status, headers=exc.headers)
        except BadPayload as exc:
            collector.refused[400] += 1
            return JSONResponse({"error": str(exc)}, 400)
        except Exception:  # a bug must not turn a visitor's request into a 500
            collector.refused[400] += 1
            log.exception("could not process a tracking request")
            return JSONResponse({"error": "the request could not be processed"}, 400)

    return run


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
    client = collector.client_ip(_peer(request.scope), request.headers)
    hit = collector.raw_hit(incoming, client, request.headers) if incoming else None
    collector.accept([hit] if hit else [])
    if params.get("send_image") == "0":
        return Response(status_code=204)
    return Response(GIF, media_type="image/gif", headers={"Cache-Control": "no-store"})


def _matomo_bulk(collector: Collector, request: Request, body: bytes) -> Response:
    requests, token = matomo.bulk_requests(body)
    hits, invalid, now = [], [], time.time()
    client = collector.client_ip(_peer(request.scope), request.headers)
    for n, params in enumerate(requests):
        params.setdefault("token_auth", token or "")
        try:
            incoming = matomo.parse(params, collector.token_ok, now)
            hit = collector.raw_hit(incoming, client, request.headers)
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


spoor_collect = JsonEndpoint(lambda body: [tracker.parse(body)], 202, b"", None)
plausible_event = JsonEndpoint(plausible.parse, 202, b"{}", _JSON)
umami_send = JsonEndpoint(lambda body: [umami.parse(body)], 200, b"{}", _JSON)
matomo_track = endpoint(_matomo)
