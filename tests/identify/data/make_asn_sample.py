"""Draw the labelled ASN sample used by tests/identify/test_classify.py (deterministic).

Scheme (see README.md beside this file):
1. Read ip-location-db's asn-ipv4.csv (headerless `start_ip,end_ip,asn,org`, inclusive ranges)
   and add up the IPv4 addresses of every ASN.
2. Draw WEIGHTED ASNs without replacement with probability proportional to address count
   (Efraimidis-Spirakis keys: the largest u ** (1 / weight) win), so the sample looks like the
   address space visitors come from.
3. Draw UNIFORM more ASNs uniformly from the ASNs not yet drawn (about 25% of the sample), so
   the many small ASNs, among them most businesses with their own ASN, are represented too.
Labels and notes already in the output file are kept, so re-running never loses hand labels.

Usage: python tests/identify/data/make_asn_sample.py [path/to/asn-ipv4.csv]
"""

from __future__ import annotations

import csv
import ipaddress
import math
import os
import random
import sys
from pathlib import Path

SEED = 20240611
WEIGHTED = 300
UNIFORM = 100
HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
SHARED = Path(os.environ.get("SPOOR_SHARED_DATA", ROOT.parent / "shared" / "data"))
SOURCE = SHARED / "ipdb" / "ip-location-db-asn" / "asn-ipv4.csv"
OUTPUT = HERE / "asn_sample.csv"
HEADER = """\
# Labelled sample of ASNs for the organization-type classifier (spoor.identify.classify).
# Drawn by make_asn_sample.py (seed {seed}) from ip-location-db asn-ipv4.csv (CC BY 4.0, by
# RouteViews, DB-IP and the NRO): {weighted} ASNs weighted by IPv4 address count, without
# replacement, then {uniform} drawn uniformly from the rest. Labels are hand judgement from the
# AS organization name and general knowledge of the operator, made before the classifier rules
# were written; see README.md. Even ASNs are the tuning half, odd ASNs the held-out half.
"""


def address_counts(path: Path) -> tuple[dict[int, int], dict[int, str]]:
    counts: dict[int, int] = {}
    names: dict[int, str] = {}
    with path.open(newline="", encoding="utf-8") as fh:
        for start, end, asn_text, org in csv.reader(fh):
            asn = int(asn_text)
            size = int(ipaddress.IPv4Address(end)) - int(ipaddress.IPv4Address(start)) + 1
            counts[asn] = counts.get(asn, 0) + size
            names.setdefault(asn, org)
    return counts, names


def draw(counts: dict[int, int]) -> list[int]:
    rng = random.Random(SEED)
    asns = sorted(counts)
    # Efraimidis-Spirakis: key u ** (1/w) per item, keep the largest; compared as log(u) / w,
    # which keeps its precision for weights in the millions. 1 - random() avoids log(0).
    keys = {a: math.log(1.0 - rng.random()) / counts[a] for a in asns}
    keyed = sorted(asns, key=lambda a: keys[a], reverse=True)
    weighted = keyed[:WEIGHTED]
    chosen = set(weighted)
    rest = [a for a in asns if a not in chosen]
    uniform = rng.sample(rest, UNIFORM)
    return sorted(weighted + uniform)


def existing_labels(path: Path) -> dict[int, tuple[str, str]]:
    if not path.exists():
        return {}
    lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if not ln.startswith("#")]
    return {int(r["asn"]): (r["label"], r["note"]) for r in csv.DictReader(lines)}


def main() -> None:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else SOURCE
    counts, names = address_counts(source)
    labels = existing_labels(OUTPUT)
    with OUTPUT.open("w", newline="", encoding="utf-8") as fh:
        fh.write(HEADER.format(seed=SEED, weighted=WEIGHTED, uniform=UNIFORM))
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["asn", "org", "addresses", "label", "note"])
        for asn in draw(counts):
            label, note = labels.get(asn, ("", ""))
            writer.writerow([asn, names[asn], counts[asn], label, note])


if __name__ == "__main__":
    main()
