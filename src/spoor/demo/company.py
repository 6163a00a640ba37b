"""The fictional company "Northwind Metrics", the organizations and people that visit its site.

``demo_company(seed)`` is deterministic: the catalogue (names, networks, pages, campaigns) is
fixed, the seed only decides sizes, buyer interest, address blocks and the people. It is the
ground truth later features are tested against: ``organization_for_ip`` maps any address in a
demo log back to the organization whose range it came from.
"""

from __future__ import annotations

import bisect
import ipaddress
import random
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache

from spoor.demo import catalogue
from spoor.demo.useragents import browser_user_agent

__all__ = [
    "Campaign",
    "DemoCompany",
    "Organization",
    "Page",
    "Person",
    "demo_company",
    "organization_for_ip",
]

SIZE_BANDS = ("1-10", "11-50", "51-200", "201-1000", "1001-5000", "5000+")
_SIZE_WEIGHTS = (8.0, 22.0, 30.0, 22.0, 12.0, 6.0)
# Small firms get a few addresses from their access provider, large ones their own blocks.
_PREFIX_BY_SIZE = {"1-10": 29, "11-50": 28, "51-200": 26, "201-1000": 24, "1001-5000": 23}
_PREFIX_BY_SIZE["5000+"] = 22
_PEOPLE_BY_SIZE = {
    "1-10": (1, 2), "11-50": (1, 3), "51-200": (2, 4),
    "201-1000": (2, 5), "1001-5000": (3, 7), "5000+": (4, 9),
}  # fmt: skip
# Anonymous visitors on consumer networks, per network (scaled by the simulator's volume).
_HOUSEHOLDS = {
    "Kabelnet Residential": 1800, "Telemobil": 1200, "Fernnetz Breitband": 900,
    "Funkwelle Mobil": 450, "Albion Broadband": 700, "Continental Cable": 500,
    "Hexanet Fibre": 300, "Scheldt Telecom": 400, "Nordlys Broadband": 300,
    "Meridia Telecom": 150,
}  # fmt: skip
_HOUSEHOLD_ROLES = (
    ("reader", 44.0), ("job_seeker", 15.0), ("evaluator", 8.0), ("developer", 7.0),
    ("customer", 9.0), ("investor", 3.0), ("casual", 14.0),
)  # fmt: skip


@dataclass(frozen=True)
class Organization:
    """A network that visitors come from; ``kind`` tells a company from an ISP or a host.

    ``asn`` is the announcing AS: large organizations have their own (private range),
    small businesses sit inside their access provider's AS, as in real routing data.
    """

    name: str
    domain: str
    kind: str
    industry: str | None
    size_band: str | None
    country: str
    ipv4: str
    ipv6: str | None
    asn: int
    buyer_interest: float
    is_customer: bool = False


@dataclass(frozen=True)
class Page:
    path: str
    title: str
    page_type: str


@dataclass(frozen=True)
class Campaign:
    """A marketing push that recurs yearly (``month`` 1-12) or monthly (``month`` 0)."""

    name: str
    channels: tuple[tuple[str, str], ...]  # (utm_source, utm_medium)
    landing_path: str
    month: int
    day: int
    duration_days: int
    lift: float  # extra visits on the first day, as a share of a normal day's visits

    def start_for(self, day: date) -> date | None:
        """Start of the run of this campaign that ``day`` falls in, if any."""
        candidates: list[date] = []
        if self.month == 0:
            for back in (0, 1):
                y, m = divmod(day.year * 12 + day.month - 1 - back, 12)
                start = date(y, m + 1, self.day)
                # Newsletters go out on a Tuesday, whatever day of the month that is.
                candidates.append(start + timedelta(days=(1 - start.weekday()) % 7))
        else:
            candidates = [date(day.year - back, self.month, self.day) for back in (0, 1)]
        for start in candidates:
            if 0 <= (day - start).days < self.duration_days:
                return start
        return None

    def lift_on(self, day: date) -> float:
        start = self.start_for(day)
        if start is None:
            return 0.0
        return self.lift * (1.0 - 0.8 * (day - start).days / self.duration_days)

    def utm_campaign(self, day: date) -> str:
        start = self.start_for(day) or day
        return f"{self.name}-{start:%Y-%m}" if self.month == 0 else self.name


@dataclass(frozen=True)
class Person:
    """A stable visitor: one browser on one device, browsing from one organization's network.

    Mobile carriers hand out a fresh address per visit (``dynamic_ip``); ``home_ipv4`` is
    used on remote-work days and belongs to an ISP, so those visits are anonymous.
    """

    key: str
    organization: str
    role: str
    user_agent: str
    ipv4: str
    ipv6: str | None = None
    home_ipv4: str | None = None
    dynamic_ip: bool = False
    http2: bool = True


@dataclass(frozen=True)
class DemoCompany:
    name: str
    domain: str
    timezone: str
    organizations: tuple[Organization, ...]
    pages: tuple[Page, ...]
    campaigns: tuple[Campaign, ...]
    people: tuple[Person, ...] = ()
    _index: _IpIndex = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", _IpIndex(self.organizations))

    @property
    def base_url(self) -> str:
        return f"https://{self.domain}"

    def organization(self, name: str) -> Organization:
        for org in self.organizations:
            if org.name == name:
                return org
        raise KeyError(name)


class _IpIndex:
    """Sorted address intervals per IP version, for bisect lookups."""

    def __init__(self, orgs: tuple[Organization, ...]) -> None:
        self._tables: dict[int, tuple[list[int], list[int], list[Organization]]] = {}
        for version in (4, 6):
            rows = []
            for org in orgs:
                cidr = org.ipv4 if version == 4 else org.ipv6
                if cidr:
                    net = ipaddress.ip_network(cidr)
                    rows.append((int(net.network_address), int(net.broadcast_address), org))
            rows.sort(key=lambda r: r[0])
            self._tables[version] = (
                [r[0] for r in rows],
                [r[1] for r in rows],
                [r[2] for r in rows],
            )

    def lookup(self, ip: str) -> Organization | None:
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return None
        starts, ends, orgs = self._tables[addr.version]
        value = int(addr)
        i = bisect.bisect_right(starts, value) - 1
        if i >= 0 and value <= ends[i]:
            return orgs[i]
        return None


def organization_for_ip(company: DemoCompany, ip: str) -> Organization | None:
    """The organization whose IPv4/IPv6 range contains ``ip`` (None outside all ranges)."""
    return company._index.lookup(ip)


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _weighted(rng: random.Random, options: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([o for o, _ in options], [w for _, w in options])[0]


@cache
def _network(cidr: str) -> tuple[int, int, int]:
    net = ipaddress.ip_network(cidr)
    return net.version, int(net.network_address), net.prefixlen


def random_host(rng: random.Random, cidr: str) -> str:
    """A random usable host address inside ``cidr`` (never the network/broadcast address)."""
    version, base, prefixlen = _network(cidr)
    if version == 6:
        # Stay below the /64 boundary of a random subnet, like a SLAAC address would.
        offset = (rng.getrandbits(64 - prefixlen) << 64) | rng.getrandbits(64) | 1
        return str(ipaddress.IPv6Address(base + offset))
    value = base + 1 + rng.randrange((1 << (32 - prefixlen)) - 2)
    return f"{value >> 24}.{(value >> 16) & 255}.{(value >> 8) & 255}.{value & 255}"


def _build_organizations(rng: random.Random) -> list[Organization]:
    home_asn = {name: asn for name, _, _, _, _, _, asn in catalogue.NETWORKS}
    orgs = [
        Organization(name, domain, kind, "telecom" if kind in {"isp", "mobile"} else "hosting",
                     None, country, v4, v6, asn, 0.0)
        for name, domain, kind, country, v4, v6, asn in catalogue.NETWORKS
    ]  # fmt: skip
    customers = set(catalogue.CASE_STUDY_CUSTOMERS)
    customers.update(rng.sample([n for n, _, _ in catalogue.BUSINESSES if n not in customers], 4))
    # (prefix length, row): institutions first, then businesses, largest blocks first so
    # that aligned allocation leaves no gaps.
    pending: list[tuple[int, int, tuple[str, str, str, str, str, str, float, bool]]] = []
    for i, (name, domain, kind, country, industry, band, prefix) in enumerate(
        catalogue.INSTITUTIONS
    ):
        interest = 0.25 if kind == "government" else 0.06
        pending.append((prefix, i, (name, domain, kind, country, industry, band, interest, False)))
    for i, (name, industry, country) in enumerate(catalogue.BUSINESSES, start=100):
        band = rng.choices(SIZE_BANDS, _SIZE_WEIGHTS)[0]
        interest = round(min(0.97, rng.betavariate(0.9, 3.2)), 3)
        row = (name, f"{_slug(name)}.example", "business", country, industry, band, interest,
               name in customers)  # fmt: skip
        pending.append((_PREFIX_BY_SIZE[band], i, row))
    pending.sort(key=lambda item: (item[0], item[1]))

    cursor = int(ipaddress.IPv4Address("198.18.1.0"))
    allocated: list[tuple[int, Organization]] = []
    for n, (prefix, order, row) in enumerate(pending):
        name, domain, kind, country, industry, band, interest, customer = row
        size = 1 << (32 - prefix)
        cursor = -(-cursor // size) * size
        v4 = f"{ipaddress.IPv4Address(cursor)}/{prefix}"
        cursor += size
        big = prefix <= 24
        v6 = None
        if kind != "business" or rng.random() < (0.55 if big else 0.15):
            v6 = f"2001:db8:{0x100 + n:x}::/48"
        home = catalogue.HOME_ISP.get(country, "Kabelnet Residential")
        asn = 64512 + n if big or kind != "business" else home_asn[home]
        org = Organization(name, domain, kind, industry, band, country, v4, v6, asn, interest,
                           customer)  # fmt: skip
        allocated.append((order, org))
    # Back to catalogue order: institutions, then businesses as listed.
    return orgs + [org for _, org in sorted(allocated, key=lambda item: item[0])]


def _business_roles(rng: random.Random, org: Organization, count: int) -> list[str]:
    roles = []
    for _ in range(count):
        options = (
            ("evaluator", 0.15 + 1.2 * org.buyer_interest),
            ("developer", 0.12 + 0.3 * org.buyer_interest),
            ("customer", 0.9 if org.is_customer else 0.0),
            ("reader", 0.35),
            ("job_seeker", 0.08),
            ("casual", 0.1),
        )
        roles.append(_weighted(rng, options))
    return roles


def _build_people(rng: random.Random, orgs: list[Organization]) -> list[Person]:
    by_name = {o.name: o for o in orgs}
    people: list[Person] = []

    def add(
        org: Organization,
        role: str,
        profile: str,
        ipv4: str,
        ipv6: str | None = None,
        home_ipv4: str | None = None,
        dynamic_ip: bool = False,
    ) -> None:
        ua = browser_user_agent(rng, profile)
        # Corporate proxies still downgrade a share of office traffic to HTTP/1.1.
        http2 = rng.random() < (0.8 if profile == "office" else 0.93)
        key = f"p{len(people):05d}"
        people.append(Person(key, org.name, role, ua, ipv4, ipv6, home_ipv4, dynamic_ip, http2))

    for org in orgs:
        if org.kind == "business":
            low, high = _PEOPLE_BY_SIZE[org.size_band or "1-10"]
            count = rng.randint(low, high) + round(org.buyer_interest * 2)
            # Offices share one to four NAT egress addresses.
            egress = [random_host(rng, org.ipv4) for _ in range(min(4, 1 + (high // 3)))]
            home_isp = by_name[catalogue.HOME_ISP.get(org.country, "Kabelnet Residential")]
            for role in _business_roles(rng, org, count):
                v6 = random_host(rng, org.ipv6) if org.ipv6 and rng.random() < 0.7 else None
                home = random_host(rng, home_isp.ipv4) if rng.random() < 0.5 else None
                add(org, role, "office", rng.choice(egress), ipv6=v6, home_ipv4=home)
        elif org.kind in {"education", "government"}:
            count = 36 if org.kind == "education" else 7
            profile = "campus" if org.kind == "education" else "office"
            for _ in range(count):
                if org.kind == "education":
                    role = _weighted(
                        rng, (("reader", 5.0), ("job_seeker", 3.0), ("developer", 2.0))
                    )
                else:
                    role = _weighted(rng, (("evaluator", 3.0), ("reader", 3.0), ("casual", 1.0)))
                v6 = random_host(rng, org.ipv6) if org.ipv6 and rng.random() < 0.5 else None
                add(org, role, profile, random_host(rng, org.ipv4), ipv6=v6)
        elif org.kind in {"isp", "mobile"}:
            mobile = org.kind == "mobile"
            for _ in range(_HOUSEHOLDS.get(org.name, 0)):
                role = _weighted(rng, _HOUSEHOLD_ROLES)
                v6 = random_host(rng, org.ipv6) if org.ipv6 and rng.random() < 0.35 else None
                profile = "mobile" if mobile or rng.random() < 0.3 else "home"
                add(org, role, profile, random_host(rng, org.ipv4), ipv6=v6, dynamic_ip=mobile)
    return people


def _campaigns() -> tuple[Campaign, ...]:
    result = []
    for name, channels, landing, month, day, duration, lift in catalogue.CAMPAIGNS:
        pairs = tuple((src, medium) for src, medium in (c.split(":") for c in channels.split("|")))
        result.append(Campaign(name, pairs, landing, month, day, duration, lift))
    return tuple(result)


def demo_company(seed: int = 7) -> DemoCompany:
    """The Northwind Metrics catalogue; same seed, same organizations, ranges and people."""
    rng = random.Random(f"spoor-demo-company:{seed}")
    orgs = _build_organizations(rng)
    people = _build_people(rng, orgs)
    pages = tuple(Page(path, title, page_type) for path, title, page_type in catalogue.PAGES)
    return DemoCompany(
        name="Northwind Metrics",
        domain="www.northwind-metrics.example",
        timezone="Europe/Amsterdam",
        organizations=tuple(orgs),
        pages=pages,
        campaigns=_campaigns(),
        people=tuple(people),
    )
