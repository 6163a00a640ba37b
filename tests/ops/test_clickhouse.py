"""Operations with the ClickHouse event store. Inside Spoor (chdb), a backup holds hits and
visits and a restore puts them back; with a ClickHouse server, the backup says that they are
not in it. The doctor checks that ClickHouse answers and has Spoor's tables."""

from __future__ import annotations

import json
import tarfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from spoor import events
from spoor.cli import app
from spoor.db.engine import make_engine, upgrade
from spoor.db.schema import organizations
from spoor.events.clickhouse import ClickHouseEventStore
from spoor.ops import doctor
from spoor.ops.backup import BackupError, _no_server, backup, restore
from spoor.settings import Settings
from tests.conftest import database
from tests.privacy.data import event_rows, record

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["clickhouse"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from database(request.param, request, tmp_path)


@pytest.fixture
def restored(tmp_path: Path, chdb_path: Path) -> Iterator[Settings]:
    """An empty target: a new SQLite file and its own ClickHouse store."""
    url = f"sqlite:///{tmp_path / 'restored' / 'spoor.db'}"
    store = ClickHouseEventStore.scratch(chdb_path)
    events.register(url, store)
    try:
        yield Settings(data_dir=tmp_path / "restored", database_url=url)
    finally:
        events.unregister(url)
        store.drop()


def _events(engine: Engine) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    visits = sorted(event_rows(engine, "visits"), key=lambda v: str(v["id"]))
    hits = sorted(event_rows(engine, "hits"), key=lambda h: str(h["key"]))
    return visits, hits


def _orgs(engine: Engine) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(organizations).order_by(organizations.c.id))]


def test_a_backup_holds_clickhouse_hits_and_visits(
    engine: Engine, settings: Settings, tmp_path: Path, restored: Settings
) -> None:
    record(engine, settings, tmp_path)
    visits, hits = _events(engine)
    assert visits
    assert hits

    result = backup(settings, tmp_path / "backup.tar", now=NOW)
    assert (result.events, result.note) == ("chdb", "")
    with tarfile.open(result.path) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
    assert manifest["events"] == {"store": "chdb",
                                  "rows": {"visits": len(visits), "hits": len(hits)}}  # fmt: skip
    assert {"clickhouse/visits.native", "clickhouse/hits.native"} <= set(manifest["files"])

    outcome = restore(restored, Path(result.path))
    assert outcome.hits == len(hits)
    target = make_engine(restored.sqlalchemy_url)
    try:
        assert _events(target) == (visits, hits)  # every column, the visits' versions too
        assert _orgs(target) == _orgs(engine)
        # A second restore needs --force, and then replaces what is there.
        with pytest.raises(BackupError, match="already holds data"):
            restore(restored, Path(result.path))
        restore(restored, Path(result.path), force=True)
        assert _events(target) == (visits, hits)
    finally:
        target.dispose()

    # Into a target whose events live elsewhere, it would restore nothing visible.
    sql_only = Settings(data_dir=tmp_path / "sql", database_url=f"sqlite:///{tmp_path / 'sql.db'}")
    with pytest.raises(BackupError, match="restore with the same event store"):
        restore(sql_only, Path(result.path))

    # chdb's files belong to the server's process while it runs (it holds this lock).
    with _no_server(settings.data_dir / "spool"), pytest.raises(BackupError, match="stop it"):
        backup(settings, tmp_path / "again.tar", now=NOW)


def test_with_a_clickhouse_server_the_backup_says_what_it_lacks(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'spoor.db'}"
    upgrade(make_engine(url))
    server = "http://127.0.0.1:9/"  # never reached: the backup does not contact it
    settings = Settings(data_dir=tmp_path / "data", database_url=url, event_store="clickhouse",
                        clickhouse_url=server)  # fmt: skip
    result = backup(settings, tmp_path / "one.tar", now=NOW)
    assert result.events == "server"
    assert "not in this backup" in result.note
    env = {"SPOOR_DATA_DIR": str(settings.data_dir), "SPOOR_DATABASE_URL": url,
           "SPOOR_EVENT_STORE": "clickhouse", "SPOOR_CLICKHOUSE_URL": server}  # fmt: skip
    said = CliRunner().invoke(app, ["backup", str(tmp_path / "two.tar")], env=env)
    assert said.exit_code == 0, said.output
    assert "Not backed up: hits and visits are on the ClickHouse server" in said.output


def _store(engine: Engine) -> ClickHouseEventStore:
    with engine.connect() as conn:
        store = events.store_of(conn)
    assert isinstance(store, ClickHouseEventStore)
    return store


def store_db(engine: Engine) -> str:
    return _store(engine).db


def test_the_doctor_checks_clickhouse(engine: Engine, settings: Settings, tmp_path: Path) -> None:
    env = {"SPOOR_DATA_DIR": str(settings.data_dir), "SPOOR_DATABASE_URL": settings.database_url,
           "SPOOR_EVENT_STORE": "clickhouse"}  # fmt: skip

    def check() -> doctor.Check:
        return {c.name: c for c in doctor.examine(env)}["event store"]

    found = check()
    assert found.status == "ok", found
    assert found.message.endswith(f"{store_db(engine)}.visits are there")
    store = _store(engine)
    store.transport.query(f"DROP TABLE {store.db}.hits")
    found = check()
    assert (found.status, found.message[-10:]) == ("fail", "lacks hits"), found
    assert "spoor serve" in found.fix

    # A server that does not answer (a database of its own: this one's store is chdb).
    url = f"sqlite:///{tmp_path / 'other.db'}"
    upgrade(make_engine(url))
    away = doctor.examine({**env, "SPOOR_DATABASE_URL": url,
                           "SPOOR_CLICKHOUSE_URL": "http://127.0.0.1:9/"})  # fmt: skip
    found = {c.name: c for c in away}["event store"]
    assert found.status == "fail"
    assert "the ClickHouse server at 127.0.0.1:9 does not answer" in found.message
    assert "SPOOR_CLICKHOUSE_URL" in found.fix
    assert doctor.failed(away)
