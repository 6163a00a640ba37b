"""Backup and restore: taken while hits arrive, a backup restores every hit acknowledged
before it began into a database that passes the doctor; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import stat
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from spoor.cli import app
from spoor.db.engine import make_engine
from spoor.db.schema import hits
from spoor.ingest.rawhit import RawHit
from spoor.ingest.spool import SpoolWriter, encode, new_key
from spoor.ops import doctor
from spoor.ops.backup import BackupError, backup, find_pg_tool, restore
from spoor.settings import Settings
from spoor.sites import get_site
from tests.world import CHROME, SITE, World, settle, track

runner = CliRunner()
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def stored_paths(url: str) -> list[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return sorted(conn.execute(select(hits.c.path)).scalars())
    finally:
        engine.dispose()


def env_for(settings: Settings) -> dict[str, str]:
    return {"SPOOR_DATA_DIR": str(settings.data_dir), "SPOOR_DATABASE_URL": settings.database_url}


def test_a_backup_during_live_ingestion_restores_every_acknowledged_hit(
    world: World, tmp_path: Path, target_url: str
) -> None:
    acknowledged: list[tuple[float, str]] = []  # (when the 202 came back, path)
    stop = threading.Event()
    with world.client() as client:

        def visitors() -> None:
            for n in range(20_000):  # bounded: stops by itself
                if stop.is_set():
                    return
                track(client, f"198.51.100.{n % 200 + 1}", f"/live/{n}")
                acknowledged.append((time.monotonic(), f"/live/{n}"))

        sender = threading.Thread(target=visitors)
        sender.start()
        try:
            # Some hits stored, the latest still in the spool: the backup needs both.
            while len(acknowledged) < 300 or not stored_paths(world.settings.sqlalchemy_url):
                time.sleep(0.05)
            began = time.monotonic()
            result = backup(world.settings, tmp_path / "during.tar", now=NOW)
            ended = time.monotonic()
            while sum(t > ended for t, _ in acknowledged) < 50:  # traffic went on
                time.sleep(0.01)
        finally:
            stop.set()
            sender.join()
        settle(client)
    before = {path for t, path in acknowledged if t < began}
    assert len(before) >= 300
    assert stat.S_IMODE(os.stat(result.path).st_mode) == 0o600

    restored = Settings(data_dir=tmp_path / "restored", database_url=target_url)
    outcome = restore(restored, Path(result.path))
    paths = set(stored_paths(restored.sqlalchemy_url))
    assert before <= paths, f"{len(before - paths)} acknowledged hits missing"
    assert outcome.hits == len(paths)
    assert 0 < outcome.replayed < outcome.hits
    # Hits after the backup began may or may not be in it; nothing is stored twice.
    assert paths <= {path for _, path in acknowledged}

    checks = doctor.examine(env_for(restored))
    assert not doctor.failed(checks), [c for c in checks if c.status == "fail"]
    assert (restored.data_dir / "secret_key").read_text() == (
        world.settings.data_dir / "secret_key"
    ).read_text()


def test_hits_still_in_the_spool_are_stored_by_the_restore(
    world: World, tmp_path: Path, target_url: str
) -> None:
    # A server killed before its consumer stored anything: the spool alone holds the hits.
    with world.engine.connect() as conn:
        site = get_site(conn, SITE)
    assert site is not None
    writer = SpoolWriter(world.settings.data_dir / "spool")
    for n in range(25):
        ts = time.time()
        hit = RawHit(
            site.id, ts, "198.51.100.7", CHROME, f"https://{SITE}/spooled/{n}", new_key(ts)
        )
        writer.append(encode(hit))
    writer.append(b'[1,"a line cut by a crash')  # never acknowledged: not restored
    writer.close()

    result = backup(world.settings, tmp_path, now=NOW)
    assert Path(result.path).name == "spoor-backup-20260301T120000Z.tar"
    assert result.spool_lines == 25

    restored = Settings(data_dir=tmp_path / "restored", database_url=target_url)
    outcome = restore(restored, Path(result.path))
    assert outcome.replayed == 25
    assert sorted(f"/spooled/{n}" for n in range(25)) == stored_paths(restored.sqlalchemy_url)
    assert not doctor.failed(doctor.examine(env_for(restored)))


def test_restore_refuses_a_target_with_data_unless_forced(
    visited: World, tmp_path: Path, target_url: str
) -> None:
    source = env_for(visited.settings)
    made = runner.invoke(app, ["backup", str(tmp_path / "b.tar"), "--json"], env=source)
    assert made.exit_code == 0, made.output
    assert json.loads(made.stdout)["path"] == str(tmp_path / "b.tar")
    again = runner.invoke(app, ["backup", str(tmp_path / "b.tar")], env=source)
    assert again.exit_code == 2
    assert "exists" in again.output

    # Into the very database it came from: it holds data.
    refused = runner.invoke(app, ["restore", str(tmp_path / "b.tar")], env=source)
    assert refused.exit_code == 2
    assert "--force" in refused.output

    target = {"SPOOR_DATA_DIR": str(tmp_path / "restored"), "SPOOR_DATABASE_URL": target_url}
    assert runner.invoke(app, ["db", "upgrade"], env=target).exit_code == 0  # empty schema
    first = runner.invoke(app, ["restore", str(tmp_path / "b.tar"), "--json"], env=target)
    assert first.exit_code == 0, first.output
    expected = stored_paths(visited.settings.sqlalchemy_url)
    assert json.loads(first.stdout)["hits"] == len(expected) > 0
    assert runner.invoke(app, ["restore", str(tmp_path / "b.tar")], env=target).exit_code == 2
    forced = runner.invoke(app, ["restore", str(tmp_path / "b.tar"), "--force"], env=target)
    assert forced.exit_code == 0, forced.output
    assert stored_paths(target_url) == expected
    assert runner.invoke(app, ["doctor"], env=target).exit_code == 0


def test_a_running_server_and_a_damaged_or_foreign_file_are_refused(
    world: World, tmp_path: Path
) -> None:
    with world.client():
        result = backup(world.settings, tmp_path / "b.tar", now=NOW)
        deadline = time.monotonic() + 30
        while not doctor.server_running(world.settings.data_dir / "spool"):  # spawned yet?
            assert time.monotonic() < deadline
            time.sleep(0.05)
        with pytest.raises(BackupError, match="running on this data directory"):
            restore(world.settings, Path(result.path), force=True)
    not_ours = tmp_path / "other.tar"
    not_ours.write_bytes(b"\0" * 10240)  # an empty tar: no manifest
    with pytest.raises(BackupError, match="not a Spoor backup"):
        restore(world.settings, not_ours, force=True)


def test_pg_dump_missing_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr("spoor.ops.backup.PG_BIN_GLOB", str(tmp_path / "none" / "*"))
    with pytest.raises(BackupError, match="apt-get install postgresql-client"):
        find_pg_tool("pg_dump")


def test_the_engine_fixture_is_untouched_by_a_backup(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """A backup only reads: the source still works and says nothing is pending."""
    backup(settings, tmp_path / "b.tar", now=NOW)
    checks = {c.name: c for c in doctor.examine(env_for(settings))}
    assert checks["migrations"].status == "ok"
    assert checks["spool"].status == "ok"
