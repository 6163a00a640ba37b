"""Reverse DNS during log import: a PTR name can name a company inside an ISP's block."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from spoor.analytics.companies import companies
from spoor.analytics.query import Period
from spoor.identify import ipdb
from spoor.ingest.logimport import import_logs
from spoor.settings import Settings
from spoor.sites import get_site

from .dnsserver import TestDnsServer

CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36"


@pytest.fixture(scope="module")
def dns() -> Iterator[TestDnsServer]:
    server = TestDnsServer()
    server.ptr("198.51.100.10", "mail.brightwater-logistics.nl.")  # a business line
    server.ptr("198.51.100.20", "dsl-198-51-100-20.pool.kabelnet.nl.")  # a home line
    server.start()
    yield server
    server.stop()


def test_ptr_names_the_business_and_not_the_home_line(
    engine: Engine, settings: Settings, tmp_path: Path, dns: TestDnsServer
) -> None:
    dns.reset()
    (tmp_path / "asn.csv").write_text("198.51.100.0,198.51.100.255,64496,Kabelnet Broadband B.V.\n")
    ipdb.import_dataset(engine, tmp_path / "asn.csv", 1, "csv", "asn")
    log = tmp_path / "access.log"
    log.write_text(
        "".join(
            f'{ip} - - [02/Mar/2026:10:0{n}:00 +0000] "GET /x HTTP/1.1" 200 9 "-" "{CHROME}"\n'
            for n, ip in enumerate(["198.51.100.10", "198.51.100.20", "198.51.100.30"])
        )
    )
    with_dns = Settings(
        data_dir=settings.data_dir,
        database_url=settings.database_url,
        dns_servers=("127.0.0.1",),
        dns_port=dns.port,
    )
    import_logs(engine, with_dns, [str(log)], site="www.example.com", reverse_dns=True)
    with engine.connect() as conn:
        site = get_site(conn, "www.example.com")
        assert site is not None
        found = {r.name: (r.type, r.visits) for r in companies(conn, site, Period(None, None))}
    assert found == {
        "brightwater-logistics.nl": ("business", 1),
        "Kabelnet Broadband B.V.": ("isp", 2),  # the pool line and the line without a PTR
    }
    assert dns.count("10.100.51.198.in-addr.arpa.") == 1  # one lookup per address
