"""The rolling-origin backtest: the cohort forecast beats run-rate when prospecting has a gap."""

from __future__ import annotations

import itertools
from datetime import date

import pytest

from spoor.forecast.backtest import BacktestPoint, BacktestResult, backtest, rolling_origins, score
from spoor.forecast.simulator import History

from .conftest import START


@pytest.fixture(scope="module")
def result(gapped: History) -> BacktestResult:
    return backtest(gapped.accounts, gapped.deals, start=START, as_of=gapped.as_of)


def test_cohort_forecast_beats_run_rate_on_wape(result: BacktestResult) -> None:
    cohort = result.row("opportunities", "cohort")
    run_rate = result.row("opportunities", "run-rate")
    assert cohort.origins == run_rate.origins >= 15
    assert cohort.wape < 0.7 * run_rate.wape
    assert cohort.mase < 1.0 == pytest.approx(run_rate.mase)
    assert abs(cohort.bias) < 0.1
    assert result.row("opportunities", "no-lag").wape > cohort.wape
    assert result.row("opportunities", "distributed-lag").wape < run_rate.wape


def test_revenue_with_new_deals_beats_pipeline_only(result: BacktestResult) -> None:
    full = result.row("revenue", "cohort+pipeline")
    pipeline = result.row("revenue", "pipeline-only")
    # Open deals alone miss what new deals will close inside the window.
    assert pipeline.bias < -0.2
    assert full.wape < pipeline.wape
    assert full.wape < result.row("revenue", "run-rate").wape


def test_trailing_plan_still_beats_run_rate(gapped: History) -> None:
    result = backtest(
        gapped.accounts, gapped.deals, start=START, as_of=gapped.as_of, plan="trailing", step=60
    )
    assert result.row("opportunities", "cohort").wape < result.row("opportunities", "run-rate").wape


def test_rolling_origins_leave_room_for_a_whole_window() -> None:
    origins = rolling_origins(date(2024, 1, 1), date(2025, 1, 1), warmup=180, step=30)
    assert origins[0] == date(2024, 6, 29)
    assert all((b - a).days == 30 for a, b in itertools.pairwise(origins))
    assert (date(2025, 1, 1) - origins[-1]).days >= 90


def test_scores_by_hand() -> None:
    day = date(2025, 1, 1)
    points = [
        BacktestPoint("opportunities", "m", day, 12, 10),
        BacktestPoint("opportunities", "m", day, 6, 10),
        BacktestPoint("opportunities", "run-rate", day, 14, 10),
        BacktestPoint("opportunities", "run-rate", day, 10, 10),
    ]
    rows = {row.method: row for row in score(points)}
    assert rows["m"].wape == pytest.approx(6 / 20)
    assert rows["m"].bias == pytest.approx(-2 / 20)
    assert rows["m"].mase == pytest.approx(3 / 2)
    assert rows["run-rate"].mase == pytest.approx(1.0)
