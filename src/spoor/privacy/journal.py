"""The erasure log: one row per erasure or retention run, naming no organization, address
or visitor (only the kind, the scope in general words, who and the rows per table)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, desc, select

from spoor import events
from spoor.db.schema import erasures


@dataclass(frozen=True)
class Entry:
    id: int
    at: int
    actor: str
    kind: str
    scope: str
    counts: dict[str, int]

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "at": self.at, "actor": self.actor, "kind": self.kind,
                "scope": self.scope, "counts": self.counts}  # fmt: skip


def write(
    conn: Connection, at: int, actor: str, kind: str, scope: str, counts: Mapping[str, int]
) -> None:
    conn.execute(
        erasures.insert().values(
            at=at, actor=actor, kind=kind, scope=scope,
            counts=json.dumps(dict(sorted(counts.items()))),
        )
    )  # fmt: skip


def recent(conn: Connection, kind: str | None = None, limit: int = 20) -> list[Entry]:
    query = select(erasures).order_by(desc(erasures.c.at), desc(erasures.c.id)).limit(limit)
    if kind is not None:
        query = query.where(erasures.c.kind == kind)
    return [
        Entry(r.id, r.at, r.actor, r.kind, r.scope, json.loads(r.counts))
        for r in conn.execute(query)
    ]


class Touched:
    """The (site, day) pairs whose visits or hits changed: their rollups are rebuilt."""

    def __init__(self) -> None:
        self.days: dict[int, set[date]] = {}

    def add(self, rows: Iterable[tuple[Any, Any]]) -> None:
        for site_id, day in rows:
            if day is not None:
                value = day if isinstance(day, date) else date.fromisoformat(str(day))
                self.days.setdefault(int(site_id), set()).add(value)

    def rebuild(self, conn: Connection) -> None:
        """Recompute the rollups of the touched days, so they equal a rebuild from scratch.

        One span per site (first to last touched day): a few queries instead of a dozen
        per day; the days in between are recomputed to what they already were."""
        store = events.store_of(conn)
        for site_id, days in sorted(self.days.items()):
            store.rebuild_rollups(conn, [site_id], (min(days), max(days)))
        self.days.clear()
