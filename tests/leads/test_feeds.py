"""Feed filters on leads: each filter keeps what it says and nothing else."""

from __future__ import annotations

import pytest

from spoor.leads.feeds import FeedError, FeedFilter
from spoor.leads.scoring import Fit, Intent
from spoor.leads.service import Lead

NOW = 1_790_000_000
DAY = 86_400


def lead(**changes: object) -> Lead:
    base: dict[str, object] = {
        "org_id": 1, "name": "Acme", "type": "business", "country": "DE", "domain": None,
        "priority": 70.0, "fit": Fit(60, ()), "intent": Intent(70, 30, (), False, NOW),
        "first_seen": NOW - 3 * DAY, "paths": frozenset({"/pricing", "/"}), "active_days": 2,
    }  # fmt: skip
    return Lead(**{**base, **changes})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("wanted", "kept", "dropped"),
    [
        (FeedFilter(org_type="business"), lead(), lead(type="education")),
        (FeedFilter(country="de"), lead(), lead(country="NL")),
        (FeedFilter(min_priority=60), lead(), lead(priority=59.9)),
        (FeedFilter(path="/pric"), lead(), lead(paths=frozenset({"/blog"}))),
        (FeedFilter(new_within_days=7), lead(), lead(first_seen=NOW - 30 * DAY)),
        (FeedFilter(returning=True), lead(), lead(active_days=1)),
        (FeedFilter(returning=False), lead(active_days=1), lead()),
        (FeedFilter(claimed=True), lead(owner_id=3), lead()),
        (FeedFilter(claimed=False), lead(), lead(owner_id=3)),
        (FeedFilter(owner_id=3), lead(owner_id=3), lead(owner_id=4)),
        (FeedFilter(target=True), lead(target=True), lead()),
    ],
)
def test_each_filter(wanted: FeedFilter, kept: Lead, dropped: Lead) -> None:
    assert wanted.keeps(kept, NOW)
    assert not wanted.keeps(dropped, NOW)


def test_parse_and_describe() -> None:
    wanted = FeedFilter.parse({"org_type": "business", "country": "nl", "min_priority": "50",
                               "path": "", "returning": "yes"})  # fmt: skip
    assert wanted == FeedFilter("business", "NL", 50.0, None, None, True)
    assert wanted.describe() == "business, in NL, priority 50+, returning"
    assert FeedFilter().describe() == "every lead"
    with pytest.raises(FeedError, match="not a number"):
        FeedFilter.parse({"min_priority": "lots"})
