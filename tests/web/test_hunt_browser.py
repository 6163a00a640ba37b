"""The hunt end to end in a real Chromium against a real `spoor serve`: a rep sees a
hand-raiser at the top of today's list with its speed-to-lead clock running, claims it,
logs a call in one click, the cadence's next task appears, the clock stops, and the
manager's speed-to-lead report counts the touch."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from spoor.db.schema import activities
from tests.world import PASSWORD, World, settle, track

from .browser import ARTIFACTS, console_errors, launch, sign_in_page
from .servers import free_port, serve, stop

pytestmark = pytest.mark.slow


def test_a_rep_works_a_hand_raiser_in_chromium(world: World, chromium: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    with world.client() as client:
        track(client, "198.51.100.10", "/pricing", title="Pricing")
        track(client, "198.51.100.10", "/demo", title="Book a demo", event="form")
        track(client, "203.0.113.5", "/blog")
        settle(client)
    port = free_port()
    server = serve(world.settings, port)
    base = f"http://127.0.0.1:{port}"
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        with sync_playwright() as p:
            browser = launch(p, chromium)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            errors = console_errors(page)
            page.goto(base + "/login?next=/today")
            sign_in_page(page, "rep@example.com", PASSWORD)
            expect(page).to_have_url(re.compile(r"/today$"))

            top = page.locator("ol.hunt > li").first
            expect(top).to_contain_text("Brightwater Logistics")
            expect(top).to_contain_text("raised a hand")
            clock = top.locator(".sla[data-since]")
            first = clock.inner_text()
            expect(clock).not_to_have_text(first, timeout=5000)  # it ticks, in the page
            page.screenshot(path=str(ARTIFACTS / "hunt-today.png"), full_page=True)

            # 1: claim from the list (the lead page opens, the hand-raiser cadence runs)
            top.get_by_role("button", name="Claim Brightwater Logistics B.V.").click()
            expect(page.locator("p.flash")).to_contain_text("Claimed: it is yours to hunt.")
            expect(page.locator("p.flash")).to_contain_text("Hand-raiser")
            tasks = page.get_by_role("list", name="Open tasks")
            expect(tasks).to_contain_text("Call #1")
            # 2: log the call in one click
            page.get_by_role("button", name="Call · voicemail").click()
            expect(page.locator("p.flash")).to_contain_text("Logged: call (voicemail).")
            expect(tasks).to_contain_text("E-mail #1")  # the cadence's next step
            expect(tasks).not_to_contain_text("Call #1")
            page.screenshot(path=str(ARTIFACTS / "hunt-lead.png"), full_page=True)

            page.goto(base + "/today")
            expect(page.locator(".sla[data-since]")).to_have_count(0)  # the clock stopped
            expect(page.locator("#tasks-h + ul")).to_contain_text("E-mail #1")

            boss = browser.new_page()
            boss.goto(base + "/login?next=/team")
            sign_in_page(boss, "manager@example.com", PASSWORD)
            team = boss.locator("#stl-h + div table tbody tr").first
            expect(team).to_contain_text("the team")
            expect(team.locator("td").nth(1)).to_have_text("1")  # one hand-raise, touched
            expect(team.locator("td").nth(3)).to_have_text("100%")  # within 5 minutes
            expect(boss.locator("#stl-h + div table")).to_contain_text("Rep")
            boss.screenshot(path=str(ARTIFACTS / "hunt-team.png"), full_page=True)
            browser.close()
    finally:
        stop(server)
    assert errors == []
    with world.engine.connect() as conn:
        kinds = conn.execute(select(activities.c.kind, activities.c.outcome)).all()
    assert [tuple(k) for k in kinds] == [("call", "voicemail")]
