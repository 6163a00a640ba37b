"""`spoor ipdb update` against a local HTTP server (127.0.0.1 only, never the internet).

The server serves small generated copies of every default source; a handler subclass logs
each request and adds ETag support to /api/ (as PeeringDB's API), while the plain
SimpleHTTPRequestHandler gives Last-Modified / If-Modified-Since for the files.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any

import pytest
from sqlalchemy import Engine, func, select

from spoor.db.schema import asn_types, ip_ranges, ip_sources
from spoor.identify import ipdb
from spoor.identify.update import DEFAULT_SOURCES, UpdateResult, update_sources

NOW = datetime(2024, 5, 10, 8, 0, tzinfo=UTC)
FILE_TIME = datetime(2024, 5, 1, 12, 0, tzinfo=UTC).timestamp()
NAMES = [s.name for s in DEFAULT_SOURCES]

IPTOASN = "1.0.0.0\t1.0.0.255\t13335\tUS\tCLOUDFLARENET\n1.0.1.0\t1.0.3.255\t0\tNone\tNot routed\n"
IPTOASN += "2001:db8::\t2001:db8::ffff\t64500\tNL\tEXAMPLE-AS\n"
DBIP = "1.0.0.0,1.0.0.255,13335,Cloudflare Inc.\n8.8.8.0,8.8.8.255,15169,Google LLC\n"
INETNUM = """\
% This is the RIPE Database dump.

inetnum:        193.0.0.0 - 193.0.7.255
netname:        RIPE-NCC
descr:          RIPE Network Coordination Centre
country:        NL
source:         RIPE # Filtered

inetnum:        192.0.2.0 - 192.0.2.255
netname:        EXAMPLE-CORP
descr:          Example Corp B.V.
country:        NL
source:         RIPE # Filtered
"""
INET6NUM = "inet6num:  2001:67c:2e8::/48\nnetname:   RIPE-NCC\ncountry:   NL\nsource:    RIPE\n"
CAIDA = "# format: as|source|type\n# date: 20240401\n13335|peerDB_class|Content\n"
CAIDA += "3320|CAIDA_class|Transit/Access\n64512|CAIDA_class|Enterprise\n"
PEERINGDB = {
    "data": [
        {"asn": 13335, "name": "Cloudflare", "info_type": "Content"},
        {"asn": 3320, "name": "Deutsche Telekom AG", "info_type": "Cable/DSL/ISP"},
        {"asn": 64496, "name": "Nothing said", "info_type": ""},
    ],
    "meta": {"generated": 1714521600},
}
INDEX = """<html><body><h1>Index of /datasets/as-classification</h1>
<a href="?C=N;O=D">Name</a> <a href="../">Parent Directory</a>
<a href="README.txt">README.txt</a>
<a href="20231001.as2types.txt.gz">20231001.as2types.txt.gz</a>
<a href="20240401.as2types.txt.gz">20240401.as2types.txt.gz</a>
<a href="20240101.as2types.txt.gz">20240101.as2types.txt.gz</a>
</body></html>
"""


def gz(text: str) -> bytes:
    return gzip.compress(text.encode(), mtime=0)


def write(path: Path, data: bytes, when: float = FILE_TIME) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, (when, when))


def make_site(root: Path) -> None:
    """The files of every default source, at the paths the test URLs point to."""
    write(root / "data/ip2asn-combined.tsv.gz", gz(IPTOASN))
    write(root / "free/dbip-asn-lite-2024-04.csv.gz", gz(DBIP))  # no May file yet: fallback
    write(root / "ripe/ripe.db.inetnum.gz", gz(INETNUM))
    write(root / "ripe/ripe.db.inet6num.gz", gz(INET6NUM))
    caida = root / "datasets/as-classification"
    write(caida / "index.html", INDEX.encode())
    write(caida / "20240401.as2types.txt.gz", gz(CAIDA))
    write(caida / "20240101.as2types.txt.gz", gz(CAIDA.replace("Content", "Enterprise")))
    write(root / "api/net", json.dumps(PEERINGDB).encode())


@dataclass
class Site:
    root: Path
    base: str
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    codes: list[tuple[str, int]] = field(default_factory=list)

    def urls(self) -> dict[str, str]:
        b = self.base
        return {
            "iptoasn-combined": f"{b}/data/ip2asn-combined.tsv.gz",
            "dbip-asn-lite": b + "/free/dbip-asn-lite-{YYYY}-{MM}.csv.gz",
            "ripe-inetnum": f"{b}/ripe/ripe.db.inetnum.gz",
            "ripe-inet6num": f"{b}/ripe/ripe.db.inet6num.gz",
            "caida-as2types": f"{b}/datasets/as-classification/",
            "peeringdb-net": f"{b}/api/net?depth=0",
        }


class Handler(SimpleHTTPRequestHandler):
    site: Site

    def send_head(self) -> Any:
        self.site.requests.append((self.path, dict(self.headers)))
        self.etag = None
        if self.path.startswith("/status/"):
            self.send_error(int(self.path.split("/")[2]))
            return None
        if self.path.startswith("/api/"):
            body = Path(self.translate_path(self.path)).read_bytes()
            self.etag = f'"{hashlib.sha256(body).hexdigest()[:16]}"'
            if self.headers.get("If-None-Match") == self.etag:
                self.send_response(304)
                self.end_headers()
                return None
        return super().send_head()

    def end_headers(self) -> None:
        if self.etag:
            self.send_header("ETag", self.etag)
        super().end_headers()

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        self.site.codes.append((self.path, int(code)))

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    root = tmp_path / "www"
    make_site(root)
    site = Site(root, "")
    handler = type("SiteHandler", (Handler,), {"site": site})
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(root)))
    site.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield site
    server.shutdown()
    server.server_close()
    thread.join()


def by_name(results: list[UpdateResult]) -> dict[str, UpdateResult]:
    return {r.source: r for r in results}


def source_rows(engine: Engine, name: str) -> int:
    with engine.connect() as conn:
        sid = conn.execute(select(ip_sources.c.id).where(ip_sources.c.name == name)).scalar()
        ranges = select(func.count()).select_from(ip_ranges).where(ip_ranges.c.source_id == sid)
        types = select(func.count()).select_from(asn_types).where(asn_types.c.source_id == sid)
        return int(conn.execute(ranges).scalar_one()) + int(conn.execute(types).scalar_one())


def test_all_sources_imported_then_unchanged(engine: Engine, site: Site, tmp_path: Path) -> None:
    downloads = tmp_path / "downloads"
    seen: list[tuple[str, int, int | None]] = []
    results = update_sources(
        engine, downloads, now=NOW, url_overrides=site.urls(), timeout=5,
        progress=lambda name, done, total: seen.append((name, done, total)),
    )  # fmt: skip
    assert [r.source for r in results] == NAMES
    assert {r.source: r.status for r in results} == dict.fromkeys(NAMES, "imported"), results
    status = {s.name: s for s in ipdb.status(engine)}
    assert {n: (status[n].records, status[n].version) for n in NAMES} == {
        "iptoasn-combined": (2, "2024-05-01T12:00:00Z"),  # the server's Last-Modified
        "dbip-asn-lite": (2, "2024-04"),  # May was 404: last month's file, dated by its name
        "ripe-inetnum": (2, "2024-05-01T12:00:00Z"),
        "ripe-inet6num": (1, "2024-05-01T12:00:00Z"),
        "caida-as2types": (3, "2024-04-01"),  # newest file of the listing, its # date:
        "peeringdb-net": (2, "2024-05-01T00:00:00Z"),  # meta.generated; empty type skipped
    }
    assert (
        status["dbip-asn-lite"].details["metadata"]["url"].endswith("dbip-asn-lite-2024-04.csv.gz")
    )
    assert status["iptoasn-combined"].imported_at == int(NOW.timestamp())
    assert ("/free/dbip-asn-lite-2024-05.csv.gz", 404) in site.codes
    assert source_rows(engine, "caida-as2types") == 3
    with engine.connect() as conn:
        types = dict(conn.execute(select(asn_types.c.asn, asn_types.c.network_type)).all())
    assert types[13335] == "Content"
    assert types[3320] in ("Transit/Access", "Cable/DSL/ISP")
    assert all(h.get("User-Agent") == "spoor-ipdb-update" for _, h in site.requests)
    assert ("peeringdb-net", len(json.dumps(PEERINGDB)), len(json.dumps(PEERINGDB))) in seen
    assert not [p for p in downloads.iterdir() if p.name.endswith(".part")]

    site.requests.clear()
    site.codes.clear()
    again = update_sources(engine, downloads, now=NOW, url_overrides=site.urls(), timeout=5)
    assert {r.source: r.status for r in again} == dict.fromkeys(NAMES, "unchanged"), again
    assert by_name(again)["caida-as2types"].version == "2024-04-01"
    assert by_name(again)["ripe-inetnum"].records == 2
    fetched = dict(site.codes)
    assert fetched["/data/ip2asn-combined.tsv.gz"] == 304  # If-Modified-Since honoured
    assert fetched["/api/net?depth=0"] == 304  # If-None-Match honoured
    assert fetched["/datasets/as-classification/20240401.as2types.txt.gz"] == 304
    assert fetched["/free/dbip-asn-lite-2024-04.csv.gz"] == 304
    headers = dict(site.requests)
    assert headers["/api/net?depth=0"]["If-None-Match"].startswith('"')
    assert "If-Modified-Since" in headers["/ripe/ripe.db.inetnum.gz"]


def test_failing_sources_keep_previous_data(engine: Engine, site: Site, tmp_path: Path) -> None:
    downloads = tmp_path / "downloads"
    first = update_sources(engine, downloads, now=NOW, url_overrides=site.urls(), timeout=5)
    assert {r.status for r in first} == {"imported"}
    before = {s.name: s for s in ipdb.status(engine)}
    rows_before = {n: source_rows(engine, n) for n in NAMES}

    later = FILE_TIME + 86400
    good = gz(IPTOASN * 200)
    write(site.root / "data/ip2asn-combined.tsv.gz", good[: len(good) // 2], later)  # truncated
    write(site.root / "ripe/ripe.db.inetnum.gz", gz("<html>Service unavailable</html>\n"), later)
    net = {"data": [*PEERINGDB["data"], {"asn": 2914, "name": "NTT", "info_type": "NSP"}]}
    write(site.root / "api/net", json.dumps(net).encode(), later)
    urls = site.urls() | {"caida-as2types": f"{site.base}/status/500/"}

    results = by_name(update_sources(engine, downloads, now=NOW, url_overrides=urls, timeout=5))
    assert {n: r.status for n, r in results.items()} == {
        "iptoasn-combined": "failed",
        "dbip-asn-lite": "unchanged",
        "ripe-inetnum": "failed",
        "ripe-inet6num": "unchanged",
        "caida-as2types": "failed",
        "peeringdb-net": "imported",
    }
    assert "corrupt or truncated" in results["iptoasn-combined"].message
    assert "not an RPSL file" in results["ripe-inetnum"].message
    assert "HTTP 500" in results["caida-as2types"].message
    assert all(
        r.message.endswith("previous data kept") for r in results.values() if r.status == "failed"
    )
    after = {s.name: s for s in ipdb.status(engine)}
    for name in ("iptoasn-combined", "ripe-inetnum", "caida-as2types"):
        assert (after[name].records, after[name].version) == (
            before[name].records,
            before[name].version,
        )
        assert source_rows(engine, name) == rows_before[name]
    assert after["peeringdb-net"].records == 3
    # The corrupt download never replaced the last good file.
    assert gzip.decompress((downloads / "ip2asn-combined.tsv.gz").read_bytes()).decode() == IPTOASN


@pytest.mark.parametrize(
    ("now", "served", "expected"),
    [
        (datetime(2024, 5, 10, tzinfo=UTC), ["2024-04", "2024-05"], "2024-05"),
        (datetime(2025, 1, 2, tzinfo=UTC), ["2024-11", "2024-12"], "2024-12"),
    ],
)
def test_dbip_month(
    engine: Engine, site: Site, tmp_path: Path, now: datetime, served: list[str], expected: str
) -> None:
    for month in served:
        write(site.root / f"free/dbip-asn-lite-{month}.csv.gz", gz(DBIP))
    [result] = update_sources(
        engine, tmp_path / "dl", now=now, sources=DEFAULT_SOURCES[1:2], url_overrides=site.urls()
    )
    assert (result.status, result.version) == ("imported", expected)


def test_from_dir_never_touches_the_network(engine: Engine, site: Site, tmp_path: Path) -> None:
    local = tmp_path / "offline"
    write(local / "ip2asn-combined.tsv.gz", gz(IPTOASN))
    write(local / "dbip-asn-lite-2024-02.csv.gz", gz(DBIP.splitlines()[0] + "\n"))
    write(local / "dbip-asn-lite-2024-03.csv.gz", gz(DBIP))  # newest dated file wins
    write(local / "ripe.db.inetnum.gz", gz(INETNUM))
    write(local / "20240401.as2types.txt", CAIDA.encode())  # not compressed: fine too
    dump = {"net": {"data": PEERINGDB["data"]}, "org": {"data": []}}
    write(local / "peeringdb_2_dump_2024_04_02.json", json.dumps(dump).encode())

    def no_network(url: str) -> IO[bytes]:
        raise AssertionError(f"network used in from_dir mode: {url}")

    urls = dict.fromkeys(NAMES, site.base + "/")
    results = by_name(
        update_sources(
            engine, tmp_path / "dl", now=NOW, from_dir=local, url_overrides=urls, opener=no_network
        )
    )
    assert site.requests == []
    assert {n: (r.status, r.version) for n, r in results.items()} == {
        "iptoasn-combined": ("imported", "2024-05-01T12:00:00Z"),  # the file's date
        "dbip-asn-lite": ("imported", "2024-03"),
        "ripe-inetnum": ("imported", "2024-05-01T12:00:00Z"),
        "ripe-inet6num": ("skipped", None),
        "caida-as2types": ("imported", "2024-04-01"),
        "peeringdb-net": ("imported", "2024-04-02"),
    }
    assert "ripe.db.inet6num.gz" in results["ripe-inet6num"].message
    assert results["dbip-asn-lite"].records == 2
    again = update_sources(engine, tmp_path / "dl", now=NOW, from_dir=local, opener=no_network)
    assert {r.status for r in again} == {"unchanged", "skipped"}
    assert site.requests == []


def test_unreachable_host_fails_fast(engine: Engine, tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nobody listens on: connection refused at once
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    urls = {name: f"http://127.0.0.1:{closed}/{name}" for name in NAMES}
    urls["caida-as2types"] = f"http://127.0.0.1:{closed}/listing/"
    started = time.monotonic()
    results = update_sources(engine, tmp_path / "dl", now=NOW, url_overrides=urls, timeout=5)
    assert time.monotonic() - started < 5
    assert {r.status for r in results} == {"failed"}
    assert results[0].message.startswith(f"cannot reach 127.0.0.1:{closed}: connection refused")
    assert "not retried" in results[1].message  # the same host is not tried again
    assert ipdb.status(engine) == []


def test_silent_server_times_out(engine: Engine, tmp_path: Path) -> None:
    with socket.socket() as sock:  # accepts connections (backlog) but never answers
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/ip2asn-combined.tsv.gz"
        started = time.monotonic()
        [result] = update_sources(
            engine, tmp_path / "dl", now=NOW, sources=DEFAULT_SOURCES[:1],
            url_overrides={"iptoasn-combined": url}, timeout=0.5,
        )  # fmt: skip
    assert time.monotonic() - started < 3
    assert result.status == "failed"
    assert "no answer within 0.5 s" in result.message


def test_custom_opener_and_content_hash(engine: Engine, site: Site, tmp_path: Path) -> None:
    calls: list[str] = []

    def opener(url: str) -> IO[bytes]:
        calls.append(url)
        return (site.root / "data/ip2asn-combined.tsv.gz").open("rb")

    def run() -> UpdateResult:
        [result] = update_sources(
            engine, tmp_path / "dl", now=NOW, sources=DEFAULT_SOURCES[:1], opener=opener
        )
        return result

    assert run().status == "imported"
    assert run().status == "unchanged"  # no validators from this opener: same bytes, no import
    assert calls == [DEFAULT_SOURCES[0].url] * 2
    assert site.requests == []


def test_name_lookup_is_bounded_by_the_timeout(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No real lookup: getaddrinfo is replaced by one that hangs, then by one that fails.
    release = threading.Event()

    def hanging(*args: Any, **kwargs: Any) -> Any:
        release.wait(10)
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    def failing(*args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    urls = {"iptoasn-combined": "https://mirror.example.invalid/ip2asn-combined.tsv.gz"}
    run = partial(
        update_sources, engine, tmp_path / "dl", now=NOW, sources=DEFAULT_SOURCES[:1],
        url_overrides=urls, timeout=0.3,
    )  # fmt: skip
    monkeypatch.setattr(socket, "getaddrinfo", hanging)
    started = time.monotonic()
    [result] = run()
    release.set()
    assert time.monotonic() - started < 2
    assert result.status == "failed"
    assert "name lookup of mirror.example.invalid took longer than 0.3 s" in result.message
    monkeypatch.setattr(socket, "getaddrinfo", failing)
    [result] = run()
    assert result.message.startswith("cannot reach mirror.example.invalid: host name not found")
