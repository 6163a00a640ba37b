"""Access-log import: files (plain, .gz, .bz2, or stdin) -> log lines -> pipeline -> store.

Import is idempotent and resumable. Each input is known by a fingerprint of its first
64 KiB; the number of lines done is checkpointed in the same transaction as the hits of
each batch, so an interrupted import run again continues where it stopped, and a file
imported twice adds nothing. Hits carry a key derived from their line, so even
overlapping copies of a log (rotated files) are stored once.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import hashlib
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any, cast

from sqlalchemy import Connection, Engine, select

from spoor.db.schema import imports
from spoor.ingest import store
from spoor.ingest.logformats import LogFormat, LogLine, MalformedLine, detect, get_format
from spoor.ingest.pipeline import Context, Dropped, Hit, Pipeline, SiteRules
from spoor.ingest.rawhit import RawHit
from spoor.ingest.sessions import LocalDays, SessionTracker
from spoor.ingest.visitors import VisitorHasher
from spoor.settings import Settings
from spoor.sites import Site, site_for_import

HEAD_BYTES = 64 * 1024
MAX_EXAMPLES = 10
Progress = Callable[[str, int, int, int | None], None]  # (input, lines read, bytes read, size)


class ImportError_(Exception):
    """An input cannot be imported at all (unreadable, unknown format); nothing was written."""


@dataclass
class ImportSummary:
    lines: int = 0
    hits: int = 0
    malformed: int = 0
    skipped: int = 0  # lines already imported by an earlier run
    dropped: Counter[str] = field(default_factory=Counter)
    visits: int = 0
    visitors: int = 0
    first: float | None = None
    last: float | None = None
    malformed_examples: list[dict[str, Any]] = field(default_factory=list)
    files: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        def iso(ts: float | None) -> str | None:
            return datetime.fromtimestamp(ts, UTC).isoformat() if ts is not None else None

        return {
            "lines": self.lines,
            "hits": self.hits,
            "malformed": self.malformed,
            "skipped": self.skipped,
            "dropped": dict(sorted(self.dropped.items())),
            "visits": self.visits,
            "visitors": self.visitors,
            "first": iso(self.first),
            "last": iso(self.last),
            "malformed_examples": self.malformed_examples,
            "files": self.files,
        }


def open_input(name: str) -> tuple[IO[bytes], IO[bytes] | None, int | None]:
    """(decompressed stream, raw file for progress, raw size) for a path or '-'."""
    if name == "-":
        return sys.stdin.buffer, None, None
    path = Path(name)
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise ImportError_(f"{name}: cannot open: {exc.strerror or exc}") from exc
    size = path.stat().st_size
    magic = raw.read(3)
    raw.seek(0)
    if magic[:2] == b"\x1f\x8b":
        return cast(IO[bytes], gzip.GzipFile(fileobj=raw)), raw, size
    if magic == b"BZh":
        return cast(IO[bytes], bz2.BZ2File(raw)), raw, size
    return raw, raw, size


def _read_head(stream: IO[bytes]) -> list[bytes]:
    head: list[bytes] = []
    total = 0
    while total < HEAD_BYTES:
        line = stream.readline()
        if not line:
            break
        head.append(line)
        total += len(line)
    return head


class _Keys:
    """Content keys for lines; repeats of an identical line get distinct keys.

    Two identical lines are two requests, and a re-import computes the same keys again.
    Repeats are remembered over a window of recent lines (two generations of a dict), so
    memory stays bounded whatever the file size.
    """

    WINDOW = 50_000

    def __init__(self) -> None:
        self._recent: dict[bytes, int] = {}
        self._older: dict[bytes, int] = {}

    def __call__(self, line: bytes) -> bytes:
        digest = hashlib.blake2b(line, digest_size=16).digest()
        seen = self._recent.get(digest)
        if seen is None:
            seen = self._older.get(digest, 0)
        if len(self._recent) >= self.WINDOW:
            self._older, self._recent = self._recent, {}
        self._recent[digest] = seen + 1
        if seen:
            digest = hashlib.blake2b(line + seen.to_bytes(4, "big"), digest_size=16).digest()
        return digest


class LogImporter:
    """Imports log inputs into one site; one instance per `spoor import` run."""

    def __init__(
        self, engine: Engine, settings: Settings, site: Site, progress: Progress | None = None
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.site = site
        self.progress = progress
        self.summary = ImportSummary()
        rules = SiteRules(
            id=site.id,
            domain=site.domain,
            timezone=site.timezone,
            exclude_paths=settings.exclude_paths,
            exclude_ips=settings.exclude_ips,
            keep_static=settings.keep_static,
        )
        self.sessions = SessionTracker(settings.visit_timeout_minutes * 60, self._lookup_visit)
        with engine.connect() as conn:
            self.sessions.store_horizon = store.latest_visit_end(conn, site.id)
        hasher = VisitorHasher(lambda day: store.salt_for(engine, day))
        self.pipeline = Pipeline(
            Context(rules, hasher, self.sessions, keep_ip_prefix=settings.ip_retention != "none")
        )
        self._local_day = LocalDays(site.timezone)
        self._reader: Connection | None = None
        self._day_visitors: set[int] = set()
        self._visitor_day = -1

    def _lookup_visit(self, site_id: int, visitor: int, since: int) -> Any:
        # One reading connection for the whole run; its snapshot ends after each lookup.
        if self._reader is None:
            self._reader = self.engine.connect()
        try:
            return store.load_visit(self._reader, site_id, visitor, since)
        finally:
            self._reader.rollback()

    def run(self, names: list[str], fmt: str = "auto") -> ImportSummary:
        for name in names:
            self.import_one(name, fmt)
        self.summary.visitors += len(self._day_visitors)
        self._day_visitors.clear()
        if self._reader is not None:
            self._reader.close()
        store.delete_old_salts(self.engine, datetime.now(UTC).date())
        return self.summary

    def import_one(self, name: str, fmt: str) -> None:
        stream, raw, size = open_input(name)
        try:
            head = _read_head(stream)
            if not head:
                self.summary.files.append({"name": name, "format": None, "lines": 0})
                return
            fingerprint = hashlib.sha256(b"".join(head)).hexdigest()
            parser = self._format(name, head, fmt)
            lines = self._lines(head, stream)
            self._import_lines(name, parser, fingerprint, lines, raw, size)
        finally:
            if stream is not sys.stdin.buffer:
                stream.close()
            if raw is not None:
                raw.close()

    def _format(self, name: str, head: list[bytes], fmt: str) -> LogFormat:
        if fmt != "auto":
            return get_format(fmt)
        sample = [line.decode("utf-8", "replace") for line in head[:200]]
        try:
            return detect(sample)
        except ValueError as exc:
            raise ImportError_(f"{name}: {exc}") from exc

    @staticmethod
    def _lines(head: list[bytes], stream: IO[bytes]) -> Iterator[bytes]:
        yield from head
        yield from stream

    def _import_lines(
        self,
        name: str,
        parser: LogFormat,
        fingerprint: str,
        lines: Iterator[bytes],
        raw: IO[bytes] | None,
        size: int | None,
    ) -> None:
        summary, site_id = self.summary, self.site.id
        import_id, done = self._checkpoint_start(name, parser.name, fingerprint)
        file_info = {"name": name, "format": parser.name, "lines": 0, "hits": 0, "resumed_at": done}
        summary.files.append(file_info)
        keys = _Keys()
        batch: list[Hit] = []
        drops: Counter[tuple[int, date, str]] = Counter()
        batch_size = self.settings.import_batch
        line_no = pending = file_malformed = file_hits = 0
        max_ts = 0
        for line_no, line in enumerate(lines, 1):
            if line_no <= done:
                # Still parsed for the parser's state (W3C headers), not imported again.
                self._parse_quietly(parser, line)
                summary.skipped += 1
                continue
            pending += 1
            try:
                record = parser.parse(line.decode("utf-8", "replace"))
            except MalformedLine as exc:
                file_malformed += 1
                self._malformed(name, line_no, str(exc))
                continue
            if record is None:
                continue
            ts = record.ts
            if summary.first is None or ts < summary.first:
                summary.first = ts
            if summary.last is None or ts > summary.last:
                summary.last = ts
            max_ts = max(max_ts, int(ts))
            result = self.pipeline.process(_raw_hit(site_id, record))
            if isinstance(result, Dropped):
                drops[(site_id, self._local_day(ts), result.reason.value)] += 1
                summary.dropped[result.reason.value] += 1
            else:
                result.raw.key = keys(line)  # only kept hits need one
                batch.append(result)
                self._count_visit(result)
            if len(batch) >= batch_size or pending >= batch_size * 4:
                file_hits += len(batch)
                self._flush(import_id, line_no, batch, drops, file_malformed, max_ts)
                batch, drops, pending = [], Counter(), 0
                if self.progress:
                    self.progress(name, line_no, raw.tell() if raw else 0, size)
        file_hits += len(batch)
        self._flush(import_id, line_no, batch, drops, file_malformed, max_ts, complete=True)
        if self.progress:
            self.progress(name, line_no, size or 0, size)
        summary.lines += line_no
        summary.malformed += file_malformed
        summary.hits += file_hits
        file_info.update(lines=line_no, hits=file_hits, malformed=file_malformed)

    def _parse_quietly(self, parser: LogFormat, line: bytes) -> None:
        with contextlib.suppress(MalformedLine):
            parser.parse(line.decode("utf-8", "replace"))

    def _malformed(self, name: str, line_no: int, reason: str) -> None:
        if len(self.summary.malformed_examples) < MAX_EXAMPLES:
            self.summary.malformed_examples.append(
                {"file": name, "line": line_no, "reason": reason}
            )

    def _count_visit(self, hit: Hit) -> None:
        visit = hit.visit
        assert visit is not None
        if visit.pageviews + visit.events == 1 and visit.started == int(hit.raw.ts):
            self.summary.visits += 1
            # Visitor hashes change with the daily salt, so visitors are counted per day.
            day = int(hit.raw.ts // 86400)
            if day != self._visitor_day:
                self.summary.visitors += len(self._day_visitors)
                self._day_visitors.clear()
                self._visitor_day = day
            self._day_visitors.add(visit.visitor)

    def _checkpoint_start(self, name: str, fmt: str, fingerprint: str) -> tuple[int, int]:
        now = int(datetime.now(UTC).timestamp())
        with self.engine.begin() as conn:
            row = conn.execute(
                select(imports.c.id, imports.c.lines_done).where(
                    imports.c.site_id == self.site.id, imports.c.fingerprint == fingerprint
                )
            ).first()
            if row is not None:
                return int(row.id), int(row.lines_done)
            result = conn.execute(
                imports.insert().values(
                    site_id=self.site.id,
                    fingerprint=fingerprint,
                    name=name,
                    format=fmt,
                    lines_done=0,
                    hits=0,
                    malformed=0,
                    complete=False,
                    started_at=now,
                    updated_at=now,
                )
            )
            (new_id,) = result.inserted_primary_key or (0,)
            return int(new_id), 0

    def _flush(
        self,
        import_id: int,
        lines_done: int,
        batch: list[Hit],
        drops: Counter[tuple[int, date, str]],
        malformed: int,
        max_ts: int,
        complete: bool = False,
    ) -> None:
        changed = self.sessions.dirty()
        now = int(datetime.now(UTC).timestamp())
        with self.engine.begin() as conn:
            store.write_batch(conn, batch, changed, drops)
            conn.execute(
                imports.update()
                .where(imports.c.id == import_id, imports.c.lines_done < lines_done)
                .values(
                    lines_done=lines_done,
                    hits=imports.c.hits + len(batch),
                    malformed=malformed,
                    complete=complete,
                    updated_at=now,
                )
            )
        self.sessions.prune(max_ts)


def _raw_hit(site_id: int, record: LogLine) -> RawHit:
    return RawHit(
        site_id=site_id,
        ts=record.ts,
        ip=record.ip,
        user_agent=record.user_agent,
        url=record.path,
        key=b"",
        method=record.method,
        status=record.status,
        referrer=record.referrer,
        host=record.host,
    )


def import_logs(
    engine: Engine,
    settings: Settings,
    names: list[str],
    *,
    site: str | None = None,
    fmt: str = "auto",
    progress: Progress | None = None,
) -> ImportSummary:
    """Import log inputs (paths or '-') into a site; the service behind `spoor import`."""
    now = int(datetime.now(UTC).timestamp())
    with engine.begin() as conn:
        target = site_for_import(conn, site, settings.timezone, now)
    return LogImporter(engine, settings, target, progress).run(names, fmt)
