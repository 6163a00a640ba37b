"""Resolving an address to an organization through layered evidence.

Most specific first: the team's known ranges, then every stored dataset's most specific
range for the address, ordered by how small that range is. A registry assignment (an
RPSL inetnum smaller than the AS's route) names the company inside an ISP's block;
MaxMind's ISP and Enterprise records name the organization using the address; otherwise
the AS is the organization. The evidence is classified, then the team's corrections are
applied: they win over every dataset.
"""

from __future__ import annotations

import hashlib
import unicodedata
from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, Engine, func, select

from spoor.db.schema import (
    asn_types,
    ip_ranges,
    ip_sources,
    known_ranges,
    org_corrections,
    organizations,
)
from spoor.identify.classify import FIRM_LEAD_CONFIDENCE, classify
from spoor.identify.ipdb import RANGE_COLUMNS
from spoor.identify.ipindex import NOT_FOUND, RangeIndex, int_to_ip, ip_to_int
from spoor.identify.rdns import access_network_hint, is_crawler_host, registrable_domain
from spoor.identify.types import LEAD_TYPES, Evidence, OrgType


def org_id_for(key: str) -> int:
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") & 0x7FFF_FFFF_FFFF_FFFF


def org_key(name: str) -> str:
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "org:" + " ".join(folded.casefold().split())


@dataclass(frozen=True, slots=True)
class Network:
    """What one dataset says about the range an address fell in."""

    source: str
    format: str
    version: int
    first: int
    last: int
    asn: int | None
    org: str | None
    country: str | None
    domain: str | None
    isp: str | None
    user_type: str | None
    connection_type: str | None
    anonymous: tuple[str, ...]
    netname: str | None
    descr: str | None
    network_type: str | None

    @property
    def size(self) -> int:
        return self.last - self.first

    @property
    def span(self) -> str:
        first, last = int_to_ip(self.version, self.first), int_to_ip(self.version, self.last)
        return f"{first} - {last}"


@dataclass(frozen=True)
class Correction:
    name: str | None = None
    type: str | None = None
    hidden: bool = False
    relation: str | None = None  # customer | competitor
    merged_into: int | None = None


@dataclass(frozen=True)
class Resolution:
    """The organization behind an address. It holds no address: it is stored and cached."""

    org_id: int
    key: str
    name: str
    type: OrgType
    confidence: float
    asn: int | None
    country: str | None
    domain: str | None
    source: str  # the dataset (or "correction") that named the organization
    network: str  # the matched range
    reasons: tuple[str, ...]
    hidden: bool = False
    relation: str | None = None

    @property
    def is_lead(self) -> bool:
        """A lead type, firmly enough (a bare company-like name is not), not set aside."""
        if self.hidden or self.relation is not None or self.type not in LEAD_TYPES:
            return False
        return self.confidence >= FIRM_LEAD_CONFIDENCE

    def as_json(self) -> dict[str, Any]:
        return {
            "org": self.name,
            "org_id": self.org_id,
            "type": self.type.value,
            "confidence": round(self.confidence, 3),
            "asn": self.asn,
            "country": self.country,
            "domain": self.domain,
            "source": self.source,
            "network": self.network,
            "evidence": list(self.reasons),
            "lead": self.is_lead,
        }


@dataclass
class _Layer:
    """One stored source: its index, its rows' bounds packed, attributes interned."""

    name: str
    format: str
    index: RangeIndex
    bounds: bytes  # 32 bytes a row: first and last address, 16 bytes big-endian each
    version: array[int]
    attrs: list[tuple[Any, ...]]
    attr_of_row: npt.NDArray[np.int32]

    def __len__(self) -> int:
        return len(self.version)

    def network(self, row: int) -> Network:
        a = self.attrs[int(self.attr_of_row[row])]
        anonymous = tuple(a[7].split(",")) if a[7] else ()
        at = row * 32
        first = int.from_bytes(self.bounds[at : at + 16], "big")
        last = int.from_bytes(self.bounds[at + 16 : at + 32], "big")
        # fmt: off
        return Network(
            self.name, self.format, self.version[row], first, last,
            a[0], a[1], a[2], a[3], a[4], a[5], a[6], anonymous, a[8], a[9], a[10],
        )
        # fmt: on


@dataclass
class Resolver:
    layers: list[_Layer] = field(default_factory=list)
    known: RangeIndex | None = None
    known_orgs: list[int] = field(default_factory=list)
    corrections: dict[int, Correction] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)  # names of orgs known by correction
    asn_types: dict[int, str] = field(default_factory=dict)  # CAIDA / PeeringDB network types
    known_types: dict[int, str] = field(default_factory=dict)  # types of known-range orgs

    def __post_init__(self) -> None:
        # Addresses repeat a lot in traffic; a per-instance cache dies with its resolver.
        self._cached = lru_cache(maxsize=200_000)(self._resolve)

    @classmethod
    def load(cls, engine: Engine) -> Resolver:
        """Everything stored, read once; build one per process and share it."""
        with engine.connect() as conn:
            resolver = cls(layers=list(_load_layers(conn)))
            resolver._load_corrections(conn)
            for row in conn.execute(
                select(asn_types.c.asn, asn_types.c.network_type).order_by(asn_types.c.source_id)
            ):
                resolver.asn_types[row.asn] = row.network_type
        return resolver

    def _load_corrections(self, conn: Connection) -> None:
        for row in conn.execute(select(org_corrections)):
            self.corrections[row.org_id] = Correction(
                row.name, row.type, bool(row.hidden), row.relation, row.merged_into
            )
            if row.name:
                self.names[row.org_id] = row.name
        known = conn.execute(
            select(
                known_ranges.c.org_id,
                known_ranges.c.version,
                known_ranges.c.first,
                known_ranges.c.last,
            )
        ).all()
        self.known_orgs = [row.org_id for row in known]
        org = organizations.c
        for row in conn.execute(
            select(org.id, org.name, org.type).where(org.id.in_(set(self.known_orgs)))
        ):
            self.names.setdefault(row.id, row.name)
            self.known_types[row.id] = row.type
        self.known = RangeIndex.build(
            (row.version, int.from_bytes(row.first), int.from_bytes(row.last), n)
            for n, row in enumerate(known)
        )

    def __len__(self) -> int:
        return sum(len(layer) for layer in self.layers) + len(self.asn_types)

    def networks(self, ip: str) -> list[Network]:
        """Every source's most specific range holding `ip`, smallest first."""
        version, value = ip_to_int(ip)
        found = []
        for layer in self.layers:
            row = layer.index.lookup_int(version, value)
            if row != NOT_FOUND:
                found.append(layer.network(row))
        return sorted(found, key=lambda n: n.size)

    def resolve(self, ip: str, hostname: str | None = None) -> Resolution | None:
        """The organization behind `ip` (and its reverse DNS name, if looked up), or None."""
        return self._cached(ip, hostname)

    def _resolve(self, ip: str, hostname: str | None) -> Resolution | None:
        version, value = ip_to_int(ip)
        if self.known is not None:
            row = self.known.lookup_int(version, value)
            if row != NOT_FOUND:
                return self._known(self.known_orgs[row])
        networks = self.networks(ip)
        found = _from_networks(networks, self.asn_types, hostname) if networks else None
        if hostname:
            found = _named_by_hostname(hostname, found) or found
        return self._apply_corrections(found) if found else None

    def _known(self, org_id: int) -> Resolution:
        correction = self.corrections.get(org_id, Correction())
        name = self.names.get(org_id, f"organization {org_id}")
        kind = correction.type or self.known_types.get(org_id) or OrgType.BUSINESS
        resolution = Resolution(
            org_id,
            f"id:{org_id}",
            name,
            OrgType(kind),
            1.0,
            None,
            None,
            None,
            "correction",
            "known range",
            ("a known range of the team",),
        )
        return self._apply_corrections(resolution)

    def _apply_corrections(self, resolution: Resolution) -> Resolution:
        """The team's name, type, hidden flag and relation. Merges are left to reports: the
        visit keeps its own organization, so a merge can be undone and never rewrites the
        target's record."""
        correction = self.corrections.get(resolution.org_id)
        if correction is None:
            return resolution
        reasons = resolution.reasons
        if correction.type:
            reasons = (f"type set by the team: {correction.type}", *reasons)
        return replace(
            resolution,
            name=correction.name or resolution.name,
            type=OrgType(correction.type) if correction.type else resolution.type,
            confidence=1.0 if correction.type else resolution.confidence,
            hidden=correction.hidden,
            relation=correction.relation,
            reasons=reasons,
        )


_ACCESS_TYPES = frozenset({OrgType.ISP, OrgType.MOBILE})


def _named_by_hostname(hostname: str, found: Resolution | None) -> Resolution | None:
    """An organization named by reverse DNS where the datasets only know an access network.

    "mail.brightwater.nl" inside an ISP's block is Brightwater's own line; "dsl-1-2-3-4.
    pool.isp.nl" is the ISP's. Crawler and access-network host names name nobody.
    """
    if found is not None and found.type not in _ACCESS_TYPES:
        return None
    domain = registrable_domain(hostname)
    if domain is None or access_network_hint(hostname) or is_crawler_host(hostname):
        return None
    if found is not None and found.domain and registrable_domain(found.domain) == domain:
        return None  # the access network's own host
    evidence = Evidence(
        org=domain,
        domain=domain,
        hostname=hostname,
        asn=found.asn if found else None,
        country=found.country if found else None,
        registry_assignment=True,
    )
    verdict = classify(evidence)
    # The host name itself may spell the address: only its domain is kept.
    reasons = (f"reverse DNS names {domain}", *verdict.reasons)
    key = f"domain:{domain}"
    return Resolution(
        org_id_for(key),
        key,
        domain,
        verdict.type,
        verdict.confidence,
        evidence.asn,
        evidence.country,
        domain,
        "reverse DNS",
        f"a host in {domain}",
        reasons,
    )


def _from_networks(
    networks: list[Network], types: dict[int, str], hostname: str | None = None
) -> Resolution | None:
    """The organization the matched ranges name, or None when none names one (a country or
    connection-type database alone says where and how, not who)."""

    def first(attr: str) -> Any:
        return next((getattr(n, attr) for n in networks if getattr(n, attr)), None)

    as_net = next((n for n in networks if n.asn and n.org and n.format != "rpsl"), None)
    asn = first("asn")
    # A registry object no larger than the AS's route names the organization using it.
    assignment = next(
        (
            n
            for n in networks
            if n.format == "rpsl"
            and (n.descr or n.netname)
            and (as_net is None or n.size <= as_net.size)
        ),
        None,
    )
    # MaxMind ISP/Enterprise "organization" is the user of the address, not the AS.
    user_org = next((n for n in networks if n.org and (n.isp or n.user_type)), None)
    evidence = Evidence(
        org=(assignment.descr or assignment.netname) if assignment else first("org"),
        asn=asn,
        as_name=as_net.org if as_net else None,
        domain=first("domain"),
        user_type=first("user_type"),
        connection_type=first("connection_type"),
        anonymous=first("anonymous") or (),
        netname=first("netname"),
        descr=first("descr"),
        network_type=first("network_type") or (types.get(asn) if asn else None),
        country=first("country"),
        registry_assignment=assignment is not None,
        hostname=hostname,
    )
    verdict = classify(evidence)
    if assignment is not None:
        name, named_by = (assignment.descr or assignment.netname or ""), assignment
        key = org_key(name)
    elif user_org is not None and user_org.org:
        name, named_by, key = user_org.org, user_org, org_key(user_org.org)
    elif as_net is not None and as_net.org:
        name, named_by, key = as_net.org, as_net, f"asn:{as_net.asn}"
    else:
        named_by = networks[0]
        found = named_by.org or named_by.domain or named_by.isp or (f"AS{asn}" if asn else None)
        if found is None:
            return None
        name, key = found, f"asn:{asn}" if asn else org_key(found)
    return Resolution(
        org_id_for(key),
        key,
        name,
        verdict.type,
        verdict.confidence,
        asn,
        first("country"),
        first("domain"),
        named_by.source,
        named_by.span,
        verdict.reasons,
    )


def _load_layers(conn: Connection) -> Iterable[_Layer]:
    sources = conn.execute(
        select(ip_sources.c.id, ip_sources.c.name, ip_sources.c.format).where(
            ip_sources.c.id.in_(select(ip_ranges.c.source_id).distinct())
        )
    ).all()
    columns = [getattr(ip_ranges.c, name) for name in RANGE_COLUMNS]
    for source in sources:
        result = conn.execute(
            select(ip_ranges.c.version, ip_ranges.c.first, ip_ranges.c.last, *columns)
            .where(ip_ranges.c.source_id == source.id)
            .order_by(ip_ranges.c.id)
        )
        bounds = bytearray()
        versions = array("B")
        ranges: list[tuple[int, int, int, int]] = []
        interned: dict[tuple[Any, ...], int] = {}
        attr_ids = array("i")
        for n, row in enumerate(result):
            versions.append(row[0])
            bounds += row[1]
            bounds += row[2]
            ranges.append((row[0], int.from_bytes(row[1], "big"), int.from_bytes(row[2], "big"), n))
            attrs = tuple(row[3:])
            attr_ids.append(interned.setdefault(attrs, len(interned)))
        index = RangeIndex.build(ranges)
        del ranges
        yield _Layer(
            source.name,
            source.format,
            index,
            bytes(bounds),
            versions,
            list(interned),
            np.frombuffer(attr_ids, dtype=np.int32),
        )


def data_stamp(conn: Connection) -> tuple[Any, ...]:
    """Changes whenever stored IP data, known ranges or corrections change."""
    sources = conn.execute(select(func.count(), func.max(ip_sources.c.id))).one()
    known = conn.execute(select(func.count(), func.max(known_ranges.c.id))).one()
    fixes = conn.execute(select(func.count(), func.max(org_corrections.c.updated_at))).one()
    return (*sources, *known, *fixes)


class LiveResolver:
    """The resolver of a long-running process, rebuilt when the stored data changes.

    A new resolver is built aside and swapped in with one assignment, so a lookup never
    sees a half-built index, and the old one serves until then.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._stamp: tuple[Any, ...] | None = None
        self._current: Resolver | None = None
        self.refresh()

    def refresh(self) -> bool:
        """Rebuild if the data changed; True when it did."""
        with self._engine.connect() as conn:
            stamp = data_stamp(conn)
        if stamp == self._stamp:
            return False
        fresh = Resolver.load(self._engine)
        self._current, self._stamp = fresh, stamp
        return True

    def resolve(self, ip: str, hostname: str | None = None) -> Resolution | None:
        current = self._current
        return current.resolve(ip, hostname) if current is not None else None
