"""A tiny authoritative DNS server for tests: dnslib on 127.0.0.1, a free UDP port, no internet.

It counts queries per name and the most queries it was ever answering at once, so tests can
prove caching and concurrency limits from the server's side.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections import Counter
from typing import Any

from dnslib import AAAA, CNAME, PTR, QTYPE, RCODE, RR, TXT, A, DNSRecord
from dnslib.server import DNSLogger, DNSServer


def reverse_name(ip: str) -> str:
    return ipaddress.ip_address(ip).reverse_pointer + "."


def _fqdn(name: str) -> str:
    return name.lower().rstrip(".") + "."


class TestDnsServer:
    """Zone data is added with ptr()/a()/aaaa()/...; names not added answer NXDOMAIN."""

    __test__ = False  # not a pytest test class despite the name

    def __init__(self) -> None:
        self.records: dict[str, list[RR]] = {}
        self.servfail: set[str] = set()
        self.hang: set[str] = set()  # never answered in time: the handler waits for stop()
        self.delay: dict[str, float] = {}
        self.queries: Counter[str] = Counter()
        self.inflight = 0
        self.max_inflight = 0
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._server: DNSServer | None = None
        self.port = 0

    # --- zone data ---------------------------------------------------------------------------
    def add(self, name: str, rtype: str, rdata: Any) -> None:
        rr = RR(_fqdn(name), getattr(QTYPE, rtype), rdata=rdata, ttl=60)
        self.records.setdefault(_fqdn(name), []).append(rr)

    def ptr(self, ip: str, host: str, delay: float = 0.0) -> None:
        self.add(reverse_name(ip), "PTR", PTR(host))
        if delay:
            self.delay[reverse_name(ip)] = delay

    def a(self, host: str, ip: str) -> None:
        self.add(host, "A", A(ip))

    def aaaa(self, host: str, ip: str) -> None:
        self.add(host, "AAAA", AAAA(ip))

    def cname(self, name: str, target: str) -> None:
        self.add(name, "CNAME", CNAME(target))

    def txt(self, name: str, text: str) -> None:
        self.add(name, "TXT", TXT(text))

    # --- counters ----------------------------------------------------------------------------
    def count(self, name: str) -> int:
        return self.queries[_fqdn(name)]

    def reset(self) -> None:
        with self._lock:
            self.queries.clear()
            self.max_inflight = 0

    # --- dnslib resolver interface -----------------------------------------------------------
    def resolve(self, request: DNSRecord, handler: Any) -> DNSRecord:
        qname = _fqdn(str(request.q.qname))
        with self._lock:
            self.queries[qname] += 1
        if qname in self.hang:  # not counted in flight: it outlives the test that sent it
            self._release.wait(10)  # the client has long given up; this reply is dropped
            return self._answer(request, qname)
        with self._lock:
            self.inflight += 1
            self.max_inflight = max(self.max_inflight, self.inflight)
        try:
            if qname in self.delay:
                time.sleep(self.delay[qname])
            return self._answer(request, qname)
        finally:
            with self._lock:
                self.inflight -= 1

    def _answer(self, request: DNSRecord, qname: str) -> DNSRecord:
        reply = request.reply()  # sets QR, AA and RD
        if qname in self.servfail:
            reply.header.rcode = RCODE.SERVFAIL
            return reply
        if qname not in self.records:
            reply.header.rcode = RCODE.NXDOMAIN
            return reply
        name = qname
        for _ in range(8):  # follow CNAMEs inside the zone, as an authoritative server does
            rrs = self.records.get(name, [])
            wanted = [rr for rr in rrs if rr.rtype == request.q.qtype]
            aliases = [rr for rr in rrs if rr.rtype == QTYPE.CNAME]
            if wanted or not aliases:
                for rr in wanted:
                    reply.add_answer(rr)
                break
            reply.add_answer(aliases[0])
            name = _fqdn(str(aliases[0].rdata.label))
        return reply

    # --- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        self._server = DNSServer(
            self, address="127.0.0.1", port=0, logger=DNSLogger(logf=lambda _msg: None)
        )
        self.port = self._server.server.server_address[1]  # port 0: the OS picked a free one
        self._server.start_thread()

    def stop(self) -> None:
        self._release.set()
        if self._server is not None:
            self._server.stop()
            self._server.server.server_close()
