"""The distributed-lag fallback recovers a known kernel from daily totals alone."""

from __future__ import annotations

import numpy as np
import pytest

from spoor.forecast.dlm import fit_distributed_lag, lag_weights
from spoor.forecast.records import first_touches_per_day, opportunities_per_day
from spoor.forecast.simulator import History, SimulationConfig, mean_conversion, simulate


@pytest.fixture(scope="module")
def no_disqualification() -> History:
    # Disqualification would thin the kernel's tail; the fallback models conversion only.
    return simulate(SimulationConfig(seed=5, days=900, disqualify_share=0.0))


def series(history: History) -> tuple[np.ndarray, np.ndarray]:
    start, end = history.config.start, history.as_of
    return (
        first_touches_per_day(history.accounts, start, end),
        opportunities_per_day(history.accounts, start, end),
    )


def test_gamma_fit_recovers_p_and_the_mean_lag(no_disqualification: History) -> None:
    touches, opportunities = series(no_disqualification)
    fit = fit_distributed_lag(touches, opportunities)
    assert fit.mean_lag == pytest.approx(no_disqualification.config.kernel.mean, rel=0.2)
    assert fit.p == pytest.approx(mean_conversion(no_disqualification.config), rel=0.1)
    assert fit.weights.sum() == pytest.approx(1.0)


def test_geometric_fit_is_worse_than_gamma_on_gamma_data(no_disqualification: History) -> None:
    touches, opportunities = series(no_disqualification)
    gamma = fit_distributed_lag(touches, opportunities)
    geometric = fit_distributed_lag(touches, opportunities, kind="geometric")
    assert geometric.log_likelihood < gamma.log_likelihood
    assert geometric.p == pytest.approx(gamma.p, rel=0.1)


def test_forecast_follows_planned_touches() -> None:
    # A synthetic series from a known model: a pulse of touches comes back lagged.
    weights = lag_weights("gamma", (20.0, 3.0), 120)
    touches = np.random.default_rng(1).poisson(10.0, 400).astype(float)
    fit = fit_distributed_lag(touches, 0.1 * np.convolve(touches, weights)[:400], max_lag=120)
    assert fit.params == pytest.approx((20.0, 3.0), rel=0.02)
    planned = np.zeros(120)
    planned[0] = 1000.0
    ahead = fit.forecast(touches, planned)
    baseline = fit.forecast(touches, np.zeros(120))
    extra = ahead - baseline
    assert extra.sum() == pytest.approx(fit.p * 1000 * fit.weights[:120].sum(), rel=1e-6)
    assert 10 <= int(np.argmax(extra)) <= 20  # the gamma(3, mean 20) mode is at 13 days


def test_weights_are_a_distribution_with_the_requested_mean() -> None:
    gamma = lag_weights("gamma", (45.0, 2.0), 400)
    geometric = lag_weights("geometric", (10.0,), 400)
    for weights, mean in ((gamma, 44.5), (geometric, 10.0)):
        assert weights.min() >= 0
        assert weights.sum() == pytest.approx(1.0)
        assert np.dot(np.arange(len(weights)), weights) == pytest.approx(mean, rel=0.02)
