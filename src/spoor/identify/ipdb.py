"""Stored IP datasets: import a file as a source (replacing its previous version), status.

A source is replaced whole inside one transaction, so a file that turns out to be
corrupt halfway leaves the previous data in place.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, select

from spoor.db.bulk import executemany
from spoor.db.schema import asn_types, ip_ranges, ip_sources
from spoor.identify.datasets import ReadReport, read_dataset
from spoor.identify.types import RangeRecord

BATCH = 20_000
_SUFFIXES = re.compile(r"(\.(gz|bz2|tsv|csv|txt|mmdb))+$", re.IGNORECASE)
RANGE_COLUMNS = (
    "asn",
    "org",
    "country",
    "domain",
    "isp",
    "user_type",
    "connection_type",
    "anonymous",
    "netname",
    "descr",
    "network_type",
)


def default_source_name(path: Path) -> str:
    """'ip2asn-v4.tsv.gz' -> 'ip2asn-v4': the file kind, stable across versions."""
    return _SUFFIXES.sub("", path.name) or path.name


def address_bytes(value: int) -> bytes:
    return value.to_bytes(16, "big")


@dataclass
class SourceStatus:
    name: str
    format: str
    version: str | None
    file: str
    records: int
    bad_rows: int
    overlapping: int
    imported_at: int
    details: dict[str, Any]


_INSERT_COLUMNS = ("source_id", "version", "first", "last", *RANGE_COLUMNS)


def _row(source_id: int, r: RangeRecord) -> tuple[Any, ...]:
    # fmt: off
    return (
        source_id, r.version, address_bytes(r.start), address_bytes(r.end), r.asn, r.org,
        r.country, r.domain, r.isp, r.user_type, r.connection_type,
        ",".join(r.anonymous) or None, r.netname, r.descr, r.network_type,
    )
    # fmt: on


def import_dataset(
    engine: Engine,
    path: Path,
    now: int,
    fmt: str | None = None,
    name: str | None = None,
    records: Iterator[RangeRecord] | None = None,
    report: ReadReport | None = None,
) -> SourceStatus:
    """Import `path` as source `name`; DatasetError (nothing changed) if it is unreadable."""
    if records is None or report is None:
        records, report = read_dataset(path, fmt)
    name = name or default_source_name(path)
    with engine.begin() as conn:
        conn.execute(delete(ip_sources).where(ip_sources.c.name == name))
        source_id = conn.execute(
            ip_sources.insert().values(
                name=name,
                format=report.format,
                version=_version(report),
                file=str(path),
                records=0,
                bad_rows=0,
                overlapping=0,
                imported_at=now,
            )
        ).inserted_primary_key[0]  # type: ignore[index]
        batch: list[tuple[Any, ...]] = []
        for record in records:
            batch.append(_row(source_id, record))
            if len(batch) >= BATCH:
                executemany(conn, ip_ranges.insert(), _INSERT_COLUMNS, batch)
                batch = []
        if batch:
            executemany(conn, ip_ranges.insert(), _INSERT_COLUMNS, batch)
        details = {"metadata": report.metadata, "bad_examples": report.bad_examples}
        conn.execute(
            ip_sources.update()
            .where(ip_sources.c.id == source_id)
            .values(
                records=report.records,
                bad_rows=report.bad_rows,
                overlapping=report.overlapping,
                details=json.dumps(details, default=str),
            )
        )
    return next(s for s in status(engine) if s.name == name)


@dataclass(frozen=True)
class AsnType:
    """What a classification source says of one AS."""

    asn: int
    network_type: str  # e.g. CAIDA "Transit/Access", PeeringDB "Cable/DSL/ISP"
    name: str | None = None


def import_asn_types(
    engine: Engine,
    name: str,
    fmt: str,
    file: str,
    records: Iterator[AsnType],
    now: int,
    version: str | None = None,
    bad_rows: int = 0,
) -> SourceStatus:
    """Store a classification source (replacing its previous version) in one transaction."""
    columns = ("source_id", "asn", "network_type", "name")
    with engine.begin() as conn:
        conn.execute(delete(ip_sources).where(ip_sources.c.name == name))
        source_id = conn.execute(
            ip_sources.insert().values(
                name=name,
                format=fmt,
                version=version,
                file=file,
                records=0,
                bad_rows=bad_rows,
                overlapping=0,
                imported_at=now,
            )
        ).inserted_primary_key[0]  # type: ignore[index]
        unique = {r.asn: r for r in records}  # a later row for the same AS wins
        rows = [(source_id, r.asn, r.network_type, r.name) for r in unique.values()]
        for start in range(0, len(rows), BATCH):
            executemany(conn, asn_types.insert(), columns, rows[start : start + BATCH])
        conn.execute(
            ip_sources.update().where(ip_sources.c.id == source_id).values(records=len(rows))
        )
    return next(s for s in status(engine) if s.name == name)


def _version(report: ReadReport) -> str | None:
    meta = report.metadata
    for key in ("version", "build_date", "date", "database_type"):
        if meta.get(key):
            return str(meta[key])
    return None


def status(engine: Engine) -> list[SourceStatus]:
    with engine.connect() as conn:
        rows = conn.execute(select(ip_sources).order_by(ip_sources.c.name)).all()
    return [
        SourceStatus(
            r.name,
            r.format,
            r.version,
            r.file,
            r.records,
            r.bad_rows,
            r.overlapping,
            r.imported_at,
            json.loads(r.details or "{}"),
        )
        for r in rows
    ]
