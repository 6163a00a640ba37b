"""Lead scores: pure functions of an account's signals, its facts and the rules.

Priority = 0.4 Fit + 0.6 Intent, each 0-100 (DESIGN.md, "Leads, prospecting and the
30-day rule"). Intent: S = the sum of each signal's points times 0.5^(age / half-life), and
Intent = 100 (1 - e^(-S / scale)). Fit: the ideal-customer-profile rules that match, up to
100. Every point comes with a reason in plain words, and the reasons add up to the score.

Choices that keep the score honest (and are property-tested): where a cap limits how
many signals count, the most recent ones count, so a new signal never lowers a score;
without new signals every weight only shrinks, so a score only cools.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

DAY = 86_400


class PageType(StrEnum):
    HAND_RAISE = "hand_raise"  # a demo, contact or quote form was sent
    PRICING = "pricing"
    EVALUATION = "evaluation"  # comparisons, case studies, integrations, security
    PRODUCT = "product"  # product and docs pages
    OTHER = "other"
    NOT_BUYER = "not_buyer"  # careers, investors, legal: no buying interest


@dataclass(frozen=True)
class Signal:
    """One thing an account did: a page it read or a form it sent."""

    ts: int  # epoch seconds
    day: date  # the local day of `ts` in the site's time zone
    page_type: PageType
    path: str
    visitor: int  # the (daily) visitor hash: distinct people from the account


@dataclass(frozen=True)
class IntentRules:
    half_life_days: float = 7.0
    scale: float = 40.0
    points: Mapping[PageType, float] = field(
        default_factory=lambda: {
            PageType.HAND_RAISE: 40.0,
            PageType.PRICING: 15.0,
            PageType.EVALUATION: 8.0,
            PageType.PRODUCT: 3.0,
            PageType.OTHER: 1.0,
            PageType.NOT_BUYER: 0.0,
        }
    )
    per_type_per_day: int = 3  # signals of one page type counted per day
    window_days: int = 30  # for extra active days and extra visitors
    active_day_points: float = 6.0
    active_days_counted: int = 4  # 4 x 6 = at most 24
    visitor_points: float = 6.0
    visitors_counted: int = 3  # 3 x 6 = at most 18


@dataclass(frozen=True)
class Reason:
    points: float  # what this reason adds to the score now (decayed)
    text: str


@dataclass(frozen=True)
class Intent:
    score: float  # 0-100
    strength: float  # S, the decayed sum of points
    reasons: tuple[Reason, ...]  # by points, highest first; in points of the score
    not_buyer: bool  # only careers, investor or legal pages: "probably not a buyer"
    last_seen: int | None


def decay(age_seconds: float, half_life_days: float) -> float:
    return float(0.5 ** (max(age_seconds, 0.0) / (half_life_days * DAY)))


def _ago(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 90:
        return "just now"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} minutes ago"
    if seconds < 36 * 3600:
        return f"{round(seconds / 3600)} hours ago"
    days = round(seconds / DAY)
    return "1 day ago" if days == 1 else f"{days} days ago"


def _times(n: int) -> str:
    return {1: "once", 2: "twice"}.get(n, f"{n} times")


_TEXTS = {
    PageType.HAND_RAISE: "sent {path}",
    PageType.PRICING: "read {path}",
    PageType.EVALUATION: "read {path}",
    PageType.PRODUCT: "read {path}",
    PageType.OTHER: "read {path}",
}


def intent(signals: Iterable[Signal], now: int, rules: IntentRules | None = None) -> Intent:
    rules = rules or IntentRules()
    past = sorted((s for s in signals if s.ts <= now), key=lambda s: s.ts)
    h = rules.half_life_days
    # Pages: per day and type, the most recent `per_type_per_day` count.
    per_day_type: defaultdict[tuple[date, PageType], list[Signal]] = defaultdict(list)
    for s in past:
        per_day_type[(s.day, s.page_type)].append(s)
    by_path: defaultdict[tuple[PageType, str], list[Signal]] = defaultdict(list)
    page_points: defaultdict[tuple[PageType, str], float] = defaultdict(float)
    for (_, page_type), group in per_day_type.items():
        points = rules.points.get(page_type, 0.0)
        for s in group[-rules.per_type_per_day :]:
            by_path[(page_type, s.path)].append(s)
            page_points[(page_type, s.path)] += points * decay(now - s.ts, h)
    reasons = []
    for (page_type, path), counted in by_path.items():
        if page_type is PageType.NOT_BUYER or page_points[(page_type, path)] <= 0:
            continue
        text = _TEXTS[page_type].format(path=path)
        if page_type is not PageType.HAND_RAISE and len(counted) > 1:
            text += f" {_times(len(counted))}"
        reasons.append(
            Reason(page_points[(page_type, path)], f"{text}, {_ago(now - counted[-1].ts)}")
        )
    window = [s for s in past if s.ts > now - rules.window_days * DAY]
    reasons += _extra_days(window, now, rules)
    reasons += _extra_visitors(window, now, rules)
    reasons.sort(key=lambda r: (-r.points, r.text))
    strength = sum(r.points for r in reasons)
    score = 100.0 * (1.0 - math.exp(-strength / rules.scale))
    # Reasons in points of the score: their shares of S, so that they add up to the score.
    scaled = tuple(Reason(r.points / strength * score, r.text) for r in reasons) if strength else ()
    kinds = {s.page_type for s in window}
    return Intent(
        score=score,
        strength=strength,
        reasons=scaled,
        not_buyer=bool(kinds) and kinds == {PageType.NOT_BUYER},
        last_seen=past[-1].ts if past else None,
    )


def _extra_days(window: Sequence[Signal], now: int, rules: IntentRules) -> list[Reason]:
    """Each active day beyond the first, at its last signal; the most recent count."""
    last_per_day: dict[date, int] = {}
    for s in window:
        last_per_day[s.day] = max(last_per_day.get(s.day, 0), s.ts)
    times = sorted(last_per_day.values(), reverse=True)
    extra = times[: len(times) - 1][: rules.active_days_counted]
    if not extra:
        return []
    points = sum(rules.active_day_points * decay(now - t, rules.half_life_days) for t in extra)
    return [Reason(points, f"came back on {len(extra)} more day{'s' if len(extra) > 1 else ''} "
                           f"in {rules.window_days} days")]  # fmt: skip


def _extra_visitors(window: Sequence[Signal], now: int, rules: IntentRules) -> list[Reason]:
    """Each distinct visitor beyond the first, at their last signal; the most recent count."""
    last_per_visitor: dict[int, int] = {}
    for s in window:
        last_per_visitor[s.visitor] = max(last_per_visitor.get(s.visitor, 0), s.ts)
    times = sorted(last_per_visitor.values(), reverse=True)
    extra = times[: len(times) - 1][: rules.visitors_counted]
    if not extra:
        return []
    points = sum(rules.visitor_points * decay(now - t, rules.half_life_days) for t in extra)
    people = len(last_per_visitor)
    return [Reason(points, f"{people} people from this organization in {rules.window_days} days")]


@dataclass(frozen=True)
class PageRule:
    """Paths matching `pattern` (a regular expression, searched) are of `page_type`."""

    pattern: str
    page_type: PageType

    def matches(self, path: str) -> bool:
        return re.search(self.pattern, path, re.IGNORECASE) is not None


DEFAULT_PAGE_RULES: tuple[PageRule, ...] = (
    PageRule(r"^/(careers|jobs|investors?|legal|privacy|terms|imprint|impressum)(/|$)",
             PageType.NOT_BUYER),
    PageRule(r"^/pricing(/|$)|^/plans(/|$)", PageType.PRICING),
    PageRule(r"^/(compare|vs|alternatives?|case-studies|customers|integrations|security)(/|$)",
             PageType.EVALUATION),
    PageRule(r"^/(product|features|docs|solutions|platform)(/|$)", PageType.PRODUCT),
)  # fmt: skip


def page_type(path: str, rules: Sequence[PageRule] = DEFAULT_PAGE_RULES) -> PageType:
    """The first matching rule's type; other pages are OTHER."""
    for rule in rules:
        if rule.matches(path):
            return rule.page_type
    return PageType.OTHER


@dataclass(frozen=True)
class FitRule:
    """Adds `points` when the account's `fact` (industry, size, country, type, ...) is one
    of `values` (compared case-insensitively)."""

    fact: str
    values: tuple[str, ...]
    points: float
    label: str


@dataclass(frozen=True)
class Fit:
    score: float
    reasons: tuple[Reason, ...]


def fit(facts: Mapping[str, str | None], rules: Sequence[FitRule]) -> Fit:
    reasons = []
    for rule in rules:
        value = facts.get(rule.fact)
        if value is not None and value.casefold() in {v.casefold() for v in rule.values}:
            reasons.append(Reason(rule.points, rule.label))
    total = sum(r.points for r in reasons)
    if total > 100:  # capped: each reason keeps its share
        reasons = [Reason(r.points * 100 / total, r.text) for r in reasons]
    reasons.sort(key=lambda r: (-r.points, r.text))
    return Fit(min(total, 100.0), tuple(reasons))


@dataclass(frozen=True)
class Rules:
    """Everything scoring reads: page types by path, intent points and decay, fit."""

    pages: tuple[PageRule, ...] = DEFAULT_PAGE_RULES
    intent: IntentRules = field(default_factory=IntentRules)
    fit: tuple[FitRule, ...] = ()


FIT_WEIGHT, INTENT_WEIGHT = 0.4, 0.6


def priority(fit_score: float, intent_score: float) -> float:
    return FIT_WEIGHT * fit_score + INTENT_WEIGHT * intent_score
