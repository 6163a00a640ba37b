"""The team's deal stages: ordered, each with the team's own win probability; a won and a
lost stage close a deal. Migration 0018 seeds the defaults below."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Connection, func, select

from spoor.db.schema import deal_stages, deals

DEFAULT_STAGES = (
    ("discovery", "Discovery", 0.1),
    ("qualified", "Qualified", 0.25),
    ("proposal", "Proposal", 0.5),
    ("negotiation", "Negotiation", 0.75),
    ("won", "Won", 1.0),
    ("lost", "Lost", 0.0),
)
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


class StageError(ValueError):
    """A stage that cannot be added, changed or removed; the message says why."""


@dataclass(frozen=True)
class Stage:
    key: str
    name: str
    position: int
    probability: float
    is_won: bool
    is_lost: bool

    @property
    def closes(self) -> bool:
        """Entering this stage closes the deal (won or lost)."""
        return self.is_won or self.is_lost


def list_stages(conn: Connection) -> list[Stage]:
    """Every stage, in the order deals move through them."""
    rows = conn.execute(select(deal_stages).order_by(deal_stages.c.position, deal_stages.c.key))
    return [
        Stage(r.key, r.name, int(r.position), float(r.probability), bool(r.is_won), bool(r.is_lost))
        for r in rows
    ]


def get_stage(conn: Connection, key: str) -> Stage:
    """One stage by key; the error lists the keys there are."""
    stages = list_stages(conn)
    found = next((s for s in stages if s.key == key), None)
    if found is None:
        raise StageError(f"no stage {key!r}: use {', '.join(s.key for s in stages)}")
    return found


def open_stages(conn: Connection) -> list[Stage]:
    """The stages a deal may be in while open, in order."""
    return [s for s in list_stages(conn) if not s.closes]


def save_stage(
    conn: Connection,
    key: str,
    *,
    name: str | None = None,
    position: int | None = None,
    probability: float | None = None,
    outcome: str | None = None,
) -> Stage:
    """Add a stage, or change one's name, position (0 = first; the others make room) or
    probability. A new stage goes last unless a position is given.

    ``outcome`` ("won" or "lost") is only for a new stage: turning an open stage into a
    closing one would leave its open deals closed without an outcome.
    """
    key = key.strip().lower()
    if not _KEY.match(key):
        raise StageError(f"{key!r}: a stage key is lower-case letters, digits and _ (32 at most)")
    if probability is not None and not 0.0 <= probability <= 1.0:
        raise StageError(f"probability {probability} is not between 0 and 1")
    if outcome not in (None, "won", "lost"):
        raise StageError(f"{outcome!r}: a closing stage is won or lost")
    existing = next((s for s in list_stages(conn) if s.key == key), None)
    values: dict[str, object] = {}
    if name is not None:
        values["name"] = name.strip() or key
    if probability is not None:
        values["probability"] = probability
    if existing is not None:
        if outcome is not None and outcome != ("won" if existing.is_won else
                                               "lost" if existing.is_lost else None):  # fmt: skip
            raise StageError(f"stage {key!r} exists; its outcome cannot change")
        if values:
            conn.execute(deal_stages.update().where(deal_stages.c.key == key).values(**values))
    else:
        last = conn.execute(select(func.max(deal_stages.c.position))).scalar()
        conn.execute(
            deal_stages.insert().values(
                key=key,
                name=values.get("name", key.replace("_", " ").capitalize()),
                position=(last if last is not None else -1) + 1,
                probability=values.get("probability", 1.0 if outcome == "won" else 0.0),
                is_won=outcome == "won",
                is_lost=outcome == "lost",
            )
        )
    if position is not None:
        _move_to(conn, key, position)
    return get_stage(conn, key)


def _move_to(conn: Connection, key: str, position: int) -> None:
    """Put a stage at ``position`` (0 = first) and number the others around it."""
    keys = [s.key for s in list_stages(conn) if s.key != key]
    keys.insert(max(0, min(position, len(keys))), key)
    for index, each in enumerate(keys):
        conn.execute(deal_stages.update().where(deal_stages.c.key == each).values(position=index))


def remove_stage(conn: Connection, key: str) -> None:
    """Remove a stage no deal is in (history keeps its name either way)."""
    stage = get_stage(conn, key)
    used = conn.execute(select(func.count()).where(deals.c.stage == key)).scalar_one()
    if used:
        raise StageError(f"{used} deals are in stage {key!r}; move them first")
    others = [s for s in list_stages(conn) if s.key != key]
    if stage.is_won and not any(s.is_won for s in others):
        raise StageError("the won stage is the only one; add another first")
    if stage.is_lost and not any(s.is_lost for s in others):
        raise StageError("the lost stage is the only one; add another first")
    if not stage.closes and not any(not s.closes for s in others):
        raise StageError("a deal needs at least one open stage")
    conn.execute(deal_stages.delete().where(deal_stages.c.key == key))
