"""The tracker script in a real Chromium, on a real page, against a real `spoor serve`.

A tiny static site on 127.0.0.1 carries the snippet `spoor site snippet` prints. Playwright
clicks through it like a visitor: a single-page-app navigation, a custom event, a download,
an outbound link, two hand-raise forms, then closes the tab. The server is stopped with
SIGTERM (which stores every accepted hit) and the database must hold exactly those hits.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from spoor.cli import app
from spoor.db.schema import hits, sites, visits
from spoor.settings import Settings
from spoor.sites import add_site
from spoor.web.app import TRACKER

from .browser import ARTIFACTS, launch
from .servers import free_port, serve, stop

pytestmark = pytest.mark.slow


# Records every use of cookies and web storage by any script on the page.
STORAGE_SPY = """
window.__storage = [];
const spy = (target, name) => {
  const d = Object.getOwnPropertyDescriptor(target, name);
  Object.defineProperty(target, name, {
    configurable: true,
    get() { window.__storage.push(name); return d.get.call(this); },
    set(v) { window.__storage.push(name); d.set.call(this, v); },
  });
};
spy(Document.prototype, "cookie");
for (const name of ["localStorage", "sessionStorage", "indexedDB"]) {
  const owner = Object.getOwnPropertyDescriptor(window, name) ? window : Window.prototype;
  const d = Object.getOwnPropertyDescriptor(owner, name);
  Object.defineProperty(owner, name, {
    configurable: true,
    get() { window.__storage.push(name); return d.get.call(this); },
  });
}
"""

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>Acme – {title}</title>
<script>
window.spoor = window.spoor || function () {{ (window.spoor.q = window.spoor.q || []).push(arguments) }};
spoor("Queued", {{early: "yes"}});
</script>
{snippet}
<style>body {{ font: 16px sans-serif; margin: 2em }} .tall {{ height: 3000px }}</style>
</head><body>
<h1>Acme {title}</h1>
<p><button id="pricing" onclick='history.pushState({{}}, "", "/pricing")'>Pricing</button>
<button id="annual" onclick='history.replaceState({{}}, "", "/pricing?billing=annual")'>Annual billing</button>
<button id="signup" onclick='spoor("Signup", {{plan: "pro"}})'>Sign up</button></p>
<p><a id="brochure" href="/files/brochure.pdf">Brochure (PDF)</a>
<a id="partner" href="http://localhost:{port}/elsewhere">Our partner</a>
<a id="faq" href="#faq">FAQ</a></p>
<form id="search" action="/search" onsubmit="return false">
<input name="q" value="pricing"><button id="find">Search</button></form>
<form id="demo-form" data-spoor-handraise action="/demo/thanks" method="post">
<input name="email" value="ann@corp.example"><button id="demo">Book a demo</button></form>
<form action="/contact/send" method="post">
<input name="email" value="ann@corp.example"><button id="contact">Contact us</button></form>
<div class="tall">Long content to scroll through.</div>
</body></html>
"""


class Site:
    """The tracked website: static pages, a PDF, and forms answered post/redirect/get."""

    def __init__(self, pages: dict[str, str]) -> None:
        self.pages = pages
        self.cookies: list[str] = []  # Cookie headers the browser sent to the site
        self.posts: list[str] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                site.saw(self)
                path = self.path.split("?")[0]
                if path == "/files/brochure.pdf":
                    headers = {"Content-Disposition": 'attachment; filename="brochure.pdf"'}
                    self.answer(200, b"%PDF-1.4\n%%EOF\n", "application/pdf", headers)
                elif path in site.pages:
                    kind = "application/javascript" if path.endswith(".js") else "text/html"
                    self.answer(200, site.pages[path].encode(), kind + "; charset=utf-8")
                else:
                    self.answer(404, b"not found", "text/plain")

            def do_POST(self) -> None:
                site.saw(self)
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                site.posts.append(self.path)
                self.answer(303, b"", "text/plain", {"Location": "/thanks"})

            def answer(
                self, status: int, body: bytes, kind: str, headers: dict[str, str] | None = None
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def saw(self, request: BaseHTTPRequestHandler) -> None:
        if request.headers.get("Cookie"):
            self.cookies.append(request.headers["Cookie"])


@pytest.fixture
def site() -> Iterator[Site]:
    static = Site({})
    static.thread.start()
    yield static
    static.server.shutdown()
    static.server.server_close()


def stored(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(hits.c.kind, hits.c.path, hits.c.name, hits.c.props, hits.c.title).order_by(
                hits.c.ts, hits.c.id
            )
        )
        return [
            {**row._asdict(), "props": json.loads(row.props) if row.props else {}} for row in rows
        ]


def wait_for(engine: Engine, done: Callable[[list[dict[str, Any]]], bool]) -> None:
    """Until the stored hits satisfy `done` (the live ingest stores twice a second), at most
    10 s: the last beacons are then known to have arrived, and SIGTERM stores the rest."""
    deadline = time.monotonic() + 10
    while not done(stored(engine)) and time.monotonic() < deadline:
        time.sleep(0.2)


def test_tracker_in_chromium(engine: Engine, settings: Settings, chromium: str, site: Site) -> None:
    from playwright.sync_api import sync_playwright

    with engine.begin() as conn:
        add_site(conn, "localhost", "UTC", 0)
        conn.execute(sites.update().values(hosts="127.0.0.1"))
    port = free_port()
    api = f"http://127.0.0.1:{port}"
    env = {"SPOOR_DATA_DIR": str(settings.data_dir), "SPOOR_DATABASE_URL": settings.database_url}
    printed = CliRunner().invoke(app, ["site", "snippet", "localhost", "--base", api], env=env)
    assert printed.exit_code == 0, printed.output
    snippet = printed.stdout.strip()
    tag = rf'<script defer src="{re.escape(api)}/js/spoor\.js" data-site="[\w-]+"></script>'
    assert re.fullmatch(tag, snippet)
    snippet = snippet.replace("></script>", ' data-handraise="/contact"></script>')
    index = PAGE.format(title="home", snippet=snippet, port=site.port)
    site.pages.update(
        {
            "/": index,
            "/pricing": index,  # the single-page app answers its routes with the same page
            "/thanks": PAGE.format(title="thanks", snippet=snippet, port=site.port),
            "/elsewhere": '<!doctype html><link rel="icon" href="data:,"><title>Partner</title>',
        }
    )
    base = f"http://127.0.0.1:{site.port}"
    server = serve(settings, port)
    answers: list[int] = []
    errors: list[str] = []
    try:
        with sync_playwright() as p:
            browser = launch(p, chromium)
            context = browser.new_context(viewport={"width": 1000, "height": 700})
            context.add_init_script(STORAGE_SPY)
            context.on(
                "response",
                lambda r: answers.append(r.status) if "/api/collect" in r.url else None,
            )
            page = context.new_page()
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

            page.goto(f"{base}/")
            page.wait_for_timeout(200)  # engaged time
            page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
            page.wait_for_timeout(200)  # the scroll event
            page.click("#pricing")  # SPA: engagement for /, pageview /pricing
            page.click("#faq")  # a link on the same host: nothing (and no pageview)
            page.click("#annual")  # the same path: no pageview
            page.click("#signup")
            page.click("#find")  # a form that is no hand-raise: nothing
            with page.expect_download() as download:
                page.click("#brochure")
            assert download.value.suggested_filename == "brochure.pdf"
            save_screenshot(page.screenshot(full_page=False))

            page.click("#partner")  # an ordinary link to another host name
            page.wait_for_url("http://localhost:*/elsewhere")
            page.go_back()  # /pricing again (reloaded, or from the back/forward cache)
            arrive(page, f"{base}/pricing?billing=annual")
            page.click("#contact")  # action under data-handraise="/contact"
            arrive(page, f"{base}/thanks")
            page.go_back()
            arrive(page, f"{base}/pricing?billing=annual")
            page.click("#demo")  # data-spoor-handraise
            arrive(page, f"{base}/thanks")
            # The window loses focus for 0.6 s: the engaged time clock stops meanwhile.
            page.evaluate("dispatchEvent(new Event('blur'))")
            page.wait_for_timeout(600)
            page.evaluate("dispatchEvent(new Event('focus'))")
            page.wait_for_timeout(100)
            alive_ms = page.evaluate("dispatchEvent(new Event('blur')), performance.now()")

            assert page.evaluate("window.__storage") == []
            assert page.evaluate("[localStorage.length, sessionStorage.length]") == [0, 0]
            assert context.cookies() == []
            page.close()  # pagehide: the last page's engagement
            wait_for(engine, lambda found: len(engagements(found, "/thanks")) == 2)
            browser.close()
    finally:
        stop(server)  # SIGTERM: every accepted hit is stored before the process exits

    found = stored(engine)
    assert errors == []
    assert site.cookies == []
    assert site.posts == ["/contact/send", "/demo/thanks"]
    assert set(answers) == {202}, answers  # as far as Playwright sees beacons

    pageviews = [h["path"] for h in found if h["kind"] == 1]
    # /pricing: the pushState, then once after each of the two "back" navigations.
    assert sorted(pageviews) == ["/", "/pricing", "/pricing", "/pricing", "/thanks", "/thanks"]
    assert {h["title"] for h in found if h["kind"] == 1} == {"Acme – home", "Acme – thanks"}

    events = [(h["kind"], h["path"], h["name"], h["props"]) for h in found if h["kind"] != 1]
    assert (4, "/pricing", "outlink", {"url": f"http://localhost:{site.port}/elsewhere"}) in events
    assert (3, "/pricing", "download", {"url": f"{base}/files/brochure.pdf"}) in events
    assert (5, "/pricing", "form", {"form": "/contact/send"}) in events
    assert (5, "/pricing", "form", {"form": "demo-form"}) in events
    assert (2, "/pricing", "Signup", {"plan": "pro"}) in events
    assert (2, "/", "Queued", {"early": "yes"}) in events  # queued by the stub before load
    assert len([e for e in events if e[0] in (3, 4, 5)]) == 4
    with engine.connect() as conn:  # one visitor: unload beacons carry the same address and UA
        assert conn.execute(select(func.count()).select_from(visits)).scalar_one() == 1

    last = engagements(found, "/thanks")[-1]
    assert 0 < int(last["engaged_ms"]) <= alive_ms - 600
    first = engagements(found, "/")
    assert len(first) == 1
    assert int(first[0]["engaged_ms"]) >= 150
    assert first[0]["scroll"] == "100"
    for hit in engagements(found, None):
        assert set(hit) == {"engaged_ms", "scroll"}
        assert int(hit["engaged_ms"]) > 0
        assert 0 < int(hit["scroll"]) <= 100
    # Once per page: /, three times /pricing (left for the partner, the contact form and
    # the demo form), twice /thanks (left by "back" and by closing the tab).
    assert len(engagements(found, None)) == 6


def arrive(page: Any, url: str) -> None:
    """Wait for the page, then stay a moment (a page left at once has no engaged time)."""
    page.wait_for_url(url)
    page.wait_for_timeout(100)


def engagements(found: list[dict[str, Any]], path: str | None) -> list[dict[str, str]]:
    return [
        h["props"]
        for h in found
        if h["name"] == "engagement" and h["kind"] == 2 and path in (None, h["path"])
    ]


def save_screenshot(png: bytes) -> None:
    """test-artifacts/tracker-page.png, replaced whole (tests may run in parallel)."""
    ARTIFACTS.mkdir(exist_ok=True)
    partial = ARTIFACTS / f".tracker-page-{os.getpid()}.png"
    partial.write_bytes(png)
    partial.replace(ARTIFACTS / "tracker-page.png")


def test_nothing_is_sent_without_a_site_or_from_a_file(
    chromium: str, site: Site, tmp_path: Path
) -> None:
    """No data-site: one console warning, spoor() a no-op. A page opened from file: sends
    nothing either. (Both would post to the static server: the script's origin.)"""
    from playwright.sync_api import sync_playwright

    script = f"http://127.0.0.1:{site.port}/js/spoor.js"
    site.pages["/js/spoor.js"] = TRACKER.read_text(encoding="utf-8")
    site.pages["/"] = (
        '<!doctype html><link rel="icon" href="data:,"><title>No site</title>'
        f'<script defer src="{script}"></script>'
    )
    saved = tmp_path / "saved.html"
    saved.write_text(
        f'<!doctype html><title>Saved</title><script defer src="{script}" data-site="x"></script>'
    )
    console: list[tuple[str, str]] = []
    with sync_playwright() as p:
        browser = launch(p, chromium)
        page = browser.new_page()
        page.on("console", lambda m: console.append((m.type, m.text)))
        page.on("pageerror", lambda exc: console.append(("pageerror", str(exc))))
        for url in (f"http://127.0.0.1:{site.port}/", saved.as_uri()):
            page.goto(url)
            page.evaluate("window.spoor('Signup', {plan: 'pro'})")
        page.close()
        browser.close()
    time.sleep(0.3)  # time for a stray beacon to arrive
    assert console == [("warning", "Spoor: no data-site")]
    assert site.posts == []
