"""A small recorded history for the privacy tests: an access log over ten days from two
businesses and an ISP, imported with the real importer, and a team that worked one of the
businesses (claims, activities, contacts, a cadence, a deal, corrections, alerts)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, select

from spoor.db.schema import (
    alert_rules,
    alert_state,
    channels,
    deliveries,
    rollup_days,
    rollup_orgs,
    rollup_pages,
    sla_events,
)
from spoor.deals.service import create_deal
from spoor.identify import corrections, ipdb
from spoor.ingest.logimport import import_logs
from spoor.ingest.rollups import rebuild
from spoor.prospecting import cadences, claims
from spoor.prospecting.activities import log_activity
from spoor.prospecting.contacts import add_contact
from spoor.prospecting.tasks import add_task
from spoor.settings import Settings
from spoor.users import Role, add_user

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


def assert_rollups_equal_rebuild(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    kept = rollups(engine)
    with engine.begin() as conn:
        rebuild(conn)
    assert rollups(engine) == kept
    return kept
