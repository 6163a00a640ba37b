"""Umami's collect API: POST /api/send ({"type": "event", "payload": {...}})."""

from __future__ import annotations

import json
from typing import Any

from spoor.ingest.rawhit import HitKind
from spoor.ingest.sources.common import BadPayload, Incoming, check_url, text


def parse(body: bytes) -> Incoming:
    try:
        data: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadPayload("body is not JSON") from exc
    if not isinstance(data, dict) or not isinstance(data.get("payload"), dict):
        raise BadPayload('body needs {"type": ..., "payload": {...}}')
    if data.get("type", "event") != "event":
        raise BadPayload("type must be event (identify calls are not recorded)")
    payload = data["payload"]
    site = text(payload.get("website"), 64)
    if not site:
        raise BadPayload("payload.website is missing")
    hostname, path = text(payload.get("hostname"), 253), text(payload.get("url"), 2000)
    if not path:
        raise BadPayload("payload.url is missing")
    # Umami sends the path and the host name apart.
    url = check_url(path if "://" in path else f"https://{hostname or 'unknown'}{path}")
    name = text(payload.get("name"), 200)
    props: dict[str, Any] = payload["data"] if isinstance(payload.get("data"), dict) else {}
    return Incoming(
        site=site,
        url=url,
        kind=HitKind.EVENT if name else HitKind.PAGEVIEW,
        referrer=text(payload.get("referrer"), 2000),
        title=text(payload.get("title"), 500),
        name=name,
        props={str(k)[:100]: str(v)[:500] for k, v in list(props.items())[:30]},
    )
