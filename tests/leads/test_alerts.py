"""Alerts end to end: a hand-raise through the collect endpoint reaches a real SMTP server
and a real HTTP receiver, signed; a failing receiver is retried with backoff, every try is
logged, and a channel that keeps failing is disabled."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, func, select
from starlette.testclient import TestClient

from spoor.db.schema import deliveries, lead_signals
from spoor.identify import ipdb
from spoor.identify.corrections import CorrectionError, find_org, set_target
from spoor.leads import digest
from spoor.leads.alerts import (
    MAX_TRIES,
    AlertWatcher,
    add_channel,
    add_rule,
    get_channel,
    latency_percentiles,
)
from spoor.leads.channels import verify
from spoor.leads.feeds import FeedFilter, save_feed
from spoor.prospecting.claims import claim, get_claim
from spoor.settings import Settings, parse_networks
from spoor.sites import add_site
from spoor.users import Role, add_user
from spoor.web.app import create_app
from tests.receivers import Mailbox, Receiver
from tests.world import track

ASN = (
    "198.51.100.0,198.51.100.63,64496,Brightwater Logistics B.V.\n"
    "198.51.100.64,198.51.100.127,64497,Harbour Insurance GmbH\n"
)


@pytest.fixture
def tracked(engine: Engine, settings: Settings, tmp_path: Path) -> Settings:
    """IP data naming the ASN's organizations, the site, and settings that trust the test
    client as a proxy (so each hit says which address it came from)."""
    (tmp_path / "asn.csv").write_text(ASN)
    ipdb.import_dataset(engine, tmp_path / "asn.csv", 1, "csv", "asn")
    with engine.begin() as conn:
        add_site(conn, "www.example.com", "UTC", 0)
    return replace(settings, trusted_proxies=parse_networks("127.0.0.1"), rate_limit=100_000)


def caught_up(client: TestClient, engine: Engine) -> None:
    """Until every hit sent is stored, the alert watcher has read all its signals, and no
    delivery is due: from then on, an alert not sent is one that will not be."""

    def done() -> bool:
        if client.get("/healthz").json()["pending"]:
            return False
        with engine.connect() as conn:
            newest = conn.execute(select(func.max(lead_signals.c.id))).scalar() or 0
            due = conn.execute(
                select(func.count()).select_from(deliveries)
                .where(deliveries.c.status == "pending", deliveries.c.next_try_at <= time.time())
            ).scalar_one()  # fmt: skip
        return bool(client.app.state.alerts.last_id >= newest and not due)  # type: ignore[attr-defined]

    wait_until(done)


def wait_until(done: Callable[[], bool], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_hand_raise_is_mailed_and_signed_and_failures_are_retried(
    engine: Engine, tracked: Settings, smtp: tuple[Mailbox, int]
) -> None:
    box, smtp_port = smtp
    good, bad = Receiver(), Receiver(status=500)
    with engine.begin() as conn:
        rep = add_user(conn, "remi@example.com", "a long password!", Role.REP, 0, "Remi")
        mail = add_channel(conn, "the owner", "owner", "sales@example.com", 0)
        hook = add_channel(conn, "crm", "webhook", good.url, 0, settings=tracked)
        broken = add_channel(conn, "broken", "webhook", bad.url, 0, settings=tracked)
        for channel in (mail, hook, broken):
            add_rule(conn, f"hand-raise to {channel.name}", "hand_raise", channel.id, 0)
    web = replace(tracked, smtp_host="127.0.0.1", smtp_port=smtp_port,
                  mail_from="spoor@example.com", alert_retry_seconds=0.05)  # fmt: skip
    with TestClient(create_app(web), client=("127.0.0.1", 5)) as client:
        track(client, "198.51.100.10", "/pricing")
        wait_until(lambda: stored(engine, "Brightwater Logistics B.V."))
        with engine.begin() as conn:  # Remi hunts Brightwater
            claim(conn, find_org(conn, "Brightwater Logistics B.V.").id, rep)
        track(client, "198.51.100.10", "/demo", event="form")
        wait_until(lambda: len(box.messages) == 1 and len(good.got) == 1)
        wait_until(lambda: len(bad.got) == MAX_TRIES)
        track(client, "198.51.100.70", "/contact", event="form")  # another account
        wait_until(lambda: not get_channel_enabled(engine, broken.id))
        wait_until(lambda: len(box.messages) == 2 and len(good.got) == 2)

    mailed = box.messages[0]
    assert mailed.rcpt_tos == ["remi@example.com"]  # the account's owner
    assert box.messages[1].rcpt_tos == ["sales@example.com"]  # nobody holds Harbour
    text = mailed.content.decode()
    assert "Subject: [Spoor] Brightwater Logistics B.V. raised a hand" in text
    assert "sent /demo" in text

    headers, body = good.got[0]
    assert verify(
        hook.secret or "", headers["x-spoor-timestamp"], body, headers["x-spoor-signature"]
    )
    assert not verify(
        "wrong secret", headers["x-spoor-timestamp"], body, headers["x-spoor-signature"]
    )
    alert = json.loads(body)
    assert alert["trigger"] == "hand_raise"
    assert alert["org"]["name"] == "Brightwater Logistics B.V."
    assert alert["event"]["path"] == "/demo"
    assert alert["owner"] == {"name": "Remi", "email": "remi@example.com"}

    with engine.connect() as conn:
        rows = conn.execute(select(deliveries).where(deliveries.c.channel_id == broken.id)
                            .order_by(deliveries.c.id)).all()  # fmt: skip
        channel = get_channel(conn, broken.id)
        timing = latency_percentiles(conn)
    first = json.loads(rows[0].attempts)
    assert rows[0].status == "failed"
    assert len(first) == MAX_TRIES
    assert all(not a["ok"] and a["detail"].startswith("HTTP 500") for a in first)
    gaps = [b["at"] - a["at"] for a, b in itertools.pairwise(first)]
    # Each wait is at least the doubled backoff (the watcher looks every 0.2 s, so more).
    assert all(gap >= 0.05 * 2**n for n, gap in enumerate(gaps)), gaps
    assert gaps[-1] >= 0.8
    assert not channel.enabled
    assert "disabled after 10 failed tries in a row" in (channel.disabled_reason or "")
    assert rows[1].status == "failed"  # 4 more tries made 10 in a row: given up with it
    assert len(json.loads(rows[1].attempts)) == 10 - MAX_TRIES
    assert len(bad.got) == 10
    assert timing is not None
    assert 0 <= timing[0] <= timing[1] < 20


def stored(engine: Engine, name: str) -> bool:
    with engine.connect() as conn:
        try:
            return find_org(conn, name) is not None
        except CorrectionError:
            return False


def get_channel_enabled(engine: Engine, channel_id: int) -> bool:
    with engine.connect() as conn:
        return get_channel(conn, channel_id).enabled


def test_a_cooldown_keeps_one_account_from_flooding(engine: Engine, tracked: Settings) -> None:
    good = Receiver()
    with engine.begin() as conn:
        hook = add_channel(conn, "crm", "slack", good.url, 0, settings=tracked)
        add_rule(conn, "hand-raise", "hand_raise", hook.id, 0, cooldown_minutes=60)
        add_rule(conn, "hot", "priority_above", hook.id, 0, threshold=50)
    with TestClient(create_app(tracked), client=("127.0.0.1", 5)) as client:
        track(client, "198.51.100.10", "/demo", event="form")
        wait_until(lambda: len(good.got) == 2)  # the hand-raise and the crossing
        for _ in range(3):
            track(client, "198.51.100.10", "/demo", event="form")
        caught_up(client, engine)
    assert len(good.got) == 2
    texts = sorted(json.loads(body)["text"] for _, body in good.got)
    assert texts[0].startswith("Brightwater Logistics B.V. crossed the priority threshold")
    assert texts[1].startswith("Brightwater Logistics B.V. raised a hand")


def test_an_account_entering_a_feed_is_announced_once(engine: Engine, tracked: Settings) -> None:
    good = Receiver()
    with engine.begin() as conn:
        feed = save_feed(conn, "Pricing readers", FeedFilter(path="/pricing"), None)
        hook = add_channel(conn, "crm", "teams", good.url, 0, settings=tracked)
        add_rule(conn, "into the feed", "entered_feed", hook.id, 0, feed_id=feed.id,
                 cooldown_minutes=0)  # fmt: skip
    with TestClient(create_app(tracked), client=("127.0.0.1", 5)) as client:
        track(client, "198.51.100.10", "/blog")  # not in the feed yet
        caught_up(client, engine)
        assert good.got == []
        track(client, "198.51.100.10", "/pricing")
        wait_until(lambda: len(good.got) == 1)
        track(client, "198.51.100.10", "/pricing")  # still in it: no second alert
        caught_up(client, engine)
    assert len(good.got) == 1
    card = json.loads(good.got[0][1])
    assert card["@type"] == "MessageCard"
    assert card["title"].startswith("Brightwater Logistics B.V. entered the feed Pricing readers")


def test_the_daily_digest_goes_out_once_in_the_early_hour(
    engine: Engine, tracked: Settings, smtp: tuple[Mailbox, int]
) -> None:
    box, smtp_port = smtp
    with engine.begin() as conn:
        add_user(conn, "rep@example.com", "a long password!", Role.REP, 0, "Remi")
    web = replace(tracked, smtp_host="127.0.0.1", smtp_port=smtp_port, timezone="Asia/Tokyo")
    with TestClient(create_app(web), client=("127.0.0.1", 5)) as client:
        track(client, "198.51.100.10", "/pricing")
        caught_up(client, engine)
    seven_thirty_tokyo = datetime(2026, 11, 28, 7, 30, tzinfo=ZoneInfo("Asia/Tokyo")).timestamp()
    assert digest.send_due(engine, web, seven_thirty_tokyo - 3600) == 0  # 06:30: not yet
    assert digest.send_due(engine, web, seven_thirty_tokyo) == 1
    assert digest.send_due(engine, web, seven_thirty_tokyo + 600) == 0  # once a day
    text = box.messages[0].content.decode()
    assert "Subject: [Spoor] 1 leads to look at today" in text
    assert "Brightwater Logistics B.V. (priority" in text
    assert box.messages[0].rcpt_tos == ["rep@example.com"]


def test_a_claimed_account_coming_back_is_announced(engine: Engine, tracked: Settings) -> None:
    good = Receiver()
    with engine.begin() as conn:
        rep = add_user(conn, "remi@example.com", "a long password!", Role.REP, 0, "Remi")
        hook = add_channel(conn, "crm", "webhook", good.url, 0, settings=tracked)
        add_rule(conn, "back again", "claimed_returned", hook.id, 0, cooldown_minutes=0)
    with TestClient(create_app(tracked), client=("127.0.0.1", 5)) as client:
        track(client, "198.51.100.10", "/pricing")
        caught_up(client, engine)
        assert good.got == []  # not claimed: nobody to tell
        with engine.begin() as conn:
            claim(conn, find_org(conn, "Brightwater Logistics B.V.").id, rep)
            # That visit was two days ago.
            conn.execute(lead_signals.update().values(ts=lead_signals.c.ts - 2 * 86_400))
        track(client, "198.51.100.10", "/docs")
        wait_until(lambda: len(good.got) == 1)
        track(client, "198.51.100.10", "/pricing")  # the same visit goes on: not "back"
        caught_up(client, engine)
    with engine.connect() as conn:
        queued = conn.execute(select(deliveries.c.payload)).scalars().all()
    assert len(queued) == 1  # one alert (delivery is at least once: a slow 204 may be resent)
    alert = json.loads(queued[0])
    assert alert["trigger"] == "claimed_returned"
    assert alert["event"]["path"] == "/docs"
    assert alert["owner"]["email"] == "remi@example.com"
    assert {json.loads(body)["event"]["path"] for _, body in good.got} == {"/docs"}


def test_lapsed_claims_return_to_the_pool_and_their_owner_is_told(
    engine: Engine, settings: Settings, smtp: tuple[Mailbox, int]
) -> None:
    box, smtp_port = smtp
    with engine.begin() as conn:
        rep = add_user(conn, "remi@example.com", "a long password!", Role.REP, 0, "Remi")
        claim(conn, 99, rep, now=0)
    web = Settings(
        data_dir=settings.data_dir, database_url=settings.database_url,
        smtp_host="127.0.0.1", smtp_port=smtp_port, claim_lapse_days=14,
    )  # fmt: skip
    watcher = AlertWatcher(engine, web)
    watcher.chores(now=13 * 86_400)
    assert box.messages == []
    watcher.chores(now=15 * 86_400)
    with engine.connect() as conn:
        assert get_claim(conn, 99) is None
    assert box.messages[0].rcpt_tos == ["remi@example.com"]
    assert "Your claim on organization 99 lapsed" in box.messages[0].content.decode()


def test_a_target_account_visiting_is_announced(engine: Engine, tracked: Settings) -> None:
    good = Receiver()
    with engine.begin() as conn:
        hook = add_channel(conn, "crm", "webhook", good.url, 0, settings=tracked)
        add_rule(conn, "targets", "target_visited", hook.id, 0)
    with TestClient(create_app(tracked), client=("127.0.0.1", 5)) as client:
        track(client, "198.51.100.70", "/blog")  # Harbour: not a target
        track(client, "198.51.100.10", "/blog")
        caught_up(client, engine)  # those visits came before it was a target
        with engine.begin() as conn:
            set_target(conn, find_org(conn, "Brightwater Logistics B.V."))
        track(client, "198.51.100.10", "/pricing")
        track(client, "198.51.100.70", "/pricing")
        caught_up(client, engine)
    assert len(good.got) == 1
    alert = json.loads(good.got[0][1])
    assert (alert["trigger"], alert["org"]["name"]) == (
        "target_visited",
        "Brightwater Logistics B.V.",
    )
