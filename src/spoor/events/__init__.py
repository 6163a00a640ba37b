"""The event store: where hits and visits live and what reports read from them.

Accounts, users, claims, activities and the lead ledger always stay in the SQL database;
hits and visits (the bulk of the data) may live in ClickHouse instead (clickhouse.py).
The store belongs to a database, not to a call: analytics and ingest only receive a SQL
connection, so `store_of(conn)` finds the event store registered for that database's URL
(`configure` does it at start for SPOOR_EVENT_STORE=clickhouse), else the SQL store.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from sqlalchemy import Connection
from sqlalchemy.engine import make_url

if TYPE_CHECKING:
    from spoor.events.base import EventStore
    from spoor.settings import Settings

_LOCK = threading.Lock()
_STORES: dict[str, EventStore] = {}
_SQL: list[EventStore] = []


def _key(url: str) -> str:
    return make_url(url).render_as_string(hide_password=False)


def register(url: str, store: EventStore) -> None:
    """Serve the events of the database at `url` from `store`."""
    with _LOCK:
        _STORES[_key(url)] = store


def unregister(url: str) -> None:
    with _LOCK:
        _STORES.pop(_key(url), None)


def sql_store() -> EventStore:
    if not _SQL:
        from spoor.events.sql import SqlEventStore

        _SQL.append(SqlEventStore())
    return _SQL[0]


def store_for(url: str) -> EventStore:
    return _STORES.get(_key(url)) or sql_store()


def store_of(conn: Connection) -> EventStore:
    """The event store of the database `conn` is connected to."""
    if not _STORES:  # the default: no lookup at all
        return sql_store()
    return store_for(conn.engine.url.render_as_string(hide_password=False))


def configure(settings: Settings) -> EventStore:
    """Register the configured event store for the configured database (idempotent)."""
    if settings.event_store != "clickhouse":
        return store_for(settings.sqlalchemy_url)
    key = _key(settings.sqlalchemy_url)
    with _LOCK:
        if key not in _STORES:
            from spoor.events.clickhouse import ClickHouseEventStore

            _STORES[key] = ClickHouseEventStore.from_settings(settings)
        return _STORES[key]


__all__ = ["configure", "register", "sql_store", "store_for", "store_of", "unregister"]
