"""/healthz and /metrics through the real app: the live path, drops, imports and alerts
as Prometheus reads them, and who may read them."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import insert

from spoor.db.engine import make_engine
from spoor.db.schema import deliveries, imports
from spoor.leads.alerts import add_channel, add_rule
from spoor.sites import get_site
from tests.world import SITE, World, settle, track

BOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample by name and labels, as Prometheus's own parser reads the page."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_healthz_pings_the_database(world: World) -> None:
    with world.client() as client:
        answer = client.get("/healthz")
        assert answer.status_code == 200
        assert answer.json() | {"pending": 0} == {
            "ok": True, "database": "ok", "pending": 0, "stored": 0, "rejected": 0, "error": None,
        }  # fmt: skip
        healthy = client.app.state.engine
        # A real engine whose server is not there (nothing listens on port 9).
        client.app.state.engine = make_engine("postgresql+psycopg://spoor@127.0.0.1:9/spoor")
        down = client.get("/healthz")
        client.app.state.engine.dispose()
        client.app.state.engine = healthy
    assert down.status_code == 503
    assert down.json()["ok"] is False
    assert "OperationalError" in down.json()["database"]


def test_metrics_show_the_live_path_drops_imports_and_alert_latency(world: World) -> None:
    with world.engine.begin() as conn:
        site = get_site(conn, SITE)
        assert site is not None
        channel = add_channel(conn, "hook", "webhook", "https://hooks.example.com/spoor", 0)
        rule = add_rule(conn, "hands", "hand_raise", channel.id, 0)
        for n, seconds in enumerate((0.5, 1.0, 4.0)):
            conn.execute(
                insert(deliveries).values(
                    rule_id=rule.id, channel_id=channel.id, site_id=site.id, org_id=1,
                    payload="{}", status="sent", attempts="[]", event_at=1000.0 + n,
                    next_try_at=0.0, sent_at=1000.0 + n + seconds, created_at=1000.0,
                )
            )  # fmt: skip
        conn.execute(
            insert(imports).values(
                site_id=site.id, fingerprint="f" * 64, name="access.log.1", format="combined",
                lines_done=120_000, hits=90_000, malformed=3, complete=False, started_at=1,
                updated_at=2,
            )
        )  # fmt: skip
    with world.client() as client:
        for n in range(5):
            track(client, "198.51.100.10", f"/page/{n}")
        track(client, "198.51.100.11", "/pricing", ua=BOT)
        unknown = client.post(
            "/api/collect", content=json.dumps({"s": "nope.example", "u": "https://nope.example/"})
        )
        assert unknown.status_code == 404
        settle(client)
        answer = client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    found = samples(answer.text)
    assert found[("spoor_live_hits_accepted_total", ())] == 6
    assert found[("spoor_live_hits_stored_total", ())] == 5  # the bot is dropped
    assert found[("spoor_hits_dropped_total", (("reason", "bot"), ("site", SITE)))] == 1
    assert found[("spoor_collect_requests_refused_total", (("status", "404"),))] == 1
    assert found[("spoor_live_hits_refused_total", (("reason", "backlog"),))] == 0
    assert found[("spoor_live_pending_hits", ())] == 0
    assert found[("spoor_live_consumer_up", ())] == 1
    assert found[("spoor_database_up", ())] == 1
    assert found[("spoor_ip_data_age_seconds", ())] > 0
    labels = (("file", "access.log.1"), ("site", SITE))
    assert found[("spoor_import_lines_done", labels)] == 120_000
    assert found[("spoor_imported_hits_total", ())] == 90_000
    assert found[("spoor_alert_latency_seconds", (("quantile", "0.5"),))] == pytest.approx(1.0)
    assert found[("spoor_alert_latency_seconds_count", ())] == 3
    assert found[("spoor_alert_latency_seconds_sum", ())] == pytest.approx(5.5)
    assert found[("spoor_alert_deliveries", (("status", "sent"),))] == 3
    assert found[("spoor_server_process_resident_memory_bytes", ())] > 0


def test_metrics_need_the_token_or_a_local_request_no_proxy_forwarded(world: World) -> None:
    with world.client() as client:
        assert client.get("/metrics").status_code == 200
        forwarded = client.get("/metrics", headers={"x-forwarded-for": "203.0.113.9"})
        assert forwarded.status_code == 403
        assert "SPOOR_METRICS_TOKEN" in forwarded.json()["error"]
    with world.client(ip="203.0.113.9") as remote:
        assert remote.get("/metrics").status_code == 403

    world.settings = replace(world.settings, metrics_token="s3cret-token-for-prometheus")
    with world.client(ip="203.0.113.9") as remote:
        assert remote.get("/metrics").status_code == 401
        wrong = remote.get("/metrics", headers={"authorization": "Bearer nope"})
        assert wrong.status_code == 401
        assert wrong.headers["www-authenticate"].startswith("Bearer")
        right = remote.get(
            "/metrics", headers={"authorization": "Bearer s3cret-token-for-prometheus"}
        )
        assert right.status_code == 200
        assert "spoor_info" in right.text
