"""The forecast backtest on the demo's deal history, as `spoor forecast backtest --json`
prints it, recorded into bench/README.md.

Writes the history `spoor demo` writes (spoor.demo.deals: seed 7, two years, prospecting
down 80% in the last 30 days) into a scratch database as of a fixed day, so the table
does not move with the calendar, then runs the real command on it.

    .venv/bin/python bench/forecast_demo.py [--as-of 2026-11-30] [--record]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

from spoor.db.engine import make_engine, upgrade
from spoor.demo.deals import add_demo_deals
from spoor.demo.run import DEMO_PASSWORD, DEMO_USERS
from spoor.sites import add_site
from spoor.users import add_user

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.readme import record


def run(as_of: date) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as scratch:
        engine = make_engine(f"sqlite:///{scratch}/spoor.db")
        upgrade(engine)
        with engine.begin() as conn:
            add_site(conn, "www.example.com", "UTC", 1)
            for email, role, name in DEMO_USERS:
                add_user(conn, email, DEMO_PASSWORD, role, 1, name)
        add_demo_deals(engine, as_of)
        engine.dispose()
        env = {**os.environ, "SPOOR_DATA_DIR": scratch}
        spoor = [str(Path(sys.executable).with_name("spoor")), "forecast"]  # the real command
        forecast = subprocess.run([*spoor, "--as-of", as_of.isoformat(), "--json"], env=env,
                                  check=True, capture_output=True, text=True)  # fmt: skip
        backtest = subprocess.run([*spoor, "backtest", "--as-of", as_of.isoformat(), "--json"],
                                  env=env, check=True, capture_output=True, text=True)  # fmt: skip
    return {"forecast": json.loads(forecast.stdout), "backtest": json.loads(backtest.stdout)}


def table(result: dict[str, object], as_of: date) -> str:
    forecast, backtest = result["forecast"], result["backtest"]
    assert isinstance(forecast, dict)
    assert isinstance(backtest, dict)
    gap = next(c for c in forecast["health"] if c["name"] == "prospecting_gap")
    lines = [
        f"As of {as_of}: {forecast['accounts']:,} accounts, {forecast['deals']:,} deals, "
        f"{len(backtest['origins'])} origins (90-day windows, 30 days apart). "
        f"F(90) = {forecast['payoff_f90']:.3f}, F(90)/F(180) = "
        f"{forecast['payoff_ratio_f90_f180']:.2f} (simulated truth: gamma lag, mean 45 days). "
        f'Health: `{gap["name"]}` {gap["status"]}: "{gap["message"]}".',
        "",
        "| target | method | origins | WAPE | MASE | bias |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for row in backtest["rows"]:
        lines.append(
            f"| {row['target']} | {row['method']} | {row['origins']} | {row['wape']:.3f} | "
            f"{row['mase']:.2f} | {row['bias']:+.3f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 11, 30))
    parser.add_argument("--record", action="store_true", help="write into bench/README.md")
    args = parser.parse_args()
    text = table(run(args.as_of), args.as_of)
    print(text)
    if args.record:
        record("forecast-bench", text, "Forecast backtest on the demo history",
               ".venv/bin/python bench/forecast_demo.py --record")  # fmt: skip


if __name__ == "__main__":
    main()
