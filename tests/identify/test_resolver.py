"""Resolving addresses through stored datasets, on SQLite and PostgreSQL."""

from __future__ import annotations

import ipaddress
import json
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from spoor.identify import corrections, ipdb
from spoor.identify.datasets import DatasetError
from spoor.identify.resolver import LiveResolver, Resolver
from spoor.identify.types import OrgType
from spoor.ingest.logimport import import_logs
from spoor.settings import Settings

MAXMIND = "ipdb/maxmind-test"
# database -> {RangeRecord field: path in the source JSON record}
ASN = ("autonomous_system_number",)
EXPECTED = {
    "GeoLite2-ASN-Test": {"asn": ASN, "org": ("autonomous_system_organization",)},
    "GeoIP2-ISP-Test": {"isp": ("isp",), "org": ("organization",), "asn": ASN},
    "GeoIP2-Domain-Test": {"domain": ("domain",)},
    "GeoIP2-Connection-Type-Test": {"connection_type": ("connection_type",)},
    "GeoIP2-Enterprise-Test": {
        "user_type": ("traits", "user_type"),
        "connection_type": ("traits", "connection_type"),
        "domain": ("traits", "domain"),
        "isp": ("traits", "isp"),
        "asn": ("traits", "autonomous_system_number"),
        "country": ("country", "iso_code"),
    },
}  # fmt: skip


def _network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """MaxMind's JSON writes IPv4 networks as ::a.b.c.d/(96+n)."""
    network = ipaddress.ip_network(text, strict=False)
    if network.version == 6 and text.startswith("::") and "." in text:
        return ipaddress.ip_network(
            f"{text[2:].split('/')[0]}/{network.prefixlen - 96}", strict=False
        )
    return network


def _dig(record: dict[str, Any], path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(record, dict) or key not in record:
            return None
        record = record[key]
    return record


@pytest.mark.parametrize("database", sorted(EXPECTED))
def test_every_maxmind_test_network_resolves_as_its_source_says(
    engine: Engine, shared_data: Path, database: str
) -> None:
    ipdb.import_dataset(engine, shared_data / MAXMIND / f"{database}.mmdb", int(time.time()))
    resolver = Resolver.load(engine)
    source = json.loads((shared_data / MAXMIND / "source-data" / f"{database}.json").read_text())
    checked = 0
    for entry in source:
        for text, record in entry.items():
            wanted = {f: _dig(record, p) for f, p in EXPECTED[database].items()}
            if all(v is None for v in wanted.values()):
                continue  # e.g. only is_anycast: nothing Spoor keeps
            network = _network(text)
            ip = str(network.network_address + (1 if network.num_addresses > 1 else 0))
            found = [n for n in resolver.networks(ip) if n.source == database]
            assert found, f"{ip} ({text}) not found"
            for field, expected in wanted.items():
                if expected is not None:
                    assert getattr(found[0], field) == expected, (text, field)
            checked += 1
    assert checked >= len(source) - 5


@pytest.mark.parametrize(
    "name", ["MaxMind-DB-test-broken-pointers-24", "MaxMind-DB-test-broken-search-tree-24"]
)
def test_broken_databases_are_refused_and_keep_the_old_data(
    engine: Engine, shared_data: Path, name: str
) -> None:
    good = shared_data / MAXMIND / "GeoLite2-ASN-Test.mmdb"
    ipdb.import_dataset(engine, good, int(time.time()), name="asn")
    with pytest.raises(DatasetError, match=name):
        ipdb.import_dataset(engine, shared_data / MAXMIND / f"{name}.mmdb", 0, name="asn")
    [status] = ipdb.status(engine)
    assert status.format == "mmdb"
    assert status.records > 0
    assert Resolver.load(engine).resolve("1.0.0.1") is not None


RPSL = """inetnum:        198.51.100.0 - 198.51.100.63
netname:        BRIGHTWATER-NET
descr:          Brightwater Logistics B.V.
country:        NL
status:         ASSIGNED PA
source:         RIPE
"""
ASN_CSV = (
    "198.51.100.0,198.51.100.255,64496,Kabelnet Broadband B.V.\n"
    "203.0.113.0,203.0.113.255,64511,Cloudforge Hosting Inc.\n"
)


@pytest.fixture
def small_world(engine: Engine, tmp_path: Path) -> Engine:
    (tmp_path / "asn.csv").write_text(ASN_CSV)
    (tmp_path / "registry.db").write_text(RPSL)
    ipdb.import_dataset(engine, tmp_path / "asn.csv", 1, "csv", "asn")
    ipdb.import_dataset(engine, tmp_path / "registry.db", 1, "rpsl", "registry")
    return engine


def test_a_registry_assignment_names_the_company_inside_an_isp_block(small_world: Engine) -> None:
    resolver = Resolver.load(small_world)
    company = resolver.resolve("198.51.100.10")
    assert company is not None
    assert (company.name, company.type, company.asn) == (
        "Brightwater Logistics B.V.",
        OrgType.BUSINESS,
        64496,
    )
    assert company.is_lead
    assert company.source == "registry"
    isp = resolver.resolve("198.51.100.200")
    assert isp is not None
    assert isp.name == "Kabelnet Broadband B.V."
    assert isp.type == OrgType.ISP
    assert not isp.is_lead
    hosting = resolver.resolve("203.0.113.9")
    assert hosting is not None
    assert hosting.type == OrgType.HOSTING
    assert resolver.resolve("192.0.2.1") is None


CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36"


def _visit_from(ip: str, minute: int, path: str = "/pricing") -> str:
    when = f"02/Mar/2026:10:{minute:02d}:00 +0000"
    return f'{ip} - - [{when}] "GET {path} HTTP/1.1" 200 9 "-" "{CHROME}"\n'


def test_corrections_win_over_datasets(
    small_world: Engine, settings: Settings, tmp_path: Path
) -> None:
    log = tmp_path / "access.log"
    log.write_text(
        "".join(
            _visit_from(ip, n)
            for n, ip in enumerate(["198.51.100.10", "198.51.100.200", "203.0.113.9"])
        )
    )
    import_logs(small_world, settings, [str(log)], site="www.example.com")
    with small_world.begin() as conn:
        brightwater = corrections.find_org(conn, "brightwater logistics b.v.")
        hosting = corrections.find_org(conn, "Cloudforge Hosting Inc.")
        corrections.rename(conn, brightwater, "Brightwater")
        corrections.set_relation(conn, brightwater, "customer")
        corrections.retype(conn, hosting, "business")
        office = corrections.new_org(conn, "Acme Office")
        corrections.add_range(conn, office, "198.51.100.32/28")
        with pytest.raises(corrections.CorrectionError, match="not a type"):
            corrections.retype(conn, hosting, "alien")
        with pytest.raises(corrections.CorrectionError, match="itself"):
            corrections.merge(conn, hosting, hosting)
        with pytest.raises(corrections.CorrectionError, match="not a range"):
            corrections.add_range(conn, office, "198.51.100.300/28")
    resolver = Resolver.load(small_world)
    renamed = resolver.resolve("198.51.100.10")
    assert renamed is not None
    assert (renamed.name, renamed.relation, renamed.is_lead) == ("Brightwater", "customer", False)
    retyped = resolver.resolve("203.0.113.9")
    assert retyped is not None
    assert retyped.type == OrgType.BUSINESS
    known = resolver.resolve("198.51.100.40")
    assert known is not None
    assert (known.name, known.source) == ("Acme Office", "correction")


def test_live_resolver_swaps_in_new_data(engine: Engine, tmp_path: Path) -> None:
    live = LiveResolver(engine)
    assert live.resolve("198.51.100.10") is None
    assert not live.refresh()  # nothing changed
    (tmp_path / "asn.csv").write_text(ASN_CSV)
    ipdb.import_dataset(engine, tmp_path / "asn.csv", 1, "csv", "asn")
    assert live.refresh()
    found = live.resolve("198.51.100.10")
    assert found is not None
    assert found.asn == 64496
