"""Readers for the delimited text datasets: iptoasn.com TSV and ip-location-db / DB-IP CSV."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from spoor.identify.types import RangeRecord

from .base import READ_ERRORS, ReadReport, RowError, RowLedger, open_text, parse_range, read_error

_MAX_ASN = 0xFFFF_FFFF
_MAX_V4 = 0xFFFF_FFFF
_MAX_V6 = (1 << 128) - 1


def parse_asn(text: str) -> int | None:
    """An AS number, accepting an "AS" prefix; None when empty, 0 kept (caller skips it)."""
    s = text.strip()
    if s[:2] in ("AS", "as", "As"):
        s = s[2:]
    if not s:
        return None
    if not (s.isascii() and s.isdigit()) or int(s) > _MAX_ASN:
        raise RowError(f"bad AS number {text[:40]!r}")
    return int(s)


def _country(text: str) -> str | None:
    s = text.strip().upper()
    # iptoasn writes "None" (and sometimes "Unknown") for unknown countries.
    return s if len(s) == 2 and s.isascii() and s.isalpha() else None


# --- iptoasn --------------------------------------------------------------------------------


def read_iptoasn(
    path: Path, report: ReadReport, source: str | None, verify: bool = True
) -> Iterator[RangeRecord]:
    """Records of an iptoasn.com ip2asn-{v4,v6,combined}.tsv[.gz] file.

    Columns: range_start, range_end, AS_number, country_code, AS_description. AS 0 rows
    ("Not routed") say that nobody announces the range, so they are skipped, not records.
    """
    del verify  # text formats always check their first rows
    src_name = source or "iptoasn"
    ledger = RowLedger(path, report)
    lineno = 0
    try:
        with open_text(path) as fh:
            for lineno, line in enumerate(fh, 1):
                if line.startswith("#") or not line.strip():
                    continue
                try:
                    rec = _iptoasn_row(line, src_name)
                except RowError as exc:
                    ledger.bad(lineno, str(exc))
                    continue
                if rec is None:
                    ledger.skip()
                else:
                    yield ledger.record(rec)
    except READ_ERRORS as exc:
        raise read_error(path, lineno, exc) from exc
    ledger.finish()


def _iptoasn_row(line: str, source: str) -> RangeRecord | None:
    parts = line.rstrip("\r\n").split("\t")
    if len(parts) < 5:
        raise RowError(f"expected 5 tab-separated columns, got {len(parts)}")
    version, start, end = parse_range(parts[0].strip(), parts[1].strip())
    asn = parse_asn(parts[2])
    if not asn:
        return None
    # A description containing a tab would split into extra columns; rejoin them.
    descr = "\t".join(parts[4:]).strip() or None
    return RangeRecord(start, end, version, source, asn=asn, org=descr, country=_country(parts[3]))


# --- csv ------------------------------------------------------------------------------------


def read_csv(
    path: Path, report: ReadReport, source: str | None, verify: bool = True
) -> Iterator[RangeRecord]:
    """Records of a headerless start,end,asn,org CSV (ip-location-db asn, DB-IP ASN Lite).

    Ranges are inclusive; extra columns are ignored. The "-num" variants with integer
    addresses are accepted too; their IP version comes from the value or the file name
    ("ipv6"/"v6"), since small IPv6 numbers cannot be told from IPv4 ones.
    """
    del verify
    src_name = source or "ip-location-db"
    num_version = 6 if ("ipv6" in path.name.lower() or "v6" in path.name.lower()) else 4
    ledger = RowLedger(path, report)
    first = True
    for lineno, row in _csv_rows(path):
        if isinstance(row, str):
            ledger.bad(lineno, row)
            continue
        try:
            rec = _csv_row(row, src_name, num_version)
        except RowError as exc:
            # Tolerate a header such as "start,end,asn,org" (no digit in its first field).
            if first and not any(ch.isdigit() for ch in row[0]):
                report.metadata["header"] = ",".join(row)[:200]
            else:
                ledger.bad(lineno, str(exc))
            first = False
            continue
        first = False
        if rec is None:
            ledger.skip()
        else:
            yield ledger.record(rec)
    ledger.finish()


def _csv_rows(path: Path) -> Iterator[tuple[int, list[str] | str]]:
    """(line number, fields) per data row, or (line number, reason) for unparseable CSV."""
    lineno = 0
    try:
        with open_text(path) as fh:
            reader = csv.reader(fh)
            while True:
                try:
                    row = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:  # NUL bytes, oversized fields: this row only
                    yield reader.line_num, f"unparseable CSV: {exc}"
                    continue
                finally:
                    lineno = reader.line_num
                if row and not row[0].startswith("#"):  # skip blank and comment lines
                    yield lineno, row
    except READ_ERRORS as exc:
        raise read_error(path, lineno, exc) from exc


def _csv_row(row: list[str], source: str, num_version: int) -> RangeRecord | None:
    if len(row) < 3:
        raise RowError(f"expected start,end,asn[,org], got {len(row)} column(s)")
    first, last = row[0].strip(), row[1].strip()
    if first.isdigit() and last.isdigit():
        version, start, end = _numeric_range(first, last, num_version)
    else:
        version, start, end = parse_range(first, last)
    asn = parse_asn(row[2])
    org = (row[3].strip() or None) if len(row) > 3 else None
    if asn == 0 or (asn is None and org is None):
        return None  # AS 0 is "no AS": the row names nobody
    return RangeRecord(start, end, version, source, asn=asn, org=org)


def _numeric_range(first: str, last: str, num_version: int) -> tuple[int, int, int]:
    if not (first.isascii() and last.isascii()):
        raise RowError(f"bad numeric range {first[:40]!r} - {last[:40]!r}")
    start, end = int(first), int(last)
    version = 6 if num_version == 6 or end > _MAX_V4 else 4
    if end > _MAX_V6:
        raise RowError(f"numeric address out of range: {last[:45]}")
    if start > end:
        raise RowError(f"range start after end: {first} > {last}")
    return version, start, end
