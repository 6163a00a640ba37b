"""Writing pipeline output: hits, visits and drop counters, in one transaction per batch.

Hits are inserted with "do nothing on conflict" on their content key and visits are
upserted on their deterministic id, so replaying a batch never duplicates anything.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, case, select
from sqlalchemy.dialects import postgresql, sqlite

from spoor import events
from spoor.db.bulk import executemany
from spoor.db.schema import drops, organizations, salts, visits
from spoor.identify.resolver import Resolution
from spoor.ingest.pipeline import Hit
from spoor.ingest.sessions import Visit
from spoor.leads import ledger


def _insert(conn: Connection, table: Any) -> Any:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


_HIT_COLUMNS = ("site_id", "key", "visit_id", "ts", "kind", "path", "title", "name", "props")
_VISIT_COLUMNS = tuple(c.name for c in visits.columns)


def hit_rows(batch: Iterable[Hit]) -> list[tuple[Any, ...]]:
    rows = []
    for hit in batch:
        raw = hit.raw
        assert hit.visit is not None
        props = json.dumps(raw.props, separators=(",", ":")) if raw.props else None
        # fmt: off
        rows.append((
            raw.site_id, raw.key, hit.visit.id, int(raw.ts), int(raw.kind), hit.path, raw.title,
            raw.name, props,
        ))
        # fmt: on
    return rows


def visit_row(visit: Visit, sqlite_dates: bool = False) -> tuple[Any, ...]:
    """A visit in _VISIT_COLUMNS order."""
    day: Any = visit.day.isoformat() if sqlite_dates else visit.day
    # fmt: off
    return (
        visit.id, visit.site_id, visit.visitor, day, visit.started, visit.ended,
        visit.pageviews, visit.events, visit.entry_path, visit.exit_path, visit.referrer,
        visit.channel, visit.source, *visit.utm, visit.browser, visit.os, visit.device,
        visit.country, visit.ip_prefix, visit.org_id,
    )
    # fmt: on


@dataclass
class Batch:
    """Rows ready to write: a snapshot, so the pipeline may go on changing its visits."""

    hits: list[tuple[Any, ...]] = field(default_factory=list)
    visits: list[tuple[Any, ...]] = field(default_factory=list)
    drops: dict[tuple[int, date, str], int] = field(default_factory=dict)
    orgs: list[tuple[Any, ...]] = field(default_factory=list)


def prepare_batch(
    dialect: str,
    batch: list[Hit],
    changed_visits: list[Visit],
    dropped: Mapping[tuple[int, date, str], int],
    orgs: Mapping[int, tuple[Resolution, float, float]] | None = None,
) -> Batch:
    sqlite_dates = dialect == "sqlite"
    org_rows = [org_row(org, first, last) for org, first, last in (orgs or {}).values()]
    return Batch(
        hit_rows(batch),
        [visit_row(v, sqlite_dates) for v in changed_visits],
        dict(dropped),
        org_rows,
    )


_ORG_COLUMNS = tuple(c.name for c in organizations.columns)
_ORG_UPDATE = ("name", "domain", "country", "type", "confidence", "asn", "source", "evidence")


def org_row(org: Resolution, first: float, last: float) -> tuple[Any, ...]:
    """An organization in _ORG_COLUMNS order."""
    # fmt: off
    return (
        org.org_id, org.key, org.name, org.domain, org.country, org.type.value, org.confidence,
        org.asn, org.source, json.dumps(list(org.reasons)), int(first), int(last),
    )
    # fmt: on


def write_batch(conn: Connection, batch: Batch) -> None:
    """Write one batch inside the caller's transaction (its hits and visits to the event
    store, with their share of the rollups on SQL)."""
    if batch.orgs:
        stmt = _insert(conn, organizations)
        table = organizations.c
        stmt = stmt.on_conflict_do_update(
            index_elements=[table.id],
            set_={
                **{name: stmt.excluded[name] for name in _ORG_UPDATE},
                "first_seen": case(
                    (stmt.excluded.first_seen < table.first_seen, stmt.excluded.first_seen),
                    else_=table.first_seen,
                ),
                "last_seen": case(
                    (stmt.excluded.last_seen > table.last_seen, stmt.excluded.last_seen),
                    else_=table.last_seen,
                ),
            },
        )
        executemany(conn, stmt, _ORG_COLUMNS, batch.orgs)
    # The ledger keeps organizations that may lead: after they are stored, with their types.
    ledger.record(conn, batch.visits, _VISIT_COLUMNS, batch.hits, _HIT_COLUMNS)
    if batch.drops:
        stmt = _insert(conn, drops)
        stmt = stmt.on_conflict_do_update(
            index_elements=[drops.c.site_id, drops.c.day, drops.c.reason],
            set_={"count": drops.c.count + stmt.excluded["count"]},
        )
        as_text = conn.dialect.name == "sqlite"  # executemany passes dates as the driver takes them
        counts = [
            (site_id, day.isoformat() if as_text else day, reason, count)
            for (site_id, day, reason), count in batch.drops.items()
        ]
        executemany(conn, stmt, ("site_id", "day", "reason", "count"), counts)
    # Last: an event store outside this transaction (ClickHouse) cannot roll back, so it
    # is written after everything the SQL database could refuse; a replay is harmless.
    events.store_of(conn).write(conn, batch)


_LATEST_VISIT = (
    select(visits)
    .where(
        visits.c.site_id == bindparam("site_id"),
        visits.c.visitor == bindparam("visitor"),
        visits.c.ended >= bindparam("since"),
    )
    .order_by(visits.c.ended.desc())
    .limit(1)
)


def load_visit(conn: Connection, site_id: int, visitor: int, since: int) -> Visit | None:
    """The latest stored visit of a visitor that ended at or after `since`."""
    return events.store_of(conn).load_visit(conn, site_id, visitor, since)


def sql_load_visit(conn: Connection, site_id: int, visitor: int, since: int) -> Visit | None:
    params = {"site_id": site_id, "visitor": visitor, "since": since}
    row = conn.execute(_LATEST_VISIT, params).first()
    if row is None:
        return None
    return visit_from(dict(row._mapping))


def visit_from(m: Mapping[str, Any]) -> Visit:
    """A stored visit (a row of visits' columns) as the pipeline's Visit."""
    utm = (m["utm_campaign"], m["utm_source"], m["utm_medium"], m["utm_term"], m["utm_content"])
    campaign_key = f"{utm[0]}|{utm[1]}|{utm[2]}" if any(utm[:3]) else None
    return Visit(
        id=m["id"],
        site_id=m["site_id"],
        visitor=m["visitor"],
        day=m["day"],
        started=m["started"],
        ended=m["ended"],
        entry_path=m["entry_path"],
        exit_path=m["exit_path"],
        channel=m["channel"],
        source=m["source"],
        referrer=m["referrer"],
        campaign_key=campaign_key,
        utm=utm,
        browser=m["browser"],
        os=m["os"],
        device=m["device"] or "unknown",
        country=m["country"],
        ip_prefix=m["ip_prefix"],
        org_id=m["org_id"],
        pageviews=m["pageviews"],
        events=m["events"],
        dirty=False,
    )


def latest_hit(conn: Connection, site_id: int) -> int | None:
    return events.store_of(conn).latest_hit(conn, site_id)


def existing_keys(conn: Connection, site_id: int, keys: list[bytes]) -> set[bytes]:
    """Which of these hit keys are stored already."""
    return events.store_of(conn).existing_keys(conn, site_id, keys)


def latest_visit_end(conn: Connection, site_id: int) -> int | None:
    return events.store_of(conn).latest_visit_end(conn, site_id)


def salt_for(engine: Engine, day: date) -> bytes:
    """The salt of `day`, created on first use; concurrent creators agree on one."""
    with engine.begin() as conn:
        conn.execute(
            _insert(conn, salts).on_conflict_do_nothing(),
            {"day": day, "secret": secrets.token_bytes(32)},
        )
        secret = conn.execute(select(salts.c.secret).where(salts.c.day == day)).scalar_one()
    return bytes(secret)


def delete_old_salts(engine: Engine, today: date, keep_days: int = 2) -> int:
    """Forget salts older than yesterday: their hashes can then never be reversed."""
    with engine.begin() as conn:
        result = conn.execute(salts.delete().where(salts.c.day < today - timedelta(keep_days - 1)))
    return int(result.rowcount or 0)


__all__ = ["delete_old_salts", "latest_visit_end", "load_visit", "salt_for", "write_batch"]
