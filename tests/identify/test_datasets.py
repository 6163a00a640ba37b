"""Dataset readers against real shared data (MaxMind test DBs, ip-location-db) and samples."""

from __future__ import annotations

import bisect
import gzip
import ipaddress
import itertools
import json
import os
import random
import shutil
import subprocess
import tarfile
import time
import tracemalloc
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import maxminddb
import pytest

from spoor.identify.datasets import (
    FORMATS,
    DatasetError,
    ReadReport,
    detect_format,
    read_dataset,
)
from spoor.identify.datasets import mmdb as mmdb_module
from spoor.identify.datasets.mmdb import extract_fields
from spoor.identify.types import RangeRecord

SHARED = Path(
    os.environ.get("SPOOR_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data")
)
MAXMIND_JSON_TYPES = [
    "GeoLite2-ASN",
    "GeoIP2-ISP",
    "GeoIP2-Enterprise",
    "GeoIP2-Connection-Type",
    "GeoIP2-Domain",
]


@pytest.fixture(scope="module")
def ipdb() -> Path:
    path = SHARED / "ipdb"
    if not path.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"shared data missing at {path} (set SPOOR_SHARED_DATA)")
        pytest.skip(f"shared IP data not found at {path}; set SPOOR_SHARED_DATA")
    return path


@pytest.fixture(scope="module")
def maxmind(ipdb: Path) -> Path:
    return ipdb / "maxmind-test"


def read_all(path: Path, fmt: str | None = None, **kw: Any) -> tuple[list[RangeRecord], ReadReport]:
    records, report = read_dataset(path, fmt, **kw)
    out = list(records)
    assert report.complete
    assert report.records == len(out)
    return out, report


class Covering:
    """Finds the record covering an address among non-overlapping records (an mmdb tree)."""

    def __init__(self, records: Iterable[RangeRecord]) -> None:
        self.by_version: dict[int, list[RangeRecord]] = {4: [], 6: []}
        for rec in records:
            self.by_version[rec.version].append(rec)
        for recs in self.by_version.values():
            recs.sort(key=lambda r: r.start)
        self.starts = {v: [r.start for r in recs] for v, recs in self.by_version.items()}

    def find(self, addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> RangeRecord | None:
        value = int(addr)
        i = bisect.bisect_right(self.starts[addr.version], value) - 1
        if i < 0:
            return None
        rec = self.by_version[addr.version][i]
        return rec if rec.start <= value <= rec.end else None


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def as_v4_if_embedded(net: Network) -> Network:
    """MaxMind source data writes IPv4 as ::a.b.c.d/n; the reader yields them as IPv4."""
    if net.version == 6 and int(net.network_address) < 2**32 and net.prefixlen >= 96:
        return ipaddress.IPv4Network((int(net.network_address), net.prefixlen - 96))
    return net


def source_networks(path: Path) -> list[tuple[Network, dict[str, Any]]]:
    out: list[tuple[Network, dict[str, Any]]] = []
    for entry in json.loads(path.read_text()):
        for key, data in entry.items():
            out.append((as_v4_if_embedded(ipaddress.ip_network(key, strict=False)), data))
    return out


def probe_address(
    net: Network, all_nets: set[Network]
) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An address of net not inside a more specific source network (which would override it)."""
    for addr in (net.network_address, net.broadcast_address):
        longer = range(net.prefixlen + 1, net.max_prefixlen + 1)
        if not any(ipaddress.ip_network((addr, p), strict=False) in all_nets for p in longer):
            return addr
    return None


def expected_fields(db_type: str, data: dict[str, Any]) -> dict[str, Any]:
    if db_type == "GeoIP2-Enterprise":
        traits = data.get("traits", {})
        return {
            "asn": traits.get("autonomous_system_number"),
            "org": traits.get("organization") or traits.get("autonomous_system_organization"),
            "isp": traits.get("isp"),
            "domain": traits.get("domain"),
            "user_type": traits.get("user_type"),
            "connection_type": traits.get("connection_type"),
            "country": data.get("country", {}).get("iso_code"),
        }
    if db_type == "GeoLite2-ASN":
        return {
            "asn": data.get("autonomous_system_number"),
            "org": data.get("autonomous_system_organization"),
        }
    if db_type == "GeoIP2-ISP":
        return {
            "asn": data.get("autonomous_system_number"),
            "org": data.get("organization") or data.get("autonomous_system_organization"),
            "isp": data.get("isp"),
        }
    if db_type == "GeoIP2-Connection-Type":
        return {"connection_type": data.get("connection_type")}
    assert db_type == "GeoIP2-Domain"
    return {"domain": data.get("domain")}


# --- MaxMind ------------------------------------------------------------------------------


@pytest.mark.parametrize("db_type", MAXMIND_JSON_TYPES)
def test_mmdb_matches_maxmind_source_json(maxmind: Path, db_type: str) -> None:
    db_path = maxmind / f"{db_type}-Test.mmdb"
    records, report = read_all(db_path)
    assert report.format == "mmdb"
    assert report.metadata["database_type"] == db_type
    assert report.bad_rows == 0
    assert {r.source for r in records} == {f"maxmind:{db_type}"}
    covering = Covering(records)
    nets = source_networks(maxmind / "source-data" / f"{db_type}-Test.json")
    all_nets = {n for n, _ in nets}
    checked = 0
    with maxminddb.open_database(db_path) as reader:
        for net, data in nets:
            addr = probe_address(net, all_nets)
            if addr is None:
                continue
            rec = covering.find(addr)
            expected = expected_fields(db_type, data)
            if rec is None:
                # Only data without any RangeRecord field (e.g. traits.is_anycast) is skipped.
                assert not any(expected.values()), f"{db_type}: no record covers {addr} ({net})"
                assert not extract_fields(data)
            else:
                assert rec.version == net.version
                got = {key: getattr(rec, key) for key in expected}
                assert got == expected, f"{db_type} {net}"
            # Independent check: a direct maxminddb lookup gives the same data.
            assert extract_fields(reader.get(addr)) == extract_fields(data), f"{db_type} {net}"
            checked += 1
    assert checked >= len(nets) - 2
    print(f"\n{db_type}: {len(records)} records, {checked}/{len(nets)} source networks checked")


@pytest.mark.parametrize(
    "name",
    ["GeoIP2-Anonymous-IP-Test.mmdb", "GeoLite2-Country-Test.mmdb", "GeoIP2-ISP-Test.mmdb"],
)
def test_mmdb_records_agree_with_lookups(maxmind: Path, name: str) -> None:
    records, _ = read_all(maxmind / name)
    assert records
    with maxminddb.open_database(maxmind / name) as reader:
        for rec in records:
            for value in (rec.start, rec.end):
                addr = (
                    ipaddress.ip_address(value)
                    if rec.version == 4
                    else ipaddress.IPv6Address(value)
                )
                data = reader.get(addr)
                fields = extract_fields(data)
                assert fields, rec
                assert RangeRecord(rec.start, rec.end, rec.version, rec.source, **fields) == rec


def test_mmdb_anonymous_flags(maxmind: Path) -> None:
    records, report = read_all(maxmind / "GeoIP2-Anonymous-IP-Test.mmdb")
    rec = Covering(records).find(ipaddress.IPv4Address("1.2.0.1"))
    assert rec is not None
    assert rec.anonymous == ("vpn", "anonymous")
    assert all(r.anonymous for r in records)
    # Networks stored with empty data say nothing: skipped, not records.
    assert report.skipped > 0


@pytest.mark.parametrize(
    "name",
    [
        "GeoIP2-Anonymous-IP-Test.mmdb",
        "GeoIP2-Connection-Type-Test.mmdb",
        "GeoIP2-Domain-Test.mmdb",
        "GeoIP2-Enterprise-Test.mmdb",
        "GeoIP2-ISP-Test.mmdb",
        "GeoLite2-ASN-Test.mmdb",
        "GeoLite2-Country-Test.mmdb",
    ],
)
def test_mmdb_ipv4_comes_out_once_as_version_4(maxmind: Path, name: str) -> None:
    path = maxmind / name
    records, report = read_all(path)
    keys = [(r.version, r.start, r.end) for r in records]
    assert len(keys) == len(set(keys)), "duplicate ranges"
    mapped = ipaddress.IPv6Network("::ffff:0:0/96")
    six_to_four = ipaddress.IPv6Network("2002::/16")
    for rec in records:
        if rec.version == 6:
            first = ipaddress.IPv6Address(rec.start)
            assert first not in mapped, f"IPv4-mapped alias leaked: {first}"
            assert first not in six_to_four, f"6to4 alias leaked: {first}"
            assert rec.start >= 2**32, "IPv4-compatible ::a.b.c.d should be version 4"
        else:
            assert rec.end < 2**32
    assert any(r.version == 4 for r in records)
    assert report.metadata["ip_version"] == "6"
    with maxminddb.open_database(path) as reader:
        # The aliases do resolve in the database itself, to the same data as IPv4.
        for rec in records[:20]:
            if rec.version == 4:
                v4 = ipaddress.IPv4Address(rec.start)
                assert reader.get(f"::ffff:{v4}") == reader.get(v4)


def test_mmdb_mapped_addresses_stored_as_data(
    maxmind: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A DB keeping ::ffff:a.b.c.d as real data: converted to IPv4, or dropped as duplicates."""
    mapped = 0xFFFF_0000_0000
    data = {"autonomous_system_number": 64500, "autonomous_system_organization": "Example"}

    def fake(nets: list[tuple[int, int, int]]) -> None:
        def networks(reader: object, path: Path) -> Iterator[tuple[int, int, int, object]]:
            for version, start, end in nets:
                yield version, start, end, data

        monkeypatch.setattr(mmdb_module, "_networks", networks)

    db = maxmind / "GeoLite2-ASN-Test.mmdb"
    fake([(6, mapped + 0x0A000000, mapped + 0x0A0000FF)])
    records, _ = read_all(db, verify=False)
    assert [(r.version, r.start, r.end) for r in records] == [(4, 0x0A000000, 0x0A0000FF)]
    fake([(4, 0x0A000000, 0x0A0000FF), (6, mapped + 0x0A000000, mapped + 0x0A0000FF)])
    records, report = read_all(db, verify=False)
    assert [(r.version, r.start) for r in records] == [(4, 0x0A000000)]
    assert report.skipped == 1


def test_mmdb_metadata(maxmind: Path) -> None:
    _, report = read_dataset(maxmind / "GeoLite2-ASN-Test.mmdb")
    meta = report.metadata
    assert meta["filename"] == "GeoLite2-ASN-Test.mmdb"
    assert meta["database_type"] == "GeoLite2-ASN"
    assert meta["build_date"].count("-") == 2
    assert meta["version"].startswith("GeoLite2-ASN ")
    assert int(meta["build_epoch"]) > 1_500_000_000


def test_mmdb_source_override(maxmind: Path) -> None:
    records, _ = read_all(maxmind / "GeoLite2-ASN-Test.mmdb", source="mirror")
    assert {r.source for r in records} == {"mirror"}


@pytest.mark.parametrize("kind", ["pointers", "search-tree"])
def test_broken_mmdb_raises_before_any_record(maxmind: Path, kind: str) -> None:
    path = maxmind / f"MaxMind-DB-test-broken-{kind}-24.mmdb"
    assert path.is_file()
    assert detect_format(path) == "mmdb"
    with pytest.raises(DatasetError, match="corrupt MaxMind DB") as info:
        read_dataset(path)
    assert path.name in str(info.value)
    print(f"\n{kind}: {info.value}")


def test_broken_mmdb_without_verify_raises_while_streaming(maxmind: Path) -> None:
    path = maxmind / "MaxMind-DB-test-broken-pointers-24.mmdb"
    # Its first networks hold data without RangeRecord fields (skipped), so priming the
    # stream already reaches the damage; without verify it shows up only when reached.
    with pytest.raises(DatasetError, match=r"after 4 networks.*data section"):  # noqa: PT012
        records, _ = read_dataset(path, verify=False)
        list(records)


def mmdblookup(tool: str, db: Path, ip: str, key: str) -> str | int | None:
    """One value via libmaxminddb's mmdblookup: '"Telstra" <utf8_string>' or '1221 <uint32>'."""
    run = subprocess.run(
        [tool, "--file", str(db), "--ip", ip, key], capture_output=True, text=True, check=False
    )
    if run.returncode != 0:
        return None  # no entry, or no such key
    value = run.stdout.strip().rsplit(" <", 1)[0]
    return json.loads(value) if value.startswith('"') else int(value)


@pytest.mark.parametrize(
    ("name", "keys"),
    [
        ("GeoLite2-ASN-Test.mmdb", {"asn": "autonomous_system_number", "org": None}),
        ("GeoIP2-ISP-Test.mmdb", {"asn": "autonomous_system_number", "isp": "isp"}),
        ("GeoIP2-Domain-Test.mmdb", {"domain": "domain"}),
    ],
)
def test_mmdblookup_agrees_if_installed(
    maxmind: Path, name: str, keys: dict[str, str | None]
) -> None:
    """An independent implementation (libmaxminddb, Debian mmdb-bin) reads the same data."""
    tool = shutil.which("mmdblookup")
    if tool is None:
        pytest.skip("mmdblookup (Debian mmdb-bin) not installed")
    db = maxmind / name
    records, _ = read_all(db)
    sample = records[:: max(1, len(records) // 40)]
    for rec in sample:
        for value in (rec.start, rec.end):
            addr = ipaddress.ip_address(value) if rec.version == 4 else ipaddress.IPv6Address(value)
            for field, key in keys.items():
                expected = getattr(rec, field)
                if key is None:  # org: GeoLite2-ASN spells it autonomous_system_organization
                    key = "autonomous_system_organization"
                got = mmdblookup(tool, db, str(addr), key)
                assert got == expected, f"{name} {addr} {key}"
    print(f"\n{name}: {len(sample)} records agree with mmdblookup")


# --- ip-location-db CSV ---------------------------------------------------------------------


@pytest.mark.parametrize(("name", "rows"), [("asn-ipv4.csv", 411_961), ("asn-ipv6.csv", 103_197)])
def test_ip_location_db_csv_reads_completely(ipdb: Path, name: str, rows: int) -> None:
    path = ipdb / "ip-location-db-asn" / name
    assert detect_format(path) == "csv"
    version = 6 if "ipv6" in name else 4
    started = time.perf_counter()
    records, report = read_dataset(path)
    count = 0
    for rec in records:
        count += 1
        assert rec.version == version
    elapsed = time.perf_counter() - started
    assert report.complete
    assert count == report.records == rows - report.bad_rows - report.skipped

    # Constant memory: trace a second pass over 100,000 records (tracing is slow); keeping
    # them would take about 25 MB.
    tracemalloc.start()
    try:
        records, _ = read_dataset(path)
        for _ in itertools.islice(records, 100_000):
            pass
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * 2**20
    print(
        f"\n{name}: {count} records in {elapsed:.2f}s ({count / elapsed:,.0f}/s), "
        f"peak traced memory {peak / 2**20:.2f} MiB (first 100k); bad rows {report.bad_rows}, "
        f"overlapping {report.overlapping}, skipped {report.skipped}, "
        f"bad examples {report.bad_examples}"
    )


def test_ip_location_db_csv_values(ipdb: Path) -> None:
    records, _ = read_dataset(ipdb / "ip-location-db-asn" / "asn-ipv4.csv")
    first = next(records)
    assert first == RangeRecord(
        int(ipaddress.IPv4Address("1.0.0.0")),
        int(ipaddress.IPv4Address("1.0.0.255")),
        4,
        "ip-location-db",
        asn=13335,
        org="Cloudflare, Inc.",
    )
    records, _ = read_dataset(ipdb / "ip-location-db-asn" / "asn-ipv6.csv", source="dbip")
    first = next(records)
    assert (first.version, first.asn, first.source) == (6, 6939, "dbip")
    assert first.start == int(ipaddress.IPv6Address("2001::"))
    assert first.end == int(ipaddress.IPv6Address("2001::ffff:ffff:ffff:ffff:ffff:ffff"))


CSV_SAMPLE = """\
start,end,asn,org
1.0.0.0,1.0.0.255,13335,"Cloudflare, Inc."
1.0.4.0,1.0.7.255,38803,Gtelecom Pty Ltd,AU,extra
1.0.5.0,1.0.5.255,64500,Nested Inside
1.0.6.0,1.0.9.255,64501,Partly Overlapping
1.0.20.0,1.0.10.255,64502,Start After End
1.0.300.0,1.0.300.255,64503,Bad IP
1.0.30.0,2001:db8::,64504,Mixed
1.0.40.0,1.0.40.255,ASX,Bad ASN
1.0.41.0,1.0.41.255,AS64505,Prefixed ASN
1.0.42.0,1.0.42.255,0,Not routed
1.0.43.0,1.0.43.255,64506,
2001:db8::,2001:db8::ffff,64507,IPv6 Example
"""


def test_csv_sample(tmp_path: Path) -> None:
    path = tmp_path / "sample.csv"
    path.write_text(CSV_SAMPLE + "1.0.44.0,1.0.44.255,64508,Soci\xe9t\xe9\n", encoding="latin-1")
    records, report = read_all(path, "csv")
    assert [r.asn for r in records] == [13335, 38803, 64500, 64501, 64505, 64506, 64507, 64508]
    assert records[0].org == "Cloudflare, Inc."
    assert records[5].org is None
    assert records[-2].version == 6
    assert records[-1].org == "Société"
    assert report.metadata["header"] == "start,end,asn,org"
    assert report.bad_rows == 4
    reasons = dict(report.bad_examples)
    assert "start after end" in reasons[6]
    assert "bad IP address" in reasons[7]
    assert "mixes IPv4 and IPv6" in reasons[8]
    assert "bad AS number" in reasons[9]
    assert report.skipped == 1  # AS 0
    # 1.0.6.0-1.0.9.255 cuts across 1.0.4.0-1.0.7.255 (behind the nested 1.0.5.0/24 row);
    # nesting itself is fine.
    assert report.overlapping == 1


def test_csv_numeric_variant(tmp_path: Path) -> None:
    path = tmp_path / "asn-ipv6-num.csv"
    path.write_text(
        "1,255,64500,Tiny\n42540766411282592856903984951653826560,"
        "42540766411282592875350729025363378175,64501,Doc\n"
    )
    records, _ = read_all(path)
    assert [r.version for r in records] == [6, 6]


# --- iptoasn --------------------------------------------------------------------------------

IPTOASN_SAMPLE = (
    "0.0.0.0\t0.255.255.255\t0\tNone\tNot routed\n"
    "1.0.0.0\t1.0.0.255\t13335\tUS\tCLOUDFLARENET\n"
    "1.0.1.0\t1.0.3.255\t0\tNone\tNot routed\n"
    "1.0.4.0\t1.0.7.255\t38803\tAU\tGTELECOM-AUSTRALIA Gtelecom Pty Ltd\n"
    "1.0.8.0\tnot-an-ip\t1\tUS\tBROKEN\n"
    "1.0.16.0\t1.0.16.255\t2519\t\tARTERIA Networks Corporation\n"
    "2001:200::\t2001:200:e00:ffff:ffff:ffff:ffff:ffff\t2500\tJP\tWIDE-BB WIDE Project\n"
)


@pytest.mark.parametrize("compressed", [False, True])
def test_iptoasn_sample(tmp_path: Path, compressed: bool) -> None:
    path = tmp_path / ("ip2asn-combined.tsv.gz" if compressed else "ip2asn-combined.tsv")
    if compressed:
        with gzip.open(path, "wt") as fh:
            fh.write(IPTOASN_SAMPLE)
    else:
        path.write_text(IPTOASN_SAMPLE)
    assert detect_format(path) == "iptoasn"
    records, report = read_all(path)
    assert [(r.version, r.asn, r.country) for r in records] == [
        (4, 13335, "US"),
        (4, 38803, "AU"),
        (4, 2519, None),
        (6, 2500, "JP"),
    ]
    assert records[0].org == "CLOUDFLARENET"
    assert records[0].source == "iptoasn"
    assert records[3].start == int(ipaddress.IPv6Address("2001:200::"))
    assert report.skipped == 2
    assert report.bad_rows == 1
    assert report.bad_examples[0][0] == 5
    assert "bad IP address" in report.bad_examples[0][1]


def test_truncated_gzip_raises(tmp_path: Path) -> None:
    full = tmp_path / "full.tsv.gz"
    with gzip.open(full, "wt") as fh:
        for i in range(20000):
            fh.write(f"10.{i // 256 % 256}.{i % 256}.0\t10.{i // 256 % 256}.{i % 256}.255\t")
            fh.write(f"{64500 + i}\tUS\tNET-{random.Random(i).random()}\n")
    cut = tmp_path / "cut.tsv.gz"
    data = full.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(DatasetError, match="truncated or corrupt"):  # noqa: PT012
        # Whether the damage shows before the first record or later depends on where it is.
        records, _ = read_dataset(cut)
        list(records)


# --- RPSL -----------------------------------------------------------------------------------

RPSL_SAMPLE = """\
#
# The contents of this file are subject to
# RIPE Database Terms and Conditions
#
# http://www.ripe.net/db/support/db-terms-conditions.pdf
#

inetnum:        85.144.0.0 - 85.151.255.255
netname:        NL-EXAMPLEISP-20050112
country:        NL
org:            ORG-EA1-RIPE
admin-c:        DUMY-RIPE
tech-c:         DUMY-RIPE
status:         ALLOCATED PA
mnt-by:         RIPE-NCC-HM-MNT
mnt-by:         EXAMPLEISP-MNT
created:        2005-01-12T10:31:06Z
last-modified:  2016-05-13T11:35:51Z
source:         RIPE # Filtered

inetnum:        85.146.212.0 - 85.146.212.255
netname:        BRIGHTWATER-NET
descr:          Brightwater Logistics B.V.
descr:          Havenweg 12, Rotterdam
country:        NL
admin-c:        DUMY-RIPE
tech-c:         DUMY-RIPE
status:         ASSIGNED PA
mnt-by:         EXAMPLEISP-MNT
remarks:        Corporate network,
                warehouse and head office
created:        2011-03-02T09:12:44Z
last-modified:  2011-03-02T09:12:44Z
source:         RIPE # Filtered

inetnum:        85.146.300.0 - 85.146.300.255
netname:        BROKEN-RANGE
descr:          Not an address
country:        NL
source:         RIPE # Filtered

inetnum:        85.146.213.0 - 85.146.212.0
netname:        BACKWARDS
source:         RIPE # Filtered

inet6num:       2a02:a440::/29
netname:        NL-EXAMPLEISP-V6
descr:          Example ISP B.V.
+
descr:          IPv6 allocation
country:        nl
org:            ORG-EA1-RIPE
status:         ALLOCATED-BY-RIR
source:         RIPE # Filtered

inet6num:       2a02:a440:1200::/48
netname:        BRIGHTWATER-V6
descr:          Brightwater
 Logistics B.V.
country:        NL
status:         ASSIGNED
source:         APNIC

inetnum:        2a02:a440::/48
netname:        WRONG-CLASS
source:         RIPE
"""


@pytest.mark.parametrize("compressed", [False, True])
def test_rpsl_sample(tmp_path: Path, compressed: bool) -> None:
    path = tmp_path / ("ripe.db.inetnum.gz" if compressed else "ripe.db.inetnum")
    data = RPSL_SAMPLE.encode("latin-1")
    path.write_bytes(gzip.compress(data) if compressed else data)
    assert detect_format(path) == "rpsl"
    records, report = read_all(path)
    by_name = {r.netname: r for r in records}
    assert list(by_name) == [
        "NL-EXAMPLEISP-20050112",
        "BRIGHTWATER-NET",
        "NL-EXAMPLEISP-V6",
        "BRIGHTWATER-V6",
    ]
    isp, company, isp6, company6 = records
    assert company == RangeRecord(
        int(ipaddress.IPv4Address("85.146.212.0")),
        int(ipaddress.IPv4Address("85.146.212.255")),
        4,
        "rpsl:ripe",
        org="Brightwater Logistics B.V.",
        country="NL",
        netname="BRIGHTWATER-NET",
        descr="Brightwater Logistics B.V.",
    )
    # The assignment nests inside the ISP allocation (nesting is not an overlap problem).
    assert isp.start <= company.start <= company.end <= isp.end
    assert report.overlapping == 0
    assert isp.org == "ORG-EA1-RIPE"  # no descr: the org handle is all there is
    assert isp.descr is None
    assert (isp6.version, isp6.country, isp6.descr) == (6, "NL", "Example ISP B.V.")
    assert isp6.end - isp6.start == 2 ** (128 - 29) - 1
    assert company6.descr == "Brightwater Logistics B.V."  # continuation line joined
    assert company6.source == "rpsl:apnic"
    assert report.bad_rows == 3
    reasons = [reason for _, reason in report.bad_examples]
    assert "bad IP address" in reasons[0]
    assert "start after end" in reasons[1]
    assert "holds an IPv6 range" in reasons[2]
    assert (
        report.bad_examples[0][0]
        == RPSL_SAMPLE.splitlines().index("inetnum:        85.146.300.0 - 85.146.300.255") + 1
    )


def test_rpsl_full_dump_skips_other_objects(tmp_path: Path) -> None:
    path = tmp_path / "afrinic.db"
    path.write_text(
        "% comment\n\nperson:  Jane Doe\nnic-hdl: JD1-AFRINIC\nsource: AFRINIC\n\n"
        "inetnum: 41.0.0.0 - 41.0.255.255\nnetname: EXAMPLE\nsource: AFRINIC\n"
    )
    assert detect_format(path) == "rpsl"
    records, report = read_all(path, source="registry")
    assert [(r.netname, r.source) for r in records] == [("EXAMPLE", "registry")]
    assert report.skipped == 1


# --- garbage and detection -------------------------------------------------------------------


def _garbage(tmp_path: Path, ipdb: Path) -> dict[str, tuple[Path, str | None]]:
    rnd = random.Random(7)
    files: dict[str, tuple[Path, str | None]] = {}

    def put(name: str, data: bytes, fmt: str | None = None) -> None:
        path = tmp_path / name
        path.write_bytes(data)
        files[name] = (path, fmt)

    put("random.bin", rnd.randbytes(4096))
    put("small-random.bin", rnd.randbytes(60))
    put("random.mmdb", rnd.randbytes(4096))
    put("empty.csv", b"")
    put("empty.mmdb", b"")
    put("blank.tsv", b"\n\n# only a comment\n")
    put("random.gz", gzip.compress(rnd.randbytes(4096)))
    put("not-gzip.tsv.gz", b"\x1f\x8b" + rnd.randbytes(500))
    put("prose.txt", b"Hello, this is not a dataset.\nJust words, commas, and more words.\n")
    csv_head = (ipdb / "ip-location-db-asn" / "asn-ipv4.csv").read_bytes()[:5000]
    put("csv-as-mmdb.csv", csv_head, "mmdb")
    put("csv-as-rpsl.csv", csv_head, "rpsl")
    put("tsv-as-csv.tsv", IPTOASN_SAMPLE.encode(), "csv")
    put("rpsl-as-iptoasn.db", RPSL_SAMPLE.encode(), "iptoasn")
    mmdb_bytes = (ipdb / "maxmind-test" / "GeoIP2-ISP-Test.mmdb").read_bytes()
    put("mmdb-as-csv.mmdb", mmdb_bytes, "csv")
    put("truncated.mmdb", mmdb_bytes[: len(mmdb_bytes) // 2])
    put("GeoLite2-ASN.mmdb.gz", gzip.compress(mmdb_bytes))
    put("GeoLite2-ASN.mmdb.gz-forced", gzip.compress(mmdb_bytes), "mmdb")
    tar_path = tmp_path / "GeoLite2-ASN.tar.gz"
    with tarfile.open(tar_path, "w:gz") as tar:
        tar.add(ipdb / "maxmind-test" / "GeoIP2-ISP-Test.mmdb", arcname="GeoLite2-ASN.mmdb")
    files["GeoLite2-ASN.tar.gz"] = (tar_path, None)
    return files


def test_garbage_files_raise_dataset_error(tmp_path: Path, ipdb: Path) -> None:
    for name, (path, fmt) in _garbage(tmp_path, ipdb).items():
        # Everything must fail in read_dataset itself, before a record is handed out.
        with pytest.raises(DatasetError) as info:
            read_dataset(path, fmt)
        message = str(info.value)
        assert path.name in message, message
        print(f"\n{name} as {fmt or 'detected'}: {message[:160]}")


def test_garbage_messages(tmp_path: Path, ipdb: Path) -> None:
    files = _garbage(tmp_path, ipdb)
    with pytest.raises(DatasetError, match="empty file"):
        detect_format(files["empty.csv"][0])
    with pytest.raises(DatasetError, match="binary data"):
        detect_format(files["random.bin"][0])
    with pytest.raises(DatasetError, match="tar archive"):
        detect_format(files["GeoLite2-ASN.tar.gz"][0])
    with pytest.raises(DatasetError, match="decompress"):
        read_dataset(files["GeoLite2-ASN.mmdb.gz-forced"][0], "mmdb")
    with pytest.raises(DatasetError, match="not a valid csv file"):
        read_dataset(files["tsv-as-csv.tsv"][0], "csv")
    with pytest.raises(DatasetError, match="not an RPSL file"):
        read_dataset(files["csv-as-rpsl.csv"][0], "rpsl")
    with pytest.raises(DatasetError, match="not a readable MaxMind DB"):
        read_dataset(files["csv-as-mmdb.csv"][0], "mmdb")
    with pytest.raises(DatasetError, match="unknown dataset format"):
        read_dataset(files["prose.txt"][0], "xml")
    with pytest.raises(DatasetError, match="cannot read"):
        read_dataset(tmp_path / "missing.csv", "csv")


def test_detect_format_each_kind(tmp_path: Path, ipdb: Path) -> None:
    assert detect_format(ipdb / "ip-location-db-asn" / "asn-ipv6.csv") == "csv"
    for path in (ipdb / "maxmind-test").glob("*.mmdb"):
        assert detect_format(path) == "mmdb", path
    # The marker decides, not the name.
    renamed = tmp_path / "asn.dat"
    renamed.write_bytes((ipdb / "maxmind-test" / "GeoLite2-ASN-Test.mmdb").read_bytes())
    assert detect_format(renamed) == "mmdb"
    csv_gz = tmp_path / "dbip-asn-lite-2024-01.csv.gz"
    csv_gz.write_bytes(gzip.compress(CSV_SAMPLE.encode()))
    assert detect_format(csv_gz) == "csv"
    tsv = tmp_path / "ip2asn-v4.tsv"
    tsv.write_text(IPTOASN_SAMPLE)
    assert detect_format(tsv) == "iptoasn"
    rpsl = tmp_path / "ripe.db.inet6num"
    rpsl.write_text(RPSL_SAMPLE)
    assert detect_format(rpsl) == "rpsl"
    assert set(FORMATS) == {"iptoasn", "csv", "mmdb", "rpsl"}
