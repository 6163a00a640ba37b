"""`spoor ipdb update`: download the free IP datasets, verify them, import them as sources.

Each file is fetched (or taken from `from_dir`), checked (gzip read to the end, not empty, its
reader accepts it) and only then imported. ipdb replaces a source in one transaction, so a
failed source keeps its previous data. ETag / If-Modified-Since and a content hash make a
repeated run cheap ("unchanged"). See docs/ipdb-update.md."""

from __future__ import annotations

import fnmatch
import hashlib
import html
import http.client
import json
import logging
import os
import re
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import IO, Any, Literal

from sqlalchemy import Engine

from spoor.identify import ipdb
from spoor.identify.asntypes import read_asn_types
from spoor.identify.datasets import DatasetError, read_dataset
from spoor.identify.datasets.base import READ_ERRORS, open_binary

log = logging.getLogger(__name__)

USER_AGENT = "spoor-ipdb-update"
CHUNK = 1 << 20
STATE_FILE = "update-state.json"  # per source: download validators and what was imported
MAX_INDEX_BYTES = 4 << 20  # a directory listing larger than this is not one
# A release date in a file name: 20210401, 2024-05, 2024_05_01.
_DATE = re.compile(r"(?<!\d)(20\d\d)[-_.]?(0[1-9]|1[0-2])(?:[-_.]?(0[1-9]|[12]\d|3[01]))?(?!\d)")
_HREF = re.compile(r"""href\s*=\s*["']?([^"'\s>]+)""", re.IGNORECASE)
Opener = Callable[[str], IO[bytes]]
Progress = Callable[[str, int, int | None], None]  # (source name, bytes so far, total or None)


@dataclass(frozen=True)
class Source:
    """A dataset to keep up to date. A URL ending in "/" is a directory listing whose newest
    link matching patterns[0] is fetched; {YYYY} and {MM} stand for the month of `now`."""

    name: str  # source name stored in ip_sources
    url: str
    filename: str  # name in the download dir
    kind: str  # "ranges" (ipdb.import_dataset) or "asn_types" (ipdb.import_asn_types)
    fmt: str | None
    patterns: tuple[str, ...] = ()  # dated names also accepted in from_dir, newest wins


# fmt: off
DEFAULT_SOURCES: tuple[Source, ...] = (
    Source("iptoasn-combined", "https://iptoasn.com/data/ip2asn-combined.tsv.gz",
           "ip2asn-combined.tsv.gz", "ranges", "iptoasn", ("ip2asn-combined.tsv*",)),
    Source("dbip-asn-lite", "https://download.db-ip.com/free/dbip-asn-lite-{YYYY}-{MM}.csv.gz",
           "dbip-asn-lite.csv.gz", "ranges", "csv", ("dbip-asn-lite-*.csv*",)),
    Source("ripe-inetnum", "https://ftp.ripe.net/ripe/dbase/split/ripe.db.inetnum.gz",
           "ripe.db.inetnum.gz", "ranges", "rpsl", ("ripe.db.inetnum*",)),
    Source("ripe-inet6num", "https://ftp.ripe.net/ripe/dbase/split/ripe.db.inet6num.gz",
           "ripe.db.inet6num.gz", "ranges", "rpsl", ("ripe.db.inet6num*",)),
    Source("caida-as2types", "https://publicdata.caida.org/datasets/as-classification/",
           "caida.as2types.txt.gz", "asn_types", "caida", ("*.as2types.txt*",)),
    Source("peeringdb-net", "https://www.peeringdb.com/api/net?depth=0",
           "peeringdb-net.json", "asn_types", "peeringdb", ("peeringdb*.json*",)),
)
# fmt: on


@dataclass
class UpdateResult:
    source: str  # Source.name
    status: Literal["imported", "unchanged", "failed", "skipped"]
    version: str | None
    records: int
    message: str
    seconds: float


class UpdateError(Exception):
    """One source cannot be updated; the message says why, for the operator."""


class _Missing(UpdateError):
    """from_dir holds no file for the source: skipped, not failed."""


@dataclass
class _File:
    path: Path
    meta: dict[str, Any] = field(default_factory=dict)  # url, remote_name, etag, last_modified
    checked: bool = False  # gzip integrity already verified


def update_sources(
    engine: Engine,
    download_dir: Path,
    *,
    now: datetime,
    from_dir: Path | None = None,
    sources: Sequence[Source] = DEFAULT_SOURCES,
    url_overrides: Mapping[str, str] | None = None,
    opener: Opener | None = None,
    progress: Progress | None = None,
    timeout: float = 60.0,
) -> list[UpdateResult]:
    """Update every source; one result each, in order; a failing source never stops the rest.

    With from_dir nothing is downloaded. `opener(url)` replaces urllib; it gets no conditional
    headers, so then only the content hash tells an unchanged file."""
    download_dir.mkdir(parents=True, exist_ok=True)
    state_path = download_dir / STATE_FILE
    state = _load_state(state_path)
    fetcher = _Fetcher(opener, progress, timeout)
    results = []
    for source in sources:
        started = time.monotonic()
        entry = state.setdefault(source.name, {})
        try:
            if from_dir is None:
                url = (url_overrides or {}).get(source.name, source.url)
                file = fetcher.download(source, url, download_dir, entry, now)
            else:
                file = _local_file(source, from_dir)
            result = _import(engine, source, file, entry, now)
        except _Missing as exc:
            result = UpdateResult(source.name, "skipped", None, 0, str(exc), 0)
        except (UpdateError, DatasetError) as exc:
            result = UpdateResult(source.name, "failed", None, 0, f"{exc}; previous data kept", 0)
        except Exception as exc:  # a database error or a bug must not stop the other sources
            log.exception("updating %s failed", source.name)
            result = UpdateResult(source.name, "failed", None, 0, f"unexpected error: {exc!r}", 0)
        result.seconds = round(time.monotonic() - started, 3)
        results.append(result)
        _save_state(state_path, state)
    return results


def _import(
    engine: Engine, source: Source, file: _File, entry: dict[str, Any], now: datetime
) -> UpdateResult:
    if not (digest := file.meta.get("sha256")):
        with file.path.open("rb") as fh:
            digest = hashlib.file_digest(fh, "sha256").hexdigest()
    current = {s.name: s for s in ipdb.status(engine)}.get(source.name)
    last = (entry.get("imported_sha256"), entry.get("imported_at"))
    if current and last == (digest, current.imported_at):  # nobody replaced our import since
        message = "already imported"
        return UpdateResult(source.name, "unchanged", current.version, current.records, message, 0)
    if source.kind not in ("ranges", "asn_types"):
        raise UpdateError(f"unknown source kind {source.kind!r} (ranges or asn_types)")
    if not file.checked:
        _check_content(file.path, str(file.path))
    stamp = int(now.timestamp())
    if source.kind == "asn_types":
        types, areport = read_asn_types(file.path, source.fmt)
        items = list(types)  # the bad row count must be known before the import starts
        version = _version(areport.metadata, file)
        args = (source.name, areport.format, str(file.path), iter(items), stamp, version)
        status = ipdb.import_asn_types(engine, *args, areport.bad_rows)
        bad = areport.bad_rows
    else:
        records, report = read_dataset(file.path, source.fmt)  # raises early for a wrong file
        version = _version(report.metadata, file)
        if version:
            report.metadata.setdefault("version", version)  # ipdb stores the version from here
        report.metadata.update({k: str(v) for k, v in file.meta.items() if v})
        report.metadata["sha256"] = digest
        status = ipdb.import_dataset(
            engine, file.path, stamp, source.fmt, source.name, records, report
        )
        bad = report.bad_rows
    entry.update(imported_sha256=digest, imported_at=status.imported_at)
    note = f", {bad} bad rows" if bad else ""
    message = f"{status.records} records from {file.path.name}{note}"
    return UpdateResult(source.name, "imported", status.version, status.records, message, 0)


@dataclass
class _Fetcher:
    opener: Opener | None
    progress: Progress | None
    timeout: float
    # Hosts that could not be reached are not waited for again (RIPE serves two files).
    dead: dict[str, str] = field(default_factory=dict)

    def download(
        self, source: Source, url: str, directory: Path, entry: dict[str, Any], now: datetime
    ) -> _File:
        final = directory / source.filename
        saved: dict[str, Any] = entry.get("download", {})
        if url.endswith("/"):
            url = self._discover(url, source.patterns[0] if source.patterns else "*")
        candidates = [url]
        if "{YYYY}" in url:  # a monthly file appears some time into its month: try last month's
            prev = (now.year, now.month - 1) if now.month > 1 else (now.year - 1, 12)
            months = ((now.year, now.month), prev)
            candidates = [
                url.replace("{YYYY}", f"{y}").replace("{MM}", f"{m:02d}") for y, m in months
            ]
        for i, candidate in enumerate(candidates):
            headers = {}
            if final.is_file() and saved.get("url") == candidate:
                validators = {"If-None-Match": "etag", "If-Modified-Since": "last_modified"}
                headers = {h: saved[k] for h, k in validators.items() if saved.get(k)}
            try:
                response = self._open(candidate, headers)
            except urllib.error.HTTPError as exc:
                exc.close()
                if exc.code == 304:
                    return _File(final, dict(saved))
                if exc.code == 404 and i + 1 < len(candidates):
                    continue
                raise UpdateError(
                    f"download failed: HTTP {exc.code} {exc.reason}: {candidate}"
                ) from None
            with response:
                meta = self._save(source.name, candidate, response, final)
            entry["download"] = meta
            return _File(final, dict(meta), checked=True)
        raise AssertionError("every candidate returns or raises")

    def _open(self, url: str, headers: Mapping[str, str]) -> IO[bytes]:
        host = urllib.parse.urlsplit(url).netloc or url
        if host in self.dead:
            raise UpdateError(f"{self.dead[host]} (not retried)")
        try:
            if self.opener is not None:
                return self.opener(url)
            _resolve_within(url, self.timeout)
            request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, **headers})
            return urllib.request.urlopen(request, timeout=self.timeout)  # type: ignore[no-any-return]
        except urllib.error.HTTPError:
            raise
        except (OSError, http.client.HTTPException) as exc:  # URLError is an OSError
            reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
            self.dead[host] = _unreachable(host, reason, self.timeout)
            raise UpdateError(self.dead[host]) from exc

    def _discover(self, url: str, pattern: str) -> str:
        """The newest file matching pattern linked from a directory index (dated names)."""
        try:
            with self._open(url, {}) as response:
                page = response.read(MAX_INDEX_BYTES).decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            exc.close()
            raise UpdateError(f"listing failed: HTTP {exc.code} {exc.reason}: {url}") from None
        targets = [urllib.parse.urljoin(url, html.unescape(h)) for h in _HREF.findall(page)]
        links = {_basename(t): t for t in targets if fnmatch.fnmatch(_basename(t), pattern)}
        if not links:
            raise UpdateError(f"no file matching {pattern!r} listed at {url}")
        return links[max(links)]

    def _save(self, name: str, url: str, response: IO[bytes], final: Path) -> dict[str, Any]:
        """Stream to a temporary file, verify it, then move it into place atomically."""
        headers: Any = getattr(response, "headers", None) or {}
        total = int(headers.get("Content-Length") or 0) or None
        tmp = final.with_name(f".{final.name}.part")
        digest = hashlib.sha256()
        done = 0
        try:
            with tmp.open("wb") as out:
                while chunk := response.read(CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
                    done += len(chunk)
                    if self.progress is not None:
                        self.progress(name, done, total)
            _check_content(tmp, f"file downloaded from {url}")
            os.replace(tmp, final)
        except (OSError, http.client.HTTPException) as exc:
            host = urllib.parse.urlsplit(url).netloc
            raise UpdateError(f"download from {host} broke off after {done} bytes: {exc}") from exc
        finally:
            tmp.unlink(missing_ok=True)
        return {
            "url": url,
            "remote_name": _basename(url),
            "etag": headers.get("ETag"),
            "last_modified": headers.get("Last-Modified"),
            "sha256": digest.hexdigest(),
        }


def _basename(url: str) -> str:
    return urllib.parse.unquote(urllib.parse.urlsplit(url).path.rsplit("/", 1)[-1])


def _resolve_within(url: str, timeout: float) -> None:
    """Look the host up with a deadline: getaddrinfo ignores socket timeouts."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    proxied = parts.scheme in urllib.request.getproxies() and not urllib.request.proxy_bypass(host)
    if not host or parts.scheme not in ("http", "https") or proxied:
        return  # nothing to look up here, or the proxy does it
    errors: list[OSError] = []

    def lookup() -> None:
        try:
            socket.getaddrinfo(host, parts.port or 443, type=socket.SOCK_STREAM)
        except OSError as exc:
            errors.append(exc)

    thread = threading.Thread(target=lookup, daemon=True)  # left behind if it hangs
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise TimeoutError(f"name lookup of {host} took longer than {timeout:g} s")
    if errors:
        raise errors[0]


def _unreachable(host: str, reason: object, timeout: float) -> str:
    if isinstance(reason, socket.gaierror):
        return f"cannot reach {host}: host name not found (no network?): {reason.strerror}"
    if isinstance(reason, TimeoutError):
        return f"cannot reach {host}: no answer within {timeout:g} s ({reason})"
    if isinstance(reason, ConnectionRefusedError):
        return f"cannot reach {host}: connection refused"
    return f"cannot reach {host}: {reason}"


def _check_content(path: Path, label: str) -> None:
    """Read the whole file (through gzip), so truncation or a bad CRC shows before import."""
    size = 0
    try:
        with open_binary(path) as fh:
            while chunk := fh.read(CHUNK):
                size += len(chunk)
    except (*READ_ERRORS, ValueError) as exc:
        raise UpdateError(f"{label}: corrupt or truncated: {exc}") from exc
    if size == 0:
        raise UpdateError(f"{label}: empty file")


def _local_file(source: Source, directory: Path) -> _File:
    found = [directory / source.filename] if (directory / source.filename).is_file() else []
    found = found or [
        p
        for pattern in source.patterns
        for p in directory.glob(pattern)
        if p.is_file() and not p.name.startswith(".") and p.name != STATE_FILE
    ]
    if not found:
        raise _Missing(f"no {', '.join((source.filename, *source.patterns))} in {directory}")
    path = max(found, key=lambda p: p.name)  # dated names sort by date
    return _File(path, {"file_date": _iso(path.stat().st_mtime)})


def _version(metadata: Mapping[str, str], file: _File) -> str | None:
    """The data's date: the file's own, else a date in its name, else the server's or the
    file's modification time."""
    for key in ("version", "build_date", "date"):
        if value := metadata.get(key):
            return _name_date(value) or value
    if generated := metadata.get("generated"):
        return _iso(float(generated))
    if name_date := _name_date(file.meta.get("remote_name") or file.path.name):
        return name_date
    if modified := file.meta.get("last_modified"):
        try:
            return _iso(parsedate_to_datetime(modified).timestamp())
        except (TypeError, ValueError):
            return str(modified)[:100]
    return file.meta.get("file_date")


def _name_date(text: str) -> str | None:
    match = _DATE.search(text)
    return "-".join(g for g in match.groups() if g) if match else None


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _load_state(path: Path) -> dict[str, dict[str, Any]]:
    try:  # missing or damaged: this run simply downloads and compares again
        data = json.loads(path.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _save_state(path: Path, state: Mapping[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_text(json.dumps(state, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)
