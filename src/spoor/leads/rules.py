"""The team's scoring rules as TOML: page rules, intent points and half-life, and the ideal
customer profile. Stored in the database (so every process scores alike), exported and
imported with `spoor rules export|import`, edited on the Leads page.
"""

from __future__ import annotations

import re
import time
import tomllib
from collections.abc import Mapping
from typing import Any

import tomli_w
from sqlalchemy import Connection, select

from spoor.db.schema import lead_rules
from spoor.leads.scoring import (
    DEFAULT_PAGE_RULES,
    FitRule,
    IntentRules,
    PageRule,
    PageType,
    Rules,
)

# Defaults for a B2B software site: businesses fit best; schools and public bodies less.
DEFAULT_FIT: tuple[FitRule, ...] = (
    FitRule("type", ("business",), 60, "fit: a business"),
    FitRule("type", ("education", "government"), 30, "fit: a school or public body"),
)
DEFAULT_RULES = Rules(pages=DEFAULT_PAGE_RULES, intent=IntentRules(), fit=DEFAULT_FIT)


class RulesError(ValueError):
    """Rules that cannot be used; the message says where and why."""


def to_toml(rules: Rules) -> str:
    intent = rules.intent
    data: dict[str, Any] = {
        "intent": {
            "half_life_days": intent.half_life_days,
            "scale": intent.scale,
            "per_type_per_day": intent.per_type_per_day,
            "window_days": intent.window_days,
            "active_day_points": intent.active_day_points,
            "active_days_counted": intent.active_days_counted,
            "visitor_points": intent.visitor_points,
            "visitors_counted": intent.visitors_counted,
            "points": {t.value: p for t, p in intent.points.items()},
        },
        "pages": [{"pattern": r.pattern, "type": r.page_type.value} for r in rules.pages],
        "fit": [
            {"fact": r.fact, "values": list(r.values), "points": r.points, "label": r.label}
            for r in rules.fit
        ],
    }
    header = (
        "# Spoor lead scoring rules. Pages: the first pattern (a regular expression) that a\n"
        "# path matches gives its type; types: " + ", ".join(t.value for t in PageType) + ".\n"
        "# Fit: points when an organization's fact (type, country, domain) is one of values.\n"
    )
    return header + tomli_w.dumps(data)


def _number(table: Mapping[str, Any], key: str, default: float, where: str) -> float:
    value = table.get(key, default)
    if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
        raise RulesError(f"{where}.{key} must be a number of 0 or more, not {value!r}")
    return float(value)


def from_toml(text: str) -> Rules:
    """Parse and check rules; every problem names its place."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"not valid TOML: {exc}") from exc
    table = data.get("intent", {})
    base = IntentRules()
    points = dict(base.points)
    for name, value in table.get("points", {}).items():
        try:
            kind = PageType(name)
        except ValueError as exc:
            raise RulesError(f"intent.points: unknown page type {name!r}") from exc
        points[kind] = _number({name: value}, name, 0, "intent.points")
    counts = {}
    for key in ("per_type_per_day", "window_days", "active_days_counted", "visitors_counted"):
        value = table.get(key, getattr(base, key))
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise RulesError(f"intent.{key} must be a whole number of 0 or more")
        counts[key] = value
    half_life = _number(table, "half_life_days", base.half_life_days, "intent")
    scale = _number(table, "scale", base.scale, "intent")
    if half_life <= 0 or scale <= 0:
        raise RulesError("intent.half_life_days and intent.scale must be above 0")
    intent = IntentRules(
        half_life_days=half_life,
        scale=scale,
        points=points,
        active_day_points=_number(table, "active_day_points", base.active_day_points, "intent"),
        visitor_points=_number(table, "visitor_points", base.visitor_points, "intent"),
        **counts,
    )
    return Rules(pages=_pages(data.get("pages", [])), intent=intent, fit=_fit(data.get("fit", [])))


def _pages(entries: Any) -> tuple[PageRule, ...]:
    pages = []
    for n, entry in enumerate(entries, start=1):
        try:
            re.compile(entry["pattern"])
            pages.append(PageRule(str(entry["pattern"]), PageType(entry["type"])))
        except (KeyError, TypeError) as exc:
            raise RulesError(f"pages[{n}] needs a pattern and a type") from exc
        except re.error as exc:
            raise RulesError(f"pages[{n}].pattern is not a regular expression: {exc}") from exc
        except ValueError as exc:
            raise RulesError(f"pages[{n}].type: unknown page type {entry['type']!r}") from exc
    return tuple(pages)


def _fit(entries: Any) -> tuple[FitRule, ...]:
    rules = []
    for n, entry in enumerate(entries, start=1):
        try:
            values = tuple(str(v) for v in entry["values"])
            points = _number(entry, "points", 0, f"fit[{n}]")
            rules.append(FitRule(str(entry["fact"]), values, points, str(entry["label"])))
        except (KeyError, TypeError) as exc:
            raise RulesError(f"fit[{n}] needs fact, values, points and label") from exc
    return tuple(rules)


def load_rules(conn: Connection) -> Rules:
    """The team's rules, or the defaults when none were imported."""
    text = conn.execute(select(lead_rules.c.text).where(lead_rules.c.id == 1)).scalar()
    return from_toml(text) if text else DEFAULT_RULES


def save_rules(conn: Connection, text: str) -> Rules:
    """Check and store rules (TOML); RulesError and nothing stored when they are wrong."""
    rules = from_toml(text)
    now = int(time.time())
    if conn.execute(select(lead_rules.c.id).where(lead_rules.c.id == 1)).first():
        conn.execute(
            lead_rules.update().where(lead_rules.c.id == 1).values(text=text, updated_at=now)
        )
    else:
        conn.execute(lead_rules.insert().values(id=1, text=text, updated_at=now))
    return rules
