"""Retention: delete what is older than the settings allow, in batches, once a day.

Each batch is one transaction that deletes rows and recomputes the rollups of the days it
touched, so the rollups always equal a rebuild from what remains, even if the job stops
half way. What is due (boundaries included):

- visits of site-local days more than SPOOR_RETAIN_VISITS_DAYS before today, with their
  hits (`day < today - N`: the day exactly N days ago is kept);
- hits with `ts < now - N days` (SPOOR_RETAIN_HITS_DAYS);
- lead signals with `ts < now - N days` (SPOOR_RETAIN_SIGNALS_DAYS);
- the truncated IP of visits of days more than SPOOR_RETAIN_IP_PREFIX_DAYS ago (blanked);
- organizations last seen before the visits' limit that nothing refers to any more.

A limit of 0 keeps that kind of row forever.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Connection, Engine, and_, delete, exists, func, select

from spoor.db.schema import lead_signals, organizations, sites
from spoor.events import store_of
from spoor.events.base import Erased, EventStore, Visits
from spoor.privacy import journal
from spoor.privacy.scope import EVENT_TABLES, ORG_TABLES
from spoor.settings import Settings

log = logging.getLogger(__name__)
BATCH = 5000
DAY = 86400
EVERY = DAY  # the scheduled job runs once a day (checked by the once-a-minute chores)
FIRST_AFTER = 3600.0  # seconds after start: a start or restart stays quick and predictable
RETRY = 3600.0  # seconds after a failed run


@dataclass(frozen=True)
class Policy:
    hits_days: int = 400
    visits_days: int = 760
    signals_days: int = 400
    ip_prefix_days: int = 30

    @classmethod
    def of(cls, settings: Settings) -> Policy:
        return cls(
            settings.retain_hits_days,
            settings.retain_visits_days,
            settings.retain_signals_days,
            settings.retain_ip_prefix_days,
        )

    @property
    def keeps_everything(self) -> bool:
        return not (self.hits_days or self.visits_days or self.signals_days or
                    self.ip_prefix_days)  # fmt: skip


@dataclass
class Report:
    dry_run: bool
    counts: dict[str, int] = field(default_factory=dict)  # what was (or would be) deleted
    limits: dict[str, str] = field(default_factory=dict)  # the cutoffs, in words

    def add(self, name: str, n: int) -> None:
        self.counts[name] = self.counts.get(name, 0) + n

    def as_json(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "counts": self.counts, "limits": self.limits}


def _local_cutoff(timezone: str, now: float, days: int) -> date:
    return datetime.fromtimestamp(now, ZoneInfo(timezone)).date() - timedelta(days=days)


def _count(conn: Connection, table: Any, where: ColumnElement[bool]) -> int:
    return int(conn.execute(select(func.count()).select_from(table).where(where)).scalar_one())


def _orphan_orgs(cutoff: int, site_ids: list[int]) -> ColumnElement[bool]:
    """Organizations last seen before `cutoff` that no SQL table names any more (the event
    store is asked about its visits afterwards: `_orphans`)."""
    conditions = [organizations.c.last_seen < cutoff]
    for owner in ORG_TABLES:
        if owner.table is organizations or owner.parent is not None:
            continue
        if owner.table.name in EVENT_TABLES:
            continue
        column = owner.table.c[owner.column]
        where = [column == organizations.c.id]
        site = owner.table.c.get("site_id")
        # Rows of a site (a foreign key: every row's site is among them) are indexed by site
        # first: naming the sites lets the database seek instead of scanning per organization.
        if site is not None and site.foreign_keys:
            where.append(site.in_(site_ids))
        conditions.append(~exists(select(column).where(*where)))
    return and_(*conditions)


@dataclass(frozen=True)
class _Due:
    """What is due on one site (None: that limit is off)."""

    visits: Visits | None  # with their hits
    visits_before: date | None  # the first day kept: hits of earlier visits go with them
    hits_before: int | None
    prefixes: Visits | None


def _due(policy: Policy, report: Report, site: Any, now: float) -> _Due:
    old_visits = prefixes = visits_before = hits_before = None
    if policy.visits_days:
        visits_before = _local_cutoff(site.timezone, now, policy.visits_days)
        report.limits[f"visits of {site.domain}"] = f"days before {visits_before.isoformat()}"
        old_visits = Visits((site.id,), last_day=visits_before - timedelta(days=1))
    if policy.hits_days:
        hits_before = int(now) - policy.hits_days * DAY
        report.limits["hits"] = f"before {_when(hits_before)}"
    if policy.ip_prefix_days:
        cutoff = _local_cutoff(site.timezone, now, policy.ip_prefix_days)
        report.limits[f"IP prefixes of {site.domain}"] = f"days before {cutoff.isoformat()}"
        # Visits due go whole: a dry run must not count their prefixes as well.
        prefixes = Visits((site.id,), first_day=visits_before, last_day=cutoff - timedelta(days=1))
    return _Due(old_visits, visits_before, hits_before, prefixes)


def _when(ts: int) -> str:
    return f"{datetime.fromtimestamp(ts, UTC):%Y-%m-%d %H:%M} UTC"


Step = Callable[[EventStore, Connection, int | None], Erased]


def _in_batches(engine: Engine, report: Report, batch: int, measure: str, step: Step) -> None:
    """Run `step` (an erasure in the event store) in transactions of at most `batch` rows,
    each recomputing the rollups of the days it touched, until less than a batch was left.
    A dry run counts everything at once."""
    while True:
        with engine.begin() as conn:
            erased = step(store_of(conn), conn, None if report.dry_run else batch)
            report.add(measure, getattr(erased, measure))
            for name in ("visits", "hits", "ip_prefixes"):
                if name != measure and getattr(erased, name):
                    report.add(name, getattr(erased, name))
            if not report.dry_run:
                touched = journal.Touched()
                touched.add(erased.days)
                touched.rebuild(conn)
        if report.dry_run or getattr(erased, measure) < batch:
            return


def _steps(due: _Due, site_id: int, dry_run: bool) -> list[tuple[str, Step]]:
    """What is due on one site, in order: visits first (their hits go with them, and a dry
    run counts those hits once), then hits by time, then truncated IPs."""
    old, prefixes, before, kept_from = due.visits, due.prefixes, due.hits_before, due.visits_before

    def visits(store: EventStore, conn: Connection, limit: int | None) -> Erased:
        assert old is not None
        return store.erase_visits(conn, old, dry_run=dry_run, limit=limit)

    def hits(store: EventStore, conn: Connection, limit: int | None) -> Erased:
        assert before is not None
        return store.erase_hits(conn, site_id, before, visits_before=kept_from,
                                dry_run=dry_run, limit=limit)  # fmt: skip

    def ip_prefixes(store: EventStore, conn: Connection, limit: int | None) -> Erased:
        assert prefixes is not None
        return store.blank_ip_prefixes(conn, prefixes, dry_run=dry_run, limit=limit)

    steps: list[tuple[str, Step]] = [("visits", visits)] if old is not None else []
    if before is not None:
        steps.append(("hits", hits))
    if prefixes is not None:
        steps.append(("ip_prefixes", ip_prefixes))
    return steps


def run(
    engine: Engine, policy: Policy, now: float, *, dry_run: bool = False, batch: int = BATCH,
    actor: str = "retention",
) -> Report:  # fmt: skip
    """Delete (or with `dry_run`, count) everything due; logs the run unless dry."""
    report = Report(dry_run)
    with engine.connect() as conn:
        site_rows = conn.execute(select(sites.c.id, sites.c.domain, sites.c.timezone)).all()
    signals = orphans = None
    if policy.signals_days:
        ts = int(now) - policy.signals_days * DAY
        report.limits["lead signals"] = f"before {_when(ts)}"
        signals = lead_signals.c.ts < ts
    if policy.visits_days:
        orphans = _orphan_orgs(int(now) - policy.visits_days * DAY, [r.id for r in site_rows])
    for site in site_rows:
        due = _due(policy, report, site, now)
        for measure, step in _steps(due, site.id, dry_run):
            _in_batches(engine, report, batch, measure, step)
    if signals is not None:
        if dry_run:
            with engine.connect() as conn:
                report.add("lead_signals", _count(conn, lead_signals, signals))
        else:
            _simple(engine, report, lead_signals, signals, batch)
    if orphans is not None:
        _orphans(engine, report, orphans, batch)
    if not dry_run:
        with engine.begin() as conn:
            journal.write(conn, int(now), actor, "retention", "retention limits", report.counts)
        if any(report.counts.values()):
            log.info("retention deleted %s", report.counts)
    return report


def _simple(
    engine: Engine, report: Report, table: Any, where: ColumnElement[bool], batch: int
) -> None:
    """Rows with no rollups behind them (lead signals), by primary key."""
    key = next(iter(table.primary_key.columns))
    while True:
        with engine.begin() as conn:
            ids = conn.execute(select(key).where(where).limit(batch)).scalars().all()
            if ids:
                report.add(table.name, conn.execute(delete(table).where(key.in_(ids))).rowcount)
        if len(ids) < batch:
            return


def _orphans(engine: Engine, report: Report, where: ColumnElement[bool], batch: int) -> None:
    """Organizations that nothing names any more, in pages by id: some that SQL finds
    unreferenced are still named by visits in the event store, and stay."""
    key = organizations.c.id
    after: int | None = None
    report.add("organizations", 0)
    while True:
        with engine.begin() as conn:
            query = select(key).where(where).order_by(key).limit(batch)
            if after is not None:
                query = query.where(key > after)
            ids = [int(i) for i in conn.execute(query).scalars()]
            if ids:
                after = ids[-1]
                named = store_of(conn).orgs_with_visits(conn, ids)
                gone = [i for i in ids if i not in named]
                if gone and not report.dry_run:
                    conn.execute(delete(organizations).where(key.in_(gone)))
                report.add("organizations", len(gone))
        if len(ids) < batch:
            return


def last_run(conn: Connection) -> journal.Entry | None:
    found = journal.recent(conn, "retention", limit=1)
    return found[0] if found else None


def run_if_due(engine: Engine, settings: Settings, now: float) -> Report | None:
    """The scheduled job: run when the last run is a day old (called once a minute)."""
    policy = Policy.of(settings)
    if policy.keeps_everything:
        return None
    with engine.connect() as conn:
        last = last_run(conn)
    if last is not None and now - last.at < EVERY:
        return None
    return run(engine, policy, now)


class Schedule:
    """The job's clock in a running server: the first run an hour after start (a restart
    never begins with a large deletion), then whenever the last run is a day old."""

    def __init__(self, first_after: float = FIRST_AFTER) -> None:
        self.not_before = time.monotonic() + first_after

    def tick(self, engine: Engine, settings: Settings, now: float) -> Report | None:
        if time.monotonic() < self.not_before:
            return None
        try:
            return run_if_due(engine, settings, now)
        except Exception:  # e.g. a ClickHouse server away: said once an hour, not every minute
            log.exception("retention failed; trying again in an hour")
            self.not_before = time.monotonic() + RETRY
            return None
