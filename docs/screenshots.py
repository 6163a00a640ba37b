"""Screenshots of the web app on the demo data, for the README (`make screenshots`).

Builds the demo database afresh, serves it, signs in as the demo admin in
Debian's Chromium and saves a few pages as PNG files in docs/screenshots/.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

from spoor.demo.run import DEMO_PASSWORD, DEMO_USERS

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "demo"
OUT = ROOT / "docs" / "screenshots"
SPOOR = str(Path(sys.executable).with_name("spoor"))
CHROME_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/140.0.0.0 Safari/537.36"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    env = {**os.environ, "SPOOR_DATA_DIR": str(ROOT / "data")}
    subprocess.run([SPOOR, "demo", "--no-serve"], env=env, check=True, stdout=subprocess.DEVNULL)
    port = free_port()
    server = subprocess.Popen(
        [SPOOR, "serve", "--port", str(port)], env={**env, "SPOOR_DATA_DIR": str(DEMO)}
    )
    base = f"http://127.0.0.1:{port}"
    try:
        while True:
            try:
                httpx.get(base + "/healthz", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        OUT.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path="/usr/bin/chromium", args=[f"--user-agent={CHROME_UA}"]
            )
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(base + "/login")
            page.fill("input[name=email]", DEMO_USERS[0][0])
            page.fill("input[name=password]", DEMO_PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(base + "/")
            page.screenshot(path=str(OUT / "overview.png"), full_page=True)
            page.goto(base + "/companies?type=leads")
            page.screenshot(path=str(OUT / "companies.png"))
            page.click("table tbody tr:first-child td:first-child a")
            page.wait_for_selector("ol.timeline")
            page.screenshot(path=str(OUT / "company.png"))
            phone = browser.new_page(viewport={"width": 390, "height": 844})
            phone.context.add_cookies(page.context.cookies())
            phone.goto(base + "/")
            phone.screenshot(path=str(OUT / "phone-overview.png"))
            page.goto(base + "/forecast")
            page.screenshot(path=str(OUT / "forecast.png"))
            page.goto(base + "/team")
            page.screenshot(path=str(OUT / "team.png"))
            rep = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
            rep.goto(base + "/login")
            rep.fill("input[name=email]", DEMO_USERS[1][0])
            rep.fill("input[name=password]", DEMO_PASSWORD)
            rep.click("button[type=submit]")
            rep.wait_for_url(base + "/")
            rep.goto(base + "/today")
            rep.screenshot(path=str(OUT / "today.png"))
            rep.click("ol.hunt li:nth-child(2) a")  # one of the rep's claimed accounts
            rep.wait_for_selector("#cad-h")
            rep.screenshot(path=str(OUT / "lead.png"))
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=60)
    print(f"Screenshots in {OUT}")


if __name__ == "__main__":
    main()
