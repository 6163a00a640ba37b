"""The hunt's pages, API and CLI over one tracked world: tasks done, skipped and snoozed
from Today, contacts and cadences on the lead page, golden hours on Routine, the calendar
feed at its secret address, and the same through the JSON API and the command line."""

from __future__ import annotations

import json
import re

from icalendar import Calendar
from typer.testing import CliRunner

from spoor.cli import app
from spoor.identify.corrections import find_org
from spoor.prospecting.tasks import open_tasks
from spoor.users import get_user_by_email
from tests.world import World, bearer_of, csrf_of, sign_in


def _org(world: World) -> int:
    with world.engine.connect() as conn:
        return find_org(conn, "Brightwater Logistics B.V.").id


def test_tasks_contacts_and_cadence_from_the_pages(visited: World) -> None:
    org = _org(visited)
    with visited.client() as client:
        sign_in(client, "rep@example.com")
        token = csrf_of(client.get(f"/leads/{org}").text)
        client.post(f"/leads/{org}/claim", data={"csrf_token": token, "action": "claim"})
        lead = client.get(f"/leads/{org}").text
        assert "Identified visitor: 11 touches over 21 days" in lead  # no form: identified
        assert "E-mail #1" in lead
        made = client.post(f"/leads/{org}/contacts", data={
            "csrf_token": token, "action": "add", "name": "Eva Jansen", "role": "COO",
            "email": "eva@brightwater.example", "linkedin": "https://www.linkedin.com/in/eva"})  # fmt: skip
        assert made.status_code == 303
        bad = client.post(f"/leads/{org}/contacts", data={
            "csrf_token": token, "action": "add", "name": "X", "email": "nope"})  # fmt: skip
        assert bad.status_code == 303
        lead = client.get(f"/leads/{org}").text
        assert "&#39;nope&#39; is not an e-mail address." in lead
        assert "Eva Jansen" in lead
        today = client.get("/today").text
        task_id = int(re.search(r'action="/tasks/(\d+)"', today).group(1))  # type: ignore[union-attr]
        refused = client.post(f"/tasks/{task_id}", data={
            "csrf_token": token, "action": "skipped", "reason": "", "next": "/today"})  # fmt: skip
        assert refused.headers["location"] == "/today"
        assert "Say why the task is skipped." in client.get("/today").text
        snoozed = client.post(f"/tasks/{task_id}", data={
            "csrf_token": token, "action": "snooze", "reason": "they are at a fair", "days": "2",
            "next": "https://evil.example/"})  # fmt: skip
        assert snoozed.headers["location"] == "/"  # never sent elsewhere
        done = client.post(f"/tasks/{task_id}", data={"csrf_token": token, "action": "done"})
        assert done.status_code == 303
        assert "Done. Next: LinkedIn message #1." in client.get("/today").text
        stopped = client.post(f"/leads/{org}/cadence", data={"csrf_token": token,
                                                              "action": "stop"})  # fmt: skip
        assert stopped.status_code == 303
        assert "Cadence stopped" in client.get(f"/leads/{org}").text
    with visited.engine.connect() as conn:
        assert open_tasks(conn, org_ids=[org]) == []


def test_routine_page_and_the_calendar_feed(visited: World) -> None:
    with visited.client() as client:
        sign_in(client, "rep@example.com")
        token = csrf_of(client.get("/routine").text)
        for data in ({"action": "timezone", "timezone": "Europe/Amsterdam"},
                     {"action": "block", "block": "Tue 09:00-11:00"},
                     {"action": "goals", "daily": "30", "weekly": "120"},
                     {"action": "interruption", "minutes": "15", "note": "all-hands"}):  # fmt: skip
            assert client.post("/routine", data={"csrf_token": token, **data}).status_code == 303
        client.post("/routine", data={"csrf_token": token, "action": "block",
                                      "block": "Tue 10:00-12:00"})  # fmt: skip
        page = client.get("/routine").text
        assert "Overlaps Tue 09:00-11:00." in page
        assert "0 / 30" in page
        assert "all-hands" in page
        made = client.post("/routine", data={"csrf_token": token, "action": "calendar"})
        url = re.search(r'id="calendar-url">([^<]+)<', made.text).group(1)  # type: ignore[union-attr]
        path = url.removeprefix("http://testserver")
        client.post("/logout", data={"csrf_token": csrf_of(made.text)})
        feed = client.get(path)  # no session: the secret is the key
        assert feed.status_code == 200
        assert feed.headers["content-type"].startswith("text/calendar")
        [block] = Calendar.from_ical(feed.content).walk("VEVENT")
        assert block.decoded("dtstart").tzinfo.key == "Europe/Amsterdam"  # type: ignore[union-attr]
        assert client.get(path.replace(".ics", "x.ics")).status_code == 404


def test_tasks_and_contacts_through_the_api_and_the_cli(visited: World) -> None:
    org = _org(visited)
    env = {"SPOOR_DATA_DIR": str(visited.settings.data_dir),
           "SPOOR_DATABASE_URL": visited.settings.database_url}  # fmt: skip
    runner = CliRunner()
    claimed = runner.invoke(app, ["claim", str(org), "--user", "rep@example.com"], env=env)
    assert "Cadence: Identified visitor" in claimed.output
    listed = runner.invoke(app, ["tasks", "--user", "rep@example.com", "--json"], env=env)
    [task] = json.loads(listed.stdout)
    assert task["title"] == "E-mail #1"
    wrong = runner.invoke(app, ["task", str(task["id"]), "skip", "--user", "rep@example.com"],
                          env=env)  # fmt: skip
    assert wrong.exit_code == 2
    assert "why the task is skipped" in wrong.output
    logged = runner.invoke(app, ["log", "email", str(org), "--outcome", "sent",
                                 "--user", "rep@example.com"], env=env)  # fmt: skip
    assert "Next: LinkedIn message #1." in logged.output
    added = runner.invoke(app, ["contact", str(org), "Eva Jansen", "--role", "COO",
                                "--user", "rep@example.com"], env=env)  # fmt: skip
    assert added.exit_code == 0, added.output
    routine = runner.invoke(app, ["routine", "--user", "rep@example.com", "--block",
                                  "Mon 08:00-10:00", "--daily", "25", "--json"], env=env)  # fmt: skip
    assert json.loads(routine.stdout)["goals"]["daily"] == 25
    with visited.client() as client:
        sign_in(client, "rep@example.com")
        bearer = bearer_of(client)
        tasks = client.get("/api/v1/tasks", headers=bearer).json()
        assert [t["title"] for t in tasks] == ["LinkedIn message #1"]
        moved = client.post(f"/api/v1/tasks/{tasks[0]['id']}", headers=bearer,
                            json={"action": "done"})  # fmt: skip
        assert moved.json()["next_task"]["title"] == "Call #1"
        people = client.get(f"/api/v1/organizations/{org}/contacts", headers=bearer).json()
        assert [p["name"] for p in people] == ["Eva Jansen"]
        bad = client.post(f"/api/v1/organizations/{org}/contacts", headers=bearer,
                          json={"name": "X", "email": "no"})  # fmt: skip
        assert bad.status_code == 400
        run = client.get(f"/api/v1/organizations/{org}/cadence", headers=bearer).json()
        assert (run["cadence"], run["steps_done"]) == ("identified", 2)  # e-mail, LinkedIn
        me = client.get("/api/v1/me/routine", headers=bearer).json()
        assert me["blocks"] == ["Mon 08:00-10:00"]
    with visited.engine.connect() as conn:
        assert get_user_by_email(conn, "rep@example.com") is not None


def test_a_manager_hands_an_account_over_with_its_tasks(visited: World) -> None:
    org = _org(visited)
    env = {"SPOOR_DATA_DIR": str(visited.settings.data_dir),
           "SPOOR_DATABASE_URL": visited.settings.database_url}  # fmt: skip
    runner = CliRunner()
    runner.invoke(app, ["claim", str(org), "--user", "rep@example.com"], env=env)
    refused = runner.invoke(app, ["claim", str(org), "--user", "rep@example.com",
                                  "--to", "admin@example.com"], env=env)  # fmt: skip
    assert refused.exit_code == 2
    assert "needs the manager role" in refused.output
    with visited.engine.connect() as conn:
        manager = get_user_by_email(conn, "manager@example.com")
        admin = get_user_by_email(conn, "admin@example.com")
    assert manager is not None
    assert admin is not None
    with visited.client() as client:
        sign_in(client, "manager@example.com")
        token = csrf_of(client.get(f"/leads/{org}").text)
        client.post(f"/leads/{org}/claim", data={"csrf_token": token, "action": "reassign",
                                                 "to": str(manager.id)})  # fmt: skip
        assert "Reassigned to Manager, with its tasks." in client.get(f"/leads/{org}").text
        bearer = bearer_of(client)
        moved = client.put(f"/api/v1/organizations/{org}/claim", headers=bearer,
                           params={"to": "admin@example.com"})  # fmt: skip
        assert moved.json()["owner"] == "Admin"
        nobody = client.put(f"/api/v1/organizations/{org}/claim", headers=bearer,
                            params={"to": "nobody@example.com"})  # fmt: skip
        assert nobody.status_code == 409
    with visited.engine.connect() as conn:
        [task] = open_tasks(conn, org_ids=[org])
        assert task.user_id == admin.id  # the cadence's open step moved along
