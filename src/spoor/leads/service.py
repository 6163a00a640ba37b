"""Leads for a site: the organizations that may become customers, scored now from their
ledger of signals, ranked by priority, each with its reasons.

Gates (DESIGN.md): a lead type (business, education, government), not hidden, not a
customer or competitor, not merged into another organization (its signals count for the
target), and seen within the scoring horizon.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, func, select

from spoor.db.schema import claims, lead_signals, org_corrections, organizations
from spoor.identify.types import LEAD_TYPES
from spoor.ingest.rawhit import HitKind
from spoor.leads.rules import load_rules
from spoor.leads.scoring import (
    DAY,
    FIT_WEIGHT,
    INTENT_WEIGHT,
    Fit,
    Intent,
    PageType,
    Reason,
    Rules,
    Signal,
    fit,
    intent,
    page_type,
    priority,
)
from spoor.sites import Site

HORIZON_DAYS = 90  # older signals weigh under 0.01% at the default half-life


@dataclass
class Lead:
    org_id: int
    name: str
    type: str
    country: str | None
    domain: str | None
    priority: float
    fit: Fit
    intent: Intent
    first_seen: int = 0  # when Spoor first saw the organization (any site)
    paths: frozenset[str] = frozenset()  # pages read or forms sent in the horizon
    active_days: int = 0  # distinct days with signals in the horizon
    last_hand_raise: int | None = None  # when it last sent a form
    target: bool = False  # a named target account
    owner_id: int | None = None  # who claimed it

    @property
    def reasons(self) -> list[Reason]:
        """Intent's and fit's reasons in points of the priority, highest first."""
        weighted = [Reason(r.points * INTENT_WEIGHT, r.text) for r in self.intent.reasons]
        weighted += [Reason(r.points * FIT_WEIGHT, r.text) for r in self.fit.reasons]
        return sorted(weighted, key=lambda r: -r.points)

    def as_json(self) -> dict[str, Any]:
        return {
            "org_id": self.org_id,
            "org": self.name,
            "type": self.type,
            "country": self.country,
            "domain": self.domain,
            "priority": round(self.priority, 1),
            "fit": round(self.fit.score, 1),
            "intent": round(self.intent.score, 1),
            "last_seen": self.intent.last_seen,
            "not_buyer": self.intent.not_buyer,
            "first_seen": self.first_seen,
            "target": self.target,
            "owner_id": self.owner_id,
            "active_days": self.active_days,
            "reasons": [{"points": round(r.points, 1), "text": r.text} for r in self.reasons],
        }


@dataclass(frozen=True)
class _Account:
    org_id: int
    name: str
    type: str
    country: str | None
    domain: str | None
    first_seen: int
    target: bool
    owner_id: int | None


def _accounts(conn: Connection, site: Site, since: int, only: int | None) -> dict[int, _Account]:
    """Organizations with signals since `since` that pass the gates, by effective id."""
    s, org, fix = lead_signals.c, organizations.c, org_corrections.c
    query = select(
        org.id, func.coalesce(fix.name, org.name), func.coalesce(fix.type, org.type),
        org.country, org.domain, fix.hidden, fix.relation, fix.merged_into, org.first_seen,
        fix.target, claims.c.user_id,
    ).join(org_corrections, fix.org_id == org.id, isouter=True).join(
        claims, claims.c.org_id == org.id, isouter=True
    )  # fmt: skip
    if only is not None:  # one account: its signals are gathered with its merged ones
        query = query.where(org.id == only)
    else:
        seen = select(s.org_id).where(s.site_id == site.id, s.ts >= since).distinct()
        targets = select(fix.merged_into).where(fix.org_id.in_(seen))
        query = query.where(org.id.in_(seen) | org.id.in_(targets))
    rows = conn.execute(query).all()
    lead_types = {t.value for t in LEAD_TYPES}
    found = {}
    for org_id, name, kind, country, domain, hidden, relation, merged, first, target, owner in rows:
        if merged is not None or hidden or relation or kind not in lead_types:
            continue
        found[int(org_id)] = _Account(
            int(org_id), name, kind, country, domain, int(first), bool(target), owner
        )
    return found


def _signals(
    conn: Connection, site: Site, since: int, accounts: Sequence[int], rules: Rules
) -> dict[int, list[Signal]]:
    """Each account's signals, merged organizations' signals counted as their target's."""
    s = lead_signals.c
    merged = dict(
        conn.execute(
            select(org_corrections.c.org_id, org_corrections.c.merged_into).where(
                org_corrections.c.merged_into.in_(list(accounts))
            )
        ).all()
    )
    members = [*accounts, *merged]
    found: defaultdict[int, list[Signal]] = defaultdict(list)
    kinds: dict[str, PageType] = {}
    for start in range(0, len(members), 500):
        query = select(s.org_id, s.ts, s.day, s.kind, s.path, s.visitor).where(
            s.site_id == site.id, s.ts >= since, s.org_id.in_(members[start : start + 500])
        )
        for org_id, ts, day, kind, path, visitor in conn.execute(query):
            if kind == HitKind.FORM:
                typed = PageType.HAND_RAISE
            else:
                typed = kinds.get(path) or kinds.setdefault(path, page_type(path, rules.pages))
            day = day if isinstance(day, date) else date.fromisoformat(str(day))
            found[merged.get(org_id, org_id)].append(Signal(ts, day, typed, path, visitor))
    return found


def leads(
    conn: Connection,
    site: Site,
    now: int,
    rules: Rules | None = None,
    limit: int | None = 50,
    org_id: int | None = None,
) -> list[Lead]:
    """The site's leads, highest priority first (or the one lead `org_id`, if it is one)."""
    rules = rules or load_rules(conn)
    since = now - HORIZON_DAYS * DAY
    accounts = _accounts(conn, site, since, org_id)
    signals = _signals(conn, site, since, list(accounts), rules)
    ranked = []
    for account in accounts.values():
        known = [s for s in signals.get(account.org_id, []) if s.ts <= now]
        drive = intent(known, now, rules.intent)
        facts = {"type": account.type, "country": account.country, "domain": account.domain}
        shape = fit(facts, rules.fit)
        ranked.append(
            Lead(account.org_id, account.name, account.type, account.country, account.domain,
                 priority(shape.score, drive.score), shape, drive, account.first_seen,
                 frozenset(s.path for s in known), len({s.day for s in known}),
                 max((s.ts for s in known if s.page_type is PageType.HAND_RAISE), default=None),
                 account.target, account.owner_id)
        )  # fmt: skip
    # Saturated scores tie at 100: the stronger, then the fresher track goes first.
    ranked.sort(
        key=lambda lead: (-lead.priority, -lead.intent.strength, -(lead.intent.last_seen or 0))
    )
    return ranked[:limit] if limit else ranked
