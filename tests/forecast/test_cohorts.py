"""The payoff curve: a hand-computed example, invariants, and recovery of a known kernel."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spoor.forecast.cohorts import (
    CurveOptions,
    cohort_table,
    converter_lags,
    intensity_band,
    payoff_by_intensity,
    payoff_by_source,
    payoff_curve,
    rule_test,
)
from spoor.forecast.records import AccountRecord
from spoor.forecast.simulator import History, true_payoff

DAY0 = date(2025, 1, 1)


def account(
    name: str,
    *,
    opportunity: int | None = None,
    disqualified: int | None = None,
    watched: int = 30,
    source: str = "identified",
    touches: int = 3,
) -> AccountRecord:
    def day(offset: int | None) -> date | None:
        return None if offset is None else DAY0 + timedelta(days=offset)

    return AccountRecord(
        name,
        DAY0,
        source,
        touches,
        day(opportunity),
        day(disqualified),
        DAY0 + timedelta(days=watched),
    )


# Opportunities on days 2, 2 and 5; a disqualification on day 1; censored after 3 and 10 days.
HAND = [
    account("a", opportunity=2),
    account("b", watched=3),
    account("c", opportunity=2),
    account("d", disqualified=1),
    account("e", opportunity=5),
    account("f", watched=10),
]


def test_kaplan_meier_matches_the_hand_computed_example() -> None:
    # Day 2: 5 at risk (d left after day 1), 2 events: S = 3/5. Day 5: e and f at risk,
    # 1 event: S = 3/5 * 1/2.
    curve = payoff_curve(HAND, competing=False, horizon=10)
    assert curve.f[:6] == pytest.approx([0, 0, 0.4, 0.4, 0.4, 0.7])
    assert curve.at(10) == pytest.approx(0.7)
    assert curve.at(400) == pytest.approx(0.7)
    assert curve.at_risk[:6] == pytest.approx([6, 6, 5, 2, 2, 2])
    # Greenwood on the log-log scale gives a proper interval around 0.4 on day 2.
    low, high = curve.interval(2)
    assert 0.0 < low < 0.4 < high < 1.0


def test_aalen_johansen_matches_the_hand_computed_example() -> None:
    # Day 1: the disqualification leaves S = 5/6. Day 2: 5/6 * 2/5 = 1/3 of accounts
    # convert, S = 1/2. Day 5: 1/2 * 1/2 more: 7/12.
    curve = payoff_curve(HAND, competing=True, horizon=10, replicates=50, seed=1)
    assert curve.f[:6] == pytest.approx([0, 0, 1 / 3, 1 / 3, 1 / 3, 7 / 12])
    assert curve.event_free[:3] == pytest.approx([1, 5 / 6, 1 / 2])


def test_an_opportunity_on_the_as_of_day_is_not_seen_yet() -> None:
    # b is censored after 3 days: watched on days 0..2, so it is not at risk on day 3.
    curve = payoff_curve([account("b", watched=3)], competing=False, horizon=5)
    assert curve.at_risk[:5] == pytest.approx([1, 1, 1, 0, 0])


records_strategy = st.lists(
    st.tuples(
        st.integers(0, 200),  # days watched
        st.integers(0, 200),  # opportunity day (if < watched and chosen)
        st.integers(0, 200),  # disqualification day (if < watched and chosen)
        st.sampled_from(["none", "opportunity", "disqualified", "both"]),
    ),
    min_size=1,
    max_size=40,
)


def build(rows: list[tuple[int, int, int, str]]) -> list[AccountRecord]:
    out = []
    for i, (watched, opp, dq, kind) in enumerate(rows):
        watched = max(watched, 1)
        opportunity = opp % watched if kind in ("opportunity", "both") else None
        disqualified = dq % watched if kind in ("disqualified", "both") else None
        out.append(
            account(f"x{i}", opportunity=opportunity, disqualified=disqualified, watched=watched)
        )
    return out


@settings(max_examples=60, deadline=None)
@given(records_strategy, st.booleans())
def test_curves_are_monotone_probabilities_inside_their_intervals(
    rows: list[tuple[int, int, int, str]], competing: bool
) -> None:
    curve = payoff_curve(build(rows), competing=competing, horizon=150, replicates=30, seed=3)
    assert np.all(np.diff(curve.f) >= -1e-12)
    assert np.all((curve.f >= 0) & (curve.f <= 1 + 1e-12))
    assert np.all(curve.lower <= curve.f + 1e-12)
    assert np.all(curve.f <= curve.upper + 1e-12)
    assert np.all((curve.lower >= -1e-12) & (curve.upper <= 1 + 1e-12))


@settings(max_examples=60, deadline=None)
@given(records_strategy)
def test_aalen_johansen_never_exceeds_kaplan_meier(rows: list[tuple[int, int, int, str]]) -> None:
    # Treating disqualification as censoring pretends the disqualified could still convert.
    records = build(rows)
    km = payoff_curve(records, competing=False, horizon=150)
    aj = payoff_curve(records, competing=True, horizon=150, replicates=0)
    assert np.all(aj.f <= km.f + 1e-12)
    # Without any disqualification the two estimators agree.
    clean = [a for a in records if a.disqualified is None]
    if clean:
        km_clean = payoff_curve(clean, competing=False, horizon=150)
        aj_clean = payoff_curve(clean, competing=True, horizon=150, replicates=0)
        assert aj_clean.f == pytest.approx(km_clean.f)


@pytest.mark.parametrize("competing", [False, True])
def test_recovers_the_simulated_f90_within_its_interval(steady: History, competing: bool) -> None:
    curve = payoff_curve(steady.accounts, competing=competing, horizon=365, seed=5)
    truth = true_payoff(steady.config, 90, competing=competing)
    low, high = curve.interval(90)
    assert low <= truth <= high, (low, truth, high)
    # The interval is informative, not a blanket: under a quarter of the estimate wide.
    assert high - low < 0.25 * curve.at(90)
    if competing:
        # Treating disqualification as censoring would miss the competing-risk truth.
        assert not low <= payoff_curve(steady.accounts, competing=False).at(90) <= high
    else:
        # Ignoring censoring (counting young accounts as non-converters) would miss it too.
        naive = sum(
            1
            for a in steady.accounts
            if a.opportunity and (a.opportunity - a.first_touch).days <= 90
        ) / len(steady.accounts)
        assert not low <= naive <= high


def test_recovers_the_kernel_mean_lag_within_20_percent(steady: History) -> None:
    curve = payoff_curve(steady.accounts, competing=False, horizon=365)
    # Opportunity days are the lag rounded down, so the discrete mean sits half a day lower.
    true_mean = steady.config.kernel.mean - 0.5
    assert curve.mean_lag() == pytest.approx(true_mean, rel=0.2)
    assert curve.median_lag() == pytest.approx(37.8 - 0.5, rel=0.2)  # gamma(2) median
    # The raw mean among converters is biased short by young, censored cohorts.
    assert converter_lags(steady.accounts).mean < curve.mean_lag()


def test_the_30_day_rule_holds_for_a_45_day_kernel(steady: History) -> None:
    curve = payoff_curve(steady.accounts, competing=True, horizon=365, seed=5)
    test = rule_test(curve)
    truth = true_payoff(steady.config, 90) / true_payoff(steady.config, 180)
    assert test.ratio_interval is not None
    low, high = test.ratio_interval
    assert low <= truth <= high
    assert 0.85 < test.ratio < 0.97


def test_strata_rank_sources_and_intensities(steady: History) -> None:
    by_source = payoff_by_source(steady.accounts, CurveOptions(competing=False, horizon=200))
    assert set(by_source) == {"hand_raiser", "identified", "outbound", "target"}
    assert by_source["hand_raiser"].at(90) > by_source["identified"].at(90)
    assert by_source["identified"].at(90) > by_source["outbound"].at(90)
    truth = true_payoff(steady.config, 90, competing=False, source="hand_raiser")
    low, high = by_source["hand_raiser"].interval(90)
    assert low <= truth <= high
    by_band = payoff_by_intensity(steady.accounts, options=CurveOptions(replicates=20))
    assert by_band["1-2"].at(90) < by_band["10+"].at(90)


def test_intensity_bands() -> None:
    assert [intensity_band(n) for n in (1, 2, 3, 5, 6, 9, 10, 40)] == [
        "1-2", "1-2", "3-5", "3-5", "6-9", "6-9", "10+", "10+"
    ]  # fmt: skip


def test_cohort_table_counts_each_30_day_window(steady: History) -> None:
    table = cohort_table(steady.accounts, steady.config.start)
    assert sum(row.accounts for row in table) == len(steady.accounts)
    assert all((row.start - steady.config.start).days % 30 == 0 for row in table)
    assert table[0].open < table[-1].open  # old cohorts have settled, the newest are open
    assert all(r.opportunities + r.disqualified + r.open == r.accounts for r in table)
