"""Commands for the people who sign in: add, list, change role, reset password, disable."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import Connection

from spoor.cli.app import user_app
from spoor.cli.common import console, fail, load_settings, print_json
from spoor.db.engine import open_database
from spoor.users import (
    User,
    UserError,
    add_user,
    get_user_by_email,
    list_users,
    parse_role,
    set_password,
    update_user,
)

PasswordOption = Annotated[
    str,
    typer.Option(
        prompt=True,
        hide_input=True,
        confirmation_prompt=True,
        help="The password (asked for when not given; at least 10 characters).",
    ),
]


def _existing(conn: Connection, email: str) -> User:
    user = get_user_by_email(conn, email)
    if user is None:
        raise UserError(f"no user {email}; `spoor user list` shows them")
    return user


@user_app.command("add")
def user_add(
    email: str,
    role: Annotated[str, typer.Option(help="admin, manager or rep.")] = "rep",
    name: Annotated[str, typer.Option(help="The name shown in the app.")] = "",
    password: PasswordOption = "",
) -> None:
    """Add a person who may sign in to the web app."""
    engine = open_database(load_settings())
    try:
        with engine.begin() as conn:
            user = add_user(conn, email, password, parse_role(role), int(time.time()), name)
    except UserError as exc:
        raise fail(str(exc)) from exc
    console.print(f"Added {user.email} as {user.role.value}. They sign in at /login.")


@user_app.command("list")
def user_list(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List everyone who may sign in."""
    with open_database(load_settings()).connect() as conn:
        found = list_users(conn)
    if as_json:
        print_json([{"email": u.email, "name": u.name, "role": u.role.value,
                     "disabled": u.disabled} for u in found])  # fmt: skip
        return
    table = Table("e-mail", "name", "role", "status")
    for u in found:
        table.add_row(u.email, u.name or "", u.role.value, "disabled" if u.disabled else "active")
    console.print(table)


@user_app.command("set")
def user_set(
    email: str,
    role: Annotated[str | None, typer.Option(help="admin, manager or rep.")] = None,
    disabled: Annotated[
        bool | None, typer.Option("--disable/--enable", help="Stop (or allow) sign-in.")
    ] = None,
) -> None:
    """Change someone's role, or disable or enable their account."""
    engine = open_database(load_settings())
    try:
        with engine.begin() as conn:
            user = _existing(conn, email)
            update_user(conn, user.id, role=parse_role(role) if role else None, disabled=disabled)
    except UserError as exc:
        raise fail(str(exc)) from exc
    console.print(f"Updated {email}.")


@user_app.command("password")
def user_password(email: str, password: PasswordOption = "") -> None:
    """Set a new password for someone (their other sessions end)."""
    engine = open_database(load_settings())
    try:
        with engine.begin() as conn:
            user = _existing(conn, email)
            set_password(conn, user.id, password)
    except UserError as exc:
        raise fail(str(exc)) from exc
    console.print(f"New password set for {email}.")
