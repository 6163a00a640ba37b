"""Export everything stored about one organization as JSON: one key per table, every row.

It reads the same map as erasure (scope.ORG_TABLES), so what can be erased is what is
exported; hits and visits come from the event store, wherever it keeps them. Binary values
are hex, days ISO dates.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Connection, select

from spoor.events import store_of
from spoor.events.base import Visits
from spoor.privacy.scope import EVENT_TABLES, ORG_TABLES, merge_group

FORMAT = "spoor-organization-export/1"


def plain(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, date):
        return value.isoformat()
    return value


def export_org(conn: Connection, org_id: int, now: float) -> dict[str, Any]:
    """The organization (and those merged into it) in every table that holds rows about it;
    tables without any are left out, so every key present has rows."""
    group = merge_group(conn, [org_id])
    events = store_of(conn).export_rows(conn, Visits(org_ids=tuple(group)))
    tables: dict[str, list[dict[str, Any]]] = {}
    for owner in reversed(ORG_TABLES):  # parents first reads best
        table = owner.table
        if table.name in EVENT_TABLES:
            found = events[table.name]
        else:
            query = select(table).where(owner.where(group)).order_by(*table.primary_key.columns)
            found = [dict(row._mapping) for row in conn.execute(query)]
        if found:
            tables[table.name] = [{k: plain(v) for k, v in row.items()} for row in found]
    return {
        "format": FORMAT,
        "organization_id": org_id,
        "organizations_merged": [i for i in group if i != org_id],
        "exported_at": int(now),
        "tables": tables,
    }
