"""The rollups kept at ingest equal the rollups computed from scratch, whatever the path the
hits took: a log import, an interrupted and resumed one, a re-import, live tracking."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from starlette.testclient import TestClient

from spoor.db.schema import rollup_days, rollup_orgs, rollup_pages
from spoor.identify import ipdb
from spoor.ingest.logimport import import_logs
from spoor.ingest.rollups import rebuild
from spoor.settings import Settings, parse_networks
from spoor.sites import add_site
from spoor.web.app import create_app

from .interrupt import import_interrupted

ELASTIC = "logs/real/apache-combined-2015-elastic.log"
CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36"


def snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as conn:
        return {
            table.name: sorted(tuple(row) for row in conn.execute(select(table)) if any(row[-3:]))
            for table in (rollup_days, rollup_orgs, rollup_pages)
        }


def assert_rollups_are_exact(engine: Engine) -> None:
    kept = snapshot(engine)
    with engine.begin() as conn:
        rebuild(conn)
    assert snapshot(engine) == kept
    assert kept["rollup_days"], "nothing was rolled up"


def test_import_resume_and_reimport_keep_exact_rollups(
    engine: Engine, settings: Settings, shared_data: Path
) -> None:
    small = Settings(
        data_dir=settings.data_dir, database_url=settings.database_url, import_batch=300
    )
    path = str(shared_data / ELASTIC)
    import_interrupted(engine, small, path, "x.example")
    import_logs(engine, small, [path], site="x.example")
    assert_rollups_are_exact(engine)
    # The same lines again, in another file: every hit is a duplicate and adds nothing.
    again = Path(settings.data_dir) / "again.log"
    again.parent.mkdir(parents=True, exist_ok=True)
    again.write_text(Path(path).read_text(errors="replace") + "\n")
    before = snapshot(engine)
    import_logs(engine, small, [str(again)], site="x.example")
    assert snapshot(engine) == before


def test_live_tracking_keeps_exact_rollups(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    (tmp_path / "asn.csv").write_text("198.51.100.0,198.51.100.255,64496,Brightwater B.V.\n")
    ipdb.import_dataset(engine, tmp_path / "asn.csv", 1, "csv", "asn")
    with engine.begin() as conn:
        add_site(conn, "www.example.com", "UTC", 0)
    web = Settings(
        data_dir=settings.data_dir, database_url=settings.database_url,
        trusted_proxies=parse_networks("127.0.0.1"), rate_limit=100_000,
    )  # fmt: skip
    with TestClient(create_app(web), client=("127.0.0.1", 5)) as client:
        for n in range(60):
            ip = f"198.51.100.{n % 7}" if n % 3 else f"203.0.113.{n % 5}"
            body = {"s": "www.example.com", "u": f"https://www.example.com/p{n % 4}",
                    "e": "pageview" if n % 10 else "signup"}  # fmt: skip
            answer = client.post(
                "/api/collect", content=json.dumps(body),
                headers={"user-agent": CHROME, "content-type": "application/json",
                         "x-forwarded-for": ip},
            )  # fmt: skip
            assert answer.status_code == 202
            if n % 20 == 19:  # several batches, so visits grow across them
                while client.get("/healthz").json()["pending"]:
                    pass
    assert_rollups_are_exact(engine)
    with engine.connect() as conn:
        org_days = conn.execute(select(rollup_orgs.c.visits)).scalars().all()
    assert sum(org_days) > 0
