"""A second, empty database to restore into: a file beside the test's, or a fresh
PostgreSQL database on the same server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import scratch_postgres


@pytest.fixture
def target_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'restored' / 'spoor.db'}"
        return
    yield from scratch_postgres("spoor_r_")
