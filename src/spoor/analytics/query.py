"""A report's period: parsed from `7d`, `30d`, `all` or `START..END`, in the site's zone."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo


class PeriodError(ValueError):
    """A period that cannot be understood; the message shows the accepted forms."""


@dataclass(frozen=True)
class Period:
    """Inclusive local days [start, end]; None means unbounded."""

    start: date | None
    end: date | None

    def days(self) -> list[date]:
        if self.start is None or self.end is None:
            return []
        return [self.start + timedelta(n) for n in range((self.end - self.start).days + 1)]

    def epoch_bounds(self, timezone: str) -> tuple[int | None, int | None]:
        """[from, to) epoch seconds of the local days of this period."""
        zone = ZoneInfo(timezone)

        def midnight(day: date) -> int:
            return int(datetime.combine(day, time(), zone).timestamp())

        lower = midnight(self.start) if self.start else None
        upper = midnight(self.end + timedelta(1)) if self.end else None
        return lower, upper

    def previous(self) -> Period | None:
        """The period of equal length just before this one (for comparisons)."""
        if self.start is None or self.end is None:
            return None
        length = (self.end - self.start).days + 1
        return Period(self.start - timedelta(length), self.start - timedelta(1))

    def label(self) -> str:
        if self.start is None:
            return "all time"
        return f"{self.start.isoformat()} .. {self.end.isoformat() if self.end else ''}"


_RELATIVE = re.compile(r"^(\d{1,4})d$")


def parse_period(text: str, today: date) -> Period:
    """`7d` and `30d` end today (inclusive); `all` is unbounded; dates are ISO."""
    text = text.strip().lower()
    if text == "all":
        return Period(None, None)
    if text == "today":
        return Period(today, today)
    match = _RELATIVE.match(text)
    if match:
        days = int(match.group(1))
        if days < 1:
            raise PeriodError("a relative period needs at least 1 day, e.g. 7d")
        if today - timedelta(days - 1) < date(1970, 1, 1):
            raise PeriodError(f"{text!r} reaches back before 1970")
        return Period(today - timedelta(days - 1), today)
    if ".." in text:
        first, _, last = text.partition("..")
        try:
            start, end = date.fromisoformat(first), date.fromisoformat(last)
        except ValueError as exc:
            raise PeriodError(f"{text!r}: dates must look like 2026-01-31") from exc
        if end < start:
            raise PeriodError(f"{text!r}: the end is before the start")
        if start.year < 1970 or end.year > 9000:
            raise PeriodError(f"{text!r}: dates must lie between 1970 and 9000")
        return Period(start, end)
    raise PeriodError(
        f"{text!r} is not a period: use 7d, 30d, all, today or 2026-01-01..2026-01-31"
    )


def period_in_zone(text: str, timezone: str, now: datetime | None = None) -> Period:
    """`parse_period` with "today" as it is in `timezone`."""
    today = (now or datetime.now(ZoneInfo(timezone))).astimezone(ZoneInfo(timezone)).date()
    return parse_period(text, today)
