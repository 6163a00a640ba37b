"""Webhooks never reach private, loopback or otherwise non-public addresses unless an admin
allows the network: refused when saved, refused again when sent (the DNS answer may have
changed), and sent to the very address that was checked. Host names resolve through a real
DNS server on loopback (tests/identify/dnsserver.py)."""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import Engine

from spoor.leads.alerts import AlertError, add_channel
from spoor.leads.channels import Channel, SendError, send
from spoor.leads.egress import EgressRefused, Guard, HostUnknown, refusal
from spoor.prospecting import chores
from spoor.prospecting.routine import RoutineError, add_block, set_goals
from spoor.settings import Settings, parse_networks
from spoor.users import Role, add_user
from tests.identify.dnsserver import TestDnsServer
from tests.receivers import Receiver

REFUSED = [
    ("127.0.0.1", "loopback"),
    ("127.8.9.10", "loopback"),
    ("10.1.2.3", "private"),
    ("172.16.0.1", "private"),
    ("172.31.255.254", "private"),
    ("192.168.1.1", "private"),
    ("100.64.0.1", "shared (carrier-grade NAT)"),
    ("169.254.169.254", "link-local"),  # cloud metadata services live here
    ("0.0.0.0", "unspecified"),
    ("224.0.0.1", "multicast"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "reserved"),
    ("198.18.0.1", "benchmarking"),
    ("192.0.2.1", "documentation"),
    ("::1", "loopback"),
    ("::", "unspecified"),
    ("fd12:3456::1", "private (unique local)"),
    ("fe80::1", "link-local"),
    ("fec0::1", "site-local"),
    ("ff02::1", "multicast"),
    ("2001:db8::1", "documentation"),
    ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped IPv6
    ("::ffff:10.0.0.1", "private"),
    ("::ffff:169.254.169.254", "link-local"),
    ("2002:7f00:1::1", "loopback"),  # 6to4 around 127.0.0.1
    ("2002:c0a8:101::1", "private"),  # 6to4 around 192.168.1.1
    ("64:ff9b::a00:1", "private"),  # NAT64 around 10.0.0.1
    ("::7f00:1", "IPv4-compatible"),
]
PUBLIC = ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"]


@pytest.mark.parametrize(("address", "why"), REFUSED)
def test_non_public_addresses_are_refused_with_their_kind(address: str, why: str) -> None:
    assert refusal(ipaddress.ip_address(address)) == why


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address: str) -> None:
    assert refusal(ipaddress.ip_address(address)) is None


def test_an_admin_allows_named_networks_only() -> None:
    allow = parse_networks("10.1.2.0/24, ::1")
    assert refusal(ipaddress.ip_address("10.1.2.7"), allow) is None
    assert refusal(ipaddress.ip_address("::ffff:10.1.2.7"), allow) is None  # the same host
    assert refusal(ipaddress.ip_address("::1"), allow) is None
    assert refusal(ipaddress.ip_address("10.1.3.7"), allow) == "private"
    assert refusal(ipaddress.ip_address("127.0.0.1"), allow) == "loopback"


@pytest.fixture
def dns() -> Iterator[TestDnsServer]:
    server = TestDnsServer()
    server.start()
    yield server
    server.stop()


def strict(settings: Settings, dns: TestDnsServer) -> Settings:
    """The default policy (nothing allowed), with host names resolved by the test server."""
    return replace(settings, webhook_allow=(), dns_servers=("127.0.0.1",), dns_port=dns.port)


def test_a_name_resolving_to_a_private_address_is_refused_when_saved(
    engine: Engine, settings: Settings, dns: TestDnsServer
) -> None:
    dns.a("crm.spoor.test", "93.184.216.34")
    dns.a("crm.spoor.test", "10.0.0.5")  # one bad record among good ones is enough
    dns.aaaa("v6.spoor.test", "fd00::5")
    dns.cname("alias.spoor.test", "inner.spoor.test")
    dns.a("inner.spoor.test", "127.0.0.1")
    dns.a("public.spoor.test", "93.184.216.34")
    policy = strict(settings, dns)
    with engine.begin() as conn:
        for url, shown in (
            ("https://crm.spoor.test/hook", "crm.spoor.test resolves to 10.0.0.5"),
            ("https://v6.spoor.test/hook", "v6.spoor.test resolves to fd00::5"),
            ("https://alias.spoor.test/hook", "alias.spoor.test resolves to 127.0.0.1"),
            ("http://169.254.169.254/latest/meta-data", "169.254.169.254 is a link-local"),
            ("http://[::ffff:127.0.0.1]:8080/", "::ffff:127.0.0.1 is a loopback"),
        ):
            for kind in ("webhook", "slack", "teams"):
                with pytest.raises(AlertError, match="SPOOR_WEBHOOK_ALLOW") as info:
                    add_channel(conn, "x", kind, url, 0, settings=policy)
                assert shown in str(info.value)
        # Public, and names that do not resolve yet (checked again at every send), are kept.
        add_channel(conn, "ok", "webhook", "https://public.spoor.test/hook", 0, settings=policy)
        add_channel(conn, "later", "slack", "https://nx.spoor.test/hook", 0, settings=policy)
        with pytest.raises(AlertError, match="loopback"):  # no settings: the strict default
            add_channel(conn, "x", "webhook", "http://127.0.0.1:9/hook", 0)
        rep = add_user(conn, "rep@example.com", "a long password!", Role.REP, 0)
        with pytest.raises(RoutineError, match="private"):
            set_goals(conn, rep.id, 5, 20, "https://crm.spoor.test/remind", policy)
        with pytest.raises(RoutineError, match="loopback"):
            set_goals(conn, rep.id, 5, 20, "http://localhost:9/remind")  # /etc/hosts


def channel(url: str, kind: str = "webhook") -> Channel:
    return Channel(1, "crm", kind, url, "secret", True, 0, None)


ALERT = {"trigger": "hand_raise", "rule": "r", "org": {"name": "Acme"}, "priority": 80,
         "reasons": [], "url": "http://spoor/leads/1"}  # fmt: skip


def test_rebinding_after_the_save_is_refused_at_send_time(
    settings: Settings, dns: TestDnsServer
) -> None:
    """Saved while the name was public; by the time an alert goes, it points at loopback."""
    receiver = Receiver()
    port = receiver.url.split(":")[2].split("/")[0]
    dns.a("rebind.spoor.test", "93.184.216.34")
    policy = strict(settings, dns)
    Guard.from_settings(policy).check(f"http://rebind.spoor.test:{port}/hook")
    dns.records.clear()
    dns.a("rebind.spoor.test", "127.0.0.1")
    for kind in ("webhook", "slack", "teams"):
        with pytest.raises(SendError, match=r"resolves to 127\.0\.0\.1, which is a loopback"):
            send(channel(f"http://rebind.spoor.test:{port}/hook", kind), ALERT, policy)
    assert receiver.got == []  # nothing reached the loopback receiver


def test_the_request_goes_to_the_checked_address_with_the_host_name_kept(
    settings: Settings, dns: TestDnsServer
) -> None:
    """Only the test DNS server knows this name: the request can reach the receiver only
    through the address the guard resolved and checked, never through a second lookup."""
    receiver = Receiver()
    port = receiver.url.split(":")[2].split("/")[0]
    dns.a("hooks.spoor.test", "127.0.0.1")
    allowed = replace(strict(settings, dns), webhook_allow=parse_networks("127.0.0.1"))
    assert send(channel(f"http://hooks.spoor.test:{port}/hook"), ALERT, allowed) == "HTTP 204"
    headers, _ = receiver.got[0]
    assert headers["host"] == f"hooks.spoor.test:{port}"
    assert headers["x-spoor-signature"].startswith("sha256=")
    with pytest.raises(SendError, match="no A or AAAA record"):
        send(channel(f"http://unknown.spoor.test:{port}/hook"), ALERT, allowed)


def test_redirects_are_not_followed(settings: Settings) -> None:
    """A receiver cannot bounce the request on to an address the guard never checked."""
    inner = Receiver()

    class Bounce(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.send_response(307)
            self.send_header("location", inner.url)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Bounce)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        guard = Guard.from_settings(settings)  # loopback allowed for the tests' receivers
        answer = guard.post(f"http://127.0.0.1:{server.server_port}/hook", content=b"{}")
    finally:
        server.shutdown()
    assert answer.status_code == 307
    assert inner.got == []


def test_the_guard_refuses_other_schemes_and_unknown_hosts() -> None:
    guard = Guard(resolve=lambda host, port: ["93.184.216.34"])
    with pytest.raises(EgressRefused, match="not an http"):
        guard.addresses("file:///etc/passwd")

    def nothing(host: str, port: int) -> list[str]:
        raise HostUnknown(f"{host} does not resolve")

    with pytest.raises(HostUnknown):
        Guard(resolve=nothing).addresses("https://nx.example/hook")
    Guard(resolve=nothing).check("https://nx.example/hook")  # accepted at save time


def test_a_reminder_webhook_saved_when_allowed_is_refused_once_disallowed(
    engine: Engine, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """The golden-hours reminder checks again when it goes: an admin who narrows
    SPOOR_WEBHOOK_ALLOW stops a hook saved before."""
    hook = Receiver()
    monday_9 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC).timestamp()
    with engine.begin() as conn:
        ann = add_user(conn, "ann@example.com", "a long password!", Role.REP, 0, "Ann")
        add_block(conn, ann.id, "Mon 09:00-10:00")
        set_goals(conn, ann.id, 20, 100, hook.url, settings)  # loopback allowed here
    notices = chores.run(engine, replace(settings, webhook_allow=()), monday_9 + 30)
    assert [b.label for _, b, _ in notices.reminders] == ["Mon 09:00-10:00"]
    assert hook.got == []
    assert "127.0.0.1 is a loopback address" in caplog.text
