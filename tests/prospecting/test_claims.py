"""Claims: one owner at a time, even when twenty colleagues click at once."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, select

from spoor.db.schema import claim_history, lead_signals
from spoor.prospecting.claims import ClaimError, claim, get_claim, lapse, reassign, release, touch
from spoor.settings import Settings
from spoor.users import Role, add_user, create_token
from tests.web.servers import free_port, serve, stop
from tests.world import World, bearer_of, csrf_of, sign_in

PASSWORD = "a long enough password"


def test_twenty_parallel_claims_through_the_api_leave_one_owner(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    with engine.begin() as conn:
        tokens = []
        for n in range(20):
            user = add_user(conn, f"rep{n}@example.com", PASSWORD, Role.REP, 0)
            tokens.append(create_token(conn, user.id, "test", 0))
    port = free_port()
    server = serve(settings, port)
    try:

        def try_claim(token: str) -> httpx.Response:
            return httpx.post(
                f"http://127.0.0.1:{port}/api/v1/organizations/4242/claim",
                headers={"authorization": f"Bearer {token}"}, timeout=60,
            )  # fmt: skip

        with ThreadPoolExecutor(20) as pool:
            answers = list(pool.map(try_claim, tokens))
    finally:
        stop(server)
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] + [409] * 19
    winner = next(a for a in answers if a.status_code == 200).json()
    refusals = [a.json()["detail"] for a in answers if a.status_code == 409]
    assert all(r.startswith(f"already claimed by {winner['owner']} since ") for r in refusals)
    with engine.connect() as conn:
        held = get_claim(conn, 4242)
    assert held is not None
    assert held.user_id == winner["user_id"]


def test_release_reassign_and_lapse(engine: Engine) -> None:
    with engine.begin() as conn:
        ann = add_user(conn, "ann@example.com", PASSWORD, Role.REP, 0)
        bob = add_user(conn, "bob@example.com", PASSWORD, Role.REP, 0)
        boss = add_user(conn, "boss@example.com", PASSWORD, Role.MANAGER, 0)
        claim(conn, 1, ann, now=1000)
        assert claim(conn, 1, ann).user_id == ann.id  # claiming again is harmless
        with pytest.raises(ClaimError, match="only they or a manager"):
            release(conn, 1, bob)
        with pytest.raises(ClaimError, match="needs the manager role"):
            reassign(conn, 1, bob, by=bob)
        moved = reassign(conn, 1, bob, by=boss, now=2000)
        assert moved.user_id == bob.id
        release(conn, 1, bob, now=3000)
        assert get_claim(conn, 1) is None
        with pytest.raises(ClaimError, match="nobody holds"):
            release(conn, 1, bob)

        claim(conn, 2, ann, now=0)
        claim(conn, 3, bob, now=0)
        touch(conn, 3, now=10 * 86_400)  # Bob logged an activity on day 10
        ended = lapse(conn, now=15 * 86_400, days=14)
        assert [c.org_id for c in ended] == [2]
        assert get_claim(conn, 2) is None
        assert get_claim(conn, 3) is not None
        history = conn.execute(
            select(claim_history.c.org_id, claim_history.c.reason).order_by(claim_history.c.id)
        ).all()
    assert [tuple(h) for h in history] == [(1, "reassigned"), (1, "released"), (2, "lapsed")]


def test_claims_in_the_web_app(engine: Engine, settings: Settings) -> None:
    world = World(settings, engine)
    with engine.begin() as conn:
        add_user(conn, "rep@example.com", "correct horse battery", Role.REP, 0)
    with world.client() as client:
        sign_in(client, "rep@example.com")
        token = csrf_of(client.get("/account").text)
        answer = client.post("/leads/77/claim", data={"csrf_token": token, "action": "claim"})
        assert answer.status_code == 303
    with engine.connect() as conn:
        assert get_claim(conn, 77) is not None


def test_activities_keep_claims_alive_from_web_and_cli(visited: World) -> None:
    from typer.testing import CliRunner

    from spoor.cli import app
    from spoor.identify.corrections import find_org
    from spoor.prospecting.activities import history

    runner = CliRunner()
    env = {"SPOOR_DATA_DIR": str(visited.settings.data_dir),
           "SPOOR_DATABASE_URL": visited.settings.database_url}  # fmt: skip
    with visited.engine.connect() as conn:
        org = find_org(conn, "Brightwater Logistics B.V.").id
    mine = runner.invoke(app, ["claim", str(org), "--user", "rep@example.com"], env=env)
    assert mine.exit_code == 0, mine.output
    taken = runner.invoke(app, ["claim", str(org), "--user", "manager@example.com"], env=env)
    assert taken.exit_code == 2
    assert "already claimed by Rep" in taken.output
    logged = runner.invoke(
        app, ["log", "call", str(org), "--outcome", "voicemail", "--note", "left a message",
              "--user", "rep@example.com"], env=env,
    )  # fmt: skip
    assert logged.exit_code == 0, logged.output
    wrong = runner.invoke(app, ["log", "fax", str(org), "--user", "rep@example.com"], env=env)
    assert wrong.exit_code == 2
    assert "is not an activity" in wrong.output
    with visited.client() as client:
        sign_in(client, "rep@example.com")
        page = client.get(f"/leads/{org}")
        assert "Claimed by Rep since" in page.text
        assert "left a message" in page.text
        token = csrf_of(page.text)
        client.post(f"/leads/{org}/activities",
                    data={"csrf_token": token, "kind": "email", "outcome": "sent"})  # fmt: skip
        assert "Logged: email (sent)." in client.get(f"/leads/{org}").text
    with visited.engine.connect() as conn:
        kinds = [a.kind for a in history(conn, org)]
        held = get_claim(conn, org)
    assert kinds == ["email", "call"]
    assert held is not None
    assert held.last_activity_at is not None
    released = runner.invoke(app, ["release", str(org), "--user", "rep@example.com"], env=env)
    assert released.exit_code == 0


def test_today_from_web_and_cli(visited: World) -> None:
    from typer.testing import CliRunner

    from spoor.cli import app

    env = {"SPOOR_DATA_DIR": str(visited.settings.data_dir),
           "SPOOR_DATABASE_URL": visited.settings.database_url}  # fmt: skip
    listed = CliRunner().invoke(app, ["today", "--user", "rep@example.com", "--json"], env=env)
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.stdout)
    assert rows[0]["org"] == "Brightwater Logistics B.V."
    assert rows[0]["tier"] in (2, 3)
    with visited.client() as client:
        sign_in(client, "rep@example.com")
        page = client.get("/today")
    assert page.status_code == 200
    assert "Brightwater Logistics B.V." in page.text


def test_speed_to_lead_counts_first_touches(engine: Engine) -> None:
    from spoor.prospecting.activities import log_activity
    from spoor.prospecting.sla import speed_to_lead
    from spoor.sites import add_site

    with engine.begin() as conn:
        site = add_site(conn, "www.example.com", "UTC", 0)
        ann = add_user(conn, "ann@example.com", PASSWORD, Role.REP, 0, "Ann")
        for n, (org, ts) in enumerate([(1, 1000), (2, 1000), (3, 1000)]):
            conn.execute(lead_signals.insert().values(
                site_id=site.id, org_id=org, ts=ts, day=date(1970, 1, 1), kind=5, path="/demo",
                visitor=n, hit_key=bytes([n]) * 16,
            ))  # fmt: skip
        log_activity(conn, 1, ann.id, "call", "connected", at=1000 + 120)  # 2 minutes
        log_activity(conn, 2, ann.id, "email", "sent", at=1000 + 7200)  # 2 hours
        report = speed_to_lead(conn, since=0, now=5000)  # org 3: nobody touched it
    team, person = report
    assert (team.count, team.breaches) == (3, 2)
    assert team.median == (120 + 7200) / 2
    assert team.share_within(300) == 1 / 3
    assert person.who == "Ann"
    assert person.as_json()["within_24_hours"] == 1.0


def test_activities_and_today_through_the_api(visited: World) -> None:
    with visited.client() as client:
        sign_in(client, "rep@example.com")
        bearer = bearer_of(client)
        rows = client.get("/api/v1/sites/www.example.com/today", headers=bearer).json()
        org = rows[0]["org_id"]
        logged = client.post(f"/api/v1/organizations/{org}/activities", headers=bearer,
                             json={"kind": "call", "outcome": "connected", "note": "good chat"})  # fmt: skip
        assert logged.status_code == 200
        assert logged.json()["user"] == "Rep"
        bad = client.post(f"/api/v1/organizations/{org}/activities", headers=bearer,
                          json={"kind": "call", "outcome": "maybe"})  # fmt: skip
        assert bad.status_code == 400
        listed = client.get(f"/api/v1/organizations/{org}/activities", headers=bearer).json()
        assert [a["note"] for a in listed] == ["good chat"]
