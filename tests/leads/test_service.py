"""Leads end to end: hits through the collect endpoint fill the ledger at ingest, and the
ranking gates, scores and explains the organizations behind them."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from starlette.testclient import TestClient

from spoor.db.schema import lead_signals
from spoor.identify import corrections, ipdb
from spoor.leads.ledger import rebuild
from spoor.leads.service import leads
from spoor.settings import Settings, parse_networks
from spoor.sites import add_site, get_site
from spoor.web.app import create_app
from tests.world import track

ASN = (
    "198.51.100.0,198.51.100.63,64496,Brightwater Logistics B.V.\n"
    "198.51.100.64,198.51.100.127,64497,Harbour Insurance GmbH\n"
    "198.51.100.128,198.51.100.191,64498,Careerists Inc.\n"
    "203.0.113.0,203.0.113.255,64511,Kabelnet Broadband B.V.\n"
)


def test_leads_from_live_hits(engine: Engine, settings: Settings, tmp_path: Path) -> None:
    (tmp_path / "asn.csv").write_text(ASN)
    ipdb.import_dataset(engine, tmp_path / "asn.csv", 1, "csv", "asn")
    with engine.begin() as conn:
        add_site(conn, "www.example.com", "UTC", 0)
    web = Settings(
        data_dir=settings.data_dir, database_url=settings.database_url,
        trusted_proxies=parse_networks("127.0.0.1"), rate_limit=100_000,
    )  # fmt: skip
    with TestClient(create_app(web), client=("127.0.0.1", 5)) as client:
        for path in ("/", "/pricing", "/pricing", "/case-studies/acme"):
            track(client, "198.51.100.10", path)
        track(client, "198.51.100.11", "/docs")  # a second person from Brightwater
        track(client, "198.51.100.70", "/blog/hello")
        track(client, "198.51.100.70", "/demo", event="form")  # Harbour raises a hand
        track(client, "198.51.100.130", "/careers/engineer")
        track(client, "203.0.113.9", "/pricing")  # an ISP: never a lead
        while client.get("/healthz").json()["pending"]:
            time.sleep(0.05)
    now = int(time.time())
    with engine.connect() as conn:
        site = get_site(conn, "www.example.com")
        assert site is not None
        ranked = leads(conn, site, now)
        kept = conn.execute(select(func.count()).select_from(lead_signals)).scalar_one()
    assert kept == 8  # every pageview and form of the three businesses, none of the ISP
    names = [lead.name for lead in ranked]
    # Brightwater: pricing twice, a case study, docs, two people (S = 48); Harbour: a form (41).
    assert names == ["Brightwater Logistics B.V.", "Harbour Insurance GmbH", "Careerists Inc."]
    brightwater, harbour, careerists = ranked
    assert harbour.intent.reasons[0].text.startswith("sent /demo, ")
    assert harbour.intent.score > 60
    texts = [r.text for r in brightwater.intent.reasons]
    assert any(t.startswith("read /pricing twice") for t in texts)
    assert "2 people from this organization in 30 days" in texts
    assert careerists.intent.not_buyer
    assert sum(r.points for r in brightwater.reasons) == pytest.approx(brightwater.priority)
    data = brightwater.as_json()
    assert {"org", "type", "priority", "fit", "intent", "last_seen", "reasons"} <= data.keys()

    # The ledger kept at ingest is what a rebuild derives from hits.
    content = select(*(c for c in lead_signals.c if c.name != "id"))
    with engine.begin() as conn:
        before = sorted(tuple(r) for r in conn.execute(content))
        rebuild(conn)
        assert sorted(tuple(r) for r in conn.execute(content)) == before

    # Customers, competitors and hidden organizations are not leads; merges add up.
    with engine.begin() as conn:
        corrections.set_relation(
            conn, corrections.find_org(conn, "Harbour Insurance GmbH"), "customer"
        )
        careers = corrections.find_org(conn, "Careerists Inc.")
        corrections.merge(conn, careers, corrections.find_org(conn, "Brightwater Logistics B.V."))
        after = leads(conn, site, now)
    assert [lead.name for lead in after] == ["Brightwater Logistics B.V."]
    assert after[0].intent.strength > brightwater.intent.strength
