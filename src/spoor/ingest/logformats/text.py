"""The Apache/nginx text family: common, combined and their vhost/extended variants.

Each format is one precompiled regex built from pieces. The hot path is one ``match``, one
cached timestamp lookup and a few cheap conversions. When the regex fails, the pieces are
matched one prefix at a time to say *which* field is wrong.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .base import (
    QUOTED,
    LogLine,
    MalformedLine,
    is_blank_or_comment,
    split_request,
)
from .timestamps import CLF_CACHE, clf_to_epoch

# Every format's regex defines all of these groups (empty ones where the format has no such
# field), so one parse method serves all of them.
GROUPS = ("host", "ip", "ts", "method", "path", "badreq", "status", "size", "ref", "ua")

# Clients are logged as IP addresses (nginx $remote_addr; Apache %h without HostnameLookups).
# Restricting the charset rejects "-" and keeps vhost lines from passing as plain combined.
IP = r"(?P<ip>[0-9A-Fa-f:.]*[0-9A-Fa-f])"
# identd is always "-"; the user can hold anything, even spaces (scanners inject shell code).
IDENT_USER = r" \S+ .*?"
TS = r" \[(?P<ts>\d{1,2}/[A-Za-z]{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4})\]"
# The usual 'METHOD target HTTP/x' is split by the regex; anything else lands in badreq and
# goes through split_request (HTTP/0.9, spaces in the target) or is rejected.
PATH = r'[^\s"\\]*(?:\\.[^\s"\\]*)*'
REQUEST = (
    rf' "(?:(?P<method>[A-Za-z][A-Za-z0-9_-]*) (?!HTTP/)(?P<path>{PATH})(?: HTTP/[0-9.]+)?'
    rf'|(?P<badreq>{QUOTED}))"'
)
STATUS = r" (?P<status>\d{3}|-)"
SIZE = r" (?P<size>\d{1,18}|-)"
REF = rf' "(?P<ref>{QUOTED})"'
UA = rf' "(?P<ua>{QUOTED})"'
END = r"\s*\Z"
VHOST = r"(?P<host>\[[0-9A-Fa-f:.]+\]|[^\s:\[]+)(?::\d+)? "
NO_HOST = "(?P<host>)"
NO_REF_UA = "(?P<ref>)(?P<ua>)"

# A piece of a format regex and the name of the field it covers, for error messages.
Piece = tuple[str, str]

_COMMON: list[Piece] = [
    (NO_HOST + IP, "client ip"),
    (IDENT_USER + TS, "timestamp"),
    (REQUEST, "request line"),
    (STATUS, "status"),
    (SIZE, "size"),
]
_REF_UA: list[Piece] = [(REF, "referrer"), (UA, "user agent")]


class ClfSpec:
    """A compiled family member, shared by its parser instances."""

    def __init__(self, name: str, pieces: list[Piece], *, fast: bool = True) -> None:
        self.name = name
        self.pieces = pieces
        exact = "".join(p for p, _ in pieces)
        self.pattern = re.compile(exact)
        # The same regex without escape handling in quoted fields: several times faster, as
        # sre scans [^"]* in a tight loop. On a line with an escaped quote it takes the \" for
        # the closing quote, and then fails (lines fall back to the exact regex) because what
        # follows cannot be the next field's opening quote: every quote inside is escaped.
        # That argument needs a format that ends in fixed fields, hence fast=False otherwise.
        if fast:
            self.fast = re.compile(exact.replace(PATH, r'[^\s"]*').replace(QUOTED, '[^"]*'))
        else:
            self.fast = self.pattern
        # parse() unpacks m.groups(), so the groups must be exactly GROUPS, in this order.
        if tuple(self.pattern.groupindex) != GROUPS or self.pattern.groups != len(GROUPS):
            raise AssertionError(f"{name}: regex groups must be {GROUPS}")  # pragma: no cover
        self._prefixes: list[re.Pattern[str]] | None = None

    def prefixes(self) -> list[re.Pattern[str]]:
        """Regexes for the first 1, 2, ... pieces, compiled on the first bad line."""
        if self._prefixes is None:
            self._prefixes = [
                re.compile("".join(p for p, _ in self.pieces[: i + 1]))
                for i in range(len(self.pieces))
            ]
        return self._prefixes

    def __call__(self) -> ClfFormat:
        return ClfFormat(self)


class ClfFormat:
    """A member of the common/combined family, defined by regex pieces."""

    __slots__ = ("_exact", "_match", "_spec", "name")
    stateful = False

    def __init__(self, spec: ClfSpec) -> None:
        self.name = spec.name
        self._spec = spec
        self._match: Callable[[str], re.Match[str] | None] = spec.fast.match
        self._exact: Callable[[str], re.Match[str] | None] = spec.pattern.match

    def parse(self, line: str) -> LogLine | None:
        m = self._match(line) or self._exact(line)
        if m is None:
            self._reject(line)
            return None
        host, ip, ts, method, path, badreq, status, size, ref, ua = m.groups()
        epoch = CLF_CACHE.get(ts)
        if epoch is None:
            epoch = clf_to_epoch(ts)
        if badreq is not None:
            method, path = split_request(badreq)
        elif not path:
            raise MalformedLine("bad request line")
        return LogLine(
            ip,
            epoch,
            method,
            path,
            None if status == "-" else int(status),
            None if size == "-" else int(size),
            None if not ref or ref == "-" else ref,
            "" if not ua or ua == "-" else ua,
            host or None,
        )

    def _reject(self, line: str) -> None:
        """Accept blank/comment lines quietly; else raise MalformedLine naming the bad field."""
        if is_blank_or_comment(line):
            return
        spec = self._spec
        pos = 0
        for rx, (piece, field) in zip(spec.prefixes(), spec.pieces, strict=True):
            m = rx.match(line)
            if m is None:
                if field == "end of line":
                    raise MalformedLine("unexpected data after the last field")
                rest = line[pos:]
                if piece.startswith(' "') and rest.startswith(' "') and '"' not in rest[2:]:
                    raise MalformedLine(f"no closing quote on {field}")
                if not rest.strip():
                    raise MalformedLine(f"missing {field}")
                raise MalformedLine(f"bad {field}")
            pos = m.end()
        raise MalformedLine("unparseable line")  # pragma: no cover - the full regex matched


_END: list[Piece] = [(END, "end of line")]
_NO_REF_UA: list[Piece] = [(NO_REF_UA, "")]

# Apache '%h %l %u %t "%r" %>s %b'.
common = ClfSpec("common", _COMMON + _NO_REF_UA + _END)
# Apache/nginx combined: common + '"%{Referer}i" "%{User-Agent}i"'.
combined = ClfSpec("combined", _COMMON + _REF_UA + _END)
# Combined followed by further fields (Matomo's "ncsa_extended"); the extras are ignored.
ncsa_extended = ClfSpec(
    "ncsa_extended", [*_COMMON, *_REF_UA, (r"(?:[ \t].*)?\s*\Z", "extra fields")], fast=False
)
# Icecast 2: combined + the connection's duration in seconds.
icecast2 = ClfSpec("icecast2", [*_COMMON, *_REF_UA, (r" \d+" + END, "duration")])
# Apache vhost_combined '%v:%p %h ...', and Matomo's common_vhost / common_complete (no port,
# referrer and user agent optional). The port is dropped from host.
vhost_combined = ClfSpec(
    "vhost_combined",
    [
        (VHOST + IP, "virtual host / client ip"),
        *_COMMON[1:],
        (f"(?:{REF}{UA})?", "referrer / user agent"),
        *_END,
    ],
)
# Gandi hosting: vhost combined with '(N s)' duration after the timestamp.
gandi = ClfSpec(
    "gandi",
    [
        (VHOST + IP, "virtual host / client ip"),
        (IDENT_USER + TS + r" \(\d+ s\)", "timestamp"),
        *_COMMON[2:],
        *_REF_UA,
        *_END,
    ],
)
# OVH hosting: '%h %v %u [%t] ...' -- the host takes identd's place. It must look like a domain,
# or every combined line (ident "-") would be an OVH line too.
ovh = ClfSpec(
    "ovh",
    [
        # A lookahead captures the host first, keeping the groups in GROUPS order.
        (
            r"(?=\S+ (?P<host>[A-Za-z0-9_][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)+) )" + IP,
            "client ip / host",
        ),
        (r" \S+ .*?" + TS, "timestamp"),
        *_COMMON[2:],
        *_REF_UA,
        *_END,
    ],
)
