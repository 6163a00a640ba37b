"""Leads through the pages, the API and the CLI, on the tracked world of conftest.py."""

from __future__ import annotations

import json
import re

from typer.testing import CliRunner

from spoor.cli import app
from tests.world import World, csrf_of, sign_in

runner = CliRunner()


def env(world: World) -> dict[str, str]:
    return {
        "SPOOR_DATA_DIR": str(world.settings.data_dir),
        "SPOOR_DATABASE_URL": world.settings.database_url,
    }


def test_leads_page_ranks_and_explains(visited: World) -> None:
    with visited.client() as client:
        sign_in(client, "rep@example.com")
        page = client.get("/leads")
        assert page.status_code == 200
        assert "Brightwater Logistics B.V." in page.text
        assert "Kabelnet" not in page.text  # an ISP is no lead
        assert "read /pricing 3 times" in page.text
        api = client.get("/api/v1/sites/www.example.com/leads").json()
        assert api[0]["org"] == "Brightwater Logistics B.V."
        assert {"org", "type", "priority", "fit", "intent", "last_seen", "reasons"} <= api[0].keys()
        one = client.get(f"/leads/{api[0]['org_id']}")
        assert "Why, point by point" in one.text
        assert client.get("/api/v1/sites/www.example.com/leads/1").status_code == 404
        csv = client.get("/leads?export=csv").content.decode("utf-8-sig")
        assert csv.splitlines()[0].startswith("Organization,Type,Country,Priority")


def test_rules_are_edited_by_managers_and_checked(visited: World) -> None:
    with visited.client() as client:
        sign_in(client, "rep@example.com")
        assert client.get("/leads/rules").status_code == 403
    with visited.client() as client:
        sign_in(client, "manager@example.com")
        page = client.get("/leads/rules")
        token = csrf_of(page.text)
        assert "half_life_days = 7.0" in page.text
        broken = client.post(
            "/leads/rules",
            data={"csrf_token": token, "rules": "[[pages]]\npattern = '('\ntype = 'pricing'\n"},
        )
        assert broken.status_code == 400
        assert "pages[1].pattern is not a regular expression" in broken.text
        rules = client.get("/api/v1/rules").json()["toml"]
        no_pricing = rules.replace("pricing = 15.0", "pricing = 0.0")
        saved = client.put(
            "/api/v1/rules", json={"toml": no_pricing}, headers={"x-csrf-token": token}
        )
        assert saved.status_code == 200
        assert "read /pricing" not in client.get("/leads").text


def test_leads_from_the_command_line(visited: World, tmp_path) -> None:  # type: ignore[no-untyped-def]
    listed = runner.invoke(app, ["leads", "--json"], env=env(visited))
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.stdout)
    assert rows[0]["org"] == "Brightwater Logistics B.V."
    one = runner.invoke(app, ["lead", "Brightwater Logistics B.V.", "--json"], env=env(visited))
    assert json.loads(one.stdout)["reasons"]
    not_lead = runner.invoke(app, ["lead", "Kabelnet Broadband B.V."], env=env(visited))
    assert not_lead.exit_code == 2
    assert "is not a lead" in not_lead.output
    exported = tmp_path / "rules.toml"
    assert runner.invoke(app, ["rules", "export", str(exported)], env=env(visited)).exit_code == 0
    exported.write_text(
        exported.read_text().replace("half_life_days = 7.0", "half_life_days = 14.0")
    )
    imported = runner.invoke(app, ["rules", "import", str(exported)], env=env(visited))
    assert imported.exit_code == 0, imported.output
    again = runner.invoke(app, ["rules", "export"], env=env(visited))
    assert "half_life_days = 14.0" in again.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text("[intent]\nhalf_life_days = -1\n")
    refused = runner.invoke(app, ["rules", "import", str(bad)], env=env(visited))
    assert refused.exit_code == 2
    assert "must be a number of 0 or more" in refused.output
    rescored = runner.invoke(app, ["leads", "rescore"], env=env(visited))
    assert rescored.exit_code == 0
    assert "signals rebuilt" in rescored.output


def test_managers_set_up_alerts_in_the_app(world: World) -> None:
    with world.client() as client:
        sign_in(client, "rep@example.com")
        assert client.get("/alerts").status_code == 403
    with world.client() as client:
        sign_in(client, "manager@example.com")
        token = csrf_of(client.get("/alerts").text)
        client.post(
            "/alerts",
            data={
                "csrf_token": token,
                "action": "channel",
                "name": "CRM",
                "kind": "webhook",
                "target": "https://crm.example/hook",
            },
        )
        page = client.get("/alerts").text
        assert "Channel CRM added. Its signing secret: " in page
        client.post(
            "/alerts",
            data={
                "csrf_token": token,
                "action": "channel",
                "name": "x",
                "kind": "email",
                "target": "not-an-address",
            },
        )
        assert "is not an e-mail address" in client.get("/alerts").text
        channel_id = re.search(
            r'name="channel_id"><option value="(\d+)">CRM', client.get("/alerts").text
        )
        assert channel_id
        client.post(
            "/alerts",
            data={
                "csrf_token": token,
                "action": "rule",
                "name": "Hot",
                "trigger": "priority_above",
                "threshold": "70",
                "channel_id": channel_id.group(1),
                "cooldown_minutes": "60",
            },
        )
        page = client.get("/alerts").text
        assert "Rule Hot added." in page
        assert "priority reaches 70" in page


def test_feeds_are_saved_counted_and_listed(visited: World) -> None:
    with visited.client() as client:
        sign_in(client, "rep@example.com")
        token = csrf_of(client.get("/leads").text)
        saved = client.post(
            "/leads/feeds",
            data={"csrf_token": token, "name": "Pricing readers", "path": "/pricing",
                  "org_type": "business", "returning": ""},
        )  # fmt: skip
        assert saved.status_code == 303
        page = client.get(saved.headers["location"]).text
        assert "Feed Pricing readers saved." in page
        assert 'Pricing readers <span class="count">1</span>' in page
        assert "Brightwater Logistics B.V." in page
        client.post("/leads/feeds", data={"csrf_token": token, "name": "Nobody", "country": "ZZ"})
        assert 'Nobody <span class="count">0</span>' in client.get("/leads").text
        duplicate = client.post("/leads/feeds", data={"csrf_token": token, "name": "Nobody"})
        assert "exists already" in client.get(duplicate.headers["location"]).text
        api = client.get("/api/v1/sites/www.example.com/leads?feed=Nobody").json()
        assert api == []
        assert client.get("/api/v1/sites/www.example.com/leads?feed=missing").status_code == 404
    listed = runner.invoke(app, ["leads", "--feed", "Pricing readers", "--json"], env=env(visited))
    assert [row["org"] for row in json.loads(listed.stdout)] == ["Brightwater Logistics B.V."]
    missing = runner.invoke(app, ["leads", "--feed", "missing"], env=env(visited))
    assert missing.exit_code == 2


def test_the_team_page_is_for_managers(visited: World) -> None:
    with visited.client() as client:
        sign_in(client, "rep@example.com")
        assert client.get("/team").status_code == 403
    with visited.client() as client:
        sign_in(client, "manager@example.com")
        page = client.get("/team")
    assert page.status_code == 200
    assert "Speed to lead, last 30 days" in page.text
