"""Soak: live load, a log import and browsing at once for ten minutes, and nothing lost.

    .venv/bin/python bench/soak.py [--minutes 10] [--rate 200] [--import-lines 300000] [--record]

One `spoor serve` on a fresh SQLite data dir, and for the whole run:

1. live load: wrk paced at `--rate` requests/s on the Plausible-compatible `POST /api/event`
   (the machinery of bench/collect_load.py), every 202 counted;
2. log imports: `spoor import` of a combined log written by the demo simulator, again and
   again into a new site each time, while the run lasts;
3. browsing: a signed-in admin GETs the main pages one after another (a pause between);
4. every 5 s the resident memory (RSS) of the server, its live consumer and the import.

First, the same live load alone for 20 s on the same server: the latency baseline. At the
end, nothing lost: every 202 is one stored hit of the live site, and each imported site
holds exactly the hits and visits of one import of the same file into a fresh database
(the import baseline, run afterwards alone). With --record the result replaces the Soak
block in bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

from collect_load import (
    DOMAIN,
    HOST,
    SPOOR,
    WrkResult,
    free_port,
    run_wrk,
    spoor_env,
    stop,
    wait_drained,
    wait_listening,
)
from collect_load import OUT as WRK_OUT
from readme import record
from spoor.db.engine import open_database
from spoor.demo.simulator import write_log
from spoor.settings import Settings
from spoor.users import Role, add_user

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out" / "soak"
PAGES = ["/", "/companies", "/leads", "/today", "/routine", "/team", "/deals", "/forecast",
         "/alerts", "/settings", "/account"]  # fmt: skip
ADMIN, PASSWORD = "admin@soak.example", "soak password, long enough"
SAMPLE_SECONDS = 5.0
QUIET_SECONDS = 20
console = Console()


# --- memory ------------------------------------------------------------------------------


def rss_mib(pid: int) -> float:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    found = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
    return int(found.group(1)) / 1024 if found else 0.0


def children(pid: int) -> list[int]:
    """Every descendant of `pid` (Linux /proc)."""
    found: list[int] = []
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return found
    for task in tasks:
        try:
            direct = [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
        for child in direct:
            found += [child, *children(child)]
    return found


@dataclass
class Sample:
    at: float  # seconds since the soak started
    server: float
    consumer: float
    importer: float
    pending: int


@dataclass
class Run:
    samples: list[Sample] = field(default_factory=list)
    page_ms: list[float] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    imports: list[str] = field(default_factory=list)  # the sites imported into
    import_errors: list[str] = field(default_factory=list)
    import_pid: int = 0


# --- the three loads ---------------------------------------------------------------------


def browse(port: int, until: float, run: Run, pause: float) -> None:
    with httpx.Client(base_url=f"http://{HOST}:{port}", timeout=30) as client:
        login = client.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', login.text)
        assert token, "no CSRF token on the sign-in page"
        form = {"email": ADMIN, "password": PASSWORD, "csrf_token": token.group(1), "next": "/"}
        signed = client.post("/login", data=form)
        assert signed.status_code == 303, signed.text
        n = 0
        while time.time() < until:
            path = PAGES[n % len(PAGES)]
            n += 1
            started = time.perf_counter()
            try:
                answer = client.get(path)
                run.page_ms.append((time.perf_counter() - started) * 1000)
                if answer.status_code != 200:
                    run.page_errors.append(f"{path}: HTTP {answer.status_code}")
            except httpx.HTTPError as exc:
                run.page_errors.append(f"{path}: {type(exc).__name__}")
            time.sleep(pause)


def imports(log: Path, env: dict[str, str], until: float, run: Run) -> None:
    """Import the log into a new site each time, until `until` (one last import may end
    after it: the run waits for it)."""
    n = 0
    while time.time() < until:
        n += 1
        site = f"import-{n}.example"
        proc = subprocess.Popen([SPOOR, "import", str(log), "--site", site, "--json"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
        run.import_pid = proc.pid
        _, err = proc.communicate()
        run.import_pid = 0
        if proc.returncode:
            run.import_errors.append(f"{site}: exit {proc.returncode}: {err.decode()[-300:]}")
        run.imports.append(site)


def sample(server: subprocess.Popen[bytes], port: int, until: float, run: Run) -> None:
    started = time.time()
    while time.time() < until:
        kids = children(server.pid)
        importer = run.import_pid
        tree = [importer, *children(importer)] if importer else []
        try:
            pending = int(httpx.get(f"http://{HOST}:{port}/healthz", timeout=10).json()["pending"])
        except (httpx.HTTPError, KeyError, ValueError):
            pending = -1
        run.samples.append(Sample(
            at=time.time() - started,
            server=rss_mib(server.pid),
            consumer=sum(rss_mib(k) for k in kids),
            importer=sum(rss_mib(p) for p in tree),
            pending=pending,
        ))  # fmt: skip
        time.sleep(SAMPLE_SECONDS)


# --- counting ----------------------------------------------------------------------------


def site_counts(db: Path) -> dict[str, tuple[int, int, int]]:
    """Per site: hits, visits, drops (read after the server has exited)."""
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute(
            "SELECT s.domain,"
            " (SELECT count(*) FROM hits h WHERE h.site_id = s.id),"
            " (SELECT count(*) FROM visits v WHERE v.site_id = s.id),"
            " (SELECT coalesce(sum(d.count), 0) FROM drops d WHERE d.site_id = s.id)"
            " FROM sites s"
        ).fetchall()
    finally:
        conn.close()
    return {domain: (int(h), int(v), int(d)) for domain, h, v, d in rows}


def baseline(log: Path) -> tuple[int, int, int]:
    data_dir = OUT / "baseline"
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    env = spoor_env(data_dir)
    subprocess.run([SPOOR, "import", str(log), "--site", "import-1.example", "--json"],
                   env=env, check=True, capture_output=True)  # fmt: skip
    return site_counts(data_dir / "spoor.db")["import-1.example"]


# --- the run -----------------------------------------------------------------------------


def prepare(lines: int) -> tuple[Path, dict[str, str]]:
    OUT.mkdir(parents=True, exist_ok=True)
    WRK_OUT.mkdir(parents=True, exist_ok=True)  # wrk's Lua scripts and outputs
    log = OUT / f"simulated-{lines}.log"
    if not log.exists():
        with console.status(f"writing {lines:,} log lines with the demo simulator"):
            write_log(log, lines=lines, days=60, end=None, seed=23)
    data_dir = OUT / "live"
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    env = spoor_env(data_dir) | {"SPOOR_IMPORT_WORKERS": "1"}  # leave a core to the server
    subprocess.run([SPOOR, "site", "add", DOMAIN], env=env, check=True, capture_output=True)
    engine = open_database(Settings(data_dir=data_dir))
    with engine.begin() as conn:
        add_user(conn, ADMIN, PASSWORD, Role.ADMIN, int(time.time()), "Soak")
    engine.dispose()
    return log, env


def soak(minutes: float, rate: float, lines: int, pause: float) -> dict[str, object]:
    log, env = prepare(lines)
    seconds = int(minutes * 60)
    port = free_port()
    server_log = (OUT / "server.log").open("wb")
    server = subprocess.Popen([SPOOR, "serve", "--host", HOST, "--port", str(port)], env=env,
                              stdout=server_log, stderr=server_log)  # fmt: skip
    run = Run()
    code: int | None = None
    try:
        wait_listening(server, port)
        quiet = run_wrk("soak-quiet", port, "/api/event", QUIET_SECONDS + 1, rate=rate,
                        stop_at=time.time() + QUIET_SECONDS)  # fmt: skip
        until = time.time() + seconds
        threads = [
            threading.Thread(target=sample, args=(server, port, until, run)),
            threading.Thread(target=browse, args=(port, until, run, pause)),
            threading.Thread(target=imports, args=(log, env, until - 30, run)),
        ]
        for t in threads:
            t.start()
        live = run_wrk("soak-live", port, "/api/event", seconds + 1, rate=rate, stop_at=until)
        for t in threads:
            t.join()
        drain = wait_drained(port, time.monotonic())
    finally:
        code = stop(server)
    counts = site_counts(OUT / "live" / "spoor.db")
    return {"quiet": quiet, "live": live, "run": run, "drain": drain, "exit": code,
            "counts": counts, "baseline": baseline(log), "lines": lines, "seconds": seconds,
            "rate": rate}  # fmt: skip


# --- report ------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


def report(r: dict[str, object]) -> tuple[str, bool]:
    quiet, live, run = r["quiet"], r["live"], r["run"]
    assert isinstance(quiet, WrkResult)
    assert isinstance(live, WrkResult)
    assert isinstance(run, Run)
    counts = r["counts"]
    assert isinstance(counts, dict)
    base = r["baseline"]
    accepted = quiet.statuses.get(202, 0) + live.statuses.get(202, 0)
    stored, _, live_drops = counts[DOMAIN]
    other = sum(n for s, n in live.statuses.items() if s not in (202, 200))
    imported_ok = [s for s in run.imports if counts.get(s) == base]
    lost = accepted != stored or live_drops or len(imported_ok) != len(run.imports)
    errors = other + live.socket_errors + len(run.page_errors) + len(run.import_errors)
    ok = not lost and not errors and r["exit"] in (0, -15)

    samples = run.samples
    first = next((s for s in samples if s.at >= 60), samples[0])  # after the warm-up minute
    last = samples[-1]
    peak_import = max((s.importer for s in samples), default=0.0)
    minutes = int(r["seconds"]) / 60  # type: ignore[call-overload]
    rows = [
        ("live hits answered 202 (alone, then under soak)", f"{accepted:,}"),
        ("live hits stored", f"{stored:,} ({live_drops} dropped)"),
        ("collect p50 / p99 alone (20 s)", f"{quiet.p50_ms:.1f} / {quiet.p99_ms:.1f} ms"),
        ("collect p50 / p99 under soak",
         f"{live.p50_ms:.1f} / {live.p99_ms:.1f} ms "
         f"({live.p99_ms / max(quiet.p99_ms, 0.001):.1f}x the p99 alone)"),
        ("collect errors (non-202, socket)", f"{other} / {live.socket_errors}"),
        ("pages browsed (signed in)", f"{len(run.page_ms):,}, {len(run.page_errors)} errors"),
        ("page p50 / p95 / max",
         f"{pct(run.page_ms, 0.5):.0f} / {pct(run.page_ms, 0.95):.0f} / "
         f"{max(run.page_ms, default=0):.0f} ms"),
        ("imports of the simulated log", f"{len(run.imports)} x {r['lines']:,} lines, "
         f"{len(run.import_errors)} errors"),
        ("imported sites equal to the baseline import (hits, visits, drops)",
         f"{len(imported_ok)} of {len(run.imports)}: {base[0]:,} hits, {base[1]:,} visits"),
        ("server RSS after 1 min / end / max",
         f"{first.server:.0f} / {last.server:.0f} / {max(s.server for s in samples):.0f} MiB"),
        ("consumer RSS after 1 min / end / max",
         f"{first.consumer:.0f} / {last.consumer:.0f} / "
         f"{max(s.consumer for s in samples):.0f} MiB"),
        ("import RSS max", f"{peak_import:.0f} MiB"),
        ("most pending in the live queue", f"{max(s.pending for s in samples):,}"),
        ("drained after the load", f"{float(r['drain']):.1f} s"),  # type: ignore[arg-type]
        ("result", "PASS: nothing lost, no errors" if ok else "FAIL"),
    ]  # fmt: skip
    table = Table(title=f"Soak, {minutes:g} minutes at {r['rate']:g} hits/s")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for row in rows:
        table.add_row(*row)
    console.print(table)
    for problem in run.page_errors[:5] + run.import_errors[:5]:
        console.print(f"[red]{problem}")

    step = max(1, len(samples) // 10)
    memory = ["| minute | server MiB | consumer MiB | import MiB | pending |",
              "| ---: | ---: | ---: | ---: | ---: |"]  # fmt: skip
    memory += [f"| {s.at / 60:.1f} | {s.server:.0f} | {s.consumer:.0f} | {s.importer:.0f} | "
               f"{s.pending:,} |" for s in [*samples[::step], last]]  # fmt: skip
    text = "\n".join(["| measure | value |", "| --- | ---: |",
                      *(f"| {a} | {b} |" for a, b in rows), "", "Memory over time:", "",
                      *memory])  # fmt: skip
    return text, ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--rate", type=float, default=200, help="live hits per second")
    parser.add_argument("--import-lines", type=int, default=300_000)
    parser.add_argument("--page-pause", type=float, default=0.5, help="seconds between pages")
    parser.add_argument("--note", default="", help="a line on the conditions, for the record")
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args()
    results = soak(args.minutes, args.rate, args.import_lines, args.page_pause)
    text, ok = report(results)
    if args.record:
        when = time.strftime("%Y-%m-%d")
        note = f" {args.note}" if args.note else ""
        record("soak", f"Recorded {when} on {os.cpu_count()} cores.{note}\n\n{text}",
               "Soak: live load, log import and browsing at once",
               "python bench/soak.py --minutes 10 --record")  # fmt: skip
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
