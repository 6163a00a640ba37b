"""Erasure by organization, by IP range and by time range, each in one transaction that also
recomputes the rollups of the days it touched and writes a line to the erasure log.

The raw IP address is never stored, so erasing "an IP range" means erasing what the range
leads to: the organizations it resolves to (with everything about them), the team's known
ranges inside it, and visits whose kept truncated address (SPOOR_IP_RETENTION=truncated)
overlaps it. docs/privacy.md says what that can and cannot reach.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, delete, func, select

from spoor.db.schema import ip_ranges, known_ranges, lead_signals, organizations, sites
from spoor.events import store_of
from spoor.events.base import Erased, Visits
from spoor.identify.resolver import Resolver
from spoor.privacy import journal
from spoor.privacy.scope import EVENT_TABLES, ORG_TABLES, ErasureError, merge_group

MAX_PIECES = 1_000_000  # distinct dataset ranges inside one erased IP range


@dataclass
class Erasure:
    kind: str  # organization | ip_range | time_range
    scope: str  # in general words: this goes to the log
    dry_run: bool
    orgs: list[tuple[int, str]] = field(default_factory=list)  # shown to the admin, not logged
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, name: str, n: int) -> None:
        if n:
            self.counts[name] = self.counts.get(name, 0) + n

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "scope": self.scope, "dry_run": self.dry_run,
            "organizations": [{"id": i, "name": n} for i, n in self.orgs],
            "counts": self.counts,
        }  # fmt: skip


def _remove(conn: Connection, result: Erasure, table: Any, where: ColumnElement[bool]) -> None:
    """Delete the rows (or, in a dry run, count them)."""
    if result.dry_run:
        count = select(func.count()).select_from(table).where(where)
        result.add(table.name, int(conn.execute(count).scalar_one()))
    else:
        result.add(table.name, int(conn.execute(delete(table).where(where)).rowcount or 0))


def _events(conn: Connection, result: Erasure, picked: Visits, touched: journal.Touched) -> None:
    """The picked visits and their hits, in the event store (SQL or ClickHouse)."""
    erased: Erased = store_of(conn).erase_visits(conn, picked, dry_run=result.dry_run)
    result.add("hits", erased.hits)
    result.add("visits", erased.visits)
    touched.add(erased.days)


def _erase_orgs(conn: Connection, result: Erasure, org_ids: Sequence[int]) -> None:
    group = merge_group(conn, org_ids)
    if not group:
        return
    names = select(organizations.c.id, organizations.c.name).where(organizations.c.id.in_(group))
    result.orgs.extend((int(i), str(n)) for i, n in conn.execute(names))
    for owner in ORG_TABLES:  # children first
        if owner.table.name not in EVENT_TABLES:
            _remove(conn, result, owner.table, owner.where(group))
    # The event store last, as ingest writes it: ClickHouse has no rollback, so only a
    # failed commit can leave the SQL part undone (and the erasure can be run again).
    touched = journal.Touched()
    _events(conn, result, Visits(org_ids=tuple(group)), touched)
    if not result.dry_run:
        touched.rebuild(conn)


def _finish(conn: Connection, result: Erasure, actor: str, now: float) -> Erasure:
    if not result.dry_run:
        journal.write(conn, int(now), actor, result.kind, result.scope, result.counts)
    return result


def erase_orgs(
    engine: Engine, org_ids: Sequence[int], *, actor: str, now: float, dry_run: bool = False
) -> Erasure:
    """Everything about these organizations (and those merged into them), in every table."""
    with engine.begin() as conn:
        result = Erasure("organization", "", dry_run)
        _erase_orgs(conn, result, org_ids)
        n = len(result.orgs)
        result.scope = f"{n} organization{'s' if n != 1 else ''}"
        return _finish(conn, result, actor, now)


def _range_bounds(cidr: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, int, int]:
    try:
        net = ipaddress.ip_network(cidr.strip(), strict=False)
    except ValueError as exc:
        raise ErasureError(f"{cidr!r} is not an IP range such as 198.51.100.0/24") from exc
    return net, int(net.network_address), int(net.broadcast_address)


def orgs_in_range(conn: Connection, resolver: Resolver, cidr: str) -> list[int]:
    """The stored organizations that addresses in the range resolve to.

    Every address of a piece between two dataset or known-range boundaries resolves alike,
    so one address per piece finds them all (reverse DNS names aside)."""
    net, first, last = _range_bounds(cidr)
    low, high = first.to_bytes(16, "big"), last.to_bytes(16, "big")
    probes = {first}
    for table in (ip_ranges, known_ranges):
        query = select(table.c.first, table.c.last).where(
            table.c.version == net.version, table.c.first <= high, table.c.last >= low
        )
        for start, end in conn.execute(query):
            probes.add(max(first, int.from_bytes(start, "big")))
            after = int.from_bytes(end, "big") + 1
            if after <= last:
                probes.add(after)
            if len(probes) > MAX_PIECES:
                raise ErasureError(f"{cidr} spans too many networks; erase smaller ranges")
    make = ipaddress.IPv4Address if net.version == 4 else ipaddress.IPv6Address
    found = {r.org_id for p in probes if (r := resolver.resolve(str(make(p)))) is not None}
    stored = select(organizations.c.id).where(organizations.c.id.in_(sorted(found)))
    return sorted(int(i) for (i,) in conn.execute(stored))


def _prefixes_in(conn: Connection, cidr: str) -> list[str]:
    """Kept /24 or /48 prefixes that overlap the range (a prefix is all we know of a visit)."""
    net, _, _ = _range_bounds(cidr)
    inside = []
    for prefix in sorted(store_of(conn).ip_prefixes(conn)):
        try:
            kept = ipaddress.ip_network(prefix, strict=False)
        except ValueError:
            continue
        if kept.version == net.version and kept.overlaps(net):
            inside.append(prefix)
    return inside


def erase_ip_range(
    engine: Engine, cidr: str, *, actor: str, now: float, dry_run: bool = False
) -> Erasure:
    """The organizations the range resolves to, known ranges inside it, and visits whose
    kept truncated address overlaps it."""
    net, first, last = _range_bounds(cidr)
    resolver = Resolver.load(engine)
    with engine.begin() as conn:
        result = Erasure("ip_range", f"an IPv{net.version} range of {net.num_addresses} addresses",
                         dry_run)  # fmt: skip
        _erase_orgs(conn, result, orgs_in_range(conn, resolver, cidr))
        k = known_ranges.c
        inside = (
            (k.version == net.version)
            & (k.first >= first.to_bytes(16, "big"))
            & (k.last <= last.to_bytes(16, "big"))
        )
        _remove(conn, result, known_ranges, inside)
        prefixes = _prefixes_in(conn, cidr)
        touched = journal.Touched()
        for start in range(0, len(prefixes), 500):
            picked = Visits(ip_prefixes=tuple(prefixes[start : start + 500]))
            # The ledger names hits by key: its rows go before the hits that hold the keys.
            keys = store_of(conn).hit_keys(conn, picked)
            for at in range(0, len(keys), 500):
                signals = lead_signals.c.hit_key.in_(keys[at : at + 500])
                _remove(conn, result, lead_signals, signals)
            _events(conn, result, picked, touched)
        if not dry_run:
            touched.rebuild(conn)
        return _finish(conn, result, actor, now)


def erase_time_range(
    engine: Engine, first: date, last: date, *, site_id: int | None = None, actor: str,
    now: float, dry_run: bool = False,
) -> Erasure:  # fmt: skip
    """Visits of the days first..last (site-local, inclusive), their hits and lead signals."""
    if last < first:
        raise ErasureError(f"the range ends ({last}) before it starts ({first})")
    with engine.begin() as conn:
        site_ids = (
            [site_id] if site_id is not None else list(conn.execute(select(sites.c.id)).scalars())
        )
        scope = f"{first.isoformat()}..{last.isoformat()}"
        if site_id is not None:
            domain = conn.execute(select(sites.c.domain).where(sites.c.id == site_id)).scalar()
            scope = f"{domain} {scope}"
        result = Erasure("time_range", scope, dry_run)
        signals = lead_signals.c.day.between(first, last) & lead_signals.c.site_id.in_(site_ids)
        _remove(conn, result, lead_signals, signals)
        touched = journal.Touched()
        _events(conn, result, Visits(tuple(site_ids), first_day=first, last_day=last), touched)
        if not dry_run:
            touched.add((s, d) for s in site_ids for d in (first, last))
            touched.rebuild(conn)
        return _finish(conn, result, actor, now)
