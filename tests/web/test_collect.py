"""The collection endpoints through a real ASGI stack, storing into SQLite and PostgreSQL."""

from __future__ import annotations

import ipaddress
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select
from starlette.datastructures import Headers
from starlette.testclient import TestClient

from spoor.db.schema import hits, visits
from spoor.settings import Settings
from spoor.sites import add_site
from spoor.web.app import create_app

CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36"
HEADERS = {"user-agent": CHROME, "content-type": "application/json"}


@pytest.fixture
def site_settings(engine: Engine, settings: Settings) -> Settings:
    with engine.begin() as conn:
        add_site(conn, "www.example.com", "Europe/Amsterdam", 0)
        add_site(conn, "clearcode.cc", "UTC", 0)
    return Settings(
        data_dir=settings.data_dir,
        database_url=settings.database_url,
        tracking_token="s3cret",
        rate_limit=100_000,
    )


@pytest.fixture
def client(site_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(site_settings), client=("198.51.100.7", 50000)) as test_client:
        yield test_client


def stored(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        n_hits = conn.execute(select(func.count()).select_from(hits)).scalar_one()
        n_visits = conn.execute(select(func.count()).select_from(visits)).scalar_one()
    return int(n_hits), int(n_visits)


def test_every_source_is_stored(engine: Engine, site_settings: Settings) -> None:
    with TestClient(create_app(site_settings), client=("198.51.100.7", 5)) as client:
        event = {"n": "pageview", "u": "https://www.example.com/pricing", "d": "www.example.com"}
        answer = client.post("/api/event", content=json.dumps(event), headers=HEADERS)
        assert (answer.status_code, answer.json()) == (202, {})
        native = {"s": "www.example.com", "u": "https://www.example.com/demo", "e": "form"}
        assert (
            client.post("/api/collect", content=json.dumps(native), headers=HEADERS).status_code
            == 202
        )
        umami = {
            "type": "event",
            "payload": {
                "website": "www.example.com",
                "hostname": "www.example.com",
                "url": "/docs",
            },
        }
        assert (
            client.post("/api/send", content=json.dumps(umami), headers=HEADERS).status_code == 200
        )
        gif = client.get(
            "/matomo.php",
            params={"idsite": "www.example.com", "rec": "1", "url": "https://www.example.com/"},
            headers=HEADERS,
        )
        assert (gif.status_code, gif.headers["content-type"]) == (200, "image/gif")
        quiet = client.get(
            "/piwik.php",
            params={
                "idsite": "www.example.com",
                "rec": "1",
                "url": "https://www.example.com/x",
                "send_image": "0",
            },
            headers=HEADERS,
        )
        assert quiet.status_code == 204
    # Leaving the client shuts the app down: everything accepted is stored by then.
    assert stored(engine) == (5, 1)


def test_matomo_bulk_as_the_log_importer_sends_it(engine: Engine, site_settings: Settings) -> None:
    requests = [
        "?idsite=www.example.com&rec=1&url=https%3A%2F%2Fwww.example.com%2Fa&cip=198.51.100.9&cdt=1772445600",
        {"idsite": "www.example.com", "rec": "1", "url": "https://www.example.com/b", "cip": "198.51.100.9", "cdt": "1772445660"},
        {"idsite": "www.example.com", "rec": "1", "url": "javascript:alert(1)"},
        "not a request",
    ]  # fmt: skip
    body = json.dumps({"requests": requests, "token_auth": "s3cret"})
    with TestClient(create_app(site_settings)) as client:
        answer = client.post("/matomo.php", content=body, headers=HEADERS)
        assert answer.status_code == 200
        assert answer.json() == {
            "status": "success",
            "tracked": 2,
            "invalid": 2,
            "invalid_indices": [2, 3],
        }
        wrong = json.dumps({"requests": requests[:1], "token_auth": "guess"})
        refused = client.post("/matomo.php", content=wrong, headers=HEADERS).json()
        assert refused["invalid_indices"] == [0]
    with engine.connect() as conn:
        times = sorted(conn.execute(select(hits.c.ts)).scalars())
    assert times == [1772445600, 1772445660]  # cdt honoured with the token


def test_matomo_importer_test_log_replays(
    engine: Engine, site_settings: Settings, shared_data: Path
) -> None:
    """Real 2013 piwik.php hits from Matomo's importer fixtures, replayed as requests."""
    log = shared_data / "logs/formats/matomo-log-analytics/logs_to_tests.log"
    paths = re.findall(r'"GET (/piwik\.php\?[^ ]+) HTTP', log.read_text())
    assert paths
    with TestClient(create_app(site_settings), client=("198.51.100.8", 5)) as client:
        for path in paths:
            path = path.replace("idsite=1", "idsite=clearcode.cc")
            answer = client.get(path, headers=HEADERS)
            assert answer.status_code == 200, answer.text
    assert stored(engine)[0] == len(paths)


@pytest.mark.parametrize(
    ("path", "body", "content_type", "status", "reason"),
    [
        ("/api/event", {"n": "pageview", "u": "https://www.example.com/", "d": "nope.example"}, "application/json", 404, "unknown site"),
        ("/api/event", {"n": "pageview", "u": "https://evil.example/", "d": "www.example.com"}, "application/json", 403, "not allowed"),
        ("/api/event", {"n": "pageview", "u": "data:text/html,x", "d": "www.example.com"}, "application/json", 400, "data: URL"),
        ("/api/event", {"n": "pageview", "u": "https://www.example.com/" + "a" * 2100, "d": "www.example.com"}, "application/json", 400, "2000 bytes"),
        ("/api/event", {"n": "pageview", "d": "www.example.com"}, "application/json", 400, "missing"),
        ("/api/event", {"n": "pageview", "u": "https://www.example.com/", "d": "www.example.com"}, "image/png", 415, "content type"),
        ("/api/collect", "[1, 2", "application/json", 400, "not JSON"),
        ("/api/send", {"payload": "x"}, "application/json", 400, "payload"),
        ("/api/collect", {"s": "www.example.com", "u": "https://www.example.com/" + "x" * 70000}, "application/json", 413, "larger"),
    ],
)  # fmt: skip
def test_bad_requests_get_a_4xx_with_a_reason(
    client: TestClient, path: str, body: object, content_type: str, status: int, reason: str
) -> None:
    content = body if isinstance(body, str) else json.dumps(body)
    answer = client.post(path, content=content, headers={**HEADERS, "content-type": content_type})
    assert answer.status_code == status, answer.text
    assert reason in answer.json()["error"]


def test_cip_without_a_token_is_refused(client: TestClient) -> None:
    params = {
        "idsite": "www.example.com",
        "rec": "1",
        "url": "https://www.example.com/",
        "cip": "1.2.3.4",
    }
    answer = client.get("/matomo.php", params=params, headers=HEADERS)
    assert answer.status_code == 400
    assert "token_auth" in answer.json()["error"]


def test_do_not_track_and_gpc_are_honoured(engine: Engine, site_settings: Settings) -> None:
    event = json.dumps({"n": "pageview", "u": "https://www.example.com/", "d": "www.example.com"})
    with TestClient(create_app(site_settings), client=("198.51.100.9", 5)) as client:
        for header in ("dnt", "sec-gpc"):
            answer = client.post("/api/event", content=event, headers={**HEADERS, header: "1"})
            assert answer.status_code == 202
    assert stored(engine) == (0, 0)


def test_rate_limit_answers_429(site_settings: Settings) -> None:
    limited = Settings(
        data_dir=site_settings.data_dir, database_url=site_settings.database_url, rate_limit=3
    )
    event = json.dumps({"n": "pageview", "u": "https://www.example.com/", "d": "www.example.com"})
    with TestClient(create_app(limited)) as client:
        codes = [
            client.post("/api/event", content=event, headers=HEADERS).status_code for _ in range(5)
        ]
    assert codes[:3] == [202, 202, 202]
    assert codes[3:] == [429, 429]


junk = st.one_of(
    st.binary(max_size=300),
    st.dictionaries(st.text(max_size=5), st.one_of(st.none(), st.integers(), st.text(max_size=50), st.lists(st.integers())), max_size=6).map(lambda d: json.dumps(d).encode()),
)  # fmt: skip


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    path=st.sampled_from(["/api/event", "/api/collect", "/api/send", "/matomo.php"]),
    body=junk,
    params=st.dictionaries(
        st.sampled_from(["idsite", "rec", "url", "cip", "cdt", "link", "e_c"]),
        st.text(max_size=30),
        max_size=5,
    ),
)
def test_no_input_produces_a_500(
    client: TestClient, path: str, body: bytes, params: dict[str, str]
) -> None:
    answer = client.post(path, content=body, params=params, headers=HEADERS)
    assert answer.status_code < 500, answer.text
    assert client.get("/matomo.php", params=params, headers=HEADERS).status_code < 500


def test_matomo_details_as_matomo_does(engine: Engine, site_settings: Settings) -> None:
    now = int(time.time())
    base = {"idsite": "www.example.com", "rec": "1", "url": "https://www.example.com/m"}
    with TestClient(create_app(site_settings), client=("198.51.100.7", 5)) as client:
        # A heartbeat ping records nothing; a recent cdt needs no token, an old one does.
        assert (
            client.get("/matomo.php", params={**base, "ping": "1"}, headers=HEADERS).status_code
            == 200
        )
        recent = client.get("/matomo.php", params={**base, "cdt": str(now - 600)}, headers=HEADERS)
        assert recent.status_code == 200
        old = client.get(
            "/matomo.php", params={**base, "cdt": str(now - 5 * 86400)}, headers=HEADERS
        )
        assert old.status_code == 400
        absurd = {**base, "cdt": "300000000000", "token_auth": "s3cret"}
        assert client.get("/matomo.php", params=absurd, headers=HEADERS).status_code == 400
        # matomo.js sends its bulk JSON with a form content type.
        bulk = json.dumps(
            {"requests": ["?idsite=www.example.com&rec=1&url=https%3A%2F%2Fwww.example.com%2Fbulk"]}
        )
        form = {**HEADERS, "content-type": "application/x-www-form-urlencoded; charset=UTF-8"}
        assert client.post("/matomo.php", content=bulk, headers=form).json()["tracked"] == 1
    with engine.connect() as conn:
        paths = sorted(conn.execute(select(hits.c.path)).scalars())
    assert paths == ["/bulk", "/m"]


def test_forwarded_for_is_read_from_every_header_line(site_settings: Settings) -> None:
    trusting = Settings(
        data_dir=site_settings.data_dir, database_url=site_settings.database_url,
        trusted_proxies=(ipaddress.ip_network("198.51.100.0/24"),),
    )  # fmt: skip
    app = create_app(trusting)
    with TestClient(app, client=("198.51.100.1", 5)) as client:
        headers = Headers(
            raw=[
                (b"x-forwarded-for", b"6.6.6.6"),
                (b"x-forwarded-for", b"203.0.113.9, 198.51.100.2"),
            ]
        )
        assert app.state.collector.client_ip("198.51.100.1", headers) == "203.0.113.9"
        assert client.get("/healthz").json()["ok"]


def test_cross_origin_answers_as_behind_the_cors_middleware(client: TestClient) -> None:
    event = json.dumps({"n": "pageview", "u": "https://www.example.com/", "d": "www.example.com"})
    origin = {**HEADERS, "origin": "https://www.example.com"}
    for path, body in (("/api/event", event), ("/api/event", "[1, 2"), ("/matomo.php", "")):
        answer = client.post(path, content=body, headers=origin)
        assert answer.headers["access-control-allow-origin"] == "*", path
        assert answer.headers["vary"] == "Origin", path
    same_site = client.post("/api/event", content=event, headers=HEADERS)
    assert "access-control-allow-origin" not in same_site.headers
    assert same_site.headers["vary"] == "Origin"
    preflight = client.options(
        "/api/event",
        headers={"origin": "https://www.example.com", "access-control-request-method": "POST"},
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert client.get("/api/event").status_code == 405
    assert (
        client.post("/api/collect", content="{}", headers=HEADERS).headers.get("content-type")
        == "application/json"
    )
