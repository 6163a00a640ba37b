"""The Privacy page (admins): retention limits and the last run, erasure with a
confirmation, an export link, and the erasure log."""

from __future__ import annotations

import time
from datetime import date
from typing import Any

from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from spoor.identify.corrections import CorrectionError, find_org
from spoor.privacy import journal, retention
from spoor.privacy.erasure import (
    Erasure,
    erase_ip_range,
    erase_orgs,
    erase_time_range,
)
from spoor.privacy.scope import ErasureError
from spoor.settings import Settings
from spoor.sites import SiteError, get_site, list_sites
from spoor.users import Role
from spoor.web.auth import guard
from spoor.web.render import page, read, refused

CONFIRM = "ERASE"


@guard(Role.ADMIN)
async def privacy_page(request: Request) -> Response:
    settings: Settings = request.app.state.settings

    def load(conn: Connection) -> dict[str, Any]:
        return {"log": journal.recent(conn), "last": retention.last_run(conn),
                "sites": list_sites(conn)}  # fmt: skip

    return page(request, "privacy.html", policy=retention.Policy.of(settings),
                ip_retention=settings.ip_retention, flash=request.session.pop("flash", None),
                **await read(request, load))  # fmt: skip


def _day(form: FormData, name: str) -> date:
    try:
        return date.fromisoformat(str(form.get(name, "")))
    except ValueError as exc:
        raise ErasureError(f"the {name} day must be a date such as 2026-01-31") from exc


def _erase(request: Request, form: FormData, actor: str, dry_run: bool) -> Erasure:
    """The service call the form asks for (it runs in a worker thread)."""
    engine, now, what = request.app.state.engine, time.time(), form.get("what")
    if what == "org":
        with engine.connect() as conn:
            org = find_org(conn, str(form.get("org", "")).strip())
        return erase_orgs(engine, [org.id], actor=actor, now=now, dry_run=dry_run)
    if what == "ip_range":
        cidr = str(form.get("ip_range", ""))
        return erase_ip_range(engine, cidr, actor=actor, now=now, dry_run=dry_run)
    if what == "days":
        site_id = None
        if form.get("site"):
            with engine.connect() as conn:
                site = get_site(conn, str(form.get("site")))
            if site is None:
                raise ErasureError("no such site")
            site_id = site.id
        return erase_time_range(engine, _day(form, "from"), _day(form, "to"), site_id=site_id,
                                actor=actor, now=now, dry_run=dry_run)  # fmt: skip
    raise ErasureError("say what to erase")


@guard(Role.ADMIN)
async def erase(request: Request) -> Response:
    form = await request.form()
    dry_run = form.get("confirm") != CONFIRM
    try:
        result = await run_in_threadpool(_erase, request, form, request.state.user.email, dry_run)
    except (CorrectionError, ErasureError, SiteError) as exc:
        return refused(request, exc, "/privacy")
    counts = ", ".join(f"{n} {t}" for t, n in sorted(result.counts.items())) or "nothing"
    names = "; ".join(name for _, name in result.orgs)
    text = (f"Would erase {counts}{f' ({names})' if names else ''}. Type {CONFIRM} to erase."
            if dry_run else f"Erased {counts}.")  # fmt: skip
    request.session["flash"] = {"text": text, "error": False}
    return RedirectResponse("/privacy", 303)


@guard(Role.ADMIN)
async def export(request: Request) -> Response:
    """The export form names an organization; the export is the API's."""
    ref = request.query_params.get("org", "").strip()
    try:
        org = await read(request, lambda conn: find_org(conn, ref))
    except CorrectionError as exc:
        return refused(request, exc, "/privacy")
    return RedirectResponse(f"/api/v1/organizations/{org.id}/export", 303)
