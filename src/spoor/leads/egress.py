"""Where Spoor may send HTTP requests that users configure: alert webhooks (generic, Slack,
Teams) and golden-hours reminder webhooks.

Anyone who may save a webhook address could otherwise make the server POST to what only it
can reach: its own admin ports, a cloud metadata service (169.254.169.254), a database on
the private network. So a target's host is resolved (every A and AAAA record) and refused
when any address is loopback, private (RFC 1918, ULA), link-local, shared (CGNAT),
multicast, unspecified, reserved or otherwise not globally routable, including those
addresses wrapped in IPv6 (IPv4-mapped, 6to4, NAT64). `SPOOR_WEBHOOK_ALLOW` names the
networks an admin lets through.

The check runs when a webhook is saved (a clear error) and again before every request; the
request then connects to the very address that was checked (the URL's host is replaced by
the address; Host header and TLS server name stay the host name), so a DNS answer that
changes in between (rebinding) cannot redirect it. Redirects are never followed.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import dns.exception
import dns.resolver
import httpx

from spoor.settings import Network, Settings

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]

# Named so that a refusal says what kind of address it met; anything else that Python does
# not consider globally routable is refused too ("not public").
BLOCKED: tuple[tuple[Network, str], ...] = tuple(
    (ipaddress.ip_network(net), why)
    for net, why in (
        ("0.0.0.0/8", "unspecified"),
        ("10.0.0.0/8", "private"),
        ("100.64.0.0/10", "shared (carrier-grade NAT)"),
        ("127.0.0.0/8", "loopback"),
        ("169.254.0.0/16", "link-local"),
        ("172.16.0.0/12", "private"),
        ("192.0.0.0/24", "IETF protocol"),
        ("192.0.2.0/24", "documentation"),
        ("192.88.99.0/24", "6to4 relay"),
        ("192.168.0.0/16", "private"),
        ("198.18.0.0/15", "benchmarking"),
        ("198.51.100.0/24", "documentation"),
        ("203.0.113.0/24", "documentation"),
        ("224.0.0.0/4", "multicast"),
        ("240.0.0.0/4", "reserved"),
        ("::/128", "unspecified"),
        ("::1/128", "loopback"),
        ("::/96", "IPv4-compatible"),
        ("100::/64", "discard"),
        ("2001::/23", "IETF protocol"),
        ("2001:db8::/32", "documentation"),
        ("64:ff9b:1::/48", "local NAT64"),
        ("fc00::/7", "private (unique local)"),
        ("fe80::/10", "link-local"),
        ("fec0::/10", "site-local"),
        ("ff00::/8", "multicast"),
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class EgressRefused(ValueError):
    """The target is on a network Spoor does not send to; the message says which and why."""


class HostUnknown(ValueError):
    """The host name has no address (or DNS did not answer)."""


def embedded_ipv4(ip: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address really reaches, when it wraps one."""
    if isinstance(ip, ipaddress.IPv4Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def refusal(ip: Address, allow: tuple[Network, ...] = ()) -> str | None:
    """Why a request may not go to `ip` ("loopback", ...), or None when it may."""
    inner = embedded_ipv4(ip)
    if any(a in net for a in (ip, inner) if a is not None for net in allow):
        return None
    reached = inner or ip
    for net, why in BLOCKED:
        if reached.version == net.version and reached in net:
            return why
    if not reached.is_global or reached.is_multicast:
        return "not public"
    return None


def system_resolver(host: str, port: int) -> list[str]:
    """The addresses the operating system gives (/etc/hosts, then DNS), as httpx would."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise HostUnknown(f"{host} does not resolve: {exc}") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def dns_resolver(servers: tuple[str, ...], port: int = 53, timeout: float = 5) -> Resolver:
    """Ask the configured DNS servers (SPOOR_DNS_SERVERS) for A and AAAA records."""
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = list(servers)
    resolver.port = port
    resolver.lifetime = timeout

    def resolve(host: str, _port: int) -> list[str]:
        found: list[str] = []
        for rtype in ("A", "AAAA"):
            try:
                found += [r.to_text() for r in resolver.resolve(host, rtype, search=False)]
            except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
                continue
            except dns.exception.DNSException as exc:
                raise HostUnknown(f"{host}: DNS did not answer ({exc})") from exc
        if not found:
            raise HostUnknown(f"{host} has no A or AAAA record")
        return found

    return resolve


def _literal(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


@dataclass(frozen=True)
class Guard:
    """The egress policy: which networks are let through, and how host names resolve."""

    allow: tuple[Network, ...] = ()
    resolve: Resolver = field(default=system_resolver)

    @classmethod
    def from_settings(cls, settings: Settings) -> Guard:
        if not settings.dns_servers:
            return cls(settings.webhook_allow)
        return cls(settings.webhook_allow, dns_resolver(settings.dns_servers, settings.dns_port))

    def addresses(self, url: str) -> tuple[httpx.URL, list[Address]]:
        """The URL and every address of its host; EgressRefused if any of them is refused
        (one bad record is enough: which one a connection gets is not ours to choose)."""
        try:
            target = httpx.URL(url)
        except httpx.InvalidURL as exc:
            raise EgressRefused(f"{url!r} is not a valid address: {exc}") from exc
        if target.scheme not in ("http", "https") or not target.host:
            raise EgressRefused(f"{url!r} is not an http:// or https:// address")
        host = target.raw_host.decode("ascii")
        literal = _literal(target.host)
        if literal is not None:
            found = [literal]  # a literal address needs no DNS
        else:
            port = target.port or (443 if target.scheme == "https" else 80)
            found = [ipaddress.ip_address(a) for a in self.resolve(host, port)]
        for ip in found:
            why = refusal(ip, self.allow)
            if why is not None:
                named = target.host if literal else f"{host} resolves to {ip}, which"
                raise EgressRefused(
                    f"{named} is a {why} address: Spoor sends webhooks to public addresses "
                    "only, unless an admin allows the network in SPOOR_WEBHOOK_ALLOW"
                )
        return target, found

    def check(self, url: str) -> None:
        """At save time: refuse what resolves to a refused address now. A name that does not
        resolve yet is accepted; every send checks again."""
        try:
            self.addresses(url)
        except HostUnknown:
            return

    def post(
        self,
        url: str,
        *,
        content: bytes | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 10,
    ) -> httpx.Response:
        """POST to the checked address itself; raises EgressRefused, HostUnknown or
        httpx.HTTPError."""
        target, found = self.addresses(url)
        pinned_headers = {**(headers or {}), "host": target.netloc.decode("ascii")}
        extensions: dict[str, Any] = {}
        if target.scheme == "https" and _literal(target.host) is None:
            # Certificates are checked against the name, not the address we connect to.
            extensions["sni_hostname"] = target.raw_host.decode("ascii")
        with httpx.Client(timeout=timeout, follow_redirects=False) as client:
            for n, ip in enumerate(found):
                try:
                    return client.post(
                        target.copy_with(host=str(ip)),
                        content=content,
                        json=json,
                        headers=pinned_headers,
                        extensions=extensions,
                    )
                except httpx.ConnectError:
                    if n == len(found) - 1:
                        raise
        raise AssertionError("unreachable: a host with no address raises HostUnknown")
