"""The tracker script without a browser: size, privacy, how it is served, what it posts."""

from __future__ import annotations

import gzip
import json
import re
import shutil
import subprocess

import pytest
from sqlalchemy import Engine, select
from starlette.testclient import TestClient

from spoor.db.schema import hits
from spoor.settings import Settings
from spoor.sites import add_site
from spoor.web.app import TRACKER, create_app

MAX_GZIPPED = 1536
CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/140.0.0.0 Safari/537.36"


@pytest.fixture(scope="module")
def script() -> str:
    assert TRACKER.is_file(), f"{TRACKER} is missing"
    return TRACKER.read_text(encoding="utf-8")


def test_script_is_small(script: str) -> None:
    size = len(gzip.compress(script.encode(), compresslevel=9))
    assert size < MAX_GZIPPED, f"spoor.js is {size} bytes gzipped; the budget is {MAX_GZIPPED}"


@pytest.mark.parametrize(
    "forbidden",
    [
        r"\.cookie\b",
        r"localStorage",
        r"sessionStorage",
        r"indexedDB",
        r"caches\.",
        # Fingerprinting surfaces: none of them is read.
        r"getContext|toDataURL|AudioContext|OfflineAudioContext",
        r"\bscreen\.|devicePixelRatio|hardwareConcurrency|deviceMemory",
        r"navigator\.(plugins|languages?|platform|userAgent|getBattery|mediaDevices)",
        r"Intl\.|getTimezoneOffset",
    ],
)
def test_script_stores_and_fingerprints_nothing(script: str, forbidden: str) -> None:
    assert not re.search(forbidden, script), f"spoor.js uses {forbidden}"


@pytest.mark.parametrize(
    "needed",
    [
        '"/api/collect"',
        '"data-site"',
        '"data-api"',
        '"data-handraise"',
        '"data-spoor-handraise"',
        "sendBeacon",
        "keepalive",
        '"pushState"',
        '"replaceState"',
        '"popstate"',
        '"visibilitychange"',
        '"pagehide"',
        '"engagement"',
        "engaged_ms",
        '"outlink"',
        '"download"',
        '"form"',
        '"file:"',
    ],
)
def test_script_has_its_parts(script: str, needed: str) -> None:
    assert needed in script


def test_script_parses(script: str) -> None:
    """Syntax, when Node.js happens to be installed (the browser test runs it for real)."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    result = subprocess.run(
        [node, "--check", str(TRACKER)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_served_at_js_spoor_js(engine: Engine, settings: Settings, script: str) -> None:
    with TestClient(create_app(settings)) as client:
        answer = client.get("/js/spoor.js")
    assert answer.status_code == 200
    assert answer.headers["content-type"].split(";")[0] == "application/javascript"
    assert "max-age" in answer.headers["cache-control"]
    assert answer.text == script


def test_collect_takes_what_the_script_posts(engine: Engine, settings: Settings) -> None:
    """sendBeacon with a string body: text/plain;charset=UTF-8, props as strings."""
    with engine.begin() as conn:
        site = add_site(conn, "www.example.com", "UTC", 0)
    payloads = [
        {"e": "pageview", "p": {}},
        {"e": "outlink", "p": {"url": "https://partner.example.org/x"}},
        {"e": "download", "p": {"url": "https://www.example.com/files/brochure.pdf"}},
        {"e": "form", "p": {"form": "demo-form"}},
        {"e": "Signup", "p": {"plan": "pro"}},
        {"e": "engagement", "p": {"engaged_ms": "5400", "scroll": "80"}},
    ]
    headers = {
        "content-type": "text/plain;charset=UTF-8",
        "user-agent": CHROME,
        "origin": "https://www.example.com",
    }
    with TestClient(create_app(settings), client=("198.51.100.7", 5000)) as client:
        for payload in payloads:
            body = {
                "s": site.public_id,
                "u": "https://www.example.com/pricing?billing=annual",
                "r": "",
                "t": "Pricing",
                **payload,
            }
            answer = client.post("/api/collect", content=json.dumps(body), headers=headers)
            assert answer.status_code == 202, answer.text
            assert answer.headers["access-control-allow-origin"] == "*"
    with engine.connect() as conn:
        rows = conn.execute(
            select(hits.c.kind, hits.c.path, hits.c.name, hits.c.props).order_by(hits.c.id)
        ).all()
    assert [(kind, path, name) for kind, path, name, _ in rows] == [
        (1, "/pricing", None),
        (4, "/pricing", "outlink"),
        (3, "/pricing", "download"),
        (5, "/pricing", "form"),
        (2, "/pricing", "Signup"),
        (2, "/pricing", "engagement"),
    ]
    assert [json.loads(props) if props else {} for *_, props in rows] == [
        payload["p"] for payload in payloads
    ]
