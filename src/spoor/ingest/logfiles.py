"""Opening log inputs: plain, gzip or bzip2 files (by their magic bytes), or stdin."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO, cast

HEAD_BYTES = 64 * 1024


class InputError(Exception):
    """An input cannot be read; the message names it and says why."""


@dataclass
class LogInput:
    name: str
    stream: IO[bytes]  # decompressed bytes
    raw: IO[bytes] | None  # the file itself, whose position tells the progress
    size: int | None  # bytes on disk; None for stdin
    head: list[bytes]  # the first lines (up to 64 KiB), already read from `stream`

    @property
    def fingerprint(self) -> str:
        """Identifies the input by its beginning: a grown log keeps its fingerprint."""
        return hashlib.sha256(b"".join(self.head)).hexdigest()

    @property
    def position(self) -> int:
        return self.raw.tell() if self.raw is not None else 0

    def close(self) -> None:
        if self.stream is not sys.stdin.buffer:
            self.stream.close()
        if self.raw is not None:
            self.raw.close()


def open_input(name: str) -> LogInput:
    """Open a path or '-' (stdin) and read its head; compressed files are recognised."""
    if name == "-":
        stream: IO[bytes] = sys.stdin.buffer
        return LogInput(name, stream, None, None, _read_head(stream))
    path = Path(name)
    try:
        raw = path.open("rb")
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(f"{name}: cannot open: {exc.strerror or exc}") from exc
    magic = raw.read(3)
    raw.seek(0)
    if magic[:2] == b"\x1f\x8b":
        stream = cast(IO[bytes], gzip.GzipFile(fileobj=raw))
    elif magic == b"BZh":
        stream = cast(IO[bytes], bz2.BZ2File(raw))
    else:
        stream = raw
    try:
        head = _read_head(stream)
    except (OSError, EOFError) as exc:
        raw.close()
        raise InputError(f"{name}: cannot read: {exc}") from exc
    return LogInput(name, stream, raw, size, head)


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
