"""/healthz and /metrics: for load balancers, service managers and Prometheus.

/healthz needs no sign-in: liveness of the live consumer and a database ping, as JSON.
/metrics takes `Authorization: Bearer SPOOR_METRICS_TOKEN`; without a token set it
answers only requests from this machine that no proxy forwarded (a reverse proxy on the
same host would otherwise make every visitor look local).
"""

from __future__ import annotations

import asyncio
import hmac
from ipaddress import ip_address

from sqlalchemy import Engine, text
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from spoor.ingest.live import LiveIngest
from spoor.ops import metrics as metrics_module
from spoor.settings import Settings

PING_SECONDS = 5.0
FORWARDED = ("x-forwarded-for", "forwarded", "x-real-ip")


def _ping(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


async def healthz(request: Request) -> JSONResponse:
    live: LiveIngest = request.app.state.live
    error = live.error
    if not live.alive():
        error = "the consumer has stopped"
    try:
        await asyncio.wait_for(run_in_threadpool(_ping, request.app.state.engine), PING_SECONDS)
        database = "ok"
    except TimeoutError:
        database = f"no answer within {PING_SECONDS:.0f} s"
    except Exception as exc:  # any driver error: the body says which, the status says 503
        database = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    healthy = error is None and database == "ok"
    return JSONResponse(
        {
            "ok": healthy,
            "database": database,
            "pending": live.pending(),
            "stored": live.stored,
            "rejected": live.rejected,
            "error": error,
        },
        200 if healthy else 503,
    )


def metrics_refusal(settings: Settings, request: Request) -> Response | None:
    """Why this request may not read the metrics, or None when it may."""
    token = settings.metrics_token
    if token:
        sent = request.headers.get("authorization", "")
        if hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
            return None
        return JSONResponse(
            {"error": "send Authorization: Bearer with SPOOR_METRICS_TOKEN"},
            401,
            headers={"WWW-Authenticate": 'Bearer realm="spoor metrics"'},
        )
    peer = request.client.host if request.client else ""
    if _loopback(peer) and not any(h in request.headers for h in FORWARDED):
        return None
    return JSONResponse(
        {"error": "metrics are served to this machine only; set SPOOR_METRICS_TOKEN"}, 403
    )


async def metrics(request: Request) -> Response:
    refusal = metrics_refusal(request.app.state.settings, request)
    if refusal is not None:
        return refusal
    body = await run_in_threadpool(metrics_module.exposition, request.app.state.metrics)
    return Response(body, media_type=metrics_module.CONTENT_TYPE)


def _loopback(host: str) -> bool:
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False
