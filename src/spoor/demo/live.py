"""Replaying simulated traffic through the live endpoints, as browsers would send it."""

from __future__ import annotations

import ipaddress
import json
import threading
import time
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import uvicorn

from spoor.db.engine import open_database
from spoor.demo.run import DEMO_PASSWORD, DEMO_USERS
from spoor.demo.simulator import demo_company
from spoor.demo.team import TEAM
from spoor.ingest.logformats import MalformedLine, get_format
from spoor.leads.alerts import add_channel, add_rule
from spoor.leads.channels import summary, text
from spoor.leads.service import leads
from spoor.settings import Settings, parse_networks
from spoor.sites import Site, get_site, snippet
from spoor.web.app import create_app


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


class AlertPrinter:
    """A webhook receiver in the demo's own process that prints each alert it gets."""

    def __init__(self, say: Callable[[str], None]) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                alert = json.loads(self.rfile.read(int(self.headers["content-length"])))
                self.send_response(204)
                self.end_headers()
                say(f"\nALERT (webhook, signed) · {summary(alert)}\n{text(alert)}\n")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/alerts"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def raise_hand(base_url: str, site: Site, org_name: str) -> bool:
    """The hottest organization sends the demo form, from one of its own addresses."""
    org = next((o for o in demo_company().organizations if o.name == org_name), None)
    if org is None:
        return False
    address = str(ipaddress.ip_network(org.ipv4)[7])
    body = {"s": site.public_id, "u": f"https://{site.domain}/demo", "e": "form"}
    headers = {"x-forwarded-for": address, "content-type": "application/json",
               "user-agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/124.0"}  # fmt: skip
    answer = httpx.post(f"{base_url}/api/collect", content=json.dumps(body), headers=headers)
    return answer.status_code == 202


def serve_and_replay(demo_dir: Path, log: Path, port: int, say: Callable[[str], None]) -> None:
    """Serve the demo database; once up, replay the log's last requests through it."""
    company = demo_company()
    # The replay sends each simulated visitor's address as a proxy would.
    settings = Settings(
        data_dir=demo_dir,
        timezone=company.timezone,
        trusted_proxies=parse_networks("127.0.0.1"),
        public_url=f"http://127.0.0.1:{port}",
        webhook_allow=parse_networks("127.0.0.1"),  # the demo's own alert printer
    )
    printer = AlertPrinter(say)
    engine = open_database(settings)
    with engine.begin() as conn:
        channel = add_channel(conn, "printed by the demo", "webhook", printer.url,
                              int(time.time()), settings=settings)  # fmt: skip
        add_rule(conn, "hand-raises", "hand_raise", channel.id, int(time.time()))
        site = get_site(conn, company.domain)
        hottest = leads(conn, site, int(time.time()), limit=1) if site else []
    engine.dispose()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), port=port, log_level="warning"))
    base = f"http://127.0.0.1:{port}"

    def replay_when_up() -> None:
        while not server.started:
            time.sleep(0.1)  # uvicorn has no "started" event to wait on
        sent = replay(base, company.domain, log.read_text().splitlines()[-2000:], limit=500)
        say(f"Replayed {sent} simulated requests through {base}/api/event.")
        tag = snippet(site, base) if site else "(no site)"
        say(f"Tracking endpoints are live at {base} (Ctrl-C to stop). The snippet:\n  {tag}")
        say(
            f"Open {base}/ and sign in as {DEMO_USERS[0][0]} (admin), {DEMO_USERS[1][0]} "
            f"(a rep: see /today) or {TEAM[0][0]} (a manager: see /team), "
            f"password {DEMO_PASSWORD}"
        )
        if site and hottest:
            say(f"Now {hottest[0].name}, the hottest lead, sends the demo form ...")
            raise_hand(base, site, hottest[0].name)

    threading.Thread(target=replay_when_up, daemon=True).start()
    server.run()
