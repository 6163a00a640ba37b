"""spoor.ingest.logformats against Matomo's format samples, real logs and garbage."""

from __future__ import annotations

import bz2
import gzip
import math
import os
import random
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from spoor.ingest.logformats import (
    FORMATS,
    LogFormat,
    LogLine,
    MalformedLine,
    UnknownFormat,
    detect,
    get_format,
)
from spoor.ingest.logformats.timestamps import clf_to_epoch, iso_to_epoch

DATA = Path(
    os.environ.get(
        "SPOOR_SHARED_DATA", Path(__file__).resolve().parents[2].parent / "shared" / "data"
    )
)
MATOMO = DATA / "logs" / "formats" / "matomo-log-analytics"
INVALID = DATA / "logs" / "formats" / "matomo-core-invalid"
REAL = DATA / "logs" / "real"


def need(path: Path) -> Path:
    """The shared sample data is not in the repository: skip without it, except on CI."""
    if not path.exists():
        reason = f"shared log samples not found at {path} (set SPOOR_SHARED_DATA)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return path


def read_lines(path: Path) -> list[str]:
    # As the importer does: bytes with their line endings, decoded with errors="replace".
    return [line.decode("utf-8", "replace") for line in need(path).read_bytes().splitlines(True)]


def parse_all(fmt: LogFormat, lines: list[str]) -> tuple[list[LogLine], Counter[str]]:
    records: list[LogLine] = []
    errors: Counter[str] = Counter()
    for line in lines:
        try:
            record = fmt.parse(line)
        except MalformedLine as exc:
            errors[str(exc)] += 1
            continue
        if record is not None:
            records.append(record)
    return records, errors


def utc(y: int, mo: int, d: int, h: int, mi: int, s: int, micro: int = 0) -> float:
    return datetime(y, mo, d, h, mi, s, micro, tzinfo=UTC).timestamp()


FEB_10_2012 = utc(2012, 2, 10, 21, 42, 7)  # 10/Feb/2012:16:42:07 -0500
UA_CHROME17 = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/535.11 (KHTML, like Gecko) "
    "Chrome/17.0.963.56 Safari/535.11"
)

# sample file -> (detected format, expected fields of its first record)
SAMPLES: dict[str, tuple[str, dict[str, object]]] = {
    "common.log": (
        "common",
        {"ip": "1.2.3.4", "ts": FEB_10_2012, "method": "GET", "path": "/", "status": 301,
         "size": 368, "referrer": None, "user_agent": "", "host": None},
    ),
    "common_vhost.log": (
        "vhost_combined",
        {"ip": "1.2.3.4", "ts": FEB_10_2012, "path": "/", "host": "www.example.com",
         "user_agent": ""},
    ),
    "common_complete.log": (
        "vhost_combined",
        {"ip": "1.2.3.4", "host": "www.example.com", "user_agent": UA_CHROME17},
    ),
    "common_encoding_big5.log": ("vhost_combined", {"ip": "1.2.3.4", "status": 301}),
    "static_ignores.log": ("vhost_combined", {"ip": "1.2.3.4", "ts": FEB_10_2012 - 60}),
    # Matomo's ncsa_extended sample is a plain combined line: combined is the more specific.
    "ncsa_extended.log": (
        "combined",
        {"ip": "1.2.3.4", "ts": FEB_10_2012, "user_agent": UA_CHROME17, "referrer": None},
    ),
    "logs_to_tests.log": (
        "combined",
        {"ip": "203.38.78.246", "ts": utc(2013, 2, 5, 7, 1, 26), "referrer": "http://clearcode.cc/"},
    ),
    "icecast2.log": ("icecast2", {"ip": "1.2.3.4", "user_agent": UA_CHROME17}),
    "gandi.log": ("gandi", {"ip": "1.2.3.4", "host": "www.example.com", "status": 301}),
    "ovh.log": ("ovh", {"ip": "1.2.3.4", "host": "www.example.com", "ts": FEB_10_2012}),
    "iis.log": (
        "w3c_extended",
        {"ip": "1.2.3.4", "ts": utc(2012, 4, 1, 0, 0, 13), "method": "GET",
         "path": "/foo/bar?topCat1=divinity&submit=Search", "status": 200, "size": 27028,
         "referrer": None, "host": "example.com",
         "user_agent": "Mozilla/5.0 (X11; U; Linux i686; en-US; rv:1.9.2.7) Gecko/20100722 "
                       "Firefox/3.6.7"},
    ),
    "iis_custom.log": (
        "w3c_extended",
        {"ip": "70.95.0.0", "ts": utc(2012, 8, 15, 17, 0, 0, micro=363000),
         "path": "/Products/theProduct", "host": "xzy.example.com", "status": 200,
         "referrer": "http://example.com/Search/SearchResults.pg?"
                     "informationRecipient.languageCode.c=en"},
    ),
    "incapsula_w3c.log": (
        "w3c_extended",
        {"ip": "123.123.123.123", "ts": utc(2017, 6, 28, 7, 26, 35), "method": "GET",
         "path": "/page.php?variable=test", "status": 200, "host": "www.example.com"},
    ),
    "splitted_date_and_time.log": (
        "w3c_extended",
        {"ip": "1.2.3.4", "ts": utc(2015, 12, 7, 10, 37, 5), "status": 200, "method": ""},
    ),
    "netscaler.log": (
        "netscaler",
        {"ip": "172.20.1.0", "ts": utc(2012, 8, 16, 11, 55, 13), "status": 302, "size": 355,
         "path": "/Citrix/XenApp/Wan/auth/login.jsp"},
    ),
    "shoutcast.log": (
        "shoutcast",
        {"ip": "1.2.3.4", "path": "/stream?title=UKR%20Nights", "size": 65580,
         "user_agent": "NSPlayer/10.0.0.3702 WMFSDK/10.0"},
    ),
    "amazon_cloudfront_web.log": (
        "cloudfront",
        {"ip": "192.0.2.10", "ts": utc(2014, 5, 23, 1, 13, 11), "path": "/view/my/file.html",
         "status": 200, "size": 182, "host": "example.com", "referrer": "https://example.com/",
         "user_agent": "Mozilla/5.0 (Windows; U; Windows NT 6.1; de-DE) AppleWebKit/534.17 "
                       "(KHTML, like Gecko) Chrome/10.0.649.0 Safari/534.17"},
    ),
    "elb.log": (
        "elb",
        {"ip": "1.2.3.4", "ts": utc(2015, 5, 13, 23, 39, 43, micro=945958), "method": "GET",
         "path": "https://www.example.com:443/path/index.html", "status": 200, "size": 57,
         "user_agent": UA_CHROME17},
    ),
    "alb.log": (
        "alb",
        {"ip": "1.2.3.4", "ts": utc(2020, 1, 1, 0, 55, 4, micro=127531), "status": 200,
         "size": 24950, "host": "www.example.com",
         "path": "https://www.example.com:443/path/index.html"},
    ),
    "s3.log": (
        "s3",
        {"ip": "1.2.3.4", "ts": FEB_10_2012, "method": "GET", "path": "/index", "status": 200,
         "size": 368, "host": "www.example.com", "user_agent": UA_CHROME17},
    ),
    "haproxy.log": (
        "haproxy",
        {"ip": "4.3.2.1", "ts": utc(2018, 9, 25, 6, 5, 27, micro=584000), "method": "POST",
         "path": "/user/", "status": 200, "size": 7456, "user_agent": ""},
    ),
    "nginx_json.log": (
        "nginx_json",
        {"ip": "1.2.3.4", "ts": utc(2013, 10, 10, 14, 52, 0), "status": 200, "size": 192,
         "host": "www.piwik.org", "referrer": "http://clearcode.cc/"},
    ),
    "caddy_json.log": (
        "caddy_json",
        {"ip": "1.2.3.4", "ts": 1703373474.8155608, "method": "GET", "path": "/beta/",
         "status": 200, "size": 3609, "host": "example.com", "referrer": None,
         "user_agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:121.0) "
                       "Gecko/20100101 Firefox/121.0"},
    ),
    "traefik_json.log": (
        "traefik_json",
        {"ip": "1.2.3.4", "ts": utc(2023, 8, 11, 11, 39, 21, micro=773360), "method": "GET",
         "path": "/my/app/auth?id=1234&user=dude", "status": 200, "size": 15,
         "host": "localhost", "user_agent": "Prometheus/2.40.5"},
    ),
}  # fmt: skip

# Samples no registered format reads: a custom date ('[February - 10, 2012:16:42:07]', needs a
# custom format) and CloudFront RTMP (stream events, not page hits).
UNSUPPORTED = {"custom_regex_custom_date.log", "amazon_cloudfront_rtmp.log"}


def check_fields(record: LogLine, expected: dict[str, object]) -> None:
    for field, value in expected.items():
        actual = getattr(record, field)
        if field == "ts":
            assert actual == pytest.approx(value, abs=1e-3), field
        else:
            assert actual == value, field


def test_every_matomo_sample_is_covered() -> None:
    names = {p.name for p in need(MATOMO).glob("*.log")}
    assert names == set(SAMPLES) | UNSUPPORTED


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_matomo_sample(name: str) -> None:
    expected_format, fields = SAMPLES[name]
    lines = read_lines(MATOMO / name)
    fmt = detect(lines)
    assert fmt.name == expected_format
    # The detected parser is fed the whole file again, header included, as the importer does.
    records, _ = parse_all(fmt, lines)
    assert records
    check_fields(records[0], fields)
    fresh, _ = parse_all(FORMATS[expected_format](), lines)
    assert fresh == records


@pytest.mark.parametrize("name", sorted(UNSUPPORTED))
def test_unsupported_matomo_sample(name: str) -> None:
    with pytest.raises(UnknownFormat, match="--format"):
        detect(read_lines(MATOMO / name))


def test_cloudfront_rtmp_is_reported_as_malformed() -> None:
    lines = read_lines(MATOMO / "amazon_cloudfront_rtmp.log")
    records, errors = parse_all(get_format("cloudfront"), lines)
    assert not records
    assert list(errors) == ["CloudFront RTMP (streaming) logs are not supported"]


def test_sample_details() -> None:
    incapsula, _ = parse_all(get_format("w3c_extended"), read_lines(MATOMO / "incapsula_w3c.log"))
    assert [r.ip for r in incapsula] == ["123.123.123.123", "125.125.125.125"]
    iis, errors = parse_all(get_format("w3c_extended"), read_lines(MATOMO / "iis_custom.log"))
    assert [r.host for r in iis] == ["xzy.example.com", "hello.example.com"]
    assert errors == Counter({"no client ip": 1})  # its second line has c-ip "-"
    elb, errors = parse_all(get_format("elb"), read_lines(MATOMO / "elb.log"))
    assert len(elb) == 1  # the TCP listener line ("- - - ") is not a hit
    assert not errors
    big5, _ = parse_all(
        get_format("vhost_combined"), read_lines(MATOMO / "common_encoding_big5.log")
    )
    assert big5[0].path.startswith("/")
    assert "\ufffd" in big5[0].path


@pytest.mark.parametrize(("suffix", "opener"), [(".gz", gzip.decompress), (".bz2", bz2.decompress)])
def test_compressed_common_sample(suffix: str, opener: object) -> None:
    assert callable(opener)
    raw = opener(need(MATOMO / f"common.log{suffix}").read_bytes())
    lines = [line.decode("utf-8", "replace") for line in raw.splitlines(True)]
    fmt = detect(lines)
    assert fmt.name == "common"
    records, errors = parse_all(fmt, lines)
    assert records
    assert not errors


INVALID_EXPECTED = {
    "fake_logs_custom.log": None,  # '200 "GET ..."': status before the request, custom format
    "fake_logs_cloudfront_rtmp.log": None,
    "fake_logs_cloudfront.log": "cloudfront",
    "fake_logs_custom_iis.log": "w3c_extended",
    "fake_logs_netscaler.log": "netscaler",
    "fake_logs_nginx_json.log": "nginx_json",
    "different_hosts.log": "vhost_combined",
    "fake_logs_dynamic.log": "vhost_combined",
    "fake_logs_replay_host.log": "vhost_combined",
    "windows-1252.log": "vhost_combined",
    # Some lines carry junk after the user agent: only ncsa_extended reads them all.
    "fake_logs.log": "ncsa_extended",
    "fake_logs_enable_all.log": "ncsa_extended",
}


INVALID_NAMES = [
    "different_hosts.log", "fake_logs.log", "fake_logs_cloudfront.log",
    "fake_logs_cloudfront_rtmp.log", "fake_logs_custom.log", "fake_logs_custom_iis.log",
    "fake_logs_dynamic.log", "fake_logs_enable_all.log", "fake_logs_netscaler.log",
    "fake_logs_nginx_json.log", "fake_logs_replay.log", "fake_logs_replay_host.log",
    "fake_logs_visits_in_reverse_chronological_order.log", "filter_exclude_logs.log",
    "filter_include_logs.log", "windows-1252.log",
]  # fmt: skip


def test_every_invalid_sample_is_covered() -> None:
    assert {p.name for p in need(INVALID).glob("*.log")} == set(INVALID_NAMES)


@pytest.mark.parametrize("name", INVALID_NAMES)
def test_matomo_invalid_samples_never_crash(name: str) -> None:
    lines = read_lines(INVALID / name)
    expected = INVALID_EXPECTED.get(name, "combined")
    if expected is None:
        with pytest.raises(UnknownFormat):
            detect(lines)
        return
    fmt = detect(lines)
    assert fmt.name == expected
    records, _ = parse_all(fmt, lines)
    assert records
    for name in FORMATS:
        parse_all(get_format(name), lines)  # only MalformedLine may escape


def test_tls_handshake_request_line_is_malformed() -> None:
    lines = [ln for ln in read_lines(INVALID / "fake_logs.log") if "\\x80w" in ln]
    assert len(lines) == 1
    with pytest.raises(MalformedLine, match="bad request line"):
        get_format("combined").parse(lines[0])
    assert get_format("combined").parse("# A comment line\n") is None
    assert get_format("combined").parse("   \n") is None


def test_nginx_hex_escapes_in_json() -> None:
    lines = read_lines(INVALID / "fake_logs_nginx_json.log")
    records, errors = parse_all(get_format("nginx_json"), lines)
    assert not errors
    assert records[1].user_agent == "F\ufffdtbol/1.0 (iPhone; iOS 7.1; Scale/2.00)"


# -- real logs --------------------------------------------------------------------------------

REAL_EXPECTED = {
    "apache-combined-2024": "combined",
    "apache-common-2024": "common",
    "apache-vhost-2024": "vhost_combined",
    "nginx-combined-2026": "combined",
}
# Scanners send TLS/SMB/RDP bytes, "-" or nothing as the request; nothing else may fail.
REAL_REASONS = {"bad request line", "no closing quote on user agent"}


@pytest.mark.parametrize("directory", sorted(REAL_EXPECTED))
def test_real_logs(directory: str) -> None:
    totals: Counter[str] = Counter()
    for path in sorted(need(REAL / directory).iterdir()):
        lines = read_lines(path)
        if path.name.endswith(".error.log"):
            with pytest.raises(UnknownFormat):
                detect(lines[:200])
            continue
        fmt = detect(lines[:200])
        assert fmt.name == REAL_EXPECTED[directory], path.name
        records, errors = parse_all(fmt, lines)
        assert set(errors) <= REAL_REASONS, (path.name, errors)
        assert len(records) >= 0.7 * len(lines), path.name
        assert all(r.ip and r.method and r.path and r.status for r in records)
        totals.update(lines=len(lines), hits=len(records), malformed=sum(errors.values()))
    print(f"{directory}: {dict(totals)}")
    assert totals["hits"] > 0


def test_shell_injection_in_user_field() -> None:
    lines = read_lines(REAL / "nginx-combined-2026" / "meatlabel.app.access.log-20251224")
    line = next(ln for ln in lines if "echo '[S]'" in ln)
    record = get_format("combined").parse(line)
    assert record is not None
    assert (record.ip, record.path) == ("193.142.147.209", "/access/set?param=enableapi&value=1")


def test_elastic_combined_log() -> None:
    lines = read_lines(REAL / "apache-combined-2015-elastic.log")
    fmt = detect(lines[:200])
    assert fmt.name == "combined"
    records, errors = parse_all(fmt, lines)
    print(f"elastic: {len(lines)} lines, {len(records)} hits, {dict(errors)}")
    assert len(records) == 9999
    assert errors == Counter({"no closing quote on user agent": 1})
    with pytest.raises(MalformedLine, match="no closing quote on user agent"):
        fmt.parse(lines[8898])  # line 8899: user agent cut off
    assert records[0].ts == utc(2015, 5, 17, 10, 5, 3)


# -- detection --------------------------------------------------------------------------------

COMMON = '1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET /a?b=c HTTP/1.1" 200 2326'
COMBINED = COMMON + ' "http://ref.example/" "Mozilla/5.0 (X11)"'


@pytest.mark.parametrize(
    ("line", "name"),
    [
        (COMMON, "common"),
        (COMBINED, "combined"),
        ("www.example.com:443 " + COMBINED, "vhost_combined"),
        ("www.example.com " + COMMON, "vhost_combined"),
        # A vhost of hex letters also reads as combined (client "cafe.be:443"): ties go to vhost.
        ("cafe.be:443 " + COMBINED, "vhost_combined"),
        (COMBINED + " 17", "icecast2"),
        (COMBINED + ' "extra" 12ms', "ncsa_extended"),
        (COMBINED.replace(" - - ", " www.example.com - ", 1), "ovh"),
    ],
)
def test_detection_ambiguity(line: str, name: str) -> None:
    assert detect([line + "\n"] * 3).name == name


def test_detection_majority_and_failures() -> None:
    assert detect([COMBINED] * 8 + [COMMON] * 2).name == "combined"
    assert detect([COMMON] * 8 + [COMBINED] * 2).name == "common"
    with pytest.raises(UnknownFormat, match="empty sample"):
        detect(["", "\n"])
    with pytest.raises(UnknownFormat, match="--format") as info:
        detect(["this is not a log line"] * 5)
    assert "combined" in str(info.value)
    # A minority of parseable lines is not enough.
    with pytest.raises(UnknownFormat):
        detect([COMBINED] + ["garbage"] * 5)


def test_line_endings_and_fields() -> None:
    fmt = get_format("combined")
    expected = fmt.parse(COMBINED)
    assert expected == LogLine(
        "1.2.3.4", 971211336.0, "GET", "/a?b=c", 200, 2326, "http://ref.example/",
        "Mozilla/5.0 (X11)",
    )  # fmt: skip
    assert fmt.parse(COMBINED + "\n") == expected
    assert fmt.parse(COMBINED + "\r\n") == expected
    dashes = fmt.parse(COMMON.replace("2326", "-") + ' "-" "-"')
    assert dashes is not None
    assert (dashes.size, dashes.referrer, dashes.user_agent) == (None, None, "")


def test_request_lines() -> None:
    fmt = get_format("combined")

    def path_of(request: str) -> tuple[str, str]:
        record = fmt.parse(COMBINED.replace("GET /a?b=c HTTP/1.1", request))
        assert record is not None
        return record.method, record.path

    assert path_of("GET /x") == ("GET", "/x")  # HTTP/0.9
    assert path_of("PROPFIND /dav/ HTTP/1.1") == ("PROPFIND", "/dav/")
    assert path_of("GET /a b HTTP/1.1") == ("GET", "/a b")
    assert path_of('GET /q\\"x HTTP/1.1') == ("GET", '/q\\"x')  # Apache-escaped quote
    for bad in ("-", "", "\\x16\\x03\\x01", "GET", "GET HTTP/1.1", "SSH-2.0-Go"):
        with pytest.raises(MalformedLine, match="bad request line"):
            path_of(bad)


@pytest.mark.parametrize("name", ["combined", "ncsa_extended", "icecast2"])
def test_escaped_quotes(name: str) -> None:
    # Apache escapes quotes in headers as \"; a naive [^"]* would split the user agent.
    line = COMMON + ' "-" "Mozilla \\" quoted \\" agent"' + (" 17" if name == "icecast2" else "")
    record = get_format(name).parse(line)
    assert record is not None
    assert record.user_agent == 'Mozilla \\" quoted \\" agent'


def test_malformed_reasons() -> None:
    fmt = get_format("combined")
    cases = {
        COMMON + ' "-" "Mozilla': "no closing quote on user agent",
        COMMON + ' "-': "no closing quote on referrer",
        COMMON: "missing referrer",
        '- - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 1 "-" "-"': "bad client ip",
        COMBINED.replace("10/Oct", "10/Foo"): "bad timestamp",
        COMBINED.replace("10/Oct", "31/Feb"): "bad timestamp",
        COMBINED.replace(" 200 ", " OK "): "bad status",
        COMBINED + " trailing": "unexpected data after the last field",
    }
    for line, reason in cases.items():
        with pytest.raises(MalformedLine, match=reason):
            fmt.parse(line)


# -- W3C state --------------------------------------------------------------------------------


def test_w3c_header_redefines_columns() -> None:
    fmt = get_format("w3c_extended")
    with pytest.raises(MalformedLine, match="#Fields"):
        fmt.parse("2012-04-01 00:00:13 1.2.3.4 GET /x 200\n")
    assert fmt.parse("#Fields: date time c-ip cs-method cs-uri-stem sc-status\n") is None
    first = fmt.parse("2012-04-01 00:00:13 1.2.3.4 GET /x 200\n")
    assert first is not None
    assert (first.ip, first.path, first.status) == ("1.2.3.4", "/x", 200)
    assert fmt.parse("#Fields: c-ip date time cs-uri-stem cs-uri-query cs(User-Agent)") is None
    second = fmt.parse("5.6.7.8 2012-04-01 00:00:14 /y a=1 Mozilla/5.0+(X11)")
    assert second is not None
    assert (second.ip, second.path, second.user_agent) == ("5.6.7.8", "/y?a=1", "Mozilla/5.0 (X11)")
    with pytest.raises(MalformedLine, match="expected 6 fields"):
        fmt.parse("5.6.7.8 2012-04-01 00:00:14 /y")
    assert fmt.parse("#Fields: date time cs-uri-stem") is None
    with pytest.raises(MalformedLine, match="lacks c-ip"):
        fmt.parse("2012-04-01 00:00:14 /y")


# -- custom formats ---------------------------------------------------------------------------


def test_custom_nginx_log_format() -> None:
    fmt = get_format(
        '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
        '"$http_referer" "$http_user_agent" "$http_x_forwarded_for" $host rt=$request_time'
    )
    line = (
        '2001:db8::7 - bob smith [10/Oct/2000:13:55:36 -0700] "POST /login?next=%2F HTTP/2.0" '
        '302 0 "https://example.com/" "Mozilla/5.0 (X11)" "-" example.com rt=0.003\n'
    )
    assert fmt.parse(line) == LogLine(
        "2001:db8::7", 971211336.0, "POST", "/login?next=%2F", 302, 0, "https://example.com/",
        "Mozilla/5.0 (X11)", "example.com",
    )  # fmt: skip
    iso = get_format(
        '$remote_addr [$time_iso8601] $request_method $uri?$args $status "$http_user_agent"'
    )
    record = iso.parse('1.2.3.4 [2000-10-10T13:55:36-07:00] GET /p?q=1 200 "curl/8"')
    assert record is not None
    assert (record.ts, record.method, record.path, record.size) == (
        971211336.0,
        "GET",
        "/p?q=1",
        None,
    )
    with pytest.raises(MalformedLine):
        fmt.parse("not a line")


def test_custom_goaccess_log_format() -> None:
    line = (
        "www.example.com:443 " + COMMON.replace("/a?b=c", "/x").replace("2326", "5") + ' "-" "UA"'
    )
    expected = LogLine("1.2.3.4", 971211336.0, "GET", "/x", 200, 5, None, "UA", "www.example.com")
    assert get_format('%v:%^ %h %^[%d:%t %^] "%r" %s %b "%R" "%u"').parse(line) == expected
    assert get_format("VCOMBINED").parse(line) == expected
    common = get_format("COMMON").parse(COMMON)
    assert common is not None
    assert common.ts == 971211336.0
    w3c = get_format("W3C").parse(
        "2012-04-01 00:00:13 5.6.7.8 GET /foo a=b 80 - 1.2.3.4 Mozilla/5.0 - 200 0 0 1687"
    )
    assert w3c is not None
    assert (w3c.ip, w3c.ts, w3c.path, w3c.status) == ("1.2.3.4", 1333238413.0, "/foo?a=b", 200)
    split = get_format('%h [%x] "%m %U %H" %s %b').parse(
        '1.2.3.4 [2000-10-10T20:55:36Z] "GET /y HTTP/1.1" 404 7'
    )
    assert split is not None
    assert (split.ts, split.path, split.status) == (971211336.0, "/y", 404)


def test_get_format_errors() -> None:
    with pytest.raises(UnknownFormat, match="--format") as info:
        get_format("apache")
    assert "vhost_combined" in str(info.value)
    with pytest.raises(UnknownFormat, match="lacks a timestamp"):
        get_format('$remote_addr "$request"')
    with pytest.raises(UnknownFormat, match="lacks the client address"):
        get_format('[%d:%t %^] "%r"')
    assert get_format("combined") is not get_format("combined")


# -- timestamps -------------------------------------------------------------------------------


def test_timestamps() -> None:
    assert clf_to_epoch("10/Oct/2000:13:55:36 -0700") == 971211336.0
    assert clf_to_epoch("10/Oct/2000:13:55:36 -0700") == 971211336.0  # cached
    assert clf_to_epoch("10/Oct/2000:20:55:37 +0000") == 971211337.0  # per-day base
    assert clf_to_epoch("1/oct/2000:00:00:00 +0530") == utc(2000, 9, 30, 18, 30, 0)
    assert clf_to_epoch("25/Sep/2018:06:05:27.584") == pytest.approx(
        utc(2018, 9, 25, 6, 5, 27) + 0.584
    )
    assert clf_to_epoch("29/Feb/2020:00:00:00 +0000") == utc(2020, 2, 29, 0, 0, 0)
    for bad in ("29/Feb/2021:00:00:00 +0000", "10/Oct/2000:24:00:00 +0000", "10/Oct/2000", ""):
        with pytest.raises(MalformedLine, match="bad timestamp"):
            clf_to_epoch(bad)
    base = utc(2013, 10, 10, 14, 52, 0)
    for text in ("2013-10-10T16:52:00+02:00", "2013-10-10T14:52:00Z", "2013-10-10T14:52:00",
                 "2013-10-10 14:52:00", "2013-10-10T12:52:00-0200"):  # fmt: skip
        assert iso_to_epoch(text) == base, text
    assert iso_to_epoch("2023-08-11T11:39:21.773360139Z") == pytest.approx(1691753961.77336)
    for bad in ("2013-13-10T14:52:00Z", "2013-10-10T14:52:00+2", "2013-10-10", "yesterday"):
        with pytest.raises(MalformedLine, match="bad timestamp"):
            iso_to_epoch(bad)


# -- robustness -------------------------------------------------------------------------------

_ALPHABET = "abcXYZ0189 -:./[]\"\\{}#?%+\t\n\r,'$é\u200b\ufffd\x00"


def _garbage(rnd: random.Random) -> str:
    return "".join(rnd.choice(_ALPHABET) for _ in range(rnd.randint(0, 80)))


def _mutate(rnd: random.Random, line: str) -> str:
    chars = list(line)
    for _ in range(rnd.randint(1, 4)):
        i = rnd.randint(0, len(chars))
        roll = rnd.random()
        if roll < 0.4 and chars:
            del chars[min(i, len(chars) - 1)]
        elif roll < 0.8:
            chars.insert(i, rnd.choice(_ALPHABET))
        else:
            chars = chars[:i]
    return "".join(chars)


def _check_record(record: LogLine | None) -> None:
    if record is None:
        return
    assert isinstance(record, LogLine)
    assert isinstance(record.ip, str)
    assert record.ip not in ("", "-")
    assert isinstance(record.ts, float)
    assert math.isfinite(record.ts)
    assert isinstance(record.path, str)
    assert record.path
    assert isinstance(record.method, str)
    assert isinstance(record.user_agent, str)
    assert record.status is None or isinstance(record.status, int)
    assert record.size is None or isinstance(record.size, int)
    assert record.referrer is None or (record.referrer and record.referrer != "-")


CUSTOM_SPECS = ["COMBINED", "W3C", '$remote_addr [$time_local] "$request" $status', "%h [%x] %r"]


def test_parsers_only_raise_malformed_line() -> None:
    rnd = random.Random(20240601)
    corpus = [line for path in sorted(need(MATOMO).glob("*.log")) for line in read_lines(path)]
    corpus += [line for path in sorted(need(INVALID).glob("*.log")) for line in read_lines(path)]
    inputs = [_garbage(rnd) for _ in range(500)]
    for line in corpus:
        inputs += [line[:cut] for cut in range(0, len(line), 23)]  # truncated lines
        inputs += [_mutate(rnd, line) for _ in range(3)]
    inputs += [
        "[" * 50_000,
        '{"ip": "1.2.3.4", "date": 1e400, "path": "/"}',
        '{"ip": ["x"], "date": "2020-01-01T00:00:00", "path": {}}',
        '{"request": {"uri": 5, "client_ip": null}, "ts": "x"}',
        '{"ClientHost": "1.2.3.4", "RequestPath": "/", "StartUTC": 5}',
        '{"ip": "1.2.3.4", "date": "2013-10-10T16:52:00Z", "path": "/", '
        '"status": "%s"}' % ("9" * 5000),
        COMMON.replace("2326", "9" * 5000),
        "\x00" * 100,
        "\ufffd" * 100,
    ]  # fmt: skip
    for spec in [*FORMATS, *CUSTOM_SPECS]:
        fmt = get_format(spec)
        for text in inputs:
            try:
                record = fmt.parse(text)
            except MalformedLine:
                continue
            _check_record(record)


def test_each_format_on_every_other_sample() -> None:
    samples = {path.name: read_lines(path) for path in sorted(need(MATOMO).glob("*.log"))}
    for name in FORMATS:
        for lines in samples.values():
            records, _ = parse_all(get_format(name), lines)
            for record in records:
                _check_record(record)
