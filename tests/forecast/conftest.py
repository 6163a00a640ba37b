"""Simulated histories shared by the forecast tests (each simulated once per session)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from spoor.forecast.simulator import History, ProspectingGap, SimulationConfig, simulate

START = date(2023, 1, 2)
# The gap starts 600 days in; the window it hurts (30 to 90 days later) is still in view.
GAP_START = START + timedelta(days=600)


@pytest.fixture(scope="session")
def steady() -> History:
    """Two years of steady prospecting with the default kernel (gamma, mean 45 days)."""
    return simulate(SimulationConfig(seed=2024, start=START, days=720))


@pytest.fixture(scope="session")
def gapped() -> History:
    """900 days with prospecting down 60% for 30 days from GAP_START."""
    gap = ProspectingGap(start=GAP_START, days=30, drop=0.6)
    return simulate(SimulationConfig(seed=11, start=START, days=900, gap=gap))


@pytest.fixture(scope="session")
def ungapped() -> History:
    """The same 900 days as ``gapped`` without the gap."""
    return simulate(SimulationConfig(seed=11, start=START, days=900))
