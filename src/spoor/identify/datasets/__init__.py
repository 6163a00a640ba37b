"""Readers that turn IP datasets into normalized RangeRecords.

    records, report = read_dataset(Path("asn-ipv4.csv"))
    for rec in records:   # streams; the report fills while records are consumed
        ...
    report.records, report.bad_rows, report.bad_examples, report.metadata

Formats: "iptoasn" (iptoasn.com TSV), "csv" (start,end,asn,org: ip-location-db, DB-IP ASN
Lite), "mmdb" (MaxMind DB) and "rpsl" (registry dumps). Text formats may be gzip-compressed.
Bad rows are counted with reasons and never stop a read; a file that is not of its format at
all raises DatasetError before the first record.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from spoor.identify.types import RangeRecord

from .base import GZIP_MAGIC, DatasetError, ReadReport, decode_line, open_binary
from .mmdb import has_metadata_marker, read_mmdb
from .rpsl import read_rpsl
from .text import read_csv, read_iptoasn

__all__ = [
    "FORMATS",
    "DatasetError",
    "DatasetFormat",
    "ReadReport",
    "detect_format",
    "read_dataset",
]

Opener = Callable[[Path, ReadReport, "str | None", bool], Iterator[RangeRecord]]


@dataclass(frozen=True, slots=True)
class DatasetFormat:
    name: str
    description: str
    default_source: str
    open: Opener  # (path, report, source override, verify) -> records


FORMATS: dict[str, DatasetFormat] = {
    f.name: f
    for f in (
        DatasetFormat(
            "iptoasn",
            "iptoasn.com ip2asn TSV: start, end, AS number, country, AS description",
            "iptoasn",
            read_iptoasn,
        ),
        DatasetFormat(
            "csv",
            "headerless CSV start,end,asn,org (ip-location-db asn, DB-IP ASN Lite)",
            "ip-location-db",
            read_csv,
        ),
        DatasetFormat(
            "mmdb",
            "MaxMind DB: GeoLite2/GeoIP2 ASN, ISP, Enterprise, Connection-Type, Domain, "
            "Anonymous-IP, Country/City",
            "maxmind:<database_type>",
            read_mmdb,
        ),
        DatasetFormat(
            "rpsl",
            "RPSL registry dump (inetnum/inet6num objects), e.g. ripe.db.inetnum.gz",
            "rpsl:<source attribute>",
            read_rpsl,
        ),
    )
}

SNIFF_BYTES = 64 * 1024
SNIFF_LINES = 200
_RPSL_RANGE = re.compile(r"(inetnum|inet6num):", re.IGNORECASE)
_RPSL_KEY = re.compile(
    r"(as-block|aut-num|as-set|route|route6|domain|mntner|organisation|person|role|irt|"
    r"inetnum|inet6num|route-set|filter-set|peering-set|rtr-set|key-cert|poetic-form|"
    r"poem):",
    re.IGNORECASE,
)
_TEXT_CONTROL = set(range(32)) - {9, 10, 13} | {127}


def read_dataset(
    path: Path,
    fmt: str | None = None,
    source: str | None = None,
    *,
    verify: bool = True,
) -> tuple[Iterator[RangeRecord], ReadReport]:
    """Open a dataset and return (records, report); records stream in file order.

    fmt defaults to detect_format(path); source overrides the records' source name. For
    mmdb, verify walks the tree once first so corruption raises before any record; text
    formats always check their first rows. Raises DatasetError for unreadable files.
    """
    path = Path(path)
    name = fmt or detect_format(path)
    spec = FORMATS.get(name)
    if spec is None:
        raise DatasetError(f"unknown dataset format {name!r}; known: {', '.join(FORMATS)}")
    report = ReadReport(format=name, metadata={"filename": path.name})
    return _primed(spec.open(path, report, source, verify)), report


def _primed(records: Iterator[RangeRecord]) -> Iterator[RangeRecord]:
    # Running the reader up to its first record surfaces "not this format" errors (and fills
    # the report's metadata) before read_dataset returns.
    first = next(records, None)
    if first is None:
        return iter(())
    return itertools.chain((first,), records)


def detect_format(path: Path) -> str:
    """Name of the format of path, from magic bytes and content (extension only as a hint)."""
    path = Path(path)
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            magic = fh.read(2)
        if size == 0:
            raise DatasetError(f"{path}: empty file")
        if magic != GZIP_MAGIC:
            if has_metadata_marker(path):
                return "mmdb"
            if path.suffix.lower() == ".mmdb":
                return "mmdb"  # let the mmdb reader say what is wrong with it
        head = _head(path)
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read: {exc}") from exc
    return _sniff_text(path, head, compressed=magic == GZIP_MAGIC)


def _head(path: Path) -> bytes:
    try:
        with open_binary(path) as fh:
            return fh.read(SNIFF_BYTES)
    except (EOFError, OSError) as exc:
        raise DatasetError(f"{path}: corrupt or truncated gzip data: {exc}") from exc


def _sniff_text(path: Path, head: bytes, *, compressed: bool) -> str:
    if compressed and len(head) > 262 and head[257:262] == b"ustar":
        raise DatasetError(f"{path}: a tar archive; extract the dataset file from it first")
    if not head:
        raise DatasetError(f"{path}: empty file")
    control = sum(1 for b in head if b in _TEXT_CONTROL)
    if control > len(head) // 100:
        if compressed:
            raise DatasetError(
                f"{path}: gzip-compressed binary data; a compressed .mmdb must be "
                "decompressed first (text datasets may stay gzipped)"
            )
        raise DatasetError(f"{path}: binary data, not a text dataset or a MaxMind DB")
    lines = [
        decode_line(raw).strip()
        for raw in head.splitlines()[:SNIFF_LINES]
        if raw.strip() and raw[:1] not in (b"#", b"%")
    ]
    if any(_RPSL_RANGE.match(line) for line in lines):
        return "rpsl"
    if not lines:
        raise DatasetError(f"{path}: no data lines found")
    first = lines[0]
    if _RPSL_KEY.match(first):
        return "rpsl"  # a full dump whose first objects are not address ranges
    if first.count("\t") >= 4:
        return "iptoasn"
    if first.count(",") >= 2:
        return "csv"
    suffixes = [s.lower() for s in path.suffixes]
    raise DatasetError(
        f"{path}: unrecognized dataset format (first line {first[:60]!r}"
        f"{', suffixes ' + ''.join(suffixes) if suffixes else ''}); "
        f"expected one of {', '.join(FORMATS)}"
    )
