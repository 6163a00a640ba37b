"""Settings (admin only): sites with their snippet and rules, IP data, users and tokens."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from spoor.identify.ipdb import SourceStatus, status
from spoor.identify.update import UpdateResult, update_sources
from spoor.settings import Settings
from spoor.sites import SiteError, add_site, configure_site, list_sites, remove_site, snippet
from spoor.users import (
    Role,
    UserError,
    add_user,
    list_tokens,
    list_users,
    parse_role,
    revoke_token,
    update_user,
)
from spoor.web.auth import guard
from spoor.web.render import page, read, write


@dataclass
class IpUpdate:
    """The IP data update the settings page started last (one at a time)."""

    running: bool = False
    started: float | None = None
    results: list[UpdateResult] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self, engine: Engine, settings: Settings) -> bool:
        with self.lock:
            if self.running:
                return False
            self.running, self.started, self.results = True, time.time(), []

        def run() -> None:
            try:
                self.results = update_sources(
                    engine, settings.data_dir / "ipdb", now=datetime.now(UTC)
                )
            finally:
                self.running = False

        threading.Thread(target=run, name="ipdb-update", daemon=True).start()
        return True


def _flash(request: Request, text: str, error: bool = False) -> None:
    request.session["flash"] = {"text": text, "error": error}


@guard(Role.ADMIN)
async def settings_page(request: Request) -> Response:
    settings: Settings = request.app.state.settings

    def load(conn: Connection) -> dict[str, Any]:
        sites = list_sites(conn)
        return {
            "sites": [(s, snippet(s, settings.public_url)) for s in sites],
            "users": list_users(conn),
            "tokens": list_tokens(conn),
        }

    data = await read(request, load)
    sources: list[SourceStatus] = await run_in_threadpool(status, request.app.state.engine)
    flash = request.session.pop("flash", None)
    return page(
        request, "settings.html", **data, sources=sources, update=request.app.state.ip_update,
        roles=[r.value for r in Role], flash=flash, public_url=settings.public_url,
    )  # fmt: skip


def _site_change(conn: Connection, form: FormData, settings: Settings) -> str:
    action = form.get("action")
    domain = str(form.get("domain", ""))
    if action == "add":
        site = add_site(
            conn, domain, str(form.get("timezone") or settings.timezone), int(time.time())
        )
        return f"Site {site.domain} added: paste its snippet into the site's pages."
    if action == "remove":
        if str(form.get("confirm", "")) != domain:
            raise SiteError("type the domain to confirm removing the site and all its data")
        remove_site(conn, domain)
        return f"Site {domain} and its data removed."
    hosts = [h.strip() for h in str(form.get("hosts", "")).split(",")]
    configure_site(
        conn,
        domain,
        hosts=hosts,
        honor_dnt=form.get("honor_dnt") == "on",
        timezone=str(form.get("timezone", "")) or None,
        exclude_ips=str(form.get("exclude_ips", "")),
        exclude_paths=str(form.get("exclude_paths", "")),
    )
    return f"Site {domain} saved."


@guard(Role.ADMIN)
async def change_site(request: Request) -> Response:
    form = await request.form()
    try:
        _flash(
            request,
            await write(request, lambda c: _site_change(c, form, request.app.state.settings)),
        )
    except SiteError as exc:
        _flash(request, str(exc), error=True)
    return RedirectResponse("/settings#sites", 303)


def _user_change(conn: Connection, form: FormData, actor_id: int) -> str:
    action = form.get("action")
    if action == "add":
        user = add_user(
            conn, str(form.get("email", "")), str(form.get("password", "")),
            parse_role(str(form.get("role", "rep"))), int(time.time()), str(form.get("name", "")),
        )  # fmt: skip
        return f"User {user.email} added as {user.role.value}."
    user_id = int(str(form.get("user_id", "0")))
    if action == "role":
        update_user(conn, user_id, role=parse_role(str(form.get("role", ""))))
        return "Role changed."
    if action in ("disable", "enable"):
        if user_id == actor_id:
            raise UserError("you cannot disable yourself")
        update_user(conn, user_id, disabled=action == "disable")
        return (
            "User disabled; their sessions and tokens stop working."
            if action == "disable"
            else "User enabled."
        )
    raise UserError(f"unknown action {action!r}")


@guard(Role.ADMIN)
async def change_user(request: Request) -> Response:
    form = await request.form()
    actor = request.state.user
    try:
        _flash(request, await write(request, lambda c: _user_change(c, form, actor.id)))
    except (UserError, ValueError) as exc:
        _flash(request, str(exc), error=True)
    return RedirectResponse("/settings#users", 303)


@guard(Role.ADMIN)
async def revoke_any_token(request: Request) -> Response:
    form = await request.form()
    token_id = int(str(form.get("token_id", "0")))
    await write(request, lambda c: revoke_token(c, token_id, request.state.user))
    _flash(request, "Token revoked.")
    return RedirectResponse("/settings#tokens", 303)


@guard(Role.ADMIN)
async def update_ipdata(request: Request) -> Response:
    started = request.app.state.ip_update.start(
        request.app.state.engine, request.app.state.settings
    )
    _flash(request, "IP data update started." if started else "An update is already running.")
    return RedirectResponse("/settings#ipdata", 303)
