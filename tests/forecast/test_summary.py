"""The one-call summary the CLI will print."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from spoor.forecast.records import accounts_as_of, deals_as_of
from spoor.forecast.simulator import History
from spoor.forecast.summary import as_json, summarize

from .conftest import GAP_START, START


def test_summary_has_the_cli_keys_and_serializes(steady: History) -> None:
    summary = summarize(steady.accounts, steady.deals, steady.as_of, target_revenue=500_000.0)
    data = json.loads(json.dumps(as_json(summary)))
    for key in ("payoff_f90", "payoff_f180", "expected_opportunities_90d", "expected_revenue_90d"):
        assert key in data
    assert 0 < data["payoff_f90"] <= data["payoff_f180"] < 1
    total = data["expected_opportunities_90d"]
    assert total["lower"] <= total["mean"] <= total["upper"]
    assert total["mean"] == pytest.approx(
        data["expected_opportunities_90d_from_open_cohorts"]["mean"]
        + data["expected_opportunities_90d_from_planned"]["mean"]
    )
    names = [check["name"] for check in data["health"]]
    assert names == ["replacement_coverage", "littles_law", "sales_velocity", "prospecting_gap"]
    assert all(check["status"] in ("ok", "warn", "alert") for check in data["health"])


def test_summary_warns_after_a_gap(gapped: History) -> None:
    as_of = GAP_START + timedelta(days=30)
    summary = summarize(
        accounts_as_of(gapped.accounts, as_of),
        deals_as_of(gapped.deals, as_of),
        as_of,
        history_start=START,
    )
    gap = next(check for check in summary.health if check.name == "prospecting_gap")
    assert gap.status == "alert"
    assert "fewer opportunities in September to November" in gap.message
