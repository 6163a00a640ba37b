"""The web app in a real Chromium against a real `spoor serve`: sign in, visit every page,
filter, sort, correct an organization, export, on a desktop and on a phone screen.

Every page is saved as a screenshot in test-artifacts/; markup that visitors and datasets
sent must never run (the pages would set window.__xss).
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from tests.world import PASSWORD, World

from .browser import ARTIFACTS, console_errors, launch, sign_in_page
from .servers import free_port, serve, stop

pytestmark = pytest.mark.slow


def shoot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"page-{name}.png"), full_page=True)
    assert page.evaluate("window.__xss") is None, f"markup ran on {name}"


def test_pages_in_chromium(visited: World, chromium: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    port = free_port()
    server = serve(visited.settings, port)
    base = f"http://127.0.0.1:{port}"
    try:
        with sync_playwright() as p:
            browser = launch(p, chromium)
            page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
            errors = console_errors(page)

            page.goto(base + "/companies")
            expect(page).to_have_url(re.compile(r"/login\?next=/companies"))
            shoot(page, "login")
            sign_in_page(page, "manager@example.com", PASSWORD)
            expect(page).to_have_url(re.compile(r"/companies$"))

            page.goto(base + "/")
            expect(page.locator(".kpi .value").first).to_have_text("4")
            expect(page.locator("figure.chart svg")).to_have_attribute("role", "img")
            shoot(page, "overview")

            # The period picker submits on change.
            page.select_option("select[name=period]", "7d")
            expect(page).to_have_url(re.compile(r"period=7d"))

            page.goto(base + "/companies")
            shoot(page, "companies")
            page.select_option("select[name=type]", "leads")
            page.click("form.scope button[type=submit]")
            expect(page.locator("table tbody tr")).to_have_count(1)
            expect(page.locator("table tbody")).to_contain_text("Brightwater Logistics")
            page.select_option("select[name=type]", "")
            page.select_option("select[name=sort]", "name")
            page.select_option("select[name=order]", "asc")
            page.click("form.scope button[type=submit]")
            names = page.locator("table tbody tr td:first-child a").all_inner_texts()
            assert names == sorted(names, key=str.lower)

            with page.expect_download() as download_info:
                page.click("text=CSV")
            rows = list(
                csv.reader(io.StringIO(Path(download_info.value.path()).read_text("utf-8-sig")))
            )
            assert rows[0][0] == "Organization"
            assert len(rows) == 4

            page.click("text=Brightwater Logistics B.V.")
            expect(page.locator("h1")).to_contain_text("Brightwater Logistics B.V.")
            shoot(page, "company")
            page.fill("form:has(input[value=rename]) input[name=value]", "Brightwater Group")
            page.click("form:has(input[value=rename]) button")
            expect(page.locator(".flash")).to_contain_text("Renamed to Brightwater Group.")
            expect(page.locator("h1")).to_contain_text("Brightwater Group")

            page.goto(base + "/companies")
            page.click("text=Holdings GmbH")
            expect(page.locator("h1")).to_contain_text("<script>window.__xss=1</script>")
            shoot(page, "company-with-markup")

            page.goto(base + "/account")
            shoot(page, "account")
            page.goto(base + "/api/docs")
            expect(page.locator(".swagger-ui")).to_be_visible()
            expect(page.get_by_text("/sites/{domain}/companies", exact=True)).to_be_visible()
            shoot(page, "api-docs")
            page.goto(base + "/settings")
            expect(page.locator("h1")).to_have_text("Not allowed")
            page.click("text=Sign out")
            expect(page).to_have_url(re.compile(r"/login$"))

            sign_in_page(page, "admin@example.com", PASSWORD)
            page.goto(base + "/settings")
            expect(page.locator("#sites")).to_contain_text("www.example.com")
            shoot(page, "settings")

            phone = browser.new_page(viewport={"width": 390, "height": 844})
            phone.context.add_cookies(page.context.cookies())
            for name, path in (("overview", "/"), ("companies", "/companies")):
                phone.goto(base + path)
                width = phone.evaluate("document.documentElement.scrollWidth")
                assert width <= 390, f"{name} scrolls sideways on a phone ({width}px)"
                shoot(phone, f"phone-{name}")
            browser.close()
            assert not [e for e in errors if "Content Security Policy" in e], errors
    finally:
        stop(server)
