"""W3C extended log files (IIS, Incapsula, NetScaler, SHOUTcast, CloudFront web).

The '#Fields:' directive names the columns of the lines that follow, so the parser is
stateful: each header (a new file, or a restart mid-file) redefines the columns.
Timestamps are the 'date' and 'time' columns, UTC by the W3C definition. IIS Advanced
Logging's 'date-local'/'time-local' carry no offset and are taken as UTC as well.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from .base import LogLine, MalformedLine, optional, require_ip, status_or_none, to_int
from .timestamps import date_time_to_epoch

# Column aliases, first present wins (lowercased names).
_COLUMNS: dict[str, tuple[str, ...]] = {
    "ip": ("c-ip",),
    "date": ("date", "date-local"),
    "time": ("time", "time-local"),
    "method": ("cs-method",),
    "stem": ("cs-uri-stem",),
    "query": ("cs-uri-query",),
    "uri": ("cs-uri",),
    "status": ("sc-status", "c-status"),
    "size": ("sc-bytes",),
    "ref": ("cs(referer)", "cs(referrer)", "c-referrer"),
    "ua": ("cs(user-agent)", "c-user-agent"),
    # CloudFront: x-host-header is the site's name, cs(Host) the distribution's.
    "host": ("x-host-header", "cs-host", "cs(host)"),
}
_REQUIRED = ("ip", "date", "time")
# Advanced Logging and Incapsula quote values that may hold spaces.
_TOKEN = re.compile(r'"([^"]*)"|(\S+)')


def _decode_user_agent(ua: str) -> str:
    """IIS writes spaces as '+'; CloudFront and SHOUTcast percent-encode (CloudFront twice)."""
    if not ua or ua == "-":
        return ""
    if " " in ua:
        return ua
    for _ in range(2):
        if "%" not in ua or " " in ua:
            break
        ua = unquote(ua, errors="replace")
    if " " not in ua:
        ua = ua.replace("+", " ")
    return ua


class W3cFormat:
    """Generic W3C extended format driven by '#Fields:'."""

    name = "w3c_extended"
    stateful = True

    def __init__(self) -> None:
        self._fields: list[str] | None = None
        self._idx: dict[str, int] = {}
        self._problem: str | None = "no '#Fields:' header before this line"
        self.software = ""

    # -- directives ---------------------------------------------------------------------

    def _directive(self, text: str) -> None:
        key, _, value = text[1:].partition(":")
        key = key.strip().lower()
        if key == "fields":
            self._set_fields(value.split())
        elif key == "software":
            self.software = value.strip()
            if self._fields is not None:  # header order varies; re-check the columns
                self._set_fields(self._fields)

    def _set_fields(self, names: list[str]) -> None:
        self._fields = names
        lowered = [n.lower() for n in names]
        self._idx = {}
        for column, aliases in _COLUMNS.items():
            for alias in aliases:
                if alias in lowered:
                    self._idx[column] = lowered.index(alias)
                    break
        self._problem = self._check_fields(lowered)

    def _check_fields(self, lowered: list[str]) -> str | None:
        """Why lines under these fields cannot be parsed, or None."""
        if "x-event" in lowered and "x-edge-location" in lowered:
            return "CloudFront RTMP (streaming) logs are not supported"
        missing = [_COLUMNS[c][0] for c in _REQUIRED if c not in self._idx]
        if "stem" not in self._idx and "uri" not in self._idx:
            missing.append("cs-uri-stem")
        if missing:
            return f"'#Fields:' header lacks {', '.join(missing)}"
        return None

    # -- data lines ---------------------------------------------------------------------

    def parse(self, line: str) -> LogLine | None:
        text = line.strip()
        if not text:
            return None
        if text[0] == "#":
            self._directive(text)
            return None
        if self._problem is not None:
            raise MalformedLine(self._problem)
        try:
            return self._record(text)
        except MalformedLine:
            raise
        except (ValueError, IndexError, KeyError) as exc:  # safety net: never leak others
            raise MalformedLine(f"unparseable W3C line ({exc.__class__.__name__})") from None

    def _record(self, text: str) -> LogLine:
        values = [a or b for a, b in _TOKEN.findall(text)] if '"' in text else text.split()
        fields = self._fields
        assert fields is not None  # _problem is set until a header arrives
        if len(values) != len(fields):
            raise MalformedLine(f"expected {len(fields)} fields, got {len(values)}")
        idx = self._idx

        def get(column: str) -> str | None:
            i = idx.get(column)
            return None if i is None else values[i]

        host = optional(get("host"))
        stem = get("stem")
        if stem is None:
            # cs-uri: a path, or Incapsula's 'host/path' without scheme.
            stem = get("uri") or ""
            if stem and stem[0] != "/" and "://" not in stem:
                uri_host, slash, rest = stem.partition("/")
                host = host or uri_host or None
                stem = slash + rest if slash else "/"
        if not stem or stem == "-":
            raise MalformedLine("no request path")
        method = get("method")
        query = get("query")
        path = f"{stem}?{query}" if query and query != "-" else stem
        return LogLine(
            require_ip(get("ip")),
            date_time_to_epoch(values[idx["date"]], values[idx["time"]]),
            "" if method is None or method == "-" else method,
            path,
            status_or_none(get("status")),
            to_int(get("size"), "size"),
            optional(get("ref")),
            _decode_user_agent(get("ua") or ""),
            host,
        )


class _SoftwareW3c(W3cFormat):
    """A W3C log recognised by its '#Software:' directive (for detection and naming)."""

    marker = ""

    def _check_fields(self, lowered: list[str]) -> str | None:
        if self.marker not in self.software.lower():
            return f"not a {self.name} log (no '#Software: {self.marker}' header)"
        return super()._check_fields(lowered)


class NetscalerFormat(_SoftwareW3c):
    name = "netscaler"
    marker = "netscaler"


class ShoutcastFormat(_SoftwareW3c):
    name = "shoutcast"
    marker = "shoutcast"


class CloudFrontFormat(W3cFormat):
    """CloudFront web distribution logs: W3C with tabs and an 'x-edge-location' column.

    RTMP (streaming) distribution logs are reported as MalformedLine: their lines are
    stream events (connect/play/stop), not page hits.
    """

    name = "cloudfront"

    def _check_fields(self, lowered: list[str]) -> str | None:
        if "x-edge-location" not in lowered:
            return "not a CloudFront log ('#Fields:' has no x-edge-location)"
        return super()._check_fields(lowered)
