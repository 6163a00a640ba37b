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
    rf' "(?:(?P<method>[A-Za-z][A-Za-z0-9_-]*) (?P<path>{PATH})(?: HTTP/[0-9.]+)?'
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


class ClfFormat:
    """A member of the common/combined family, defined by regex pieces."""

    __slots__ = ("_diag", "_groups", "_match", "_pieces", "name")

    def __init__(self, name: str, pieces: list[Piece]) -> None:
        self.name = name
        self._pieces = pieces
        pattern = re.compile("".join(p for p, _ in pieces))
        missing = set(GROUPS) - set(pattern.groupindex)
        if missing:  # pragma: no cover - programming error in a format definition
            raise AssertionError(f"{name}: regex lacks groups {sorted(missing)}")
        self._match: Callable[[str], re.Match[str] | None] = pattern.match
        self._groups = tuple(pattern.groupindex[g] for g in GROUPS)
        self._diag: list[re.Pattern[str]] | None = None

    def parse(self, line: str) -> LogLine | None:
        m = self._match(line)
        if m is None:
            return self._no_match(line)
        host, ip, ts, method, path, badreq, status, size, ref, ua = m.group(*self._groups)
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

    def _no_match(self, line: str) -> None:
        """None for blank/comment lines, otherwise MalformedLine naming the first bad field."""
        if is_blank_or_comment(line):
            return None
        if self._diag is None:
            self._diag = [
                re.compile("".join(p for p, _ in self._pieces[: i + 1]))
                for i in range(len(self._pieces))
            ]
        pos = 0
        for rx, (piece, field) in zip(self._diag, self._pieces, strict=True):
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


def _family(name: str, pieces: list[Piece]) -> Callable[[], ClfFormat]:
    def factory() -> ClfFormat:
        return ClfFormat(name, pieces)

    factory.__name__ = f"{name}_format"
    factory.__doc__ = f"A fresh '{name}' parser."
    return factory


_END: list[Piece] = [(END, "end of line")]

# Apache '%h %l %u %t "%r" %>s %b'.
common = _family("common", _COMMON + _END)
# Apache/nginx combined: common + '"%{Referer}i" "%{User-Agent}i"'.
combined = _family("combined", _COMMON + _REF_UA + _END)
# Combined followed by further fields (Matomo's "ncsa_extended"); the extras are ignored.
ncsa_extended = _family("ncsa_extended", [*_COMMON, *_REF_UA, (r"(?:[ \t].*)?\Z", "extra fields")])
# Icecast 2: combined + the connection's duration in seconds.
icecast2 = _family("icecast2", [*_COMMON, *_REF_UA, (r" \d+" + END, "duration")])
# Apache vhost_combined '%v:%p %h ...', and Matomo's common_vhost / common_complete (no port,
# referrer and user agent optional). The port is dropped from host.
vhost_combined = _family(
    "vhost_combined",
    [
        (VHOST + IP, "virtual host / client ip"),
        *_COMMON[1:],
        (f"(?:{REF}{UA})?", "referrer / user agent"),
        *_END,
    ],
)
# Gandi hosting: vhost combined with '(N s)' duration after the timestamp.
gandi = _family(
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
ovh = _family(
    "ovh",
    [
        (IP + r" (?P<host>[A-Za-z0-9_][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)+)", "client ip / host"),
        (r" .*?" + TS, "timestamp"),
        *_COMMON[2:],
        *_REF_UA,
        *_END,
    ],
)
