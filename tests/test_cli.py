"""The CLI as a user runs it: real database, real files, JSON and error messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from spoor.cli import app
from spoor.settings import Settings

runner = CliRunner()


@pytest.fixture
def env(settings: Settings) -> dict[str, str]:
    return {"SPOOR_DATA_DIR": str(settings.data_dir), "SPOOR_DATABASE_URL": settings.database_url}


def test_import_json_has_the_documented_keys(env: dict[str, str], shared_data: Path) -> None:
    log = shared_data / "logs/real/apache-combined-2015-elastic.log"
    result = runner.invoke(
        app, ["import", str(log), "--site", "elastic.example", "--json"], env=env
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    for key in ("lines", "hits", "malformed", "dropped", "visits", "visitors", "first", "last"):
        assert key in data
    assert data["lines"] == 10_000
    assert data["first"].startswith("2015-05-17")
    assert isinstance(data["malformed_examples"], list)

    stats = runner.invoke(app, ["stats", "--period", "all", "--json"], env=env)
    assert stats.exit_code == 0, stats.output
    report = json.loads(stats.stdout)
    assert report["visits"] == data["visits"]
    assert report["bot_hits"] == data["dropped"]["bot"]
    assert report["pages"]
    assert report["browser"]

    text = runner.invoke(app, ["stats", "--period", "2015-05-17..2015-05-20"], env=env)
    assert text.exit_code == 0
    assert "Top pages" in text.stdout
    assert "Visits per day" in text.stdout


def test_errors_are_clear_and_exit_2(env: dict[str, str], tmp_path: Path) -> None:
    missing = runner.invoke(app, ["import", str(tmp_path / "missing.log")], env=env)
    assert missing.exit_code == 2
    assert "cannot open" in missing.output

    bad_period = runner.invoke(app, ["stats", "--period", "fortnight"], env=env)
    assert bad_period.exit_code == 2
    assert "7d, 30d, all" in bad_period.output

    bad_setting = runner.invoke(app, ["stats"], env={**env, "SPOOR_VISIT_TIMEOUT_MINUTES": "x"})
    assert bad_setting.exit_code == 2
    assert "SPOOR_VISIT_TIMEOUT_MINUTES" in bad_setting.output


def test_sites_and_upgrade(env: dict[str, str]) -> None:
    assert runner.invoke(app, ["db", "upgrade"], env=env).exit_code == 0
    added = runner.invoke(
        app, ["site", "add", "www.example.com", "--timezone", "Europe/Amsterdam"], env=env
    )
    assert added.exit_code == 0, added.output
    again = runner.invoke(app, ["site", "add", "www.example.com"], env=env)
    assert again.exit_code == 2
    assert "already exists" in again.output
    listed = json.loads(runner.invoke(app, ["site", "list", "--json"], env=env).stdout)
    assert [s["domain"] for s in listed] == ["www.example.com"]


def test_settings_markdown_is_the_docs_page() -> None:
    result = runner.invoke(app, ["settings", "--markdown"])
    page = Path(__file__).resolve().parents[1] / "docs" / "settings.md"
    assert result.stdout == page.read_text()


def test_site_options_and_snippet(env: dict[str, str]) -> None:
    assert runner.invoke(app, ["site", "add", "www.example.com"], env=env).exit_code == 0
    changed = runner.invoke(
        app,
        ["site", "set", "www.example.com", "--hosts", "shop.example.net", "--ignore-dnt"],
        env=env,
    )
    assert changed.exit_code == 0, changed.output
    assert "shop.example.net" in changed.output
    assert "ignored" in changed.output
    snippet = runner.invoke(
        app, ["site", "snippet", "www.example.com", "--base", "https://spoor.example/"], env=env
    )
    assert snippet.stdout.startswith(
        '<script defer src="https://spoor.example/js/spoor.js" data-site="'
    )
    assert (
        runner.invoke(app, ["site", "set", "nope.example", "--ignore-dnt"], env=env).exit_code == 2
    )
    assert runner.invoke(app, ["site", "remove", "www.example.com"], env=env).exit_code == 0
    assert runner.invoke(app, ["site", "remove", "www.example.com"], env=env).exit_code == 2


def test_users_from_the_command_line(env: dict[str, str]) -> None:
    password = "a long enough password"
    added = runner.invoke(
        app, ["user", "add", "ada@example.com", "--role", "admin"], env=env,
        input=f"{password}\n{password}\n",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "Added ada@example.com as admin" in added.output
    short = runner.invoke(app, ["user", "add", "bo@example.com", "--password", "short"], env=env)
    assert short.exit_code == 2
    assert "at least 10 characters" in short.output
    bad_role = runner.invoke(
        app, ["user", "add", "bo@example.com", "--role", "boss", "--password", password], env=env
    )
    assert bad_role.exit_code == 2
    assert "is not a role" in bad_role.output
    runner.invoke(app, ["user", "add", "bo@example.com", "--password", password], env=env)
    demoted = runner.invoke(app, ["user", "set", "ada@example.com", "--role", "rep"], env=env)
    assert demoted.exit_code == 2
    assert "only active admin" in demoted.output
    assert (
        runner.invoke(app, ["user", "set", "bo@example.com", "--disable"], env=env).exit_code == 0
    )
    reset = runner.invoke(
        app, ["user", "password", "bo@example.com", "--password", "another long one"], env=env
    )
    assert reset.exit_code == 0
    listed = json.loads(runner.invoke(app, ["user", "list", "--json"], env=env).stdout)
    assert listed == [
        {"email": "ada@example.com", "name": None, "role": "admin", "disabled": False},
        {"email": "bo@example.com", "name": None, "role": "rep", "disabled": True},
    ]


def test_rollups_can_be_rebuilt(env: dict[str, str]) -> None:
    rebuilt = runner.invoke(app, ["db", "rebuild-rollups"], env=env)
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "Rollups rebuilt" in rebuilt.output
