"""Custom formats: an nginx ``log_format`` string or a GoAccess ``log-format`` string.

Both are compiled to one regex. As in GoAccess, a field's value runs up to the character
that follows it in the format (a quoted field up to its closing quote, with backslash
escapes); timestamps and status/size have fixed patterns.

GoAccess assumptions (GoAccess takes date/time formats as separate options, we do not):
``%d`` is a date either as ``%d/%b/%Y`` (10/Oct/2000) or ``%Y-%m-%d`` (2000-10-10), ``%t``
is ``%H:%M:%S`` (optionally with a fraction), ``%x`` is a whole timestamp (``10/Oct/2000:
13:55:36 -0700``, ISO 8601 or epoch seconds/ms/µs). In the usual ``[%d:%t %^]`` the ``%^``
after the time is taken as the UTC offset and applied; without one, times are UTC. The
presets COMBINED, VCOMBINED, COMMON, VCOMMON and W3C may be given by name.
"""

from __future__ import annotations

import re
from typing import Any

from .base import (
    QUOTED,
    LogLine,
    MalformedLine,
    UnknownFormat,
    is_blank_or_comment,
    optional,
    require_ip,
    split_request,
    status_or_none,
    to_int,
    user_agent,
)
from .timestamps import clf_to_epoch, date_time_to_epoch, iso_to_epoch, number_to_epoch

GOACCESS_PRESETS = {
    "COMBINED": '%h %^[%d:%t %^] "%r" %s %b "%R" "%u"',
    "VCOMBINED": '%v:%^ %h %^[%d:%t %^] "%r" %s %b "%R" "%u"',
    "COMMON": '%h %^[%d:%t %^] "%r" %s %b',
    "VCOMMON": '%v:%^ %h %^[%d:%t %^] "%r" %s %b',
    "W3C": "%d %t %^ %m %U %q %^ %^ %h %u %R %s %^ %^ %L",
}

NGINX_VAR = re.compile(r"\$(?:\{(\w+)\}|(\w+))")
GOACCESS_SPEC = re.compile(r"%([a-zA-Z^~%])")

_NGINX_FIELDS = {
    "remote_addr": "ip",
    "realip_remote_addr": "ip",
    "remote_user": "user",
    "time_local": "ts_clf",
    "time_iso8601": "ts_iso",
    "msec": "ts_epoch",
    "request": "request",
    "request_method": "method",
    "request_uri": "path",
    "uri": "uri",
    "document_uri": "uri",
    "args": "args",
    "query_string": "args",
    "status": "status",
    "body_bytes_sent": "size",
    "bytes_sent": "size",
    "http_referer": "ref",
    "http_user_agent": "ua",
    "host": "host",
    "http_host": "host",
    "server_name": "host",
}
_GOACCESS_FIELDS = {
    "h": "ip",
    "v": "host",
    "e": "user",
    "d": "date",
    "t": "time",
    "x": "datetime",
    "r": "request",
    "m": "method",
    "U": "uri",
    "q": "args",
    "s": "status",
    "b": "size",
    "R": "ref",
    "u": "ua",
}
# Fields whose values have a shape of their own, whatever follows them.
_FIXED = {
    "ts_clf": r"\d{1,2}/[A-Za-z]{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}",
    "ts_iso": r"\d{4}-\d\d-\d\dT[0-9:.]+(?:Z|[+-]\d\d:?\d\d)?",
    "ts_epoch": r"\d{1,16}(?:\.\d{1,9})?",
    "date": r"\d{1,2}/[A-Za-z]{3}/\d{4}|\d{4}-\d\d-\d\d",
    "time": r"\d\d:\d\d:\d\d(?:\.\d{1,9})?",
    "datetime": (
        r"\d{1,2}/[A-Za-z]{3}/\d{4}:\d\d:\d\d:\d\d(?:\.\d+)?(?: [+-]\d{4})?"
        r"|\d{4}-\d\d-\d\d[T ][0-9:.]+(?:Z|[+-]\d\d:?\d\d)?|\d{1,16}(?:\.\d{1,9})?"
    ),
    "status": r"\d{3}|-1?",
    "size": r"\d{1,18}|-",
    "user": r".*?",
}

# A token: (literal text, None) or ("", field name or None for a skipped value).
Token = tuple[str, str | None]


def _tokens_nginx(spec: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    for m in NGINX_VAR.finditer(spec):
        if m.start() > pos:
            tokens.append((spec[pos : m.start()], None))
        tokens.append(("", _NGINX_FIELDS.get(m.group(1) or m.group(2), "")))
        pos = m.end()
    if pos < len(spec):
        tokens.append((spec[pos:], None))
    return tokens


def _tokens_goaccess(spec: str) -> list[Token]:
    spec = spec.replace("\\t", "\t").replace('\\"', '"')
    tokens: list[Token] = []
    pos = 0
    for m in GOACCESS_SPEC.finditer(spec):
        if m.start() > pos:
            tokens.append((spec[pos : m.start()], None))
        letter = m.group(1)
        if letter == "%":
            tokens.append(("%", None))
        elif letter == "~":
            tokens.append(("", "~"))
        else:
            tokens.append(("", _GOACCESS_FIELDS.get(letter, "")))
        pos = m.end()
    if pos < len(spec):
        tokens.append((spec[pos:], None))
    return tokens


def _value_pattern(field: str, following: str) -> str:
    """Regex for a field's value given the literal text that follows it ('' at the end)."""
    if field in _FIXED:
        return _FIXED[field]
    if field == "request" and following[:1] != '"':
        return r"\S+ \S+(?: HTTP/[0-9.]+)?"
    if not following:
        return r".*?"
    if following[0] == '"':
        return QUOTED
    return f"[^{re.escape(following[0])}]*"


def compile_tokens(tokens: list[Token]) -> tuple[re.Pattern[str], set[str]]:
    parts: list[str] = []
    seen: set[str] = set()
    for i, (literal, field) in enumerate(tokens):
        if field is None:
            parts.append(re.escape(literal))
            continue
        if field == "~":
            parts.append(r"\s*")
            continue
        # The value stops at the literal text that follows; none if another field follows.
        following = tokens[i + 1][0] if i + 1 < len(tokens) and tokens[i + 1][1] is None else ""
        # GoAccess '[%d:%t %^]': the skipped value after the time is the UTC offset.
        if (
            field == ""
            and following.startswith("]")
            and i >= 2
            and tokens[i - 2][1] == "time"
            and tokens[i - 1][0] == " "
        ):
            field = "tz"
        pattern = _value_pattern(field, following)
        if field and field not in seen:
            seen.add(field)
            parts.append(f"(?P<{field}>{pattern})")
        else:
            parts.append(f"(?:{pattern})")
    return re.compile("".join(parts) + r"\s*\Z"), seen


def _check(kind: str, spec: str, fields: set[str]) -> None:
    missing = []
    if "ip" not in fields:
        missing.append("the client address")
    if not fields & {"ts_clf", "ts_iso", "ts_epoch", "datetime"} and not {"date", "time"} <= fields:
        missing.append("a timestamp")
    if not fields & {"request", "path", "uri"}:
        missing.append("the request")
    if missing:
        raise UnknownFormat(f"{kind} format {spec!r} lacks {' and '.join(missing)}")


def _epoch_number(text: str) -> float:
    value = float(text)
    if value > 1e14:  # GoAccess %x with %f: microseconds
        value /= 1e6
    elif value > 1e11:  # milliseconds
        value /= 1e3
    return number_to_epoch(value)


def _timestamp(g: dict[str, Any]) -> float:
    if g.get("ts_clf"):
        return clf_to_epoch(g["ts_clf"])
    if g.get("ts_iso"):
        return iso_to_epoch(g["ts_iso"])
    if g.get("ts_epoch"):
        return _epoch_number(g["ts_epoch"])
    text = g.get("datetime")
    if text:
        if "/" in text:
            return clf_to_epoch(text)
        if "-" in text:
            return iso_to_epoch(text.replace(" ", "T", 1))
        return _epoch_number(text)
    date, time, tz = g["date"], g["time"], g.get("tz") or ""
    if "/" in date:
        offset = f" {tz}" if re.fullmatch(r"[+-]\d{4}", tz) else ""
        return clf_to_epoch(f"{date}:{time}{offset}")
    return date_time_to_epoch(date, time)


class CustomFormat:
    """A parser compiled from an nginx or GoAccess format string."""

    stateful = False

    def __init__(self, name: str, spec: str, tokens: list[Token]) -> None:
        self.name = name
        self.spec = spec
        self._regex, fields = compile_tokens(tokens)
        _check(name, spec, fields)

    def parse(self, line: str) -> LogLine | None:
        m = self._regex.match(line)
        if m is None:
            if is_blank_or_comment(line):
                return None
            raise MalformedLine("line does not match the custom format")
        try:
            return self._record(m.groupdict())
        except MalformedLine:
            raise
        except (ValueError, KeyError, OverflowError) as exc:  # safety net
            raise MalformedLine(f"unparseable line ({exc.__class__.__name__})") from None

    def _record(self, g: dict[str, Any]) -> LogLine:
        if g.get("request") is not None:
            method, path = split_request(g["request"])
        else:
            method = g.get("method") or ""
            path = g.get("path") or g.get("uri") or ""
            args = g.get("args")
            if args and args != "-":
                path = f"{path}?{args}"
            if not path or path == "-":
                raise MalformedLine("no request path")
        host = optional(g.get("host"))
        return LogLine(
            require_ip(g["ip"]),
            _timestamp(g),
            "" if method == "-" else method,
            path,
            status_or_none(g.get("status")),
            to_int(g.get("size"), "size"),
            optional(g.get("ref")),
            user_agent(g.get("ua")),
            host,
        )


def nginx_format(spec: str) -> CustomFormat:
    return CustomFormat("nginx_custom", spec, _tokens_nginx(spec))


def goaccess_format(spec: str) -> CustomFormat:
    spec = GOACCESS_PRESETS.get(spec, spec)
    return CustomFormat("goaccess_custom", spec, _tokens_goaccess(spec))
