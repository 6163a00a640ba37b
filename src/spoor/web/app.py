"""The ASGI application: the whole route table in one list; the lifespan owns the engine
and the live ingest."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from spoor.db.engine import open_database
from spoor.identify.resolver import LiveResolver
from spoor.ingest.live import LiveIngest
from spoor.settings import Settings
from spoor.web import collect


async def healthz(request: Request) -> JSONResponse:
    live: LiveIngest = request.app.state.live
    error = live.error
    if not live.alive():
        error = "the consumer has stopped"
    return JSONResponse(
        {
            "ok": error is None,
            "pending": live.pending(),
            "stored": live.stored,
            "rejected": live.rejected,
            "error": error,
        },
        200 if error is None else 503,
    )


TRACKER = Path(__file__).with_name("static") / "spoor.js"


async def tracker_script(request: Request) -> Response:
    if not TRACKER.exists():
        return JSONResponse({"error": "the tracker script is not built"}, 404)
    return FileResponse(
        TRACKER,
        media_type="application/javascript",
        headers={"Cache-Control": "public, max-age=3600"},
    )


ROUTES = [
    Route("/js/spoor.js", tracker_script),
    Route("/api/collect", collect.spoor_collect, methods=["POST"]),
    Route("/api/event", collect.plausible_event, methods=["POST"]),
    Route("/api/send", collect.umami_send, methods=["POST"]),
    Route("/matomo.php", collect.matomo_track, methods=["GET", "POST"]),
    Route("/piwik.php", collect.matomo_track, methods=["GET", "POST"]),
    Route("/healthz", healthz),
]


class Spoor:
    """Starlette, except for POSTs to the JSON collection endpoints, which go straight to
    them: Starlette's middleware and routing would cost about as much as all the endpoint
    does. They answer as they would behind the CORS middleware."""

    def __init__(self, app: Starlette) -> None:
        self.app = app
        self.state = app.state
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
        app.state.live = live
        app.state.collector = collect.Collector(settings, engine, live)
        try:
            yield
        finally:
            live.stop()  # everything acknowledged is stored before the process ends
            engine.dispose()

    # Tracking requests come from the tracked sites' pages, on other origins.
    cors = Middleware(
        CORSMiddleware,
        allow_origins=["*"],
        allow_methods=["GET", "POST"],
        allow_headers=["content-type"],
        max_age=86400,
    )
    return Spoor(Starlette(routes=ROUTES, lifespan=lifespan, middleware=[cors]))
