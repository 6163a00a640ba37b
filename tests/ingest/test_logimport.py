"""Log import end to end, on SQLite and PostgreSQL, with the real logs in shared/data."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from spoor.db.schema import hits, imports, sites, visits
from spoor.ingest.logfiles import InputError
from spoor.ingest.logformats import UnknownFormat
from spoor.ingest.logimport import import_logs
from spoor.settings import Settings

from .interrupt import import_interrupted

ELASTIC = "logs/real/apache-combined-2015-elastic.log"


def count(engine: Engine, table) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_elastic_log_imports_and_reimport_adds_nothing(
    engine: Engine, settings: Settings, shared_data: Path
) -> None:
    path = str(shared_data / ELASTIC)
    first = import_logs(engine, settings, [path], site="www.elastic.example")
    assert first.lines == 10_000
    assert first.malformed + first.hits + sum(first.dropped.values()) <= 10_000
    # Line 8899 has a user agent cut off with no closing quote: reported, not a crash.
    if first.malformed:
        assert any(e["line"] == 8899 for e in first.malformed_examples)
    assert first.dropped["bot"] > 1000  # GoAccess counts 1,805 crawler hits in this file
    assert first.dropped["static"] > 1000
    assert first.hits > 1000
    assert first.visits > 100
    stored_hits, stored_visits = count(engine, hits), count(engine, visits)
    assert stored_hits == first.hits
    assert first.first is not None
    assert first.last is not None
    assert first.last - first.first > 3 * 86400

    again = import_logs(engine, settings, [path], site="www.elastic.example")
    assert again.skipped == 10_000
    assert again.hits == 0
    assert (count(engine, hits), count(engine, visits)) == (stored_hits, stored_visits)


def test_an_interrupted_import_resumes_without_duplicates(
    engine: Engine, settings: Settings, shared_data: Path, tmp_path: Path
) -> None:
    small = Settings(
        data_dir=settings.data_dir, database_url=settings.database_url, import_batch=300
    )
    path = str(shared_data / ELASTIC)
    import_interrupted(engine, small, path, "x.example")
    partial = count(engine, hits)
    assert partial > 0
    resumed = import_logs(engine, small, [path], site="x.example")
    assert resumed.skipped > 0
    with engine.connect() as conn:
        done = conn.execute(select(imports.c.lines_done, imports.c.complete)).one()
    assert tuple(done) == (10_000, True)

    # The same file in one go, into a fresh site, gives exactly as many hits.
    whole = import_logs(engine, small, [path], site="y.example")
    assert partial + resumed.hits == whole.hits


def test_compressed_and_stdin_inputs(
    engine: Engine, settings: Settings, shared_data: Path, tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    source = (shared_data / "logs/real/apache-combined-2024").glob("*")
    text = b"".join(p.read_bytes() for p in sorted(source))
    gz = tmp_path / "access.log.gz"
    gz.write_bytes(gzip.compress(text))
    from_gz = import_logs(engine, settings, [str(gz)], site="gz.example")
    assert from_gz.lines == text.count(b"\n")

    import io
    import sys

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text)))
    from_stdin = import_logs(engine, settings, ["-"], site="stdin.example")
    assert (from_stdin.lines, from_stdin.hits) == (from_gz.lines, from_gz.hits)


def test_missing_file_and_unknown_format_are_clear_errors(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    with pytest.raises(InputError, match="cannot open"):
        import_logs(engine, settings, [str(tmp_path / "nope.log")], site="a.example")
    junk = tmp_path / "junk.log"
    junk.write_text("hello world\nthis is not a log\n")
    with pytest.raises((InputError, UnknownFormat)):
        import_logs(engine, settings, [str(junk)], site="a.example")
    assert count(engine, hits) == 0


def _counts(engine: Engine, site: str) -> tuple[int, int, int]:
    with engine.connect() as conn:
        site_id = conn.execute(select(sites.c.id).where(sites.c.domain == site)).scalar_one()
        n_hits = conn.execute(
            select(func.count()).select_from(hits).where(hits.c.site_id == site_id)
        ).scalar_one()
        n_visits, pageviews = conn.execute(
            select(func.count(), func.sum(visits.c.pageviews)).where(visits.c.site_id == site_id)
        ).one()
    return int(n_hits), int(n_visits), int(pageviews)


def test_overlapping_logs_store_each_hit_and_visit_once(
    engine: Engine, settings: Settings, shared_data: Path, tmp_path: Path
) -> None:
    lines = (shared_data / ELASTIC).read_bytes().splitlines(keepends=True)
    first, second = tmp_path / "access.log.1", tmp_path / "access.log"
    first.write_bytes(b"".join(lines[:6000]))
    second.write_bytes(b"".join(lines[3000:]))  # rotated with 3,000 lines of overlap
    whole = import_logs(engine, settings, [str(shared_data / ELASTIC)], site="whole.example")

    one_run = import_logs(engine, settings, [str(first), str(second)], site="one.example")
    assert one_run.dropped["duplicate"] > 0
    import_logs(engine, settings, [str(first)], site="two.example")
    import_logs(engine, settings, [str(second)], site="two.example")
    same_twice = import_logs(engine, settings, [str(first), str(first)], site="twice.example")

    assert _counts(engine, "one.example") == _counts(engine, "whole.example")
    assert _counts(engine, "two.example")[0] == _counts(engine, "whole.example")[0]
    assert same_twice.skipped == 6000
    assert (
        _counts(engine, "twice.example")[0]
        == import_logs(engine, settings, [str(first)], site="once.example").hits
    )
    assert whole.hits == _counts(engine, "whole.example")[0]
