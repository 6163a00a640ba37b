"""Page render times on a big database: the overview and companies pages over millions of hits.

    .venv/bin/python bench/pages_load.py [--visits-per-day 30000] [--days 120] [--record]

Builds (once; reused while its parameters match) a demo database in SQLite from the
simulator at the given traffic, so that it holds about 10 million hits. Then serves it
with `spoor serve`, signs in, and requests each page sequentially (after a warm-up),
recording the time from request to the last byte of the rendered HTML. The baseline in the
same run is the same numbers computed the way reports did before rollups: aggregate
queries over the visits and hits tables. With --record the result replaces the block in
bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine, and_, case, func, select

from readme import record
from spoor.analytics.query import Period, period_in_zone
from spoor.db.engine import make_engine
from spoor.db.schema import hits, visits
from spoor.demo.run import DEMO_PASSWORD, DEMO_USERS, build_demo
from spoor.sites import Site, list_sites
from spoor.terminal import ImportProgress

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out" / "pages"
SPOOR = str(Path(sys.executable).with_name("spoor"))
console = Console()

PAGES = [
    ("overview, 30 days", "/?period=30d"),
    ("overview, 7 days", "/?period=7d"),
    ("overview, all time", "/?period=all"),
    ("companies, 30 days", "/companies?period=30d"),
    ("companies, leads by name", "/companies?period=30d&type=leads&sort=name&order=asc"),
    ("companies, visited /pricing", "/companies?period=30d&page_path=/pricing"),
    ("companies, page 5", "/companies?period=30d&page=5"),
]


def build(days: int, visits_per_day: float) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    marker = OUT / "built.json"
    wanted = {"days": days, "visits_per_day": visits_per_day}
    if marker.exists() and json.loads(marker.read_text()) == wanted:
        return OUT / "demo"
    console.print(f"Building: {days} days at {visits_per_day:,.0f} visits a day ...")
    started = time.perf_counter()
    progress = ImportProgress(console)
    with progress.shown():
        build_demo(OUT / "demo", days=days, visits_per_day=visits_per_day, progress=progress)
    console.print(f"Built in {time.perf_counter() - started:,.0f} s")
    marker.write_text(json.dumps(wanted))
    return OUT / "demo"


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            "hits": int(conn.execute(select(func.count()).select_from(hits)).scalar_one()),
            "visits": int(conn.execute(select(func.count()).select_from(visits)).scalar_one()),
        }


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


def time_pages(base: str, repeat: int) -> dict[str, tuple[float, float]]:
    results = {}
    with httpx.Client(base_url=base, timeout=120) as client:
        login = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', login.text)
        assert token, "no sign-in form"
        signed = client.post(
            "/login",
            data={"email": DEMO_USERS[0][0], "password": DEMO_PASSWORD,
                  "csrf_token": token.group(1), "next": "/"},
        )  # fmt: skip
        assert signed.status_code == 303, signed.text
        for label, path in PAGES:
            assert client.get(path).status_code == 200, path  # warm-up
            samples = []
            for _ in range(repeat):
                started = time.perf_counter()
                answer = client.get(path)
                samples.append((time.perf_counter() - started) * 1000)
                assert answer.status_code == 200, path
            results[label] = percentiles(samples)
            console.print(
                f"  {label}: p50 {results[label][0]:.1f} ms, p95 {results[label][1]:.1f} ms"
            )
    return results


def raw_overview(engine: Engine, site: Site, period: Period) -> None:
    """The overview's numbers straight from visits and hits (how reports worked before)."""
    v = visits.c
    within = [v.site_id == site.id, v.day >= period.start, v.day <= period.end]
    bounce = case((and_(v.pageviews <= 1, v.events == 0), 1), else_=0)
    lower, upper = period.epoch_bounds(site.timezone)
    with engine.connect() as conn:
        conn.execute(select(func.count(), func.sum(v.pageviews), func.sum(bounce),
                            func.sum(v.ended - v.started)).where(*within)).one()  # fmt: skip
        per_day = select(v.day, func.count(func.distinct(v.visitor)).label("n")).where(*within)
        conn.execute(select(func.sum(per_day.group_by(v.day).subquery().c.n))).one()
        conn.execute(select(v.day, func.count()).where(*within).group_by(v.day)).all()
        for column in (v.entry_path, v.source, v.channel, v.utm_campaign, v.country, v.device,
                       v.browser, v.os):  # fmt: skip
            conn.execute(
                select(column, func.count()).where(*within, column.is_not(None))
                .group_by(column).order_by(func.count().desc()).limit(10)
            ).all()  # fmt: skip
        conn.execute(
            select(hits.c.path, func.count(), func.count(func.distinct(hits.c.visit_id)))
            .where(hits.c.site_id == site.id, hits.c.kind == 1, hits.c.ts >= lower,
                   hits.c.ts < upper)
            .group_by(hits.c.path).order_by(func.count().desc()).limit(10)
        ).all()  # fmt: skip


def raw_companies(engine: Engine, site: Site, period: Period) -> None:
    v = visits.c
    with engine.connect() as conn:
        conn.execute(
            select(v.org_id, func.count(), func.count(func.distinct(v.visitor)),
                   func.sum(v.pageviews), func.max(v.ended))
            .where(v.site_id == site.id, v.day >= period.start, v.day <= period.end,
                   v.org_id.is_not(None))
            .group_by(v.org_id).order_by(func.count().desc()).limit(50)
        ).all()  # fmt: skip


def time_calls(work: Callable[[], None], repeat: int) -> tuple[float, float]:
    work()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        samples.append((time.perf_counter() - started) * 1000)
    return percentiles(samples)


def serve(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "SPOOR_DATA_DIR": str(data_dir), "SPOOR_DATABASE_URL": ""}
    process = subprocess.Popen([SPOOR, "serve", "--port", str(port)], env=env)
    deadline = time.monotonic() + 1800  # the first start may apply migrations to it all
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("spoor serve did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--visits-per-day", type=float, default=30_000)
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args()

    data_dir = build(args.days, args.visits_per_day)
    engine = make_engine(f"sqlite:///{data_dir / 'spoor.db'}")
    size = counts(engine)
    with engine.connect() as conn:
        site = list_sites(conn)[0]
    month = period_in_zone("30d", site.timezone)
    console.print(f"{size['hits']:,} hits in {size['visits']:,} visits")
    baseline = {
        "overview, 30 days": time_calls(lambda: raw_overview(engine, site, month), 5),
        "companies, 30 days": time_calls(lambda: raw_companies(engine, site, month), 5),
    }
    server = serve(data_dir, args.port)
    try:
        pages = time_pages(f"http://127.0.0.1:{args.port}", args.repeat)
    finally:
        server.terminate()
        server.wait(timeout=60)

    table = Table("page", "p50 ms", "p95 ms", "raw-query baseline p95 ms", "page / baseline")
    lines = [
        "| page | p50 ms | p95 ms | baseline p95 ms (raw queries, no page) | page p95 / baseline |",
        "| --- | --- | --- | --- | --- |",
    ]
    for label, (p50, p95) in pages.items():
        base = baseline.get(label)
        ratio = f"{p95 / base[1]:.3f}x" if base else ""
        shown = f"{base[1]:.0f}" if base else ""
        table.add_row(label, f"{p50:.1f}", f"{p95:.1f}", shown, ratio)
        lines.append(f"| {label} | {p50:.1f} | {p95:.1f} | {shown} | {ratio} |")
    console.print(table)
    worst = max(p95 for _, p95 in pages.values())
    verdict = "met" if worst < 100 else "NOT met"
    summary = (
        f"SQLite, {size['hits']:,} hits in {size['visits']:,} visits "
        f"({args.days} days at {args.visits_per_day:,.0f} simulated visits a day); "
        f"{args.repeat} sequential requests per page after a warm-up, time to the last byte "
        f"over loopback. Slowest p95: **{worst:.1f} ms** (target < 100 ms: {verdict})."
    )
    console.print(summary)
    if args.record:
        record("pages-bench", "\n".join([summary, "", *lines]), "Pages over about 10 million hits",
               ".venv/bin/python bench/pages_load.py --record")  # fmt: skip


if __name__ == "__main__":
    main()
