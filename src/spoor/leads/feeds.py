"""Feeds: saved filters over the leads ("hot businesses in DE that read pricing"), each with
its count, shared by the team; an alert rule can watch a feed for accounts entering it.

Not yet: industry and size, which wait for organization facts that carry them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Connection, select

from spoor.db.schema import feeds
from spoor.leads.service import Lead

DAY = 86_400


class FeedError(ValueError):
    """A feed that cannot be saved or found; the message says why."""


@dataclass(frozen=True)
class FeedFilter:
    org_type: str | None = None
    country: str | None = None
    min_priority: float = 0.0
    path: str | None = None  # read a page whose path contains this
    new_within_days: int | None = None  # first seen within this many days
    returning: bool | None = None  # True: active on 2+ days; False: on one day
    claimed: bool | None = None  # True: someone hunts it; False: in the pool
    owner_id: int | None = None  # claimed by this person
    target: bool | None = None  # a named target account (or not)

    def keeps(self, lead: Lead, now: int) -> bool:
        if self.org_type and lead.type != self.org_type:
            return False
        if self.country and (lead.country or "").upper() != self.country.upper():
            return False
        if lead.priority < self.min_priority:
            return False
        if self.path and not any(self.path in p for p in lead.paths):
            return False
        if self.new_within_days is not None and lead.first_seen < now - self.new_within_days * DAY:
            return False
        if self.claimed is not None and (lead.owner_id is not None) != self.claimed:
            return False
        if self.owner_id is not None and lead.owner_id != self.owner_id:
            return False
        if self.target is not None and lead.target != self.target:
            return False
        return self.returning is None or (lead.active_days >= 2) == self.returning

    @staticmethod
    def parse(values: Mapping[str, Any]) -> FeedFilter:
        """From form fields or JSON; empty values mean "any"."""

        def text(key: str) -> str | None:
            value = str(values.get(key) or "").strip()
            return value or None

        try:
            min_priority = float(text("min_priority") or 0)
            new_within = text("new_within_days")
            returning = text("returning")
            owner = text("owner_id")
            return FeedFilter(
                org_type=text("org_type"),
                country=(text("country") or "")[:2].upper() or None,
                min_priority=min_priority,
                path=text("path"),
                new_within_days=int(new_within) if new_within else None,
                returning=_yes_no(returning),
                claimed=_yes_no(text("claimed")),
                owner_id=int(owner) if owner else None,
                target=_yes_no(text("target")),
            )
        except ValueError as exc:
            raise FeedError(f"a filter value is not a number: {exc}") from exc

    def describe(self) -> str:
        parts = []
        if self.org_type:
            parts.append(self.org_type)
        if self.country:
            parts.append(f"in {self.country}")
        if self.min_priority:
            parts.append(f"priority {self.min_priority:g}+")
        if self.path:
            parts.append(f"read {self.path}")
        if self.new_within_days is not None:
            parts.append(f"new in {self.new_within_days} days")
        if self.returning is not None:
            parts.append("returning" if self.returning else "one day only")
        if self.claimed is not None:
            parts.append("claimed" if self.claimed else "in the pool")
        if self.owner_id is not None:
            parts.append("claimed by one person")
        if self.target is not None:
            parts.append("target accounts" if self.target else "not targets")
        return ", ".join(parts) or "every lead"


def _yes_no(text: str | None) -> bool | None:
    return {"yes": True, "true": True, "no": False, "false": False}.get((text or "").lower())


@dataclass(frozen=True)
class Feed:
    id: int
    name: str
    filter: FeedFilter

    def select(self, leads: Iterable[Lead], now: int) -> list[Lead]:
        return [lead for lead in leads if self.filter.keeps(lead, now)]


def save_feed(conn: Connection, name: str, wanted: FeedFilter, user_id: int | None) -> Feed:
    name = name.strip()
    if not name:
        raise FeedError("a feed needs a name")
    if conn.execute(select(feeds.c.id).where(feeds.c.name == name)).first():
        raise FeedError(f"a feed {name!r} exists already")
    inserted = conn.execute(
        feeds.insert().values(
            name=name, filters=json.dumps(asdict(wanted)), created_by=user_id,
            created_at=int(time.time()),
        )
    )  # fmt: skip
    return Feed(int(inserted.inserted_primary_key[0]), name, wanted)  # type: ignore[index]


def list_feeds(conn: Connection) -> list[Feed]:
    rows = conn.execute(select(feeds).order_by(feeds.c.name))
    return [Feed(r.id, r.name, FeedFilter(**json.loads(r.filters))) for r in rows]


def find_feed(conn: Connection, ref: str | int) -> Feed:
    for feed in list_feeds(conn):
        if feed.name == ref or str(feed.id) == str(ref):
            return feed
    raise FeedError(f"no feed {ref!r}; the Leads page lists them")


def delete_feed(conn: Connection, feed_id: int) -> None:
    conn.execute(feeds.delete().where(feeds.c.id == feed_id))
