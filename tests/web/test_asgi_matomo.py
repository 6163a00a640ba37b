"""A real Matomo client: a Starlette app with PyPI asgi-matomo pointed at Spoor."""

from __future__ import annotations

import time

from asgi_matomo import MatomoMiddleware
from sqlalchemy import Engine, select
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from spoor.db.schema import hits, sites
from spoor.settings import Settings
from spoor.sites import add_site

from .servers import free_port, serve, stop

CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36"


def test_asgi_matomo_middleware_is_tracked(engine: Engine, settings: Settings) -> None:
    with engine.begin() as conn:
        site = add_site(conn, "www.example.com", "UTC", 0)
        # The middleware builds the page URL from the server it runs on.
        conn.execute(sites.update().where(sites.c.id == site.id).values(hosts="testserver"))
    port = free_port()
    spoor = serve(settings, port, {"SPOOR_TRACKING_TOKEN": "s3cret"})
    try:

        async def hello(request: object) -> PlainTextResponse:
            return PlainTextResponse("hello")

        tracked = Starlette(
            routes=[Route("/hello", hello), Route("/pricing", hello)],
            middleware=[
                Middleware(
                    MatomoMiddleware,
                    matomo_url=f"http://127.0.0.1:{port}/matomo.php",
                    idsite=site.id,
                    access_token="s3cret",
                )
            ],
        )
        with TestClient(tracked) as client:
            for path in ("/hello", "/pricing"):
                headers = {"user-agent": CHROME, "x-forwarded-for": "198.51.100.20"}
                assert client.get(path, headers=headers).text == "hello"
        time.sleep(0.5)
    finally:
        stop(spoor)
    with engine.connect() as conn:
        paths = sorted(conn.execute(select(hits.c.path)).scalars())
    assert paths == ["/hello", "/pricing"]
