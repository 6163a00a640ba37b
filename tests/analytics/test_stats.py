"""Stats over a small hand-written log whose right answers are known."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine

from spoor.analytics.query import Period, PeriodError, parse_period
from spoor.analytics.stats import report
from spoor.ingest.logimport import import_logs
from spoor.settings import Settings
from spoor.sites import get_site

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
NEWSLETTER = "utm_source=nl&utm_medium=email&utm_campaign=march"
BOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


def line(ip: str, when: str, path: str, ua: str, referrer: str = "-", status: int = 200) -> str:
    return f'{ip} - - [{when} +0000] "GET {path} HTTP/1.1" {status} 512 "{referrer}" "{ua}"\n'


LOG = "".join(
    [
        # Visit 1 (Firefox, from Google): 3 pages over 4 minutes, plus an asset.
        line("198.18.1.1", "02/Mar/2026:09:00:00", "/", FIREFOX, "https://www.google.com/"),
        line("198.18.1.1", "02/Mar/2026:09:00:01", "/static/app.css", FIREFOX),
        line("198.18.1.1", "02/Mar/2026:09:02:00", "/pricing", FIREFOX, "https://www.x.example/"),
        line("198.18.1.1", "02/Mar/2026:09:04:00", "/demo", FIREFOX),
        # Visit 2 (same person, 2 hours later, newsletter campaign): a bounce.
        line("198.18.1.1", "02/Mar/2026:11:10:00", f"/blog/a?{NEWSLETTER}", FIREFOX),
        # Visit 3 (iPhone, next day, from LinkedIn): 2 pages, one 404 not counted.
        line("2001:db8::5", "03/Mar/2026:12:00:00", "/pricing", IPHONE, "https://www.linkedin.com/"),
        line("2001:db8::5", "03/Mar/2026:12:00:30", "/nope", IPHONE, status=404),
        line("2001:db8::5", "03/Mar/2026:12:01:00", "/about", IPHONE),
        # A crawler: dropped, counted as a bot.
        line("198.18.9.9", "03/Mar/2026:12:00:00", "/", BOT),
        line("198.18.9.9", "03/Mar/2026:12:00:01", "/pricing", BOT),
    ]
)  # fmt: skip


@pytest.fixture
def site_report(engine: Engine, settings: Settings, tmp_path: Path):  # type: ignore[no-untyped-def]
    path = tmp_path / "access.log"
    path.write_text(LOG)
    import_logs(engine, settings, [str(path)], site="www.x.example")
    with engine.connect() as conn:
        site = get_site(conn, "www.x.example")
        assert site is not None
        return report(conn, site, Period(date(2026, 3, 2), date(2026, 3, 3)))


def test_totals(site_report) -> None:  # type: ignore[no-untyped-def]
    t = site_report.totals
    assert (t.visits, t.visitors, t.pageviews) == (3, 2, 6)
    assert t.bounce_rate == pytest.approx(1 / 3)
    assert t.avg_duration == pytest.approx((240 + 0 + 60) / 3)


def test_breakdowns(site_report) -> None:  # type: ignore[no-untyped-def]
    assert site_report.daily == [(date(2026, 3, 2), 2), (date(2026, 3, 3), 1)]
    assert site_report.pages[0] == ("/pricing", 2, 2)
    assert dict(site_report.top["channel"]) == {"search": 1, "email": 1, "social": 1}
    assert dict(site_report.top["campaign"]) == {"march": 1}
    assert dict(site_report.top["device"]) == {"desktop": 2, "mobile": 1}
    assert dict(site_report.top["entry_page"]) == {"/": 1, "/blog/a": 1, "/pricing": 1}
    assert site_report.dropped == {"bot": 2, "http_error": 1, "static": 1}


def test_previous_period_is_compared(site_report) -> None:  # type: ignore[no-untyped-def]
    assert site_report.previous is not None
    assert site_report.previous.visits == 0


def test_periods() -> None:
    today = date(2026, 3, 31)
    assert parse_period("7d", today) == Period(date(2026, 3, 25), today)
    assert parse_period("all", today) == Period(None, None)
    assert parse_period("2026-01-01..2026-01-31", today).days()[-1] == date(2026, 1, 31)
    for bad in ("week", "0d", "2026-02-01..2026-01-01", "2026-13-01..2026-13-02"):
        with pytest.raises(PeriodError):
            parse_period(bad, today)
