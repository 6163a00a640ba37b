"""The payoff curve F(d): how likely a prospected account becomes an opportunity within d days.

Accounts enter at their first touch and are followed day by day until an opportunity, a
disqualification or the censoring date. Kaplan-Meier treats disqualification as censoring
(the curve a team would see if nobody were disqualified); Aalen-Johansen treats it as a
competing risk (the share of accounts that really do become opportunities). Both run on a
daily grid built with ``np.bincount``, so a bootstrap over thousands of accounts is cheap.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

import numpy as np
from scipy import stats

from spoor.forecast.records import AccountRecord, FloatArray, IntArray

Method = Literal["kaplan-meier", "aalen-johansen"]
IntervalKind = Literal["greenwood", "bootstrap"]

CENSORED, OPPORTUNITY, DISQUALIFIED = 0, 1, 2
COHORT_DAYS = 30


@dataclass(frozen=True)
class SurvivalData:
    """Days from first touch to the first event (or censoring), and which event it was."""

    durations: IntArray
    events: IntArray


@dataclass(frozen=True)
class RiskTable:
    """Per day d = 0..horizon: accounts still at risk and the events seen that day."""

    at_risk: FloatArray
    opportunities: FloatArray
    disqualified: FloatArray


@dataclass(frozen=True)
class PayoffCurve:
    """F(d) for d = 0..horizon with a pointwise interval, and what it was estimated from."""

    label: str
    method: Method
    f: FloatArray
    lower: FloatArray
    upper: FloatArray
    event_free: FloatArray
    at_risk: FloatArray
    accounts: int
    opportunities: int
    confidence: float
    replicates: FloatArray | None = None

    @property
    def horizon(self) -> int:
        """The last day the curve covers."""
        return len(self.f) - 1

    def at(self, day: float) -> float:
        """F(day); flat past the horizon, 0 before day 0."""
        if day < 0:
            return 0.0
        return float(self.f[min(int(day), self.horizon)])

    def interval(self, day: float) -> tuple[float, float]:
        """The pointwise interval of F(day)."""
        index = min(max(int(day), 0), self.horizon)
        return float(self.lower[index]), float(self.upper[index])

    def survival_at(self, day: float) -> float:
        """P(no event of any kind by day): the denominator for open accounts of that age."""
        if day < 0:
            return 1.0
        return float(self.event_free[min(int(day), self.horizon)])

    def conditional(self, age: float, window: float) -> float:
        """P(opportunity in (age, age + window] | no event by age): (F(a+w) - F(a)) / S(a)."""
        alive = self.survival_at(age)
        if alive <= 0.0:
            return 0.0
        return max(self.at(age + window) - self.at(age), 0.0) / alive

    def pmf(self) -> FloatArray:
        """Probability of the opportunity arriving on each day d (F's increments)."""
        return np.diff(self.f, prepend=0.0)

    def lag_quantile(self, q: float) -> int:
        """The day by which a share q of the opportunities (up to the horizon) have arrived."""
        total = self.f[-1]
        if total <= 0.0:
            return self.horizon
        return int(np.searchsorted(self.f, q * total - 1e-12))

    def mean_lag(self) -> float:
        """Mean days from first touch to opportunity among converters, censoring-aware."""
        total = float(self.f[-1])
        if total <= 0.0:
            return float("nan")
        days = np.arange(self.horizon + 1, dtype=np.float64)
        return float(np.sum(days * self.pmf()) / total)

    def median_lag(self) -> int:
        """Median days from first touch to opportunity among converters."""
        return self.lag_quantile(0.5)


@dataclass(frozen=True)
class RuleTest:
    """The 30-day rule on the team's data: how much of 180 days' payoff arrives by day 90."""

    f90: float
    f180: float
    ratio: float
    ratio_interval: tuple[float, float] | None


@dataclass(frozen=True)
class LagStats:
    """Observed lag (days) from first touch to opportunity among accounts that converted."""

    converters: int
    mean: float
    median: float


@dataclass(frozen=True)
class CohortSummary:
    """One 30-day prospecting cohort: accounts first touched in [start, start + 30 days)."""

    start: date
    accounts: int
    opportunities: int
    disqualified: int
    open: int


def survival_data(records: Sequence[AccountRecord]) -> SurvivalData:
    """Durations and first events; an opportunity on the day of disqualification wins."""
    durations = np.empty(len(records), dtype=np.int64)
    events = np.empty(len(records), dtype=np.int64)
    for i, record in enumerate(records):
        opportunity, disqualified = record.opportunity, record.disqualified
        if opportunity is not None and (disqualified is None or opportunity <= disqualified):
            durations[i], events[i] = (opportunity - record.first_touch).days, OPPORTUNITY
        elif disqualified is not None:
            durations[i], events[i] = (disqualified - record.first_touch).days, DISQUALIFIED
        else:
            durations[i], events[i] = (record.as_of - record.first_touch).days, CENSORED
    return SurvivalData(durations=durations, events=events)


def risk_table(data: SurvivalData, horizon: int, weights: FloatArray | None = None) -> RiskTable:
    """Counts per day on 0..horizon (weights: bootstrap multiplicities).

    An event on day e leaves the account at risk through day e; censoring after c days
    means it was watched on days 0..c-1 (an opportunity on the as-of day itself is unseen).
    """
    w = np.ones(len(data.durations)) if weights is None else weights

    def counts(days: IntArray, where: FloatArray) -> FloatArray:
        return np.bincount(days, weights=where, minlength=horizon + 1).astype(np.float64)

    event = data.events != CENSORED
    last_day = np.where(event, data.durations, data.durations - 1)
    keep = last_day >= 0
    exits = counts(np.minimum(last_day[keep], horizon), w[keep])
    at_risk: FloatArray = np.cumsum(exits[::-1])[::-1]

    def counted(kind: int) -> FloatArray:
        mask = (data.events == kind) & (data.durations <= horizon) & (data.durations >= 0)
        return counts(data.durations[mask], w[mask])

    return RiskTable(at_risk, counted(OPPORTUNITY), counted(DISQUALIFIED))


def _hazard(events: FloatArray, at_risk: FloatArray) -> FloatArray:
    return np.divide(events, at_risk, out=np.zeros_like(events), where=at_risk > 0)


def kaplan_meier(table: RiskTable) -> tuple[FloatArray, FloatArray]:
    """F(d) = 1 - prod(1 - d_j / n_j), disqualification censored; and the survival S."""
    survival = np.cumprod(1.0 - _hazard(table.opportunities, table.at_risk), dtype=np.float64)
    return 1.0 - survival, survival


def aalen_johansen(table: RiskTable) -> tuple[FloatArray, FloatArray]:
    """Cumulative incidence of opportunity with disqualification competing; and S(any)."""
    h_opp = _hazard(table.opportunities, table.at_risk)
    h_any = _hazard(table.opportunities + table.disqualified, table.at_risk)
    event_free = np.cumprod(1.0 - h_any, dtype=np.float64)
    before = np.concatenate(([1.0], event_free[:-1]))
    incidence: FloatArray = np.cumsum(before * h_opp)
    return incidence, event_free


def _estimate(table: RiskTable, method: Method) -> tuple[FloatArray, FloatArray]:
    return kaplan_meier(table) if method == "kaplan-meier" else aalen_johansen(table)


def greenwood_interval(
    table: RiskTable, survival: FloatArray, confidence: float
) -> tuple[FloatArray, FloatArray]:
    """Greenwood's variance on the log-log scale, so the interval stays inside [0, 1]."""
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    n, d = table.at_risk, table.opportunities
    denominator = n * (n - d)
    terms = np.divide(d, denominator, out=np.zeros_like(d), where=denominator > 0)
    variance = np.cumsum(terms)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_s = np.log(survival)
        spread = z * np.sqrt(variance) / np.abs(log_s)
        s_low = survival ** np.exp(-spread)
        s_high = survival ** np.exp(spread)
    inside = (survival > 0) & (survival < 1)
    s_low = np.where(inside, s_low, survival)
    s_high = np.where(inside, s_high, survival)
    return 1.0 - s_low, 1.0 - s_high


def bootstrap_curves(
    data: SurvivalData, horizon: int, method: Method, replicates: int, seed: int
) -> FloatArray:
    """F re-estimated on accounts resampled with replacement (multinomial weights)."""
    rng = np.random.default_rng(seed)
    n = len(data.durations)
    weights = rng.multinomial(n, np.full(n, 1.0 / n), size=replicates).astype(np.float64)
    curves = [_estimate(risk_table(data, horizon, w), method)[0] for w in weights]
    return np.vstack(curves) if curves else np.zeros((0, horizon + 1))


def _percentile_band(
    replicates: FloatArray, f: FloatArray, confidence: float
) -> tuple[FloatArray, FloatArray]:
    if len(replicates) == 0:
        return f.copy(), f.copy()
    tail = (1.0 - confidence) / 2 * 100
    lower, upper = np.percentile(replicates, [tail, 100 - tail], axis=0)
    return lower, upper


def payoff_curve(
    records: Sequence[AccountRecord],
    *,
    competing: bool = True,
    horizon: int = 365,
    confidence: float = 0.95,
    interval: IntervalKind | None = None,
    replicates: int = 200,
    seed: int = 0,
    label: str = "all",
) -> PayoffCurve:
    """Estimate F(d) for d = 0..horizon.

    ``competing`` picks Aalen-Johansen (disqualification competes) over Kaplan-Meier.
    ``interval`` defaults to Greenwood for Kaplan-Meier and to a bootstrap over accounts
    (``replicates`` draws from ``seed``) for Aalen-Johansen.
    """
    method: Method = "aalen-johansen" if competing else "kaplan-meier"
    kind = interval or ("bootstrap" if competing else "greenwood")
    data = survival_data(records)
    table = risk_table(data, horizon)
    f, event_free = _estimate(table, method)
    boot: FloatArray | None = None
    if kind == "greenwood" and not competing:
        lower, upper = greenwood_interval(table, event_free, confidence)
    else:
        boot = bootstrap_curves(data, horizon, method, replicates, seed)
        lower, upper = _percentile_band(boot, f, confidence)
    # A percentile interval can miss the estimate in tiny samples; an interval that does
    # not contain its own estimate would only confuse the reader.
    lower, upper = np.minimum(lower, f), np.maximum(upper, f)
    return PayoffCurve(
        label=label,
        method=method,
        f=f,
        lower=lower,
        upper=upper,
        event_free=event_free,
        at_risk=table.at_risk,
        accounts=len(records),
        opportunities=int(np.sum(data.events == OPPORTUNITY)),
        confidence=confidence,
        replicates=boot,
    )


def rule_test(curve: PayoffCurve) -> RuleTest:
    """F(90), F(180) and their ratio; near 1 means prospecting pays off within 90 days."""
    f90, f180 = curve.at(90), curve.at(180)
    ratio = f90 / f180 if f180 > 0 else float("nan")
    ratio_interval: tuple[float, float] | None = None
    if curve.replicates is not None and curve.horizon >= 180 and len(curve.replicates):
        reps = curve.replicates
        ratios = np.divide(
            reps[:, 90], reps[:, 180], out=np.ones(len(reps)), where=reps[:, 180] > 0
        )
        tail = (1.0 - curve.confidence) / 2 * 100
        low, high = np.percentile(ratios, [tail, 100 - tail])
        ratio_interval = (float(low), float(high))
    return RuleTest(f90=f90, f180=f180, ratio=ratio, ratio_interval=ratio_interval)


def intensity_band(touches: int, edges: Sequence[int] = (3, 6, 10)) -> str:
    """A touch count's band label: with edges (3, 6, 10) -> "1-2", "3-5", "6-9", "10+"."""
    low = 1
    for edge in edges:
        if touches < edge:
            return f"{low}-{edge - 1}"
        low = edge
    return f"{low}+"


@dataclass(frozen=True)
class CurveOptions:
    """How ``payoff_curve`` estimates each stratum (see its parameters)."""

    competing: bool = True
    horizon: int = 365
    confidence: float = 0.95
    interval: IntervalKind | None = None
    replicates: int = 200
    seed: int = 0


def payoff_by(
    records: Sequence[AccountRecord],
    key: Callable[[AccountRecord], str],
    options: CurveOptions | None = None,
) -> dict[str, PayoffCurve]:
    """One curve per stratum, labelled with the stratum's key."""
    o = options or CurveOptions()
    groups: dict[str, list[AccountRecord]] = defaultdict(list)
    for record in records:
        groups[key(record)].append(record)
    return {
        name: payoff_curve(
            group,
            competing=o.competing,
            horizon=o.horizon,
            confidence=o.confidence,
            interval=o.interval,
            replicates=o.replicates,
            seed=o.seed,
            label=name,
        )
        for name, group in sorted(groups.items())
    }


def payoff_by_source(
    records: Sequence[AccountRecord], options: CurveOptions | None = None
) -> dict[str, PayoffCurve]:
    """Curves stratified by source (hand_raiser, identified, target, outbound, ...)."""
    return payoff_by(records, lambda record: record.source, options)


def payoff_by_intensity(
    records: Sequence[AccountRecord],
    edges: Sequence[int] = (3, 6, 10),
    options: CurveOptions | None = None,
) -> dict[str, PayoffCurve]:
    """Curves stratified by touch-intensity band."""
    return payoff_by(records, lambda record: intensity_band(record.touches, edges), options)


def converter_lags(records: Sequence[AccountRecord]) -> LagStats:
    """Raw lags among converters; biased short while recent cohorts are young (use the curve)."""
    lags = [
        (record.opportunity - record.first_touch).days
        for record in records
        if record.opportunity is not None
    ]
    if not lags:
        return LagStats(converters=0, mean=float("nan"), median=float("nan"))
    return LagStats(len(lags), float(np.mean(lags)), float(np.median(lags)))


def cohort_start(first_touch: date, anchor: date, days: int = COHORT_DAYS) -> date:
    """Start of the ``days``-day cohort window (aligned on ``anchor``) holding ``first_touch``."""
    return anchor + timedelta(days=((first_touch - anchor).days // days) * days)


def cohort_table(
    records: Sequence[AccountRecord], anchor: date, days: int = COHORT_DAYS
) -> list[CohortSummary]:
    """Counts per 30-day prospecting cohort, oldest first."""
    groups: dict[date, list[AccountRecord]] = defaultdict(list)
    for record in records:
        groups[cohort_start(record.first_touch, anchor, days)].append(record)
    table = []
    for start, group in sorted(groups.items()):
        data = survival_data(group)
        table.append(
            CohortSummary(
                start=start,
                accounts=len(group),
                opportunities=int(np.sum(data.events == OPPORTUNITY)),
                disqualified=int(np.sum(data.events == DISQUALIFIED)),
                open=int(np.sum(data.events == CENSORED)),
            )
        )
    return table
