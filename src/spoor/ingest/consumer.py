"""The live consumer: reads the spool behind the web server, runs the pipeline, stores.

It runs in a process of its own (see live.py), so the web server's event loop never
waits for the GIL while hits are processed; a test may call `Consumer.run` in its own
process. Each batch is written in one transaction together with how far the spool is
done, so a restart replays exactly the hits not yet stored, and the spool is fsynced up
to a batch before the store records it. Failed writes are retried with the visits re-read
from the store, then hit by hit; a hit no retry can store goes aside, counted.
"""

from __future__ import annotations

import ctypes
import fcntl
import logging
import os
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime
from multiprocessing.context import BaseContext
from typing import Any

from sqlalchemy import Engine, select

from spoor.db.schema import spool
from spoor.ingest import store
from spoor.ingest.pipeline import STEPS, Context, Dropped, Hit, OrgResolver, Pipeline, SiteRules
from spoor.ingest.rawhit import RawHit
from spoor.ingest.sessions import LocalDays, SessionTracker
from spoor.ingest.spool import (
    SPOOL_NAME,
    Position,
    SpoolReader,
    complete_lines,
    copy,
    encode,
    segment_path,
    segments,
)
from spoor.ingest.visitors import VisitorHasher
from spoor.settings import Settings
from spoor.sites import list_sites

log = logging.getLogger("spoor.consumer")
FSYNC_SECONDS = 1.0
POLL_SECONDS = 0.05
Item = tuple[RawHit, Position]


class Progress:
    """What the consumer tells the web server, and the server's request to stop.

    Shared memory without locks: each value has one writer, and a reader may see one a
    moment old, never a torn one.
    """

    def __init__(self, ctx: BaseContext) -> None:
        self._stored = ctx.RawValue(ctypes.c_longlong, 0)
        self._rejected = ctx.RawValue(ctypes.c_longlong, 0)
        self._consumed = ctx.RawValue(ctypes.c_longlong, 0)
        self._backlog = ctx.RawValue(ctypes.c_longlong, 0)
        self._stop = ctx.RawValue(ctypes.c_int, 0)
        self._error = ctx.RawArray(ctypes.c_char, 400)

    @property
    def stored(self) -> int:
        return int(self._stored.value)

    @property
    def rejected(self) -> int:
        return int(self._rejected.value)

    @property
    def consumed(self) -> int:
        """Lines read off the spool: hits and unreadable lines."""
        return int(self._consumed.value)

    @property
    def backlog(self) -> int:
        """Lines a start found in the spool, written before the web server started."""
        return int(self._backlog.value)

    @property
    def error(self) -> str | None:
        return self._error.value.decode("utf-8", "replace") or None

    @property
    def stopping(self) -> bool:
        return bool(self._stop.value)

    def request_stop(self) -> None:
        self._stop.value = 1

    def found(self, backlog: int) -> None:
        self._backlog.value = backlog

    def add(self, *, stored: int = 0, rejected: int = 0, consumed: int = 0) -> None:
        self._stored.value += stored
        self._rejected.value += rejected
        self._consumed.value += consumed

    def set_error(self, error: BaseException | None) -> None:
        self._error.value = repr(error).encode()[:399] if error is not None else b""


class Consumer:
    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        resolver: OrgResolver | None = None,
        *,
        progress: Progress | None = None,
        batch: int = 500,
        interval: float = 0.5,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.resolver = resolver
        self.progress = progress
        self.batch = batch
        self.interval = interval
        self.spool_dir = settings.data_dir / "spool"
        self._pipelines: dict[int, Pipeline] = {}
        self._days: dict[str, LocalDays] = {}
        self.sessions = SessionTracker(settings.visit_timeout_minutes * 60, self._lookup)
        self.hasher = VisitorHasher(lambda day: store.salt_for(engine, day))
        self.stored = 0
        self.rejected = 0
        self._salts_checked = 0.0
        self._synced = time.monotonic()
        self.dropped: Counter[str] = Counter()
        self.error: BaseException | None = None

    # --- the loop -------------------------------------------------------------------------

    def run(
        self,
        stop: Callable[[], bool],
        *,
        orphaned: Callable[[], bool] = lambda: False,
        writer_first: int | None = None,
    ) -> None:
        """Store what the spool holds and whatever is appended to it until `stop()`, then
        the rest, and return; the writer writes nothing more once `stop()` is true. When
        `orphaned()` (the web server is gone) it returns after the batch at hand: the next
        start replays the rest. `writer_first` is the writer's first segment: the lines
        before it are the backlog that `Progress` reports.
        """
        self.spool_dir.mkdir(parents=True, exist_ok=True)
        with (self.spool_dir / "consumer.lock").open("a") as lock:
            # One consumer at a time: one left by a killed server first ends its batch.
            fcntl.flock(lock, fcntl.LOCK_EX)
            done = self._start()
            if writer_first is not None and self.progress is not None:
                self.progress.found(complete_lines(self.spool_dir, done, writer_first))
                log.info(
                    "live consumer started; %d hits in the spool from before",
                    self.progress.backlog,
                    extra={"backlog": self.progress.backlog},
                )
            reader = SpoolReader(self.spool_dir, done)
            try:
                reader.stored(done)  # segments left by a crash after they were stored
                self._loop(reader, stop, orphaned)
            finally:
                reader.close()
                log.info(
                    "live consumer stopped: %d hits stored, %d set aside",
                    self.stored,
                    self.rejected,
                    extra={"stored": self.stored, "rejected": self.rejected},
                )

    def _loop(
        self, reader: SpoolReader, stop: Callable[[], bool], orphaned: Callable[[], bool]
    ) -> None:
        while not orphaned():
            stopping = stop()  # asked before reading: then the read finds every last line
            hurry = (lambda: True) if stopping else orphaned
            items, unreadable = self._take(reader, hurry)
            if items:
                reader.sync()  # the store must never be ahead of what the disk holds
                self._write_safely(items)
                self._synced = time.monotonic()
                try:
                    reader.stored(items[-1][1])
                except OSError as exc:  # the files stay; deleted another time
                    self._set_error(exc)
            elif stopping and not unreadable:
                return
            self._count(consumed=len(items) + unreadable)
            if time.monotonic() - self._synced > FSYNC_SECONDS:
                self._sync_newest()  # a store behind must not leave the newest hits unsynced

    def _take(self, reader: SpoolReader, hurry: Callable[[], bool]) -> tuple[list[Item], int]:
        """A batch: `batch` hits, or what there is once `interval` has passed; and how
        many whole lines were not hits."""
        deadline = time.monotonic() + self.interval
        items: list[Item] = []
        unreadable = 0
        while True:
            read = reader.read(self.batch - len(items))
            items.extend(read.hits)
            unreadable += read.unreadable
            if read.unreadable or read.cut:
                self.dropped["unreadable_spool_line"] += read.unreadable + read.cut
            if len(items) >= self.batch or time.monotonic() >= deadline or hurry():
                return items, unreadable
            time.sleep(POLL_SECONDS)

    def _start(self) -> Position:
        """How far the spool is stored; the sessions' horizon."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(spool.c.segment, spool.c.committed).where(spool.c.name == SPOOL_NAME)
            ).first()
            horizons = [store.latest_visit_end(conn, site.id) for site in list_sites(conn)]
        self.sessions.store_horizon = max((h for h in horizons if h is not None), default=None)
        return (int(row.segment), int(row.committed)) if row else (0, 0)

    def _sync_newest(self) -> None:
        found = segments(self.spool_dir)
        if found:
            try:
                fd = os.open(segment_path(self.spool_dir, found[-1]), os.O_RDONLY)
            except FileNotFoundError:
                return
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        self._synced = time.monotonic()

    def _count(self, *, stored: int = 0, rejected: int = 0, consumed: int = 0) -> None:
        self.stored += stored
        self.rejected += rejected
        if self.progress is not None:
            self.progress.add(stored=stored, rejected=rejected, consumed=consumed)

    def _set_error(self, error: BaseException | None) -> None:
        self.error = error
        if self.progress is not None:
            self.progress.set_error(error)

    # --- storing --------------------------------------------------------------------------

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

    def _write_safely(self, items: list[Item]) -> None:
        """Write a batch; on failure retry it, then hit by hit, setting aside what fails.

        The pipeline works on copies, so a retry starts from the hits as accepted, and the
        visits are re-read from the store, so a failed attempt counts nothing twice.
        """
        for attempt in range(3):
            try:
                self._write(items)
                return
            except Exception as exc:
                log.warning("storing %d hits failed (try %d): %r", len(items), attempt + 1, exc)
                self._set_error(exc)
                self._forget_sessions()
                time.sleep(0.2 * (attempt + 1))
        for item in items:
            try:
                self._write([item])
            except Exception as exc:
                self._set_error(exc)
                self._forget_sessions()
                self._reject(item[0])

    def _forget_sessions(self) -> None:
        self.sessions = SessionTracker(self.sessions.timeout, self._lookup)
        self.sessions.store_horizon = int(time.time())  # look up every visitor in the store
        self._pipelines.clear()

    def _reject(self, raw: RawHit) -> None:
        """A hit no retry can store (e.g. refused by the database) goes aside, counted."""
        with (self.spool_dir / "rejected.jsonl").open("ab") as rejected:
            rejected.write(encode(raw))
        log.error("a hit the store refused is set aside in spool/rejected.jsonl: %r", self.error)
        self._count(rejected=1)

    def _write(self, items: list[Item]) -> None:
        kept: list[Hit] = []
        drops: Counter[tuple[int, date, str]] = Counter()
        orgs: dict[int, tuple[Any, float, float]] = {}
        rules = self._rules()
        for raw, _ in items:
            site = rules.get(raw.site_id)
            if site is None:
                continue  # the site was removed meanwhile
            pipeline = self.pipeline_for(site)
            result = pipeline.process(copy(raw))  # a copy: the steps change it
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
        with self.engine.begin() as conn:
            store.write_batch(conn, batch)
            _record_position(conn, items[-1][1])
        self._count(stored=len(kept))
        self._set_error(None)
        self.sessions.prune(int(time.time()))
        if time.monotonic() - self._salts_checked > 3600:
            # A long-running server forgets old salts too, as the privacy design says.
            store.delete_old_salts(self.engine, datetime.now(UTC).date())
            self._salts_checked = time.monotonic()

    def _rules(self) -> dict[int, SiteRules]:
        with self.engine.connect() as conn:
            found = list_sites(conn)
        return {site.id: site.rules(self.settings) for site in found}


def _record_position(conn: Any, position: Position) -> None:
    segment, offset = position
    values = {"segment": segment, "committed": offset}
    updated = conn.execute(spool.update().where(spool.c.name == SPOOL_NAME).values(**values))
    if not updated.rowcount:
        conn.execute(spool.insert().values(name=SPOOL_NAME, **values))
