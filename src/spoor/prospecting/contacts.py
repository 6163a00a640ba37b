"""Contacts: the people at an account, as reps enter them.

Spoor never derives people from traffic; these come from the rep's own research. A contact
who opts out stops the account's cadence.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from sqlalchemy import Connection, select

from spoor.db.schema import contacts
from spoor.prospecting.cadences import active_run, stop

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class ContactError(ValueError):
    """A contact that cannot be saved; the message says which field is wrong."""


@dataclass(frozen=True)
class Contact:
    id: int
    org_id: int
    name: str
    role: str | None
    email: str | None
    phone: str | None
    linkedin: str | None
    opted_out: bool

    def as_json(self) -> dict[str, object]:
        return {"id": self.id, "org_id": self.org_id, "name": self.name, "role": self.role,
                "email": self.email, "phone": self.phone, "linkedin": self.linkedin,
                "opted_out": self.opted_out}  # fmt: skip


def _clean(value: str | None) -> str | None:
    return (value or "").strip() or None


def add_contact(
    conn: Connection, org_id: int, name: str, role: str | None = None, email: str | None = None,
    phone: str | None = None, linkedin: str | None = None, user_id: int | None = None,
) -> Contact:  # fmt: skip
    name, email, linkedin = name.strip(), _clean(email), _clean(linkedin)
    if not name:
        raise ContactError("a contact needs a name")
    if email and not EMAIL.match(email):
        raise ContactError(f"{email!r} is not an e-mail address")
    if linkedin and not linkedin.startswith(("https://", "http://")):
        raise ContactError("the LinkedIn field takes the profile's address (https://...)")
    inserted = conn.execute(
        contacts.insert().values(
            org_id=org_id, name=name[:200], role=_clean(role), email=email, phone=_clean(phone),
            linkedin=linkedin, created_by=user_id, created_at=time.time(),
        )
    )  # fmt: skip
    return contacts_of(conn, org_id, int(inserted.inserted_primary_key[0]))[0]  # type: ignore[index]


def contacts_of(conn: Connection, org_id: int, contact_id: int | None = None) -> list[Contact]:
    query = select(contacts).where(contacts.c.org_id == org_id).order_by(contacts.c.name)
    if contact_id is not None:
        query = query.where(contacts.c.id == contact_id)
    return [Contact(r.id, r.org_id, r.name, r.role, r.email, r.phone, r.linkedin,
                    bool(r.opted_out)) for r in conn.execute(query)]  # fmt: skip


def opt_out(conn: Connection, org_id: int, contact_id: int, now: float | None = None) -> Contact:
    """Mark the contact as not to be contacted; the account's cadence stops."""
    found = contacts_of(conn, org_id, contact_id)
    if not found:
        raise ContactError(f"no contact {contact_id} at this account")
    conn.execute(contacts.update().where(contacts.c.id == contact_id).values(opted_out=True))
    running = active_run(conn, org_id)
    if running is not None:
        stop(conn, running, "opted_out", time.time() if now is None else now)
    return contacts_of(conn, org_id, contact_id)[0]
