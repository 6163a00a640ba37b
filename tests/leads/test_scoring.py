"""The scoring maths, property-tested: bounded, monotone in new signals, cooling with time,
and every point explained."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spoor.leads.scoring import (
    DAY,
    FitRule,
    PageType,
    Signal,
    fit,
    intent,
    page_type,
    priority,
)

NOW = 1_790_000_000


def day_of(ts: int) -> date:
    return datetime.fromtimestamp(ts, UTC).date()


signals = st.builds(
    lambda age, kind, path, visitor: Signal(NOW - age, day_of(NOW - age), kind, path, visitor),
    st.integers(0, 90 * DAY),
    st.sampled_from(list(PageType)),
    st.sampled_from(["/", "/pricing", "/docs", "/careers", "/demo"]),
    st.integers(1, 6),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(signals, max_size=40))
def test_bounded_and_fully_explained(history: list[Signal]) -> None:
    result = intent(history, NOW)
    assert 0.0 <= result.score <= 100.0
    assert sum(r.points for r in result.reasons) == pytest.approx(result.score, abs=1e-6)
    assert all(r.points > 0 for r in result.reasons)


@settings(max_examples=300, deadline=None)
@given(st.lists(signals, max_size=40), signals)
def test_a_new_signal_never_lowers_the_score(history: list[Signal], new: Signal) -> None:
    before = intent(history, NOW).score
    after = intent([*history, new], NOW).score
    assert after >= before - 1e-9


@settings(max_examples=300, deadline=None)
@given(st.lists(signals, max_size=40), st.integers(1, 60 * DAY))
def test_without_new_signals_a_score_only_cools(history: list[Signal], later: int) -> None:
    assert intent(history, NOW + later).score <= intent(history, NOW).score + 1e-9


def test_a_hand_raise_just_now_is_hot_and_said_in_words() -> None:
    result = intent([Signal(NOW - 12 * 60, day_of(NOW), PageType.HAND_RAISE, "/demo", 1)], NOW)
    assert result.score == pytest.approx(100 * (1 - 2.718281828**-1), abs=0.1)
    assert result.reasons[0].text == "sent /demo, 12 minutes ago"


def test_reasons_name_pages_people_and_days() -> None:
    history = [
        Signal(NOW - 2 * DAY, day_of(NOW - 2 * DAY), PageType.PRICING, "/pricing", 1),
        Signal(NOW - 2 * DAY + 60, day_of(NOW - 2 * DAY), PageType.PRICING, "/pricing", 1),
        Signal(NOW - 3600, day_of(NOW - 3600), PageType.PRODUCT, "/docs", 2),
        Signal(NOW - 1800, day_of(NOW - 1800), PageType.OTHER, "/blog", 3),
    ]
    texts = [r.text for r in intent(history, NOW).reasons]
    assert texts[0] == "read /pricing twice, 2 days ago"
    assert "3 people from this organization in 30 days" in texts
    assert "came back on 1 more day in 30 days" in texts


def test_half_life_halves_the_strength() -> None:
    one = [Signal(NOW, day_of(NOW), PageType.PRICING, "/pricing", 1)]
    assert intent(one, NOW + 7 * DAY).strength == pytest.approx(intent(one, NOW).strength / 2)


def test_careers_only_visitors_are_flagged() -> None:
    careers = [Signal(NOW - 60, day_of(NOW), PageType.NOT_BUYER, "/careers/x", 1)]
    result = intent(careers, NOW)
    assert result.not_buyer
    assert result.score == 0
    mixed = [*careers, Signal(NOW - 30, day_of(NOW), PageType.PRICING, "/pricing", 1)]
    assert not intent(mixed, NOW).not_buyer


def test_only_three_of_a_page_type_count_per_day() -> None:
    many = [Signal(NOW - i, day_of(NOW), PageType.PRICING, "/pricing", 1) for i in range(10)]
    assert intent(many, NOW).strength == pytest.approx(intent(many[:3], NOW).strength, rel=1e-4)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/pricing", PageType.PRICING),
        ("/pricing/enterprise", PageType.PRICING),
        ("/careers/senior-backend-engineer", PageType.NOT_BUYER),
        ("/case-studies/halvorsen", PageType.EVALUATION),
        ("/docs/getting-started", PageType.PRODUCT),
        ("/blog/why", PageType.OTHER),
        ("/pricingless", PageType.OTHER),
    ],
)
def test_default_page_rules(path: str, expected: PageType) -> None:
    assert page_type(path) is expected


def test_fit_adds_matching_rules_up_to_100() -> None:
    rules = [
        FitRule("industry", ("Software", "Retail"), 40, "industry: software or retail"),
        FitRule("size", ("201-1000",), 30, "201-1000 employees"),
        FitRule("country", ("DE", "NL"), 40, "in Germany or the Netherlands"),
    ]
    some = fit({"industry": "software", "size": "11-50", "country": None}, rules)
    assert (some.score, [r.text for r in some.reasons]) == (40, ["industry: software or retail"])
    full = fit({"industry": "Retail", "size": "201-1000", "country": "nl"}, rules)
    assert full.score == 100
    assert sum(r.points for r in full.reasons) == pytest.approx(100)
    assert priority(full.score, 50) == pytest.approx(0.4 * 100 + 0.6 * 50)
