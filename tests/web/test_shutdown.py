"""SIGTERM in the middle of traffic loses no acknowledged hit (a real `spoor serve`)."""

from __future__ import annotations

import json
import signal

import httpx
from sqlalchemy import Engine, func, select

from spoor.db.schema import hits
from spoor.settings import Settings
from spoor.sites import add_site

from .servers import free_port, serve, stop

CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36"


def test_sigterm_mid_stream_loses_no_acknowledged_hit(engine: Engine, settings: Settings) -> None:
    with engine.begin() as conn:
        add_site(conn, "www.example.com", "UTC", 0)
    port = free_port()
    server = serve(settings, port)
    acknowledged = 0
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
        for n in range(5000):
            body = {"n": "pageview", "u": f"https://www.example.com/p{n}", "d": "www.example.com"}
            try:
                answer = client.post(
                    "/api/event",
                    content=json.dumps(body),
                    headers={"user-agent": CHROME, "content-type": "application/json"},
                )
            except httpx.HTTPError:
                break  # the server has gone
            if answer.status_code == 202:
                acknowledged += 1
            if n == 300:
                server.send_signal(signal.SIGTERM)
    # uvicorn shuts down gracefully, then re-raises the signal: the exit status says SIGTERM.
    assert server.wait(timeout=60) in (0, -signal.SIGTERM)
    assert acknowledged > 300
    assert count(engine) == acknowledged  # the graceful shutdown stored everything
    # A restart replays whatever the spool still holds, then shuts down again.
    stop(serve(settings, free_port()))
    assert count(engine) == acknowledged


def count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(hits)).scalar_one())
