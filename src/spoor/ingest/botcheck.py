"""Measuring the bot step against labelled user agents (precision and recall)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from spoor.ingest.bots import is_bot


@dataclass
class BotScore:
    true_positives: int = 0
    false_positives: int = 0
    false_negatives: int = 0
    true_negatives: int = 0
    missed: list[str] = field(default_factory=list)
    wrongly_flagged: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        flagged = self.true_positives + self.false_positives
        return self.true_positives / flagged if flagged else 1.0

    @property
    def recall(self) -> float:
        bots = self.true_positives + self.false_negatives
        return self.true_positives / bots if bots else 1.0


def score(crawlers: Iterable[str], browsers: Iterable[str]) -> BotScore:
    result = BotScore()
    for ua in crawlers:
        if is_bot(ua):
            result.true_positives += 1
        else:
            result.false_negatives += 1
            result.missed.append(ua)
    for ua in browsers:
        if is_bot(ua):
            result.false_positives += 1
            result.wrongly_flagged.append(ua)
        else:
            result.true_negatives += 1
    return result
