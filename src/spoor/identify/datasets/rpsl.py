"""Reader for RPSL registry dumps (RIPE/APNIC/AFRINIC split dumps): inetnum and inet6num."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator
from pathlib import Path

from spoor.identify.types import RangeRecord

from .base import (
    READ_ERRORS,
    DatasetError,
    ReadReport,
    RowError,
    RowLedger,
    open_text,
    parse_range,
    read_error,
)

# "key:   value"; keys are letters, digits, '-' and '_' starting at column 0.
ATTRIBUTE = re.compile(r"([A-Za-z0-9][A-Za-z0-9_-]*):(.*)")
RANGE_CLASSES = {"inetnum": 4, "inet6num": 6}
REGISTRIES = ("ripe", "apnic", "afrinic", "arin", "lacnic", "radb", "jpnic", "krnic")
# Objects are a few dozen lines; a longer run without a blank line is not RPSL data.
MAX_OBJECT_LINES = 5000


def read_rpsl(
    path: Path, report: ReadReport, source: str | None, verify: bool = True
) -> Iterator[RangeRecord]:
    """Records of the inetnum/inet6num objects of an RPSL dump; other objects are skipped.

    A record carries netname, the first descr line, country and source. Split dumps hold no
    organisation names, only handles, so org is the first descr line (usually the holder's
    name) and falls back to the org: handle such as "ORG-EA1-RIPE".
    """
    del verify
    default_source = source or _source_from_name(path)
    ledger = RowLedger(path, report)
    for start_line, attrs, problem in _objects(path):
        if problem is not None:
            ledger.bad(start_line, problem)
            continue
        version = RANGE_CLASSES.get(attrs[0][0])
        if version is None:
            ledger.skip()  # person, route, organisation... objects of a full dump
            continue
        try:
            rec = _record(attrs, version, source, default_source)
        except RowError as exc:
            ledger.bad(start_line, f"{attrs[0][0]} {attrs[0][1][:80]!r}: {exc}")
            continue
        yield ledger.record(rec)
    ledger.finish()


def _source_from_name(path: Path) -> str:
    name = path.name.lower()
    for registry in REGISTRIES:
        if name.startswith(registry):
            return f"rpsl:{registry}"
    return "rpsl"


def _objects(path: Path) -> Iterator[tuple[int, list[tuple[str, str]], str | None]]:
    """(first line number, [(key, value)], problem) per object; problem set when malformed."""
    lineno = 0
    try:
        with open_text(path) as fh:
            parser = _ObjectParser(path)
            for lineno, line in enumerate(fh, 1):
                done = parser.feed(lineno, line)
                if done is not None:
                    yield done
    except READ_ERRORS as exc:
        raise read_error(path, lineno, exc) from exc
    last = parser.flush()
    if last is not None:
        yield last


class _ObjectParser:
    """Line-by-line RPSL object assembly; feed() returns an object when a blank line ends it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.attrs: list[tuple[str, str]] = []
        self.start = 0
        self.problem: str | None = None
        self.seen_data = False

    def flush(self) -> tuple[int, list[tuple[str, str]], str | None] | None:
        done = (self.start, self.attrs, self.problem) if self.attrs or self.problem else None
        self.attrs, self.problem = [], None
        return done

    def feed(self, lineno: int, line: str) -> tuple[int, list[tuple[str, str]], str | None] | None:
        if not line.strip():
            return self.flush()
        first = line[0]
        if first in "%#":
            return None
        if not self.attrs and self.problem is None:
            self.start = lineno
        if self.problem is not None:
            return None  # rest of a malformed object
        if first in " \t+":
            if not self.attrs:
                self.problem = f"continuation line without an attribute: {line.strip()[:60]!r}"
                return None
            key, value = self.attrs[-1]
            # '+' continues with an empty line; keep the words, joined by one space.
            more = line[1:].strip()
            self.attrs[-1] = (key, f"{value} {more}".strip() if more else value)
            return None
        match = ATTRIBUTE.match(line)
        if match is None:
            if not self.seen_data:
                raise DatasetError(
                    f"{self.path}: not an RPSL file: line {lineno} is not 'key: value' "
                    f"({line.strip()[:60]!r})"
                )
            self.problem = f"line {lineno} is not 'key: value': {line.strip()[:60]!r}"
            return None
        self.seen_data = True
        if len(self.attrs) >= MAX_OBJECT_LINES:
            self.problem = f"object longer than {MAX_OBJECT_LINES} attributes"
            return None
        self.attrs.append((match.group(1).lower(), match.group(2).strip()))
        return None


def _record(
    attrs: list[tuple[str, str]], version: int, source: str | None, default_source: str
) -> RangeRecord:
    first: dict[str, str] = {}
    for key, value in attrs:
        first.setdefault(key, value)
    cls, value = attrs[0]
    got, start, end = _range(_strip_comment(value))
    if got != version:
        raise RowError(f"{cls} holds an IPv{got} range")
    country = _strip_comment(first.get("country", "")).upper()
    descr = first.get("descr") or None
    org_handle = _strip_comment(first.get("org", "")) or None
    if source is None:
        registry = _strip_comment(first.get("source", "")).split()
        source = f"rpsl:{registry[0].lower()}" if registry else default_source
    return RangeRecord(
        start,
        end,
        version,
        source,
        org=descr or org_handle,
        country=country if len(country) == 2 and country.isalpha() else None,
        netname=_strip_comment(first.get("netname", "")) or None,
        descr=descr,
    )


def _range(text: str) -> tuple[int, int, int]:
    """Accept both "a - b" (RIPE inetnum) and CIDR (inet6num, some registries' inetnum)."""
    if "/" in text:
        try:
            net = ipaddress.ip_network(text.replace(" ", ""), strict=False)
        except ValueError as exc:
            raise RowError(f"bad prefix: {exc}") from None
        return net.version, int(net.network_address), int(net.broadcast_address)
    first, sep, last = text.partition("-")
    if not sep:
        raise RowError("expected 'first - last' or a prefix")
    return parse_range(first.strip(), last.strip())


def _strip_comment(value: str) -> str:
    # RPSL allows end-of-line comments ("source: RIPE # Filtered").
    return value.split("#", 1)[0].strip()
