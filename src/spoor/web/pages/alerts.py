"""Alerts (managers): channels, rules, and the delivery log with its latency."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Connection
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from spoor.leads.alerts import (
    TRIGGERS,
    AlertError,
    add_channel,
    add_rule,
    enable_channel,
    latency_percentiles,
    list_channels,
    list_rules,
    recent_deliveries,
)
from spoor.leads.channels import KINDS
from spoor.leads.feeds import list_feeds
from spoor.settings import Settings
from spoor.sites import list_sites
from spoor.users import Role
from spoor.web.auth import guard
from spoor.web.render import page, read, write


@guard(Role.MANAGER)
async def alerts_page(request: Request) -> Response:
    def load(conn: Connection) -> dict[str, Any]:
        return {
            "channels": list_channels(conn),
            "rules": list_rules(conn),
            "deliveries": recent_deliveries(conn),
            "latency": latency_percentiles(conn),
            "sites": list_sites(conn),
            "feeds": list_feeds(conn),
        }

    data = await read(request, load)
    flash = request.session.pop("flash", None)
    return page(request, "alerts.html", **data, kinds=KINDS, triggers=TRIGGERS, flash=flash)


def _change(conn: Connection, form: FormData, settings: Settings) -> str:
    action, now = form.get("action"), int(time.time())
    if action == "channel":
        channel = add_channel(
            conn, str(form.get("name", "")), str(form.get("kind", "")),
            str(form.get("target", "")), now, settings=settings,
        )  # fmt: skip
        secret = f" Its signing secret: {channel.secret}" if channel.kind == "webhook" else ""
        return f"Channel {channel.name} added.{secret}"
    if action == "enable":
        enable_channel(conn, int(str(form.get("channel_id", "0"))))
        return "Channel enabled again."
    if action == "rule":
        threshold = str(form.get("threshold", "")).strip()
        site = str(form.get("site_id", "")).strip()
        feed = str(form.get("feed_id", "")).strip()
        rule = add_rule(
            conn, str(form.get("name", "")), str(form.get("trigger", "")),
            int(str(form.get("channel_id", "0"))), now,
            threshold=float(threshold) if threshold else None,
            site_id=int(site) if site else None,
            cooldown_minutes=int(str(form.get("cooldown_minutes", "240")) or 240),
            feed_id=int(feed) if feed else None,
        )  # fmt: skip
        return f"Rule {rule.name} added."
    raise AlertError(f"unknown action {action!r}")


@guard(Role.MANAGER)
async def change_alerts(request: Request) -> Response:
    form = await request.form()
    settings = request.app.state.settings
    try:
        text, error = await write(request, lambda conn: _change(conn, form, settings)), False
    except (AlertError, ValueError) as exc:
        text, error = str(exc), True
    request.session["flash"] = {"text": text, "error": error}
    return RedirectResponse("/alerts", 303)
