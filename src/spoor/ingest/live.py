"""Live ingest: accepted hits go to an append-only spool, then through the pipeline to the
store, in one consumer thread.

A request is acknowledged once its hits are written to the spool (the OS has them: a
crash of the process loses nothing; the spool is fsynced within about a second, and
always before the store records it as done). The consumer runs the pipeline in order and
writes each batch in one transaction together with how far the spool is done, so a
restart replays exactly the hits not yet stored. The spool is a series of small segment
files, a new one every couple of seconds; a segment is deleted as soon as all of it is
stored, so visitors' addresses stay on disk for seconds, also under steady traffic. A
bounded queue gives backpressure: when it is full, `accept` says no (503 Retry-After).
"""

from __future__ import annotations

import json
import os
import queue
import secrets
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import fields, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from spoor.db.schema import spool
from spoor.ingest import store
from spoor.ingest.pipeline import STEPS, Context, Dropped, Hit, OrgResolver, Pipeline, SiteRules
from spoor.ingest.rawhit import HitKind, RawHit
from spoor.ingest.sessions import LocalDays, SessionTracker
from spoor.ingest.visitors import VisitorHasher
from spoor.settings import Settings
from spoor.sites import list_sites

SPOOL_NAME = "live"
FSYNC_SECONDS = 1.0
SEGMENT_SECONDS = 2.0
SEGMENT_BYTES = 1 << 20
Position = tuple[int, int]  # (segment, offset after a hit's line)


def new_key(ts: float) -> bytes:
    """A live hit's key: its second (as for imported hits), then random bytes."""
    return int(ts).to_bytes(5, "big") + secrets.token_bytes(11)


_FIELDS = tuple(f.name for f in fields(RawHit))


def _encode(raw: RawHit) -> bytes:
    """One spool line: the fields as a JSON list (asdict is 5x slower per request)."""
    values = [getattr(raw, name) for name in _FIELDS]
    values[_FIELDS.index("key")] = raw.key.hex()
    values[_FIELDS.index("kind")] = int(raw.kind)
    return _dumps(values).encode() + b"\n"


def _decode(line: bytes) -> RawHit:
    data = dict(zip(_FIELDS, json.loads(line), strict=True))
    data["key"] = bytes.fromhex(data["key"])
    data["kind"] = HitKind(data["kind"])
    return RawHit(**data)


_dumps = json.JSONEncoder(separators=(",", ":")).encode


class LiveIngest:
    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        resolver: OrgResolver | None = None,
        *,
        max_queue: int = 20_000,
        batch: int = 500,
        interval: float = 0.5,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.resolver = resolver
        self.batch = batch
        self.interval = interval
        self.spool_dir = settings.data_dir / "spool"
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        self._queue: queue.Queue[tuple[RawHit, Position]] = queue.Queue(max_queue)
        self._lock = threading.Lock()
        existing = self._segments()
        self._segment = (existing[-1] + 1) if existing else 1
        self._file = self._segment_path(self._segment).open("ab")
        self._opened = time.monotonic()
        self._synced = time.monotonic()
        self._dirty = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._consume, name="spoor-live", daemon=True)
        self._pipelines: dict[int, Pipeline] = {}
        self._days: dict[str, LocalDays] = {}
        self.sessions = SessionTracker(settings.visit_timeout_minutes * 60, self._lookup)
        self.hasher = VisitorHasher(lambda day: store.salt_for(engine, day))
        self.stored = 0
        self.rejected = 0
        self._salts_checked = 0.0
        self._backlog: list[tuple[RawHit, Position]] = []
        self.dropped: Counter[str] = Counter()
        self.error: BaseException | None = None

    # --- the request side -----------------------------------------------------------------

    def accept(self, hits: list[RawHit]) -> bool:
        """Spool and queue hits; False (nothing kept) when the queue is full."""
        with self._lock:
            if self._queue.maxsize - self._queue.qsize() < len(hits):
                return False
            self._rotate_if_due()
            lines = [_encode(hit) for hit in hits]
            offset = self._file.tell()
            self._file.write(b"".join(lines))
            self._file.flush()
            for hit, line in zip(hits, lines, strict=True):
                offset += len(line)  # where this hit's line ends: a restart resumes there
                self._queue.put_nowait((hit, (self._segment, offset)))
            self._dirty = True
            if time.monotonic() - self._synced > FSYNC_SECONDS:
                self._fsync()
        return True

    def _fsync(self) -> None:
        """Called with the lock held."""
        os.fsync(self._file.fileno())
        self._synced, self._dirty = time.monotonic(), False

    def _rotate_if_due(self) -> None:
        """Start a new segment every few seconds (called with the lock held)."""
        size = self._file.tell()
        if size and (size > SEGMENT_BYTES or time.monotonic() - self._opened > SEGMENT_SECONDS):
            self._fsync()
            self._file.close()
            self._segment += 1
            self._file = self._segment_path(self._segment).open("ab")
            self._opened = time.monotonic()

    def _segment_path(self, segment: int) -> Path:
        return self.spool_dir / f"{SPOOL_NAME}-{segment:010d}.jsonl"

    def _segments(self) -> list[int]:
        found = []
        for path in self.spool_dir.glob(f"{SPOOL_NAME}-*.jsonl"):
            number = path.stem.rsplit("-", 1)[-1]
            if number.isdigit():
                found.append(int(number))
        return sorted(found)

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> int:
        """Find what the spool holds beyond the committed point, then start consuming.

        The consumer writes that backlog first, straight from the files, so a backlog
        larger than the queue never blocks the start.
        """
        with self.engine.connect() as conn:
            row = conn.execute(
                select(spool.c.segment, spool.c.committed).where(spool.c.name == SPOOL_NAME)
            ).first()
            horizons = [store.latest_visit_end(conn, site_id) for site_id in self._site_ids(conn)]
        self.sessions.store_horizon = max((h for h in horizons if h is not None), default=None)
        done: Position = (int(row.segment), int(row.committed)) if row else (0, 0)
        with self._lock:
            self._file.flush()
            # Whatever was queued before the start is in the spool too: read it from there.
            while not self._queue.empty():
                self._queue.get_nowait()
            backlog: list[tuple[RawHit, Position]] = []
            for segment in self._segments():
                if segment < done[0]:
                    self._segment_path(segment).unlink(missing_ok=True)  # stored before
                    continue
                start = done[1] if segment == done[0] else 0
                backlog.extend(self._read_segment(segment, start))
            self._backlog = backlog
        replayed = len(backlog)
        self._thread.start()
        return replayed

    def _read_segment(self, segment: int, start: int) -> Iterator[tuple[RawHit, Position]]:
        path = self._segment_path(segment)
        if start > path.stat().st_size:
            start = 0  # cannot happen unless the file was replaced: read it all, keys dedupe
        with path.open("rb") as spooled:
            spooled.seek(start)
            offset = start
            for line in spooled:
                offset += len(line)
                if not line.endswith(b"\n"):
                    break  # a line cut by a crash: never acknowledged
                try:
                    yield _decode(line), (segment, offset)
                except (ValueError, TypeError, KeyError):
                    self.dropped["unreadable_spool_line"] += 1

    def stop(self) -> None:
        """Store everything accepted (called on shutdown, SIGTERM included)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        with self._lock:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()

    def pending(self) -> int:
        return self._queue.qsize()

    def alive(self) -> bool:
        return self._thread.is_alive() or self._stop.is_set()

    # --- the consumer ---------------------------------------------------------------------

    def _site_ids(self, conn: Any) -> list[int]:
        return [site.id for site in list_sites(conn)]

    def _lookup(self, site_id: int, visitor: int, since: int) -> Any:
        with self.engine.connect() as conn:
            return store.load_visit(conn, site_id, visitor, since)

    def _local_days(self, timezone: str) -> LocalDays:
        days = self._days.get(timezone)
        if days is None:
            days = self._days[timezone] = LocalDays(timezone)
        return days

    def pipeline_for(self, site: SiteRules) -> Pipeline:
        pipeline = self._pipelines.get(site.id)
        if pipeline is None or pipeline.ctx.site != site:
            context = Context(
                site,
                self.hasher,
                self.sessions,
                keep_ip_prefix=self.settings.ip_retention != "none",
                resolver=self.resolver,
            )
            pipeline = self._pipelines[site.id] = Pipeline(context, STEPS)
        return pipeline

    def _consume(self) -> None:
        backlog, self._backlog = self._backlog, []
        for start in range(0, len(backlog), self.batch):
            self._write_safely(backlog[start : start + self.batch])
        while True:
            items = self._take()
            if self._dirty and time.monotonic() - self._synced > FSYNC_SECONDS:
                with self._lock:  # a quiet spell must not leave the last hits unsynced
                    self._fsync()
            if items:
                self._write_safely(items)
                try:
                    self._delete_stored_segments(items[-1][1])
                except OSError as exc:  # the files stay; deleted another time
                    self.error = exc
            elif self._stop.is_set():
                return

    def _write_safely(self, items: list[tuple[RawHit, Position]]) -> None:
        """Write a batch; on failure retry it, then hit by hit, setting aside what fails.

        The pipeline works on copies, so a retry starts from the hits as accepted, and the
        visits are re-read from the store, so a failed attempt counts nothing twice.
        """
        for attempt in range(3):
            try:
                self._write(items)
                return
            except Exception as exc:
                self.error = exc
                self._forget_sessions()
                time.sleep(0.2 * (attempt + 1))
        for item in items:
            try:
                self._write([item])
            except Exception as exc:
                self.error = exc
                self._forget_sessions()
                self._reject(item[0])

    def _forget_sessions(self) -> None:
        self.sessions = SessionTracker(self.sessions.timeout, self._lookup)
        self.sessions.store_horizon = int(time.time())  # look up every visitor in the store
        self._pipelines.clear()

    def _reject(self, raw: RawHit) -> None:
        """A hit no retry can store (e.g. refused by the database) goes aside, counted."""
        with (self.spool_dir / "rejected.jsonl").open("ab") as rejected:
            rejected.write(_encode(raw))
        self.rejected += 1

    def _take(self) -> list[tuple[RawHit, Position]]:
        items: list[tuple[RawHit, Position]] = []
        deadline = time.monotonic() + self.interval
        while len(items) < self.batch:
            timeout = deadline - time.monotonic()
            if timeout <= 0 or (self._stop.is_set() and self._queue.empty()):
                break
            try:
                items.append(self._queue.get(timeout=min(timeout, 0.05)))
            except queue.Empty:
                continue
        return items

    def _write(self, items: list[tuple[RawHit, Position]]) -> None:
        kept: list[Hit] = []
        drops: Counter[tuple[int, date, str]] = Counter()
        orgs: dict[int, tuple[Any, float, float]] = {}
        rules = self._rules()
        for raw, _ in items:
            site = rules.get(raw.site_id)
            if site is None:
                continue  # the site was removed meanwhile
            pipeline = self.pipeline_for(site)
            result = pipeline.process(replace(raw))  # a copy: the steps change it
            if isinstance(result, Dropped):
                day = self._local_days(site.timezone)(raw.ts)
                drops[(raw.site_id, day, result.reason.value)] += 1
                self.dropped[result.reason.value] += 1
                continue
            kept.append(result)
            if result.org is not None:
                first = orgs.get(result.org.org_id, (None, raw.ts, raw.ts))[1]
                orgs[result.org.org_id] = (result.org, first, raw.ts)
        batch = store.prepare_batch(
            self.engine.dialect.name, kept, self.sessions.dirty(), drops, orgs
        )
        position = items[-1][1]
        with self._lock:  # the store must never be ahead of what the disk holds
            if self._dirty:
                self._fsync()
        with self.engine.begin() as conn:
            store.write_batch(conn, batch)
            _record_position(conn, position)
        self.stored += len(kept)
        self.error = None
        self.sessions.prune(int(time.time()))
        if time.monotonic() - self._salts_checked > 3600:
            # A long-running server forgets old salts too, as the privacy design says.
            store.delete_old_salts(self.engine, datetime.now(UTC).date())
            self._salts_checked = time.monotonic()

    def _rules(self) -> dict[int, SiteRules]:
        with self.engine.connect() as conn:
            found = list_sites(conn)
        return {site.id: site.rules(self.settings) for site in found}

    def _delete_stored_segments(self, done: Position) -> None:
        """Segments wholly stored go: only the one being written may stay."""
        with self._lock:
            current = self._segment
        for segment in self._segments():
            if segment < done[0] or (
                segment == done[0] < current
                and self._segment_path(segment).stat().st_size <= done[1]
            ):
                self._segment_path(segment).unlink(missing_ok=True)


def _record_position(conn: Any, position: Position) -> None:
    segment, offset = position
    values = {"segment": segment, "committed": offset}
    updated = conn.execute(spool.update().where(spool.c.name == SPOOL_NAME).values(**values))
    if not updated.rowcount:
        conn.execute(spool.insert().values(name=SPOOL_NAME, **values))


def received_now() -> float:
    return datetime.now(UTC).timestamp()
