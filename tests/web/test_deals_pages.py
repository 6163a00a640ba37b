"""The Forecast and Deals pages and their API, for a rep and a manager, over a simulated
history written to the database (with a prospecting gap in the last 30 days)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from spoor.db.schema import users
from spoor.deals.service import create_deal, list_deals
from spoor.demo.deals import demo_reps, write_history
from spoor.forecast.simulator import SimulationConfig, gap_before, simulate
from spoor.identify.corrections import new_org
from tests.world import World, csrf_of, sign_in


def with_history(world: World) -> dict[str, int]:
    """About 14 months of prospecting by the rep, ending yesterday, with a gap."""
    today = datetime.now(UTC).date()
    config = SimulationConfig(
        seed=3, start=today - timedelta(days=420), days=420, first_touches_per_weekday=4.0,
        gap=gap_before(today, days=30, drop=0.7),
    )  # fmt: skip
    with world.engine.begin() as conn:
        write_history(conn, simulate(config), demo_reps(conn))
        return {str(e): int(i) for e, i in conn.execute(select(users.c.email, users.c.id))}


def health(html: str) -> dict[str, str]:
    """Each health check's status, by name, as the page shows them."""
    return {name: status for status, name in
            re.findall(r'<li class="(\w+)" data-check="(\w+)"', html)}  # fmt: skip


def test_forecast_page_for_a_rep_and_a_manager(world: World) -> None:
    ids = with_history(world)
    with world.client() as rep:
        sign_in(rep, "rep@example.com")
        page = rep.get("/forecast")
        assert page.status_code == 200
        assert "Forecast: Rep" in page.text
        assert 'name="user"' not in page.text  # no picker for a rep
        checks = health(page.text)
        assert checks["prospecting_gap"] == "alert"
        assert re.search(
            r"prospecting fell \d+% in the last 30 days: expect about \d+ fewer", page.text
        )
        assert '<svg viewBox="0 0 720 260" role="img"' in page.text
        assert '<desc id="curve-desc">Of ' in page.text
        assert page.text.count("<tr><td>opportunities</td>") == 4  # cohort and three baselines
        assert (
            rep.get(f"/forecast?user={ids['manager@example.com']}").text.count("Forecast: Rep") == 1
        )
        api = rep.get("/api/v1/forecast").json()
        assert {"payoff_f90", "payoff_f180", "expected_opportunities_90d", "expected_revenue_90d",
                "health"} <= set(api)  # fmt: skip
        assert "prospecting_gap" in [c["name"] for c in api["health"]]
        assert rep.get(f"/api/v1/forecast?user_id={ids['manager@example.com']}").status_code == 403
    with world.client() as boss:
        sign_in(boss, "manager@example.com")
        team = boss.get("/forecast")
        assert "Forecast: the team" in team.text
        assert f'<option value="{ids["rep@example.com"]}"' in team.text
        one = boss.get(f"/forecast?user={ids['rep@example.com']}")
        assert "Forecast: Rep" in one.text
        nobody = boss.get(f"/forecast?user={ids['admin@example.com']}")  # not a rep: the team
        assert "Forecast: the team" in nobody.text


def test_forecast_page_says_when_there_is_no_history(world: World) -> None:
    with world.client() as client:
        sign_in(client, "rep@example.com")
        page = client.get("/forecast")
        assert page.status_code == 200
        assert "0 prospected accounts so far; the forecast needs at least 30" in page.text
        assert client.get("/api/v1/forecast").status_code == 409


def test_deals_page_create_move_and_lose(world: World) -> None:
    with world.engine.begin() as conn:
        org = new_org(conn, "Brightwater Logistics")
        manager_id = conn.execute(
            select(users.c.id).where(users.c.email == "manager@example.com")
        ).scalar_one()
        theirs = create_deal(conn, org.id, manager_id, amount=50_000)
    with world.client() as rep:
        sign_in(rep, "rep@example.com")
        page = rep.get("/deals")
        assert page.status_code == 200
        assert "No deals yet" in page.text  # the manager's deal is not the rep's
        token = csrf_of(page.text)
        made = rep.post("/deals", data={"csrf_token": token, "org": "Brightwater Logistics",
                                        "amount": "12,000", "stage": "qualified",
                                        "close": "2099-01-31"})  # fmt: skip
        assert made.status_code == 303
        page = rep.get("/deals")
        assert "Deal 2 opened on Brightwater Logistics." in page.text
        assert "12,000 EUR" in page.text
        moved = rep.post(
            "/deals/2", data={"csrf_token": token, "action": "stage", "stage": "proposal"}
        )
        assert moved.status_code == 303
        rep.post("/deals/2", data={"csrf_token": token, "action": "lost", "competitor": "Snitcher"})
        assert "lost: competitor (Snitcher)" in rep.get("/deals").text
        refused = rep.post(f"/deals/{theirs.id}", data={"csrf_token": token, "action": "won"})
        assert refused.status_code == 303
        shown = rep.get("/deals").text
        assert "Manager&#39;s; ask them or a manager" in shown, re.findall(
            r"role=\"alert\">[^<]*", shown
        )
        bad = rep.post("/deals", data={"csrf_token": token, "org": "Nobody Inc", "amount": "1"})
        assert bad.status_code == 303
        assert "No organization &#39;Nobody Inc&#39;; `spoor companies`" in rep.get("/deals").text
        # The API: a rep opens a deal for themselves, and moves it to won.
        api = rep.post("/api/v1/deals", json={"org_id": org.id, "amount": 900},
                       headers={"x-csrf-token": token})  # fmt: skip
        assert api.status_code == 201, api.text
        won = rep.post(f"/api/v1/deals/{api.json()['id']}/stage", json={"stage": "won"},
                       headers={"x-csrf-token": token})  # fmt: skip
        assert won.json()["outcome"] == "won"
        assert [d["id"] for d in rep.get("/api/v1/deals").json()] == [3, 2]
        other = rep.post(f"/api/v1/deals/{theirs.id}/stage", json={"stage": "proposal"},
                         headers={"x-csrf-token": token})  # fmt: skip
        assert other.status_code == 400
    with world.client() as boss:
        sign_in(boss, "manager@example.com")
        page = boss.get("/deals")
        assert "The team's deals" in page.text
        assert page.text.count('<td class="num">') >= 6  # every deal, the rep's too
        token = csrf_of(page.text)
        assert (
            boss.post(
                f"/deals/{theirs.id}", data={"csrf_token": token, "action": "won"}
            ).status_code
            == 303
        )
    with world.engine.connect() as conn:
        assert [(d.id, d.outcome) for d in list_deals(conn)] == [
            (3, "won"),
            (2, "lost"),
            (1, "won"),
        ]
