"""Loading real IP data, and the identification rate it gives on the real logs.

    .venv/bin/python bench/ipdb_load.py [--record]

1. `spoor ipdb import` of ip-location-db's ASN CSVs (515k ranges) into a fresh SQLite
   database: seconds and peak memory of the command.
2. `Resolver.load` (read every stored range, build the indexes) in a fresh process:
   seconds and resident memory added.
3. `spoor import` of every real log in ../shared/data/logs/real with that data, then
   `spoor identify-report` per log: the share of human visits tied to a business,
   education or government, to an ISP, mobile or hosting network, or unresolved.
With --record the results replace the block between the ipdb-load markers in
bench/README.md.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SPOOR_SHARED_DATA", ROOT.parent / "shared" / "data"))
OUT = ROOT / "bench" / "out" / "ipdb-load"
README = ROOT / "bench" / "README.md"
BEGIN, END = "<!-- ipdb-load:begin -->", "<!-- ipdb-load:end -->"
SPOOR = str(Path(sys.executable).with_name("spoor"))
console = Console()

LOAD = """
import resource, time
from spoor.db.engine import make_engine
from spoor.identify.resolver import Resolver
engine = make_engine({url!r})
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
resolver = Resolver.load(engine)
seconds = time.perf_counter() - started
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(seconds, (after - before) / 1024, len(resolver))
"""


def run(args: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    """Seconds, peak RSS (KiB) and stdout of a command."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        started = time.perf_counter()
        done = subprocess.run(
            ["/usr/bin/time", "-f", "%M", "-o", report.name, *args],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        return time.perf_counter() - started, int(report.read().split()[-1]), done.stdout


def main() -> None:
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    env = {**os.environ, "SPOOR_DATA_DIR": str(OUT)}
    env.pop("SPOOR_DATABASE_URL", None)
    csvs = [SHARED / "ipdb/ip-location-db-asn" / n for n in ("asn-ipv4.csv", "asn-ipv6.csv")]
    subprocess.run([SPOOR, "db", "upgrade"], env=env, check=True, capture_output=True)
    seconds, rss, out = run([SPOOR, "ipdb", "import", *map(str, csvs), "--json"], env)
    ranges = sum(s["records"] for s in json.loads(out))
    url = f"sqlite:///{OUT / 'spoor.db'}"
    load = subprocess.run(
        [sys.executable, "-c", LOAD.format(url=url)], check=True, capture_output=True, text=True
    ).stdout.split()
    lines = [
        f"- `spoor ipdb import` of asn-ipv4.csv + asn-ipv6.csv: {ranges:,} ranges in "
        f"{seconds:.1f} s, peak RSS {rss / 1024:.0f} MiB",
        f"- `Resolver.load` (read and index every range): {float(load[0]):.1f} s, "
        f"+{float(load[1]):.0f} MiB resident",
    ]
    table = Table("log", "human visits", "business/edu/gov", "isp/mobile/hosting", "unresolved")
    rows = []
    for path in sorted((SHARED / "logs/real").iterdir()):
        site = path.name.split(".")[0].lower().replace("_", "-")[:60] + ".example"
        # Error logs (not access logs) sit beside some of them: only access logs count.
        found = sorted(path.glob("*")) if path.is_dir() else [path]
        files = [str(p) for p in found if "error" not in p.name]
        subprocess.run(
            [SPOOR, "import", *files, "--site", site, "--json"],
            env=env,
            check=True,
            capture_output=True,
        )
        report = json.loads(
            subprocess.run(
                [SPOOR, "identify-report", "--site", site, "--json"],
                env=env,
                check=True,
                capture_output=True,
                text=True,
            ).stdout
        )
        shares = report["shares"]
        row = (
            path.name,
            f"{report['visits']:,}",
            f"{shares['business_education_government']:.1%}",
            f"{shares['isp_mobile_hosting']:.1%}",
            f"{shares['unresolved']:.1%}",
        )
        rows.append(row)
        table.add_row(*row)
    for line in lines:
        console.print(line)
    console.print(table)
    if "--record" in sys.argv:
        header = "| log | human visits | business/edu/gov | isp/mobile/hosting | unresolved |"
        body = "\n".join("| " + " | ".join(r) + " |" for r in rows)
        block = (
            f"{BEGIN}\nMeasured {time.strftime('%Y-%m-%d')}:\n\n"
            + "\n".join(lines)
            + f"\n\n{header}\n| --- | --- | --- | --- | --- |\n{body}\n{END}"
        )
        text = README.read_text()
        start, end = text.index(BEGIN), text.index(END) + len(END)
        README.write_text(text[:start] + block + text[end:])


if __name__ == "__main__":
    main()
