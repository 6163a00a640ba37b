"""Access-log import: inputs -> chunks of lines -> stage one -> sessions -> store.

Stage one (parse, then the per-hit pipeline steps; logworker.py) runs in worker
processes for large inputs and in this process for small ones; the session step and the
store run here, in line order.

Import is idempotent and resumable. Each input is known by a fingerprint of its first
64 KiB; the number of lines done is checkpointed in the same transaction as the hits of
each batch, so an interrupted import run again continues where it stopped, and a file
imported twice adds nothing. Hits carry a key derived from their line, so even
overlapping copies of a log (rotated files) are stored once.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, select

from spoor.db.schema import imports
from spoor.identify.resolver import Resolution, Resolver
from spoor.ingest import store
from spoor.ingest.logfiles import InputError, LogInput, open_input
from spoor.ingest.logformats import LogFormat, detect, get_format
from spoor.ingest.logworker import (
    BLOCK_BYTES,
    MAX_EXAMPLES,
    Accepted,
    ChunkResult,
    ChunkWorker,
    InputSetup,
    WorkerSetup,
    blocks,
    rebuild,
    run_here,
    run_in_processes,
    start_pool,
)
from spoor.ingest.pipeline import (
    SESSION_STEPS,
    Context,
    Dropped,
    DropReason,
    Hit,
    Pipeline,
)
from spoor.ingest.sessions import LocalDays, SessionTracker, Visit
from spoor.ingest.writer import BackgroundWriter
from spoor.settings import Settings
from spoor.sites import Site, site_for_import

T = TypeVar("T")
# Below this size, starting worker processes costs more than it saves.
PARALLEL_MIN_BYTES = 4 * 1024 * 1024
Progress = Callable[[str, int, int, int | None], None]  # (input, lines read, bytes read, size)


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


class _Keys:
    """Hit keys: the hit's second, then a digest of its line (repeats get distinct digests).

    Two identical lines are two requests, and a re-import computes the same keys again.
    Leading with the time keeps inserts into the unique index close together, as logs are
    in time order: random keys made large imports slow down as the index outgrew memory.
    Repeats are remembered over a window of recent hits (two generations of a dict), so
    memory stays bounded whatever the file size.
    """

    WINDOW = 50_000

    def __init__(self) -> None:
        self._recent: dict[bytes, int] = {}
        self._older: dict[bytes, int] = {}

    def __call__(self, digest: bytes, ts: float) -> bytes:
        seen = self._recent.get(digest)
        if seen is None:
            seen = self._older.get(digest, 0)
        if len(self._recent) >= self.WINDOW:
            self._older, self._recent = self._recent, {}
        self._recent[digest] = seen + 1
        if seen:
            digest = hashlib.blake2b(digest + seen.to_bytes(4, "big"), digest_size=16).digest()
        return int(ts).to_bytes(5, "big") + digest[:11]


@dataclass
class _FileState:
    """Progress through one input, between checkpoints."""

    import_id: int
    lines_done: int
    batch: list[Hit] = field(default_factory=list)
    drops: Counter[tuple[int, date, str]] = field(default_factory=Counter)
    lines: int = 0
    hits: int = 0
    malformed: int = 0
    unflushed_malformed: int = 0
    orgs: dict[int, tuple[Resolution, float, float]] = field(default_factory=dict)
    max_ts: int = 0


class LogImporter:
    """Imports log inputs into one site; one instance per `spoor import` run."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        site: Site,
        progress: Progress | None = None,
        resolver: Resolver | None = None,
        reverse_dns: bool = False,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.site = site
        self.progress = progress
        self.summary = ImportSummary()
        self.rules = site.rules(settings)
        self.sessions = SessionTracker(settings.visit_timeout_minutes * 60, self._lookup_visit)
        # Hashes arrive computed by stage one: the session step needs no hasher.
        self.session_step = Pipeline(Context(self.rules, None, self.sessions), SESSION_STEPS)
        self.local_day = LocalDays(site.timezone)
        self.today = datetime.now(UTC).date()
        recent = (self.today - timedelta(days=1), self.today)
        self.setup = WorkerSetup(
            self.rules,
            keep_ip_prefix=settings.ip_retention != "none",
            today=self.today,
            stored_salts={day: store.salt_for(engine, day) for day in recent},
            resolver=resolver,
            dns_servers=settings.dns_servers if reverse_dns and resolver else None,
            dns_port=settings.dns_port,
        )
        self.workers = settings.import_workers or os.cpu_count() or 1
        self._pool: ProcessPoolExecutor | None = None
        self._here: ChunkWorker | None = None
        self.writer = BackgroundWriter(engine)
        self._reader: Connection | None = None
        self._hits_horizon: int | None = None
        self._keys = _Keys()
        self._run_secret = secrets.token_bytes(32)
        self._day_visitors: set[int] = set()
        self._visitor_day = -1

    def run(self, names: list[str], fmt: str = "auto") -> ImportSummary:
        if self.workers > 1 and any(_is_big(name) for name in names):
            # Fork now, while this process has no other thread (the writer starts later).
            self._pool = start_pool(self.setup, self.workers)
        try:
            with self.writer:
                for name in names:
                    self.import_one(name, fmt)
        finally:
            if self._pool is not None:
                self._pool.shutdown(cancel_futures=True)
            if self._reader is not None:
                self._reader.close()
        self.summary.visitors += len(self._day_visitors)
        self._day_visitors.clear()
        store.delete_old_salts(self.engine, self.today)
        return self.summary

    def import_one(self, name: str, fmt: str) -> None:
        source = open_input(name)
        try:
            if not source.head:
                self.summary.files.append({"name": name, "format": None, "lines": 0})
                return
            parser = self._format(source, fmt)
            self._import(source, parser)
        finally:
            source.close()

    def _format(self, source: LogInput, fmt: str) -> LogFormat:
        try:
            if fmt != "auto":
                return get_format(fmt)
            return detect([line.decode("utf-8", "replace") for line in source.head[:200]])
        except ValueError as exc:
            raise InputError(f"{source.name}: {exc}") from exc

    def _stage_one(self, source: LogInput, current: InputSetup, done: int) -> Iterator[ChunkResult]:
        chunks = blocks(source.head, source.stream, BLOCK_BYTES, source.name)
        big = _worth_workers(source.size)
        if self._pool is not None and big and not current.parser.stateful:
            return run_in_processes(self._pool, current, chunks, done, self.workers)
        if self._here is None:
            self._here = ChunkWorker(self.setup)
        return run_here(self._here, current, chunks, done)

    def _import(self, source: LogInput, parser: LogFormat) -> None:
        # Earlier inputs of this run must be written before this one looks at the store.
        self.writer.drain()
        import_id, done, secret = self._checkpoint_start(
            source.name, parser.name, source.fingerprint
        )
        with self.engine.connect() as conn:
            self.sessions.store_horizon = store.latest_visit_end(conn, self.site.id)
            self._hits_horizon = store.latest_hit(conn, self.site.id)
        self._keys = _Keys()  # repeats are counted within one input, as on its first import
        state = _FileState(import_id, done)
        info: dict[str, Any] = {"name": source.name, "format": parser.name, "resumed_at": done}
        self.summary.files.append(info)
        for chunk in self._stage_one(source, InputSetup(parser, secret), done):
            self._absorb(source.name, state, chunk)
            if len(state.batch) >= self.settings.import_batch:
                self._flush(state, chunk.end_line)
                if self.progress:
                    self.progress(source.name, chunk.end_line, source.position, source.size)
        self._flush(state, state.lines, complete=True)
        if self.progress:
            self.progress(source.name, state.lines, source.size or 0, source.size)
        self.summary.lines += state.lines
        self.summary.hits += state.hits
        self.summary.malformed += state.malformed
        info.update(lines=state.lines, hits=state.hits, malformed=state.malformed)

    def _absorb(self, name: str, state: _FileState, chunk: ChunkResult) -> None:
        """Sessionize a chunk's accepted hits and count the rest."""
        summary, site_id = self.summary, self.site.id
        state.lines = chunk.end_line
        state.malformed += chunk.malformed
        state.unflushed_malformed += chunk.malformed
        summary.skipped += chunk.skipped
        for line_no, reason in chunk.malformed_examples:
            if len(summary.malformed_examples) < MAX_EXAMPLES:
                summary.malformed_examples.append({"file": name, "line": line_no, "reason": reason})
        for (day, reason), count in chunk.drops.items():
            state.drops[(site_id, day, reason)] += count
            summary.dropped[reason] += count
        if chunk.first is not None and (summary.first is None or chunk.first < summary.first):
            summary.first = chunk.first
        if chunk.last is not None:
            summary.last = max(summary.last or chunk.last, chunk.last)
            state.max_ts = max(state.max_ts, int(chunk.last))
        for org_id, (org, first, last) in chunk.orgs.items():
            seen = state.orgs.get(org_id)
            state.orgs[org_id] = (
                (org, min(first, seen[1]), max(last, seen[2])) if seen else (org, first, last)
            )
        keyed = [(a, self._keys(a[-1], a[1])) for a in chunk.accepted]
        horizon = self._hits_horizon
        if keyed and horizon is not None and chunk.first is not None and chunk.first <= horizon:
            keyed = self._without_stored(state, keyed)
        for accepted, key in keyed:
            hit = rebuild(site_id, accepted, key, chunk.orgs)
            result = self.session_step.run(hit)
            if isinstance(result, Dropped):  # the session step drops nothing today
                summary.dropped[result.reason.value] += 1
                continue
            state.batch.append(result)
            assert result.visit is not None
            self._count_visit(result.visit, int(result.raw.ts))

    def _without_stored(
        self, state: _FileState, keyed: list[tuple[Accepted, bytes]]
    ) -> list[tuple[Accepted, bytes]]:
        """Drop hits already stored (an overlapping log): before they touch any visit."""
        stored = self._read(
            lambda conn: store.existing_keys(conn, self.site.id, [k for _, k in keyed])
        )
        if not stored:
            return keyed
        kept = []
        for accepted, key in keyed:
            if key in stored:
                reason = DropReason.DUPLICATE.value
                state.drops[(self.site.id, self.local_day(accepted[1]), reason)] += 1
                self.summary.dropped[reason] += 1
            else:
                kept.append((accepted, key))
        return kept

    def _count_visit(self, visit: Visit, ts: int) -> None:
        if visit.pageviews + visit.events == 1 and visit.started == ts:
            self.summary.visits += 1
            # Visitor hashes change with the daily salt, so visitors are counted per day.
            day = ts // 86400
            if day != self._visitor_day:
                self.summary.visitors += len(self._day_visitors)
                self._day_visitors.clear()
                self._visitor_day = day
            self._day_visitors.add(visit.visitor)

    def _lookup_visit(self, site_id: int, visitor: int, since: int) -> Visit | None:
        return self._read(lambda conn: store.load_visit(conn, site_id, visitor, since))

    def _read(self, query: Callable[[Connection], T]) -> T:
        # One reading connection for the whole run; its snapshot ends after each query.
        if self._reader is None:
            self._reader = self.engine.connect()
        try:
            return query(self._reader)
        finally:
            self._reader.rollback()

    def _checkpoint_start(self, name: str, fmt: str, fingerprint: str) -> tuple[int, int, bytes]:
        """(import id, lines already done, hashing secret) for an input, new or resumed."""
        now = int(datetime.now(UTC).timestamp())
        with self.engine.begin() as conn:
            row = conn.execute(
                select(imports.c.id, imports.c.lines_done, imports.c.secret).where(
                    imports.c.site_id == self.site.id, imports.c.fingerprint == fingerprint
                )
            ).first()
            if row is not None and row.secret:
                return int(row.id), int(row.lines_done), bytes(row.secret)
            secret = self._run_secret  # one per run: visits continue from input to input
            if row is not None:  # complete before: only new lines (a grown log) are read
                conn.execute(imports.update().where(imports.c.id == row.id).values(secret=secret))
                return int(row.id), int(row.lines_done), secret
            values = {"site_id": self.site.id, "fingerprint": fingerprint, "name": name}
            values |= {"format": fmt, "lines_done": 0, "hits": 0, "malformed": 0}
            values |= {"complete": False, "secret": secret, "started_at": now, "updated_at": now}
            result = conn.execute(imports.insert().values(**values))
            (new_id,) = result.inserted_primary_key or (0,)
            return int(new_id), 0, secret

    def _flush(self, state: _FileState, lines_done: int, complete: bool = False) -> None:
        """Queue the batch, the changed visits, the drops and the checkpoint as one write."""
        batch = store.prepare_batch(
            self.engine.dialect.name, state.batch, self.sessions.dirty(), state.drops, state.orgs
        )
        checkpoint = partial(
            _checkpoint,
            state.import_id,
            lines_done,
            len(state.batch),
            state.unflushed_malformed,
            complete,
        )
        self.writer.submit(batch, checkpoint)
        state.hits += len(state.batch)
        state.batch, state.drops, state.unflushed_malformed, state.orgs = [], Counter(), 0, {}
        self.sessions.prune(state.max_ts)


def _worth_workers(size: int | None) -> bool:
    """Whether an input of this size (None: stdin, unknown) is worth worker processes."""
    return size is None or size >= PARALLEL_MIN_BYTES


def _is_big(name: str) -> bool:
    try:
        return _worth_workers(None if name == "-" else os.stat(name).st_size)
    except OSError:
        return False  # open_input reports it properly


def _checkpoint(
    import_id: int, lines_done: int, hits: int, malformed: int, complete: bool, conn: Connection
) -> None:
    """Record progress in the same transaction as the batch it covers."""
    conn.execute(
        imports.update()
        .where(imports.c.id == import_id, imports.c.lines_done <= lines_done)
        .values(
            lines_done=lines_done,
            hits=imports.c.hits + hits,
            malformed=imports.c.malformed + malformed,
            complete=complete,
            updated_at=int(datetime.now(UTC).timestamp()),
            **({"secret": None} if complete else {}),  # done: the secret goes
        )
    )


def import_logs(
    engine: Engine,
    settings: Settings,
    names: list[str],
    *,
    site: str | None = None,
    fmt: str = "auto",
    progress: Progress | None = None,
    reverse_dns: bool = False,
) -> ImportSummary:
    """Import log inputs (paths or '-') into a site; the service behind `spoor import`.

    With `reverse_dns`, each address's PTR name joins the evidence (as Matomo's
    --enable-reverse-dns): it can name a company inside an ISP's block.
    """
    now = int(datetime.now(UTC).timestamp())
    with engine.begin() as conn:
        target = site_for_import(conn, site, settings.timezone, now)
    resolver = load_resolver(engine)
    importer = LogImporter(engine, settings, target, progress, resolver, reverse_dns)
    return importer.run(names, fmt)


def load_resolver(engine: Engine) -> Resolver | None:
    """The resolver over the stored IP data, or None when none has been imported."""
    resolver = Resolver.load(engine)
    return resolver if len(resolver) or resolver.known_orgs else None
