"""Matomo's tracking API: /matomo.php and /piwik.php, single (GET or form POST) and bulk.

https://developer.matomo.org/api-reference/tracking-api. Unknown parameters are ignored;
`cip` and `cdt` (the visitor's address and the time of the hit) are honoured only with a
valid `token_auth`, as Matomo does.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from spoor.ingest.rawhit import HitKind
from spoor.ingest.sources.common import BadPayload, Incoming, check_url, text

TokenCheck = Callable[[str | None], bool]


class Ignored(Exception):
    """A valid request that records nothing (a heartbeat ping)."""


def parse(params: Mapping[str, str], token_ok: TokenCheck, now: float) -> Incoming:
    """One tracking request's parameters -> a hit (Ignored for heartbeat pings)."""
    if params.get("rec") not in ("1", "true"):
        raise BadPayload("rec=1 is required")
    if params.get("ping") == "1":
        raise Ignored  # keeps a visit alive in Matomo; Spoor's visits need no heartbeat
    site = text(params.get("idsite"), 64)
    if not site:
        raise BadPayload("idsite is missing")
    url = check_url(params.get("url"))
    kind, name, target = HitKind.PAGEVIEW, None, None
    if params.get("e_c") or params.get("e_a"):
        kind = HitKind.EVENT
        name = " / ".join(p for p in (params.get("e_c"), params.get("e_a")) if p)[:200]
    elif params.get("download"):
        kind, target = HitKind.DOWNLOAD, check_url(params["download"], "download")
    elif params.get("link"):
        kind, target = HitKind.OUTLINK, check_url(params["link"], "link")
    elif params.get("idgoal"):
        kind, name = HitKind.EVENT, f"goal {params['idgoal']}"[:200]
    hit = Incoming(
        site=site,
        url=url,
        kind=kind,
        referrer=text(params.get("urlref"), 2000),
        title=text(params.get("action_name"), 500),
        name=name,
        user_agent=text(params.get("ua"), 1000),
    )
    if target:
        hit.props["target"] = target
    trusted = token_ok(params.get("token_auth"))
    if params.get("cip"):
        if not trusted:
            raise BadPayload("cip needs a valid token_auth")
        hit.ip = text(params.get("cip"), 64)
    if cdt := params.get("cdt"):
        hit.ts = _time(cdt, trusted, now)
    return hit


EARLIEST = 631_152_000  # 1990-01-01: before the web, a time is a mistake


def _time(value: str, trusted: bool, now: float) -> float:
    """cdt: a UNIX timestamp or 'YYYY-MM-DD HH:MM:SS' in UTC.

    As Matomo: without the token only the last 24 hours (the mobile SDKs send cdt
    always); with it any time since 1990, never more than a minute ahead.
    """
    try:
        if value.replace(".", "", 1).isdigit():
            ts = float(value)
        else:
            parsed = datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
            ts = parsed.timestamp()
    except (ValueError, OverflowError) as exc:
        raise BadPayload("cdt is not a time") from exc
    earliest = EARLIEST if trusted else now - 86_400
    if not earliest <= ts <= now + 60:
        raise BadPayload("cdt is out of range" + ("" if trusted else " without token_auth"))
    return ts


def bulk_requests(body: bytes) -> tuple[list[dict[str, str]], str | None]:
    """The requests of a bulk body (query strings or objects) and its token_auth."""
    try:
        data: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadPayload("bulk body is not JSON") from exc
    if not isinstance(data, dict) or not isinstance(data.get("requests"), list):
        raise BadPayload('bulk body needs {"requests": [...]}')
    token = data.get("token_auth")
    requests = []
    for item in data["requests"][:10_000]:
        if isinstance(item, str):
            requests.append(dict(parse_qsl(item.lstrip("?"), keep_blank_values=True)))
        elif isinstance(item, dict):
            requests.append({str(k): str(v) for k, v in item.items()})
        else:
            requests.append({})  # counted as invalid
    return requests, token if isinstance(token, str) else None
