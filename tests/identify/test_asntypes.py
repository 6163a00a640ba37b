"""AS classification readers: CAIDA as2types and PeeringDB network JSON, plain and gzip."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from spoor.identify.asntypes import AsnType, detect_asn_format, read_asn_types
from spoor.identify.datasets import DatasetError

CAIDA = """\
# format: as|source|type
# date: 20210401
# name: as2type
1|CAIDA_class|Transit/Access
13335|peerDB_class|Content

64512|CAIDA_class|enterprise
AS64513|CAIDA_class|Enterprise
notanumber|CAIDA_class|Content
7|CAIDA_class|Hosting
8|CAIDA_class
"""

PEERINGDB = {
    "data": [
        {"id": 1, "asn": 13335, "name": "Cloudflare", "info_type": "Content", "notes": "x" * 50},
        {"id": 2, "asn": 3320, "name": "Deutsche Telekom AG", "info_type": "Cable/DSL/ISP"},
        {"id": 3, "asn": 64496, "name": "Quiet Net", "info_type": ""},
        {"id": 4, "asn": "AS-bad", "name": "Broken", "info_type": "NSP"},
        {"id": 5, "asn": 64497, "name": "Newer API", "info_type": "", "info_types": ["NSP"]},
        {"id": 6, "asn": 2914, "name": " NTT ", "info_type": "NSP"},
    ],
    "meta": {"generated": 1714521600.5},
}


def _write(path: Path, text: str | bytes, gz: bool = False) -> Path:
    data = text.encode() if isinstance(text, str) else text
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


@pytest.mark.parametrize("gz", [False, True])
def test_caida_as2types(tmp_path: Path, gz: bool) -> None:
    path = _write(tmp_path / ("20210401.as2types.txt" + (".gz" if gz else "")), CAIDA, gz)
    assert detect_asn_format(path) == "caida"
    records, report = read_asn_types(path)
    assert list(records) == [
        AsnType(1, "Transit/Access"),
        AsnType(13335, "Content"),
        AsnType(64512, "Enterprise"),  # spelling normalized to what the classifier maps
        AsnType(64513, "Enterprise"),
    ]
    assert (report.format, report.records, report.bad_rows, report.complete) == (
        "caida",
        4,
        3,
        True,
    )
    assert [line for line, _ in report.bad_examples] == [9, 10, 11]
    assert "bad AS number" in report.bad_examples[0][1]
    assert "unknown AS type 'Hosting'" in report.bad_examples[1][1]
    assert report.metadata["date"] == "20210401"
    assert report.metadata["format"] == "as|source|type"


@pytest.mark.parametrize("gz", [False, True])
def test_peeringdb_api_json(tmp_path: Path, gz: bool) -> None:
    path = _write(tmp_path / "net.json", json.dumps(PEERINGDB), gz)
    assert detect_asn_format(path) == "peeringdb"
    records, report = read_asn_types(path)
    assert list(records) == [
        AsnType(13335, "Content", "Cloudflare"),
        AsnType(3320, "Cable/DSL/ISP", "Deutsche Telekom AG"),
        AsnType(64497, "NSP", "Newer API"),
        AsnType(2914, "NSP", "NTT"),
    ]
    assert (report.records, report.skipped, report.bad_rows) == (4, 1, 1)
    assert report.bad_examples[0][0] == 4
    assert report.metadata["generated"] == "1714521600.5"


def test_peeringdb_dump_layout(tmp_path: Path) -> None:
    dump = {"org": {"data": [{"id": 1, "name": "Org"}]}, "net": {"data": PEERINGDB["data"][:2]}}
    path = _write(tmp_path / "peeringdb_2_dump_2024_04_01.json", json.dumps(dump))
    records, report = read_asn_types(path, "peeringdb")
    assert [r.asn for r in records] == [13335, 3320]
    assert report.complete


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty file"),
        (b"hello world\nthis is not data\n", "neither a CAIDA as2types file"),
        (b"\x00\x01\x02binary\xff" * 20, "neither a CAIDA as2types file"),
        (b'{"foo": [1, 2]}', "not PeeringDB networks"),
        (b'{"data": [1, 2', "not valid JSON"),
        (b'{"data": []}', "no peeringdb data rows"),
        (b"# only comments\n", "neither a CAIDA"),
        ("".join(f"{i}|x|Mainframe\n" for i in range(1, 20)).encode(), "none of the first 10"),
    ],
)
def test_garbage_raises_dataset_error(tmp_path: Path, content: bytes, message: str) -> None:
    path = _write(tmp_path / "file.txt", content)
    with pytest.raises(DatasetError, match=message):
        read_asn_types(path)


def test_truncated_gzip_raises(tmp_path: Path) -> None:
    data = gzip.compress(CAIDA.encode() * 2000)
    path = _write(tmp_path / "x.as2types.txt.gz", data[: len(data) // 2])
    records, _ = read_asn_types(path)  # the start of the file is fine
    with pytest.raises(DatasetError, match="truncated or corrupt"):
        list(records)
    json_path = _write(tmp_path / "net.json.gz", gzip.compress(json.dumps(PEERINGDB).encode())[:60])
    with pytest.raises(DatasetError):
        read_asn_types(json_path)


def test_wrong_explicit_format_and_unknown_format(tmp_path: Path) -> None:
    path = _write(tmp_path / "net.json", json.dumps(PEERINGDB))
    with pytest.raises(DatasetError, match="not a valid caida file: no row parses"):
        read_asn_types(path, "caida")
    with pytest.raises(DatasetError, match="unknown AS type format"):
        read_asn_types(path, "maxmind")
