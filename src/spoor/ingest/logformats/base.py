"""Shared types and small helpers for the log format parsers.

Kept apart from the package ``__init__`` so that the parser modules can import
them without a circular import.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol


@dataclass(slots=True)
class LogLine:
    """One hit read from an access log."""

    ip: str  # client IP as logged (v4 or v6)
    ts: float  # epoch seconds, UTC
    method: str  # "" when the format logs none
    path: str  # request target as logged (path?query or absolute URL), not decoded
    status: int | None
    size: int | None  # response bytes, None for "-"
    referrer: str | None  # None when "-", empty or absent
    user_agent: str  # "" when "-" or absent
    host: str | None = None  # virtual host when the format logs one


class MalformedLine(ValueError):
    """A line that should be a hit but cannot be parsed; the message is a short reason."""


class UnknownFormat(ValueError):
    """No format matches (detect) or a format spec is not understood (get_format)."""


class LogFormat(Protocol):
    name: str
    # True when a line's meaning depends on earlier lines (W3C '#Fields:' headers): such
    # logs are parsed in order by one parser, never split across processes.
    stateful: bool

    def parse(self, line: str) -> LogLine | None: ...


# A quoted log field body: anything but quotes, with backslash escapes (Apache writes \" and \\,
# nginx \xHH). Unrolled so that the common no-escape case is a single character-class run.
QUOTED = r'[^"\\]*(?:\\.[^"\\]*)*'

# HTTP methods are tokens; scanners send odd ones (PRI, SSTP_DUPLEX_POST), so accept any token.
_METHOD = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,31}")


def is_blank_or_comment(line: str) -> bool:
    """Blank lines and '#' comment/directive lines are not hits and not errors."""
    stripped = line.lstrip()
    return not stripped or stripped[0] == "#"


def split_request(request: str) -> tuple[str, str]:
    """'GET /x HTTP/1.1' -> ('GET', '/x'), tolerating HTTP/0.9 and spaces in the target.

    The fast paths match the request inside their main regex; this is for everything else.
    """
    parts = request.split()
    if len(parts) >= 3 and parts[-1].startswith("HTTP/"):
        method, path = parts[0], " ".join(parts[1:-1])
    elif len(parts) == 2 and not parts[1].startswith("HTTP/"):
        method, path = parts
    else:
        raise MalformedLine("bad request line")
    if _METHOD.fullmatch(method) is None:
        raise MalformedLine("bad request line")
    return method, path


def to_int(text: str | None, what: str, limit: int = 19) -> int | None:
    """Decimal field -> int; None for '-' or empty; MalformedLine otherwise."""
    if text is None or text in ("-", ""):
        return None
    if len(text) > limit or not text.isdigit() or not text.isascii():
        raise MalformedLine(f"bad {what}")
    return int(text)


def status_or_none(text: str | None) -> int | None:
    # HAProxy logs -1 for aborted requests; treat it like "-".
    if text == "-1":
        return None
    return to_int(text, "status", 3)


def optional(text: str | None) -> str | None:
    """None for absent, empty or '-' values (referrer, host)."""
    if not text or text == "-":
        return None
    return text


def user_agent(text: str | None) -> str:
    if not text or text == "-":
        return ""
    return text


def require_ip(text: str | None) -> str:
    if not text or text == "-":
        raise MalformedLine("no client ip")
    return text
