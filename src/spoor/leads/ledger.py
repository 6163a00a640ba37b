"""The lead signal ledger, kept at ingest: each pageview and form sent by an organization
that may become a lead, with when, which page and which (daily) visitor.

Written with every batch (ingest/store.py), so scores are current the moment a hit is
stored; `rebuild` derives it again from hits and visits (`spoor leads rescore`), e.g.
after the team re-typed an organization.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite

from spoor import events
from spoor.db.bulk import executemany
from spoor.db.schema import hits, lead_signals, org_corrections, organizations, visits
from spoor.identify.types import LEAD_TYPES
from spoor.ingest.rawhit import HitKind

KINDS = (int(HitKind.PAGEVIEW), int(HitKind.FORM))
_LEAD_TYPES = sorted(t.value for t in LEAD_TYPES)
_COLUMNS = ("site_id", "org_id", "ts", "day", "kind", "path", "visitor", "hit_key")


def _lead_orgs(conn: Connection, org_ids: Sequence[int]) -> set[int]:
    """Of these organizations, the ones whose type (the team's, else found) may lead."""
    if not org_ids:
        return set()
    kind = func.coalesce(org_corrections.c.type, organizations.c.type)
    query = (
        select(organizations.c.id)
        .join(org_corrections, org_corrections.c.org_id == organizations.c.id, isouter=True)
        .where(organizations.c.id.in_(list(org_ids)), kind.in_(_LEAD_TYPES))
    )
    return {int(i) for (i,) in conn.execute(query)}


def record(
    conn: Connection,
    visit_rows: Sequence[Sequence[Any]],
    visit_columns: Sequence[str],
    hit_rows: Sequence[Sequence[Any]],
    hit_columns: Sequence[str],
) -> int:
    """Add the batch's signals (a hit stored before is a no-op); returns how many."""
    vid, vday, vvisitor, vorg = (visit_columns.index(c) for c in ("id", "day", "visitor", "org_id"))
    by_visit = {row[vid]: (row[vday], row[vvisitor], row[vorg]) for row in visit_rows}
    site_i, key_i, visit_i, ts_i, kind_i, path_i = (
        hit_columns.index(c) for c in ("site_id", "key", "visit_id", "ts", "kind", "path")
    )
    orgs = {v[2] for v in by_visit.values() if v[2] is not None}
    leads = _lead_orgs(conn, sorted(orgs))
    rows = []
    for hit in hit_rows:
        visit = by_visit.get(hit[visit_i])
        if hit[kind_i] not in KINDS or visit is None or visit[2] not in leads:
            continue
        day, visitor, org_id = visit
        rows.append((hit[site_i], org_id, hit[ts_i], day, hit[kind_i], hit[path_i], visitor,
                     hit[key_i]))  # fmt: skip
    if rows:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        executemany(conn, dialect.insert(lead_signals).on_conflict_do_nothing(), _COLUMNS, rows)
    return len(rows)


def rebuild(conn: Connection, site_ids: Iterable[int] | None = None) -> int:
    """Derive the ledger again from hits and visits, with today's organization types."""
    sites = None if site_ids is None else list(site_ids)
    query = delete(lead_signals)
    if sites is not None:
        query = query.where(lead_signals.c.site_id.in_(sites))
    conn.execute(query)
    found = events.store_of(conn).lead_hits(conn, sites)
    if found is not None:  # hits live in another store: filter here, where the types are
        leads = _lead_orgs(conn, sorted({row[1] for row in found}))
        as_text = conn.dialect.name == "sqlite"  # executemany hands SQLite ISO days
        rows = [(*r[:3], r[3].isoformat() if as_text else r[3], *r[4:]) for r in found
                if r[1] in leads]  # fmt: skip
        if rows:
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            executemany(conn, dialect.insert(lead_signals), _COLUMNS, rows)
        return len(rows)
    kind = func.coalesce(org_corrections.c.type, organizations.c.type)
    h, v = hits.c, visits.c
    source = (
        select(h.site_id, v.org_id, h.ts, v.day, h.kind, h.path, v.visitor, h.key)
        .select_from(
            hits.join(visits, v.id == h.visit_id)
            .join(organizations, organizations.c.id == v.org_id)
            .join(org_corrections, org_corrections.c.org_id == v.org_id, isouter=True)
        )
        .where(h.kind.in_(KINDS), kind.in_(_LEAD_TYPES))
    )
    if sites is not None:
        source = source.where(h.site_id.in_(sites))
    result = conn.execute(insert(lead_signals).from_select(_COLUMNS, source))
    return int(result.rowcount or 0)
