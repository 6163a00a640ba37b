"""With hits and visits in ClickHouse, which erasure, retention and export do not reach
yet, they refuse with a clear reason instead of reporting a job half done."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine

from spoor.privacy import retention
from spoor.privacy.erasure import erase_ip_range, erase_orgs, erase_time_range
from spoor.privacy.export import export_org
from spoor.privacy.scope import UnsupportedStore
from spoor.settings import Settings
from tests.conftest import database


@pytest.fixture(params=["clickhouse"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from database(request.param, request, tmp_path)


def test_privacy_operations_refuse_the_clickhouse_store(engine: Engine, settings: Settings) -> None:
    now = 1_790_000_000.0
    attempts = [
        lambda: erase_orgs(engine, [1], actor="t", now=now),
        lambda: erase_ip_range(engine, "198.51.100.0/24", actor="t", now=now),
        lambda: erase_time_range(engine, date(2026, 1, 1), date(2026, 1, 2), actor="t", now=now),
        lambda: retention.run(engine, retention.Policy.of(settings), now),
    ]
    for attempt in attempts:
        with pytest.raises(UnsupportedStore, match="ClickHouse event store"):
            attempt()
    with engine.connect() as conn, pytest.raises(UnsupportedStore):
        export_org(conn, 1, now)
    # The scheduled job says so once a day instead of failing every minute.
    schedule = retention.Schedule(first_after=0)
    assert schedule.tick(engine, settings, now) is None
    assert schedule.tick(engine, settings, now) is None
