"""The shared vocabulary of identification: organization types, range records, evidence."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class OrgType(StrEnum):
    BUSINESS = "business"
    ISP = "isp"
    MOBILE = "mobile"
    HOSTING = "hosting"  # cloud, datacenter, CDN, VPN, proxy
    EDUCATION = "education"
    GOVERNMENT = "government"
    CRAWLER = "crawler"  # operators of search engines and other crawlers
    UNKNOWN = "unknown"


# Types that can become leads by default (a setting may add or remove some).
LEAD_TYPES = frozenset({OrgType.BUSINESS, OrgType.EDUCATION, OrgType.GOVERNMENT})


@dataclass(frozen=True, slots=True)
class RangeRecord:
    """One IP range with what a dataset says about it. Every field but the range is optional."""

    start: int  # first address as an integer
    end: int  # last address, inclusive
    version: int  # 4 or 6
    source: str  # "iptoasn", "ip-location-db", "maxmind:GeoLite2-ASN", "rpsl:ripe", "demo", ...
    asn: int | None = None
    org: str | None = None  # organization or AS name as the dataset spells it
    country: str | None = None  # ISO 3166 alpha-2
    domain: str | None = None  # e.g. GeoIP2-Domain, or an Enterprise/ISP record's domain
    isp: str | None = None
    user_type: str | None = None  # MaxMind traits.user_type: business, residential, hosting...
    connection_type: str | None = None  # MaxMind: Cable/DSL, Cellular, Corporate, Satellite
    anonymous: tuple[str, ...] = ()  # MaxMind Anonymous-IP flags: vpn, hosting, tor, public_proxy
    netname: str | None = None  # RPSL inetnum netname
    descr: str | None = None  # RPSL descr / org name of an assignment
    network_type: str | None = None  # PeeringDB info_type or CAIDA class for the ASN


@dataclass(frozen=True, slots=True)
class Evidence:
    """Everything known about one address, gathered for classification and display."""

    org: str | None = None
    asn: int | None = None
    as_name: str | None = None
    domain: str | None = None
    hostname: str | None = None  # reverse DNS (PTR) name
    user_type: str | None = None
    connection_type: str | None = None
    anonymous: tuple[str, ...] = ()
    netname: str | None = None
    descr: str | None = None
    network_type: str | None = None
    country: str | None = None
    registry_assignment: bool = False  # an RPSL assignment names this org inside a bigger block


@dataclass(frozen=True, slots=True)
class Classification:
    type: OrgType
    confidence: float  # 0..1
    reasons: tuple[str, ...]  # plain-language evidence, most important first
