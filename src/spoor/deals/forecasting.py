"""The forecast as the CLI, the Forecast page and the API show it: read the records, run
the engine, and say so plainly when there is not enough history yet."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection

from spoor.deals.forecast_data import ForecastInput, load_input
from spoor.forecast.backtest import BacktestResult, backtest, rolling_origins
from spoor.forecast.summary import ForecastSummary, as_json, summarize

# Below this many prospected accounts the payoff curve is mostly noise.
MIN_ACCOUNTS = 30


class ForecastError(ValueError):
    """Not enough history to forecast or backtest; the message says what is missing."""


@dataclass(frozen=True)
class Forecast:
    input: ForecastInput
    summary: ForecastSummary


def forecast(
    conn: Connection,
    as_of: date,
    *,
    user_id: int | None = None,
    zone: str = "UTC",
    target_revenue: float | None = None,
) -> Forecast:
    """The 30-day rule forecast as of ``as_of`` for one rep (``user_id``) or the team."""
    data = load_input(conn, as_of, user_id=user_id, zone=zone)
    if len(data.accounts) < MIN_ACCOUNTS:
        raise ForecastError(
            f"{len(data.accounts)} prospected accounts so far; the forecast needs at least "
            f"{MIN_ACCOUNTS} (log calls, e-mails and LinkedIn messages on accounts)"
        )
    summary = summarize(
        data.accounts,
        data.deals,
        as_of,
        target_revenue=target_revenue,
        history_start=data.history_start,
    )
    return Forecast(data, summary)


def run_backtest(
    conn: Connection, as_of: date, *, user_id: int | None = None, zone: str = "UTC"
) -> BacktestResult:
    """The rolling-origin backtest over the recorded history (needs about a year)."""
    data = load_input(conn, as_of, user_id=user_id, zone=zone)
    if not rolling_origins(data.history_start, as_of):
        ready = data.history_start + timedelta(days=270 + 90)
        raise ForecastError(
            f"history starts {data.history_start}: the backtest needs 270 days of warm-up "
            f"and a 90-day window, so it can run from {ready}"
        )
    return backtest(data.accounts, data.deals, start=data.history_start, as_of=as_of)


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def forecast_json(found: Forecast) -> dict[str, Any]:
    """``spoor forecast --json``: the engine's keys plus how much history it read."""
    return {
        **as_json(found.summary),
        "accounts": len(found.input.accounts),
        "deals": len(found.input.deals),
        "history_start": found.input.history_start.isoformat(),
    }


def backtest_json(result: BacktestResult) -> dict[str, Any]:
    """``spoor forecast backtest --json``: the score table (NaN, e.g. nothing happened, as null)."""
    return {
        "rows": [
            {
                "target": row.target,
                "method": row.method,
                "origins": row.origins,
                "wape": _finite(row.wape),
                "mase": _finite(row.mase),
                "bias": _finite(row.bias),
                "mean_forecast": row.mean_forecast,
                "mean_actual": row.mean_actual,
            }
            for row in result.rows
        ],
        "origins": sorted({point.origin.isoformat() for point in result.points}),
    }
