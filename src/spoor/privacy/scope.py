"""Where rows about an organization live: one map that erasure and export both read.

Most tables name the organization in an `org_id` column; hits belong to it through their
visit, and a deal's stage history through its deal. Hits and visits are in the event store,
which may be ClickHouse: they are listed here all the same, and reached through the store.
`UNRELATED` lists the tables that hold nothing about any one organization, so a test can
prove that every table is in one list or the other: a table added later cannot be forgotten
by erasure or export.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Connection, Table, select

from spoor.db.schema import (
    activities,
    alert_state,
    cadence_runs,
    claim_history,
    claims,
    contacts,
    deal_stage_history,
    deals,
    deliveries,
    hits,
    known_ranges,
    lead_signals,
    org_corrections,
    organizations,
    rollup_orgs,
    rollup_pages,
    sla_events,
    tasks,
    visits,
)


@dataclass(frozen=True)
class OrgTable:
    """A table with rows about organizations, and how to pick one organization's rows."""

    table: Table
    # The column holding the organization id, or (via, column): a table whose `via` column
    # points at the id of a row of another OrgTable (hits -> visits.id).
    column: str
    parent: str | None = None  # the name of the OrgTable that `column` refers to

    def where(self, org_ids: Sequence[int]) -> ColumnElement[bool]:
        ids = list(org_ids)
        if self.parent is None:
            return self.table.c[self.column].in_(ids)
        parent = BY_NAME[self.parent]
        inner = select(parent.table.c.id).where(parent.where(ids))
        return self.table.c[self.column].in_(inner.scalar_subquery())


# Children before their parents: erasure deletes in this order.
ORG_TABLES: tuple[OrgTable, ...] = (
    OrgTable(hits, "visit_id", parent="visits"),
    OrgTable(visits, "org_id"),
    OrgTable(lead_signals, "org_id"),
    OrgTable(rollup_pages, "org_id"),
    OrgTable(rollup_orgs, "org_id"),
    OrgTable(alert_state, "org_id"),
    OrgTable(deliveries, "org_id"),
    OrgTable(tasks, "org_id"),
    OrgTable(cadence_runs, "org_id"),
    OrgTable(claims, "org_id"),
    OrgTable(claim_history, "org_id"),
    OrgTable(activities, "org_id"),
    OrgTable(contacts, "org_id"),
    OrgTable(sla_events, "org_id"),
    OrgTable(deal_stage_history, "deal_id", parent="deals"),
    OrgTable(deals, "org_id"),
    OrgTable(known_ranges, "org_id"),
    OrgTable(org_corrections, "org_id"),
    OrgTable(organizations, "id"),
)
BY_NAME = {t.table.name: t for t in ORG_TABLES}
# Hits and visits live in the event store (SQL or ClickHouse): erasure, export and retention
# reach them through its methods (events/base.py), never with SQL of their own.
EVENT_TABLES: frozenset[str] = frozenset({"hits", "visits"})

# Tables that hold nothing about one organization: configuration, people who sign in,
# aggregate counters, and the public IP datasets (reference data about networks, replaced
# whole by every update; see docs/privacy.md).
UNRELATED: frozenset[str] = frozenset(
    {
        "sites", "salts", "drops", "imports", "ip_sources", "ip_ranges", "asn_types", "spool",
        "users", "api_tokens", "rollup_days", "lead_rules", "channels", "alert_rules", "feeds",
        "digests", "prospecting_blocks", "goals", "interruptions", "deal_stages", "erasures",
    }
)  # fmt: skip


def merge_group(conn: Connection, org_ids: Sequence[int]) -> list[int]:
    """The organizations and every organization merged into them (the team sees them as
    one account, so erasing or exporting it covers them all)."""
    found = set(org_ids)
    frontier = set(org_ids)
    while frontier:
        query = select(org_corrections.c.org_id).where(
            org_corrections.c.merged_into.in_(sorted(frontier))
        )
        frontier = {int(i) for (i,) in conn.execute(query)} - found
        found |= frontier
    return sorted(found)


class ErasureError(ValueError):
    """An erasure (or export, or retention run) that cannot be done; the message says why."""
