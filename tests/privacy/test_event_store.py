"""On ClickHouse a visit is stored again each time it grows (a new version of its row) and
versions are merged only later, in the background: erasure, retention and removing a site
must leave no version on disk, not only hide them from reads (which see the latest)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from spoor.events import store_of
from spoor.events.clickhouse import ClickHouseEventStore
from spoor.events.sql import VISIT_COLUMNS
from spoor.ingest.store import Batch
from spoor.privacy import retention
from spoor.privacy.erasure import erase_orgs, erase_time_range
from spoor.privacy.retention import Policy
from spoor.settings import Settings
from spoor.sites import remove_site
from tests.conftest import database

from .data import DAYS, FIRST_DAY, HARBOUR, SITE, VISITORS, event_rows, org_id, record, ts

NOW = 1_800_000_000.0


@pytest.fixture(params=["clickhouse"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from database(request.param, request, tmp_path)


def _store(engine: Engine) -> ClickHouseEventStore:
    with engine.connect() as conn:
        store = store_of(conn)
    assert isinstance(store, ClickHouseEventStore)
    return store


def _versions(engine: Engine) -> dict[int, int]:
    """Rows on disk per visit id."""
    counts: dict[int, int] = {}
    for visit in event_rows(engine, "visits", final=False):
        counts[visit["id"]] = counts.get(visit["id"], 0) + 1
    return counts


def _masked(store: ClickHouseEventStore) -> dict[str, int]:
    """Rows in the tables' parts that reads skip: a lightweight DELETE only masks rows, and
    they stay on disk until a merge."""
    masked = {}
    for table in ("visits", "hits"):
        ((on_disk,),) = store.transport.query(
            "SELECT sum(rows) FROM system.parts WHERE active AND "
            f"database = '{store.db}' AND table = '{table}'"
        )
        ((read,),) = store.transport.query(f"SELECT count() FROM {store.db}.{table}")
        masked[table] = int(on_disk) - int(read)
    return masked


def test_no_version_of_a_visit_is_left(engine: Engine, settings: Settings, tmp_path: Path) -> None:
    kept_ip = Settings(data_dir=settings.data_dir, database_url=settings.database_url,
                       ip_retention="truncated")  # fmt: skip
    record(engine, kept_ip, tmp_path)
    store = _store(engine)
    # No part is small enough to merge, so versions stay apart; mutations still run (they
    # would wait for ever after SYSTEM STOP MERGES, which stops them too).
    for table in ("visits", "hits"):
        store.transport.query(f"ALTER TABLE {store.db}.{table} MODIFY SETTING "
                              "max_bytes_to_merge_at_max_space_in_pool = 1")  # fmt: skip
    # The afternoon visits grow by a page: each is written again, as ingest does, and is
    # stored as a second version of its row.
    grown = []
    for visit in event_rows(engine, "visits"):
        if visit["started"] % 86400 >= 15 * 3600:
            visit.update(ended=visit["ended"] + 60, pageviews=visit["pageviews"] + 1)
            grown.append(tuple(visit[c] for c in VISIT_COLUMNS))
    with engine.begin() as conn:
        store.write(conn, Batch(visits=grown))
    twice = {i for i, n in _versions(engine).items() if n == 2}
    assert len(twice) == len(VISITORS) * DAYS

    with engine.connect() as conn:
        harbour = org_id(conn, HARBOUR)
    harbour_visits = {v["id"] for v in event_rows(engine, "visits") if v["org_id"] == harbour}
    assert harbour_visits & twice
    assert store.transport.query(f"SELECT count() FROM {store.db}.rollups") == [[0]]
    erase_orgs(engine, [harbour], actor="t", now=NOW)  # builds the rollups of the days
    ((rolled,),) = store.transport.query(f"SELECT count() FROM {store.db}.rollups")
    assert rolled > 0
    assert not harbour_visits & set(_versions(engine))
    assert not {h["visit_id"] for h in event_rows(engine, "hits", final=False)} & harbour_visits
    assert _masked(store) == {"visits": 0, "hits": 0}

    erase_time_range(engine, date(2026, 1, 10), date(2026, 1, 10), actor="t", now=NOW)
    assert date(2026, 1, 10) not in {v["day"] for v in event_rows(engine, "visits", final=False)}
    assert _masked(store) == {"visits": 0, "hits": 0}

    # Retention blanks the truncated IP of every version, not only of the latest.
    now = ts(FIRST_DAY + timedelta(days=10), 10)
    report = retention.run(engine, Policy(0, 0, 0, ip_prefix_days=3), now)
    assert report.counts["ip_prefixes"] > 0
    old = [v for v in event_rows(engine, "visits", final=False) if v["day"] < date(2026, 1, 8)]
    assert old
    assert all(v["ip_prefix"] is None for v in old)
    assert any(v["ip_prefix"] for v in event_rows(engine, "visits", final=False))

    # Removing the site takes its hits and visits from ClickHouse too (no foreign key does).
    with engine.begin() as conn:
        assert remove_site(conn, SITE)
    assert event_rows(engine, "visits", final=False) == []
    assert event_rows(engine, "hits", final=False) == []
    assert store.transport.query(f"SELECT count() FROM {store.db}.rollups") == [[0]]
