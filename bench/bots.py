"""Precision and recall of Spoor's bot step on the isbot fixtures in ../shared/data/bots.

.venv/bin/python bench/bots.py [--show-errors]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import yaml

from spoor.ingest.botcheck import score

SHARED = Path(
    os.environ.get("SPOOR_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)


def load(name: str) -> list[str]:
    data = yaml.safe_load((SHARED / "bots" / name).read_text())
    return [ua for uas in data.values() for ua in (uas or [])]


def main() -> None:
    crawlers, browsers = load("isbot-crawlers.yml"), load("isbot-browsers.yml")
    result = score(crawlers, browsers)
    print(f"crawlers {len(crawlers)}, browsers {len(browsers)}")
    print(f"precision {result.precision:.4f}  recall {result.recall:.4f}")
    print(f"missed bots {result.false_negatives}, browsers flagged {result.false_positives}")
    if "--show-errors" in sys.argv:
        print("\nmissed:", *result.missed, sep="\n  ")
        print("\nflagged:", *result.wrongly_flagged, sep="\n  ")


if __name__ == "__main__":
    main()
