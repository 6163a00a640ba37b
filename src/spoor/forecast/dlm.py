"""Distributed-lag fallback for when touches cannot be tied to accounts.

    opportunities_t ~ Poisson(p * sum_k g_k * touches_{t-k}),   k = 0..max_lag

with g a discretised gamma (shape and mean) or geometric kernel summing to 1, fitted by
maximum likelihood (scipy.optimize over log-parameters). With first touches as the input
series, p is the conversion per new account and g is the lag from first touch to
opportunity; with all touches, g also absorbs the spread of the cadence.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import optimize, special, stats

from spoor.forecast.records import FloatArray

KernelKind = Literal["gamma", "geometric"]
MAX_LAG = 240


@dataclass(frozen=True)
class DistributedLagFit:
    """A fitted distributed-lag model: conversion p, lag weights g_k, and how it fitted."""

    kind: KernelKind
    p: float
    params: tuple[float, ...]
    weights: FloatArray
    log_likelihood: float
    observations: int

    @property
    def mean_lag(self) -> float:
        """Mean of the (discretised, truncated) lag kernel in days."""
        return float(np.dot(np.arange(len(self.weights)), self.weights))

    def expected(self, touches: FloatArray) -> FloatArray:
        """Expected opportunities per day for a touch series (same length as ``touches``)."""
        series = np.asarray(touches, dtype=np.float64)
        return self.p * np.convolve(series, self.weights)[: len(series)]

    def forecast(self, past: FloatArray, planned: FloatArray) -> FloatArray:
        """Expected opportunities on each planned day, given past and planned touches."""
        series = np.concatenate((np.asarray(past, np.float64), np.asarray(planned, np.float64)))
        return self.expected(series)[len(past) :]


def lag_weights(kind: KernelKind, params: tuple[float, ...], max_lag: int = MAX_LAG) -> FloatArray:
    """Kernel weights g_0..g_max_lag, summing to 1.

    Gamma: params (mean, shape), day k gets the mass of [k, k + 1), as an opportunity
    d whole days after a touch has a lag in [d, d + 1). Geometric: params (mean,),
    g_k = (1 - r) r^k with r = mean / (1 + mean).
    """
    days = np.arange(max_lag + 2, dtype=np.float64)
    if kind == "gamma":
        mean, shape = params
        cdf = stats.gamma.cdf(days, a=shape, scale=mean / shape)
        weights = np.diff(cdf)
    else:
        ratio = params[0] / (1.0 + params[0])
        weights = (1.0 - ratio) * ratio ** days[:-1]
    total = float(weights.sum())
    return np.asarray(weights / total if total > 0 else weights, dtype=np.float64)


def _unpack(kind: KernelKind, theta: FloatArray) -> tuple[float, tuple[float, ...]]:
    values = np.exp(np.clip(theta, -20.0, 20.0))
    if kind == "gamma":
        return float(values[0]), (float(values[1]), float(values[2]))
    return float(values[0]), (float(values[1]),)


def _negative_log_likelihood(
    theta: FloatArray,
    kind: KernelKind,
    touches: FloatArray,
    opportunities: FloatArray,
    first: int,
    max_lag: int,
) -> float:
    p, params = _unpack(kind, theta)
    weights = lag_weights(kind, params, max_lag)
    mu = p * np.convolve(touches, weights)[: len(touches)][first:]
    mu = np.maximum(mu, 1e-12)
    y = opportunities[first:]
    return float(np.sum(mu - y * np.log(mu) + special.gammaln(y + 1.0)))


def fit_distributed_lag(
    touches: FloatArray,
    opportunities: FloatArray,
    *,
    kind: KernelKind = "gamma",
    max_lag: int = MAX_LAG,
    burn_in: int | None = None,
) -> DistributedLagFit:
    """Fit p and the kernel by Poisson maximum likelihood.

    Both series are per day and aligned. The first ``burn_in`` days (default: the
    smaller of ``max_lag`` and a third of the series) only feed the lags, because their
    opportunities may come from touches before the series began.
    """
    x = np.asarray(touches, dtype=np.float64)
    y = np.asarray(opportunities, dtype=np.float64)
    first = burn_in if burn_in is not None else min(max_lag, len(x) // 3)
    rate = y[first:].sum() / max(x[: len(x) - max(first // 2, 1)].sum(), 1.0)
    start_p = max(rate, 1e-4)
    start = (
        [np.log(start_p), np.log(30.0), np.log(2.0)]
        if kind == "gamma"
        else [
            np.log(start_p),
            np.log(30.0),
        ]
    )
    result = optimize.minimize(
        _negative_log_likelihood,
        np.array(start),
        args=(kind, x, y, first, max_lag),
        method="Nelder-Mead",
        options={"xatol": 1e-4, "fatol": 1e-6, "maxiter": 2000},
    )
    p, params = _unpack(kind, np.asarray(result.x, dtype=np.float64))
    return DistributedLagFit(
        kind=kind,
        p=p,
        params=params,
        weights=lag_weights(kind, params, max_lag),
        log_likelihood=-float(result.fun),
        observations=len(x) - first,
    )
