"""Alerts: rules that watch the lead signal ledger and deliveries that tell a channel.

`AlertWatcher` follows the ledger by id (so it works whoever wrote the signals), turns a
hand-raise or a priority crossing into deliveries, and sends them: each try is logged; a
failed try is retried with exponential backoff; a channel that fails many times in a row
is disabled with its reason shown. A cooldown per rule and organization keeps one busy
account from flooding a channel.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from spoor.db.schema import (
    alert_rules,
    alert_state,
    channels,
    deliveries,
    lead_signals,
)
from spoor.ingest.rawhit import HitKind
from spoor.leads import digest
from spoor.leads.channels import (
    Channel,
    SendError,
    check_target,
    new_secret,
    send,
)
from spoor.leads.feeds import Feed, list_feeds
from spoor.leads.rules import load_rules
from spoor.leads.service import Lead, leads
from spoor.privacy import retention
from spoor.prospecting import chores
from spoor.prospecting.claims import get_claim
from spoor.settings import Settings
from spoor.sites import list_sites

log = logging.getLogger(__name__)
TRIGGERS = ("hand_raise", "priority_above", "entered_feed", "claimed_returned", "target_visited")
RETURN_GAP = 12 * 3600  # a claimed account "came back" after this long without a signal
MAX_TRIES = 6
DISABLE_AFTER = 10  # failed deliveries in a row


class AlertError(ValueError):
    """A channel or rule that cannot be made; the message says why."""


@dataclass(frozen=True)
class AlertRule:
    id: int
    name: str
    trigger: str
    threshold: float | None
    feed_id: int | None
    site_id: int | None
    channel_id: int
    cooldown_minutes: int
    enabled: bool


def add_channel(
    conn: Connection, name: str, kind: str, target: str, now: int, secret: str | None = None,
    settings: Settings | None = None,
) -> Channel:  # fmt: skip
    try:
        target = check_target(kind, target, settings)
    except ValueError as exc:
        raise AlertError(str(exc)) from exc
    if kind == "webhook" and not secret:
        secret = new_secret()
    values = {"name": name.strip() or kind, "kind": kind, "target": target, "secret": secret}
    new_id = conn.execute(channels.insert().values(**values, created_at=now)).inserted_primary_key
    return get_channel(conn, int(new_id[0]))  # type: ignore[index]


def get_channel(conn: Connection, channel_id: int) -> Channel:
    row = conn.execute(select(channels).where(channels.c.id == channel_id)).one()
    return Channel(row.id, row.name, row.kind, row.target, row.secret, bool(row.enabled),
                   row.failures, row.disabled_reason)  # fmt: skip


def list_channels(conn: Connection) -> list[Channel]:
    ids = conn.execute(select(channels.c.id).order_by(channels.c.id)).scalars().all()
    return [get_channel(conn, i) for i in ids]


def enable_channel(conn: Connection, channel_id: int) -> None:
    conn.execute(
        channels.update()
        .where(channels.c.id == channel_id)
        .values(enabled=True, failures=0, disabled_reason=None)
    )


def add_rule(
    conn: Connection, name: str, trigger: str, channel_id: int, now: int,
    threshold: float | None = None, site_id: int | None = None, cooldown_minutes: int = 240,
    feed_id: int | None = None,
) -> AlertRule:  # fmt: skip
    if trigger not in TRIGGERS:
        raise AlertError(f"{trigger!r} is not a trigger: use {', '.join(TRIGGERS)}")
    if trigger == "priority_above" and (threshold is None or not 0 < threshold <= 100):
        raise AlertError("priority_above needs a threshold between 0 and 100")
    if trigger == "entered_feed" and feed_id is None:
        raise AlertError("entered_feed needs a feed")
    if cooldown_minutes < 0:
        raise AlertError("the cooldown cannot be negative")
    values = {
        "name": name.strip() or trigger,
        "trigger": trigger,
        "threshold": threshold,
        "site_id": site_id,
        "channel_id": channel_id,
        "cooldown_minutes": cooldown_minutes,
        "feed_id": feed_id,
    }
    new_id = conn.execute(
        alert_rules.insert().values(**values, created_at=now)
    ).inserted_primary_key
    return list_rules(conn, int(new_id[0]))[0]  # type: ignore[index]


def list_rules(conn: Connection, rule_id: int | None = None) -> list[AlertRule]:
    query = select(alert_rules).order_by(alert_rules.c.id)
    if rule_id is not None:
        query = query.where(alert_rules.c.id == rule_id)
    return [
        AlertRule(r.id, r.name, r.trigger, r.threshold, r.feed_id, r.site_id, r.channel_id,
                  r.cooldown_minutes, bool(r.enabled))
        for r in conn.execute(query)
    ]  # fmt: skip


def recent_deliveries(conn: Connection, limit: int = 50) -> list[dict[str, Any]]:
    rows = conn.execute(select(deliveries).order_by(deliveries.c.id.desc()).limit(limit))
    found = []
    for row in rows:
        alert = json.loads(row.payload)
        latency = row.sent_at - row.event_at if row.sent_at else None
        found.append({
            "id": row.id, "channel_id": row.channel_id, "org": alert["org"]["name"],
            "trigger": alert["trigger"], "status": row.status, "created_at": row.created_at,
            "sent_at": row.sent_at, "latency": latency, "attempts": json.loads(row.attempts),
        })  # fmt: skip
    return found


def latency_percentiles(conn: Connection, limit: int = 1000) -> tuple[float, float] | None:
    """p50 and p95 seconds from the hit to the alert sent, over the latest sent alerts."""
    delay = deliveries.c.sent_at - deliveries.c.event_at
    values = sorted(
        conn.execute(
            select(delay).where(deliveries.c.status == "sent")
            .order_by(deliveries.c.id.desc()).limit(limit)
        ).scalars()
    )  # fmt: skip
    if not values:
        return None
    return values[len(values) // 2], values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]


def _alert(rule: AlertRule, lead: Lead, site: str, signal: Any, public_url: str) -> dict[str, Any]:
    return {
        "rule": rule.name,
        "trigger": rule.trigger,
        "site": site,
        "org": {"id": lead.org_id, "name": lead.name, "type": lead.type,
                "country": lead.country, "domain": lead.domain},
        "priority": round(lead.priority, 1),
        "fit": round(lead.fit.score, 1),
        "intent": round(lead.intent.score, 1),
        "reasons": [{"points": round(r.points, 1), "text": r.text} for r in lead.reasons[:5]],
        "event": {"path": signal.path, "at": signal.ts},
        "url": f"{public_url}/leads/{lead.org_id}?site={site}",
    }  # fmt: skip


@dataclass(frozen=True)
class Happened:
    """What the new signals of one account mean for the rules."""

    raised: bool  # a form was sent
    returned: bool  # a claimed account came back after a pause


def _came_back(conn: Connection, org_id: int, before: int, first_new: int) -> bool:
    s = lead_signals.c
    previous = conn.execute(
        select(func.max(s.ts)).where(s.org_id == org_id, s.id <= before)
    ).scalar()
    return previous is None or first_new - previous >= RETURN_GAP


class AlertWatcher:
    """Follows the ledger and sends alerts, in a thread of its own."""

    def __init__(
        self, engine: Engine, settings: Settings, poll: float = 0.2, backoff: float = 2.0
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.poll = poll
        self.backoff = backoff  # seconds before the first retry; doubles each try
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="spoor-alerts", daemon=True)
        self.last_id = 0
        self._feeds: dict[int, Feed] = {}
        self._chores_done = 0.0
        self._retention = retention.Schedule()

    def start(self) -> None:
        with self.engine.connect() as conn:  # history is not news: start at the end
            self.last_id = int(conn.execute(select(func.max(lead_signals.c.id))).scalar() or 0)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.wait(self.poll):
            try:
                self.tick()
            except Exception:  # a bad rule or a database hiccup must not end alerting
                log.exception("alerting failed; trying again")

    def tick(self, now: float | None = None) -> None:
        self.watch(now)
        self.dispatch(now)
        if time.monotonic() - self._chores_done > 60:  # the once-a-minute chores
            self._chores_done = time.monotonic()
            self.chores(now)

    def chores(self, now: float | None = None) -> None:
        """The prospecting chores (claims, speed-to-lead deadlines, reminders) and digests."""
        now = time.time() if now is None else now
        chores.run(self.engine, self.settings, now)
        if self.settings.smtp_host:
            digest.send_due(self.engine, self.settings, now)
        self._retention.tick(self.engine, self.settings, now)  # daily, in batches

    def watch(self, now: float | None = None) -> int:
        """Turn new ledger rows into deliveries; returns how many were queued.

        `last_id` moves past the rows only once their deliveries are committed, so whoever
        sees it there (a test, `caught_up`) knows their alerts are decided; rows whose
        evaluation failed are passed over all the same, so one bad row cannot stall alerts.
        """
        new: Sequence[Any] = ()
        try:
            with self.engine.begin() as conn:
                rules = [r for r in list_rules(conn) if r.enabled]
                new = conn.execute(
                    select(lead_signals).where(lead_signals.c.id > self.last_id)
                    .order_by(lead_signals.c.id).limit(5000)
                ).all()  # fmt: skip
                if not new or not rules:
                    return 0
                return self._evaluate(conn, rules, new, self.last_id, now or time.time())
        finally:
            if new:
                self.last_id = new[-1].id

    def _evaluate(
        self, conn: Connection, rules: list[AlertRule], new: Sequence[Any], before: int,
        now: float,
    ) -> int:  # fmt: skip
        queued = 0
        touched: dict[tuple[int, int], Any] = {}
        for signal in new:
            touched[(signal.site_id, signal.org_id)] = signal
        by_id = {site.id: site for site in list_sites(conn)}
        scoring = load_rules(conn)
        self._feeds = {feed.id: feed for feed in list_feeds(conn)}
        for (site_id, org_id), last in touched.items():
            site = by_id.get(site_id)
            found = leads(conn, site, int(now), scoring, None, org_id) if site else []
            if not found:
                continue  # not a lead (a customer, hidden, merged, ...)
            lead = found[0]
            mine = [s for s in new if s.org_id == org_id]
            raised = [s for s in mine if s.kind == int(HitKind.FORM)]
            owner = get_claim(conn, org_id)
            returned = owner is not None and _came_back(conn, org_id, before, mine[0].ts)
            for rule in rules:
                if rule.site_id not in (None, site_id):
                    continue
                fired = self._fires(conn, rule, lead, Happened(bool(raised), returned), now)
                if fired:
                    signal = raised[-1] if raised and rule.trigger == "hand_raise" else last
                    alert = _alert(
                        rule, lead, by_id[site_id].domain, signal, self.settings.public_url
                    )
                    if rule.feed_id in self._feeds:
                        alert["feed"] = self._feeds[rule.feed_id or 0].name
                    if owner is not None:
                        alert["owner"] = {"name": owner.owner, "email": owner.email}
                    conn.execute(deliveries.insert().values(
                        rule_id=rule.id, channel_id=rule.channel_id, site_id=site_id,
                        org_id=org_id, payload=json.dumps(alert), status="pending",
                        attempts="[]", event_at=float(signal.ts), next_try_at=now,
                        created_at=now,
                    ))  # fmt: skip
                    queued += 1
        return queued

    def _fires(
        self, conn: Connection, rule: AlertRule, lead: Lead, happened: Happened, now: float
    ) -> bool:
        key = (alert_state.c.rule_id == rule.id) & (alert_state.c.org_id == lead.org_id)
        state = conn.execute(select(alert_state).where(key)).first()
        last_value = state.last_value if state else None
        cooled = state is None or state.last_fired_at is None or (
            now - state.last_fired_at >= rule.cooldown_minutes * 60
        )  # fmt: skip
        value = lead.priority
        if rule.trigger == "hand_raise":
            fires = happened.raised and cooled
        elif rule.trigger == "claimed_returned":
            fires = happened.returned and cooled
        elif rule.trigger == "target_visited":
            fires = lead.target and cooled
        elif rule.trigger == "entered_feed":
            feed = self._feeds.get(rule.feed_id or 0)
            value = float(feed is not None and feed.filter.keeps(lead, int(now)))
            fires = value == 1.0 and not last_value and cooled
        else:
            threshold = rule.threshold or 100.0
            crossed = lead.priority >= threshold and (last_value is None or last_value < threshold)
            fires = crossed and cooled
        values = {"last_value": value, **({"last_fired_at": now} if fires else {})}
        if state is None:
            conn.execute(alert_state.insert().values(rule_id=rule.id, org_id=lead.org_id, **values))
        else:
            conn.execute(alert_state.update().where(key).values(**values))
        return fires

    def dispatch(self, now: float | None = None) -> int:
        """Send the deliveries that are due; returns how many were tried."""
        now = now or time.time()
        with self.engine.connect() as conn:
            due = conn.execute(
                select(deliveries.c.id).where(
                    deliveries.c.status == "pending", deliveries.c.next_try_at <= now
                ).order_by(deliveries.c.id).limit(100)
            ).scalars().all()  # fmt: skip
        for delivery_id in due:
            self._try(delivery_id)
        return len(due)

    def _try(self, delivery_id: int) -> None:
        with self.engine.connect() as conn:
            row = conn.execute(select(deliveries).where(deliveries.c.id == delivery_id)).one()
            channel = get_channel(conn, row.channel_id)
        attempts = json.loads(row.attempts)
        ok, detail = False, "the channel is disabled"
        if channel.enabled:
            try:
                detail, ok = send(channel, json.loads(row.payload), self.settings), True
            except SendError as exc:
                detail = str(exc)
        at = time.time()
        attempts.append({"at": at, "ok": ok, "detail": detail})
        values: dict[str, Any] = {"attempts": json.dumps(attempts)}
        extra = {"delivery": delivery_id, "channel": channel.id, "latency": at - row.event_at}
        if ok:
            log.info("alert %d sent to channel %d", delivery_id, channel.id, extra=extra)
        else:
            log.warning("alert %d not sent: %s", delivery_id, detail, extra=extra)
        if ok:
            values |= {"status": "sent", "sent_at": at}
        elif len(attempts) >= MAX_TRIES or not channel.enabled:
            values |= {"status": "failed"}
        else:
            values |= {"next_try_at": at + self.backoff * 2 ** (len(attempts) - 1)}
        with self.engine.begin() as conn:
            conn.execute(deliveries.update().where(deliveries.c.id == delivery_id).values(**values))
            if channel.enabled:
                self._count(conn, channel, ok, detail)

    def _count(self, conn: Connection, channel: Channel, ok: bool, detail: str) -> None:
        failures = 0 if ok else channel.failures + 1
        values: dict[str, Any] = {"failures": failures}
        if failures >= DISABLE_AFTER:
            values |= {"enabled": False,
                       "disabled_reason": f"disabled after {failures} failed tries in a row; "
                                          f"last: {detail}"}  # fmt: skip
        conn.execute(channels.update().where(channels.c.id == channel.id).values(**values))
        if failures >= DISABLE_AFTER:  # what still waits for it would only fail
            conn.execute(
                deliveries.update()
                .where(deliveries.c.channel_id == channel.id, deliveries.c.status == "pending")
                .values(status="failed")
            )
