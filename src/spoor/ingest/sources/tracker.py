"""Spoor's own tracker: POST /api/collect with a small JSON body (sent as text/plain by
navigator.sendBeacon, so browsers need no CORS preflight)."""

from __future__ import annotations

import json
from typing import Any

from spoor.ingest.rawhit import HitKind
from spoor.ingest.sources.common import BadPayload, Incoming, check_url, text

KINDS = {
    "pageview": HitKind.PAGEVIEW,
    "outlink": HitKind.OUTLINK,
    "download": HitKind.DOWNLOAD,
    "form": HitKind.FORM,
}


def parse(body: bytes) -> Incoming:
    """{"s": site id, "u": url, "r": referrer, "t": title, "e": event, "p": {props}}"""
    try:
        data: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadPayload("body is not JSON") from exc
    if not isinstance(data, dict):
        raise BadPayload("body must be a JSON object")
    site = text(data.get("s"), 64)
    if not site:
        raise BadPayload("site (s) is missing")
    event = text(data.get("e"), 120) or "pageview"
    props: dict[str, Any] = data["p"] if isinstance(data.get("p"), dict) else {}
    kind = KINDS.get(event, HitKind.EVENT)
    return Incoming(
        site=site,
        url=check_url(data.get("u")),
        kind=kind,
        referrer=text(data.get("r"), 2000),
        title=text(data.get("t"), 500),
        name=None if kind == HitKind.PAGEVIEW else event,
        props={str(k)[:100]: str(v)[:500] for k, v in list(props.items())[:30]},
    )
