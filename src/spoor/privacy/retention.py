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
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    and_,
    delete,
    exists,
    func,
    or_,
    select,
    update,
)

from spoor.db.schema import hits, lead_signals, organizations, sites, visits
from spoor.privacy import journal
from spoor.privacy.scope import ORG_TABLES, UnsupportedStore, require_sql_events
from spoor.settings import Settings

log = logging.getLogger(__name__)
BATCH = 5000
DAY = 86400
EVERY = DAY  # the scheduled job runs once a day (checked by the once-a-minute chores)
FIRST_AFTER = 3600.0  # seconds after start: a start or restart stays quick and predictable


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
    """Organizations last seen before `cutoff` with no row left anywhere that names them."""
    conditions = [organizations.c.last_seen < cutoff]
    for owner in ORG_TABLES:
        if owner.table is organizations or owner.parent is not None:
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
    """What is due on one site, as conditions (None: that limit is off)."""

    visits: ColumnElement[bool] | None
    hits: ColumnElement[bool] | None
    prefixes: ColumnElement[bool] | None


def _due(policy: Policy, report: Report, site: Any, now: float) -> _Due:
    v, h = visits.c, hits.c
    old_visits = old_hits = prefixes = None
    if policy.visits_days:
        cutoff = _local_cutoff(site.timezone, now, policy.visits_days)
        report.limits[f"visits of {site.domain}"] = f"days before {cutoff.isoformat()}"
        old_visits = (v.site_id == site.id) & (v.day < cutoff)
    if policy.hits_days:
        ts = int(now) - policy.hits_days * DAY
        report.limits["hits"] = f"before {_when(ts)}"
        old_hits = (h.site_id == site.id) & (h.ts < ts)
    if policy.ip_prefix_days:
        cutoff = _local_cutoff(site.timezone, now, policy.ip_prefix_days)
        report.limits[f"IP prefixes of {site.domain}"] = f"days before {cutoff.isoformat()}"
        prefixes = (v.site_id == site.id) & (v.day < cutoff) & v.ip_prefix.is_not(None)
    return _Due(old_visits, old_hits, prefixes)


def _when(ts: int) -> str:
    return f"{datetime.fromtimestamp(ts, UTC):%Y-%m-%d %H:%M} UTC"


def _count_due(conn: Connection, report: Report, due: _Due) -> None:
    """A dry run: what a run would delete now (a hit due twice counts once)."""
    hit_due: list[ColumnElement[bool]] = []
    if due.visits is not None:
        report.add("visits", _count(conn, visits, due.visits))
        hit_due.append(hits.c.visit_id.in_(select(visits.c.id).where(due.visits)))
    if due.hits is not None:
        hit_due.append(due.hits)
    if hit_due:
        report.add("hits", _count(conn, hits, or_(*hit_due)))
    if due.prefixes is not None:
        older = due.prefixes if due.visits is None else due.prefixes & ~due.visits
        report.add("ip_prefixes", _count(conn, visits, older))


def run(
    engine: Engine, policy: Policy, now: float, *, dry_run: bool = False, batch: int = BATCH,
    actor: str = "retention",
) -> Report:  # fmt: skip
    """Delete (or with `dry_run`, count) everything due; logs the run unless dry."""
    report = Report(dry_run)
    with engine.connect() as conn:
        require_sql_events(conn)
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
        if dry_run:
            with engine.connect() as conn:
                _count_due(conn, report, due)
            continue
        if due.visits is not None:  # first: their hits go with them
            _visits(engine, report, site.id, due.visits, batch)
        if due.hits is not None:
            _hits(engine, report, site.id, due.hits, batch)
        if due.prefixes is not None:
            _prefixes(engine, report, due.prefixes, batch)
    for table, where in ((lead_signals, signals), (organizations, orphans)):
        if where is None:
            continue
        if dry_run:
            with engine.connect() as conn:
                report.add(table.name, _count(conn, table, where))
        else:
            _simple(engine, report, table, where, batch)
    if not dry_run:
        with engine.begin() as conn:
            journal.write(conn, int(now), actor, "retention", "retention limits", report.counts)
        if any(report.counts.values()):
            log.info("retention deleted %s", report.counts)
    return report


def _visits(
    engine: Engine, report: Report, site_id: int, where: ColumnElement[bool], batch: int
) -> None:
    query = select(visits.c.id, visits.c.day).where(where).order_by(visits.c.day)
    while True:
        with engine.begin() as conn:
            rows = conn.execute(query.limit(batch)).all()
            ids = [r.id for r in rows]
            if ids:
                gone = conn.execute(delete(hits).where(hits.c.visit_id.in_(ids)))
                report.add("hits", gone.rowcount)
                gone = conn.execute(delete(visits).where(visits.c.id.in_(ids)))
                report.add("visits", gone.rowcount)
                touched = journal.Touched()
                touched.add((site_id, r.day) for r in rows)
                touched.rebuild(conn)
        if len(rows) < batch:
            return


def _hits(
    engine: Engine, report: Report, site_id: int, where: ColumnElement[bool], batch: int
) -> None:
    query = (
        select(hits.c.id, visits.c.day)
        .select_from(hits.outerjoin(visits, visits.c.id == hits.c.visit_id))
        .where(where)
        .order_by(hits.c.ts)
    )
    while True:
        with engine.begin() as conn:
            rows = conn.execute(query.limit(batch)).all()
            if rows:
                gone = conn.execute(delete(hits).where(hits.c.id.in_([r.id for r in rows])))
                report.add("hits", gone.rowcount)
                touched = journal.Touched()
                touched.add((site_id, r.day) for r in rows)
                touched.rebuild(conn)
        if len(rows) < batch:
            return


def _prefixes(engine: Engine, report: Report, where: ColumnElement[bool], batch: int) -> None:
    while True:
        with engine.begin() as conn:
            ids = conn.execute(select(visits.c.id).where(where).limit(batch)).scalars().all()
            if ids:
                blanked = conn.execute(
                    update(visits).where(visits.c.id.in_(ids)).values(ip_prefix=None)
                )
                report.add("ip_prefixes", blanked.rowcount)
        if len(ids) < batch:
            return


def _simple(
    engine: Engine, report: Report, table: Any, where: ColumnElement[bool], batch: int
) -> None:
    """Rows with no rollups behind them (lead signals, organizations), by primary key."""
    key = next(iter(table.primary_key.columns))
    while True:
        with engine.begin() as conn:
            ids = conn.execute(select(key).where(where).limit(batch)).scalars().all()
            if ids:
                report.add(table.name, conn.execute(delete(table).where(key.in_(ids))).rowcount)
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
        except UnsupportedStore as exc:  # said once a day, not every minute
            log.warning("retention did not run: %s", exc)
            self.not_before = time.monotonic() + EVERY
            return None
