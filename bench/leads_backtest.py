"""Does the lead ranking find the accounts that go on to raise a hand? A backtest on the
simulator, against recency-only and pageview-count rankings in the same run.

    .venv/bin/python bench/leads_backtest.py [--days 120] [--seeds 7,11,23,31,47] [--record]

For each seed: the demo database (simulated B2B site, its traffic imported as usual). A
cutoff 30 days before the end: every account with signals before it is ranked three ways
using only what was known then (Spoor's priority; the most recent visit; pageviews in the
30 days before). The outcome: the account sent a demo, contact or quote form in the 30 days
after the cutoff (the simulator's buyers raise hands as their interest and activity make
them). Reported: ROC AUC and precision at 20 of each ranking.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select

from readme import record
from spoor.db.engine import make_engine
from spoor.db.schema import lead_signals
from spoor.demo.run import build_demo
from spoor.ingest.rawhit import HitKind
from spoor.leads.service import leads
from spoor.sites import list_sites

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out" / "backtest"
DAY = 86_400
console = Console()


def auc(scores: list[float], labels: list[bool]) -> float:
    """ROC AUC as the Mann-Whitney probability (ties count half)."""
    positives = [s for s, y in zip(scores, labels, strict=True) if y]
    negatives = [s for s, y in zip(scores, labels, strict=True) if not y]
    if not positives or not negatives:
        return float("nan")
    wins = sum((p > n) + 0.5 * (p == n) for p in positives for n in negatives)
    return wins / (len(positives) * len(negatives))


def precision_at(scores: list[float], labels: list[bool], k: int = 20) -> float:
    ranked = sorted(zip(scores, labels, strict=True), key=lambda pair: -pair[0])[:k]
    return sum(y for _, y in ranked) / max(len(ranked), 1)


def run(seed: int, days: int) -> dict[str, tuple[float, float]]:
    result = build_demo(OUT / f"seed-{seed}", days=days, seed=seed)
    engine = make_engine(f"sqlite:///{result.database}")
    with engine.connect() as conn:
        site = list_sites(conn)[0]
        end = int(conn.execute(select(func.max(lead_signals.c.ts))).scalar_one())
        cutoff = end - 30 * DAY
        ranked = [lead for lead in leads(conn, site, cutoff, limit=None)
                  if lead.intent.last_seen is not None]  # fmt: skip
        s = lead_signals.c
        raised = set(conn.execute(
            select(s.org_id).where(s.kind == int(HitKind.FORM), s.ts > cutoff, s.ts <= end)
        ).scalars())  # fmt: skip
        views: dict[int, int] = dict(conn.execute(
            select(s.org_id, func.count()).where(
                s.kind == int(HitKind.PAGEVIEW), s.ts > cutoff - 30 * DAY, s.ts <= cutoff
            ).group_by(s.org_id)
        ).all())  # fmt: skip
    engine.dispose()
    labels = [lead.org_id in raised for lead in ranked]
    console.print(
        f"seed {seed}: {len(ranked)} accounts at the cutoff "
        f"({datetime.fromtimestamp(cutoff, UTC):%Y-%m-%d}), {sum(labels)} raised a hand after"
    )
    rankings = {
        "Spoor priority": [lead.priority + lead.intent.strength * 1e-6 for lead in ranked],
        "recency only (last visit)": [float(lead.intent.last_seen or 0) for lead in ranked],
        "pageviews in 30 days": [float(views.get(lead.org_id, 0)) for lead in ranked],
    }
    return {name: (auc(sc, labels), precision_at(sc, labels)) for name, sc in rankings.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--seeds", default="7,11,23,31,47")
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    results = {seed: run(seed, args.days) for seed in seeds}
    table = Table("ranking", "mean AUC", "mean P@20", *(f"AUC {s}" for s in seeds))
    lines = [
        "| ranking | mean AUC | mean P@20 | " + " | ".join(f"AUC seed {s}" for s in seeds)
        + " | " + " | ".join(f"P@20 seed {s}" for s in seeds) + " |",
        "| --- " * (3 + 2 * len(seeds)) + "|",
    ]  # fmt: skip
    for name in ("Spoor priority", "recency only (last visit)", "pageviews in 30 days"):
        aucs = [results[s][name][0] for s in seeds]
        hits = [results[s][name][1] for s in seeds]
        means = [f"{sum(aucs) / len(aucs):.3f}", f"{sum(hits) / len(hits):.2f}"]
        cells = [f"{a:.3f}" for a in aucs] + [f"{p:.2f}" for p in hits]
        table.add_row(name, *means, *cells[: len(seeds)])
        lines.append(f"| {name} | " + " | ".join(means + cells) + " |")
    console.print(table)
    if args.record:
        record("backtest", "\n".join(lines), "Lead ranking backtest",
               ".venv/bin/python bench/leads_backtest.py --record")  # fmt: skip


if __name__ == "__main__":
    main()
