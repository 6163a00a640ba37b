"""Reader for MaxMind DB (.mmdb) files: GeoLite2/GeoIP2 ASN, ISP, Enterprise and friends."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path
from typing import Any

import maxminddb

from spoor.identify.types import RangeRecord

from .base import GZIP_MAGIC, DatasetError, ReadReport, RowError, RowLedger

METADATA_MARKER = b"\xab\xcd\xefMaxMind.com"
# The metadata section is at most 128 KiB and sits at the end of the file.
METADATA_MAX = 128 * 1024

# IPv4-mapped IPv6 addresses (::ffff:0:0/96): MaxMind writers alias this subtree to IPv4.
_MAPPED_FIRST = 0xFFFF_0000_0000
_MAPPED_LAST = 0xFFFF_FFFF_FFFF

# Anonymous-IP flags (also found in Enterprise/Insights traits), in display order.
ANONYMOUS_FLAGS = (
    ("is_anonymous_vpn", "vpn"),
    ("is_hosting_provider", "hosting"),
    ("is_tor_exit_node", "tor"),
    ("is_public_proxy", "public_proxy"),
    ("is_residential_proxy", "residential_proxy"),
    ("is_anonymous", "anonymous"),
)


def read_mmdb(
    path: Path, report: ReadReport, source: str | None, verify: bool = True
) -> Iterator[RangeRecord]:
    """Records of every network in a MaxMind DB.

    MaxMind spells a field the same way in every product (autonomous_system_number in ASN,
    ISP and Enterprise traits; domain in Domain, ISP and Enterprise), so one extractor maps
    all database types, including third-party files with GeoIP2-compatible layouts. The
    database_type only names the source: "maxmind:GeoLite2-ASN".

    With verify, the whole tree is walked once before the first record so that a corrupt
    file raises DatasetError before anything is yielded (one extra pass over the file).
    """
    reader = _open(path)
    try:
        db_type = _describe(reader, path, report)
        src_name = source or f"maxmind:{db_type}"
        if verify:
            for _ in _networks(reader, path):
                pass
        ledger = RowLedger(path, report)
        seen_v4 = False
        for index, (version, start, end, data) in enumerate(_networks(reader, path), 1):
            if version == 6 and start >= _MAPPED_FIRST and end <= _MAPPED_LAST:
                # The reader already skips subtrees aliased to the IPv4 tree. A database that
                # stores mapped addresses as real data gets them converted to IPv4, unless
                # it also has an IPv4 tree, which they would only duplicate.
                if seen_v4:
                    ledger.skip()
                    continue
                version, start, end = 4, start - _MAPPED_FIRST, end - _MAPPED_FIRST
            seen_v4 = seen_v4 or version == 4
            try:
                fields = extract_fields(data)
            except RowError as exc:
                ledger.bad(index, f"{_net_text(version, start, end)}: {exc}")
                continue
            if not fields:
                ledger.skip()  # e.g. the empty maps Anonymous-IP stores for clean networks
                continue
            yield ledger.record(RangeRecord(start, end, version, src_name, **fields))
        ledger.finish()
    finally:
        reader.close()


def has_metadata_marker(path: Path) -> bool:
    with path.open("rb") as fh:
        size = fh.seek(0, 2)
        fh.seek(max(0, size - METADATA_MAX))
        return METADATA_MARKER in fh.read()


def _open(path: Path) -> maxminddb.Reader:
    try:
        return maxminddb.open_database(path, maxminddb.MODE_AUTO)
    except Exception as exc:  # InvalidDatabaseError, OSError, ValueError from odd metadata
        hint = ""
        try:
            with path.open("rb") as fh:
                if fh.read(2) == GZIP_MAGIC:
                    hint = " (the file is gzip-compressed: decompress or extract it first)"
        except OSError:
            pass
        raise DatasetError(f"{path}: not a readable MaxMind DB{hint}: {exc}") from exc


def _describe(reader: maxminddb.Reader, path: Path, report: ReadReport) -> str:
    try:
        meta = reader.metadata()
        db_type = str(meta.database_type)
        epoch = int(meta.build_epoch)
        ip_version = int(meta.ip_version)
        description = meta.description
    except Exception as exc:
        raise DatasetError(f"{path}: invalid MaxMind DB metadata: {exc}") from exc
    if not db_type or ip_version not in (4, 6):
        raise DatasetError(
            f"{path}: invalid MaxMind DB metadata: database_type={db_type!r}, "
            f"ip_version={ip_version}"
        )
    built = datetime.fromtimestamp(epoch, UTC)
    report.metadata.update(
        {
            "database_type": db_type,
            "build_epoch": str(epoch),
            "build_date": built.date().isoformat(),
            "version": f"{db_type} {built:%Y-%m-%d}",
            "ip_version": str(ip_version),
            "node_count": str(meta.node_count),
            "record_size": str(meta.record_size),
            "languages": ",".join(meta.languages),
        }
    )
    if isinstance(description, Mapping) and description:
        text = description.get("en") or next(iter(description.values()))
        report.metadata["description"] = str(text)
    return db_type


def _networks(reader: maxminddb.Reader, path: Path) -> Iterator[tuple[int, int, int, object]]:
    """(version, start, end, data) for each network, corruption reported as DatasetError."""
    it = iter(reader)
    count = 0
    while True:
        try:
            network, data = next(it)
        except StopIteration:
            return
        except Exception as exc:  # maxminddb raises several types for corrupt files
            raise DatasetError(f"{path}: corrupt MaxMind DB after {count} networks: {exc}") from exc
        count += 1
        yield (
            network.version,
            int(network.network_address),
            int(network.broadcast_address),
            data,
        )


def _net_text(version: int, start: int, end: int) -> str:
    first = IPv4Address(start) if version == 4 else IPv6Address(start)
    return f"{first}+{end - start + 1}"


def extract_fields(data: object) -> dict[str, Any]:
    """The RangeRecord fields found in one MaxMind data record (empty when it says nothing)."""
    if not isinstance(data, Mapping):
        raise RowError(f"data is a {type(data).__name__}, not a map")
    traits = data.get("traits")
    # Enterprise/City/Insights keep network facts under "traits"; ASN/ISP/... at the top.
    flat: dict[str, Any] = dict(data)
    if isinstance(traits, Mapping):
        flat.update(traits)
    out: dict[str, Any] = {}
    asn = flat.get("autonomous_system_number")
    if isinstance(asn, int) and not isinstance(asn, bool) and asn > 0:
        out["asn"] = asn
    # RangeRecord.org is "organization or AS name": prefer the registrant organization.
    org = _text(flat.get("organization")) or _text(flat.get("autonomous_system_organization"))
    for key, value in (
        ("org", org),
        ("isp", _text(flat.get("isp"))),
        ("domain", _text(flat.get("domain"))),
        ("user_type", _text(flat.get("user_type"))),
        ("connection_type", _text(flat.get("connection_type"))),
        ("country", _country(data)),
    ):
        if value is not None:
            out[key] = value
    flags = tuple(name for key, name in ANONYMOUS_FLAGS if flat.get(key) is True)
    if flags:
        out["anonymous"] = flags
    return out


def _text(value: object) -> str | None:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return None


def _country(data: Mapping[str, Any]) -> str | None:
    country = data.get("country")
    code = country.get("iso_code") if isinstance(country, Mapping) else data.get("country_code")
    if isinstance(code, str) and len(code) == 2 and code.isalpha():
        return code.upper()
    return None
