"""Live ingest: the spool, the consumer (retries, bad hits aside) and its process (shutdown
and restart lose nothing acknowledged and store nothing twice)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from spoor.db.schema import hits, visits
from spoor.ingest import consumer as consumer_module
from spoor.ingest import spool as spool_module
from spoor.ingest.consumer import Consumer
from spoor.ingest.live import LiveIngest
from spoor.ingest.rawhit import RawHit
from spoor.ingest.spool import SpoolReader, SpoolWriter, encode, new_key, segment_path
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


def spooled(settings: Settings, *batches: list[RawHit]) -> SpoolWriter:
    """A writer that has appended `batches`, as the web server does, and closed."""
    writer = SpoolWriter(settings.data_dir / "spool")
    for batch in batches:
        writer.append(b"".join(encode(hit) for hit in batch))
    writer.close()
    return writer


def consume(engine: Engine, settings: Settings) -> Consumer:
    """Store what the spool holds, here in the test's process, and return."""
    consumer = Consumer(engine, settings, interval=0.05)
    consumer.run(lambda: True)
    return consumer


def wait_for(condition: object, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:  # type: ignore[operator]
        time.sleep(0.05)


@pytest.fixture
def site_id(engine: Engine) -> int:
    with engine.begin() as conn:
        return add_site(conn, "www.example.com", "UTC", 0).id


# --- the consumer ------------------------------------------------------------------------


def test_a_failed_write_is_retried_without_loss_or_double_counting(
    engine: Engine, settings: Settings, site_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = consumer_module.store.write_batch
    failures = iter([True, False])

    def flaky(conn, batch):  # type: ignore[no-untyped-def]
        if next(failures, False):
            raise RuntimeError("database restarting")
        real(conn, batch)

    monkeypatch.setattr(consumer_module.store, "write_batch", flaky)
    spooled(settings, [raw(site_id, "/a"), raw(site_id, "/b"), raw(site_id, "/c")])
    consumer = consume(engine, settings)
    assert counts(engine) == (3, 3)
    assert consumer.rejected == 0


def test_a_hit_the_store_refuses_goes_aside_and_the_rest_is_stored(
    engine: Engine, settings: Settings, site_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = consumer_module.store.write_batch

    def refuses_poison(conn, batch):  # type: ignore[no-untyped-def]
        if any("poison" in str(row) for row in batch.hits):
            raise RuntimeError("value refused")
        real(conn, batch)

    monkeypatch.setattr(consumer_module.store, "write_batch", refuses_poison)
    monkeypatch.setattr(consumer_module.time, "sleep", lambda _: None)
    spooled(settings, [raw(site_id, "/a"), raw(site_id, "/b", title="poison"), raw(site_id, "/c")])
    consumer = consume(engine, settings)
    assert counts(engine)[0] == 2
    assert consumer.rejected == 1
    assert b"poison" in (settings.data_dir / "spool" / "rejected.jsonl").read_bytes()


def test_site_exclusions_apply_to_live_hits(
    engine: Engine, settings: Settings, site_id: int
) -> None:
    with engine.begin() as conn:
        configure_site(conn, "www.example.com", exclude_paths="^/admin")
    spooled(settings, [raw(site_id, "/admin/users"), raw(site_id, "/pricing")])
    consumer = consume(engine, settings)
    assert counts(engine)[0] == 1
    assert consumer.dropped["excluded_path"] == 1


def test_a_second_run_stores_nothing_twice(
    engine: Engine, settings: Settings, site_id: int
) -> None:
    spooled(settings, [raw(site_id, f"/p{n}") for n in range(5)])
    consume(engine, settings)
    spooled(settings, [raw(site_id, "/later")])
    assert consume(engine, settings).stored == 1
    assert counts(engine) == (6, 6)
    # Only the newest segment may stay, wholly stored.
    assert len(list((settings.data_dir / "spool").glob("live-*.jsonl"))) == 1


# --- the spool ---------------------------------------------------------------------------


def test_the_reader_waits_for_a_line_being_written_and_skips_one_cut_by_a_crash(
    tmp_path: Path,
) -> None:
    one, two = encode(raw(1, "/one")), encode(raw(1, "/two"))
    segment_path(tmp_path, 1).write_bytes(one + two[:10])
    reader = SpoolReader(tmp_path, (0, 0))
    first = reader.read(10)
    assert [hit.url for hit, _ in first.hits] == ["https://www.example.com/one"]
    assert (first.unreadable, first.cut) == (0, 0)  # the writer may still end the line
    with segment_path(tmp_path, 1).open("ab") as segment:
        segment.write(two[10:] + b"not json\n" + two[:20])  # then a crash, mid-line
    segment_path(tmp_path, 2).write_bytes(one)  # the next server's segment
    rest = reader.read(10)
    assert [hit.url for hit, _ in rest.hits] == [
        "https://www.example.com/two",
        "https://www.example.com/one",
    ]
    assert (rest.unreadable, rest.cut) == (1, 1)
    assert reader.position == (2, len(one))
    reader.close()


def test_a_line_cut_by_a_failed_append_is_ended_and_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = SpoolWriter(tmp_path)
    writer.append(encode(raw(1, "/kept")))
    real_write = os.write

    calls = iter([7])

    def disk_full(fd: int, data: bytes) -> int:
        """As the OS does: part of a write, then an error."""
        part = next(calls, 0)
        if not part:
            raise OSError(28, "No space left on device")
        return real_write(fd, bytes(data[:part]))

    monkeypatch.setattr(spool_module.os, "write", disk_full)
    with pytest.raises(OSError, match="No space"):
        writer.append(encode(raw(1, "/lost")))
    monkeypatch.undo()
    writer.append(encode(raw(1, "/after")))
    writer.close()
    read = SpoolReader(tmp_path, (0, 0)).read(10)
    assert [hit.url.rsplit("/", 1)[1] for hit, _ in read.hits] == ["kept", "after"]
    assert read.unreadable == 1  # the start of /lost, never acknowledged


# --- the consumer's process --------------------------------------------------------------


def test_shutdown_stores_every_hit_accepted(
    engine: Engine, settings: Settings, site_id: int
) -> None:
    live = LiveIngest(settings, interval=0.05)
    live.start()
    for n in range(20):
        assert live.accept([raw(site_id, f"/p{n}-{i}") for i in range(50)])
    live.stop()  # at once: most are not stored yet
    assert counts(engine)[0] == 1000
    assert (live.pending(), live.stored, live.error) == (0, 1000, None)


def test_a_restart_replays_the_backlog_of_a_crash(
    engine: Engine, settings: Settings, site_id: int
) -> None:
    # A server killed before its consumer stored anything: the spool holds the hits.
    spooled(settings, *([raw(site_id, f"/p{n}-{i}") for i in range(10)] for n in range(4)))
    live = LiveIngest(settings, interval=0.05)
    live.start()
    wait_for(lambda: live.progress.backlog == 40)
    assert live.accept([raw(site_id, "/new")])
    live.stop()
    assert live.progress.backlog == 40
    assert counts(engine)[0] == 41
    assert live.pending() == 0


def test_a_killed_consumer_loses_nothing_and_stores_nothing_twice(
    engine: Engine, settings: Settings, site_id: int
) -> None:
    live = LiveIngest(settings, interval=0.05)
    live.start()
    assert live.accept([raw(site_id, f"/a{i}") for i in range(30)])
    wait_for(lambda: live.stored == 30)
    assert live.accept([raw(site_id, f"/b{i}") for i in range(30)])
    os.kill(live._process.pid, signal.SIGKILL)  # type: ignore[arg-type]
    wait_for(lambda: not live._process.is_alive())
    assert not live.alive()  # /healthz says so
    live.stop()
    again = LiveIngest(settings, interval=0.05)
    again.start()
    again.stop()
    with engine.connect() as conn:
        paths = conn.execute(select(hits.c.path)).scalars().all()
    assert sorted(paths) == sorted([f"/a{i}" for i in range(30)] + [f"/b{i}" for i in range(30)])


def test_too_many_pending_hits_are_refused(
    engine: Engine, settings: Settings, site_id: int
) -> None:
    live = LiveIngest(settings, max_pending=25)  # not started: nothing is stored
    assert live.accept([raw(site_id, f"/p{i}") for i in range(20)])
    assert not live.accept([raw(site_id, f"/q{i}") for i in range(10)])
    assert live.pending() == 20
    live.start()
    live.stop()
    assert counts(engine)[0] == 20


def test_stored_segments_are_deleted_while_traffic_goes_on(
    engine: Engine, settings: Settings, site_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(spool_module, "SEGMENT_SECONDS", 0.0)  # a new segment each request
    live = LiveIngest(settings, interval=0.02)
    live.start()
    for n in range(20):
        assert live.accept([raw(site_id, f"/p{n}")])
        time.sleep(0.03)
    wait_for(lambda: live.stored == 20)
    time.sleep(0.1)
    # The addresses in the spool are on disk only until stored: old segments are gone.
    assert len(list((settings.data_dir / "spool").glob("live-*.jsonl"))) <= 2
    live.stop()
    assert counts(engine)[0] == 20


SERVER_THAT_DIES = """
import sys, time
from pathlib import Path
from spoor.ingest.live import LiveIngest
from spoor.ingest.rawhit import RawHit
from spoor.ingest.spool import new_key
from spoor.settings import Settings

live = LiveIngest(Settings(data_dir=Path(sys.argv[1]), database_url=sys.argv[2]))
live.start()
hits = [
    RawHit(int(sys.argv[3]), time.time(), "198.51.100.4", sys.argv[4],
           f"https://www.example.com/{n}", new_key(time.time()), host="www.example.com")
    for n in range(100)
]
assert live.accept(hits)
raise RuntimeError("a bug: no shutdown")
"""


def test_a_server_that_dies_of_a_bug_still_exits_and_stores_what_it_accepted(
    engine: Engine, settings: Settings, site_id: int
) -> None:
    args = [str(settings.data_dir), settings.database_url, str(site_id), CHROME]
    # The timeout only guards against a hang: an exit must not wait for a consumer forever.
    died = subprocess.run(
        [sys.executable, "-c", SERVER_THAT_DIES, *args], capture_output=True, timeout=120
    )
    assert b"a bug: no shutdown" in died.stderr
    assert counts(engine)[0] == 100
