"""The demo's live replay against a real `spoor serve`."""

from __future__ import annotations

from sqlalchemy import Engine, func, select

from spoor.db.schema import hits
from spoor.demo.live import replay
from spoor.demo.simulator import demo_company, write_log
from spoor.settings import Settings
from spoor.sites import add_site
from tests.web.servers import free_port, serve, stop


def test_replayed_traffic_is_stored(engine: Engine, settings: Settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    company = demo_company()
    with engine.begin() as conn:
        add_site(conn, company.domain, company.timezone, 0)
    log = tmp_path / "access.log"
    write_log(log, lines=400, days=3, seed=3)
    port = free_port()
    server = serve(settings, port, {"SPOOR_TRUSTED_PROXIES": "127.0.0.1"})
    try:
        acknowledged = replay(f"http://127.0.0.1:{port}", company.domain, log.open(), limit=200)
    finally:
        stop(server)
    assert acknowledged == 200
    with engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(hits)).scalar_one()
    # Bots, assets and errors in the simulated log are dropped by the pipeline, as live.
    assert 0 < stored < acknowledged
