"""Load balancer, CDN and storage logs: ELB, ALB, S3, HAProxy (CloudFront is in w3c.py).

Each is one regex over the documented field order; trailing fields that later versions of
the format append are ignored.
"""

from __future__ import annotations

import re

from .base import (
    QUOTED,
    LogLine,
    MalformedLine,
    is_blank_or_comment,
    optional,
    require_ip,
    split_request,
    status_or_none,
    to_int,
    user_agent,
)
from .timestamps import clf_to_epoch, iso_to_epoch

_IP_PORT = r"(?P<ip>[0-9A-Fa-f:.]*[0-9A-Fa-f]):\d+"
_REQ_UA = rf' "(?P<req>{QUOTED})" "(?P<ua>{QUOTED})"'
_REST = r"(?:\s.*)?\s*\Z"


class _RegexFormat:
    """One regex per line; subclasses turn the match into a LogLine."""

    stateful = False
    name = ""
    regex: re.Pattern[str]
    what = ""  # for the 'not a ... line' message

    def parse(self, line: str) -> LogLine | None:
        m = self.regex.match(line)
        if m is None:
            if is_blank_or_comment(line) or self._ignorable(line):
                return None
            raise MalformedLine(f"not {self.what} line")
        try:
            return self._record(m)
        except MalformedLine:
            raise
        except (ValueError, IndexError, KeyError) as exc:  # safety net: never leak others
            raise MalformedLine(
                f"unparseable {self.name} line ({exc.__class__.__name__})"
            ) from None

    def _ignorable(self, line: str) -> bool:
        return False

    def _record(self, m: re.Match[str]) -> LogLine | None:
        raise NotImplementedError


def _request(req: str) -> tuple[str, str] | None:
    """The request line, or None for the '- - -' of non-HTTP (TCP) listeners."""
    if req.strip() in ("-", "- - -"):
        return None
    return split_request(req)


def _balancer_record(m: re.Match[str], host: str | None) -> LogLine | None:
    """ELB and ALB lines share their fields but for the host."""
    request = _request(m["req"])
    if request is None:
        return None
    method, path = request
    status, size = status_or_none(m["status"]), to_int(m["size"], "size")
    return LogLine(
        m["ip"], iso_to_epoch(m["ts"]), method, path, status, size, None, user_agent(m["ua"]), host
    )


class ElbFormat(_RegexFormat):
    """Classic ELB: time elb client:port backend:port 3 timings elb_status backend_status
    received sent "request" "user_agent" ssl_cipher ssl_protocol. Status is the ELB's."""

    name = "elb"
    what = "a classic ELB"
    regex = re.compile(
        r"(?P<ts>\d{4}-\d\d-\d\dT\S+) \S+ " + _IP_PORT + r" \S+ \S+ \S+ \S+"
        r" (?P<status>\d{3}|-) \S+ \S+ (?P<size>\d{1,18}|-)" + _REQ_UA + _REST
    )

    def _record(self, m: re.Match[str]) -> LogLine | None:
        return _balancer_record(m, None)


class AlbFormat(_RegexFormat):
    """Application Load Balancer: type time elb client:port target:port 3 timings
    elb_status target_status received sent "request" "ua" cipher protocol target_group
    "trace_id" "domain_name" ... (domain_name is the SNI host, used as host)."""

    name = "alb"
    what = "an ALB"
    regex = re.compile(
        r"(?:https?|h2|grpcs?|wss?) (?P<ts>\d{4}-\d\d-\d\dT\S+) \S+ " + _IP_PORT
        + r" \S+ \S+ \S+ \S+ (?P<status>\d{3}|-) \S+ \S+ (?P<size>\d{1,18}|-)" + _REQ_UA
        + rf' \S+ \S+ \S+ "{QUOTED}" "(?P<host>{QUOTED})"' + _REST
    )  # fmt: skip

    def _record(self, m: re.Match[str]) -> LogLine | None:
        return _balancer_record(m, optional(m["host"]))


class S3Format(_RegexFormat):
    """S3 server access log: owner bucket [time] ip requester request_id operation key
    "request_uri" status error bytes_sent object_size total turnaround "referer" "ua" ...
    The bucket is reported as host (it is the site's name for website buckets)."""

    name = "s3"
    what = "an S3 access log"
    regex = re.compile(
        r"\S+ (?P<host>\S+) \[(?P<ts>[^\]]{1,40})\] (?P<ip>\S+) \S+ \S+ \S+ \S+"
        rf' "(?P<req>{QUOTED})" (?P<status>\d{{3}}|-) \S+ (?P<size>\d{{1,18}}|-) \S+ \S+ \S+'
        rf' "(?P<ref>{QUOTED})"' + rf' "(?P<ua>{QUOTED})"' + _REST
    )

    def _record(self, m: re.Match[str]) -> LogLine | None:
        if m["req"] in ("-", ""):
            return None  # internal operations (lifecycle, replication) are not requests
        method, path = split_request(m["req"])
        return LogLine(
            require_ip(m["ip"]),
            clf_to_epoch(m["ts"]),
            method,
            path,
            status_or_none(m["status"]),
            to_int(m["size"], "size"),
            optional(m["ref"]),
            user_agent(m["ua"]),
            optional(m["host"]),
        )


_SYSLOG_TAG = re.compile(r"[^\[\"]*\[\d+\]: ")


class HaproxyFormat(_RegexFormat):
    """HAProxy 'option httplog', with or without the syslog prefix.

    Captured headers ({...}) are skipped: their order depends on the configuration, so user
    agent and referrer are not known. HAProxy's date has no offset; it is taken as UTC.
    """

    name = "haproxy"
    what = "an HAProxy HTTP log"
    regex = re.compile(
        r"(?:.*? )?" + _IP_PORT
        + r" \[(?P<ts>\d{1,2}/[A-Za-z]{3}/\d{4}:\d\d:\d\d:\d\d(?:\.\d{1,6})?)\] \S+ \S+ \S+"
        r" (?P<status>-1|\d{3}) \+?(?P<size>\d{1,18}) \S+ \S+ \S+ \S+ \S+"
        rf'(?: \{{[^}}]*\}})*(?: "(?P<req>{QUOTED})"?)\s*\Z'
    )  # fmt: skip

    def _ignorable(self, line: str) -> bool:
        # HAProxy's own notices ("Proxy started", "Server down") share the syslog prefix.
        m = _SYSLOG_TAG.match(line)
        return m is not None and " [" not in line[m.end() :]

    def _record(self, m: re.Match[str]) -> LogLine | None:
        method, path = split_request(m["req"])
        return LogLine(
            m["ip"],
            clf_to_epoch(m["ts"]),
            method,
            path,
            status_or_none(m["status"]),
            to_int(m["size"], "size"),
            None,
            "",
        )
