"""The same reports from the SQL event store (SQLite) and the ClickHouse one (chdb).

    .venv/bin/python bench/event_stores.py [--hits 2000000] [--record]

Writes the same synthetic traffic (visits of 1 to 7 pageviews over 90 days, a fifth of
them from 2,000 organizations) into both stores through their `write`, the way ingest does,
then times each report query: the overview's numbers (totals, the daily series, the top
lists, top pages) and the companies' per-organization numbers. On SQLite the reports
read the rollups every write keeps current; ClickHouse reads the daily rollups it builds
for closed days (timed apart: the first report after the writes builds them) and
aggregates the visits and hits of the rest. Also timed: the same totals as a raw aggregate
over SQLite's visits (what a SQL report costs without rollups), and the write time of each
store. With --record the
result replaces the block in bench/README.md.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, select

from readme import record
from spoor.analytics.query import Period
from spoor.db.engine import make_engine, upgrade
from spoor.db.schema import visits
from spoor.events.base import EventStore
from spoor.events.clickhouse import ClickHouseEventStore
from spoor.events.sql import SqlEventStore
from spoor.ingest.store import Batch
from spoor.sites import Site, add_site

DAYS = 90
FIRST = date(2026, 1, 1)
PATHS = ["/", "/pricing", "/docs", "/blog/a", "/blog/b", "/case-studies/x", "/about", "/demo"]
CHANNELS = [("search", "google"), ("direct", None), ("social", "linkedin"), ("email", "nl")]


def batches(hits: int, size: int = 20_000) -> list[Batch]:
    """Rows as the pipeline hands them to a store (SQLite's days as ISO text)."""
    rng = random.Random(7)
    out, batch, made, visit_id = [], Batch(), 0, 0
    while made < hits:
        visit_id += 1
        day = FIRST + timedelta(rng.randrange(DAYS))
        start = int(time.mktime(day.timetuple())) + rng.randrange(80_000)
        views = min(rng.choice((1, 1, 2, 3, 4, 7)), hits - made)
        channel, source = rng.choice(CHANNELS)
        org = rng.randrange(1, 2001) if rng.random() < 0.2 else None
        # fmt: off
        batch.visits.append((
            visit_id, 1, rng.randrange(1, 10**12), day.isoformat(), start, start + 40 * views,
            views, 0, PATHS[visit_id % 5], PATHS[-1], None, channel, source, None, None, None,
            None, None, "Chrome", "Windows", "desktop", "NL", None, org,
        ))
        for n in range(views):
            batch.hits.append((
                1, rng.randbytes(16), visit_id, start + 40 * n, 1, rng.choice(PATHS), None,
                None, None,
            ))
        # fmt: on
        made += views
        if len(batch.hits) >= size:
            out.append(batch)
            batch = Batch()
    if batch.hits:
        out.append(batch)
    return out


class RawClickHouse(ClickHouseEventStore):
    """The same tables, every day read raw: what the overview cost before the rollups."""

    def _built(self, site: Site, period: Period) -> tuple[str, str]:
        return "0", ""


def timed(fn: Callable[[], Any], repeat: int = 7) -> float:
    """Median milliseconds of `repeat` runs after a warm-up."""
    fn()
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - started) * 1000)
    return statistics.median(runs)


def reports(store: EventStore, conn: Connection, site: Site) -> dict[str, Callable[[], Any]]:
    month = Period(FIRST + timedelta(DAYS - 30), FIRST + timedelta(DAYS - 1))
    whole = Period(None, None)

    def overview(period: Period) -> Callable[[], Any]:
        return lambda: (
            store.totals(conn, site, period),
            store.daily(conn, site, period),
            [store.top(conn, site, period, d, 10) for d in ("channel", "source", "entry_page")],
            store.top_pages(conn, site, period, 10),
        )

    def companies() -> Any:
        return conn.execute(select(store.org_days(conn, site, month))).all()

    return {
        "overview numbers, 30 days": overview(month),
        "overview numbers, all time": overview(whole),
        "per-organization numbers, 30 days": companies,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hits", type=int, default=2_000_000)
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="spoor-bench-stores-"))
    data = batches(args.hits)
    hits = sum(len(b.hits) for b in data)
    visit_count = sum(len(b.visits) for b in data)
    results: dict[str, dict[str, float]] = {}
    for name in ("sqlite", "clickhouse"):
        engine = make_engine(f"sqlite:///{work / name}.db")
        upgrade(engine)
        with engine.begin() as conn:
            add_site(conn, "www.example.com", "UTC", 0)
        store: EventStore = (
            SqlEventStore() if name == "sqlite" else ClickHouseEventStore.scratch(work / "chdb")
        )
        started = time.perf_counter()
        for batch in data:
            with engine.begin() as conn:
                store.write(conn, batch)
        results[name] = {"write s": time.perf_counter() - started}
        print(f"{name}: {hits:,} hits written in {results[name]['write s']:.1f} s", file=sys.stderr)
        with engine.connect() as conn:
            site = Site(1, "www.example.com", "x", "UTC")
            if name == "clickhouse":  # what the first report after the writes does
                started = time.perf_counter()
                store.rebuild_rollups(conn, None)
                results[name]["build s"] = time.perf_counter() - started
            for label, fn in reports(store, conn, site).items():
                results[name][label] = timed(fn)
            if isinstance(store, ClickHouseEventStore):
                raw = RawClickHouse(store.transport, store.db)
                results["raw"] = {k: timed(fn) for k, fn in reports(raw, conn, site).items()}
            if name == "sqlite":
                results[name]["raw"] = timed(
                    lambda conn=conn: conn.execute(  # type: ignore[misc]
                        select(func.count(), func.sum(visits.c.pageviews))
                    ).one(),
                    repeat=3,
                )
    sql, ch, raw = results["sqlite"], results["clickhouse"], results["raw"]
    lines = [
        f"{hits:,} hits in {visit_count:,} visits over {DAYS} days, one site, written through "
        "each store's `write` in batches of 20,000 hits; median of 7 runs after a warm-up, "
        "on this machine (2 cores, shared).",
        "",
        "| | SQLite (rollups) ms | ClickHouse (chdb) ms | ClickHouse / SQLite "
        "| ClickHouse, every day raw ms |",
        "| --- | --- | --- | --- | --- |",
    ]
    for label in [k for k in sql if k not in ("write s", "raw")]:
        lines.append(
            f"| {label} | {sql[label]:.1f} | {ch[label]:.1f} | {ch[label] / sql[label]:.2f}x "
            f"| {raw[label]:.1f} |"
        )
    lines.append(
        f"| write, seconds | {sql['write s']:.1f} | {ch['write s']:.1f} | "
        f"{ch['write s'] / sql['write s']:.2f}x | |"
    )
    lines.append("")
    lines.append(
        f"ClickHouse builds its daily rollups of the {DAYS} days (closed days, from the merged "
        f"rows) in {ch['build s']:.1f} s, once: the first report after writes to closed days "
        "builds theirs; today and yesterday are always read raw."
    )
    lines.append("")
    lines.append(
        f"Without rollups, one aggregate over SQLite's visits (count and pageviews, all time) "
        f"takes {sql['raw']:.0f} ms: what every SQL report would cost per query."
    )
    text = "\n".join(lines)
    print(text)
    if args.record:
        record(
            "stores-bench", text, "Event stores: SQLite vs ClickHouse (chdb)",
            ".venv/bin/python bench/event_stores.py --record",
        )  # fmt: skip


if __name__ == "__main__":
    main()
