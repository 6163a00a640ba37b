"""ClickHouse's daily rollups: built from the merged rows of closed days and read only while
no write came after, so every report equals the SQL store's on the same rows, whatever was
written (a visit stored again as it grows), erased, or built meanwhile."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine

from spoor import events
from spoor.analytics.query import Period
from spoor.db.engine import make_engine, upgrade
from spoor.events.base import EventStore, Visits
from spoor.events.clickhouse import ClickHouseEventStore
from spoor.events.sql import SqlEventStore
from spoor.ingest.rollups import DIMENSION_COLUMNS
from spoor.ingest.store import Batch
from spoor.sites import Site, add_site
from tests.conftest import database

CLOSED = date(2026, 1, 5)
TODAY = date.today()


@pytest.fixture(params=["clickhouse"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from database(request.param, request, tmp_path)


def _visit(vid: int, day: date, views: int, exit_path: str, country: str | None) -> tuple[Any, ...]:
    """A visit's row; visit 1 is of organization 77."""
    start = int(time.mktime(day.timetuple())) + 3600 * 10 + vid
    # fmt: off
    return (
        vid, 1, 1000 + vid % 3, day.isoformat(), start, start + 40 * (views - 1), views, 0,
        "/", exit_path, None, "search", "google", None, None, None, None, None, "Chrome",
        "Windows", "desktop", country, None, 77 if vid == 1 else None,
    )
    # fmt: on


def _hits(vid: int, day: date, paths: list[str]) -> list[tuple[Any, ...]]:
    start = int(time.mktime(day.timetuple())) + 3600 * 10 + vid
    return [(1, bytes([vid, n]) * 8, vid, start + 40 * n, 1, p, None, None, None)
            for n, p in enumerate(paths)]  # fmt: skip


def _reports(store: EventStore, conn: Connection) -> dict[str, Any]:
    site = Site(1, "www.example.com", "x", "UTC")
    out: dict[str, Any] = {}
    for period in (Period(None, None), Period(CLOSED, CLOSED), Period(CLOSED, TODAY)):
        out[f"totals {period}"] = store.totals(conn, site, period)
        out[f"daily {period}"] = store.daily(conn, site, period)
        out[f"pages {period}"] = store.top_pages(conn, site, period, 50)
        for dimension in DIMENSION_COLUMNS:
            out[f"{dimension} {period}"] = store.top(conn, site, period, dimension, 50)
    return out


def test_rollups_follow_every_write(engine: Engine, tmp_path: Path) -> None:
    sql_engine = make_engine(f"sqlite:///{tmp_path / 'sql.db'}")
    upgrade(sql_engine)
    sql = SqlEventStore()
    for each in (engine, sql_engine):
        with each.begin() as conn:
            add_site(conn, "www.example.com", "UTC", 0)
    with engine.connect() as conn:
        ch = events.store_of(conn)
    assert isinstance(ch, ClickHouseEventStore)

    def write(batch: Batch) -> None:
        with engine.begin() as conn:
            ch.write(conn, batch)
        with sql_engine.begin() as conn:
            sql.write(conn, batch)

    def same() -> dict[str, Any]:
        with engine.connect() as a, sql_engine.connect() as b:
            found, expected = _reports(ch, a), _reports(sql, b)
        assert found == expected
        return found

    def built() -> set[date]:
        rows = ch.transport.query(f"SELECT DISTINCT day FROM {ch.db}.rollups")
        return {date.fromisoformat(r[0]) for r in rows}

    # A bounce on a closed day, a visit today (an open day: always read raw).
    write(Batch(hits=_hits(1, CLOSED, ["/"]) + _hits(2, TODAY, ["/", "/a"]),
                visits=[_visit(1, CLOSED, 1, "/", None), _visit(2, TODAY, 2, "/a", "NL")]))  # fmt: skip
    first = same()
    assert first[f"totals {Period(CLOSED, CLOSED)}"] == (1, 1, 1, 1, 0)
    assert built() == {CLOSED}  # reports built the closed day's rollups, not today's

    # The rollups are what is read: a change to them shows...
    ch.transport.query(f"ALTER TABLE {ch.db}.rollups UPDATE visits = 99 WHERE dimension = '' "
                       "SETTINGS mutations_sync = 2")  # fmt: skip
    with engine.connect() as conn:
        site = Site(1, "www.example.com", "x", "UTC")
        assert ch.totals(conn, site, Period(CLOSED, CLOSED))[0] == 99
    # ...until a write to the day: the visit grows (stored again, a new version with other
    # exit page and country), a second visit comes; the day is read raw, then built again.
    write(Batch(hits=_hits(1, CLOSED, ["/", "/b", "/c"])[1:] + _hits(3, CLOSED, ["/b"]),
                visits=[_visit(1, CLOSED, 3, "/c", "DE"), _visit(3, CLOSED, 1, "/b", "DE")]))  # fmt: skip
    grown = same()
    assert grown[f"totals {Period(CLOSED, CLOSED)}"] == (2, 2, 4, 1, 80)
    assert grown[f"exit_page {Period(CLOSED, CLOSED)}"] == [("/b", 1), ("/c", 1)]

    # Erasing the grown visit (every version of it): the day is built once more.
    with engine.begin() as conn:
        assert ch.erase_visits(conn, Visits(org_ids=(77,))).visits == 1
    with sql_engine.begin() as conn:
        assert sql.erase_visits(conn, Visits(org_ids=(77,))).visits == 1
        sql.rebuild_rollups(conn, [1], (CLOSED, CLOSED))
    erased = same()
    assert erased[f"totals {Period(CLOSED, CLOSED)}"] == (1, 1, 1, 1, 0)
    # Only the latest build of a day is kept.
    ((builds,),) = ch.transport.query(f"SELECT uniqExact(generation) FROM {ch.db}.rollups")
    assert builds == 1
