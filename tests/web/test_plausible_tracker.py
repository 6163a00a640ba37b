"""The official npm @plausible-analytics/tracker, in Chromium, pointed at Spoor's /api/event."""

from __future__ import annotations

import os
import shutil
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, select

from spoor.db.schema import hits, sites
from spoor.settings import Settings
from spoor.sites import add_site
from tests.web.servers import free_port, serve, stop

ROOT = Path(__file__).resolve().parents[2]
TRACKER = ROOT / "tests/js/node_modules/@plausible-analytics/tracker/plausible.js"
CHROMIUM = Path("/usr/bin/chromium")
CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip

PAGE = """<!doctype html><html><head><title>Pricing</title></head><body style="height:3000px">
<a id="out" href="http://localhost:{static}/elsewhere.html">partner</a>
<a id="pdf" href="/files/brochure.pdf">brochure</a>
<button id="signup" onclick="window.plausible('Signup', {{props: {{plan: 'pro'}}}})">Sign up</button>
<script type="module">
  import {{ init }} from "/plausible.js";
  // captureOnLocalhost also lifts the tracker's headless (navigator.webdriver) opt-out.
  init({{ domain: "www.example.com", endpoint: "http://127.0.0.1:{spoor}/api/event",
          captureOnLocalhost: true, outboundLinks: true, fileDownloads: true }});
</script></body></html>"""


def wait_until_stored(port: int, count: int) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if httpx.get(f"http://127.0.0.1:{port}/healthz").json()["stored"] >= count:
            return
        time.sleep(0.2)


def _requirements() -> None:
    missing = [str(p) for p in (TRACKER, CHROMIUM) if not p.exists()]
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"missing in CI: {missing} (make test installs them)")
        pytest.skip(f"missing: {missing} (run make test, apt-get install chromium)")


def test_official_plausible_tracker(engine: Engine, settings: Settings, tmp_path: Path) -> None:
    _requirements()
    from playwright.sync_api import sync_playwright

    with engine.begin() as conn:
        site = add_site(conn, "www.example.com", "UTC", 0)
        conn.execute(sites.update().where(sites.c.id == site.id).values(hosts="127.0.0.1"))
    spoor_port, static_port = free_port(), free_port()
    (tmp_path / "files").mkdir()
    (tmp_path / "files/brochure.pdf").write_bytes(b"%PDF-1.4\n")
    (tmp_path / "elsewhere.html").write_text("<p>elsewhere</p>")
    shutil.copy(TRACKER, tmp_path / "plausible.js")
    (tmp_path / "index.html").write_text(PAGE.format(static=static_port, spoor=spoor_port))
    handler = partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    static = ThreadingHTTPServer(("127.0.0.1", static_port), handler)
    threading.Thread(target=static.serve_forever, daemon=True).start()
    spoor = serve(settings, spoor_port)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            # Headless Chromium says so in its user agent, and Spoor drops that as a bot;
            # the visitor this test plays is a person in an ordinary Chrome.
            page = browser.new_page(user_agent=CHROME)
            index = f"http://127.0.0.1:{static_port}/index.html"
            with page.expect_response(lambda r: r.url.endswith("/api/event")):
                page.goto(index)
            with page.expect_response(lambda r: r.url.endswith("/api/event")):
                page.click("#signup")
            # These two leave the page: their keepalive requests outlive it.
            for link in ("#pdf", "#out"):
                page.goto(index)
                page.click(link)
                page.wait_for_timeout(300)
            browser.close()
        wait_until_stored(spoor_port, 6)
    finally:
        stop(spoor)
        static.shutdown()
    with engine.connect() as conn:
        rows = conn.execute(select(hits.c.kind, hits.c.path, hits.c.name, hits.c.props)).all()
    kinds = sorted((int(kind), name) for kind, _, name, _ in rows)
    assert (1, None) in kinds  # the pageview
    assert (2, "Signup") in kinds
    assert (3, "File Download") in kinds
    assert (4, "Outbound Link: Click") in kinds
    signup = next(props for kind, _, name, props in rows if name == "Signup")
    assert '"plan":"pro"' in signup
