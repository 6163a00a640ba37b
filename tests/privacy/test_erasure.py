"""Erasure leaves no trace: every table and every column is searched for the erased
organizations' ids and names (so a table added later is searched too), and the rollups
equal a rebuild afterwards. Export is complete: every row that names the organization."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from spoor.db.schema import deals, erasures, lead_signals, metadata, organizations
from spoor.events import store_of
from spoor.privacy.erasure import ErasureError, erase_ip_range, erase_orgs, erase_time_range
from spoor.privacy.export import export_org, plain
from spoor.privacy.scope import BY_NAME, EVENT_TABLES, ORG_TABLES, UNRELATED
from spoor.settings import Settings
from tests.conftest import database

from .data import (
    HARBOUR,
    KABELNET,
    STORES,
    assert_rollups_equal_rebuild,
    event_rows,
    org_id,
    record,
    work,
)

# Public IP datasets name networks, not visitors: reference data, kept (docs/privacy.md).
DATASETS = {"ip_sources", "ip_ranges", "asn_types"}
NOW = 1_800_000_000.0


@pytest.fixture(params=STORES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from database(request.param, request, tmp_path)


def _rows(engine: Engine, *, final: bool = True) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table; hits and visits wherever the event store keeps them."""
    with engine.connect() as conn:
        found = {
            name: [dict(r._mapping) for r in conn.execute(select(table))]
            for name, table in metadata.tables.items()
        }
    for name in EVENT_TABLES:
        found[name] = event_rows(engine, name, final=final)
    return found


def _mentions(row: dict[str, Any], ids: set[int], words: tuple[str, ...]) -> list[str]:
    """The columns of a row that hold one of the ids or names."""
    found = []
    for column, value in row.items():
        is_id = isinstance(value, int) and not isinstance(value, bool) and value in ids
        if is_id or (isinstance(value, str) and any(w in value.lower() for w in words)):
            found.append(column)
    return found


def _traces(
    engine: Engine, ids: set[int], words: tuple[str, ...], *, final: bool = True
) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for name, rows in _rows(engine, final=final).items():
        if name in DATASETS:
            continue
        hits_ = [(r, cols) for r in rows if (cols := _mentions(r, ids, words))]
        if hits_:
            out[name] = hits_
    return out


@pytest.fixture
def recorded(engine: Engine, settings: Settings, tmp_path: Path) -> dict[str, int]:
    kept_ip = Settings(data_dir=settings.data_dir, database_url=settings.database_url,
                       ip_retention="truncated")  # fmt: skip
    record(engine, kept_ip, tmp_path)
    return work(engine)


def test_every_table_is_either_about_organizations_or_not() -> None:
    about = {t.table.name for t in ORG_TABLES}
    assert about.isdisjoint(UNRELATED)
    assert set(metadata.tables) == about | UNRELATED, "add the new table to privacy/scope.py"
    for name, table in metadata.tables.items():
        org_columns = {c.name for c in table.columns if c.name in ("org_id", "merged_into")}
        if org_columns and name not in {"erasures"}:
            assert name in about, f"{name} names organizations: add it to ORG_TABLES"
        for fk in table.foreign_keys:  # a child of a table about organizations is one too
            if fk.column.table.name in about and fk.column.table.name != "organizations":
                assert name in about, f"{name} belongs to {fk.column.table.name}"
    assert BY_NAME["hits"].parent == "visits"


def test_erasing_an_organization_leaves_no_trace(engine: Engine, recorded: dict[str, int]) -> None:
    harbour, branch = recorded["harbour"], recorded["branch"]
    words = ("harbour",)  # its found name, the team's name, the branch, the contact's e-mail
    before = _traces(engine, {harbour, branch}, words)
    # Every table that names an organization has rows about Harbour (hits and a deal's
    # stage history belong to it through their visit and deal).
    expected = {t.table.name for t in ORG_TABLES} - {"hits", "deal_stage_history"}
    with engine.connect() as conn:
        if store_of(conn).name == "clickhouse":  # it aggregates when read: no rollup rows
            expected -= {"rollup_orgs", "rollup_pages"}
    assert set(before) == expected

    with engine.connect() as conn:
        exported = export_org(conn, harbour, NOW)
    others = sum(1 for v in event_rows(engine, "visits") if v["org_id"] not in (None, harbour))
    assert others > 0
    # Export is complete: every row that names Harbour (or the branch merged into it) is in
    # it, and the hits of its visits and the stage history of its deals.
    json.dumps(exported)  # plain JSON
    for table, found in before.items():
        key = [c.name for c in metadata.tables[table].primary_key.columns]
        want = sorted(tuple(plain(r[k]) for k in key) for r, _ in found)
        got = sorted(tuple(r[k] for k in key) for r in exported["tables"].get(table, []))
        assert got == want, table
    visit_ids = {r["id"] for r in exported["tables"]["visits"]}
    assert {r["visit_id"] for r in exported["tables"]["hits"]} == visit_ids
    assert len(exported["tables"]["hits"]) == sum(1 for r in _rows(engine)["hits"]
                                                   if r["visit_id"] in visit_ids)  # fmt: skip
    assert len(exported["tables"]["deal_stage_history"]) >= 1
    assert exported["organizations_merged"] == [branch]

    dry = erase_orgs(engine, [harbour], actor="admin@example.com", now=NOW, dry_run=True)
    assert _traces(engine, {harbour, branch}, words) == before
    done = erase_orgs(engine, [harbour], actor="admin@example.com", now=NOW)
    assert done.counts == dry.counts
    assert {n for _, n in done.orgs} == {HARBOUR, "Harbour Insurance Branch Office"}
    # Not a row left on disk (on ClickHouse, no version of a visit not merged yet either).
    assert _traces(engine, {harbour, branch}, words, final=False) == {}
    assert_rollups_equal_rebuild(engine)
    # Everyone else is untouched: Brightwater's deal, Kabelnet's visits.
    assert len(event_rows(engine, "visits")) == others
    with engine.connect() as conn:
        assert conn.execute(select(deals.c.name)).scalars().all() == ["Brightwater pilot"]
        logged = conn.execute(select(erasures)).one()
        assert logged.kind == "organization"
        assert logged.actor == "admin@example.com"
        assert logged.scope == "2 organizations"
        assert json.loads(logged.counts)["visits"] == done.counts["visits"]


def test_erasing_an_ip_range(engine: Engine, recorded: dict[str, int]) -> None:
    harbour, branch = recorded["harbour"], recorded["branch"]
    # The team's known range of Harbour resolves to Harbour.
    found = erase_ip_range(engine, "192.0.2.0/24", actor="cli", now=NOW, dry_run=True)
    assert {i for i, _ in found.orgs} == {harbour, branch}
    with pytest.raises(ErasureError):
        erase_ip_range(engine, "not a range", actor="cli", now=NOW)
    with engine.connect() as conn:
        kabelnet = org_id(conn, KABELNET)
    kabelnet_visits = sum(1 for v in event_rows(engine, "visits") if v["org_id"] == kabelnet)
    # Harbour's dataset range: Harbour goes, and every visit whose kept /24 overlaps the
    # range (Brightwater's too: 198.51.100.0/24 is all that is known of their addresses).
    done = erase_ip_range(engine, "198.51.100.64/27", actor="cli", now=NOW)
    assert {i for i, _ in done.orgs} == {harbour, branch}
    assert _traces(engine, {harbour, branch}, ("harbour",), final=False) == {}
    left = [(v["org_id"], v["ip_prefix"]) for v in event_rows(engine, "visits", final=False)]
    assert left
    assert {o for o, _ in left} == {kabelnet}
    assert all(p == "203.0.113.0/24" for _, p in left)
    assert len(left) == kabelnet_visits
    # Brightwater's hits went with its visits (its kept /24 overlaps the range): only
    # Kabelnet's visits have hits left.
    kept_ids = {v["id"] for v in event_rows(engine, "visits")}
    assert {h["visit_id"] for h in event_rows(engine, "hits", final=False)} == kept_ids
    with engine.connect() as conn:
        assert conn.execute(
            select(organizations.c.id).where(organizations.c.id == kabelnet)
        ).first()
    assert_rollups_equal_rebuild(engine)


def test_erasing_a_time_range(engine: Engine, recorded: dict[str, int]) -> None:
    first, last = date(2026, 1, 3), date(2026, 1, 4)

    def days(table: str) -> dict[date, int]:
        if table in EVENT_TABLES:
            return dict(Counter(r["day"] for r in event_rows(engine, table)))
        with engine.connect() as conn:
            rows = conn.execute(select(lead_signals.c.day, func.count())
                                .group_by(lead_signals.c.day)).all()  # fmt: skip
        return {d if isinstance(d, date) else date.fromisoformat(d): n for d, n in rows}

    visits_before, signals_before = days("visits"), days("lead_signals")
    hits_before = len(event_rows(engine, "hits"))
    with pytest.raises(ErasureError):
        erase_time_range(engine, last, first, actor="cli", now=NOW)
    done = erase_time_range(engine, first, last, site_id=1, actor="cli", now=NOW)
    assert days("visits") == {d: n for d, n in visits_before.items() if not first <= d <= last}
    assert days("lead_signals") == {
        d: n for d, n in signals_before.items() if not first <= d <= last
    }
    hits_after = len(event_rows(engine, "hits", final=False))
    with engine.connect() as conn:
        assert conn.execute(select(erasures.c.scope)).scalar_one() == (
            "www.example.com 2026-01-03..2026-01-04"
        )
    assert hits_before - hits_after == done.counts["hits"] > 0
    assert done.counts["visits"] == sum(n for d, n in visits_before.items() if first <= d <= last)
    kept = assert_rollups_equal_rebuild(engine)
    assert not [r for r in kept["rollup_days"] if str(r[1]) in ("2026-01-03", "2026-01-04")]
