"""Timestamp text -> epoch seconds (UTC), memoised.

Busy logs repeat the same second on many consecutive lines, so a dict lookup on the
timestamp text replaces the conversion on most lines. The caches are simply cleared when
they grow large: cheaper than an LRU on the hit path, and a log only moves forward.
"""

from __future__ import annotations

import math
import re

from .base import MalformedLine

_MAX_CACHE = 1 << 16

MONTHS = {
    m: i
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)

# Apache/nginx '%t' / '$time_local': 10/Oct/2000:13:55:36 -0700. HAProxy and a few others
# add fractions and drop the offset; both are accepted (no offset means UTC).
_CLF = re.compile(
    r"(\d{1,2})/([A-Za-z]{3})/(\d{4}):(\d\d):(\d\d):(\d\d)(\.\d{1,9})?"
    r"(?: ?([+-])(\d\d):?(\d\d))?\Z"
)
_ISO_HEAD = re.compile(r"(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)\Z")
_ISO_TAIL = re.compile(r"(\.\d{1,12})?(?:(Z|z| ?UTC)|([+-])(\d\d)(?::?(\d\d))?)?\Z")

# Public so that the hottest parsers can do the dict lookup inline.
CLF_CACHE: dict[str, float] = {}
_DAY_CACHE: dict[str, float] = {}
_ISO_CACHE: dict[str, float] = {}


def days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm)."""
    year -= month <= 2
    era = (year if year >= 0 else year - 399) // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _epoch(year: int, month: int, day: int, hour: int, minute: int, second: int) -> int:
    # Web logs start in 1990; far-off years are corrupt lines, and would overflow later.
    if not 1970 <= year <= 2200:
        raise MalformedLine("timestamp out of range")
    if not 1 <= month <= 12 or not 1 <= day <= _MONTH_DAYS[month - 1]:
        raise MalformedLine("bad timestamp")
    if month == 2 and day == 29 and (year % 4 or (year % 100 == 0 and year % 400)):
        raise MalformedLine("bad timestamp")
    if hour > 23 or minute > 59 or second > 60:
        raise MalformedLine("bad timestamp")
    return days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second


def _offset(sign: str | None, hours: str | None, minutes: str | None) -> int:
    if sign is None or hours is None:
        return 0
    h, m = int(hours), int(minutes or 0)
    if h > 23 or m > 59:
        raise MalformedLine("bad timestamp")
    seconds = h * 3600 + m * 60
    return -seconds if sign == "-" else seconds


def clf_to_epoch(text: str) -> float:
    """'10/Oct/2000:13:55:36 -0700' -> 971211336.0; MalformedLine('bad timestamp')."""
    cached = CLF_CACHE.get(text)
    if cached is not None:
        return cached
    # Sparse logs rarely repeat a second: convert from a per-day (and offset) base.
    if len(text) == 26 and text[11] == ":" and text[14] == ":" and text[17] == ":":
        digits = text[12:14] + text[15:17] + text[18:20]
        if digits.isdigit() and digits.isascii():
            hour, minute, second = int(digits[:2]), int(digits[2:4]), int(digits[4:])
            if hour > 23 or minute > 59 or second > 60:
                raise MalformedLine("bad timestamp")
            day = text[:11] + text[20:]
            base = _DAY_CACHE.get(day)
            if base is None:
                base = _clf_parse(text[:11] + ":00:00:00" + text[20:])
                if len(_DAY_CACHE) >= _MAX_CACHE:
                    _DAY_CACHE.clear()
                _DAY_CACHE[day] = base
            result = base + (hour * 3600 + minute * 60 + second)
        else:
            result = _clf_parse(text)
    else:
        result = _clf_parse(text)
    if len(CLF_CACHE) >= _MAX_CACHE:
        CLF_CACHE.clear()
    CLF_CACHE[text] = result
    return result


def _clf_parse(text: str) -> float:
    m = _CLF.match(text)
    if m is None:
        raise MalformedLine("bad timestamp")
    day, mon, year, hh, mm, ss, frac, sign, oh, om = m.groups()
    month = MONTHS.get(mon.lower())
    if month is None:
        raise MalformedLine("bad timestamp")
    value = _epoch(int(year), month, int(day), int(hh), int(mm), int(ss)) - _offset(sign, oh, om)
    return value + float(frac) if frac else float(value)


def iso_to_epoch(text: str) -> float:
    """ISO 8601 ('2015-05-13T23:39:43.945958Z', '2013-10-10T16:52:00+02:00', no offset = UTC).

    Cached on the seconds part, since ELB/ALB/Traefik add unique fractions to every line.
    """
    head = text[:19]
    base = _ISO_CACHE.get(head)
    if base is None:
        m = _ISO_HEAD.match(head)
        if m is None:
            raise MalformedLine("bad timestamp")
        base = float(_epoch(*(int(g) for g in m.groups())))
        if len(_ISO_CACHE) >= _MAX_CACHE:
            _ISO_CACHE.clear()
        _ISO_CACHE[head] = base
    tail = text[19:]
    if not tail or tail == "Z":
        return base
    t = _ISO_TAIL.match(tail)
    if t is None:
        raise MalformedLine("bad timestamp")
    frac, _utc, sign, oh, om = t.groups()
    return base - _offset(sign, oh, om) + (float(frac) if frac else 0.0)


def date_time_to_epoch(date: str, time: str) -> float:
    """W3C/IIS 'date' + 'time' columns ('2012-04-01', '00:00:13.363'), UTC."""
    return iso_to_epoch(f"{date}T{time}")


def number_to_epoch(value: object) -> float:
    """Epoch seconds given as a JSON number or numeric string (Caddy 'ts', nginx $msec)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise MalformedLine("bad timestamp")
    try:
        result = float(value)
    except (ValueError, OverflowError):
        raise MalformedLine("bad timestamp") from None
    if not math.isfinite(result) or not 0 <= result < 7.3e9:  # up to the year 2200
        raise MalformedLine("bad timestamp")
    return result
