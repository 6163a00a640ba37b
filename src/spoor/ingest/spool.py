"""The live spool: accepted hits as JSON lines in numbered segment files.

One process appends (`SpoolWriter`, the web server), another reads behind it
(`SpoolReader`, the consumer); the files are all they share. A line counts once its
newline is on disk: a line cut by a crash was never acknowledged, so a reader skips the
unfinished end of a segment once a later segment exists, and waits for it otherwise.
"""

from __future__ import annotations

import json
import os
import random
import time
from dataclasses import dataclass, fields
from operator import attrgetter
from pathlib import Path

from spoor.ingest.rawhit import HitKind, RawHit

SPOOL_NAME = "live"
SEGMENT_SECONDS = 2.0
SEGMENT_BYTES = 1 << 20
READ_BYTES = 1 << 20
NEWLINE = ord("\n")
Position = tuple[int, int]  # (segment, offset after a hit's line)


def new_key(ts: float) -> bytes:
    """A live hit's key: its second (as for imported hits), then random bytes.

    The key only has to be unique, not unguessable: `random` (seeded by the OS, and again
    in a forked child) costs no system call per request, unlike `secrets`.
    """
    return int(ts).to_bytes(5, "big") + random.randbytes(11)


_FIELDS = tuple(f.name for f in fields(RawHit))
_VALUES = attrgetter(*_FIELDS)
_KEY = _FIELDS.index("key")
_KIND = _FIELDS.index("kind")
_dumps = json.JSONEncoder(separators=(",", ":")).encode


def encode(raw: RawHit) -> bytes:
    """One spool line: the fields as a JSON list (asdict is 5x slower per request)."""
    values = list(_VALUES(raw))
    values[_KEY] = raw.key.hex()
    values[_KIND] = int(raw.kind)
    return _dumps(values).encode() + b"\n"


def decode(line: bytes) -> RawHit:
    """A hit from its line; ValueError, TypeError or KeyError if it is not one."""
    values = json.loads(line)
    if not isinstance(values, list) or len(values) != len(_FIELDS):
        raise ValueError("not a spooled hit")
    values[_KEY] = bytes.fromhex(values[_KEY])
    values[_KIND] = HitKind(values[_KIND])
    return RawHit(*values)


def copy(raw: RawHit) -> RawHit:
    """A shallow copy, as dataclasses.replace makes, at a fifth of its cost."""
    return RawHit(*_VALUES(raw))


def segment_path(directory: Path, segment: int) -> Path:
    return directory / f"{SPOOL_NAME}-{segment:010d}.jsonl"


def segments(directory: Path) -> list[int]:
    found = []
    for path in directory.glob(f"{SPOOL_NAME}-*.jsonl"):
        number = path.stem.rsplit("-", 1)[-1]
        if number.isdigit():
            found.append(int(number))
    return sorted(found)


def complete_lines(directory: Path, done: Position, before: int) -> int:
    """How many whole lines the segments before `before` hold after `done`."""
    count = 0
    for segment in segments(directory):
        if segment < done[0]:
            continue
        if segment >= before:
            break
        data = segment_path(directory, segment).read_bytes()
        start = done[1] if segment == done[0] and done[1] <= len(data) else 0
        count += data.count(b"\n", start)
    return count


class SpoolWriter:
    """Appends lines to the newest segment; a new segment every few seconds or MiB.

    One `os.write` per call: once it returns the OS has the lines, so a crash of the
    process loses nothing. It never fsyncs on the request path: the reader fsyncs a
    segment before storing what it read, and the newest one about every second.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        existing = segments(directory)
        self.first = self.segment = (existing[-1] + 1) if existing else 1
        self._open()

    def _open(self) -> None:
        path = segment_path(self.directory, self.segment)
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._size = os.fstat(self._fd).st_size
        self._opened = time.monotonic()
        self._cut = False  # the last write ended mid-line

    def append(self, data: bytes) -> None:
        """Write whole lines; on OSError (a full disk) some may be written, not acknowledged.

        The file only grows, as the reader may be reading it: a line cut by a failed write
        is ended with the next one, and the reader skips it as unreadable.
        """
        if self._size and (
            self._size > SEGMENT_BYTES or time.monotonic() - self._opened > SEGMENT_SECONDS
        ):
            os.close(self._fd)
            self.segment += 1
            self._open()
        view = memoryview(b"\n" + data if self._cut else data)
        while view:  # an OSError leaves `_cut` telling whether a line was cut
            written = os.write(self._fd, view)
            self._size += written
            if written:
                self._cut = view[written - 1] != NEWLINE
            view = view[written:]

    def close(self) -> None:
        os.fsync(self._fd)
        os.close(self._fd)


@dataclass
class Batch:
    hits: list[tuple[RawHit, Position]]
    unreadable: int = 0  # whole lines that are not hits: skipped
    cut: int = 0  # lines cut by a crash, so never acknowledged: skipped


class SpoolReader:
    """Reads whole lines behind the writer, from a position stored with the hits."""

    def __init__(self, directory: Path, done: Position) -> None:
        self.directory = directory
        self.segment, self.offset = done
        self._fd: int | None = None
        self._tail = b""  # the start of a line whose newline is not written yet

    @property
    def position(self) -> Position:
        return self.segment, self.offset

    def read(self, limit: int) -> Batch:
        """Up to `limit` hits after the last one read; fewer if that is all there is."""
        batch = Batch([])
        while len(batch.hits) < limit:
            if self._fd is None and not self._open():
                break
            # Asked before reading to the end: the writer starts a later segment only
            # after its last write to this one, so then this one holds all it ever will.
            later = self._later()
            if not self._read_into(batch, limit):
                continue  # the limit is reached, or there is more to read
            if later is None:
                break  # all there is for now
            if self._tail:
                batch.cut += 1
            self._move_to(later)
        return batch

    def sync(self) -> None:
        """fsync the segment being read: what was read from it may be stored next."""
        if self._fd is not None:
            os.fsync(self._fd)

    def stored(self, done: Position) -> None:
        """Delete the segments wholly stored once `done` is: addresses stay on disk briefly."""
        for segment in segments(self.directory):
            if segment >= done[0]:
                break
            segment_path(self.directory, segment).unlink(missing_ok=True)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _open(self) -> bool:
        while True:
            try:
                self._fd = os.open(segment_path(self.directory, self.segment), os.O_RDONLY)
                break
            except FileNotFoundError:  # stored and deleted, or none written yet
                later = self._later()
                if later is None:
                    return False
                self._move_to(later)
        if self.offset > os.fstat(self._fd).st_size:
            self.offset = 0  # only if the file was replaced: read it all, keys dedupe
        return True

    def _later(self) -> int | None:
        return next((s for s in segments(self.directory) if s > self.segment), None)

    def _move_to(self, segment: int) -> None:
        if self._fd is not None:
            os.fsync(self._fd)  # its last hits may be stored before the next sync
            self.close()
        self.segment, self.offset, self._tail = segment, 0, b""

    def _read_into(self, batch: Batch, limit: int) -> bool:
        """Whole lines into `batch`; True when the end of the file was reached."""
        assert self._fd is not None
        chunk = os.pread(self._fd, READ_BYTES, self.offset + len(self._tail))
        data, start = self._tail + chunk, 0
        while len(batch.hits) < limit:
            end = data.find(b"\n", start)
            if end < 0:
                break
            line = data[start : end + 1]
            start = end + 1
            self.offset += len(line)
            try:
                batch.hits.append((decode(line), (self.segment, self.offset)))
            except (ValueError, TypeError, KeyError):
                batch.unreadable += 1
        if len(batch.hits) >= limit:
            self._tail = b""  # read again from the offset next time
            return False
        self._tail = data[start:]
        return len(chunk) < READ_BYTES
