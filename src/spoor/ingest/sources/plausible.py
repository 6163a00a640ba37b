"""Plausible's event API: POST /api/event (https://plausible.io/docs/events-api)."""

from __future__ import annotations

import json
from typing import Any

from spoor.ingest.rawhit import HitKind
from spoor.ingest.sources.common import BadPayload, Incoming, check_url, text


def parse(body: bytes) -> list[Incoming]:
    """One hit per comma-separated domain, as Plausible does."""
    try:
        data: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadPayload("body is not JSON") from exc
    if not isinstance(data, dict):
        raise BadPayload("body must be a JSON object")
    name = text(data.get("n", data.get("name")), 120)
    if not name:
        raise BadPayload("event name (n) is missing")
    url = check_url(data.get("u", data.get("url")))
    domains = text(data.get("d", data.get("domain")), 2000)
    if not domains:
        raise BadPayload("domain (d) is missing")
    referrer = text(data.get("r", data.get("referrer")), 2000)
    props = data.get("p", data.get("props")) or {}
    if isinstance(props, str):
        try:
            props = json.loads(props)
        except ValueError as exc:
            raise BadPayload("props (p) is not JSON") from exc
    if not isinstance(props, dict):
        raise BadPayload("props (p) must be an object")
    kind = HitKind.PAGEVIEW if name == "pageview" else _kind(name)
    clean_props = {str(k)[:100]: str(v)[:500] for k, v in list(props.items())[:30]}
    if name == "engagement":  # the tracker's engaged time (ms) and scroll depth (%)
        for field, key in (("e", "engaged_ms"), ("sd", "scroll")):
            if isinstance(data.get(field), int | float):
                clean_props[key] = str(int(data[field]))
    return [
        Incoming(
            site=domain.strip(), url=url, kind=kind, referrer=referrer,
            name=None if kind == HitKind.PAGEVIEW else name, props=clean_props,
        )
        # Each site once: a repeated domain must not multiply one request's hits.
        for domain in dict.fromkeys(d.strip() for d in domains.split(",")[:10])
        if domain
    ]  # fmt: skip


def _kind(name: str) -> HitKind:
    return {"Outbound Link: Click": HitKind.OUTLINK, "File Download": HitKind.DOWNLOAD}.get(
        name, HitKind.EVENT
    )
