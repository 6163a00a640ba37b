"""The demo traffic simulator: determinism, log format, address hygiene and plausibility."""

from __future__ import annotations

import gzip
import io
import ipaddress
import re
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from itertools import islice, pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from spoor.demo.company import Campaign, DemoCompany, Organization, demo_company
from spoor.demo.simulator import iter_log_lines, organization_for_ip, write_log

AMS = ZoneInfo("Europe/Amsterdam")
START = datetime(2025, 3, 17, tzinfo=AMS)  # spans the DST switch, a newsletter and a campaign
DAYS = 28

LINE = re.compile(
    r"^(?P<ip>\d{1,3}(?:\.\d{1,3}){3}|[0-9a-f]{1,4}(?::[0-9a-f]{0,4}){2,7}) - - "
    r"\[(?P<ts>(?P<day>\d{2})/(?P<mon>Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)/"
    r"(?P<year>\d{4}):(?P<hms>\d{2}:\d{2}:\d{2}) (?P<tz>[+-]\d{4}))\] "
    r'"(?P<method>GET|HEAD|POST) (?P<path>/[^\s"]*) (?P<proto>HTTP/1\.1|HTTP/2\.0)" '
    r'(?P<status>[1-5]\d\d) (?P<size>\d+) "(?P<ref>-|https?://[^\s"]+)" "(?P<ua>[^"]+)"\n\Z'
)
BENCHMARK_V4 = ipaddress.ip_network("198.18.0.0/15")
DOCUMENTATION_V6 = ipaddress.ip_network("2001:db8::/32")
ASSET = re.compile(r"^/(static|img)/|^/favicon\.ico$|^/apple-touch-icon\.png$")


@pytest.fixture(scope="module")
def company() -> DemoCompany:
    return demo_company(7)


@pytest.fixture(scope="module")
def lines(company: DemoCompany) -> list[str]:
    return list(iter_log_lines(company, start=START, days=DAYS, seed=7))


@pytest.fixture(scope="module")
def parsed(lines: list[str]) -> list[dict[str, str]]:
    rows = []
    for line in lines:
        match = LINE.match(line)
        assert match, f"not a combined log line: {line!r}"
        rows.append(match.groupdict())
    return rows


@pytest.fixture(scope="module")
def owners(company: DemoCompany, parsed: list[dict[str, str]]) -> dict[str, Organization]:
    result = {}
    for ip in {row["ip"] for row in parsed}:
        org = organization_for_ip(company, ip)
        assert org is not None, ip
        result[ip] = org
    return result


def _instant(row: dict[str, str]) -> datetime:
    return datetime.strptime(row["ts"], "%d/%b/%Y:%H:%M:%S %z")


# --- the catalogue -------------------------------------------------------------------------


def test_company_is_deterministic(company: DemoCompany) -> None:
    assert demo_company(7) == company
    assert demo_company(8) != company


def test_catalogue_shape(company: DemoCompany) -> None:
    kinds = Counter(org.kind for org in company.organizations)
    assert 60 <= kinds["business"] <= 120
    for kind in ("isp", "mobile", "hosting", "government"):
        assert kinds[kind] >= 1, kind
    assert kinds["education"] >= 2
    assert len({org.name for org in company.organizations}) == len(company.organizations)
    businesses = [org for org in company.organizations if org.kind == "business"]
    assert len({org.industry for org in businesses}) >= 8
    assert len({org.country for org in businesses}) >= 8
    assert {org.size_band for org in businesses} == {
        "1-10", "11-50", "51-200", "201-1000", "1001-5000", "5000+",
    }  # fmt: skip
    assert all(org.domain.endswith(".example") for org in company.organizations)
    assert all(0.0 <= org.buyer_interest <= 1.0 for org in company.organizations)
    assert sum(org.buyer_interest > 0.5 for org in businesses) >= 3
    page_types = {page.page_type for page in company.pages}
    assert {"home", "pricing", "demo", "careers", "asset", "legal", "investors"} <= page_types
    assert company.campaigns


def test_address_plan_uses_reserved_ranges_only(company: DemoCompany) -> None:
    v4 = [ipaddress.ip_network(org.ipv4) for org in company.organizations]
    v6 = [ipaddress.ip_network(org.ipv6) for org in company.organizations if org.ipv6]
    assert all(net.subnet_of(BENCHMARK_V4) for net in v4)
    assert all(net.subnet_of(DOCUMENTATION_V6) for net in v6)
    for nets in (v4, v6):
        ordered = sorted(nets, key=lambda n: int(n.network_address))
        for a, b in pairwise(ordered):
            assert not a.overlaps(b), (a, b)
    for org in company.organizations:
        assert 64496 <= org.asn <= 64511 or 64512 <= org.asn <= 65534 or 65536 <= org.asn <= 65551


def test_people_browse_from_their_organizations(company: DemoCompany) -> None:
    for person in company.people:
        assert organization_for_ip(company, person.ipv4).name == person.organization  # type: ignore[union-attr]
        if person.ipv6:
            assert organization_for_ip(company, person.ipv6).name == person.organization  # type: ignore[union-attr]
        if person.home_ipv4:
            assert organization_for_ip(company, person.home_ipv4).kind == "isp"  # type: ignore[union-attr]


def test_organization_for_ip(company: DemoCompany) -> None:
    kabelnet = company.organization("Kabelnet Residential")
    assert organization_for_ip(company, "198.19.0.1") == kabelnet
    first_business = next(o for o in company.organizations if o.kind == "business")
    net = ipaddress.ip_network(first_business.ipv4)
    assert organization_for_ip(company, str(net.network_address + 1)) == first_business
    assert organization_for_ip(company, "203.0.113.9") is None
    assert organization_for_ip(company, "2001:db9::1") is None
    assert organization_for_ip(company, "not an address") is None


def test_campaign_windows() -> None:
    webinar = Campaign("spring-webinar", (("newsletter", "email"),), "/", 4, 8, 14, 0.25)
    assert webinar.lift_on(date(2025, 4, 7)) == 0.0
    assert webinar.lift_on(date(2025, 4, 8)) == pytest.approx(0.25)
    assert 0 < webinar.lift_on(date(2025, 4, 21)) < 0.25
    assert webinar.lift_on(date(2025, 4, 22)) == 0.0
    newsletter = Campaign("newsletter", (("newsletter", "email"),), "/blog", 0, 2, 3, 0.1)
    # Sent on the first Tuesday on or after the 2nd: 2 April 2025 is a Wednesday.
    assert newsletter.start_for(date(2025, 4, 2)) is None
    assert newsletter.start_for(date(2025, 4, 9)) == date(2025, 4, 8)
    assert newsletter.utm_campaign(date(2025, 4, 9)) == "newsletter-2025-04"
    assert newsletter.start_for(date(2025, 4, 1)) is None


# --- the log ---------------------------------------------------------------------------------


def test_same_seed_same_log_different_seed_different_log(company: DemoCompany) -> None:
    def first(seed: int) -> list[str]:
        return list(islice(iter_log_lines(company, start=START, days=5, seed=seed), 1000))

    assert first(7) == first(7)
    assert first(7) != first(8)
    assert len(first(7)) == 1000


def test_every_line_is_a_strict_combined_log_line(parsed: list[dict[str, str]]) -> None:
    assert len(parsed) > 50_000  # the fixture itself asserts the format of each line


def test_addresses_are_reserved_and_attributable(
    parsed: list[dict[str, str]], owners: dict[str, Organization]
) -> None:
    for ip in owners:
        addr = ipaddress.ip_address(ip)
        assert addr in (BENCHMARK_V4 if addr.version == 4 else DOCUMENTATION_V6)
    assert any(":" in ip for ip in owners), "some visitors use IPv6"


def test_chronological_within_the_requested_period(parsed: list[dict[str, str]]) -> None:
    instants = [_instant(row) for row in parsed]
    assert instants == sorted(instants)
    assert instants[0] >= START
    assert instants[-1] < START + timedelta(days=DAYS)
    assert instants[-1] > START + timedelta(days=DAYS - 1)


def test_timestamps_follow_amsterdam_dst(parsed: list[dict[str, str]]) -> None:
    for row in parsed:
        local = _instant(row)
        assert local.utcoffset() == local.astimezone(AMS).utcoffset(), row["ts"]
    switch_day = [row for row in parsed if row["ts"].startswith("30/Mar/2025")]
    assert {row["tz"] for row in switch_day} == {"+0100", "+0200"}
    assert not [row for row in switch_day if row["hms"].startswith("02:")]  # skipped hour


def test_write_log_writes_exactly_the_requested_lines(tmp_path: Path) -> None:
    target = tmp_path / "access.log"
    assert write_log(target, lines=5000, end=date(2025, 6, 30), seed=3) == 5000
    written = target.read_text(encoding="utf-8").splitlines(keepends=True)
    assert len(written) == 5000
    assert all(LINE.match(line) for line in written)
    stamps = [_instant(LINE.match(line).groupdict()) for line in written]  # type: ignore[union-attr]
    assert stamps == sorted(stamps)
    assert stamps[-1] < datetime(2025, 7, 1, tzinfo=AMS)

    buffer = io.StringIO()
    assert write_log(buffer, lines=5000, end=date(2025, 6, 30), seed=3) == 5000
    assert buffer.getvalue() == "".join(written)

    packed = tmp_path / "access.log.gz"
    assert write_log(packed, lines=1234, end=date(2025, 6, 30), seed=3) == 1234
    small = io.StringIO()
    write_log(small, lines=1234, end=date(2025, 6, 30), seed=3)
    with gzip.open(packed, "rt", encoding="utf-8") as fh:
        assert fh.read() == small.getvalue()
    assert len(small.getvalue().splitlines()) == 1234


def test_write_log_without_a_line_count_covers_the_period(tmp_path: Path) -> None:
    buffer = io.StringIO()
    count = write_log(buffer, days=3, end=date(2025, 5, 14), seed=5)
    written = buffer.getvalue().splitlines(keepends=True)
    assert count == len(written) > 1000
    days = {LINE.match(line).group("ts")[:11] for line in written}  # type: ignore[union-attr]
    assert days == {"12/May/2025", "13/May/2025", "14/May/2025"}


# --- plausibility ----------------------------------------------------------------------------


def test_traffic_mix(parsed: list[dict[str, str]], owners: dict[str, Organization]) -> None:
    total = len(parsed)
    bots = sum(owners[row["ip"]].kind == "hosting" for row in parsed)
    assets = sum(bool(ASSET.match(row["path"])) for row in parsed)
    assert 0.20 <= bots / total <= 0.35
    assert 0.15 <= assets / total <= 0.50
    statuses = Counter(row["status"] for row in parsed)
    assert statuses["200"] / total > 0.6
    for status in ("304", "301", "404", "403", "303"):
        assert statuses[status] > 0, status
    assert {row["proto"] for row in parsed} == {"HTTP/1.1", "HTTP/2.0"}
    assert {row["method"] for row in parsed} == {"GET", "HEAD", "POST"}
    user_agents = " ".join({row["ua"] for row in parsed})
    for bot in ("Googlebot", "bingbot", "AhrefsBot", "SemrushBot", "GPTBot", "UptimeRobot"):
        assert bot in user_agents
    for browser in ("Chrome/", "Firefox/", "Safari/", "Edg/", "iPhone", "Android"):
        assert browser in user_agents


def test_scanners_probe_and_get_refused(parsed: list[dict[str, str]]) -> None:
    probes = [row for row in parsed if row["path"] in {"/wp-login.php", "/.env", "/phpmyadmin/"}]
    assert probes
    assert {row["status"] for row in probes} <= {"403", "404"}


def test_referrer_mix(parsed: list[dict[str, str]]) -> None:
    referrers = Counter(
        re.sub(r"^https?://([^/]+).*", r"\1", row["ref"])
        for row in parsed
        if not ASSET.match(row["path"])
    )
    assert referrers["-"] > 0
    for host in ("www.google.com", "www.bing.com", "duckduckgo.com", "www.linkedin.com", "t.co"):
        assert referrers[host] > 0, host
    paths = [row["path"] for row in parsed]
    assert any("utm_medium=email" in p and "utm_campaign=spring-webinar" in p for p in paths)
    assert any("utm_campaign=newsletter-2025-04" in p for p in paths)
    assert any("utm_medium=cpc" in p and "gclid=" in p for p in paths)


def test_hand_raises_are_demo_form_posts(
    parsed: list[dict[str, str]], owners: dict[str, Organization]
) -> None:
    posts = [
        i for i, row in enumerate(parsed) if row["method"] == "POST" and row["path"] == "/demo"
    ]
    assert len(posts) >= 5
    for i in posts:
        post = parsed[i]
        assert post["status"] in {"302", "303"}
        assert post["ref"].endswith("/demo")
        follow = [
            row for row in parsed[i + 1 : i + 400]
            if row["ip"] == post["ip"] and row["ua"] == post["ua"]
        ]  # fmt: skip
        assert follow, post
        assert follow[0]["path"] == "/demo/thanks"
    assert any(owners[parsed[i]["ip"]].kind == "business" for i in posts)


def test_interested_businesses_read_pricing(
    company: DemoCompany, parsed: list[dict[str, str]], owners: dict[str, Organization]
) -> None:
    pricing: Counter[str] = Counter()
    for row in parsed:
        org = owners[row["ip"]]
        if org.kind == "business" and row["path"].split("?")[0] == "/pricing":
            pricing[org.name] += 1
    businesses = sorted(
        (o for o in company.organizations if o.kind == "business"), key=lambda o: o.buyer_interest
    )
    tenth = len(businesses) // 10
    hot = sum(pricing[o.name] for o in businesses[-tenth:])
    cold = sum(pricing[o.name] for o in businesses[:tenth])
    assert hot > 3 * max(cold, 1)


def test_job_seekers_read_careers_only(parsed: list[dict[str, str]]) -> None:
    pages: defaultdict[tuple[str, str], set[str]] = defaultdict(set)
    for row in parsed:
        if row["method"] == "GET" and not ASSET.match(row["path"]):
            pages[(row["ip"], row["ua"])].add(row["path"].split("?")[0])
    careers_only = [p for p in pages.values() if all(x.startswith("/careers") for x in p)]
    assert len(careers_only) > 20
    assert any(len(p) > 1 for p in careers_only)


def test_business_visits_follow_office_hours_and_weekdays(
    parsed: list[dict[str, str]], owners: dict[str, Organization]
) -> None:
    weekday: Counter[bool] = Counter()
    office_hours = 0
    views = 0
    for row in parsed:
        if owners[row["ip"]].kind != "business" or ASSET.match(row["path"]):
            continue
        local = _instant(row)
        views += 1
        weekday[local.weekday() < 5] += 1
        office_hours += 7 <= local.hour < 19
    assert weekday[True] > 8 * weekday[False]
    assert office_hours / views > 0.75
