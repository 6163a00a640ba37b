"""Stage one in worker processes gives exactly what it gives in the importing process."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from spoor.db.schema import hits, sites, visits
from spoor.ingest import logimport
from spoor.ingest.logimport import import_logs
from spoor.ingest.logworker import blocks, run_in_processes
from spoor.settings import Settings

ELASTIC = "logs/real/apache-combined-2015-elastic.log"


def stored(
    engine: Engine, domain: str
) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    with engine.connect() as conn:
        site_id = conn.execute(select(sites.c.id).where(sites.c.domain == domain)).scalar_one()
        hit_rows = conn.execute(
            select(hits.c.key, hits.c.ts, hits.c.kind, hits.c.path).where(hits.c.site_id == site_id)
        ).all()
        v = visits.c
        visit_rows = conn.execute(
            select(v.started, v.ended, v.pageviews, v.events, v.entry_path, v.exit_path, v.channel)
            .where(v.site_id == site_id)
        ).all()  # fmt: skip
    return sorted(map(tuple, hit_rows)), sorted(map(tuple, visit_rows))


def with_workers(settings: Settings, workers: int, batch: int = 5000) -> Settings:
    return Settings(
        data_dir=settings.data_dir,
        database_url=settings.database_url,
        import_workers=workers,
        import_batch=batch,
    )


def test_parallel_and_in_process_imports_store_the_same(
    engine: Engine, settings: Settings, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logimport, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(logimport, "BLOCK_BYTES", 100_000)  # many blocks in flight
    used: list[int] = []

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        used.append(args[4])
        return run_in_processes(*args, **kwargs)

    monkeypatch.setattr(logimport, "run_in_processes", spy)
    path = str(shared_data / ELASTIC)
    here = import_logs(engine, with_workers(settings, 1), [path], site="here.example")
    assert used == []
    there = import_logs(engine, with_workers(settings, 2), [path], site="there.example")
    assert used == [2]
    assert there.as_json()["dropped"] == here.as_json()["dropped"]
    for key in ("lines", "hits", "malformed", "visits", "visitors", "first", "last"):
        assert there.as_json()[key] == here.as_json()[key], key
    assert stored(engine, "there.example") == stored(engine, "here.example")


def test_parallel_import_resumes(
    engine: Engine, settings: Settings, shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logimport, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(logimport, "BLOCK_BYTES", 60_000)
    path = str(shared_data / ELASTIC)
    calls = 0

    def interrupt(*_: object) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise KeyboardInterrupt

    parallel = with_workers(settings, 2, batch=200)
    with pytest.raises(KeyboardInterrupt):
        import_logs(engine, parallel, [path], site="a.example", progress=interrupt)
    resumed = import_logs(engine, parallel, [path], site="a.example")
    assert 0 < resumed.skipped < 10_000
    whole = import_logs(engine, with_workers(settings, 1), [path], site="b.example")
    assert stored(engine, "a.example")[0] == stored(engine, "b.example")[0]
    assert resumed.lines == whole.lines == 10_000


def test_blocks_hold_whole_lines_numbered_from_one() -> None:
    import io

    text = b"".join(f"line {n}\n".encode() for n in range(1, 101)) + b"last without newline"
    head = [b"line 1\n", b"line 2\n"]
    stream = io.BytesIO(text[len(b"".join(head)) :])
    found = list(blocks(head, stream, size=64))
    assert b"".join(block for _, block, _ in found) == text
    assert all(block.endswith(b"\n") for _, block, _ in found[:-1])
    assert sum(count for _, _, count in found) == 101
    for first, block, count in found:
        assert block.startswith(f"line {first}".encode()) or first == 101
        assert len(block.rstrip(b"\n").split(b"\n")) == count
