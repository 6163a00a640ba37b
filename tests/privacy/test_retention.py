"""The retention job deletes exactly what is due, boundaries included, and nothing else; the
rollups then equal a rebuild from what remains."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from spoor.analytics.query import Period
from spoor.db.schema import contacts, lead_signals, organizations
from spoor.events import store_of
from spoor.privacy import retention
from spoor.privacy.retention import Policy
from spoor.settings import Settings
from spoor.sites import list_sites
from tests.conftest import database

from .data import FIRST_DAY, STORES, assert_rollups_equal_rebuild, event_rows, record, ts


@pytest.fixture(params=STORES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from database(request.param, request, tmp_path)


def _state(engine: Engine, *, final: bool = True) -> dict[str, set[tuple[object, ...]]]:
    """Hits as (key, time, their visit's day), visits as (id, day, truncated IP), lead
    signals, organizations; without `final`, every row on disk (ClickHouse)."""
    visits = event_rows(engine, "visits", final=final)
    day_of = {v["id"]: v["day"] for v in visits}
    with engine.connect() as conn:
        return {
            "hits": {
                (h["key"], h["ts"], day_of.get(h["visit_id"]))
                for h in event_rows(engine, "hits", final=final)
            },
            "visits": {(v["id"], v["day"], v["ip_prefix"]) for v in visits},
            "signals": {
                tuple(r) for r in conn.execute(select(lead_signals.c.id, lead_signals.c.ts))
            },
            "orgs": set(conn.execute(select(organizations.c.id)).all()),
        }


def _day(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def test_retention_deletes_exactly_what_is_due(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    kept_ip = Settings(data_dir=settings.data_dir, database_url=settings.database_url,
                       ip_retention="truncated")  # fmt: skip
    record(engine, kept_ip, tmp_path)
    # An organization nobody refers to any more, seen long ago (expires); another one alike
    # but with a contact the team entered (kept); the first has a twin seen recently (kept).
    with engine.begin() as conn:
        for n, last_seen in ((1, 0), (2, 0), (3, int(ts(FIRST_DAY + timedelta(days=9), 12)))):
            conn.execute(organizations.insert().values(
                id=900 + n, key=f"test:{n}", name=f"Old {n}", type="business", confidence=1,
                first_seen=0, last_seen=last_seen,
            ))  # fmt: skip
        conn.execute(contacts.insert().values(org_id=902, name="Bo", created_at=0))
    before = _state(engine)
    assert len({_day(v[1]) for v in before["visits"]}) == 10

    # "Now" is 2026-01-11 10:00 UTC: the hits limit falls exactly on the first hit of
    # 2026-01-06 (kept), the signals limit on the first of 2026-01-08 (kept).
    now = ts(FIRST_DAY + timedelta(days=10), 10)
    policy = Policy(hits_days=5, visits_days=8, signals_days=3, ip_prefix_days=2)
    hits_cutoff, signals_cutoff = now - 5 * 86400, now - 3 * 86400
    assert hits_cutoff in {h[1] for h in before["hits"]}
    assert signals_cutoff in {s[1] for s in before["signals"]}
    visits_cutoff, prefix_cutoff = date(2026, 1, 3), date(2026, 1, 9)

    dry = retention.run(engine, policy, now, dry_run=True)
    assert _state(engine) == before  # a dry run changes nothing

    report = retention.run(engine, policy, now, batch=7)  # small batches: many transactions
    after = _state(engine)
    assert _state(engine, final=False) == after  # nothing left on disk of what went
    want_visits = {(i, d, p if _day(d) >= prefix_cutoff else None)
                   for i, d, p in before["visits"] if _day(d) >= visits_cutoff}  # fmt: skip
    want_hits = {h for h in before["hits"] if h[1] >= hits_cutoff and _day(h[2]) >= visits_cutoff}
    want_signals = {s for s in before["signals"] if s[1] >= signals_cutoff}
    assert after["visits"] == want_visits
    assert after["hits"] == want_hits
    assert after["signals"] == want_signals
    assert after["orgs"] == before["orgs"] - {(901,)}
    assert all(p is not None for _, d, p in want_visits if _day(d) >= prefix_cutoff)
    counts = {
        "visits": len(before["visits"]) - len(want_visits),
        "hits": len(before["hits"]) - len(want_hits),
        "lead_signals": len(before["signals"]) - len(want_signals),
        "organizations": 1,
        "ip_prefixes": sum(1 for _, d, _p in want_visits if _day(d) < prefix_cutoff),
    }
    assert report.counts == counts
    assert dry.counts == counts  # the dry run said what the run did
    assert_rollups_equal_rebuild(engine)
    with engine.connect() as conn:
        store, site = store_of(conn), list_sites(conn)[0]
        assert set(store.daily(conn, site, Period(None, None))) == {
            visits_cutoff + timedelta(days=n) for n in range(8)
        }
        # Pages of days whose hits expired are gone from the reports; their visits stay.
        for day, pages in ((date(2026, 1, 5), False), (date(2026, 1, 6), True)):
            assert store.totals(conn, site, Period(day, day))[0] > 0
            assert bool(store.top_pages(conn, site, Period(day, day), 10)) is pages

    # Run again: nothing more is due.
    assert not any(retention.run(engine, policy, now).counts.values())


def test_the_scheduled_job_runs_once_a_day(engine: Engine, settings: Settings) -> None:
    keep_all = Settings(retain_hits_days=0, retain_visits_days=0, retain_signals_days=0,
                        retain_ip_prefix_days=0)  # fmt: skip
    assert retention.run_if_due(engine, keep_all, 1e9) is None
    assert retention.run_if_due(engine, settings, 1e9) is not None
    assert retention.run_if_due(engine, settings, 1e9 + 3600) is None
    assert retention.run_if_due(engine, settings, 1e9 + 86400) is not None
    with engine.connect() as conn:
        last = retention.last_run(conn)
    assert last is not None
    assert last.at == 1e9 + 86400


def test_a_server_runs_it_an_hour_after_start(engine: Engine, settings: Settings) -> None:
    later = retention.Schedule()
    assert later.tick(engine, settings, 1e9) is None
    assert retention.Schedule(first_after=0).tick(engine, settings, 1e9) is not None
