"""Seeded prospecting history with a known payoff kernel, for the demo and for testing the engine.

Every weekday the team first-touches a Poisson number of new accounts (fewer during an
optional prospecting gap). Each account gets a source, a cadence of touches, and two
independent latent clocks: an opportunity that comes with probability p(source, touches)
after a gamma-distributed lag, and a disqualification that comes for a share of accounts
after an exponential wait. Whichever comes first is what happened; anything on or after
``as_of`` is not yet seen. Opportunities become deals that move through stages and close
won or lost (with reasons, some to a named competitor) after a gamma-distributed cycle.

Because the kernel is known, ``true_payoff`` gives the F(d) the engine should recover.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
from scipy import integrate, stats

from spoor.forecast.records import (
    AccountRecord,
    DealRecord,
    FloatArray,
    Outcome,
    StageEntry,
)

STAGES = ("qualify", "discover", "propose", "negotiate")
LOSS_REASONS = ("no decision", "price", "timing", "competitor")
COMPETITORS = ("Leadfeeder", "Snitcher", "Albacross")
TOUCH_KINDS = ("call", "email", "linkedin")
CADENCE_DAYS = 21
MAX_TOUCHES = 60


@dataclass(frozen=True)
class LagKernel:
    """Gamma-distributed days from first touch to opportunity."""

    mean: float = 45.0
    shape: float = 2.0

    def cdf(self, days: FloatArray | float) -> FloatArray:
        """P(lag <= days)."""
        return np.asarray(
            stats.gamma.cdf(days, a=self.shape, scale=self.mean / self.shape), dtype=np.float64
        )

    def pdf(self, days: FloatArray | float) -> FloatArray:
        """Density of the lag."""
        return np.asarray(
            stats.gamma.pdf(days, a=self.shape, scale=self.mean / self.shape), dtype=np.float64
        )


@dataclass(frozen=True)
class SourceProfile:
    """One lead source: its share of first touches, conversion, and cadence length."""

    name: str
    share: float
    conversion: float
    mean_touches: float


DEFAULT_SOURCES = (
    SourceProfile("hand_raiser", 0.10, 0.45, 9.0),
    SourceProfile("identified", 0.35, 0.18, 6.0),
    SourceProfile("target", 0.25, 0.12, 5.0),
    SourceProfile("outbound", 0.30, 0.06, 4.0),
)


@dataclass(frozen=True)
class ProspectingGap:
    """New first touches fall by ``drop`` (0.4 = 40%) for ``days`` days from ``start``."""

    start: date
    days: int = 30
    drop: float = 0.5


@dataclass(frozen=True)
class SimulationConfig:
    """Everything the history depends on; the same config and seed give the same history."""

    seed: int = 7
    start: date = date(2023, 1, 2)
    days: int = 720
    first_touches_per_weekday: float = 12.0
    sources: tuple[SourceProfile, ...] = DEFAULT_SOURCES
    kernel: LagKernel = field(default_factory=LagKernel)
    # Conversion scales with (touches / source mean) ** elasticity: more touches, more replies.
    intensity_elasticity: float = 0.5
    disqualify_share: float = 0.3
    disqualify_mean_days: float = 40.0
    gap: ProspectingGap | None = None
    # Month-to-month swings in prospecting volume (lognormal sigma of a factor per 30 days):
    # campaigns, holidays, hiring. Without swings a lag is barely visible in daily totals.
    volume_variation: float = 0.3
    win_rate: float = 0.3
    won_cycle_days: float = 45.0
    lost_cycle_days: float = 70.0
    median_amount: float = 12_000.0
    amount_sigma: float = 0.6
    # Lost deals nobody closes: they sit in the pipeline and make it look bigger than it is.
    stalled_share: float = 0.0

    @property
    def as_of(self) -> date:
        """The day the history is read (first day not simulated)."""
        return self.start + timedelta(days=self.days)


@dataclass(frozen=True)
class Touch:
    """One prospecting touch of an account."""

    account_id: str
    day: date
    kind: str


@dataclass(frozen=True)
class History:
    """A simulated history as of ``config.as_of``: the engine's inputs plus the raw touches."""

    config: SimulationConfig
    accounts: tuple[AccountRecord, ...]
    touches: tuple[Touch, ...]
    deals: tuple[DealRecord, ...]

    @property
    def as_of(self) -> date:
        """The censoring date of every record."""
        return self.config.as_of


def conversion_probability(source: SourceProfile, touches: int, elasticity: float) -> float:
    """P(an account ever becomes an opportunity) given its source and touch count."""
    scaled = source.conversion * (touches / source.mean_touches) ** elasticity
    return min(0.95, float(scaled))


def _touch_pmf(source: SourceProfile) -> FloatArray:
    # Touch counts are 1 + Poisson(mean - 1): every account gets at least its first touch.
    extra = np.arange(MAX_TOUCHES)
    return np.asarray(stats.poisson.pmf(extra, source.mean_touches - 1.0), dtype=np.float64)


def mean_conversion(config: SimulationConfig, source: str | None = None) -> float:
    """The expected eventual conversion p over sources (or of one) and touch counts."""
    total, weight = 0.0, 0.0
    for profile in config.sources:
        if source is not None and profile.name != source:
            continue
        pmf = _touch_pmf(profile)
        p = [
            conversion_probability(profile, k + 1, config.intensity_elasticity)
            for k in range(MAX_TOUCHES)
        ]
        total += profile.share * float(np.dot(pmf, p))
        weight += profile.share
    return total / weight


def true_payoff(
    config: SimulationConfig, day: int, *, competing: bool = True, source: str | None = None
) -> float:
    """The F(day) the simulated history was drawn from.

    Opportunity days are whole days after the first touch (the lag rounded down), so
    "within d days" means lag < d + 1. Without competition F(d) = p G(d + 1); with
    disqualification competing F(d) = p * integral_0^{d+1} g(u) (1 - q (1 - e^(-u/m))) du.
    """
    p = mean_conversion(config, source)
    kernel = config.kernel
    if not competing:
        return p * float(kernel.cdf(day + 1.0))
    q, m = config.disqualify_share, config.disqualify_mean_days

    def density(u: float) -> float:
        return float(kernel.pdf(u)) * (1.0 - q * (1.0 - float(np.exp(-u / m))))

    value, _ = integrate.quad(density, 0.0, day + 1.0, limit=200)
    return p * float(value)


def _daily_rate(config: SimulationConfig, day: date, factor: float) -> float:
    if day.weekday() >= 5:
        return 0.0
    rate = config.first_touches_per_weekday * factor
    gap = config.gap
    if gap is not None and gap.start <= day < gap.start + timedelta(days=gap.days):
        rate *= 1.0 - gap.drop
    return rate


@dataclass
class _Builder:
    config: SimulationConfig
    rng: np.random.Generator
    accounts: list[AccountRecord] = field(default_factory=list)
    touches: list[Touch] = field(default_factory=list)
    deals: list[DealRecord] = field(default_factory=list)

    def account(self, first_touch: date) -> None:
        config, rng = self.config, self.rng
        shares = np.array([source.share for source in config.sources])
        source = config.sources[int(rng.choice(len(shares), p=shares / shares.sum()))]
        count = 1 + int(rng.poisson(source.mean_touches - 1.0))
        account_id = f"a{len(self.accounts) + 1:06d}"
        p = conversion_probability(source, count, config.intensity_elasticity)
        kernel = config.kernel
        lag = rng.gamma(kernel.shape, kernel.mean / kernel.shape) if rng.random() < p else None
        dq = None
        if rng.random() < config.disqualify_share:
            dq = rng.exponential(config.disqualify_mean_days)
        opportunity = disqualified = None
        if lag is not None and (dq is None or lag < dq):
            opportunity = self._seen(first_touch + timedelta(days=int(lag)))
        elif dq is not None:
            disqualified = self._seen(first_touch + timedelta(days=int(dq)))
        self.accounts.append(
            AccountRecord(
                account_id, first_touch, source.name, count, opportunity, disqualified,
                config.as_of,
            )
        )  # fmt: skip
        self._touches(account_id, first_touch, count)
        if opportunity is not None:
            self._deal(account_id, source.name, opportunity)

    def _seen(self, day: date) -> date | None:
        return day if day < self.config.as_of else None

    def _touches(self, account_id: str, first_touch: date, count: int) -> None:
        offsets = np.sort(self.rng.integers(1, CADENCE_DAYS, size=count - 1))
        kinds = self.rng.integers(0, len(TOUCH_KINDS), size=count)
        for offset, kind in zip([0, *offsets.tolist()], kinds.tolist(), strict=True):
            day = first_touch + timedelta(days=int(offset))
            if day < self.config.as_of:
                self.touches.append(Touch(account_id, day, TOUCH_KINDS[kind]))

    def _deal(self, account_id: str, source: str, created: date) -> None:
        config, rng = self.config, self.rng
        won = bool(rng.random() < config.win_rate)
        mean_cycle = config.won_cycle_days if won else config.lost_cycle_days
        cycle = 1 + int(rng.gamma(2.0, mean_cycle / 2.0))
        reached = len(STAGES) if won else 1 + int(rng.integers(0, len(STAGES)))
        stages = tuple(
            StageEntry(STAGES[i], created + timedelta(days=cycle * i // reached))
            for i in range(reached)
        )
        closed: date | None = created + timedelta(days=cycle)
        stalled = not won and rng.random() < config.stalled_share
        if stalled or (closed is not None and closed >= config.as_of):
            closed = None
        outcome: Outcome | None = None if closed is None else ("won" if won else "lost")
        reason = competitor = None
        if outcome == "lost":
            reason = LOSS_REASONS[int(rng.integers(0, len(LOSS_REASONS)))]
            if reason == "competitor":
                competitor = COMPETITORS[int(rng.integers(0, len(COMPETITORS)))]
        amount = float(round(config.median_amount * rng.lognormal(0.0, config.amount_sigma), -2))
        self.deals.append(
            DealRecord(
                deal_id=f"d{len(self.deals) + 1:06d}",
                account_id=account_id,
                created=created,
                amount=amount,
                stages=tuple(entry for entry in stages if entry.entered < config.as_of),
                closed=closed,
                outcome=outcome,
                loss_reason=reason,
                competitor=competitor,
                source=source,
            )
        )


def simulate(config: SimulationConfig | None = None) -> History:
    """Simulate ``config.days`` days of prospecting and what came of it."""
    config = config or SimulationConfig()
    builder = _Builder(config, np.random.default_rng(config.seed))
    # Drawn from their own stream so turning swings on or off leaves the rest comparable.
    swings = np.random.default_rng([config.seed, 1]).lognormal(
        -(config.volume_variation**2) / 2, config.volume_variation, size=config.days // 30 + 1
    )
    for offset in range(config.days):
        day = config.start + timedelta(days=offset)
        rate = _daily_rate(config, day, float(swings[offset // 30]))
        for _ in range(int(builder.rng.poisson(rate))):
            builder.account(day)
    # Deals are listed in the order they were created, as a CRM would list them.
    deals = sorted(builder.deals, key=lambda deal: (deal.created, deal.deal_id))
    return History(config, tuple(builder.accounts), tuple(builder.touches), tuple(deals))


def gap_before(as_of: date, days: int = 30, drop: float = 0.5) -> ProspectingGap:
    """A gap covering the ``days`` days just before ``as_of``."""
    return ProspectingGap(start=as_of - timedelta(days=days), days=days, drop=drop)
