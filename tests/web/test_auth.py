"""Security of the web app: who may reach what, CSRF, sessions, tokens, sign-in limits."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from sqlalchemy import select
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from spoor.db.schema import api_tokens
from spoor.users import Role
from spoor.web.app import PAGES, PUBLIC, create_app
from tests.world import PASSWORD, World, csrf_of, sign_in

# Everything a person reaches without signing in; the test below proves the rest is closed.
OPEN_PATHS = {
    "/login", "/logout", "/static", "/api/docs/static", "/js/spoor.js", "/api/collect",
    "/api/event", "/api/send", "/matomo.php", "/piwik.php", "/healthz",
    "/calendar/{secret:str}.ics",  # the secret in the address is the credential
    "/metrics",  # its own check: a bearer token, or this machine only (tests/ops)
    "/opt-out",  # visitors refuse tracking (tests/privacy)
}  # fmt: skip
API_GETS = ["/api/v1/me", "/api/v1/sites", "/api/v1/openapi.json", "/api/v1/ipdata",
            "/api/v1/users", "/api/v1/sites/www.example.com/overview",
            "/api/v1/sites/www.example.com/companies",
            "/api/v1/sites/www.example.com/companies/1", "/api/v1/rules",
            "/api/v1/sites/www.example.com/leads", "/api/v1/sites/www.example.com/leads/1"]  # fmt: skip


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def page_routes() -> list[tuple[str, str]]:
    return [
        (m, concrete(r.path))
        for r in PAGES
        if isinstance(r, Route)
        for m in sorted(r.methods or ())
    ]


def test_only_the_listed_routes_are_public(world: World) -> None:
    app = create_app(world.settings)
    public = {r.path for r in PUBLIC}
    assert public == OPEN_PATHS
    covered = {r.path for r in PAGES} | public | {"/api/v1"}
    assert {r.path for r in app.routes if isinstance(r, Route | Mount)} == covered


@pytest.mark.parametrize(("method", "path"), page_routes())
def test_every_page_needs_a_signed_in_user(world: World, method: str, path: str) -> None:
    with world.client() as client:
        answer = client.request(method, path, data={"x": "1"} if method == "POST" else None)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login?next=")


def test_every_api_route_needs_a_token_or_a_session(world: World) -> None:
    with world.client() as client:
        for path in API_GETS:
            assert client.get(path).status_code == 401, path
            bad = client.get(path, headers={"authorization": "Bearer spoor_not-a-token"})
            assert bad.status_code == 401, path
        post = client.post("/api/v1/organizations/1/corrections", json={"action": "hide"})
        assert post.status_code == 401


@pytest.mark.parametrize(("method", "path"), [p for p in page_routes() if p[0] == "POST"])
def test_every_form_is_csrf_checked(world: World, method: str, path: str) -> None:
    with world.client() as client:
        sign_in(client, "admin@example.com")
        answer = client.post(path, data={"action": "add", "csrf_token": "forged"})
        assert answer.status_code == 403, path
        missing = client.post(path, data={"action": "add"})
        assert missing.status_code == 403, path


def test_sign_in_and_logout_are_csrf_checked(world: World) -> None:
    with world.client() as client:
        client.get("/login")
        forged = client.post(
            "/login", data={"email": "admin@example.com", "password": PASSWORD, "csrf_token": "x"}
        )
        assert forged.status_code == 403
        sign_in(client, "admin@example.com")
        assert client.post("/logout").status_code == 403
        assert client.get("/").status_code == 200  # still signed in
        token = csrf_of(client.get("/").text)
        assert client.post("/logout", data={"csrf_token": token}).status_code == 303
        assert client.get("/").status_code == 303


def test_a_rep_cannot_reach_admin_pages_or_routes(world: World) -> None:
    admin_paths = [p for p in page_routes() if p[1].startswith("/settings")]
    assert admin_paths
    with world.client() as client:
        sign_in(client, "rep@example.com")
        token = csrf_of(client.get("/").text)
        for method, path in admin_paths:
            data = {"csrf_token": token, "action": "add", "email": "x@example.com"}
            answer = client.request(method, path, data=data if method == "POST" else None)
            assert answer.status_code == 403, path
        fix = client.post("/companies/1/corrections", data={"csrf_token": token, "action": "hide"})
        assert fix.status_code == 403
        assert client.get("/api/v1/users").status_code == 403
        assert "Settings" not in client.get("/").text


def test_session_cookie_is_httponly_and_samesite(world: World) -> None:
    with world.client() as client:
        cookie = client.get("/login").headers["set-cookie"]
    assert "httponly" in cookie.lower()
    assert "samesite=lax" in cookie.lower()
    assert "secure" not in cookie.lower()


def test_the_cookie_is_secure_behind_tls(world: World) -> None:
    secure = replace(world.settings, public_url="https://spoor.example.com")
    with TestClient(create_app(secure), base_url="https://testserver") as client:
        cookie = client.get("/login").headers["set-cookie"]
    assert "secure" in cookie.lower()


def test_failed_sign_ins_are_limited(world: World) -> None:
    with world.client() as client:
        token = csrf_of(client.get("/login").text)
        form = {"email": "admin@example.com", "password": "wrong password!", "csrf_token": token}
        statuses = [client.post("/login", data=form).status_code for _ in range(6)]
        assert statuses == [401] * 5 + [429]
        right = {**form, "password": PASSWORD}
        limited = client.post("/login", data=right)
        assert limited.status_code == 429
        assert "Too many failed sign-ins" in limited.text


def test_a_wrong_password_and_an_unknown_address_look_alike(world: World) -> None:
    with world.client() as client:
        token = csrf_of(client.get("/login").text)
        wrong = client.post(
            "/login", data={"email": "admin@example.com", "password": "x" * 12, "csrf_token": token}
        )
        unknown = client.post(
            "/login",
            data={"email": "nobody@example.com", "password": "x" * 12, "csrf_token": token},
        )
    assert wrong.status_code == unknown.status_code == 401
    assert "do not match" in wrong.text
    assert "do not match" in unknown.text


def test_sign_in_never_redirects_to_another_site(world: World) -> None:
    with world.client() as client:
        token = csrf_of(client.get("/login").text)
        for target in ("https://evil.example/", "//evil.example/", "javascript:alert(1)"):
            answer = client.post(
                "/login",
                data={"email": "rep@example.com", "password": PASSWORD, "csrf_token": token,
                      "next": target},
            )  # fmt: skip
            assert answer.headers["location"] == "/", target
            token = csrf_of(client.get("/account").text)


def test_a_password_change_signs_out_other_sessions(world: World) -> None:
    with world.client() as first:
        # A second browser on the same server: its own cookies, the same running app (one
        # server per data directory: its live consumer owns the spool).
        second = TestClient(first.app, client=("127.0.0.1", 50001), follow_redirects=False)
        sign_in(first, "manager@example.com")
        sign_in(second, "manager@example.com")
        token = csrf_of(first.get("/account").text)
        new = "another long password"
        answer = first.post(
            "/account",
            data={"csrf_token": token, "action": "password", "current": PASSWORD, "new": new,
                  "repeat": new},
        )  # fmt: skip
        assert answer.status_code == 200
        assert "Password changed" in answer.text
        assert first.get("/").status_code == 200
        assert second.get("/").status_code == 303
        second.cookies.clear()
        sign_in(second, "manager@example.com", new)


def test_api_tokens_are_shown_once_stored_hashed_and_revocable(world: World) -> None:
    with world.client() as client:
        sign_in(client, "rep@example.com")
        token = csrf_of(client.get("/account").text)
        made = client.post("/account", data={"csrf_token": token, "action": "token", "name": "CRM"})
        secret = re.search(r'<code id="new-token">([^<]+)</code>', made.text)
        assert secret
        bearer = {"authorization": f"Bearer {secret.group(1)}"}
    with world.engine.connect() as conn:
        stored = conn.execute(select(api_tokens)).one()
    assert secret.group(1).encode() not in stored.token_hash
    assert len(stored.token_hash) == 32
    with world.client() as api:
        me = api.get("/api/v1/me", headers=bearer)
        assert me.status_code == 200
        assert me.json()["role"] == Role.REP.value
        assert api.get("/api/v1/users", headers=bearer).status_code == 403
    with world.client() as client:
        sign_in(client, "rep@example.com")
        token = csrf_of(client.get("/account").text)
        client.post(
            "/account", data={"csrf_token": token, "action": "revoke", "token_id": stored.id}
        )
    with world.client() as api:
        assert api.get("/api/v1/me", headers=bearer).status_code == 401


def test_api_with_a_session_needs_the_csrf_header_for_changes(world: World) -> None:
    with world.client() as client:
        sign_in(client, "manager@example.com")
        assert client.get("/api/v1/me").status_code == 200
        body = {"action": "hide"}
        assert client.post("/api/v1/organizations/1/corrections", json=body).status_code == 403
        token = csrf_of(client.get("/account").text)
        answer = client.post(
            "/api/v1/organizations/1/corrections", json=body, headers={"x-csrf-token": token}
        )
        assert answer.status_code == 400  # past the guard: organization 1 does not exist
        assert "no organization" in answer.json()["detail"]


def test_pages_carry_security_headers(world: World) -> None:
    with world.client() as client:
        answer = client.get("/login")
        tracking = [
            client.get("/js/spoor.js", headers={"origin": "https://www.example.com"}),
            client.options("/api/event", headers={"origin": "https://www.example.com",
                                                  "access-control-request-method": "POST"}),
            client.get("/matomo.php?idsite=1&rec=1", headers={"origin": "https://a.example"}),
        ]  # fmt: skip
    assert answer.headers["x-frame-options"] == "DENY"
    csp = answer.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["referrer-policy"] == "same-origin"
    assert answer.headers["cross-origin-opener-policy"] == "same-origin"
    assert "camera=()" in answer.headers["permissions-policy"]
    assert "geolocation=()" in answer.headers["permissions-policy"]
    assert "strict-transport-security" not in answer.headers  # http: HSTS would be ignored
    # Tracked sites on other origins still load the script and call the endpoints.
    for reply in tracking:
        assert reply.headers["access-control-allow-origin"] == "*", reply.url
        assert "cross-origin-opener-policy" not in reply.headers
        assert "content-security-policy" not in reply.headers


def test_behind_https_pages_ask_browsers_to_stay_on_https(world: World) -> None:
    world.settings = replace(world.settings, public_url="https://spoor.example.com")
    with world.client() as client:
        for path in ("/login", "/healthz", "/static/app.css"):
            answer = client.get(path)
            assert answer.headers["strict-transport-security"] == "max-age=31536000", path
