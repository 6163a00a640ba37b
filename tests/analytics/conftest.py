"""These tests also run with the ClickHouse event store (hits and visits in chdb)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import database


@pytest.fixture(params=["sqlite", "postgresql", "clickhouse"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from database(request.param, request, tmp_path)
