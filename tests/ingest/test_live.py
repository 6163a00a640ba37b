"""Live ingest: failed writes retry without losing or double-counting; bad hits go aside."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import Engine, func, select

from spoor.db.schema import hits, visits
from spoor.ingest import live as live_module
from spoor.ingest.live import LiveIngest, new_key
from spoor.ingest.rawhit import RawHit
from spoor.settings import Settings
from spoor.sites import add_site, configure_site

CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36"


def raw(site_id: int, path: str, title: str = "t") -> RawHit:
    ts = time.time()
    return RawHit(
        site_id, ts, "198.51.100.4", CHROME, f"https://www.example.com{path}", new_key(ts),
        host="www.example.com", title=title,
    )  # fmt: skip


def counts(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        n = conn.execute(select(func.count()).select_from(hits)).scalar_one()
        pageviews = conn.execute(select(func.sum(visits.c.pageviews))).scalar_one()
    return int(n), int(pageviews or 0)


@pytest.fixture
def site_id(engine: Engine) -> int:
    with engine.begin() as conn:
        return add_site(conn, "www.example.com", "UTC", 0).id


def test_a_failed_write_is_retried_without_loss_or_double_counting(
    engine: Engine, settings: Settings, site_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = live_module.store.write_batch
    failures = iter([True, False])

    def flaky(conn, batch):  # type: ignore[no-untyped-def]
        if next(failures, False):
            raise RuntimeError("database restarting")
        real(conn, batch)

    monkeypatch.setattr(live_module.store, "write_batch", flaky)
    live = LiveIngest(engine, settings, interval=0.05)
    assert live.accept([raw(site_id, "/a"), raw(site_id, "/b"), raw(site_id, "/c")])
    live.start()
    live.stop()
    assert counts(engine) == (3, 3)
    assert live.rejected == 0


def test_a_hit_the_store_refuses_goes_aside_and_the_rest_is_stored(
    engine: Engine, settings: Settings, site_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = live_module.store.write_batch

    def refuses_poison(conn, batch):  # type: ignore[no-untyped-def]
        if any("poison" in str(row) for row in batch.hits):
            raise RuntimeError("value refused")
        real(conn, batch)

    monkeypatch.setattr(live_module.store, "write_batch", refuses_poison)
    monkeypatch.setattr(live_module.time, "sleep", lambda _: None)
    live = LiveIngest(engine, settings, interval=0.05)
    live.accept([raw(site_id, "/a"), raw(site_id, "/b", title="poison"), raw(site_id, "/c")])
    live.start()
    live.stop()
    assert counts(engine)[0] == 2
    assert live.rejected == 1
    assert b"poison" in (settings.data_dir / "spool" / "rejected.jsonl").read_bytes()


def test_site_exclusions_apply_to_live_hits(
    engine: Engine, settings: Settings, site_id: int
) -> None:
    with engine.begin() as conn:
        configure_site(conn, "www.example.com", exclude_paths="^/admin")
    live = LiveIngest(engine, settings, interval=0.05)
    live.accept([raw(site_id, "/admin/users"), raw(site_id, "/pricing")])
    live.start()
    live.stop()
    assert counts(engine)[0] == 1
    assert live.dropped["excluded_path"] == 1


def test_a_restart_replays_a_backlog_larger_than_the_queue(
    engine: Engine, settings: Settings, site_id: int
) -> None:
    first = LiveIngest(engine, settings, max_queue=50)
    for n in range(4):
        assert first.accept([raw(site_id, f"/p{n}-{i}") for i in range(10)])
    # A crash: nothing was consumed. The next process replays all 40 from the spool.
    first._file.close()
    second = LiveIngest(engine, settings, max_queue=5, interval=0.05)
    assert second.start() == 40
    second.stop()
    assert counts(engine)[0] == 40


def test_stored_segments_are_deleted_while_traffic_goes_on(
    engine: Engine, settings: Settings, site_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live_module, "SEGMENT_SECONDS", 0.0)  # a new segment for each request
    live = LiveIngest(engine, settings, interval=0.02)
    live.start()
    for n in range(20):
        assert live.accept([raw(site_id, f"/p{n}")])
        time.sleep(0.03)
    deadline = time.monotonic() + 5
    while live.stored < 20 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.1)
    # The addresses in the spool are on disk only until stored: old segments are gone.
    assert len(list((settings.data_dir / "spool").glob("live-*.jsonl"))) <= 2
    live.stop()
    assert counts(engine)[0] == 20
