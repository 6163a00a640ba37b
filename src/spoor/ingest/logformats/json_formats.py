"""One-JSON-object-per-line logs: nginx (Matomo's keys), Caddy and Traefik."""

from __future__ import annotations

import json
import re
from typing import Any

from .base import (
    LogLine,
    MalformedLine,
    optional,
    require_ip,
    status_or_none,
)
from .timestamps import iso_to_epoch, number_to_epoch

# nginx's default escaping writes bytes >= 0x80 and '"' as \xHH, which is not JSON.
_NGINX_HEX = re.compile(r"(?:\\x[0-9A-Fa-f]{2})+")


def _unhex(m: re.Match[str]) -> str:
    raw = bytes.fromhex(m.group().replace("\\x", ""))
    return json.dumps(raw.decode("utf-8", "replace"))[1:-1]


def _loads(text: str) -> object:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        pass
    if "\\x" in text:
        try:
            return json.loads(_NGINX_HEX.sub(_unhex, text))
        except (ValueError, RecursionError):
            pass
    raise MalformedLine("invalid JSON")


def _text(value: object) -> str | None:
    """A JSON scalar as the text a text log would hold (numbers as digits)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MalformedLine("unexpected value type")
    return str(int(value)) if isinstance(value, int) or value.is_integer() else str(value)


def _int(value: object, what: str) -> int | None:
    text = _text(value)
    if text is None or text in ("", "-"):
        return None
    if what == "status":
        return status_or_none(text)
    if len(text) > 18 or not text.isdigit() or not text.isascii():
        raise MalformedLine(f"bad {what}")
    return int(text)


def _epoch(value: object) -> float:
    if isinstance(value, str) and "-" in value[:10]:
        return iso_to_epoch(value)
    return number_to_epoch(value)


class _JsonFormat:
    stateful = False
    name = ""
    what = ""

    def parse(self, line: str) -> LogLine | None:
        text = line.strip()
        if not text or text[0] == "#":
            return None
        if text[0] != "{":
            raise MalformedLine("not a JSON object")
        obj = _loads(text)
        if not isinstance(obj, dict):
            raise MalformedLine("not a JSON object")
        try:
            return self._record(obj)
        except MalformedLine:
            raise
        except (ValueError, TypeError, KeyError, AttributeError, IndexError) as exc:
            # A safety net: odd value types must not escape as anything but MalformedLine.
            raise MalformedLine(
                f"unparseable {self.name} record ({exc.__class__.__name__})"
            ) from None

    def _record(self, obj: dict[str, Any]) -> LogLine | None:
        raise NotImplementedError


class NginxJsonFormat(_JsonFormat):
    """nginx escape=json log_format with Matomo's keys: ip, host, path, status, referrer,
    user_agent, length, date (ISO 8601); 'method' if present."""

    name = "nginx_json"

    def _record(self, obj: dict[str, Any]) -> LogLine | None:
        if "ip" not in obj or "date" not in obj or "path" not in obj:
            raise MalformedLine("not an nginx_json record (needs ip, date, path)")
        path = _text(obj["path"]) or ""
        if not path:
            raise MalformedLine("no request path")
        return LogLine(
            require_ip(_text(obj["ip"])),
            _epoch(obj["date"]),
            _text(obj.get("method")) or "",
            path,
            _int(obj.get("status"), "status"),
            _int(obj.get("length"), "size"),
            optional(_text(obj.get("referrer"))),
            _text(obj.get("user_agent")) or "",
            optional(_text(obj.get("host"))),
        )


def _header(headers: object, name: str) -> str | None:
    """Caddy logs request headers as {"User-Agent": ["..."]}."""
    if not isinstance(headers, dict):
        return None
    values = headers.get(name)
    if isinstance(values, list) and values:
        return _text(values[0])
    return _text(values) if isinstance(values, str) else None


class CaddyJsonFormat(_JsonFormat):
    """Caddy's JSON access log ('http.log.access' logger). Other loggers' lines are skipped.

    The client is request.client_ip (which honours trusted proxies), else remote_ip.
    'ts' is epoch seconds, or an ISO string when a time_format is configured.
    """

    name = "caddy_json"

    def _record(self, obj: dict[str, Any]) -> LogLine | None:
        request = obj.get("request")
        if not isinstance(request, dict):
            logger = obj.get("logger")
            if isinstance(logger, str) and not logger.startswith("http.log.access"):
                return None  # Caddy's own messages, not requests
            raise MalformedLine("not a Caddy access record (no request object)")
        if "ts" not in obj or "uri" not in request:
            raise MalformedLine("not a Caddy access record (needs ts, request.uri)")
        headers = request.get("headers")
        return LogLine(
            require_ip(_text(request.get("client_ip") or request.get("remote_ip"))),
            _epoch(obj["ts"]),
            _text(request.get("method")) or "",
            _text(request["uri"]) or "/",
            _int(obj.get("status"), "status"),
            _int(obj.get("size"), "size"),
            optional(_header(headers, "Referer")),
            _header(headers, "User-Agent") or "",
            optional(_text(request.get("host"))),
        )


class TraefikJsonFormat(_JsonFormat):
    """Traefik's JSON access log. Time is StartUTC (else 'time'); status is what the client
    got (DownstreamStatus); headers are the request_<Name> keys Traefik adds when kept."""

    name = "traefik_json"

    def _record(self, obj: dict[str, Any]) -> LogLine | None:
        if "ClientHost" not in obj or "RequestPath" not in obj:
            raise MalformedLine("not a Traefik record (needs ClientHost, RequestPath)")
        when = obj.get("StartUTC") or obj.get("time")
        if when is None:
            raise MalformedLine("bad timestamp")
        path = _text(obj["RequestPath"]) or ""
        if not path:
            raise MalformedLine("no request path")
        return LogLine(
            require_ip(_text(obj["ClientHost"])),
            _epoch(when),
            _text(obj.get("RequestMethod")) or "",
            path,
            _int(obj.get("DownstreamStatus", obj.get("OriginStatus")), "status"),
            _int(obj.get("DownstreamContentSize"), "size"),
            optional(_text(obj.get("request_Referer"))),
            _text(obj.get("request_User-Agent")) or "",
            optional(_text(obj.get("RequestHost"))),
        )
