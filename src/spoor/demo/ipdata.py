"""IP data for the demo company's world, written in two standard formats.

As on the real internet: networks with their own AS appear in an ASN table
(ip-location-db CSV: start,end,asn,org), and businesses that use addresses routed by
their ISP's AS appear as registry assignments (RIPE-style RPSL inetnum/inet6num objects
naming the company) inside a route of that ISP. `spoor demo` imports both through the
real importers.
"""

from __future__ import annotations

import csv
import ipaddress
from collections import Counter
from pathlib import Path

from spoor.demo.company import DemoCompany, Organization

_REGISTRY_KINDS = {"business", "education", "government"}


def _span(cidr: str) -> tuple[str, str]:
    network = ipaddress.ip_network(cidr)
    return str(network.network_address), str(network.broadcast_address)


def write_asn_csv(company: DemoCompany, path: Path) -> int:
    """Routes with AS names; a business on its ISP's AS shows under the ISP's name."""
    owners = Counter(o.asn for o in company.organizations)
    by_asn = {o.asn: o for o in company.organizations if o.kind != "business"}
    rows: list[tuple[str, str, int, str]] = []
    for org in company.organizations:
        shared = owners[org.asn] > 1 and org.kind == "business" and org.asn in by_asn
        # A shared AS is announced by its network operator, not by the business.
        as_name = by_asn[org.asn].name if shared else org.name
        for cidr in filter(None, (org.ipv4, org.ipv6)):
            route = _route(cidr) if shared else cidr
            rows.append((*_span(route), org.asn, as_name))
    unique = sorted(set(rows), key=lambda r: (":" in r[0], ipaddress.ip_address(r[0])))
    with path.open("w", newline="") as out:
        csv.writer(out).writerows(unique)
    return len(unique)


def _route(cidr: str) -> str:
    """The covering route an ISP would announce: a /24 for IPv4, a /40 for IPv6."""
    network = ipaddress.ip_network(cidr)
    return str(network.supernet(new_prefix=24 if network.version == 4 else 40))


def write_rpsl(company: DemoCompany, path: Path) -> int:
    """inetnum/inet6num assignments naming each business, university and agency."""
    objects = []
    for org in company.organizations:
        if org.kind not in _REGISTRY_KINDS:
            continue
        objects.append(_inetnum(org, org.ipv4, "inetnum"))
        if org.ipv6:
            objects.append(_inetnum(org, org.ipv6, "inet6num"))
    path.write_text("\n\n".join(objects) + "\n")
    return len(objects)


def _inetnum(org: Organization, cidr: str, kind: str) -> str:
    first, last = _span(cidr)
    key = f"{first} - {last}" if kind == "inetnum" else cidr
    netname = org.domain.split(".")[0].upper()[:20] + "-NET"
    return "\n".join(
        [
            f"{kind}:{' ' * (16 - len(kind))}{key}",
            f"netname:        {netname}",
            f"descr:          {org.name}",
            f"country:        {org.country}",
            "status:         ASSIGNED PA",
            "mnt-by:         DEMO-MNT",
            "source:         RIPE",
        ]
    )


_CAIDA_CLASS = {"isp": "Transit/Access", "mobile": "Transit/Access", "hosting": "Content"}


def write_as2types(company: DemoCompany, path: Path) -> int:
    """CAIDA's AS classification (as2types) for the networks of the demo world."""
    lines = ["# format: as|source|type", "# date: demo"]
    seen: set[int] = set()
    for org in company.organizations:
        if org.asn in seen:
            continue
        seen.add(org.asn)
        lines.append(f"{org.asn}|CAIDA_class|{_CAIDA_CLASS.get(org.kind, 'Enterprise')}")
    path.write_text("\n".join(lines) + "\n")
    return len(seen)
