"""Reverse DNS evidence, against a real local DNS server (tests/identify/dnsserver.py)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tldextract
from dnslib import PTR

from spoor.identify import rdns
from spoor.identify.rdns import (
    ReverseDns,
    access_network_hint,
    is_crawler_host,
    registrable_domain,
)

from .dnsserver import TestDnsServer, reverse_name

SLOW = [f"198.19.1.{i}" for i in range(20)]  # answered after a short delay, to overlap queries


@pytest.fixture(scope="module")
def dns_server() -> Iterator[TestDnsServer]:
    server = TestDnsServer()
    server.ptr("198.18.0.1", "Mail.Brightwater-Logistics.example.")  # case is not significant
    server.a("mail.brightwater-logistics.example", "198.18.0.1")
    server.ptr("2001:db8::1", "gw.brightwater-logistics.example.")
    server.aaaa("gw.brightwater-logistics.example", "2001:db8::1")
    server.a("gw.brightwater-logistics.example", "198.18.0.1")
    server.ptr("198.18.0.10", "crawl-198-18-0-10.googlebot.com.")
    server.a("crawl-198-18-0-10.googlebot.com", "198.18.0.10")
    server.ptr("198.18.0.11", "crawl-198-18-0-11.googlebot.com.")  # forged: forward differs
    server.a("crawl-198-18-0-11.googlebot.com", "198.18.0.99")
    # 198.18.0.2 is absent: NXDOMAIN
    server.txt(reverse_name("198.18.0.3"), "name exists, no PTR")  # NOERROR, empty answer
    server.servfail.add(reverse_name("198.18.0.4"))
    server.hang.add(reverse_name("198.18.0.5"))
    # RFC 2317 classless delegation: the reverse name is an alias into the customer's zone.
    server.cname(reverse_name("198.18.0.6"), "6.0-25.0.18.198.in-addr.arpa.")
    server.add("6.0-25.0.18.198.in-addr.arpa.", "PTR", PTR("host6.smallbiz.example."))
    server.hang.add("hang.example.")
    for i, ip in enumerate(SLOW):
        server.ptr(ip, f"slow-{i}.example.", delay=0.04)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def server(dns_server: TestDnsServer) -> TestDnsServer:
    dns_server.reset()
    return dns_server


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make(server: TestDnsServer, **kwargs: Any) -> ReverseDns:
    kwargs.setdefault("timeout", 0.3)
    return ReverseDns(["127.0.0.1"], port=server.port, **kwargs)


# --- lookups -------------------------------------------------------------------------------


def test_lookup_ipv4(server: TestDnsServer) -> None:
    r = make(server)
    assert asyncio.run(r.lookup("198.18.0.1")) == "mail.brightwater-logistics.example"
    assert (r.stats.lookups, r.stats.queries, r.stats.cache_hits) == (1, 1, 0)


def test_lookup_ipv6_in_nibble_format(server: TestDnsServer) -> None:
    r = make(server)
    assert asyncio.run(r.lookup("2001:db8::1")) == "gw.brightwater-logistics.example"
    # Another spelling of the same address is the same cache entry.
    assert asyncio.run(r.lookup("2001:DB8:0:0:0:0:0:1")) == "gw.brightwater-logistics.example"
    assert server.count(reverse_name("2001:db8::1")) == 1


def test_ipv4_mapped_ipv6_is_looked_up_as_ipv4(server: TestDnsServer) -> None:
    r = make(server)
    assert asyncio.run(r.lookup("::ffff:198.18.0.1")) == "mail.brightwater-logistics.example"
    assert server.count(reverse_name("198.18.0.1")) == 1


def test_classless_delegation_cname_is_followed(server: TestDnsServer) -> None:
    assert asyncio.run(make(server).lookup("198.18.0.6")) == "host6.smallbiz.example"


def test_nxdomain_is_none_and_negatively_cached(server: TestDnsServer) -> None:
    r = make(server)
    assert asyncio.run(r.lookup("198.18.0.2")) is None
    assert asyncio.run(r.lookup("198.18.0.2")) is None
    assert server.count(reverse_name("198.18.0.2")) == 1
    assert (r.stats.not_found, r.stats.cache_hits, r.stats.failures) == (1, 1, 0)


def test_no_ptr_record_is_none(server: TestDnsServer) -> None:
    r = make(server)
    assert asyncio.run(r.lookup("198.18.0.3")) is None
    assert r.stats.not_found == 1


def test_servfail_is_none_and_cached_briefly(server: TestDnsServer) -> None:
    clock = FakeClock()
    r = make(server, clock=clock, failure_ttl=60)
    assert asyncio.run(r.lookup("198.18.0.4")) is None
    clock.now += 59
    assert asyncio.run(r.lookup("198.18.0.4")) is None
    assert server.count(reverse_name("198.18.0.4")) == 1
    clock.now += 2
    assert asyncio.run(r.lookup("198.18.0.4")) is None
    assert server.count(reverse_name("198.18.0.4")) == 2
    assert (r.stats.failures, r.stats.timeouts) == (2, 0)


def test_timeout_is_none_and_counted(server: TestDnsServer) -> None:
    r = make(server, timeout=0.3)
    assert asyncio.run(r.lookup("198.18.0.5")) is None
    assert (r.stats.timeouts, r.stats.failures) == (1, 0)
    assert asyncio.run(r.lookup("198.18.0.5")) is None  # cached: no second wait
    assert r.stats.cache_hits == 1


def test_positive_and_negative_entries_expire(server: TestDnsServer) -> None:
    clock = FakeClock()
    r = make(server, clock=clock, positive_ttl=86400, negative_ttl=3600)
    asyncio.run(r.lookup_many(["198.18.0.1", "198.18.0.2"]))
    clock.now += 3599
    asyncio.run(r.lookup_many(["198.18.0.1", "198.18.0.2"]))
    assert server.count(reverse_name("198.18.0.2")) == 1
    clock.now += 2  # the negative entry expired, the positive one has not
    asyncio.run(r.lookup_many(["198.18.0.1", "198.18.0.2"]))
    assert server.count(reverse_name("198.18.0.2")) == 2
    assert server.count(reverse_name("198.18.0.1")) == 1
    clock.now += 86400
    assert asyncio.run(r.lookup("198.18.0.1")) == "mail.brightwater-logistics.example"
    assert server.count(reverse_name("198.18.0.1")) == 2


def test_cache_is_bounded_lru(server: TestDnsServer) -> None:
    r = make(server, cache_size=2)
    for ip in ["198.18.0.1", "198.18.0.10", "198.18.0.1", "198.18.0.11"]:  # evicts .10
        asyncio.run(r.lookup(ip))
    asyncio.run(r.lookup("198.18.0.1"))
    asyncio.run(r.lookup("198.18.0.10"))
    assert server.count(reverse_name("198.18.0.1")) == 1
    assert server.count(reverse_name("198.18.0.10")) == 2


@pytest.mark.parametrize("bad", ["", "198.18.0", "not an ip", "198.18.0.1 ", "2001:db8::g"])
def test_invalid_address_raises_value_error(server: TestDnsServer, bad: str) -> None:
    r = make(server)
    with pytest.raises(ValueError, match="does not appear to be an IPv4 or IPv6 address"):
        asyncio.run(r.lookup(bad))
    with pytest.raises(ValueError, match="does not appear to be an IPv4 or IPv6 address"):
        asyncio.run(r.lookup_many(["198.18.0.1", bad]))
    assert r.stats.queries == 0  # lookup_many checks every address before asking anything


# --- many lookups --------------------------------------------------------------------------


def test_lookup_many_returns_input_order_once_per_address(server: TestDnsServer) -> None:
    r = make(server)
    ips = ["198.18.0.2", "198.18.0.1", "2001:db8::1", "198.18.0.1", "198.18.0.10"]
    result = asyncio.run(r.lookup_many(ips))
    assert list(result.items()) == [
        ("198.18.0.2", None),
        ("198.18.0.1", "mail.brightwater-logistics.example"),
        ("2001:db8::1", "gw.brightwater-logistics.example"),
        ("198.18.0.10", "crawl-198-18-0-10.googlebot.com"),
    ]
    assert r.stats.queries == 4
    assert asyncio.run(r.lookup_many([])) == {}


def test_lookup_many_respects_concurrency_limit(server: TestDnsServer) -> None:
    r = make(server, concurrency=4)
    result = asyncio.run(r.lookup_many(SLOW))
    assert result == {ip: f"slow-{i}.example" for i, ip in enumerate(SLOW)}
    assert 1 < server.max_inflight <= 4


def test_direct_lookups_share_the_concurrency_limit(server: TestDnsServer) -> None:
    r = make(server, concurrency=3)

    async def many() -> list[str | None]:
        return await asyncio.gather(*(r.lookup(ip) for ip in SLOW))

    assert asyncio.run(many()) == [f"slow-{i}.example" for i in range(len(SLOW))]
    assert server.max_inflight <= 3


def test_concurrent_lookups_of_one_address_send_one_query(server: TestDnsServer) -> None:
    r = make(server)

    async def many() -> list[str | None]:
        return await asyncio.gather(*(r.lookup(SLOW[0]) for _ in range(10)))

    assert asyncio.run(many()) == ["slow-0.example"] * 10
    assert server.count(reverse_name(SLOW[0])) == 1


def test_lookup_many_sync(server: TestDnsServer) -> None:
    r = make(server, concurrency=2)
    assert r.lookup_many_sync(SLOW[:3]) == {
        ip: f"slow-{i}.example" for i, ip in enumerate(SLOW[:3])
    }
    assert r.lookup_many_sync(iter(SLOW[:4]))[SLOW[3]] == "slow-3.example"  # any iterable
    assert r.stats.queries == 4


def test_one_instance_serves_several_event_loops(server: TestDnsServer) -> None:
    # asyncio.run (and so lookup_many_sync) makes a new loop each time; a semaphore that waited
    # in one loop cannot be used in another, so the limit must be rebuilt per loop.
    r = make(server, concurrency=2)

    async def many(ips: list[str]) -> list[str | None]:
        return await asyncio.gather(*(r.lookup(ip) for ip in ips))

    assert asyncio.run(many(SLOW[:5])) == [f"slow-{i}.example" for i in range(5)]
    assert asyncio.run(many(SLOW[5:10])) == [f"slow-{i}.example" for i in range(5, 10)]
    assert server.max_inflight <= 2


def test_lookup_many_sync_refuses_a_running_loop(server: TestDnsServer) -> None:
    r = make(server)

    async def inside() -> None:
        with pytest.raises(RuntimeError, match="running event loop"):
            r.lookup_many_sync(["198.18.0.1"])

    asyncio.run(inside())


def test_from_system_reads_resolv_conf(server: TestDnsServer, tmp_path: Path) -> None:
    conf = tmp_path / "resolv.conf"
    conf.write_text("nameserver 127.0.0.1\n")
    r = ReverseDns.from_system(resolv_conf=str(conf), port=server.port, timeout=0.3)
    assert asyncio.run(r.lookup("198.18.0.1")) == "mail.brightwater-logistics.example"


# --- forward confirmation ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ip", "host", "expected"),
    [
        ("198.18.0.10", "crawl-198-18-0-10.googlebot.com", True),
        ("198.18.0.11", "crawl-198-18-0-11.googlebot.com", False),  # A points elsewhere
        ("2001:db8::1", "gw.brightwater-logistics.example", True),  # AAAA for IPv6
        ("2001:db8::2", "gw.brightwater-logistics.example", False),
        ("198.18.0.1", "gw.brightwater-logistics.example.", True),
        ("198.18.0.1", "missing.example", False),  # NXDOMAIN
        ("198.18.0.1", "hang.example", False),  # timeout
    ],
)
def test_confirmed(server: TestDnsServer, ip: str, host: str, expected: bool) -> None:
    assert asyncio.run(make(server).confirmed(ip, host)) is expected


def test_verified_crawler(server: TestDnsServer) -> None:
    r = make(server)
    assert asyncio.run(r.verified_crawler("198.18.0.10")) == "Google"
    assert asyncio.run(r.verified_crawler("198.18.0.11")) is None  # forged PTR
    assert asyncio.run(r.verified_crawler("198.18.0.1")) is None  # not a crawler
    assert asyncio.run(r.verified_crawler("198.18.0.2")) is None  # no PTR


# --- registrable domain --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("dsl-123-45.pool.kpn.nl", "kpn.nl"),
        ("mail.example.co.uk", "example.co.uk"),
        ("MAIL.Example.COM.", "example.com"),
        ("kpn.nl", "kpn.nl"),
        ("cpe-98-23-1-1.nyc.res.rr.com", "rr.com"),
        ("static.123.45.67.89.clients.your-server.de", "your-server.de"),
        ("a.b.c.example.com.au", "example.com.au"),
        ("localhost", None),
        ("co.uk", None),  # a public suffix alone
        ("host.internal-zone", None),  # not a known suffix
        ("198.18.0.1", None),
        ("2001:db8::1", None),
        ("[2001:db8::1]", None),
        ("", None),
    ],
)
def test_registrable_domain(host: str, expected: str | None) -> None:
    assert registrable_domain(host) == expected


def test_registrable_domain_never_uses_the_network(monkeypatch: pytest.MonkeyPatch) -> None:
    attempts: list[Any] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        attempts.append(args)
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    rdns._extractor.cache_clear()  # a fresh extractor loads its suffix list under the trap
    assert registrable_domain("dsl-123-45.pool.kpn.nl") == "kpn.nl"
    assert registrable_domain("mail.example.co.uk") == "example.co.uk"
    assert attempts == []
    # The trap works: an extractor that is allowed to fetch the list does try the network.
    fetching = tldextract.TLDExtract(suffix_list_urls=("http://192.0.2.1/psl.dat",), cache_dir=None)
    assert fetching("mail.example.co.uk").suffix == "co.uk"  # fell back to the snapshot
    assert attempts


# --- access network hints ------------------------------------------------------------------

ACCESS_HOSTS = [
    "ip-198-18-0-1.dsl.kabelnet.example",
    "5-146-200-1.dynamic.isp.example",
    "static.123.45.67.89.clients.your-server.de",
    "cpe-98-23-1-1.nyc.res.rr.com",
    "host-198-18-0-1.customer.telemobil.example",
    "dsl-123-45.pool.kpn.nl",
    "c-73-162-10-4.hsd1.ca.comcast.net",
    "pool-71-105-22-3.bstnma.fios.verizon.net",
    "p4fd5b1c2.dip0.t-ipconnect.de",
    "dslb-092-073-012-034.092.073.pools.vodafone-ip.de",
    "cpc123-lutn12-2-0-cust45.9-3.cable.virginm.net",
    "softbank126001002003.bbtec.net",
    "ip5f5b1c2d.dynamic.kabel-deutschland.de",
    "adsl-76-1-2-3.dsl.chcgil.sbcglobal.net",
    "ppp-94-64-1-2.home.otenet.gr",
    "m45.4g.carrier.example",
    "d51a5b1c2.access.telenet.be",
    "abc12.broadband.isp.example",
    "2a02-8109-9d40-1e00-1234-5678-9abc-def0.dyn.isp.example",
    "user-198-18-0-1.lte.mobil.example",
    "1.0.18.198.static.ftth.glasnet.example",
]

BUSINESS_HOSTS = [
    "mail.brightwater-logistics.example",
    "vpn.acme.com",
    "gw.example.org",
    "static.example.com",  # "static" alone is a company's asset host, not an access line
    "mail.staticsoftware.com",
    "smtp.dynamic-solutions.com",  # access words in the company's own domain do not count
    "office-gw.pool-supplies.com",
    "fw01.cablecorp.example",
    "customer-portal.acme.com",
    "vpn-pool.acme.com",  # a company's own address pool
    "dhcp.corp.example.com",
    "mobile.acme.com",
    "home.acme.com",
    "wireless-guest.acme.com",
    "clients.lawfirm.example",
    "proxy1.homebase-insurance.co.uk",
    "exchange.userlane.com",
    "mx.residentialrealty.com",
    "lb-01.eu-west.corp.example.com",
    "v1-2-3.api.acme.io",
    "deadbeef.acme.com",
    "build-20240101.ci.acme.com",
    "crawl-66-249-66-1.googlebot.com",  # crawler names carry the address but are not ISPs
    "localhost",
    "198.18.0.1",
    "",
]


@pytest.mark.parametrize("host", ACCESS_HOSTS)
def test_access_network_hint_positive(host: str) -> None:
    hint = access_network_hint(host)
    assert hint is not None
    assert hint.startswith("host name looks like an access network (")


@pytest.mark.parametrize("host", BUSINESS_HOSTS)
def test_access_network_hint_negative(host: str) -> None:
    assert access_network_hint(host) is None


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("ip-198-18-0-1.dsl.kabelnet.example", "dsl, IP in name"),
        ("cpe-98-23-1-1.nyc.res.rr.com", "cpe, res, IP in name"),
        ("dsl-123-45.pool.kpn.nl", "dsl, pool"),
        ("static.123.45.67.89.clients.your-server.de", "static, clients, IP in name"),
        ("m45.4g.carrier.example", "4g"),
        ("p4fd5b1c2.dip0.t-ipconnect.de", "dip, IP in name"),
    ],
)
def test_access_network_hint_reason(host: str, reason: str) -> None:
    assert access_network_hint(host) == f"host name looks like an access network ({reason})"


# --- crawlers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "operator"),
    [
        ("crawl-66-249-66-1.googlebot.com", "Google"),
        ("rate-limited-proxy-72-14-199-1.google.com", "Google"),
        ("CRAWL-66-249-66-1.GOOGLEBOT.COM.", "Google"),
        ("msnbot-157-55-39-1.search.msn.com", "Microsoft"),
        ("b1.crawl.yahoo.net", "Yahoo"),
        ("5-255-253-1.spider.yandex.com", "Yandex"),
        ("spider-141-8-142-1.yandex.ru", "Yandex"),
        ("baiduspider-116-179-32-1.crawl.baidu.com", "Baidu"),
        ("17-58-101-1.applebot.apple.com", "Apple"),
        ("crawl-1.crawl.amazonbot.amazon", "Amazon"),
        ("googlebot.com.evil.example", None),
        ("fakegooglebot.com", None),
        ("msn.com", None),  # only search.msn.com is Bing's crawler domain
        ("www.apple.com", None),
        ("mail.acme.com", None),
        ("", None),
    ],
)
def test_is_crawler_host(host: str, operator: str | None) -> None:
    assert is_crawler_host(host) == operator
