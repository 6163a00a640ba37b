"""Replaying simulated traffic through the live endpoints, as browsers would send it."""

from __future__ import annotations

import json
from collections.abc import Iterable

import httpx

from spoor.ingest.logformats import MalformedLine, get_format


def replay(base_url: str, domain: str, lines: Iterable[str], limit: int = 500) -> int:
    """Send page requests of a combined log to /api/event; the number acknowledged.

    Each request carries the logged visitor's address in X-Forwarded-For, so the server
    must trust the sender as a proxy (SPOOR_TRUSTED_PROXIES=127.0.0.1).
    """
    parser = get_format("combined")
    acknowledged = sent = 0
    with httpx.Client(base_url=base_url, timeout=10) as client:
        for line in lines:
            if sent >= limit:
                break
            try:
                record = parser.parse(line)
            except MalformedLine:
                continue
            if record is None or record.method != "GET":
                continue
            event = {"n": "pageview", "u": f"https://{domain}{record.path}", "d": domain}
            if record.referrer:
                event["r"] = record.referrer
            headers = {
                "user-agent": record.user_agent,
                "x-forwarded-for": record.ip,
                "content-type": "text/plain",
            }
            answer = client.post("/api/event", content=json.dumps(event), headers=headers)
            sent += 1
            acknowledged += answer.status_code == 202
    return acknowledged
