"""`spoor privacy retain|erase|export|log` call the services and say what they did."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from spoor.cli import app
from spoor.settings import Settings
from tests.conftest import database

from .data import HARBOUR, STORES, event_rows, record

runner = CliRunner()


@pytest.fixture(params=STORES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from database(request.param, request, tmp_path)


def test_privacy_commands(engine: Engine, settings: Settings, tmp_path: Path) -> None:
    record(engine, settings, tmp_path)
    env = {"SPOOR_DATA_DIR": str(settings.data_dir), "SPOOR_DATABASE_URL": settings.database_url}

    def spoor(*args: str) -> str:
        result = runner.invoke(app, list(args), env=env)
        assert result.exit_code == 0, result.output
        return result.output

    # The log dates from 2026-01: the default limits (400 days) keep it until 2027-02.
    assert json.loads(spoor("privacy", "retain", "--dry-run", "--json"))["dry_run"] is True
    spoor("privacy", "export", "--org", HARBOUR, "--out", str(tmp_path / "h.json"))
    exported = json.loads((tmp_path / "h.json").read_text())
    assert exported["tables"]["organizations"][0]["name"] == HARBOUR
    assert len(exported["tables"]["visits"]) == 40  # two people, twice a day, ten days

    dry = json.loads(spoor("privacy", "erase", "--org", HARBOUR, "--dry-run", "--json"))
    assert dry["counts"]["visits"] == 40
    assert "Erased (1 organization)" in spoor("privacy", "erase", "--org", HARBOUR)
    assert "Would erase" in spoor("privacy", "erase", "--ip-range", "203.0.113.0/24", "--dry-run")
    out = spoor("privacy", "erase", "--from", "2026-01-01", "--to", "2026-01-02",
                "--site", "www.example.com")  # fmt: skip
    assert "Erased (www.example.com 2026-01-01..2026-01-02)" in out
    days = {v["day"].isoformat() for v in event_rows(engine, "visits", final=False)}
    assert days
    assert not days & {"2026-01-01", "2026-01-02"}
    log = json.loads(spoor("privacy", "log", "--json"))
    assert [e["kind"] for e in log] == ["time_range", "organization"]
    assert HARBOUR not in json.dumps(log)

    for wrong in (["privacy", "erase"], ["privacy", "erase", "--org", "x", "--from", "2026-01-01"],
                  ["privacy", "erase", "--from", "2026-01-01"],
                  ["privacy", "erase", "--from", "yesterday", "--to", "2026-01-01"],
                  ["privacy", "export", "--org", "nobody"]):  # fmt: skip
        assert runner.invoke(app, wrong, env=env).exit_code == 2, wrong
