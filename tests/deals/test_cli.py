"""`spoor deal ...`, `spoor deals` and `spoor forecast` as a user runs them."""

from __future__ import annotations

import json

from sqlalchemy import Engine
from typer.testing import CliRunner

from spoor.cli import app
from spoor.identify.corrections import new_org
from spoor.settings import Settings

from .test_forecast_data import AS_OF, written

runner = CliRunner()


def env_of(settings: Settings) -> dict[str, str]:
    return {"SPOOR_DATA_DIR": str(settings.data_dir), "SPOOR_DATABASE_URL": settings.database_url}


def test_forecast_json_names_the_gap(engine: Engine, settings: Settings) -> None:
    written(engine)
    env = env_of(settings)
    result = runner.invoke(app, ["forecast", "--as-of", AS_OF.isoformat(), "--json"], env=env)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    for key in ("payoff_f90", "payoff_f180", "expected_opportunities_90d", "expected_revenue_90d"):
        assert key in data
    gap = next(check for check in data["health"] if check["name"] == "prospecting_gap")
    assert gap["status"] == "alert"
    assert "fewer opportunities in" in gap["message"]
    one = runner.invoke(
        app, ["forecast", "--as-of", AS_OF.isoformat(), "--user", "rep0@example.com", "--json"],
        env=env,
    )  # fmt: skip
    assert 0 < json.loads(one.stdout)["accounts"] < data["accounts"]
    backtest = runner.invoke(
        app, ["forecast", "backtest", "--as-of", AS_OF.isoformat(), "--json"], env=env
    )
    assert backtest.exit_code == 0, backtest.output
    rows = {(r["target"], r["method"]): r for r in json.loads(backtest.stdout)["rows"]}
    assert rows["opportunities", "run-rate"]["mase"] == 1.0
    assert rows["opportunities", "cohort"]["wape"] is not None
    nobody = runner.invoke(app, ["forecast", "--user", "ghost@example.com"], env=env)
    assert nobody.exit_code == 2
    assert "no user ghost@example.com" in nobody.output


def test_deal_commands(engine: Engine, settings: Settings) -> None:
    env = env_of(settings)
    with engine.begin() as conn:
        new_org(conn, "Brightwater Logistics")
    user = runner.invoke(app, ["user", "add", "rep@example.com", "--role", "rep"], env=env,
                         input="correct horse battery\ncorrect horse battery\n")  # fmt: skip
    assert user.exit_code == 0, user.output
    add = runner.invoke(
        app, ["deal", "add", "Brightwater Logistics", "--amount", "12000", "--currency", "usd",
              "--stage", "qualified", "--close", "2099-03-31", "--user", "rep@example.com",
              "--json"], env=env,
    )  # fmt: skip
    assert add.exit_code == 0, add.output
    deal = json.loads(add.stdout)
    assert (deal["stage"], deal["currency"], deal["expected_close"]) == (
        "qualified", "USD", "2099-03-31"
    )  # fmt: skip
    ident = str(deal["id"])
    assert runner.invoke(app, ["deal", "stage", ident, "proposal"], env=env).exit_code == 0
    lost = runner.invoke(app, ["deal", "lost", ident, "--competitor", "Albacross"], env=env)
    assert "lost to Albacross (competitor)" in lost.stdout
    again = runner.invoke(app, ["deal", "won", ident], env=env)
    assert again.exit_code == 2
    assert "is closed (lost)" in again.output
    listed = json.loads(runner.invoke(app, ["deals", "--json"], env=env).stdout)
    assert [s["stage"] for s in listed[0]["history"]] == ["qualified", "proposal", "lost"]
    bad = runner.invoke(app, ["deal", "add", "Brightwater Logistics", "--amount", "5",
                              "--user", "rep@example.com", "--close", "soon"], env=env)  # fmt: skip
    assert bad.exit_code == 2
    assert "--close 'soon' is not a date" in bad.output
    stage = runner.invoke(app, ["deal", "stages", "set", "demo", "--position", "1",
                                "--probability", "0.3"], env=env)  # fmt: skip
    assert stage.exit_code == 0, stage.output
    stages = json.loads(runner.invoke(app, ["deal", "stages", "list", "--json"], env=env).stdout)
    assert [s["key"] for s in stages][:3] == ["discovery", "demo", "qualified"]
