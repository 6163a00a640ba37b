"""Stage one of log import: chunks of lines -> parsed, filtered, enriched hits.

Parsing and the per-hit pipeline steps are most of an import's work and need no shared
state, so for large inputs they run in worker processes, one chunk of lines at a time;
sessionizing and storing stay in the importing process, in line order (logimport.py).
Results travel as plain tuples, which pickle about twenty times faster than objects.
"""

from __future__ import annotations

import contextlib
import hashlib
import multiprocessing
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from typing import IO

from spoor.identify.rdns import ReverseDns
from spoor.identify.resolver import Resolution
from spoor.ingest.logfiles import InputError
from spoor.ingest.logformats import LogFormat, LogLine, MalformedLine
from spoor.ingest.pipeline import (
    PER_HIT_STEPS,
    Context,
    Dropped,
    Hit,
    OrgResolver,
    Pipeline,
    SiteRules,
)
from spoor.ingest.rawhit import HitKind, RawHit
from spoor.ingest.sessions import LocalDays
from spoor.ingest.useragents import Client
from spoor.ingest.visitors import ImportSalts, VisitorHasher

MAX_EXAMPLES = 10

# line number, ts, path, query, kind, referrer, host, client, visitor, visitor before,
# ip prefix, organization id, BLAKE2b digest of the line
Accepted = tuple[
    int,
    float,
    str,
    str,
    int,
    str | None,
    str | None,
    Client,
    int,
    int,
    str | None,
    int | None,
    bytes,
]


@dataclass
class ChunkResult:
    first_line: int
    end_line: int  # the last line number of the chunk
    skipped: int = 0  # lines at or before the resume point
    accepted: list[Accepted] = field(default_factory=list)
    # organizations seen: id -> (resolution, first hit time, last hit time)
    orgs: dict[int, tuple[Resolution, float, float]] = field(default_factory=dict)
    drops: Counter[tuple[date, str]] = field(default_factory=Counter)
    malformed: int = 0
    malformed_examples: list[tuple[int, str]] = field(default_factory=list)
    first: float | None = None
    last: float | None = None


@dataclass(frozen=True)
class WorkerSetup:
    """What every worker needs for a whole import run; no database access in workers."""

    site: SiteRules
    keep_ip_prefix: bool
    today: date
    stored_salts: dict[date, bytes]  # today's and yesterday's, shared with live tracking
    resolver: OrgResolver | None = None  # loaded before the workers fork: shared memory
    dns_servers: tuple[str, ...] | None = None  # reverse DNS on: these servers (empty: system)
    dns_port: int = 53


@dataclass(frozen=True)
class InputSetup:
    """What changes with each input: its parser and the secret for its older days."""

    parser: LogFormat
    run_secret: bytes  # see visitors.ImportSalts


class ChunkWorker:
    """Runs the parser and PER_HIT_STEPS over chunks; one per process."""

    def __init__(self, setup: WorkerSetup) -> None:
        self.setup = setup
        self.parser: LogFormat | None = None
        self._secret = b""
        self.pipeline = Pipeline(
            Context(setup.site, None, None, setup.keep_ip_prefix, setup.resolver), PER_HIT_STEPS
        )
        self.local_day = LocalDays(setup.site.timezone)
        self.site_id = setup.site.id
        self.rdns: ReverseDns | None = None
        if setup.dns_servers is not None:
            self.rdns = (
                ReverseDns(list(setup.dns_servers), setup.dns_port)
                if setup.dns_servers
                else ReverseDns.from_system()
            )

    def use(self, current: InputSetup) -> None:
        """Switch to another input (a no-op when it is the same)."""
        self.parser = current.parser
        if current.run_secret != self._secret:
            self._secret = current.run_secret
            salts = ImportSalts(self._stored_salt, self.setup.today, current.run_secret)
            self.pipeline.ctx.hasher = VisitorHasher(salts)

    def _stored_salt(self, day: date) -> bytes:
        # A recent day the parent did not prepare (a clock ahead): fall back to the secret.
        return (
            self.setup.stored_salts.get(day)
            or hashlib.blake2b(day.isoformat().encode(), digest_size=32, key=self._secret).digest()
        )

    def process(self, first_line: int, block: bytes, done: int) -> ChunkResult:
        """Parse and filter the lines of `block` (numbered from `first_line`).

        Lines numbered up to `done` were imported before: they are only parsed, and only
        when the parser keeps state.
        """
        lines = block.split(b"\n")
        if lines and not lines[-1]:
            lines.pop()  # the block ends with a newline
        result = ChunkResult(first_line, first_line + len(lines) - 1)
        assert self.parser is not None, "use() an input first"
        records = self._parse(lines, first_line, done, result)
        if self.rdns is not None:
            # One concurrent round of PTR lookups for the chunk's addresses, then the steps.
            ips = {record.ip for _, _, record in records}
            self.pipeline.ctx.hostnames = self.rdns.lookup_many_sync(ips)
        run, site_id = self.pipeline.process, self.site_id
        for line_no, line, record in records:
            ts = record.ts
            raw = RawHit(
                site_id=site_id,
                ts=ts,
                ip=record.ip,
                user_agent=record.user_agent,
                url=record.path,
                key=b"",
                method=record.method,
                status=record.status,
                referrer=record.referrer,
                host=record.host,
            )
            hit = run(raw)
            if isinstance(hit, Dropped):
                result.drops[(self.local_day(ts), hit.reason.value)] += 1
                continue
            assert hit.client is not None
            org_id = None
            if hit.org is not None:
                org_id = hit.org.org_id
                seen = result.orgs.get(org_id)
                result.orgs[org_id] = (hit.org, seen[1] if seen else ts, ts)
            digest = hashlib.blake2b(line, digest_size=16).digest()
            # fmt: off
            result.accepted.append((
                line_no, ts, hit.path, hit.query, int(raw.kind), raw.referrer, raw.host,
                hit.client, hit.visitor, hit.visitor_before, hit.ip_prefix, org_id, digest,
            ))
            # fmt: on
        return result

    def _parse(
        self, lines: list[bytes], first_line: int, done: int, result: ChunkResult
    ) -> list[tuple[int, bytes, LogLine]]:
        assert self.parser is not None
        parser, parse = self.parser, self.parser.parse
        records = []
        for line_no, line in enumerate(lines, first_line):
            if line_no <= done:
                result.skipped += 1
                if parser.stateful:
                    _parse_quietly(parser, line)
                continue
            try:
                record = parse(line.decode("utf-8", "replace"))
            except MalformedLine as exc:
                result.malformed += 1
                if len(result.malformed_examples) < MAX_EXAMPLES:
                    result.malformed_examples.append((line_no, str(exc)))
                continue
            if record is not None:
                records.append((line_no, line, record))
                ts = record.ts
                if result.first is None or ts < result.first:
                    result.first = ts
                if result.last is None or ts > result.last:
                    result.last = ts
        return records


def _parse_quietly(parser: LogFormat, line: bytes) -> None:
    with contextlib.suppress(MalformedLine):
        parser.parse(line.decode("utf-8", "replace"))


def rebuild(
    site_id: int, accepted: Accepted, key: bytes, orgs: dict[int, tuple[Resolution, float, float]]
) -> Hit:
    """The Hit that PER_HIT_STEPS produced, ready for the session step."""
    _, ts, path, query, kind, referrer, host, client, visitor, before, prefix, org_id, _ = accepted
    raw = RawHit(site_id, ts, "", "", path, key, referrer=referrer, host=host, kind=HitKind(kind))
    org = orgs[org_id][0] if org_id is not None else None
    return Hit(
        raw,
        path,
        query,
        client=client,
        visitor=visitor,
        visitor_before=before,
        ip_prefix=prefix,
        org=org,
    )


BLOCK_BYTES = 1 << 20  # about 5,000 lines of a combined log
MAX_LINE_BYTES = 1 << 24


def blocks(
    head: list[bytes], stream: IO[bytes], size: int = BLOCK_BYTES, name: str = "input"
) -> Iterator[tuple[int, bytes, int]]:
    """(first line number, whole lines, line count) in blocks of about `size` bytes.

    The importing process never loops over single lines: it reads blocks and counts
    their newlines in C, and the workers split them.
    """
    first = 1
    pending = b"".join(head)
    while True:
        try:
            data = stream.read(size)
        except (EOFError, OSError) as exc:  # a truncated or corrupt .gz / .bz2
            raise InputError(f"{name}: cannot read past line {first}: {exc}") from exc
        buffer = pending + data
        if not data:
            if buffer:
                yield first, buffer, buffer.count(b"\n") + (not buffer.endswith(b"\n"))
            return
        cut = buffer.rfind(b"\n") + 1
        if cut == 0 and len(buffer) < MAX_LINE_BYTES:
            pending = buffer  # no line ends here yet
            continue
        cut = cut or len(buffer)  # a runaway "line" is cut rather than held in memory
        block, pending = buffer[:cut], buffer[cut:]
        count = block.count(b"\n") + (not block.endswith(b"\n"))
        yield first, block, count
        first += count


_worker: ChunkWorker | None = None


def _start_worker(setup: WorkerSetup) -> None:
    global _worker
    _worker = ChunkWorker(setup)


def _work(current: InputSetup, first_line: int, block: bytes, done: int) -> ChunkResult:
    assert _worker is not None
    _worker.use(current)
    return _worker.process(first_line, block, done)


Blocks = Iterable[tuple[int, bytes, int]]


def start_pool(setup: WorkerSetup, workers: int) -> ProcessPoolExecutor:
    """Worker processes, forked now: before the writer thread starts, with the resolver
    already loaded so they share its memory."""
    context = multiprocessing.get_context("fork")
    pool = ProcessPoolExecutor(workers, context, initializer=_start_worker, initargs=(setup,))
    for ready in [pool.submit(int) for _ in range(workers)]:
        ready.result()
    return pool


def run_in_processes(
    pool: ProcessPoolExecutor, current: InputSetup, chunks: Blocks, done: int, workers: int
) -> Iterator[ChunkResult]:
    """Block results in input order; at most 2 blocks per worker in flight (bounded memory)."""
    pending: deque[Future[ChunkResult]] = deque()
    try:
        for first_line, block, count in chunks:
            if first_line + count - 1 <= done:
                # Already imported (a prefix of the input), and the parser keeps no state.
                yield ChunkResult(first_line, first_line + count - 1, skipped=count)
                continue
            pending.append(pool.submit(_work, current, first_line, block, done))
            while len(pending) >= 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        for future in pending:
            future.cancel()


def run_here(
    worker: ChunkWorker, current: InputSetup, chunks: Blocks, done: int
) -> Iterator[ChunkResult]:
    worker.use(current)
    for first_line, block, _ in chunks:
        yield worker.process(first_line, block, done)
