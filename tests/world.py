"""A small tracked world for the web app's tests: IP data naming a few organizations,
a site, users of every role, and visits sent through the real collect endpoint."""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import Engine
from starlette.testclient import TestClient

from spoor.identify import ipdb
from spoor.settings import Settings, parse_networks
from spoor.sites import add_site
from spoor.users import Role, add_user
from spoor.web.app import create_app
from tests.receivers import Mailbox
from tests.web.browser import CHROMIUM
from tests.web.servers import free_port

PASSWORD = "correct horse battery"
CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36"
# Markup in every value a visitor or a dataset controls; pages must show it as text.
XSS = "<script>window.__xss=1</script><img src=x onerror=window.__xss=2>"
ASN_CSV = (
    "198.51.100.0,198.51.100.255,64496,Brightwater Logistics B.V.\n"
    "203.0.113.0,203.0.113.127,64511,Kabelnet Broadband B.V.\n"
    f'203.0.113.128,203.0.113.255,64512,"{XSS} Holdings GmbH"\n'
)
USERS = {
    "admin@example.com": Role.ADMIN,
    "manager@example.com": Role.MANAGER,
    "rep@example.com": Role.REP,
}
SITE = "www.example.com"


@dataclass
class World:
    settings: Settings
    engine: Engine

    def client(self, ip: str = "127.0.0.1") -> TestClient:
        return TestClient(create_app(self.settings), client=(ip, 50000), follow_redirects=False)


def track(
    client: TestClient,
    ip: str,
    path: str,
    title: str | None = None,
    referrer: str | None = None,
    ua: str = CHROME,
    event: str = "pageview",
) -> None:
    body = {"s": SITE, "u": f"https://{SITE}{path}", "t": title, "r": referrer, "e": event}
    answer = client.post(
        "/api/collect",
        content=json.dumps(body),
        headers={"user-agent": ua, "content-type": "application/json", "x-forwarded-for": ip},
    )
    assert answer.status_code == 202, answer.text


def settle(client: TestClient) -> None:
    """Wait until the live ingest has stored everything it accepted."""
    deadline = time.monotonic() + 30
    while client.get("/healthz").json()["pending"]:
        assert time.monotonic() < deadline, "the live ingest did not drain"
        time.sleep(0.05)


def sign_in(client: TestClient, email: str, password: str = PASSWORD) -> None:
    page = client.get("/login")
    token = csrf_of(page.text)
    answer = client.post(
        "/login", data={"email": email, "password": password, "csrf_token": token, "next": "/"}
    )
    assert answer.status_code == 303, answer.text


def bearer_of(client: TestClient) -> dict[str, str]:
    """A new API token for whoever is signed in, made on the Account page, as a header."""
    token = csrf_of(client.get("/account").text)
    made = client.post("/account", data={"csrf_token": token, "action": "token", "name": "test"})
    found = re.search(r'<code id="new-token">([^<]+)</code>', made.text)
    assert found, "no new token on the page"
    return {"authorization": f"Bearer {found.group(1)}"}


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


@pytest.fixture
def world(engine: Engine, settings: Settings, tmp_path: Path) -> World:
    (tmp_path / "asn.csv").write_text(ASN_CSV)
    ipdb.import_dataset(engine, tmp_path / "asn.csv", 1, "csv", "asn")
    now = int(time.time())
    with engine.begin() as conn:
        add_site(conn, SITE, "UTC", now)
        for email, role in USERS.items():
            add_user(conn, email, PASSWORD, role, now, email.split("@")[0].title())
    web = Settings(
        data_dir=settings.data_dir,
        database_url=settings.database_url,
        trusted_proxies=parse_networks("127.0.0.1"),
        rate_limit=100_000,
        login_attempts=5,
        webhook_allow=settings.webhook_allow,
    )
    return World(web, engine)


@pytest.fixture
def visited(world: World) -> Iterator[World]:
    """The world after a few visits: a business read pricing twice, an ISP user, and a
    visitor whose URL, title, referrer and user agent carry markup."""
    with world.client() as client:
        for path in ("/", "/pricing", "/pricing?plan=pro", "/docs"):
            track(client, "198.51.100.10", path, title="Pricing – Example")
        track(client, "198.51.100.11", "/pricing", title="Pricing – Example")
        track(client, "203.0.113.5", "/blog", referrer="https://www.google.com/")
        track(
            client, "203.0.113.200", f"/{XSS}", title=XSS, referrer=f"https://evil.example/{XSS}",
            ua=f"{CHROME} {XSS}",
        )  # fmt: skip
        settle(client)
    return world


@pytest.fixture
def chromium() -> str:
    if not CHROMIUM.exists():
        reason = f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return str(CHROMIUM)


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    box, port = Mailbox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()
