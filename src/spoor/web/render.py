"""Rendering pages: one Jinja2 environment (autoescaped), filters for numbers and times,
and the context every page shares (the user, the CSRF token, the site switcher)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse
from starlette.templating import Jinja2Templates

from spoor.web.auth import CSRF_FIELD, csrf_token

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
T = TypeVar("T")


def number(value: float | int | None) -> str:
    if value is None:
        return "–"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.1f}"
    return f"{int(value):,}"


def duration(seconds: float | int | None) -> str:
    if not seconds:
        return "0s"
    seconds = round(seconds)
    minutes, sec = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {sec:02d}s" if minutes else f"{sec}s"


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


def change(current: float, previous: float | None) -> dict[str, Any] | None:
    """The relative change against the previous period, for the up/down marks."""
    if previous is None:
        return None
    if previous == 0:
        return {"text": "new" if current else "±0%", "direction": "up" if current else "flat"}
    ratio = (current - previous) / previous
    direction = "up" if ratio > 0.005 else "down" if ratio < -0.005 else "flat"
    return {"text": f"{ratio * 100:+.0f}%", "direction": direction}


def when(epoch: int | None, zone: str = "UTC", fmt: str = "%Y-%m-%d %H:%M") -> str:
    if epoch is None:
        return "–"
    return datetime.fromtimestamp(epoch, UTC).astimezone(ZoneInfo(zone)).strftime(fmt)


TEMPLATES.env.filters.update(number=number, duration=duration, percent=percent, when=when)
TEMPLATES.env.globals.update(change=change, csrf_field=CSRF_FIELD)


def page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    user = getattr(request.state, "user", None)
    return TEMPLATES.TemplateResponse(
        request,
        template,
        {"user": user, "csrf": csrf_token(request), "path": request.url.path, **context},
        status_code=status,
    )


def back_to(request: Request, text: str, error: bool = False, to: str = "/") -> RedirectResponse:
    """After a form: say what happened on the next page, and go back to `to` (a local path
    only, so a form cannot send anyone elsewhere)."""
    if not to.startswith("/") or to.startswith("//") or "\\" in to:
        to = "/"
    request.session["flash"] = {"text": text, "error": error}
    return RedirectResponse(to, 303)


def refused(request: Request, error: Exception, to: str = "/") -> RedirectResponse:
    """Back to the form's page with the service's reason, as a sentence."""
    text = str(error)
    return back_to(request, text[:1].upper() + text[1:] + ("" if text.endswith(".") else "."),
                   True, to)  # fmt: skip


async def read(request: Request, work: Callable[[Connection], T]) -> T:
    """Run a service function on a read connection, off the event loop."""
    return await _run(request, work, transaction=False)


async def write(request: Request, work: Callable[[Connection], T]) -> T:
    """Run a service function in a transaction, off the event loop."""
    return await _run(request, work, transaction=True)


async def _run(request: Request, work: Callable[[Connection], T], transaction: bool) -> T:
    engine: Engine = request.app.state.engine

    def run() -> T:
        with engine.begin() if transaction else engine.connect() as conn:
            return work(conn)

    return await run_in_threadpool(run)
