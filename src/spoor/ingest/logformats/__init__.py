"""Access log formats: parse lines into LogLine records, and detect a log's format.

``FORMATS`` maps names to factories (a fresh, possibly stateful, parser per call). Its order
is the detection preference: when several formats parse the same sample lines equally well,
the earlier, more specific one wins (vhost_combined before combined before common).

Not supported, by choice: CloudFront RTMP logs (stream events, not page hits: their lines
are MalformedLine), Apache logs with HostnameLookups (clients must be IP addresses), and
custom date formats other than those custom.py documents (use an nginx/GoAccess string).
IIS, Incapsula and other W3C logs without a '#Software:' we know are all ``w3c_extended``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .base import LogFormat, LogLine, MalformedLine, UnknownFormat
from .cloud import AlbFormat, ElbFormat, HaproxyFormat, S3Format
from .custom import GOACCESS_PRESETS, GOACCESS_SPEC, NGINX_VAR, goaccess_format, nginx_format
from .json_formats import CaddyJsonFormat, NginxJsonFormat, TraefikJsonFormat
from .text import combined, common, gandi, icecast2, ncsa_extended, ovh, vhost_combined
from .w3c import CloudFrontFormat, NetscalerFormat, ShoutcastFormat, W3cFormat

__all__ = [
    "FORMATS",
    "LogFormat",
    "LogLine",
    "MalformedLine",
    "UnknownFormat",
    "detect",
    "get_format",
]

FORMATS: dict[str, Callable[[], LogFormat]] = {
    "caddy_json": CaddyJsonFormat,
    "traefik_json": TraefikJsonFormat,
    "nginx_json": NginxJsonFormat,
    "cloudfront": CloudFrontFormat,
    "netscaler": NetscalerFormat,
    "shoutcast": ShoutcastFormat,
    "w3c_extended": W3cFormat,
    "alb": AlbFormat,
    "elb": ElbFormat,
    "s3": S3Format,
    "haproxy": HaproxyFormat,
    "gandi": gandi,
    "vhost_combined": vhost_combined,
    "ovh": ovh,
    "icecast2": icecast2,
    "combined": combined,
    "ncsa_extended": ncsa_extended,
    "common": common,
}

DETECT_LINES = 50

_HOW_TO = (
    "pass --format with one of: {names}; or an nginx log_format string "
    "(e.g. '$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent') "
    'or a GoAccess log-format string (e.g. \'%h %^[%d:%t %^] "%r" %s %b "%R" "%u"\')'
)


def _how_to() -> str:
    return _HOW_TO.format(names=", ".join(FORMATS))


def get_format(spec: str) -> LogFormat:
    """A parser for a registered format name, a GoAccess preset name (COMBINED, VCOMBINED,
    COMMON, VCOMMON, W3C), or a custom nginx log_format / GoAccess log-format string."""
    factory = FORMATS.get(spec)
    if factory is not None:
        return factory()
    if spec in GOACCESS_PRESETS:
        return goaccess_format(spec)
    if NGINX_VAR.search(spec):
        return nginx_format(spec)
    if GOACCESS_SPEC.search(spec):
        return goaccess_format(spec)
    raise UnknownFormat(f"unknown log format {spec!r}: {_how_to()}")


def detect(sample: Sequence[str]) -> LogFormat:
    """The format that parses most of the first non-blank sample lines.

    Ties go to the format listed first in FORMATS. A format qualifies only if it parses at
    least one line and more lines than it rejects (lines it skips, like comments and W3C
    headers, do not count). The parser that read the sample is returned, so a stateful one
    (W3C) keeps the '#Fields:' it saw; feeding it the same lines again is harmless.
    """
    lines = [line for line in sample if line.strip()][:DETECT_LINES]
    if not lines:
        raise UnknownFormat(f"cannot detect the log format of an empty sample; {_how_to()}")
    best: LogFormat | None = None
    best_parsed = 0
    reasons: dict[str, str] = {}
    for name, factory in FORMATS.items():
        parser = factory()
        parsed = failed = 0
        for line in lines:
            try:
                record = parser.parse(line)
            except MalformedLine as exc:
                failed += 1
                reasons.setdefault(name, str(exc))
                continue
            if record is not None:
                parsed += 1
        if parsed > failed and parsed > best_parsed:
            best, best_parsed = parser, parsed
    if best is None:
        first = lines[0].rstrip("\r\n")
        shown = first if len(first) <= 120 else first[:117] + "..."
        hints = "; ".join(
            f"{n}: {reasons[n]}" for n in ("combined", "w3c_extended") if n in reasons
        )
        raise UnknownFormat(
            f"cannot detect the log format (first line: {shown!r}; {hints}); {_how_to()}"
        )
    return best
