"""The opt-out end to end in Chromium: a visitor on a tracked site opens Spoor's opt-out
page, refuses tracking, and the tracker's next beacons are acknowledged but not recorded;
allowing it again records again. Global Privacy Control is honoured alike. The tracker
itself never touches cookies or storage."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, select

from spoor.db.schema import hits, sites
from spoor.settings import Settings
from spoor.sites import add_site, snippet
from tests.web.browser import CHROMIUM_ARGS
from tests.web.servers import free_port, serve, stop
from tests.web.test_tracker_browser import STORAGE_SPY, Site

pytestmark = pytest.mark.slow
PAGE = '<!doctype html><link rel="icon" href="data:,"><title>Acme</title>{snippet}<h1>Acme</h1>'


def test_opt_out_in_chromium(engine: Engine, settings: Settings, chromium: str) -> None:
    from playwright.sync_api import Page, sync_playwright

    with engine.begin() as conn:
        tracked = add_site(conn, "localhost", "UTC", 0)
        conn.execute(sites.update().values(hosts="127.0.0.1"))
    port = free_port()
    api = f"http://127.0.0.1:{port}"
    page_html = PAGE.format(snippet=snippet(tracked, api))
    shop = Site(dict.fromkeys(("/one", "/two", "/three", "/four"), page_html))
    shop.thread.start()
    base = f"http://127.0.0.1:{shop.port}"
    server = serve(settings, port)
    answers: list[int] = []

    def visit(page: Page, path: str) -> None:
        """Open a page of the tracked site and wait for Spoor's answer to its beacon."""
        with page.expect_response(lambda r: "/api/collect" in r.url) as answer:
            page.goto(f"{base}{path}")
        answers.append(answer.value.status)
        assert page.evaluate("window.__storage") == []  # the tracker uses no storage

    def choose(page: Page, button: str, state: str) -> None:
        page.goto(f"{api}/opt-out?site=localhost")
        page.click(button)
        page.wait_for_url(f"{api}/opt-out?site=localhost")
        assert state in page.inner_text("#state")

    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            context = browser.new_context()
            context.add_init_script(STORAGE_SPY)
            page = context.new_page()
            visit(page, "/one")
            assert context.cookies() == []  # nobody gets a cookie for being tracked
            choose(page, "#opt-out", "You have opted out")
            cookies: list[Any] = context.cookies()
            assert [(c["name"], c["value"]) for c in cookies] == [
                ("spoor_optout", tracked.public_id)
            ]
            assert cookies[0]["httpOnly"]
            visit(page, "/two")  # acknowledged, not recorded
            choose(page, "#opt-in", "records visits")
            assert context.cookies() == []
            visit(page, "/three")
            # A browser that sends Global Privacy Control is not recorded either.
            gpc = browser.new_context(extra_http_headers={"Sec-GPC": "1"})
            gpc.add_init_script(STORAGE_SPY)
            visit(gpc.new_page(), "/four")
            browser.close()
    finally:
        stop(server)  # SIGTERM: every accepted hit is stored before the process exits
        shop.server.shutdown()
        shop.server.server_close()
    assert answers == [202, 202, 202, 202]
    with engine.connect() as conn:
        stored = conn.execute(select(hits.c.kind, hits.c.path).order_by(hits.c.ts)).all()
    assert [path for kind, path in stored if kind == 1] == ["/one", "/three"]  # pageviews
    assert {path for _, path in stored} == {"/one", "/three"}  # nor any event of the others
    # (Cookies ignore ports, so the test site on the same host saw the opt-out cookie; on
    # stats.example.com it stays with Spoor.)
    assert set(shop.cookies) <= {f"spoor_optout={tracked.public_id}"}
