"""Reverse DNS evidence: PTR names, their registrable domains, access-network and crawler hints.

A PTR name is self-asserted (whoever runs a reverse zone can write anything in it), so it is a
hint, not proof: crawler names must be forward-confirmed (`ReverseDns.confirmed`) before trust.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import dns.asyncresolver
import dns.exception
import dns.name
import dns.resolver
import dns.reversename
import tldextract
from dns.rdtypes.ANY.PTR import PTR

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass
class RdnsStats:
    lookups: int = 0  # calls to lookup(), cached or not
    cache_hits: int = 0
    queries: int = 0  # PTR queries actually sent
    not_found: int = 0  # NXDOMAIN or no PTR record
    timeouts: int = 0
    failures: int = 0  # SERVFAIL, REFUSED, malformed answers...


def _parse_ip(ip: str) -> IPAddress:
    """The address behind `ip` (ValueError if it is none); IPv4-mapped IPv6 becomes IPv4."""
    addr = ipaddress.ip_address(ip)
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped is not None:  # "::ffff:198.18.0.1" as logged by dual-stack servers
            return addr.ipv4_mapped
        if addr.scope_id:  # a zone index has no meaning in a reverse name
            return ipaddress.IPv6Address(str(addr).split("%", 1)[0])
    return addr


class ReverseDns:
    """Cached, concurrency-limited PTR lookups against explicit nameservers.

    NXDOMAIN and "no PTR" are cached for `negative_ttl`; timeouts and server failures for the
    shorter `failure_ttl`, so one dead reverse zone is not retried for every log line yet a
    transient resolver hiccup does not hide names for long. TTLs of the records themselves are
    ignored: reverse names change rarely and one fixed expiry keeps the cache simple.
    """

    def __init__(
        self,
        nameservers: list[str],
        port: int = 53,
        timeout: float = 1.0,
        concurrency: int = 50,
        positive_ttl: float = 86400,
        negative_ttl: float = 3600,
        cache_size: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
        failure_ttl: float = 60.0,
    ) -> None:
        if not nameservers:
            raise ValueError("at least one nameserver is needed")
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self._resolver = dns.asyncresolver.Resolver(configure=False)
        self._resolver.nameservers = list(nameservers)
        self._resolver.port = port
        self._resolver.timeout = timeout
        self._resolver.lifetime = timeout  # one budget per name, retries included
        self._concurrency = concurrency
        self._ttl = {"positive": positive_ttl, "negative": negative_ttl, "failure": failure_ttl}
        self._cache_size = cache_size
        self._cache: OrderedDict[str, tuple[str | None, float]] = OrderedDict()
        self._clock = clock
        self._inflight: dict[str, asyncio.Future[str | None]] = {}
        # asyncio primitives bind to the loop that first waits on them; lookup_many_sync runs a
        # new loop each call, so the semaphore is remade per loop.
        self._sem: asyncio.Semaphore | None = None
        self._sem_loop: asyncio.AbstractEventLoop | None = None
        self.stats = RdnsStats()

    @classmethod
    def from_system(cls, resolv_conf: str = "/etc/resolv.conf", **kwargs: Any) -> ReverseDns:
        """Use the system's nameservers (dns.resolver.NoResolverConfiguration if none)."""
        system = dns.resolver.Resolver(filename=resolv_conf, configure=True)
        return cls([str(ns) for ns in system.nameservers], **kwargs)

    def _semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._sem is None or self._sem_loop is not loop:
            self._sem, self._sem_loop = asyncio.Semaphore(self._concurrency), loop
        return self._sem

    def _cache_get(self, key: str) -> tuple[str | None, float] | None:
        entry = self._cache.get(key)
        if entry is not None:
            if self._clock() < entry[1]:
                self._cache.move_to_end(key)
                return entry
            del self._cache[key]
        return None

    def _cache_put(self, key: str, host: str | None, kind: str) -> None:
        if self._cache_size <= 0:
            return
        self._cache[key] = (host, self._clock() + self._ttl[kind])
        self._cache.move_to_end(key)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    async def lookup(self, ip: str) -> str | None:
        """The PTR name of `ip` (lower case, no final dot) or None; raises only ValueError."""
        key = str(_parse_ip(ip))
        self.stats.lookups += 1
        entry = self._cache_get(key)
        if entry is not None:
            self.stats.cache_hits += 1
            return entry[0]
        # Concurrent callers asking for the same address share one query.
        pending = self._inflight.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._query(key))
            self._inflight[key] = pending
            pending.add_done_callback(lambda _: self._inflight.pop(key, None))
        return await asyncio.shield(pending)

    async def _query(self, key: str) -> str | None:
        async with self._semaphore():
            self.stats.queries += 1
            try:
                answer = await self._resolver.resolve(
                    dns.reversename.from_address(key), "PTR", raise_on_no_answer=False
                )
            except dns.resolver.NXDOMAIN:
                answer = None
            except dns.exception.DNSException as exc:  # timeout, SERVFAIL, REFUSED, bad answer
                if isinstance(exc, dns.exception.Timeout):
                    self.stats.timeouts += 1
                else:
                    self.stats.failures += 1
                self._cache_put(key, None, "failure")
                return None
        rrset = answer.rrset if answer is not None else None
        names = sorted(
            rd.target.to_text(omit_final_dot=True).lower()
            for rd in rrset or ()
            if isinstance(rd, PTR) and rd.target != dns.name.root
        )
        host = names[0] if names else None  # several PTRs are rare; pick one deterministically
        if host is None:
            self.stats.not_found += 1
        self._cache_put(key, host, "positive" if host else "negative")
        return host

    async def lookup_many(self, ips: Iterable[str]) -> dict[str, str | None]:
        """PTR names for many addresses (input order, duplicates once). ValueError before any query
        if one is not an address."""
        unique = list(dict.fromkeys(ips))
        for ip in unique:
            _parse_ip(ip)
        results: dict[str, str | None] = {}
        todo = iter(unique)

        # A fixed pool of workers rather than one task per address: 100k addresses would
        # otherwise mean 100k tasks parked on the semaphore.
        async def worker() -> None:
            for ip in todo:
                results[ip] = await self.lookup(ip)

        await asyncio.gather(*(worker() for _ in range(min(self._concurrency, len(unique)))))
        return {ip: results[ip] for ip in unique}

    def lookup_many_sync(self, ips: Iterable[str]) -> dict[str, str | None]:
        """`lookup_many` for synchronous callers (the CLI). Runs its own event loop, so it must
        not be called from inside a running loop (RuntimeError): await `lookup_many` there."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self.lookup_many(ips))
        raise RuntimeError("lookup_many_sync() called from a running event loop")

    async def confirmed(self, ip: str, host: str) -> bool:
        """Forward-confirmed reverse DNS: does `host` resolve (A or AAAA, by the address family)
        back to `ip`? False on any DNS error. Not cached: used for the few crawler names."""
        addr = _parse_ip(ip)
        rdtype = "A" if addr.version == 4 else "AAAA"
        async with self._semaphore():
            try:
                answer = await self._resolver.resolve(
                    host, rdtype, raise_on_no_answer=False, search=False
                )
            except dns.exception.DNSException:
                return False
        return any(_parse_ip(rd.to_text()) == addr for rd in answer.rrset or ())

    async def verified_crawler(self, ip: str) -> str | None:
        """The crawler operator if `ip` has a crawler PTR name that is forward-confirmed."""
        host = await self.lookup(ip)
        operator = is_crawler_host(host) if host else None
        if operator and host and await self.confirmed(ip, host):
            return operator
        return None


def _clean_host(host: str) -> str:
    return host.strip().rstrip(".").lower()


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


@functools.cache
def _extractor() -> tldextract.TLDExtract:
    # No suffix list URLs and no cache dir: only the Public Suffix List snapshot shipped inside
    # the package is used, so this never touches the network or writes files.
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def registrable_domain(host: str) -> str | None:
    """The registrable domain ("eTLD+1") of a host name, e.g. "pool.kpn.nl" -> "kpn.nl"."""
    h = _clean_host(host)
    if not h or _is_ip_literal(h):
        return None
    parts = _extractor()(h)
    return f"{parts.domain}.{parts.suffix}" if parts.domain and parts.suffix else None


# Words that on their own mark a provider-assigned name of an access (home/mobile) line.
_ACCESS_WORDS = frozenset(
    "dsl adsl vdsl xdsl sdsl hdsl cable kabel catv dyn dynamic dynip dip dialup dialin ppp pppoe"
    " pppoa broadband bband cpe hsd fios fttx ftth fttc fttb fttp fiber fibre gpon lte gprs umts"
    " hspa 2g 3g 4g 5g residential subscriber abo".split()
)
# Words that companies also use for their own hosts ("static.acme.com", "vpn-pool.acme.com",
# "dhcp.corp.acme.com"): they count only next to an access word or an address in the name.
_AMBIGUOUS_WORDS = frozenset(
    "static pool pools dhcp cust customer customers client clients user users home res mobile"
    " mob wireless wlan wifi bb dial access".split()
)
_TOKEN = re.compile(r"(?<![0-9])[2-5]g(?![a-z])|[a-z]+")
_DOTTED_QUAD = re.compile(
    r"(?<![0-9])(\d{1,3})[.\-_](\d{1,3})[.\-_](\d{1,3})[.\-_](\d{1,3})(?![0-9])"
)
_PADDED_QUAD = re.compile(r"(?<![0-9])(\d{3})(\d{3})(\d{3})(\d{3})(?![0-9])")  # 198018000001
_HEX_QUAD = re.compile(r"^[a-z]{0,4}([0-9a-f]{8})$")  # "p5b0c1234", "ip5f5b1c2d"
_DASHED_V6 = re.compile(r"(?<![0-9a-z])[23][0-9a-f]{3}(?:-[0-9a-f]{1,4}){4,7}(?![0-9a-z])")


def _address_in_name(sub: str) -> bool:
    quads = (m.groups() for p in (_DOTTED_QUAD, _PADDED_QUAD) for m in p.finditer(sub))
    if any(all(int(octet) <= 255 for octet in quad) for quad in quads):
        return True
    hexes = (m[1] for part in re.split(r"[.\-_]", sub) if (m := _HEX_QUAD.match(part)))
    # Want a digit and a letter: all-digit runs are likelier dates or serial numbers, all-letter
    # ones words ("deadbeef").
    if any(not x.isdigit() and not x.isalpha() for x in hexes):
        return True
    return _DASHED_V6.search(sub) is not None


def access_network_hint(host: str) -> str | None:
    """Why `host` looks like a provider-assigned name of an access network, or None.

    Only labels left of the registrable domain are read, so a company's own domain
    ("mail.dynamic-solutions.com") never counts, and words match whole tokens (split at dots,
    dashes, underscores and digits), never substrings ("mail.staticsoftware.com"). "static",
    "customer", "mobile", "home" and similar count only together with an access word or the
    address in the name: "static.example.com" is not a hint, "static.1.2.3.4.isp.example" is.
    Per-address names of hosting providers match too (the address is in the name); weigh this
    with the network's type. Known crawler domains never match.
    """
    h = _clean_host(host)
    if not h or _is_ip_literal(h) or is_crawler_host(h):
        return None
    domain = registrable_domain(h)
    # Unknown suffix (e.g. test TLDs): assume the last two labels are the organization's domain.
    sub = h[: -len(domain)].rstrip(".") if domain else ".".join(h.split(".")[:-2])
    words = list(dict.fromkeys(_TOKEN.findall(sub)))
    strong = [w for w in words if w in _ACCESS_WORDS]
    address = _address_in_name(sub)
    if not strong and not address:
        return None
    reasons = [w for w in words if w in _ACCESS_WORDS or w in _AMBIGUOUS_WORDS]
    if address:
        reasons.append("IP in name")
    return f"host name looks like an access network ({', '.join(reasons)})"


# PTR domains that search engines and other crawlers document for verifying their bots.
_CRAWLER_DOMAINS = {
    domain: operator
    for operator, domains in [
        ("Google", "googlebot.com google.com"),
        ("Microsoft", "search.msn.com"),
        ("Yahoo", "crawl.yahoo.net"),
        ("Yandex", "yandex.ru yandex.net yandex.com"),
        ("Baidu", "baidu.com baidu.jp"),
        ("Apple", "applebot.apple.com"),
        ("DuckDuckGo", "duckduckgo.com"),
        ("Amazon", "crawl.amazonbot.amazon"),
        ("Huawei", "petalsearch.com"),
        ("Seznam", "seznam.cz"),
    ]
    for domain in domains.split()
}


def is_crawler_host(host: str) -> str | None:
    """The operator if `host` is in a known crawler PTR domain. Confirm it with
    `ReverseDns.confirmed` before trusting it: anyone can put these names in a PTR record."""
    h = _clean_host(host)
    labels = h.split(".")
    for i in range(len(labels)):  # "a.b.googlebot.com", then "b.googlebot.com", ...
        operator = _CRAWLER_DOMAINS.get(".".join(labels[i:]))
        if operator:
            return operator
    return None
