"""`spoor org ...`: the team's corrections; each wins over every dataset."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer

from spoor.cli.app import org_app
from spoor.cli.common import console, fail, load_settings
from spoor.db.engine import open_database
from spoor.identify import corrections
from spoor.identify.corrections import CorrectionError, OrgRef

OrgArg = Annotated[str, typer.Argument(help="Organization id, name or domain.")]


def _apply(ref: str, change: Callable[..., object], *args: object) -> OrgRef:
    engine = open_database(load_settings())
    try:
        with engine.begin() as conn:
            org = corrections.find_org(conn, ref)
            change(conn, org, *args)
    except CorrectionError as exc:
        raise fail(str(exc)) from exc
    return org


@org_app.command("rename")
def rename(org: OrgArg, name: str) -> None:
    """Show the organization under another name."""
    found = _apply(org, corrections.rename, name)
    console.print(f"{found.name} is now shown as {name}.")


@org_app.command("retype")
def retype(org: OrgArg, org_type: Annotated[str, typer.Argument(metavar="TYPE")]) -> None:
    """Set the type: business, isp, mobile, hosting, education, government, crawler."""
    found = _apply(org, corrections.retype, org_type)
    console.print(f"{found.name} is now a {org_type} organization.")


@org_app.command("hide")
def hide(org: OrgArg) -> None:
    """Leave the organization out of company lists and leads."""
    found = _apply(org, corrections.hide, True)
    console.print(f"{found.name} is hidden.")


@org_app.command("unhide")
def unhide(org: OrgArg) -> None:
    """Show a hidden organization again."""
    found = _apply(org, corrections.hide, False)
    console.print(f"{found.name} is shown again.")


@org_app.command("mark")
def mark(
    org: OrgArg,
    relation: Annotated[str, typer.Argument(help="customer, competitor or none.")],
) -> None:
    """Mark an existing customer or a competitor (neither becomes a lead)."""
    value = None if relation == "none" else relation
    found = _apply(org, corrections.set_relation, value)
    console.print(f"{found.name}: {relation}.")


@org_app.command("merge")
def merge(
    org: OrgArg, into: Annotated[str, typer.Argument(help="The organization to keep.")]
) -> None:
    """Count one organization as another from now on (e.g. two names of one company)."""
    engine = open_database(load_settings())
    try:
        with engine.begin() as conn:
            source = corrections.find_org(conn, org)
            target = corrections.find_org(conn, into)
            corrections.merge(conn, source, target)
    except CorrectionError as exc:
        raise fail(str(exc)) from exc
    console.print(f"{source.name} now counts as {target.name}.")


@org_app.command("add-range")
def add_range(
    org: OrgArg,
    ip_range: Annotated[str, typer.Argument(metavar="RANGE", help="CIDR or 'first - last'.")],
    new: Annotated[bool, typer.Option(help="Create the organization under this name.")] = False,
    note: Annotated[str | None, typer.Option(help="Why this range is known.")] = None,
) -> None:
    """A range that always resolves to the organization (e.g. a customer's office)."""
    engine = open_database(load_settings())
    try:
        with engine.begin() as conn:
            found = corrections.new_org(conn, org) if new else corrections.find_org(conn, org)
            span = corrections.add_range(conn, found, ip_range, note)
    except CorrectionError as exc:
        raise fail(str(exc)) from exc
    console.print(f"{span} now resolves to {found.name} (id {found.id}).")
