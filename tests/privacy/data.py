"""A small recorded history for the privacy tests: an access log over ten days from two
businesses and an ISP, imported with the real importer, and a team that worked one of the
businesses (claims, activities, contacts, a cadence, a deal, corrections, alerts).

The tests of erasure, retention and the commands run on SQLite, PostgreSQL and with hits
and visits in ClickHouse (chdb); they read hits and visits with `event_rows`, straight from
the tables of whichever store holds them, not through the store's methods under test."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, select

from spoor.analytics.query import Period
from spoor.db.schema import (
    alert_rules,
    alert_state,
    channels,
    deliveries,
    metadata,
    rollup_days,
    rollup_orgs,
    rollup_pages,
    sla_events,
)
from spoor.deals.service import create_deal
from spoor.events import store_of
from spoor.events.clickhouse import ClickHouseEventStore
from spoor.events.sql import HIT_COLUMNS, VISIT_COLUMNS
from spoor.identify import corrections, ipdb
from spoor.ingest.logimport import import_logs
from spoor.ingest.rawhit import HitKind
from spoor.ingest.rollups import rebuild
from spoor.prospecting import cadences, claims
from spoor.prospecting.activities import log_activity
from spoor.prospecting.contacts import add_contact
from spoor.prospecting.tasks import add_task
from spoor.settings import Settings
from spoor.sites import list_sites
from spoor.users import Role, add_user

STORES = ["sqlite", "postgresql", "clickhouse"]  # `database_url` params: every event store


def event_rows(engine: Engine, table: str, *, final: bool = True) -> list[dict[str, Any]]:
    """Every row of `hits` or `visits` as stored. On ClickHouse `final=False` reads every
    row on disk, the versions of a visit not merged yet included: erasure must leave none."""
    with engine.connect() as conn:
        store = store_of(conn)
        if not isinstance(store, ClickHouseEventStore):
            return [dict(r._mapping) for r in conn.execute(select(metadata.tables[table]))]
    columns = [*VISIT_COLUMNS, "version"] if table == "visits" else list(HIT_COLUMNS)
    wanted = ",".join("hex(key)" if c == "key" else c for c in columns)
    final_ = " FINAL" if final else ""
    rows = []
    for values in store.transport.query(f"SELECT {wanted} FROM {store.db}.{table}{final_}"):
        row = dict(zip(columns, values, strict=True))
        if "key" in row:
            row["key"] = bytes.fromhex(row["key"])
        if "day" in row:
            row["day"] = date.fromisoformat(row["day"])
        rows.append(row)
    return rows


SITE = "www.example.com"
CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36"
ASN = (
    "198.51.100.0,198.51.100.63,64496,Brightwater Logistics B.V.\n"
    "198.51.100.64,198.51.100.127,64497,Harbour Insurance GmbH\n"
    "203.0.113.0,203.0.113.255,64511,Kabelnet Broadband B.V.\n"
)
BRIGHTWATER, HARBOUR, KABELNET = (
    "Brightwater Logistics B.V.", "Harbour Insurance GmbH", "Kabelnet Broadband B.V.",
)  # fmt: skip
FIRST_DAY = date(2026, 1, 1)
DAYS = 10
# Who visits: (address, pages) every day, at 10:00 and 15:00 UTC.
VISITORS = (
    ("198.51.100.10", ("/", "/pricing", "/docs")),
    ("198.51.100.70", ("/blog/a", "/pricing")),
    ("198.51.100.71", ("/demo",)),
    ("203.0.113.5", ("/", "/blog/b")),
)


def ts(day: date, hour: int, minute: int = 0) -> float:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC).timestamp()


def log_lines() -> list[str]:
    lines = []
    for n in range(DAYS):
        day = FIRST_DAY + timedelta(days=n)
        for hour in (10, 15):
            for v, (ip, pages) in enumerate(VISITORS):
                for p, page in enumerate(pages):
                    when = datetime.fromtimestamp(ts(day, hour, v * 5 + p), UTC)
                    stamp = when.strftime("%d/%b/%Y:%H:%M:%S +0000")
                    lines.append(f'{ip} - - [{stamp}] "GET {page} HTTP/1.1" 200 512 "-" "{CHROME}"')
    return lines


def record(engine: Engine, settings: Settings, tmp_path: Path) -> None:
    """Import the IP data and the log (the site is made by the import)."""
    (tmp_path / "asn.csv").write_text(ASN)
    ipdb.import_dataset(engine, tmp_path / "asn.csv", 1, "csv", "asn")
    (tmp_path / "access.log").write_text("\n".join(log_lines()) + "\n")
    import_logs(engine, settings, [str(tmp_path / "access.log")], site=SITE)


def org_id(conn: Connection, name: str) -> int:
    return corrections.find_org(conn, name).id


def work(engine: Engine) -> dict[str, int]:
    """The team works Harbour: every kind of row that names an organization."""
    now = ts(FIRST_DAY + timedelta(days=DAYS), 9)
    with engine.begin() as conn:
        rep = add_user(conn, "rep@example.com", "a long enough password", Role.REP, 0)
        harbour = corrections.find_org(conn, HARBOUR)
        bright = corrections.find_org(conn, BRIGHTWATER)
        # A second record of the same account, merged into Harbour by the team.
        branch = corrections.new_org(conn, "Harbour Insurance Branch Office")
        corrections.merge(conn, branch, harbour)
        corrections.add_range(conn, harbour, "192.0.2.0/28", note="Harbour's office")
        corrections.rename(conn, harbour, "Harbour Insurance")
        claims.claim(conn, harbour.id, rep, now - 100)  # a claim that ended: its history
        claims.release(conn, harbour.id, rep, now - 50)
        cadences.claim_and_start(conn, harbour.id, rep, now)
        log_activity(
            conn, harbour.id, rep.id, "call", "voicemail", note="Harbour: call back", at=now
        )
        add_contact(conn, harbour.id, "Ann Example", "CFO", "ann@harbour.example", user_id=rep.id)
        add_task(conn, harbour.id, rep.id, "todo", "Send Harbour the case study", now + 3600)
        create_deal(conn, harbour.id, rep.id, amount=12000, name="Harbour Insurance", at=now)
        create_deal(conn, bright.id, rep.id, amount=5000, name="Brightwater pilot", at=now)
        log_activity(conn, branch.id, rep.id, "email", at=now)
        conn.execute(sla_events.insert().values(org_id=harbour.id, raised_at=int(now),
                                                kind="escalated", at=now))  # fmt: skip
        channel = conn.execute(channels.insert().values(
            name="hook", kind="webhook", target="http://127.0.0.1:9/", created_at=0,
        )).inserted_primary_key[0]  # fmt: skip
        rule = conn.execute(alert_rules.insert().values(
            name="hands", trigger="hand_raise", channel_id=channel, created_at=0,
        )).inserted_primary_key[0]  # fmt: skip
        conn.execute(
            alert_state.insert().values(rule_id=rule, org_id=harbour.id, last_fired_at=now)
        )
        conn.execute(deliveries.insert().values(
            rule_id=rule, channel_id=channel, site_id=1, org_id=harbour.id,
            payload=json.dumps({"org": HARBOUR}), status="sent", attempts="[]", event_at=now,
            next_try_at=now, created_at=now,
        ))  # fmt: skip
        return {"harbour": harbour.id, "branch": branch.id, "brightwater": bright.id,
                "rep": rep.id}  # fmt: skip


def rollups(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as conn:
        return {
            t.name: sorted(tuple(r) for r in conn.execute(select(t)) if any(r[-3:]))
            for t in (rollup_days, rollup_orgs, rollup_pages)
        }


def assert_reports_follow_rows(engine: Engine) -> None:
    """Each site's reports for all time count exactly the visits and pageviews stored, on
    any event store: whatever a store keeps to answer fast followed the deletions."""
    visits_left, hits_left = event_rows(engine, "visits"), event_rows(engine, "hits")
    everything = Period(None, None)
    with engine.connect() as conn:
        store = store_of(conn)
        for site in list_sites(conn):
            mine = [v for v in visits_left if v["site_id"] == site.id]
            ids = {v["id"] for v in mine}
            views = Counter(h["path"] for h in hits_left
                            if h["visit_id"] in ids and h["kind"] == HitKind.PAGEVIEW)  # fmt: skip
            totals = store.totals(conn, site, everything)
            assert (totals[0], totals[2]) == (len(mine), sum(v["pageviews"] for v in mine))
            assert store.daily(conn, site, everything) == Counter(v["day"] for v in mine)
            top = store.top_pages(conn, site, everything, 10_000)
            assert {path: n for path, n, _ in top} == views


def assert_rollups_equal_rebuild(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    assert_reports_follow_rows(engine)
    kept = rollups(engine)
    with engine.begin() as conn:
        rebuild(conn)
    assert rollups(engine) == kept
    return kept
