"""Seeded website traffic for the demo company, as an Apache/nginx combined access log.

    >>> company = demo_company()
    >>> lines = iter_log_lines(company, start=datetime(2025, 3, 1, tzinfo=UTC), days=30)
    >>> write_log("/tmp/access.log", lines=1_000_000, end=date(2025, 6, 30))

Days are generated one at a time (people, then bots), sorted, and released once no later
day can produce an earlier line, so output is chronological across visitors and time
zones while memory stays at about two days of lines. Timestamps are in the company's time
zone with the offset valid at that instant (+0100/+0200 around DST changes).
"""

from __future__ import annotations

import gzip
import math
import os
import random
from bisect import bisect_left
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from operator import itemgetter
from typing import IO
from zoneinfo import ZoneInfo

from spoor.demo.bots import BotTraffic
from spoor.demo.company import (
    Campaign,
    DemoCompany,
    Organization,
    Page,
    Person,
    demo_company,
    organization_for_ip,
)
from spoor.demo.site import Clock, Site, epoch, utc_midnight
from spoor.demo.visits import HumanTraffic

__all__ = [
    "Campaign",
    "DemoCompany",
    "Organization",
    "Page",
    "Person",
    "demo_company",
    "iter_log_lines",
    "organization_for_ip",
    "write_log",
]

DEFAULT_VISITS_PER_DAY = 400.0
# When asked for a number of lines, keep volume in a believable band and stretch or
# shrink the period instead.
_MIN_VISITS_PER_DAY = 40.0
_MAX_VISITS_PER_DAY = 1200.0
_LINES_PER_VISIT_GUESS = 8.5  # all lines (bots included) per human visit, measured
_SPILL = 6 * 3600  # no visitor's day starts more than this before the site's midnight
_first = itemgetter(0)


class _Simulation:
    def __init__(
        self, company: DemoCompany, start: datetime, days: int, seed: int, visits_per_day: float
    ) -> None:
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        if days < 0 or visits_per_day < 0:
            raise ValueError("days and visits_per_day must not be negative")
        tz = ZoneInfo(company.timezone)
        local_start = start.astimezone(tz)
        local_end = local_start + timedelta(days=days)  # wall-clock days, DST-proof
        self.start = epoch(local_start)
        self.end = epoch(local_end)
        self.first_day = local_start.date()
        # The day before: late visits from the Americas land after our midnight.
        self.dates = [
            self.first_day + timedelta(days=i)
            for i in range(-1, (local_end.date() - self.first_day).days + 1)
        ]
        self.clock = Clock(tz, self.start - 3 * 86400, self.end + 3 * 86400)
        rng = random.Random(f"spoor-demo-traffic:{seed}")
        site = Site(company)
        self.humans = HumanTraffic(company, site, self.clock, rng, visits_per_day)
        self.bots = BotTraffic(company, site, self.clock, rng, visits_per_day)

    def day_events(self, day: date) -> list[tuple[int, str]]:
        return self.day_events_split(day)[0]

    def day_events_split(self, day: date) -> tuple[list[tuple[int, str]], int]:
        """Unsorted (time, line) pairs for one day, and how many of them are human."""
        events: list[tuple[int, str]] = []
        midnight = utc_midnight(day)
        self.humans.day(day, (day - self.first_day).days, midnight, events)
        human = len(events)
        self.bots.day(day, midnight, events)
        return events, human

    def chunks(self) -> Iterator[list[str]]:
        """Lists of lines, in order; each list covers roughly one day."""
        pending: list[tuple[int, str]] = []
        last = len(self.dates) - 1
        for i, day in enumerate(self.dates):
            pending.extend(self.day_events(day))
            pending.sort(key=_first)  # stable: a page view stays ahead of its assets
            cutoff = utc_midnight(day) + 86400 - _SPILL if i < last else self.end
            ready = bisect_left(pending, cutoff, key=_first)
            lo = bisect_left(pending, self.start, hi=ready, key=_first)
            hi = min(ready, bisect_left(pending, self.end, lo=lo, hi=ready, key=_first))
            if hi > lo:
                yield [line for _, line in pending[lo:hi]]
            del pending[:ready]
            if cutoff >= self.end:
                return


def iter_log_lines(
    company: DemoCompany,
    *,
    start: datetime,
    days: int,
    seed: int = 7,
    visits_per_day: float = DEFAULT_VISITS_PER_DAY,
) -> Iterator[str]:
    """Combined-log lines (each ending in a newline) for ``days`` days from ``start``.

    ``visits_per_day`` is the number of human visits on a weekday at ``start``; weekends
    are quieter, campaigns add visits, traffic grows about 20% a year, and bots add
    roughly a quarter of the lines on top.
    """
    for chunk in _Simulation(company, start, days, seed, visits_per_day).chunks():
        yield from chunk


def _end_instant(end: date | datetime | None, tz: ZoneInfo) -> datetime:
    if end is None:
        return datetime.now(tz).replace(microsecond=0)
    if isinstance(end, datetime):
        return end.replace(tzinfo=tz) if end.tzinfo is None else end.astimezone(tz)
    # A date means "up to and including that day".
    return datetime.combine(end + timedelta(days=1), time(0), tzinfo=tz)


def _plan(
    company: DemoCompany, end: datetime, days: int, seed: int, lines: int
) -> tuple[datetime, int, float]:
    """Pick a period and a daily volume expected to produce slightly more than ``lines``.

    A probe simulates two weeks (the first one warms up the visitors' browser caches) to
    measure lines per human visit and bot lines per day; the expected number of visits on
    every day of the period is known analytically (weekdays, growth, campaigns).
    """
    wanted = lines * 1.02  # a small margin: the log is cut at exactly `lines`
    days = max(days, 1)
    vpd = wanted / (_LINES_PER_VISIT_GUESS * days)
    if not _MIN_VISITS_PER_DAY <= vpd <= _MAX_VISITS_PER_DAY:
        vpd = min(max(vpd, _MIN_VISITS_PER_DAY), _MAX_VISITS_PER_DAY)
        days = max(1, math.ceil(wanted / (_LINES_PER_VISIT_GUESS * vpd)))
    probe = _Simulation(company, end - timedelta(days=days), max(days, 15), seed, vpd)
    human_lines = bot_lines = visits = 0
    for i, day in enumerate(probe.dates[1:15]):
        events, human = probe.day_events_split(day)
        if i >= 7:
            human_lines += human
            bot_lines += len(events) - human
            visits += probe.humans.visits
        probe.humans.visits = 0
    per_visit = human_lines / max(visits, 1)
    bots_per_day = bot_lines / 7
    expected = sum(
        probe.humans.expected_visits(day, i) * per_visit + bots_per_day
        for i, day in enumerate(probe.dates[1 : days + 1])
    )
    # Volume scales (nearly) linearly, so rescale the probe's volume to hit the target.
    scaled = vpd * wanted / max(expected, 1.0)
    if _MIN_VISITS_PER_DAY <= scaled <= _MAX_VISITS_PER_DAY:
        return end - timedelta(days=days), days, scaled
    bounded = min(max(scaled, _MIN_VISITS_PER_DAY), _MAX_VISITS_PER_DAY)
    per_day = expected / days * bounded / vpd
    days = max(1, math.ceil(wanted / per_day))
    return end - timedelta(days=days), days, bounded


def write_log(
    path_or_file: str | os.PathLike[str] | IO[str],
    *,
    lines: int | None = None,
    days: int = 120,
    end: date | datetime | None = None,
    seed: int = 7,
    visits_per_day: float = DEFAULT_VISITS_PER_DAY,
    company: DemoCompany | None = None,
) -> int:
    """Write a combined log ending at ``end`` (default: now) and return the lines written.

    Without ``lines`` the log covers ``days`` days at ``visits_per_day``. With ``lines``
    exactly that many lines are written: the daily volume is scaled to fill ``days``
    (within 40-1200 visits a day; beyond that the period is stretched or shrunk), and the
    log is cut once the count is reached, so it may stop a few days before ``end``. A
    path ending in ``.gz`` is written gzip-compressed.
    """
    company = company or demo_company(seed)
    tz = ZoneInfo(company.timezone)
    end_at = _end_instant(end, tz)
    if lines is not None:
        if lines < 0:
            raise ValueError("lines must not be negative")
        start, days, visits_per_day = _plan(company, end_at, days, seed, lines)
        # Head room in case the estimate fell short: rather a few lines past `end` than fewer.
        sim_days = days + max(3, days // 10)
    else:
        start = end_at - timedelta(days=days)
        sim_days = days
    sim = _Simulation(company, start, sim_days, seed, visits_per_day)
    if hasattr(path_or_file, "write"):
        return _write(sim, path_or_file, lines)  # type: ignore[arg-type]
    path = os.fspath(path_or_file)
    if path.endswith(".gz"):
        with gzip.open(path, "wt", encoding="utf-8", newline="\n") as gz:
            return _write(sim, gz, lines)
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        return _write(sim, fh, lines)


def _write(sim: _Simulation, out: IO[str], limit: int | None) -> int:
    written = 0
    for chunk in sim.chunks():
        if limit is not None and written + len(chunk) >= limit:
            out.writelines(chunk[: limit - written])
            return limit
        out.writelines(chunk)
        written += len(chunk)
    return written
