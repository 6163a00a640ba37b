"""Shared fixtures: settings, a migrated database per test (SQLite and PostgreSQL), data.

Every test that takes `engine` runs once on SQLite and once on PostgreSQL; the analytics
and leads tests also with hits and visits in ClickHouse (their conftest.py). PostgreSQL runs
when SPOOR_TEST_POSTGRES_URL points at a server whose user may create databases; CI sets
SPOOR_REQUIRE_POSTGRES=1 so a missing server fails instead of skipping.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from spoor.db.engine import make_engine, upgrade
from spoor.settings import Settings, parse_networks

# The tracked world of the web app's tests (sites, users, visits): a fixture module.
pytest_plugins = ["tests.world"]

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SPOOR_SHARED_DATA", ROOT.parent / "shared" / "data"))
PG_URL = os.environ.get("SPOOR_TEST_POSTGRES_URL", "")
REQUIRE_PG = os.environ.get("SPOOR_REQUIRE_POSTGRES") == "1"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real logs, IP data and bot lists in ../shared/data (mandatory in CI)."""
    if not SHARED.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"shared data missing at {SHARED} (set SPOOR_SHARED_DATA)")
        pytest.skip(f"shared data not found at {SHARED}; set SPOOR_SHARED_DATA")
    return SHARED


@pytest.fixture(scope="session")
def chdb_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """chdb opens one directory per process: every test's store is a database in it."""
    try:
        import chdb  # noqa: F401
    except ImportError:
        if os.environ.get("SPOOR_REQUIRE_CLICKHOUSE") == "1":
            pytest.fail("SPOOR_REQUIRE_CLICKHOUSE=1 but chdb is not installed")
        pytest.skip("chdb not installed (pip install chdb)")
    return tmp_path_factory.mktemp("chdb")


def database(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database of `kind`: sqlite, postgresql, or clickhouse (SQLite for accounts
    and the rest, hits and visits in a ClickHouse store of its own, in chdb)."""
    if kind == "clickhouse":
        from spoor import events
        from spoor.events.clickhouse import ClickHouseEventStore

        url = f"sqlite:///{tmp_path / 'spoor.db'}"
        store = ClickHouseEventStore.scratch(request.getfixturevalue("chdb_path"))
        events.register(url, store)
        try:
            yield url
            # Proof that the test went through ClickHouse: the SQL event tables stay empty.
            with create_engine(url).connect() as conn:
                tables = set(conn.execute(text("SELECT name FROM sqlite_master")).scalars())
                for table in ("hits", "visits", "rollup_days") if "hits" in tables else ():
                    assert not conn.execute(text(f"SELECT count(*) FROM {table}")).scalar()
        finally:
            events.unregister(url)
            store.drop()
        return
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'spoor.db'}"
        return
    if not PG_URL:
        if REQUIRE_PG:
            pytest.fail("SPOOR_REQUIRE_POSTGRES=1 but SPOOR_TEST_POSTGRES_URL is not set")
        pytest.skip("PostgreSQL not configured (SPOOR_TEST_POSTGRES_URL)")
    yield from scratch_postgres("spoor_t_")


def scratch_postgres(prefix: str) -> Iterator[str]:
    """A new, empty database on the test PostgreSQL server, dropped afterwards."""
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = f"{prefix}{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# Tests receive webhooks on loopback; Spoor refuses those unless an admin allows them.
LOOPBACK = parse_networks("127.0.0.0/8,::1")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from database(request.param, request, tmp_path)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=database_url, webhook_allow=LOOPBACK)


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    engine = make_engine(settings.sqlalchemy_url)
    upgrade(engine)
    yield engine
    engine.dispose()
