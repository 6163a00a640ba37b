"""The Forecast page in a real Chromium against a real `spoor serve`: the payoff curve is
drawn and the prospecting-gap warning is visible, for a manager picking a rep."""

from __future__ import annotations

import re

import pytest

from tests.world import PASSWORD, World

from .browser import ARTIFACTS, console_errors, launch, sign_in_page
from .servers import free_port, serve, stop
from .test_deals_pages import with_history

pytestmark = pytest.mark.slow


def test_forecast_page_in_chromium(world: World, chromium: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    ids = with_history(world)
    port = free_port()
    server = serve(world.settings, port)
    base = f"http://127.0.0.1:{port}"
    try:
        with sync_playwright() as p:
            browser = launch(p, chromium)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            errors = console_errors(page)
            page.goto(base + "/forecast")
            sign_in_page(page, "manager@example.com", PASSWORD)
            expect(page).to_have_url(re.compile(r"/forecast$"))
            expect(page.locator("h1")).to_have_text("Forecast: the team")
            # The picker submits on change (app.js), to one rep's forecast.
            page.select_option("select[name=user]", str(ids["rep@example.com"]))
            expect(page).to_have_url(re.compile(rf"/forecast\?user={ids['rep@example.com']}"))
            expect(page.locator("h1")).to_have_text("Forecast: Rep")

            chart = page.locator("figure.curve svg")
            expect(chart).to_be_visible()
            expect(chart).to_have_attribute("role", "img")
            box = page.locator("figure.curve polyline.line").bounding_box()
            assert box is not None
            assert box["width"] > 300
            assert box["height"] > 20
            gap = page.locator('li[data-check="prospecting_gap"]')
            expect(gap).to_be_visible()
            expect(gap).to_have_class("alert")
            expect(gap).to_contain_text(re.compile(r"prospecting fell \d+% in the last 30 days"))
            expect(page.locator("#backtest tbody tr")).to_have_count(7)
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "page-forecast.png"), full_page=True)

            page.goto(base + "/deals")
            expect(page.locator("#deals tbody tr").first).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "page-deals.png"), full_page=True)
            # (A missing favicon is a console error too; scripts and styles must all load.)
            assert not [e for e in errors if "Content Security Policy" in e], errors
            browser.close()
    finally:
        stop(server)
