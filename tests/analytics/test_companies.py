"""Companies and the identification rate, with corrections applied; privacy of the IP."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, MetaData, select
from typer.testing import CliRunner

from spoor.analytics.companies import companies, identify_report
from spoor.analytics.query import Period
from spoor.cli import app
from spoor.identify import corrections, ipdb
from spoor.ingest.logimport import import_logs
from spoor.settings import Settings
from spoor.sites import get_site

CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36"
RPSL = """inetnum:        198.51.100.0 - 198.51.100.63
netname:        BRIGHTWATER-NET
descr:          Brightwater Logistics B.V.
country:        NL
source:         RIPE

inetnum:        198.51.100.64 - 198.51.100.127
netname:        BRIGHTWATER-2
descr:          Brightwater Logistik GmbH
country:        DE
source:         RIPE
"""
ASN_CSV = "198.51.100.0,198.51.100.255,64496,Kabelnet Broadband B.V.\n"


def line(ip: str, minute: int, path: str) -> str:
    when = f"02/Mar/2026:10:{minute:02d}:00 +0000"
    return f'{ip} - - [{when}] "GET {path} HTTP/1.1" 200 9 "-" "{CHROME}"\n'


@pytest.fixture
def imported(engine: Engine, settings: Settings, tmp_path: Path) -> Engine:
    (tmp_path / "asn.csv").write_text(ASN_CSV)
    (tmp_path / "registry.db").write_text(RPSL)
    ipdb.import_dataset(engine, tmp_path / "asn.csv", 1, "csv", "asn")
    ipdb.import_dataset(engine, tmp_path / "registry.db", 1, "rpsl", "registry")
    log = tmp_path / "access.log"
    log.write_text(
        line("198.51.100.10", 0, "/")
        + line("198.51.100.10", 1, "/pricing")
        + line("198.51.100.11", 2, "/pricing")  # a colleague
        + line("198.51.100.70", 3, "/careers")  # the German sister company
        + line("198.51.100.200", 4, "/")  # the ISP's home customers
        + line("192.0.2.55", 5, "/")  # in no dataset
    )
    import_logs(engine, settings, [str(log)], site="www.example.com")
    return engine


def test_companies_and_identification_rate(imported: Engine) -> None:
    march = Period(None, None)
    with imported.connect() as conn:
        site = get_site(conn, "www.example.com")
        assert site is not None
        rows = {r.name: r for r in companies(conn, site, march)}
        assert set(rows) == {
            "Brightwater Logistics B.V.", "Brightwater Logistik GmbH", "Kabelnet Broadband B.V.",
        }  # fmt: skip
        nl = rows["Brightwater Logistics B.V."]
        assert (nl.type, nl.visits, nl.visitors, nl.pageviews) == ("business", 2, 2, 3)
        assert nl.top_pages[0] == ("/pricing", 2)
        assert rows["Kabelnet Broadband B.V."].type == "isp"
        only_isps = companies(conn, site, march, org_type="isp")
        assert [r.name for r in only_isps] == ["Kabelnet Broadband B.V."]
        leads = {r.name for r in companies(conn, site, march, leads_only=True)}
        assert leads == {"Brightwater Logistics B.V.", "Brightwater Logistik GmbH"}
        report = identify_report(conn, site, march)
    assert report.visits == 5
    assert report.unresolved == 1
    assert report.by_type == {"business": 3, "isp": 1}
    assert report.as_json()["shares"]["unresolved"] == pytest.approx(0.2)

    with imported.begin() as conn:
        de = corrections.find_org(conn, "Brightwater Logistik GmbH")
        nl_ref = corrections.find_org(conn, "Brightwater Logistics B.V.")
        corrections.merge(conn, de, nl_ref)
        corrections.rename(conn, nl_ref, "Brightwater")
        corrections.hide(conn, corrections.find_org(conn, "Kabelnet Broadband B.V."))
        corrections.set_relation(conn, nl_ref, "customer")
        with pytest.raises(corrections.CorrectionError, match="already merged"):
            corrections.merge(conn, nl_ref, de)
    with imported.connect() as conn:
        site = get_site(conn, "www.example.com")
        assert site is not None
        rows = {r.name: r for r in companies(conn, site, march)}
        customers_are_no_leads = companies(conn, site, march, leads_only=True)
    assert set(rows) == {"Brightwater"}
    assert rows["Brightwater"].visits == 3
    assert customers_are_no_leads == []


def test_the_raw_ip_is_stored_nowhere(
    imported: Engine, settings: Settings, shared_data: Path, tmp_path: Path
) -> None:
    """Privacy by design: after import no table holds any visitor's address."""
    # A country database alone names nobody: the address must not become a name.
    country = shared_data / "ipdb/maxmind-test/GeoLite2-Country-Test.mmdb"
    ipdb.import_dataset(imported, country, 1)
    log = tmp_path / "more.log"
    log.write_text(line("81.2.69.160", 9, "/") + line("::ffff:81.2.69.161", 10, "/"))
    import_logs(imported, settings, [str(log)], site="www.example.com")
    tables = MetaData()
    tables.reflect(imported)
    with imported.connect() as conn:
        for table in tables.sorted_tables:
            if table.name in ("ip_ranges", "known_ranges"):
                continue  # dataset ranges, not visitors
            for row in conn.execute(select(table)):
                text = " ".join(str(v) for v in row)
                for ip in ("198.51.100.10", "198.51.100.70", "192.0.2.55", "81.2.69.16"):
                    assert ip not in text, (table.name, row)


def test_cli_json(imported: Engine, settings: Settings) -> None:
    env = {"SPOOR_DATA_DIR": str(settings.data_dir), "SPOOR_DATABASE_URL": settings.database_url}
    runner = CliRunner()
    resolved = runner.invoke(app, ["resolve", "198.51.100.10", "192.0.2.1", "--json"], env=env)
    assert resolved.exit_code == 0, resolved.output
    first, second = json.loads(resolved.stdout)
    for key in ("ip", "org", "type", "confidence", "asn", "source"):
        assert key in first
    assert (first["org"], first["type"], first["asn"]) == (
        "Brightwater Logistics B.V.",
        "business",
        64496,
    )
    assert second["org"] is None
    bad = runner.invoke(app, ["resolve", "not-an-ip"], env=env)
    assert bad.exit_code == 2

    listed = runner.invoke(app, ["companies", "--period", "all", "--json"], env=env)
    assert listed.exit_code == 0, listed.output
    assert {r["name"] for r in json.loads(listed.stdout)} >= {"Brightwater Logistics B.V."}

    rate = runner.invoke(app, ["identify-report", "--json"], env=env)
    data = json.loads(rate.stdout)
    assert (data["visits"], data["unresolved"]) == (5, 1)
    assert "by_type" in data

    status = runner.invoke(app, ["ipdb", "status", "--json"], env=env)
    assert {s["name"] for s in json.loads(status.stdout)} == {"asn", "registry"}
