"""Spoor's range index against the maxminddb C reader on the same ASN ranges.

    .venv/bin/python bench/ipdb_lookup.py [--record] [--bulk 1000000] [--single 200000]

Data: the ip-location-db ASN CSVs in ../shared/data/ipdb/ip-location-db-asn (headerless
`start_ip,end_ip,asn,org`, inclusive ranges). Spoor indexes them with `RangeIndex`; the
same rows, split into CIDRs, are written to an .mmdb in bench/out/ (GeoLite2-ASN layout:
IPv6 tree, IPv4 under ::/96, records {autonomous_system_number, autonomous_system_organization})
and read with `maxminddb.open_database(path, MODE_MMAP_EXT)`, the C extension.

Bench-only requirement: the .mmdb is written with PyPI `mmdb-writer` (pure Python), which
this script installs into the running interpreter on demand when bench/out/ has no
up-to-date .mmdb. It is not a dependency of Spoor. npm's `@ip-location-db/asn-mmdb` does
not exist in the registry (404), and building from the CSV guarantees both sides hold
exactly the same ranges.

Reported, in one process, on the same seeded addresses for both sides: lookups per second
and the ratio Spoor/maxminddb (above 1 = Spoor faster) for single lookups (IPv4, IPv6),
bulk lookups of --bulk addresses (`lookup_many` on strings, `lookup_v4_array` /
`lookup_v6_array` on pre-parsed addresses, against a `reader.get` loop: maxminddb has no
bulk API) and Spoor's resolver starting from an empty cache; each timing is the best of 3
interleaved rounds after a warm-up. Also: correctness (ASN and org of both sides on 10,000
random addresses per family plus every row's first, last and neighbouring addresses), the
time and memory to build the index from the CSV, and the .mmdb size. --record writes the
results to bench/results-ipdb.md.
"""

from __future__ import annotations

import argparse
import bisect
import csv
import dataclasses
import datetime
import gc
import ipaddress
import itertools
import json
import os
import platform
import random
import resource
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import Any

import maxminddb
import numpy as np
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from spoor.identify.ipindex import RangeIndex, int_to_ip, ip_to_int

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
RESULTS = ROOT / "bench" / "results-ipdb.md"
SHARED = Path(os.environ.get("SPOOR_SHARED_DATA", ROOT.parent / "shared" / "data"))
CSV_DIR = SHARED / "ipdb" / "ip-location-db-asn"
CSVS = (CSV_DIR / "asn-ipv4.csv", CSV_DIR / "asn-ipv6.csv")
MMDB = OUT / "ip-location-db-asn.mmdb"
MMDB_BUILT = OUT / "ip-location-db-asn.mmdb.json"
RESOLVER_DB = OUT / "ipdb-resolver.sqlite"
MMDB_WRITER = "mmdb-writer==0.2.7"
SEED = 20261128
ROUNDS = 3
CORRECTNESS_SAMPLE = 10_000
RESOLVER_SAMPLE = 20_000
# Share of each address set: covered space weighted by size (what uniform traffic over the
# covered space hits: mostly big ranges), covered space weighted by row (reaches the deep,
# small ranges that dominate the tables), and the whole space (mostly uncovered for IPv6).
MIX = (("by size", 0.45), ("by row", 0.45), ("whole space", 0.10))
# Wide enough for the table when the output is not a terminal (Rich then assumes 80).
console = Console(width=max(Console().width, 140))


@dataclass(frozen=True, slots=True)
class Row:
    version: int
    start: int
    end: int
    asn: int
    org: str


@dataclass
class Spoor:
    """The index and what its payloads (row numbers) point to."""

    index: RangeIndex
    # NOT_FOUND is -1: a trailing sentinel makes `records[payload]` answer None / 0 for it.
    records: list[tuple[int, str] | None]
    asns: np.ndarray


@dataclass
class Case:
    name: str
    addresses: int
    spoor_method: str
    spoor: Callable[[], object]
    mmdb: Callable[[], object]
    comparable: bool = True  # False: Spoor does more work than maxminddb, no target
    best: dict[str, float] = field(default_factory=dict)

    def rate(self, side: str) -> float:
        return self.addresses / self.best[side]

    @property
    def ratio(self) -> float:
        return self.rate("spoor") / self.rate("mmdb")


# --- data -------------------------------------------------------------------------------


def read_rows() -> list[Row]:
    rows = []
    for path in CSVS:
        with path.open(newline="", encoding="utf-8") as f:
            for first, last, asn, org in csv.reader(f):
                version, start = ip_to_int(first)
                rows.append(Row(version, start, ip_to_int(last)[1], int(asn), org))
    return rows


def build_spoor(rows: list[Row]) -> Spoor:
    index = RangeIndex.build((r.version, r.start, r.end, n) for n, r in enumerate(rows))
    records: list[tuple[int, str] | None] = [(r.asn, r.org) for r in rows]
    records.append(None)
    asns = np.array([r.asn for r in rows] + [0], dtype=np.int64)
    return Spoor(index, records, asns)


def measure_build() -> tuple[Spoor, dict[str, float]]:
    """Parse + build time (best of 3), peak RSS growth of the first, traced Python memory."""
    gc.collect()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    best = (float("inf"), 0.0, 0.0)
    rss_delta = 0
    for round_ in range(ROUNDS):
        gc.collect()
        started = time.perf_counter()
        rows = read_rows()
        parsed = time.perf_counter()
        spoor = build_spoor(rows)
        del rows
        done = time.perf_counter()
        best = min(best, (done - started, parsed - started, done - parsed))
        if round_ == 0:
            # ru_maxrss is the peak since start: only the first build's growth is its own.
            rss_delta = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
        if round_ < ROUNDS - 1:
            del spoor
    # A throwaway build, traced: Python allocations, then without the (ASN, org) records.
    gc.collect()
    tracemalloc.start()
    traced = build_spoor(read_rows())
    gc.collect()
    retained, peak = tracemalloc.get_traced_memory()
    traced.records = []
    gc.collect()
    index_only = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del traced
    return spoor, {
        "seconds": best[0],
        "parse_seconds": best[1],
        "index_seconds": best[2],
        "rss_delta_mib": rss_delta / 1024,
        "traced_peak_mib": peak / 2**20,
        "retained_mib": retained / 2**20,
        "index_mib": index_only / 2**20,
    }


def ensure_mmdb_writer() -> Any:
    try:
        import mmdb_writer
    except ImportError:
        console.print(f"installing {MMDB_WRITER} (bench only) into {sys.prefix}")
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", MMDB_WRITER], check=True)
        import mmdb_writer
    return mmdb_writer


def summarize(row: Row) -> Iterator[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """The CIDRs of an inclusive range: the .mmdb tree only holds prefixes."""
    cls = ipaddress.IPv4Address if row.version == 4 else ipaddress.IPv6Address
    return ipaddress.summarize_address_range(cls(row.start), cls(row.end))  # type: ignore[arg-type]


def write_mmdb(rows: list[Row], path: Path) -> float:
    mmdb_writer = ensure_mmdb_writer()
    from netaddr import IPNetwork, IPSet

    writer = mmdb_writer.MMDBWriter(
        ip_version=6,
        database_type="GeoLite2-ASN",
        languages=["en"],
        description="ip-location-db asn CSV, built by Spoor's bench (bench/out only)",
        ipv4_compatible=True,
        int_type="u32",
    )
    started = time.perf_counter()
    # The writer lets a later insert override what it covers: inserting the largest ranges
    # first makes nested ranges win inside their parents, the index's most-specific rule.
    for row in sorted(rows, key=lambda r: r.start - r.end):
        nets = [
            IPNetwork((int(net.network_address), net.prefixlen), version=row.version)
            for net in summarize(row)
        ]
        record = {"autonomous_system_number": row.asn, "autonomous_system_organization": row.org}
        writer.insert_network(IPSet(nets), record)
    tmp = path.with_suffix(".tmp")
    writer.to_db_file(str(tmp))
    seconds = time.perf_counter() - started
    tmp.replace(path)
    # Later runs reuse the file: keep how long it took for the report.
    MMDB_BUILT.write_text(json.dumps({"seconds": seconds, "writer": version_of("mmdb-writer")}))
    return seconds


def mmdb_is_current() -> bool:
    if not (MMDB.exists() and MMDB_BUILT.exists()):
        return False
    return all(MMDB.stat().st_mtime > p.stat().st_mtime for p in CSVS)


# --- addresses --------------------------------------------------------------------------


def sample(rows: list[Row], version: int, n: int, rng: random.Random) -> list[int]:
    """`n` addresses of one family drawn per MIX, shuffled."""
    family = [r for r in rows if r.version == version]
    sizes = [r.end - r.start + 1 for r in family]
    cumulative = list(itertools.accumulate(sizes))  # exact for 128-bit sizes
    total = cumulative[-1]
    bits = 32 if version == 4 else 128
    out: list[int] = []
    for kind, share in MIX:
        for _ in range(round(n * share)):
            if kind == "by size":
                at = rng.randrange(total)
                i = bisect.bisect_right(cumulative, at)
                out.append(family[i].start + at - (cumulative[i] - sizes[i]))
            elif kind == "by row":
                row = family[rng.randrange(len(family))]
                out.append(rng.randint(row.start, row.end))
            else:
                out.append(rng.getrandbits(bits))
    rng.shuffle(out)
    return out[:n]


def boundary_probes(rows: list[Row], version: int) -> list[int]:
    """Each row's first and last address and their outer neighbours: off-by-one hunting."""
    top = (1 << (32 if version == 4 else 128)) - 1
    probes = set()
    for r in rows:
        if r.version == version:
            probes.update((r.start, r.end, max(r.start - 1, 0), min(r.end + 1, top)))
    return sorted(probes)


def overlaps(rows: list[Row]) -> list[tuple[Row, Row]]:
    """Pairs of rows sharing addresses (row, the earlier row it overlaps)."""
    found = []
    for version in (4, 6):
        family = sorted((r for r in rows if r.version == version), key=lambda r: (r.start, -r.end))
        furthest: Row | None = None
        for row in family:
            if furthest is not None and row.start <= furthest.end:
                found.append((row, furthest))
            if furthest is None or row.end > furthest.end:
                furthest = row
    return found


# --- correctness ------------------------------------------------------------------------


def spoor_answers(spoor: Spoor, ips: Sequence[str]) -> list[tuple[int, str] | None]:
    return [spoor.records[p] for p in spoor.index.lookup_many(ips)]


def mmdb_answers(reader: Any, ips: Sequence[str]) -> list[tuple[int, str] | None]:
    out = []
    for ip in ips:
        found = reader.get(ip)
        out.append(
            (found["autonomous_system_number"], found["autonomous_system_organization"])
            if found
            else None
        )
    return out


def compare(spoor: Spoor, reader: Any, ips: Sequence[str]) -> dict[str, Any]:
    ours, theirs = spoor_answers(spoor, ips), mmdb_answers(reader, ips)
    asn_diff = [
        (ip, a, b)
        for ip, a, b in zip(ips, ours, theirs, strict=True)
        if (a and a[0]) != (b and b[0])
    ]
    any_diff = sum(a != b for a, b in zip(ours, theirs, strict=True))
    return {
        "checked": len(ips),
        "found": sum(a is not None for a in ours),
        "asn_mismatches": len(asn_diff),
        "mismatches": any_diff,
        "examples": asn_diff[:5],
    }


def check(
    spoor: Spoor, reader: Any, rows: list[Row], rng: random.Random
) -> tuple[list[dict[str, Any]], list[tuple[str, bool]]]:
    results, notes = [], []
    for version in (4, 6):
        for label, values in (
            ("random", sample(rows, version, CORRECTNESS_SAMPLE, rng)),
            ("row boundaries ±1", boundary_probes(rows, version)),
        ):
            ips = [int_to_ip(version, v) for v in values]
            results.append({"family": f"IPv{version}", "set": label, **compare(spoor, reader, ips)})
    for row, earlier in overlaps(rows):
        first, last = row.start, min(row.end, earlier.end)
        probes = [int_to_ip(row.version, v) for v in (first, (first + last) // 2, last)]
        ours, theirs = spoor_answers(spoor, probes), mmdb_answers(reader, probes)
        kind = "nested in" if row.end <= earlier.end else "partially overlaps"
        # Later-starting (the index's pick) and smaller (the .mmdb's): the same row?
        same = row.end - row.start <= earlier.end - earlier.start
        text = (
            f"`{int_to_ip(row.version, row.start)}-{int_to_ip(row.version, row.end)}` "
            f"AS{row.asn} {kind} `{int_to_ip(earlier.version, earlier.start)}-"
            f"{int_to_ip(earlier.version, earlier.end)}` AS{earlier.asn}: shared "
            f"`{int_to_ip(row.version, first)}-{int_to_ip(row.version, last)}` "
            f"({last - first + 1:,} addresses); Spoor answers "
            f"{', '.join(f'AS{a[0]}' if a else '-' for a in ours)}, maxminddb "
            f"{', '.join(f'AS{b[0]}' if b else '-' for b in theirs)} (first, middle, last)"
        )
        notes.append((text, same))
    return results, notes


# --- timing -----------------------------------------------------------------------------


def run_cases(cases: list[Case]) -> None:
    """Best of ROUNDS, both sides of every case interleaved in each round."""
    for case in cases:  # warm-up: page in the mmdb, fill CPU caches, JIT-free but fair
        case.spoor()
        case.mmdb()
    for round_ in range(ROUNDS):
        for case in cases:
            sides = ("spoor", "mmdb") if round_ % 2 == 0 else ("mmdb", "spoor")
            for side in sides:
                fn = case.spoor if side == "spoor" else case.mmdb
                gc.collect()
                started = time.perf_counter()
                fn()
                elapsed = time.perf_counter() - started
                case.best[side] = min(case.best.get(side, elapsed), elapsed)
        console.print(f"  round {round_ + 1}/{ROUNDS} done")


# The loops are spelled out, with no wrapper call per address, so that each side pays only
# for its own calls.
def each(lookup: Callable[[str], object], ips: list[str]) -> None:
    for ip in ips:
        lookup(ip)


def each_record(lookup: Callable[[str], int], records: list[Any], ips: list[str]) -> None:
    for ip in ips:
        records[lookup(ip)]


def asn_list(get: Callable[[str], Any], ips: list[str]) -> list[int | None]:
    # The ASNs, like Spoor's bulk answer: keeping 1M decoded dicts instead is ~25% slower.
    return [(found := get(ip)) and found["autonomous_system_number"] for ip in ips]


def asns_of(bulk: Callable[[Any], np.ndarray], asns: np.ndarray, addresses: Any) -> np.ndarray:
    return asns[bulk(addresses)]


def each_int(lookup: Callable[[int, int], int], version: int, values: list[int]) -> None:
    for value in values:
        lookup(version, value)


def best_of(fn: Callable[[], object]) -> float:
    fn()
    times = []
    for _ in range(ROUNDS):
        gc.collect()
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def breakdown(
    spoor: Spoor, reader: Any, v4: list[int], v6: list[int], n: int
) -> list[tuple[str, str, float]]:
    """Nanoseconds per address of a single lookup and of its parts: where the time goes."""
    out = []
    for version, values in ((4, v4[:n]), (6, v6[:n])):
        ips = [int_to_ip(version, v) for v in values]
        steps = (
            ("maxminddb `reader.get(ip)`", partial(each, reader.get, ips)),
            (
                "Spoor `records[index.lookup(ip)]`",
                partial(each_record, spoor.index.lookup, spoor.records, ips),
            ),
            ("of which parsing: `ip_to_int(ip)`", partial(each, ip_to_int, ips)),
            (
                "of which searching: `index.lookup_int(version, value)`",
                partial(each_int, spoor.index.lookup_int, version, values),
            ),
        )
        for name, fn in steps:
            out.append((f"IPv{version}", name, best_of(fn) / len(ips) * 1e9))
    return out


def lookup_cases(
    spoor: Spoor, reader: Any, v4: list[int], v6: list[int], single: int
) -> list[Case]:
    index = spoor.index
    cases = []
    for version, values in ((4, v4), (6, v6)):
        ips = [int_to_ip(version, v) for v in values]
        head = ips[:single]
        cases.append(
            Case(
                f"single IPv{version}",
                len(head),
                "`records[index.lookup(ip)]`",
                partial(each_record, index.lookup, spoor.records, head),
                partial(each, reader.get, head),
            )
        )
        cases.append(
            Case(
                f"bulk IPv{version}, strings",
                len(ips),
                "`asns[index.lookup_many(ips)]`",
                partial(asns_of, index.lookup_many, spoor.asns, ips),
                partial(asn_list, reader.get, ips),
            )
        )
        if version == 4:
            parsed = np.array(values, dtype=np.uint32)
            bulk, method = index.lookup_v4_array, "`asns[index.lookup_v4_array(u32)]`"
        else:
            parsed = np.array([v.to_bytes(16, "big") for v in values], dtype="S16")
            bulk, method = index.lookup_v6_array, "`asns[index.lookup_v6_array(s16)]`"
        cases.append(
            Case(
                f"bulk IPv{version}, pre-parsed",
                len(ips),
                method,
                partial(asns_of, bulk, spoor.asns, parsed),
                partial(asn_list, reader.get, ips),
            )
        )
    return cases


# --- resolver (optional) ----------------------------------------------------------------


def resolve_each(resolver: Any, ips: list[str]) -> None:
    # `resolve` caches answers and every round repeats the addresses: a copy of the resolver
    # starts with an empty cache, so each (distinct) address costs a full resolution.
    each(dataclasses.replace(resolver).resolve, ips)


def resolver_case(reader: Any, v4: list[int], v6: list[int]) -> tuple[Case | None, str]:
    """Spoor's full resolution (index, networks, classification) from a SQLite database."""
    try:
        from spoor.db.engine import make_engine, upgrade
        from spoor.identify.ipdb import import_dataset, status
        from spoor.identify.resolver import Resolver

        engine = make_engine(f"sqlite:///{RESOLVER_DB}")
        upgrade(engine)
        stored = {s.name: s.records for s in status(engine)}
        for path in CSVS:
            if not stored.get(path.stem):
                with console.status(f"importing {path.name} into {RESOLVER_DB.name}"):
                    import_dataset(engine, path, now=int(time.time()))
        resolver = Resolver.load(engine)
    except Exception as exc:  # the resolver is an extra: report why, keep the rest
        return None, f"skipped: {type(exc).__name__}: {exc}"
    half = RESOLVER_SAMPLE // 2
    ips = [int_to_ip(4, v) for v in v4[:half]] + [int_to_ip(6, v) for v in v6[:half]]
    asn_of = {ip: r.asn if r else None for ip in ips for r in [resolver.resolve(ip)]}
    theirs = mmdb_answers(reader, ips)
    disagree = sum(asn_of[ip] != (b and b[0]) for ip, b in zip(ips, theirs, strict=True))
    case = Case(
        "resolver, half IPv4 half IPv6",
        len(ips),
        "`resolver.resolve(ip)`, empty cache",
        partial(resolve_each, resolver, ips),
        partial(each, reader.get, ips),
        comparable=False,
    )
    return case, f"{len(ips):,} addresses, ASN differs from maxminddb for {disagree}"


# --- report -----------------------------------------------------------------------------


def verdict(case: Case) -> str:
    if not case.comparable:
        return "n/a"
    return "yes" if case.ratio >= 1 else "no"


def print_results(cases: list[Case]) -> None:
    table = Table(title="Spoor RangeIndex vs maxminddb C extension (best of 3)")
    for column in ("case", "addresses", "Spoor call", "Spoor/s", "maxminddb/s", "Spoor/mmdb"):
        table.add_column(column, justify="left" if column in ("case", "Spoor call") else "right")
    table.add_column("target met")
    for c in cases:
        table.add_row(
            c.name,
            f"{c.addresses:,}",
            escape(c.spoor_method.replace("`", "")),
            f"{c.rate('spoor'):,.0f}",
            f"{c.rate('mmdb'):,.0f}",
            f"{c.ratio:.2f}x",
            verdict(c),
        )
    console.print(table)


def markdown_table(cases: list[Case]) -> list[str]:
    lines = [
        "| case | addresses | Spoor call | Spoor lookups/s | maxminddb lookups/s "
        "| Spoor/maxminddb | target met |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for c in cases:
        lines.append(
            f"| {c.name} | {c.addresses:,} | {c.spoor_method} | {c.rate('spoor'):,.0f} "
            f"| {c.rate('mmdb'):,.0f} | {c.ratio:.2f}x | {verdict(c)} |"
        )
    return lines


def code_state() -> str:
    """The commit measured, and whether the measured modules had uncommitted edits."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True)
        return done.stdout.strip()

    modules = ("src/spoor/identify/ipindex.py", "src/spoor/identify/resolver.py")
    edited = [
        line.split(maxsplit=1)[-1]
        for line in git("status", "--porcelain", "--", *modules).splitlines()
    ]
    state = f"commit {git('rev-parse', '--short', 'HEAD') or 'unknown'}"
    return state + (f" with uncommitted edits to {', '.join(edited)}" if edited else "")


def version_of(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def mismatch_text(checks: list[dict[str, Any]], notes: list[tuple[str, bool]]) -> str:
    agreeing = sum(same for _, same in notes)
    rule = (
        "Where rows overlap, the answers could differ: the index gives a partial overlap to "
        "the later-starting row (and nested ranges to the innermost), the .mmdb (written "
        "largest range first) to the smaller row. "
        f"In {agreeing} of the {len(notes)} overlaps below the later-starting row is also "
        "the smaller one, so both sides must agree there, and the probes show they do."
    )
    wrong = [example for c in checks for example in c["examples"]]
    if not any(c["mismatches"] for c in checks):
        return "No mismatches: every address checked gets the same answer. " + rule
    shown = "; ".join(f"`{ip}` Spoor {ours} maxminddb {theirs}" for ip, ours, theirs in wrong)
    return f"Mismatches found (examples: {shown}). " + rule


def record(
    cases: list[Case],
    facts: dict[str, Any],
    build: dict[str, float],
    checks: list[dict[str, Any]],
    notes: list[tuple[str, bool]],
    resolver_note: str,
    parts: list[tuple[str, str, float]],
) -> None:
    today = datetime.date.today().isoformat()
    lines = [
        "# IP lookups: Spoor's range index vs the maxminddb C reader",
        "",
        "```sh",
        ".venv/bin/python bench/ipdb_lookup.py --record",
        "```",
        "",
        f"Measured {today} on this project's {os.cpu_count()}-core machine: Python "
        f"{platform.python_version()}, numpy {np.__version__}, maxminddb "
        f"{version_of('maxminddb')} (reader `{facts['reader']}`, MODE_MMAP_EXT). Spoor at "
        f"{code_state()}.",
        "",
        f"Data: ip-location-db ASN CSVs from `shared/data/ipdb/ip-location-db-asn`: "
        f"{facts['rows4']:,} IPv4 + {facts['rows6']:,} IPv6 rows -> {facts['segments']:,} "
        f"index segments; the same rows as {facts['cidrs']:,} CIDRs in one .mmdb of "
        f"{facts['mmdb_mib']:.1f} MiB ({facts['nodes']:,} nodes, {facts['record_size']}-bit "
        f"records). Addresses: seed {SEED}, per family "
        + ", ".join(f"{share:.0%} {kind}" for kind, share in MIX)
        + f"; found by the index: IPv4 {facts['hit4']:.1%}, IPv6 {facts['hit6']:.1%}.",
        "",
        "Lookups per second (higher is better) and Spoor/maxminddb (above 1.00x = Spoor "
        "faster; the project target is at least 1.00x):",
        "",
        *markdown_table(cases),
        "",
        f"Resolver: {resolver_note}. It is not held to the target: per address it also "
        "builds each source's `Network`, classifies the evidence and hashes an org id.",
        "",
        "Where a single lookup's time goes (best of 3, ns per address, same addresses; the "
        "parts are timed on their own, so they only roughly add up):",
        "",
        "| family | step | ns/address |",
        "| --- | --- | --- |",
        *(f"| {family} | {name} | {ns:,.0f} |" for family, name, ns in parts),
        "",
        "## Building the index",
        "",
        f"Parse both CSVs (`csv` + `ip_to_int`) -> `RangeIndex.build` -> records: "
        f"**{build['seconds']:.1f} s** (best of 3; parsing {build['parse_seconds']:.1f} s, "
        f"index and records {build['index_seconds']:.1f} s), peak RSS growth "
        f"**{build['rss_delta_mib']:.0f} MiB** (ru_maxrss, first build), tracemalloc peak "
        f"{build['traced_peak_mib']:.0f} MiB; retained after the build "
        f"{build['retained_mib']:.0f} MiB, of which the index and the ASN array "
        f"{build['index_mib']:.0f} MiB and the (ASN, org) records the rest. The .mmdb is "
        f"{facts['mmdb_mib']:.1f} MiB on disk, memory-mapped by the reader. For comparison, "
        f"writing it with the pure Python writer took {facts['mmdb_build']}.",
        "",
        "## Correctness",
        "",
        "Both sides answer the same address set; an answer is (ASN, org) or nothing.",
        "",
        "| family | addresses | checked | found | ASN mismatches | any mismatch |",
        "| --- | --- | --- | --- | --- | --- |",
        *(
            f"| {c['family']} | {c['set']} | {c['checked']:,} | {c['found']:,} "
            f"| {c['asn_mismatches']} | {c['mismatches']} |"
            for c in checks
        ),
        "",
        mismatch_text(checks, notes),
        "",
        f"Overlapping rows in the CSV ({len(notes)}; the index counted "
        f"{facts['contradictions']} partial overlap(s)):",
        "",
        *(f"- {n}" for n, _ in notes),
        "",
        "## Method",
        "",
        "- One process, one set of seeded addresses per family, the same for both sides: "
        "'by size' = uniform over the covered addresses, 'by row' = a uniform row, then a "
        "uniform address in it, 'whole space' = uniform over all 2^32 / 2^128 addresses "
        "(covered or not). Single lookups use the first addresses of the bulk set.",
        "- Every case is run once as a warm-up, then 3 rounds; in each round both sides of "
        "every case run back to back (order alternating), `gc.collect()` before each timing; "
        "the best of the 3 is kept. `time.perf_counter`.",
        "- Spoor's single lookup includes fetching the record (`records[payload]`), as "
        "maxminddb's `get` returns the decoded record (a dict of ASN and org).",
        "- maxminddb has no bulk API: its bulk side is a list comprehension keeping each "
        "address's ASN (`(r := reader.get(ip)) and r['autonomous_system_number']`; keeping "
        "the decoded dicts is slower), the same loop against both Spoor bulk calls. Spoor's "
        "bulk answer is the ASN array `asns[payloads]`. Pre-parsed input is what Spoor can "
        "take and maxminddb cannot: that ratio is not a like-for-like parse.",
        "- The .mmdb is written from the CSV rows (split with "
        "`ipaddress.summarize_address_range`, largest ranges first so nested ones win, as "
        "in the index) because npm has no `@ip-location-db/asn-mmdb` package.",
        "",
        "## Caveats",
        "",
        "- A noisy 2-core machine: compare ratios, not absolute rates, across runs.",
        "- The index lives in each process's heap (see the retained memory above); the C "
        "reader memory-maps the file, shared by all processes through the page cache.",
        "- The address mix decides the mmdb's tree depth: 'by size' addresses mostly land in "
        "big, shallow ranges, 'by row' ones in small, deep ones; the index's binary search "
        "costs about the same either way.",
        "- Real traffic repeats addresses: Spoor's resolver caches answers (`resolve`), "
        "maxminddb does not; neither cache is measured here.",
        "",
    ]
    RESULTS.write_text("\n".join(lines))
    console.print(f"wrote {RESULTS.relative_to(ROOT)}")


# --- main -------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--record", action="store_true", help=f"write {RESULTS.name}")
    parser.add_argument("--bulk", type=int, default=1_000_000, help="addresses per family")
    parser.add_argument("--single", type=int, default=200_000, help="addresses per family")
    parser.add_argument("--no-resolver", action="store_true", help="skip the resolver case")
    args = parser.parse_args()

    # First, while the process is small, so that the RSS growth is the build's.
    with console.status("building the index from the CSVs (3 times, then traced)"):
        spoor, build = measure_build()
    console.print(
        f"parse + build {build['seconds']:.2f} s (parse {build['parse_seconds']:.2f} s, "
        f"build {build['index_seconds']:.2f} s), peak RSS +{build['rss_delta_mib']:.0f} MiB, "
        f"traced peak {build['traced_peak_mib']:.0f} MiB, retained "
        f"{build['retained_mib']:.0f} MiB (index and ASN array {build['index_mib']:.0f} MiB)"
    )
    rows = read_rows()
    OUT.mkdir(parents=True, exist_ok=True)
    if not mmdb_is_current():
        with console.status(f"writing {MMDB.name} with mmdb-writer (pure Python, a minute)"):
            console.print(f"wrote {MMDB} in {write_mmdb(rows, MMDB):.0f} s")
    built = json.loads(MMDB_BUILT.read_text())
    mmdb_build = f"{built['seconds']:.0f} s (mmdb-writer {built['writer']})"
    reader = maxminddb.open_database(str(MMDB), maxminddb.MODE_MMAP_EXT)
    meta = reader.metadata()
    cidrs = sum(1 for r in rows for _ in summarize(r))

    rng = random.Random(SEED)
    with console.status("checking both sides agree"):
        checks, notes = check(spoor, reader, rows, rng)
    for c in checks:
        console.print(
            f"  {c['family']} {c['set']}: {c['checked']:,} checked, {c['found']:,} found, "
            f"{c['asn_mismatches']} ASN mismatches, {c['mismatches']} any; {c['examples']}"
        )
    for note, _ in notes:
        console.print(f"  overlap: {note}")

    with console.status(f"drawing {args.bulk:,} addresses per family"):
        v4 = sample(rows, 4, args.bulk, rng)
        v6 = sample(rows, 6, args.bulk, rng)
    cases = lookup_cases(spoor, reader, v4, v6, args.single)
    resolver_note = "skipped (--no-resolver)"
    if not args.no_resolver:
        case, resolver_note = resolver_case(reader, v4, v6)
        console.print(f"resolver: {resolver_note}")
        if case is not None:
            cases.append(case)
    console.print(f"timing {len(cases)} cases, {ROUNDS} rounds")
    run_cases(cases)
    print_results(cases)
    with console.status("timing the parts of a single lookup"):
        parts = breakdown(spoor, reader, v4, v6, args.single)
    for family, name, ns in parts:
        console.print(f"  {family} {escape(name.replace('`', ''))}: {ns:,.0f} ns/address")

    hit = {
        version: float(np.mean(spoor.index.lookup_many([int_to_ip(version, v) for v in vs]) >= 0))
        for version, vs in ((4, v4), (6, v6))
    }
    facts = {
        "reader": type(reader).__module__ + "." + type(reader).__name__,
        "rows4": sum(r.version == 4 for r in rows),
        "rows6": sum(r.version == 6 for r in rows),
        "segments": len(spoor.index),
        "cidrs": cidrs,
        "mmdb_mib": MMDB.stat().st_size / 2**20,
        "nodes": meta.node_count,
        "record_size": meta.record_size,
        "hit4": hit[4],
        "hit6": hit[6],
        "contradictions": spoor.index.contradictions,
        "mmdb_build": mmdb_build,
    }
    console.print(
        f".mmdb {facts['mmdb_mib']:.1f} MiB, {facts['nodes']:,} nodes; "
        f"hit rate IPv4 {hit[4]:.1%}, IPv6 {hit[6]:.1%}"
    )
    if args.record:
        record(cases, facts, build, checks, notes, resolver_note, parts)


if __name__ == "__main__":
    main()
