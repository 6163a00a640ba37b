"""The ASGI application: the whole route table in one list; the lifespan owns the engine,
the live ingest (its consumer runs in a process of its own) and the alert watcher.

Public: sign-in, the tracking endpoints, the tracker script, static files and /healthz.
Every other route is a page behind `auth.guard` or the JSON API behind its token check.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import fastapi_offline
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from spoor.db.engine import open_database
from spoor.identify.resolver import LiveResolver
from spoor.ingest.live import LiveIngest
from spoor.leads.alerts import AlertWatcher
from spoor.ops import metrics
from spoor.settings import Settings
from spoor.web import collect, ops
from spoor.web.api import create_api
from spoor.web.auth import SESSION_DAYS, LoginLimiter, guard, secret_key
from spoor.web.pages import (
    account,
    admin,
    alerts,
    companies,
    deals,
    hunt,
    leads,
    optout,
    overview,
    privacy,
    team,
)
from spoor.web.render import page

TRACKER = Path(__file__).with_name("static") / "spoor.js"


async def tracker_script(request: Request) -> Response:
    if not TRACKER.exists():
        return JSONResponse({"error": "the tracker script is not built"}, 404)
    return FileResponse(
        TRACKER,
        media_type="application/javascript",
        headers={"Cache-Control": "public, max-age=3600"},
    )


@guard()
async def api_docs(request: Request) -> Response:
    return get_swagger_ui_html(
        openapi_url="/api/v1/openapi.json",
        title="Spoor API",
        swagger_js_url="/api/docs/static/swagger-ui-bundle.js",
        swagger_css_url="/api/docs/static/swagger-ui.css",
        swagger_favicon_url="/api/docs/static/favicon.png",
    )


STATIC = Path(__file__).with_name("static")
SWAGGER_UI = Path(fastapi_offline.__file__).with_name("static")
PAGES = [
    Route("/", overview.overview),
    Route("/companies", companies.company_list),
    Route("/companies/{org_id:int}", companies.company_page),
    Route("/companies/{org_id:int}/corrections", companies.correct_company, methods=["POST"]),
    Route("/today", hunt.today_page),
    Route("/tasks/{task_id:int}", hunt.change_task, methods=["POST"]),
    Route("/routine", hunt.routine_page, methods=["GET", "POST"]),
    Route("/leads", leads.lead_list),
    Route("/leads/feeds", leads.save_lead_feed, methods=["POST"]),
    Route("/leads/rules", leads.rules_page, methods=["GET", "POST"]),
    Route("/leads/{org_id:int}", leads.lead_page),
    Route("/leads/{org_id:int}/claim", leads.change_claim, methods=["POST"]),
    Route("/leads/{org_id:int}/activities", leads.log_lead_activity, methods=["POST"]),
    Route("/leads/{org_id:int}/{what:str}", hunt.change_account, methods=["POST"]),
    Route("/team", team.team_page),
    Route("/forecast", deals.forecast_page),
    Route("/deals", deals.deals_page),
    Route("/deals", deals.add_deal, methods=["POST"]),
    Route("/deals/{deal_id:int}", deals.change_deal, methods=["POST"]),
    Route("/alerts", alerts.alerts_page),
    Route("/alerts", alerts.change_alerts, methods=["POST"]),
    Route("/settings", admin.settings_page),
    Route("/settings/sites", admin.change_site, methods=["POST"]),
    Route("/settings/users", admin.change_user, methods=["POST"]),
    Route("/settings/tokens", admin.revoke_any_token, methods=["POST"]),
    Route("/settings/ipdata", admin.update_ipdata, methods=["POST"]),
    Route("/privacy", privacy.privacy_page),
    Route("/privacy/erase", privacy.erase, methods=["POST"]),
    Route("/privacy/export", privacy.export),
    Route("/account", account.account, methods=["GET", "POST"]),
    Route("/api/docs", api_docs),
]
PUBLIC = [
    Route("/login", account.login, methods=["GET", "POST"]),
    Route("/logout", account.logout, methods=["POST"]),
    Mount("/static", StaticFiles(directory=STATIC), name="static"),
    # Swagger UI 5 as the fastapi-offline package ships it: the docs need no CDN.
    Mount("/api/docs/static", StaticFiles(directory=SWAGGER_UI)),
    Route("/js/spoor.js", tracker_script),
    Route("/api/collect", collect.spoor_collect, methods=["POST"]),
    Route("/api/event", collect.plausible_event, methods=["POST"]),
    Route("/api/send", collect.umami_send, methods=["POST"]),
    Route("/matomo.php", collect.matomo_track, methods=["GET", "POST"]),
    Route("/piwik.php", collect.matomo_track, methods=["GET", "POST"]),
    Route("/healthz", ops.healthz),
    Route("/metrics", ops.metrics),  # its own check: a bearer token, or this machine only
    Route("/calendar/{secret:str}.ics", hunt.calendar_feed),
    Route("/opt-out", optout.opt_out_page),  # visitors refuse tracking here (privacy)
    Route("/opt-out", optout.change_opt_out, methods=["POST"]),
]
TRACKING = ("/api/collect", "/api/event", "/api/send", "/matomo.php", "/piwik.php", "/js/")


class SecurityHeaders:
    """Headers that keep pages from being framed, sniffed or made to run foreign scripts, from
    sharing a browsing context with other sites' windows, from using device features, and
    (behind https) from ever being fetched over plain http again.

    The tracking endpoints and the tracker script are left alone: tracked sites on other
    origins call them, under the CORS headers they send (and their POSTs skip middleware)."""

    HEADERS = (
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"same-origin"),
        # window.opener links to other sites are cut both ways (tab-nabbing, XS-Leaks).
        (b"cross-origin-opener-policy", b"same-origin"),
        # No page needs a camera, a microphone, the location, payments or USB.
        (
            b"permissions-policy",
            b"accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
            b"microphone=(), payment=(), usb=()",
        ),
    )
    CSP = (
        b"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        b"img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    )
    # A year, without includeSubDomains: Spoor's host name says nothing about its siblings.
    HSTS = (b"strict-transport-security", b"max-age=31536000")

    def __init__(self, app: ASGIApp, https: bool = False) -> None:
        self.app = app
        self.headers = (*self.HEADERS, self.HSTS) if https else self.HEADERS

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path.startswith(TRACKING):
            await self.app(scope, receive, send)
            return
        # Swagger UI starts itself with an inline script.
        strict = not path.startswith("/api/docs")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", []), *self.headers]
                if strict:
                    headers.append((b"content-security-policy", self.CSP))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def http_error(request: Request, exc: Exception) -> Response:
    """Errors as a page for people and as JSON for scripts; never a stack trace."""
    assert isinstance(exc, HTTPException)
    if request.url.path.startswith(("/api/", *TRACKING)) or "html" not in request.headers.get(
        "accept", ""
    ):
        return JSONResponse({"error": exc.detail}, exc.status_code, headers=exc.headers)
    heading = {403: "Not allowed", 404: "Not found", 400: "Cannot do that"}.get(
        exc.status_code, "Something went wrong"
    )
    return page(request, "error.html", exc.status_code, heading=heading, message=exc.detail)


class Spoor:
    """Starlette, except for POSTs to the JSON collection endpoints, which go straight to
    them: Starlette's middleware and routing would cost about as much as all the endpoint
    does. They answer as they would behind the CORS middleware."""

    def __init__(self, app: Starlette) -> None:
        self.app = app
        self.state = app.state
        self.routes = app.routes
        self.fast = {
            route.path: route.endpoint
            for route in app.routes
            if isinstance(route, Route) and isinstance(route.endpoint, collect.JsonEndpoint)
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            endpoint = self.fast.get(_route_path(scope))
            if endpoint is not None:
                await endpoint.answer(self.state.collector, scope, receive, send, cors=True)
                return
        await self.app(scope, receive, send)


def _route_path(scope: Scope) -> str:
    """The path as Starlette's router matches it: without the root path, if any."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root) and path[len(root) : len(root) + 1] == "/":
        return path[len(root) :]
    return path


def create_app(settings: Settings) -> Spoor:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        engine = open_database(settings)
        live = LiveIngest(settings, LiveResolver)  # the consumer process builds its own
        live.start()
        alerts = AlertWatcher(engine, settings, backoff=settings.alert_retry_seconds)
        alerts.start()
        app.state.alerts = alerts
        app.state.live = live
        app.state.engine = engine
        app.state.collector = collect.Collector(settings, engine, live)
        app.state.metrics = metrics.registry(
            engine, settings.data_dir / "spool", live, app.state.collector.refused
        )
        api.state.engine = engine
        try:
            yield
        finally:
            live.stop()  # everything acknowledged is stored before the process ends
            alerts.stop()
            engine.dispose()

    # Tracking requests come from the tracked sites' pages, on other origins.
    cors = Middleware(
        CORSMiddleware,
        allow_origins=["*"],
        allow_methods=["GET", "POST"],
        allow_headers=["content-type"],
        max_age=86400,
    )
    sessions = Middleware(
        SessionMiddleware,
        secret_key=secret_key(settings),
        session_cookie="spoor_session",
        max_age=SESSION_DAYS * 86400,
        same_site="lax",
        https_only=settings.public_url.startswith("https://"),
    )
    api = create_api()
    app = Starlette(
        routes=[*PUBLIC, *PAGES, Mount("/api/v1", api)],
        lifespan=lifespan,
        middleware=[
            Middleware(SecurityHeaders, https=settings.public_url.startswith("https://")),
            cors,
            sessions,
        ],
        exception_handlers={HTTPException: http_error},
    )
    app.state.settings = api.state.settings = settings
    app.state.login_limiter = LoginLimiter(settings.login_attempts)
    app.state.ip_update = admin.IpUpdate()
    return Spoor(app)
