"""The demo's prospecting and deal history: the forecast simulator's seeded history written
into the database as organizations, activities, hand-raises, target marks and deals, so the
Forecast page shows the 30-day rule at work (including a prospecting gap in the last 30
days, which the page names as a warning).

The history goes in through the same tables the app writes: deals through the deals
service (stage moves, won and lost with reasons and competitors); activities in bulk, as
an import would, because logging them one by one would also start cadences and claims.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Connection, Engine, insert, select

from spoor.db.schema import activities, lead_signals, org_corrections, organizations, sites, users
from spoor.deals.service import create_deal, lose, move_stage, win
from spoor.deals.sources import HAND_RAISER, IDENTIFIED, TARGET
from spoor.deals.stages import open_stages
from spoor.forecast.simulator import (
    STAGES,
    History,
    SimulationConfig,
    gap_before,
    simulate,
)
from spoor.identify.resolver import org_id_for
from spoor.ingest.rawhit import HitKind
from spoor.users import Role

HISTORY_DAYS = 720
FIRST_TOUCHES_PER_WEEKDAY = 10.0
NAMES = ("Alder", "Basalt", "Cobalt", "Delta", "Ember", "Fjord", "Granite", "Harbor", "Iris",
         "Juniper", "Kestrel", "Linden", "Meridian", "Nimbus", "Orchid", "Pioneer", "Quarry",
         "Rowan", "Summit", "Tundra", "Umber", "Vista", "Willow", "Yarrow", "Zenith")  # fmt: skip
KINDS = ("Logistics", "Foods", "Systems", "Health", "Energy", "Bouw", "Retail", "Labs",
         "Finance", "Media", "Robotics", "Textiles")  # fmt: skip
PLACES = ("Noord", "Zuid", "Rhein", "Nordic", "Alpine", "Baltic", "Atlantic", "Central",
          "Danube", "Iberia", "Benelux", "Celtic")  # fmt: skip
SUFFIXES = ("B.V.", "GmbH", "Ltd", "N.V.", "AB", "SA")


@dataclass(frozen=True)
class Written:
    """What went in: each simulated account's organization id, and the counts."""

    org_ids: dict[str, int]
    activities: int
    deals: int


def demo_config(as_of: date, seed: int = 7) -> SimulationConfig:
    """Two years up to ``as_of`` with prospecting down 80% in the last 30 days (deep enough
    to stay an alert next to the demo team's own month of logged activity)."""
    return SimulationConfig(
        seed=seed,
        start=as_of - timedelta(days=HISTORY_DAYS),
        days=HISTORY_DAYS,
        first_touches_per_weekday=FIRST_TOUCHES_PER_WEEKDAY,
        gap=gap_before(as_of, days=30, drop=0.8),
    )


def _name(index: int) -> str:
    """A made-up company name, different for each of the first 21,600 indexes."""
    parts = []
    for words in (NAMES, KINDS, PLACES, SUFFIXES):
        index, digit = divmod(index, len(words))
        parts.append(words[digit])
    return " ".join(parts) + (f" {index + 1}" if index else "")


def _noon(day: date) -> float:
    # Noon UTC stays on the same calendar day in every time zone from UTC-11 to UTC+11.
    return datetime.combine(day, time(12), UTC).timestamp()


def _morning(day: date) -> float:
    # 08:30 UTC: inside the demo team's morning golden hours in Amsterdam, and still the
    # same calendar day from UTC-8 to UTC+15.
    return datetime.combine(day, time(8, 30), UTC).timestamp()


class _Writer:
    def __init__(self, conn: Connection, history: History, user_ids: Sequence[int]) -> None:
        self.conn, self.history, self.user_ids = conn, history, list(user_ids)
        self.org_ids: dict[str, int] = {}
        self.owner: dict[str, int | None] = {}
        self.slot: dict[str, int] = {}  # the account's place among that day's first touches
        self.order: dict[str, float] = {}  # seconds after noon, in the order of the accounts
        self.site_id = conn.execute(select(sites.c.id).order_by(sites.c.id)).scalar()

    def organizations(self) -> None:
        now = int(_noon(self.history.as_of))
        rows, per_day = [], dict[date, int]()
        for index, account in enumerate(self.history.accounts):
            key = f"demo-prospect:{account.account_id}"
            org_id = org_id_for(key)
            self.org_ids[account.account_id] = org_id
            self.owner[account.account_id] = (
                self.user_ids[index % len(self.user_ids)] if self.user_ids else None
            )
            self.slot[account.account_id] = per_day.get(account.first_touch, 0)
            self.order[account.account_id] = index * min(1.0, 30_000 / len(self.history.accounts))
            per_day[account.first_touch] = self.slot[account.account_id] + 1
            rows.append({
                "id": org_id, "key": key, "name": _name(index), "type": "business",
                "confidence": 1.0, "source": "demo", "evidence": json.dumps(["demo history"]),
                "first_seen": int(_noon(account.first_touch)), "last_seen": now,
            })  # fmt: skip
        self.conn.execute(insert(organizations), rows)

    def marks(self) -> None:
        """Hand-raises (a form on the first-touch day) and named-target marks."""
        forms, targets = [], []
        for account in self.history.accounts:
            org_id = self.org_ids[account.account_id]
            if account.source == HAND_RAISER and self.site_id is not None:
                at = _noon(account.first_touch) - 3600
                forms.append({
                    "site_id": self.site_id, "org_id": org_id, "ts": int(at),
                    "day": account.first_touch, "kind": int(HitKind.FORM), "path": "/contact",
                    "visitor": org_id % 1_000_003,
                    "hit_key": hashlib.blake2b(str(org_id).encode(), digest_size=16).digest(),
                })  # fmt: skip
            elif account.source == TARGET:
                targets.append({"org_id": org_id, "target": True, "updated_at": int(_noon(
                    account.first_touch))})  # fmt: skip
        if forms:
            self.conn.execute(insert(lead_signals), forms)
        if targets:
            self.conn.execute(insert(org_corrections), targets)

    def activities(self) -> int:
        rows, seen = [], set[str]()

        def row(key: str, kind: str, at: float, outcome: str | None = None) -> dict[str, object]:
            return {"org_id": self.org_ids[key], "user_id": self.owner[key], "kind": kind,
                    "outcome": outcome, "note": None, "at": at}  # fmt: skip

        for touch in self.history.touches:
            first = touch.account_id not in seen
            seen.add(touch.account_id)
            # The first touch comes first that day, in the order the accounts were touched.
            offset = self.slot[touch.account_id] + (0 if first else 3600)
            rows.append(row(touch.account_id, touch.kind, _morning(touch.day) + offset))
        for account in self.history.accounts:
            if account.disqualified is not None:
                at = _noon(account.disqualified) + 7200 + self.slot[account.account_id]
                # A note, not a touch: the account said no; nobody reached out that time.
                rows.append(row(account.account_id, "note", at, "not_interested"))
        for start in range(0, len(rows), 5000):
            self.conn.execute(insert(activities), rows[start : start + 5000])
        return len(rows)

    def deals(self) -> int:
        # The simulator's stages map onto the team's open stages in order.
        keys = [stage.key for stage in open_stages(self.conn)]
        stage_of = {name: keys[min(i, len(keys) - 1)] for i, name in enumerate(STAGES)}
        for deal in self.history.deals:
            # Deals of one day in the simulator's order (its CRM lists them by creation).
            base = 1800 + self.order[deal.account_id]
            made = create_deal(
                self.conn, self.org_ids[deal.account_id], self.owner[deal.account_id],
                amount=deal.amount, stage=stage_of[deal.stages[0].stage],
                expected_close=deal.created + timedelta(days=60),
                source=IDENTIFIED if deal.source not in (HAND_RAISER, TARGET) else deal.source,
                at=_noon(deal.created) + base,
            )  # fmt: skip
            for step, entry in enumerate(deal.stages[1:], start=1):
                move_stage(
                    self.conn, made.id, stage_of[entry.stage], _noon(entry.entered) + base + step
                )
            if deal.closed is not None:
                at = _noon(deal.closed) + base + 10
                if deal.outcome == "won":
                    win(self.conn, made.id, at)
                else:
                    lose(self.conn, made.id, deal.loss_reason, deal.competitor, at)
        return len(self.history.deals)


def write_history(conn: Connection, history: History, user_ids: Sequence[int]) -> Written:
    """Write a simulated history; accounts are shared out among ``user_ids`` in turn."""
    writer = _Writer(conn, history, user_ids)
    writer.organizations()
    writer.marks()
    done = writer.activities()
    return Written(writer.org_ids, done, writer.deals())


def demo_reps(conn: Connection) -> list[int]:
    """The reps who did the prospecting (everyone, if there are no reps)."""
    ids = list(conn.scalars(select(users.c.id).where(users.c.role == Role.REP.value)))
    return ids or list(conn.scalars(select(users.c.id).order_by(users.c.id)))


def add_demo_deals(engine: Engine, as_of: date, seed: int = 7) -> History:
    """The demo's two years of prospecting and deals, up to ``as_of``."""
    history = simulate(demo_config(as_of, seed))
    with engine.begin() as conn:
        write_history(conn, history, demo_reps(conn))
    return history
