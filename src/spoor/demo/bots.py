"""Automated traffic: search and AI crawlers, link previews, feed readers, uptime monitors,
scripts and vulnerability scanners, all from the hosting providers' address ranges.

Volumes are given per day at 400 human visits per day and scale with the simulated volume,
so the bot share of a log stays about the same whatever its size.
"""

from __future__ import annotations

import random
from bisect import bisect
from datetime import date
from itertools import accumulate
from zoneinfo import ZoneInfo

from spoor.demo.company import DemoCompany, Organization, random_host
from spoor.demo.site import (
    BROKEN,
    CRAWLER_FILES,
    NOT_FOUND_BYTES,
    REDIRECT_BYTES,
    REDIRECTS,
    Clock,
    Site,
    utc_offset,
)
from spoor.demo.useragents import (
    BOT_USER_AGENTS,
    MONITOR_USER_AGENTS,
    SCANNER_USER_AGENTS,
    TOOL_USER_AGENTS,
)
from spoor.demo.visits import REFERENCE_VISITS, count

Events = list[tuple[int, str]]

# user agent key | network | requests per day | HTTP/2 | share of IPv6 addresses
_CRAWLERS = (
    ("googlebot", "Crawlfield Networks", 132, True, 0.3),
    ("googlebot-smartphone", "Crawlfield Networks", 96, True, 0.3),
    ("bingbot", "Crawlfield Networks", 72, False, 0.0),
    ("ahrefs", "Polar Compute", 60, False, 0.0),
    ("semrush", "Nimbus VPS", 48, False, 0.0),
    ("gptbot", "Cloudforge Hosting", 34, False, 0.0),
    ("claudebot", "Cloudforge Hosting", 19, False, 0.0),
    ("yandex", "Nimbus VPS", 12, False, 0.0),
    ("petalbot", "Polar Compute", 14, False, 0.0),
    ("dotbot", "Nimbus VPS", 10, False, 0.0),
    ("applebot", "Crawlfield Networks", 10, False, 0.2),
    ("duckduckbot", "Crawlfield Networks", 6, False, 0.0),
    ("facebook", "Cloudforge Hosting", 5, True, 0.5),
    ("linkedin", "Cloudforge Hosting", 6, False, 0.0),
    ("slack", "Cloudforge Hosting", 4, False, 0.0),
)
# How crawlers spread their requests over page types (plus crawler files and dead links).
_CRAWL_WEIGHTS = {
    "blog": 3.0, "docs": 3.0, "product": 2.0, "case_study": 1.5, "integration": 1.5,
    "comparison": 1.0, "careers": 1.0, "legal": 0.5, "home": 2.0, "pricing": 1.0,
    "security": 1.0, "investors": 0.5, "demo": 0.5, "contact": 0.5,
}  # fmt: skip
_SCANNER_PATHS: tuple[tuple[str, int], ...] = (
    ("/", 200), ("/robots.txt", 200), ("/.well-known/security.txt", 200), ("/sitemap.xml", 200),
    ("/.env", 403), ("/.env.production", 403), ("/.git/config", 403), ("/.git/HEAD", 403),
    ("/.aws/credentials", 403), ("/.DS_Store", 403), ("/.vscode/sftp.json", 403),
    ("/wp-login.php", 404), ("/wp-admin/", 404), ("/wp-admin/setup-config.php", 404),
    ("/wp-content/plugins/revslider/readme.txt", 404), ("/xmlrpc.php", 404),
    ("/phpmyadmin/", 404), ("/phpMyAdmin/index.php", 404), ("/pma/", 404), ("/admin/", 404),
    ("/administrator/", 404), ("/admin.php", 404), ("/config.php", 404), ("/config.json", 404),
    ("/server-status", 403), ("/actuator/env", 404), ("/actuator/health", 404),
    ("/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php", 404),
    ("/cgi-bin/luci/;stok=/locale", 404), ("/boaform/admin/formLogin", 404), ("/HNAP1/", 404),
    ("/solr/admin/info/system", 404), ("/backup.zip", 404), ("/backup.sql", 404),
    ("/db.sql", 404), ("/info.php", 404), ("/phpinfo.php", 404), ("/owa/auth/logon.aspx", 404),
    ("/remote/login", 404), ("/autodiscover/autodiscover.xml", 404), ("/api/v1/pods", 404),
    ("/telescope/requests", 404), ("/_profiler/phpinfo", 404), ("/debug/default/view", 404),
    ("/login", 404), ("/user/login", 404), ("/console/", 404), ("/manager/html", 404),
    ("/geoserver/web/", 404), ("/ReportServer", 404), ("/storage/logs/laravel.log", 404),
)  # fmt: skip
_TOOL_PATHS = ("/", "/pricing", "/pricing", "/robots.txt", "/sitemap.xml", "/docs/api")
_SCANNER_NETWORKS = ("Cloudforge Hosting", "Nimbus VPS", "Polar Compute")
_FORBIDDEN_BYTES = 153
_STATUS_BYTES = {403: _FORBIDDEN_BYTES, 404: NOT_FOUND_BYTES}


class _Crawler:
    __slots__ = ("cumulative", "fresh", "heads", "mean", "revalidate", "stale")

    def __init__(self, heads: list[str], mean: float) -> None:
        self.heads = heads
        self.mean = mean
        self.cumulative: list[float] = []
        self.fresh: list[str] = []  # request-to-end-of-line, one per crawl target
        self.stale: list[str] = []  # the same with a 304, for conditional re-crawls
        self.revalidate = 0.0


class BotTraffic:
    def __init__(
        self, company: DemoCompany, site: Site, clock: Clock, rng: random.Random, vpd: float
    ) -> None:
        self.site = site
        self.clock = clock
        self.rng = rng
        self.scale = vpd / REFERENCE_VISITS
        self.zone = ZoneInfo(company.timezone)
        hosting = [o for o in company.organizations if o.kind == "hosting"]
        if not hosting:
            raise ValueError("the demo company needs at least one hosting organization")
        self.networks = {o.name: o for o in hosting}
        self.fallback = hosting[0]
        self.crawlers = [self._crawler(*row) for row in _CRAWLERS]
        self.monitor_heads = [f"{self._ip(n)} - - [" for n in ("Bytebarn Datacenters",) * 3]
        self.uptime_tail = f'HEAD / HTTP/1.1" 200 0 "-" "{MONITOR_USER_AGENTS["uptimerobot"]}"\n'
        home = site.pages[0]
        self.pingdom_tail = (
            f'GET / HTTP/1.1" 200 {home.sizes[0]} "-" "{MONITOR_USER_AGENTS["pingdom"]}"\n'
        )
        feed = CRAWLER_FILES["/blog/rss.xml"]
        feedly = BOT_USER_AGENTS["feedly"]
        self.feed_head = f"{self._ip('Bytebarn Datacenters')} - - ["
        self.feed_tails = (
            f'GET /blog/rss.xml HTTP/1.1" 200 {feed} "-" "{feedly}"\n',
            f'GET /blog/rss.xml HTTP/1.1" 304 0 "-" "{feedly}"\n',
        )
        self.tool_heads = [
            f"{self._ip(n)} - - [" for n in ("Cloudforge Hosting", "Nimbus VPS") for _ in range(4)
        ]

    def _network(self, name: str) -> Organization:
        return self.networks.get(name, self.fallback)

    def _ip(self, network: str, v6: bool = False) -> str:
        org = self._network(network)
        return random_host(self.rng, org.ipv6 if v6 and org.ipv6 else org.ipv4)

    def _crawler(self, key: str, network: str, per_day: int, http2: bool, v6: float) -> _Crawler:
        rng = self.rng
        heads = [f"{self._ip(network, rng.random() < v6)} - - [" for _ in range(6)]
        crawler = _Crawler(heads, per_day * self.scale)
        proto = "HTTP/2.0" if http2 else "HTTP/1.1"
        end = f' "-" "{BOT_USER_AGENTS[key]}"\n'
        weights: list[float] = []
        for page in self.site.pages:
            weights.append(_CRAWL_WEIGHTS.get(page.type, 0.5) / 4)
            crawler.fresh.append(f'GET {page.path} {proto}" 200 {page.sizes[0]}{end}')
            crawler.stale.append(f'GET {page.path} {proto}" 304 0{end}')
        for path, size in CRAWLER_FILES.items():
            if path == "/blog/rss.xml" or key in {"facebook", "linkedin", "slack"}:
                continue
            weights.append(1.2 if path == "/robots.txt" else 0.5)
            crawler.fresh.append(f'GET {path} {proto}" 200 {size}{end}')
            crawler.stale.append(crawler.fresh[-1])
        for old in REDIRECTS:
            weights.append(0.15)
            crawler.fresh.append(f'GET {old} {proto}" 301 {REDIRECT_BYTES}{end}')
            crawler.stale.append(crawler.fresh[-1])
        for broken in BROKEN:
            weights.append(0.1)
            crawler.fresh.append(f'GET {broken} {proto}" 404 {NOT_FOUND_BYTES}{end}')
            crawler.stale.append(crawler.fresh[-1])
        if key.startswith("googlebot"):  # Google renders pages, so it fetches the shell too
            for asset in self.site.shell[:2]:
                weights.append(1.0)
                crawler.fresh.append(f"{asset.ok[1 if http2 else 0]}{end[2:]}")
                crawler.stale.append(crawler.fresh[-1])
        crawler.cumulative = list(accumulate(weights))
        crawler.revalidate = 0.15 if key.startswith(("googlebot", "bingbot")) else 0.0
        return crawler

    def day(self, day: date, midnight: int, events: Events) -> None:
        rng = self.rng
        rnd = rng.random
        emit = events.append
        stamp = self.clock.stamp
        start = midnight - utc_offset(self.zone, day)  # local midnight, site time zone
        for c in self.crawlers:
            total = c.cumulative[-1]
            for _ in range(count(rng, c.mean)):
                t = start + int(rnd() * 86400)
                i = bisect(c.cumulative, rnd() * total)
                body = c.stale[i] if c.revalidate and rnd() < c.revalidate else c.fresh[i]
                emit((t, f'{c.heads[int(rnd() * 6)]}{stamp(t)}] "{body}'))
        # Uptime checks every ten minutes (at reference volume) from three probe locations,
        # and a second monitor every thirty.
        interval = max(60, min(3600, int(600 / max(self.scale, 1e-9))))
        phase = int(rnd() * interval)
        for k, t in enumerate(range(start + phase, start + 86400, interval)):
            emit((t, f'{self.monitor_heads[k % 3]}{stamp(t)}] "{self.uptime_tail}'))
            if k % 3 == 0:
                t2 = t + 97
                emit((t2, f'{self.monitor_heads[2]}{stamp(t2)}] "{self.pingdom_tail}'))
        for hour in range(24):  # feed reader, hourly
            t = start + hour * 3600 + 420 + int(rnd() * 60)
            tail = self.feed_tails[0] if rnd() < 0.2 else self.feed_tails[1]
            emit((t, f'{self.feed_head}{stamp(t)}] "{tail}'))
        for _ in range(count(rng, 12 * self.scale)):
            t = start + int(rnd() * 86400)
            path = _TOOL_PATHS[int(rnd() * len(_TOOL_PATHS))]
            page = self.site.by_path.get(path)
            size = page.sizes[0] if page else CRAWLER_FILES.get(path, NOT_FOUND_BYTES)
            ua = TOOL_USER_AGENTS[int(rnd() * len(TOOL_USER_AGENTS))]
            head = self.tool_heads[int(rnd() * len(self.tool_heads))]
            emit((t, f'{head}{stamp(t)}] "GET {path} HTTP/1.1" 200 {size} "-" "{ua}"\n'))
        for _ in range(count(rng, 2.5 * self.scale)):
            self._scan(start + int(rnd() * 86400), events)

    def _scan(self, t: int, events: Events) -> None:
        """A burst of probes for well-known weak spots, from a fresh hosting address."""
        rng = self.rng
        network = _SCANNER_NETWORKS[int(rng.random() * len(_SCANNER_NETWORKS))]
        head = f"{self._ip(network)} - - ["
        ua = SCANNER_USER_AGENTS[int(rng.random() * len(SCANNER_USER_AGENTS))]
        n = rng.randint(12, len(_SCANNER_PATHS))
        stamp = self.clock.stamp
        for path, status in rng.sample(_SCANNER_PATHS, n):
            if status == 200:
                page = self.site.by_path.get(path)
                size = page.sizes[0] if page else CRAWLER_FILES.get(path, 318)
            else:
                size = _STATUS_BYTES[status]
            events.append(
                (t, f'{head}{stamp(t)}] "GET {path} HTTP/1.1" {status} {size} "-" "{ua}"\n')
            )
            t += int(rng.random() * 3)
