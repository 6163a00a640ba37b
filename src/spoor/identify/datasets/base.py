"""Shared pieces of the dataset readers: the error, the report, IP parsing, row bookkeeping."""

from __future__ import annotations

import codecs
import gzip
import io
import socket
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, TextIO

from spoor.identify.types import RangeRecord

MAX_BAD_EXAMPLES = 10
# Nesting depth up to which overlap detection is exact (registry data nests a few levels).
MAX_OPEN_RANGES = 64
# A file whose first PROBE_ROWS data rows all fail to parse is not of the format at all.
PROBE_ROWS = 10
GZIP_MAGIC = b"\x1f\x8b"

_AF_INET = socket.AF_INET
_AF_INET6 = socket.AF_INET6
_pton = socket.inet_pton
_from_bytes = int.from_bytes


class DatasetError(ValueError):
    """A dataset file that cannot be read at all: corrupt, truncated or not of the format."""


class RowError(ValueError):
    """One unusable row or object; the message is the reason shown in the report."""


@dataclass
class ReadReport:
    """What reading one file found. Filled while the record iterator is consumed."""

    format: str
    records: int = 0
    bad_rows: int = 0
    bad_examples: list[tuple[int, str]] = field(default_factory=list)  # (line or row, reason)
    overlapping: int = 0  # rows partly overlapping the previous row or a range enclosing it
    skipped: int = 0  # well-formed rows that carry nothing (AS 0 "Not routed", empty mmdb data)
    metadata: dict[str, str] = field(default_factory=dict)
    complete: bool = False  # True once the iterator has been consumed to the end

    def add_bad(self, where: int, reason: str) -> None:
        self.bad_rows += 1
        if len(self.bad_examples) < MAX_BAD_EXAMPLES:
            self.bad_examples.append((where, reason))


def parse_ip(text: str) -> tuple[int, int]:
    """Return (version, integer) for an IPv4 or IPv6 address in text form; ValueError if bad."""
    try:
        # inet_pton is strict (no "1.2.3", no leading zeros) and several times faster than
        # ipaddress.ip_address, which matters at half a million rows per file.
        if ":" in text:
            return 6, _from_bytes(_pton(_AF_INET6, text), "big")
        return 4, _from_bytes(_pton(_AF_INET, text), "big")
    except (OSError, ValueError):
        raise RowError(f"bad IP address {text[:60]!r}") from None


def parse_range(first: str, last: str) -> tuple[int, int, int]:
    """Parse an inclusive text range into (version, start, end), checking its consistency."""
    v1, start = parse_ip(first)
    v2, end = parse_ip(last)
    if v1 != v2:
        raise RowError(f"range mixes IPv{v1} and IPv{v2}: {first} - {last}")
    if start > end:
        raise RowError(f"range start after end: {first} > {last}")
    return v1, start, end


def open_binary(path: Path) -> BinaryIO:
    """Open a file for reading bytes, decompressing it when it is gzip (by content, not name)."""
    fh = path.open("rb")
    if fh.read(2) == GZIP_MAGIC:
        fh.close()
        return gzip.open(path, "rb")  # type: ignore[return-value]
    fh.seek(0)
    return fh


def _latin1_fallback(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return exc.object[exc.start : exc.end].decode("latin-1"), exc.end


# RIPE dumps are Latin-1 while most other data is UTF-8: decoding bytes that are not UTF-8
# as Latin-1 keeps names readable in both instead of turning accents into U+FFFD.
codecs.register_error("spoor-latin1", _latin1_fallback)


def decode_line(raw: bytes) -> str:
    return raw.decode("utf-8", "spoor-latin1")


def open_text(path: Path) -> TextIO:
    """Open a plain or gzip text file as lines (newline="" as the csv module wants)."""
    return io.TextIOWrapper(
        open_binary(path), encoding="utf-8-sig", errors="spoor-latin1", newline=""
    )


def read_error(path: Path, lineno: int, exc: BaseException) -> DatasetError:
    """The error for a file that cannot be opened or stops being readable part way."""
    if lineno == 0:
        return DatasetError(f"{path}: cannot read: {exc}")
    return DatasetError(f"{path}: cannot read past line {lineno} (truncated or corrupt?): {exc}")


# Errors that reading a (gzip) text file raises when it is truncated or corrupt.
READ_ERRORS = (OSError, EOFError, zlib.error)


class RowLedger:
    """Counts records, skipped and bad rows of one read and notices partly overlapping ranges.

    It also decides when a file is not of its format at all: when none of the first
    PROBE_ROWS data rows parse, or when the file holds no data row.
    """

    def __init__(self, path: Path, report: ReadReport) -> None:
        self.path = path
        self.report = report
        self.good = 0  # rows that parsed, whether they became records or were skipped
        # Per IP version, recent ranges that may still overlap later rows: the previous row
        # and its enclosing ranges. Checking all of them (not only the previous row) also
        # catches a row that nests in its predecessor but cuts across an outer range.
        self._open: dict[int, list[tuple[int, int]]] = {4: [], 6: []}

    def record(self, rec: RangeRecord) -> RangeRecord:
        self.good += 1
        self.report.records += 1
        start, end = rec.start, rec.end
        stack = self._open[rec.version]
        while stack and stack[-1][1] < start:
            stack.pop()  # ends before this row: in sorted data it cannot overlap again
        for o_start, o_end in stack:
            # Overlap that is neither nesting (either way) nor separation: the two rows
            # contradict each other about the addresses they share.
            if (
                start <= o_end
                and end >= o_start
                and not (o_start <= start and end <= o_end)
                and not (start <= o_start and o_end <= end)
            ):
                self.report.overlapping += 1
                break
        stack.append((start, end))
        if len(stack) > MAX_OPEN_RANGES:
            del stack[0]  # unsorted input: stay bounded, at the cost of exactness
        return rec

    def skip(self) -> None:
        self.good += 1
        self.report.skipped += 1

    def bad(self, where: int, reason: str) -> None:
        self.report.add_bad(where, reason)
        if self.good == 0 and self.report.bad_rows >= PROBE_ROWS:
            raise DatasetError(
                f"{self.path}: not a valid {self.report.format} file: none of the first "
                f"{PROBE_ROWS} rows parse (line {where}: {reason})"
            )

    def finish(self) -> None:
        if self.good == 0:
            if self.report.bad_rows:
                where, reason = self.report.bad_examples[0]
                raise DatasetError(
                    f"{self.path}: not a valid {self.report.format} file: no row parses "
                    f"(line {where}: {reason})"
                )
            raise DatasetError(f"{self.path}: no {self.report.format} data rows found")
        self.report.complete = True
