"""Precomputed fragments of log lines: the site's URLs and responses, and timestamp formatting.

Generating millions of lines per run means the hot loops only concatenate strings built
here once: request/status/size fragments per page and protocol, and timestamps assembled
from a per-day date prefix, a per-second ``HH:MM:SS`` table and a per-offset suffix.
"""

from __future__ import annotations

import zlib
from datetime import UTC, date, datetime
from functools import cache
from zoneinfo import ZoneInfo

from spoor.demo.company import DemoCompany, Page

HTTP = ("HTTP/1.1", "HTTP/2.0")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()

# Compressed HTML transfer sizes per page type (nginx logs bytes actually sent).
_HTML_BYTES = {
    "home": 15800, "pricing": 13900, "product": 12600, "case_study": 11800,
    "comparison": 10900, "integration": 9100, "security": 9800, "docs": 8400, "blog": 12200,
    "careers": 7600, "legal": 10400, "investors": 8100, "demo": 7300, "contact": 6900,
}  # fmt: skip
_ASSET_BYTES = {
    "/static/app.css": 38412, "/static/app.js": 91873, "/static/fonts/inter-var.woff2": 48256,
    "/favicon.ico": 15086, "/apple-touch-icon.png": 11342, "/img/logo.png": 6120,
    "/img/hero-dashboard.png": 184311, "/img/pricing-plans.png": 74207,
    "/img/product/dashboards.png": 162734, "/img/product/attribution.png": 141092,
    "/img/product/forecasting.png": 208416, "/img/customers/logos.png": 58213,
    "/img/blog/cover.png": 96430, "/img/team.png": 231877,
}  # fmt: skip
SHELL_ASSETS = (
    "/static/app.css",
    "/static/app.js",
    "/static/fonts/inter-var.woff2",
    "/img/logo.png",
)
# Old URLs still linked from elsewhere (301) and links to pages that no longer exist (404).
REDIRECTS = {
    "/features": "/product", "/pricing/": "/pricing", "/customers": "/case-studies",
    "/jobs": "/careers", "/request-demo": "/demo", "/docs/v1/api": "/docs/api",
    "/blog/2023/attribution-models": "/blog/attribution-models-explained",
    "/privacy": "/legal/privacy",
}  # fmt: skip
BROKEN = (
    "/blog/webinar-recording-2023",
    "/careers/frontend-engineer",
    "/docs/v1/getting-started",
    "/product/reports",
    "/integrations/pipedrive",
    "/case-studies/orbis-freight",
    "/blog/2022/year-in-review",
)
NOT_FOUND_BYTES = 5123
REDIRECT_BYTES = 162
# Served to crawlers and feed readers only, so not part of the page catalogue.
CRAWLER_FILES = {"/robots.txt": 412, "/sitemap.xml": 14872, "/blog/rss.xml": 22581}


@cache
def seconds_table() -> tuple[str, ...]:
    """``HH:MM:SS`` for every second of a day."""
    return tuple(
        f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60)
    )


class Clock:
    """Formats epoch seconds as ``dd/Mon/YYYY:HH:MM:SS +hhmm`` in one time zone, fast.

    The UTC offset is looked up once per hour of the covered period (DST changes happen
    on the hour), so each timestamp costs a list index, a divmod and an f-string.
    """

    def __init__(self, tz: ZoneInfo, first: int, last: int) -> None:
        self._t0 = first - first % 3600
        offsets = []
        for hour in range((last - self._t0) // 3600 + 2):
            offset = datetime.fromtimestamp(self._t0 + hour * 3600, tz).utcoffset()
            offsets.append(int(offset.total_seconds()) if offset else 0)
        self._offsets = offsets
        self._local0 = (self._t0 + min(offsets)) // 86400 * 86400
        days = (last + max(offsets) - self._local0) // 86400 + 2
        first_ordinal = EPOCH_ORDINAL + self._local0 // 86400
        self._prefix = []
        for i in range(days):
            d = date.fromordinal(first_ordinal + i)
            self._prefix.append(f"{d.day:02d}/{MONTHS[d.month - 1]}/{d.year}:")
        self._suffix = {}
        for off in set(offsets):
            sign = "+" if off >= 0 else "-"
            hh, mm = divmod(abs(off) // 60, 60)
            self._suffix[off] = f" {sign}{hh:02d}{mm:02d}"
        self._hms = seconds_table()

    def stamp(self, t: int) -> str:
        off = self._offsets[(t - self._t0) // 3600]
        day, sec = divmod(t + off - self._local0, 86400)
        return f"{self._prefix[day]}{self._hms[sec]}{self._suffix[off]}"


def utc_offset(tz: ZoneInfo, day: date) -> int:
    """Seconds east of UTC at noon local time on ``day`` (good enough for scheduling)."""
    offset = datetime(day.year, day.month, day.day, 12, tzinfo=tz).utcoffset()
    return int(offset.total_seconds()) if offset else 0


def utc_midnight(day: date) -> int:
    return (day.toordinal() - EPOCH_ORDINAL) * 86400


def epoch(dt: datetime) -> int:
    return int(dt.astimezone(UTC).timestamp())


def _spread(path: str, base: int, width: float) -> int:
    """A stable per-path size around ``base`` (crc32, so it survives PYTHONHASHSEED)."""
    return int(base * (1.0 - width / 2 + width * (zlib.crc32(path.encode()) / 0xFFFFFFFF)))


class Asset:
    __slots__ = ("not_modified", "ok", "path", "url")

    def __init__(self, path: str, base_url: str) -> None:
        size = _ASSET_BYTES.get(path) or _spread(path, 40000, 0.8)
        self.path = path
        self.url = base_url + path
        # Everything up to and including the opening quote of the referrer.
        self.ok = tuple(f'GET {path} {proto}" 200 {size} "' for proto in HTTP)
        self.not_modified = tuple(f'GET {path} {proto}" 304 0 "' for proto in HTTP)


class SitePage:
    __slots__ = ("images", "page", "path", "req", "sizes", "type", "url")

    def __init__(self, page: Page, base_url: str, images: tuple[Asset, ...]) -> None:
        self.page = page
        self.path = page.path
        self.type = page.page_type
        self.url = base_url + page.path
        self.images = images
        # Request, status and the space before the size, per protocol.
        self.req = tuple(f'GET {page.path} {proto}" 200 ' for proto in HTTP)
        base = _spread(page.path, _HTML_BYTES.get(page.page_type, 9000), 0.3)
        # Dynamic bits (CSRF token, nonce) make the same page differ by a few bytes.
        self.sizes = tuple(str(base + jitter) for jitter in (0, 3, 7, 12, 18, 26, 31, 40))


class Site:
    """The company's website as the simulator needs it: pages, their images, and shell assets."""

    def __init__(self, company: DemoCompany) -> None:
        self.base_url = company.base_url
        self.assets = {
            p.path: Asset(p.path, self.base_url) for p in company.pages if p.page_type == "asset"
        }
        self.pages: list[SitePage] = []
        for page in company.pages:
            if page.page_type != "asset":
                images = tuple(self.assets[a] for a in _images_for(page) if a in self.assets)
                self.pages.append(SitePage(page, self.base_url, images))
        self.by_path = {p.path: p for p in self.pages}
        self.shell = tuple(self.assets[a] for a in SHELL_ASSETS if a in self.assets)
        self.favicon = self.assets.get("/favicon.ico")
        self.touch_icon = self.assets.get("/apple-touch-icon.png")
        self.old_url = {new: old for old, new in REDIRECTS.items() if new in self.by_path}


def _images_for(page: Page) -> tuple[str, ...]:
    if page.page_type == "home":
        return ("/img/hero-dashboard.png", "/img/customers/logos.png")
    if page.page_type == "pricing":
        return ("/img/pricing-plans.png",)
    if page.page_type == "product":
        slug = page.path.rsplit("/", 1)[-1]
        return (f"/img/product/{slug}.png",) if slug != "product" else ("/img/hero-dashboard.png",)
    if page.page_type == "case_study":
        return ("/img/customers/logos.png",)
    if page.page_type == "blog":
        return ("/img/blog/cover.png",)
    if page.page_type == "careers":
        return ("/img/team.png",)
    return ()
