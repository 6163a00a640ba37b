"""The team's corrections to identification: rename, re-type, hide, relation, merge, ranges.

Corrections are stored by organization id, apart from the datasets, so they win over
every dataset and survive updates and re-resolution. Reports apply them when they read;
the resolver applies them to new hits (and known ranges send an address straight to the
organization the team named).
"""

from __future__ import annotations

import ipaddress
import json
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, func, or_, select

from spoor.db.schema import known_ranges, org_corrections, organizations
from spoor.identify.resolver import org_id_for
from spoor.identify.types import OrgType

RELATIONS = ("customer", "competitor")


class CorrectionError(ValueError):
    """A correction that cannot be applied; the message says why."""


@dataclass(frozen=True)
class OrgRef:
    id: int
    name: str
    type: str


def shown_name() -> ColumnElement[str]:
    """An organization's name as the team sees it (its rename, if any); select it from
    `organizations` outer-joined to `org_corrections`."""
    return func.coalesce(org_corrections.c.name, organizations.c.name)


def org_names(conn: Connection, org_ids: list[int]) -> dict[int, str]:
    """The shown names of some organizations (those that exist)."""
    query = (
        select(organizations.c.id, shown_name())
        .join(org_corrections, org_corrections.c.org_id == organizations.c.id, isouter=True)
        .where(organizations.c.id.in_(org_ids))
    )
    return {int(i): str(n) for i, n in conn.execute(query)}


def find_org(conn: Connection, ref: str) -> OrgRef:
    """An organization by id, exact name (any case), key or domain."""
    org = organizations.c
    conditions = [func.lower(org.name) == ref.lower(), org.key == ref, org.domain == ref.lower()]
    if ref.isdigit():
        conditions.append(org.id == int(ref))
    rows = conn.execute(select(org.id, org.name, org.type).where(or_(*conditions))).all()
    if not rows:
        raise CorrectionError(f"no organization {ref!r}; `spoor companies` lists them with ids")
    if len(rows) > 1:
        ids = ", ".join(f"{r.id} ({r.name})" for r in rows)
        raise CorrectionError(f"{ref!r} names several organizations, use an id: {ids}")
    return OrgRef(rows[0].id, rows[0].name, rows[0].type)


def _upsert(conn: Connection, org_id: int, **values: Any) -> None:
    values["updated_at"] = int(time.time())
    exists = conn.execute(
        select(org_corrections.c.org_id).where(org_corrections.c.org_id == org_id)
    ).first()
    if exists:
        conn.execute(
            org_corrections.update().where(org_corrections.c.org_id == org_id).values(**values)
        )
    else:
        conn.execute(
            org_corrections.insert().values(
                **{"org_id": org_id, "hidden": False, "target": False, **values}
            )
        )


def rename(conn: Connection, org: OrgRef, name: str) -> None:
    if not name.strip():
        raise CorrectionError("a name cannot be empty")
    _upsert(conn, org.id, name=name.strip())


def retype(conn: Connection, org: OrgRef, org_type: str) -> None:
    try:
        OrgType(org_type)
    except ValueError as exc:
        kinds = ", ".join(t.value for t in OrgType)
        raise CorrectionError(f"{org_type!r} is not a type; use one of {kinds}") from exc
    _upsert(conn, org.id, type=org_type)


def hide(conn: Connection, org: OrgRef, hidden: bool = True) -> None:
    _upsert(conn, org.id, hidden=hidden)


def set_relation(conn: Connection, org: OrgRef, relation: str | None) -> None:
    if relation is not None and relation not in RELATIONS:
        raise CorrectionError(f"{relation!r} is not a relation; use customer, competitor or none")
    _upsert(conn, org.id, relation=relation)


def set_target(conn: Connection, org: OrgRef, target: bool = True) -> None:
    """A named target account: hunted on purpose, announced when it visits."""
    _upsert(conn, org.id, target=target)


def merge(conn: Connection, org: OrgRef, into: OrgRef) -> None:
    """Count `org` as `into` from now on, in every report.

    Chains are kept flat (everything points at the final organization), so reports need to
    follow one step only.
    """
    if org.id == into.id:
        raise CorrectionError("an organization cannot be merged into itself")
    final = into.id
    seen = {org.id}
    while True:
        if final in seen:
            raise CorrectionError(f"{into.name} is already merged into {org.name}")
        seen.add(final)
        onward = conn.execute(
            select(org_corrections.c.merged_into).where(org_corrections.c.org_id == final)
        ).scalar()
        if onward is None:
            break
        final = onward
    _upsert(conn, org.id, merged_into=final)
    conn.execute(
        org_corrections.update()
        .where(org_corrections.c.merged_into == org.id)
        .values(merged_into=final)
    )


def add_range(conn: Connection, org: OrgRef, text: str, note: str | None = None) -> str:
    """A known range (CIDR or 'first - last') that always resolves to `org`."""
    first, last = _parse_range(text)
    conn.execute(
        known_ranges.insert().values(
            org_id=org.id,
            version=first.version,
            first=int(first).to_bytes(16, "big"),
            last=int(last).to_bytes(16, "big"),
            note=note,
            created_at=int(time.time()),
        )
    )
    return f"{first} - {last}"


def _parse_range(text: str) -> tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, Any]:
    try:
        if "-" in text and "/" not in text:
            first_text, last_text = (part.strip() for part in text.split("-", 1))
            first, last = ipaddress.ip_address(first_text), ipaddress.ip_address(last_text)
        else:
            network = ipaddress.ip_network(text.strip(), strict=False)
            first, last = network.network_address, network.broadcast_address
    except ValueError as exc:
        raise CorrectionError(f"{text!r} is not a range: use 198.51.100.0/24 or a - b") from exc
    if first.version != last.version or int(last) < int(first):
        raise CorrectionError(f"{text!r}: the range ends before it starts or mixes IPv4 and IPv6")
    return first, last


def new_org(conn: Connection, name: str, org_type: str = "business") -> OrgRef:
    """An organization the team names itself (e.g. for a customer's office range)."""
    key = "team:" + " ".join(name.casefold().split())
    org_id = org_id_for(key)
    now = int(time.time())
    exists = conn.execute(select(organizations.c.id).where(organizations.c.id == org_id)).first()
    if not exists:
        conn.execute(
            organizations.insert().values(
                id=org_id,
                key=key,
                name=name,
                type=org_type,
                confidence=1.0,
                source="team",
                evidence=json.dumps(["added by the team"]),
                first_seen=now,
                last_seen=now,
            )
        )
    return OrgRef(org_id, name, org_type)


CORRECTIONS = ("rename", "retype", "hide", "unhide", "relation", "merge", "range", "target",
               "untarget")  # fmt: skip


def apply(conn: Connection, org_id: int, action: str, value: str, note: str) -> str:
    """One correction by name (the company page and the API); what was done, in words."""
    org = find_org(conn, str(org_id))
    if action == "rename":
        rename(conn, org, value)
        return f"Renamed to {value.strip()}."
    if action == "retype":
        retype(conn, org, value)
        return f"Type set to {value}."
    if action in ("hide", "unhide"):
        hide(conn, org, action == "hide")
        return "Hidden from lists." if action == "hide" else "Shown in lists again."
    if action in ("target", "untarget"):
        set_target(conn, org, action == "target")
        return "Marked as a target account." if action == "target" else "No longer a target."
    if action == "relation":
        set_relation(conn, org, value or None)
        return f"Marked as {value}." if value else "No longer marked."
    if action == "merge":
        into = find_org(conn, value.strip())
        merge(conn, org, into)
        return f"Merged into {into.name}."
    if action == "range":
        text = add_range(conn, org, value, note.strip() or None)
        return f"Known range {text} added."
    raise CorrectionError(f"{action!r} is not a correction: use {', '.join(CORRECTIONS)}")
