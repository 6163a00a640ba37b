"""Log import end to end (`spoor import` into SQLite) against GoAccess on the same file.

    .venv/bin/python bench/import_vs_goaccess.py [--lines 1000000,3000000] [--record]

Generates combined logs with the demo simulator, then times, in the same run and on the
same file, GoAccess parsing it (Debian's `goaccess`, JSON report to a file) and Spoor
importing it (parse, bot filter, exclusions, user agents, visitor hash, sessions, SQLite).
Reports lines per second, the ratio Spoor/GoAccess, and peak memory (max RSS) of each.
With --record the table replaces the results block in bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from spoor.demo.simulator import write_log

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
README = ROOT / "bench" / "README.md"
BEGIN, END = "<!-- import-bench:begin -->", "<!-- import-bench:end -->"
console = Console()


@dataclass
class Run:
    seconds: float
    max_rss_kib: int


def timed(cmd: list[str], env: dict[str, str] | None = None) -> Run:
    """Wall time and peak RSS of one command, through GNU time."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        started = time.perf_counter()
        subprocess.run(
            ["/usr/bin/time", "-f", "%M", "-o", report.name, *cmd],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        seconds = time.perf_counter() - started
        return Run(seconds, int(report.read().strip().splitlines()[-1]))


def log_file(lines: int) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"combined-{lines}.log"
    if not path.exists() or sum(1 for _ in path.open("rb")) != lines:
        with console.status(f"generating {lines:,} lines with the demo simulator"):
            write_log(path, lines=lines, days=120, end=None, seed=11)
    return path


def goaccess(path: Path) -> Run:
    report = OUT / "goaccess.json"
    return timed(
        ["goaccess", str(path), "--log-format=COMBINED", "--no-global-config", "-o", str(report)]
    )


def spoor(path: Path) -> Run:
    data_dir = OUT / "spoor-data"
    shutil.rmtree(data_dir, ignore_errors=True)
    env = {**os.environ, "SPOOR_DATA_DIR": str(data_dir)}
    env.pop("SPOOR_DATABASE_URL", None)
    spoor_bin = str(Path(sys.executable).with_name("spoor"))
    timed([spoor_bin, "db", "upgrade"], env)  # schema creation is not part of the import
    return timed([spoor_bin, "import", str(path), "--site", "bench.example", "--json"], env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", default="1000000,3000000")
    parser.add_argument("--record", action="store_true", help="write results to bench/README.md")
    args = parser.parse_args()
    if shutil.which("goaccess") is None:
        sys.exit("goaccess is not installed: apt-get install goaccess")
    version = subprocess.run(["goaccess", "--version"], capture_output=True, text=True)
    number = re.search(r"\d+(\.\d+)+", version.stdout)
    goaccess_version = f"GoAccess {number.group(0) if number else '?'}"

    table = Table(title=f"spoor import vs {goaccess_version} (same file, same run)")
    for column in ("lines", "tool", "seconds", "lines/s", "peak RSS", "speed vs GoAccess"):
        table.add_column(column, justify="right")
    rows = []
    for lines in (int(n) for n in args.lines.split(",")):
        path = log_file(lines)
        ga = goaccess(path)
        sp = spoor(path)
        ratio = ga.seconds / sp.seconds
        for name, run in (("GoAccess", ga), ("Spoor", sp)):
            row = (
                f"{lines:,}",
                name,
                f"{run.seconds:.1f}",
                f"{lines / run.seconds:,.0f}",
                f"{run.max_rss_kib / 1024:,.0f} MiB",
                f"{ratio:.2f}x" if name == "Spoor" else "1.00x",
            )
            rows.append(row)
            table.add_row(*row)
    console.print(table)
    if args.record:
        record(rows, goaccess_version)


def record(rows: list[tuple[str, ...]], goaccess_version: str) -> None:
    header = "| lines | tool | seconds | lines/s | peak RSS | speed vs GoAccess |"
    body = "\n".join("| " + " | ".join(row) + " |" for row in rows)
    stamp = time.strftime("%Y-%m-%d")
    block = (
        f"{BEGIN}\nMeasured {stamp} with {goaccess_version}, on this project's 2-core machine:\n\n"
        f"{header}\n| --- | --- | --- | --- | --- | --- |\n{body}\n{END}"
    )
    text = README.read_text()
    start, end = text.index(BEGIN), text.index(END) + len(END)
    README.write_text(text[:start] + block + text[end:])
    console.print(f"recorded in {README}")


if __name__ == "__main__":
    main()
