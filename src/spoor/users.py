"""People who use the web app and the API: roles, argon2 passwords, hashed API tokens.

Roles nest: an admin may do what a manager may, a manager what a rep may. Passwords are
stored only as argon2id hashes and API tokens only as SHA-256 digests, so a copy of the
database lets nobody sign in.
"""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, Row, func, select

from spoor.db.schema import api_tokens, users

MIN_PASSWORD = 10
TOKEN_PREFIX = "spoor_"
_EMAIL = re.compile(r"^[^@\s<>\"']+@[^@\s<>\"']+\.[^@\s<>\"']+$")
_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verified when an e-mail address is unknown, so a wrong address takes as long as a
    wrong password and timing does not tell which addresses exist. Made on first use:
    hashing at import would slow every CLI command down (argon2 is slow on purpose)."""
    return _hasher.hash(secrets.token_urlsafe(16))


class Role(StrEnum):
    ADMIN = "admin"  # settings, users, data
    MANAGER = "manager"  # everything a team does
    REP = "rep"  # their own work and the shared pool

    def allows(self, needed: Role) -> bool:
        return _RANK[self] >= _RANK[needed]


_RANK = {Role.REP: 0, Role.MANAGER: 1, Role.ADMIN: 2}


class UserError(ValueError):
    """A user cannot be added or changed; the message says why."""


@dataclass(frozen=True)
class User:
    id: int
    email: str
    name: str | None
    role: Role
    timezone: str | None
    disabled: bool
    session_epoch: int
    created_at: int

    @property
    def label(self) -> str:
        return self.name or self.email


@dataclass(frozen=True)
class ApiToken:
    id: int
    user_id: int
    name: str
    prefix: str
    created_at: int
    last_used_at: int | None


def _user(row: Row[Any]) -> User:
    return User(
        id=row.id,
        email=row.email,
        name=row.name,
        role=Role(row.role),
        timezone=row.timezone,
        disabled=bool(row.disabled),
        session_epoch=row.session_epoch,
        created_at=row.created_at,
    )


def parse_role(text: str) -> Role:
    try:
        return Role(text.strip().lower())
    except ValueError as exc:
        raise UserError(f"{text!r} is not a role: use admin, manager or rep") from exc


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"a password needs at least {MIN_PASSWORD} characters")


def normalize_email(email: str) -> str:
    email = email.strip().lower()
    if not _EMAIL.match(email) or len(email) > 254:
        raise UserError(f"{email!r} is not an e-mail address")
    return email


def check_timezone(name: str) -> str | None:
    """An IANA zone name (or "" for none, meaning UTC); UserError otherwise."""
    name = name.strip()
    if not name:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UserError(f"{name!r} is not a time zone: use a name like Europe/Amsterdam") from None
    return name


def add_user(
    conn: Connection, email: str, password: str, role: Role, now: int, name: str | None = None
) -> User:
    email = normalize_email(email)
    check_password(password)
    if get_user_by_email(conn, email):
        raise UserError(f"a user {email} already exists")
    conn.execute(
        users.insert().values(
            email=email,
            name=(name or "").strip() or None,
            role=role.value,
            password_hash=_hasher.hash(password),
            created_at=now,
        )
    )
    user = get_user_by_email(conn, email)
    assert user is not None
    return user


def get_user(conn: Connection, user_id: int) -> User | None:
    row = conn.execute(select(users).where(users.c.id == user_id)).first()
    return _user(row) if row else None


def get_user_by_email(conn: Connection, email: str) -> User | None:
    row = conn.execute(select(users).where(users.c.email == email.strip().lower())).first()
    return _user(row) if row else None


def list_users(conn: Connection) -> list[User]:
    return [_user(r) for r in conn.execute(select(users).order_by(users.c.email))]


def count_users(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(users)).scalar_one())


def authenticate(conn: Connection, email: str, password: str) -> User | None:
    """The active user with this e-mail address and password, else None."""
    row = conn.execute(select(users).where(users.c.email == email.strip().lower())).first()
    stored = row.password_hash if row else _dummy_hash()
    try:
        _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    if row is None or row.disabled:
        return None
    if _hasher.check_needs_rehash(stored):
        conn.execute(
            users.update().where(users.c.id == row.id).values(password_hash=_hasher.hash(password))
        )
    return _user(row)


def set_password(conn: Connection, user_id: int, password: str) -> None:
    """A new password; every session signed in with the old one ends."""
    check_password(password)
    conn.execute(
        users.update()
        .where(users.c.id == user_id)
        .values(password_hash=_hasher.hash(password), session_epoch=users.c.session_epoch + 1)
    )


def change_password(conn: Connection, user: User, current: str, new: str) -> None:
    if authenticate(conn, user.email, current) is None:
        raise UserError("the current password is not right")
    if new == current:
        raise UserError("the new password is the same as the current one")
    set_password(conn, user.id, new)


def update_user(
    conn: Connection,
    user_id: int,
    *,
    role: Role | None = None,
    disabled: bool | None = None,
    name: str | None = None,
    timezone: str | None = None,
) -> None:
    values: dict[str, object] = {}
    if timezone is not None:
        values["timezone"] = check_timezone(timezone)
    if role is not None:
        values["role"] = role.value
    if disabled is not None:
        values["disabled"] = disabled
        values["session_epoch"] = users.c.session_epoch + 1
    if name is not None:
        values["name"] = name.strip() or None
    if values:
        _keep_an_admin(conn, user_id, role, disabled)
        conn.execute(users.update().where(users.c.id == user_id).values(**values))


def _keep_an_admin(
    conn: Connection, user_id: int, role: Role | None, disabled: bool | None
) -> None:
    """Refuse a change that would leave no active admin to manage the others."""
    user = get_user(conn, user_id)
    if user is None:
        raise UserError(f"no user {user_id}")
    demoted = role is not None and role != Role.ADMIN
    if user.role != Role.ADMIN or not (demoted or disabled):
        return
    admins = conn.execute(
        select(func.count())
        .select_from(users)
        .where(users.c.role == Role.ADMIN.value, users.c.disabled.is_(False))
    ).scalar_one()
    if admins <= 1:
        raise UserError("this is the only active admin; make another admin first")


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def create_token(conn: Connection, user_id: int, name: str, now: int) -> str:
    """A new API token for the user; the only time the token itself is ever seen."""
    name = name.strip()
    if not name:
        raise UserError("a token needs a name, e.g. the tool that will use it")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    conn.execute(
        api_tokens.insert().values(
            user_id=user_id,
            name=name[:100],
            prefix=token[: len(TOKEN_PREFIX) + 4],
            token_hash=_digest(token),
            created_at=now,
        )
    )
    return token


def user_for_token(conn: Connection, token: str, now: int) -> User | None:
    if not token.startswith(TOKEN_PREFIX):
        return None
    row = conn.execute(
        select(users, api_tokens.c.id.label("token_id"))
        .join(api_tokens, api_tokens.c.user_id == users.c.id)
        .where(api_tokens.c.token_hash == _digest(token))
    ).first()
    if row is None or row.disabled:
        return None
    conn.execute(
        api_tokens.update().where(api_tokens.c.id == row.token_id).values(last_used_at=now)
    )
    return _user(row)


def list_tokens(conn: Connection, user_id: int | None = None) -> list[ApiToken]:
    query = select(api_tokens).order_by(api_tokens.c.created_at.desc(), api_tokens.c.id.desc())
    if user_id is not None:
        query = query.where(api_tokens.c.user_id == user_id)
    return [
        ApiToken(r.id, r.user_id, r.name, r.prefix, r.created_at, r.last_used_at)
        for r in conn.execute(query)
    ]


def revoke_token(conn: Connection, token_id: int, user: User) -> bool:
    """Revoke a token of the user's own, or any token for an admin."""
    query = api_tokens.delete().where(api_tokens.c.id == token_id)
    if user.role != Role.ADMIN:
        query = query.where(api_tokens.c.user_id == user.id)
    return conn.execute(query).rowcount > 0
