"""Load on the live collection endpoint, against a bare endpoint on the same server stack.

    .venv/bin/python bench/collect_load.py [--seconds 10] [--soak 60] [--record]

1. Baseline: a Starlette app whose `POST /bare` answers 204 and ignores the body, run by
   uvicorn with the options of `spoor serve`; `wrk -t2 -c32 -d{seconds}s` against it.
2. Spoor: a fresh data dir, `spoor site add`, `spoor serve`, the same wrk against the
   Plausible-compatible `POST /api/event` (a Chrome user agent, a new URL path per request).
3. The ratio Spoor/bare of requests per second (target: at least 0.5).
4. Soak: a fresh server, wrk paced by its Lua `delay()` at a share of the rate Spoor
   sustained in step 2, then wait for `/healthz` to show nothing pending, SIGTERM the server
   and check that every 202 answered is one row in `hits`, with no errors.
With --record the results are written to bench/results-collect.md.

Everything listens on 127.0.0.1 only; every wrk run has a duration and every server is
terminated in a `finally`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata
import json
import os
import platform
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out" / "collect-load"
RESULTS = ROOT / "bench" / "results-collect.md"
SPOOR = str(Path(sys.executable).with_name("spoor"))
HOST = "127.0.0.1"
DOMAIN = "www.example.com"
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)
THREADS, CONNECTIONS = 2, 32
SOAK_CONNECTIONS = 32  # spare connections let the schedule catch up after a slow answer
DRAIN_PHASE = 1  # seconds of /healthz requests at the end of the soak (see the Lua)
TARGET_RATIO = 0.5
DRAIN_TIMEOUT = 120.0  # seconds to wait for the queue to empty before giving up
console = Console()

# Mirrors `spoor serve` (src/spoor/cli/data.py): one process, the same uvicorn options.
BARE_APP = f"""
import uvicorn
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route


async def bare(request):
    return Response(status_code=204)


app = Starlette(routes=[Route("/bare", bare, methods=["POST"])])

if __name__ == "__main__":
    import sys

    uvicorn.run(
        app,
        host={HOST!r},
        port=int(sys.argv[1]),
        log_level="warning",
        timeout_graceful_shutdown=30,
        proxy_headers=False,
    )
"""

# wrk runs one Lua state per thread plus one for setup()/done(): per-thread counters are
# read back in done() through the thread objects kept in setup() (thread:get).
LUA = """
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_usec; } bench_timeval;
int gettimeofday(bench_timeval *tv, void *tz);
]]
local tv = ffi.new("bench_timeval")
local function now()
  ffi.C.gettimeofday(tv, nil)
  return tonumber(tv.tv_sec) + tonumber(tv.tv_usec) / 1e6
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["User-Agent"] = "%(user_agent)s"

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("id", #threads)
end

-- args: path, then the epoch second after which requests go to /healthz (0: never).
function init(args)
  path = args[1]
  stop_at = tonumber(args[2]) or 0
  statuses = {}
  sent = 0
  posted = 0
  first_post = 0
  last_post = 0
end

function request()
  sent = sent + 1
  local t = now()
  -- After stop_at only requests that store nothing are sent: whatever wrk abandons in
  -- flight when its duration ends can then not be a hit stored without a 202 counted.
  if stop_at > 0 and t >= stop_at then
    return wrk.format("GET", "/healthz", nil, nil)
  end
  posted = posted + 1
  if first_post == 0 then first_post = t end
  last_post = t
  local body = string.format(
    '{"n":"pageview","u":"https://%(domain)s/load/%%d/%%d","d":"%(domain)s"}', id, posted)
  return wrk.format(nil, path, nil, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
%(delay)s
function done(summary, latency, requests)
  local counts, sent_all, posted_all, first, last = {}, 0, 0, 0, 0
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      counts[status] = (counts[status] or 0) + n
    end
    sent_all = sent_all + thread:get("sent")
    posted_all = posted_all + thread:get("posted")
    local f, l = thread:get("first_post"), thread:get("last_post")
    if f > 0 and (first == 0 or f < first) then first = f end
    if l > last then last = l end
  end
  local parts = {}
  for status, n in pairs(counts) do
    table.insert(parts, string.format('"%%d":%%d', status, n))
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH-JSON {"requests":%%d,"duration_us":%%d,"p50_us":%%d,"p99_us":%%d,' ..
    '"connect":%%d,"read":%%d,"write":%%d,"timeout":%%d,"status_errors":%%d,' ..
    '"sent":%%d,"posted":%%d,"post_seconds":%%.3f,"statuses":{%%s}}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.timeout, e.status,
    sent_all, posted_all, last - first, table.concat(parts, ",")))
end
"""

# wrk has no rate option and Debian has no wrk2: each thread keeps a schedule of send times
# at a fixed interval, and delay() holds a connection's next request until the next free
# slot. A fixed pause per request instead ran 20-25% slow, as latency adds to it.
DELAY = """
local due = 0
function delay()
  local t = now()
  if due == 0 then due = t end
  due = due + %(interval)f
  local wait = (due - t) * 1000
  if wait < 0 then return 0 end
  return wait
end
"""


@dataclass
class WrkResult:
    label: str
    endpoint: str
    options: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    statuses: dict[int, int]
    socket_errors: int
    sent: int
    posted: int
    post_seconds: float
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def ok(self) -> int:
        """The endpoints' own success answers (the soak's /healthz 200s are not counted)."""
        return self.statuses.get(202, 0) + self.statuses.get(204, 0)

    @property
    def busy(self) -> int:
        return self.statuses.get(503, 0)

    @property
    def other_errors(self) -> int:
        return sum(n for s, n in self.statuses.items() if s >= 300 and s != 503)


@dataclass
class Soak:
    result: WrkResult
    share: float  # of the sustained rate, aimed at
    target_rps: float
    accepted: int  # 202 answers counted by wrk
    stored: int  # rows in hits once the server has exited
    dropped: int  # rows counted in drops (bots, exclusions...): expected 0 here
    drain_seconds: float
    exit_code: int | None

    @property
    def passed(self) -> bool:
        r = self.result
        return (
            self.accepted == self.stored
            and self.dropped == 0
            and r.other_errors == 0
            and r.socket_errors == 0
            and clean_exit(self.exit_code)
        )


# --- processes -------------------------------------------------------------------------


def clean_exit(code: int | None) -> bool:
    # uvicorn re-raises the SIGTERM it handled once shut down, so that is a clean end too.
    return code in (0, -signal.SIGTERM)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def healthz(port: int) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://{HOST}:{port}/healthz", timeout=5) as answer:
        return dict(json.load(answer))


def wait_listening(proc: subprocess.Popen[bytes], port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode} before listening")
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listened on port {port} within {timeout:.0f} s")


def stop(proc: subprocess.Popen[bytes], timeout: float = 60.0) -> int | None:
    """SIGTERM (Spoor stores what it accepted), then SIGKILL if it hangs."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            return None
    return proc.returncode


def start_bare() -> tuple[subprocess.Popen[bytes], int]:
    script = OUT / "bare_app.py"
    script.write_text(BARE_APP)
    port = free_port()
    log = (OUT / "bare.log").open("wb")
    proc = subprocess.Popen([sys.executable, str(script), str(port)], stdout=log, stderr=log)
    return proc, port


def spoor_env(data_dir: Path) -> dict[str, str]:
    env = {**os.environ, "SPOOR_DATA_DIR": str(data_dir), "SPOOR_RATE_LIMIT": "100000000"}
    env.pop("SPOOR_DATABASE_URL", None)  # SQLite in the fresh data dir, whatever the shell has
    return env


def start_spoor(name: str) -> tuple[subprocess.Popen[bytes], int, Path]:
    data_dir = OUT / name
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    env = spoor_env(data_dir)
    subprocess.run([SPOOR, "site", "add", DOMAIN], env=env, check=True, capture_output=True)
    port = free_port()
    log = (OUT / f"{name}.log").open("wb")
    proc = subprocess.Popen(
        [SPOOR, "serve", "--host", HOST, "--port", str(port)], env=env, stdout=log, stderr=log
    )
    return proc, port, data_dir


def wait_drained(port: int, started: float) -> float:
    """Seconds from `started` (monotonic) until /healthz shows nothing pending."""
    while True:
        health = healthz(port)
        if health["pending"] == 0:
            return time.monotonic() - started
        if time.monotonic() - started > DRAIN_TIMEOUT:
            raise RuntimeError(f"still pending after {DRAIN_TIMEOUT:.0f} s: {health}")
        time.sleep(0.2)


def count_rows(data_dir: Path) -> tuple[int, int]:
    """Rows in hits, and the sum of drops, read after the server has exited."""
    db = sqlite3.connect(data_dir / "spoor.db")
    try:
        hits = db.execute("SELECT count(*) FROM hits").fetchone()[0]
        drops = db.execute("SELECT coalesce(sum(count), 0) FROM drops").fetchone()[0]
    finally:
        db.close()
    return int(hits), int(drops)


# --- wrk -------------------------------------------------------------------------------


def run_wrk(
    label: str,
    port: int,
    path: str,
    seconds: int,
    *,
    connections: int = CONNECTIONS,
    rate: float = 0.0,
    stop_at: float = 0.0,
) -> WrkResult:
    lua = OUT / f"{label}.lua"
    delay = DELAY % {"interval": THREADS / rate} if rate else ""
    lua.write_text(LUA % {"user_agent": CHROME, "domain": DOMAIN, "delay": delay})
    args = [
        "wrk",
        f"-t{THREADS}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(lua),
        f"http://{HOST}:{port}{path}",
        "--",
        path,
        f"{stop_at:.3f}",
    ]
    # wrk ends itself after -d; the subprocess timeout only guards against a hang.
    done = subprocess.run(args, capture_output=True, text=True, timeout=seconds + 60, check=True)
    (OUT / f"{label}.wrk.txt").write_text(done.stdout + done.stderr)
    line = next(x for x in done.stdout.splitlines() if x.startswith("BENCH-JSON "))
    data = json.loads(line.removeprefix("BENCH-JSON "))
    options = f"-t{THREADS} -c{connections} -d{seconds}s" + (
        f", paced at {rate:,.0f}/s" if rate else ""
    )
    return WrkResult(
        label=label,
        endpoint=path,
        options=options,
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        statuses={int(s): n for s, n in data["statuses"].items()},
        socket_errors=data["connect"] + data["read"] + data["write"] + data["timeout"],
        sent=data["sent"],
        posted=data["posted"],
        post_seconds=data["post_seconds"],
    )


# --- the runs --------------------------------------------------------------------------


def bare_run(seconds: int) -> WrkResult:
    proc, port = start_bare()
    try:
        wait_listening(proc, port)
        return run_wrk("bare", port, "/bare", seconds)
    finally:
        stop(proc)


def spoor_run(seconds: int) -> WrkResult:
    proc, port, data_dir = start_spoor("spoor-burst")
    try:
        wait_listening(proc, port)
        result = run_wrk("spoor", port, "/api/event", seconds)
        ended = time.monotonic()
        # The store's pace while the requests came in: its own limit, unlike the 202s.
        health = healthz(port)
        drain = wait_drained(port, ended)
    finally:
        code = stop(proc)
    stored, dropped = count_rows(data_dir)
    result.extra = {
        "stored_during": float(health["stored"]),
        "pending_after": float(health["pending"]),
        "drain_seconds": drain,
        "stored": stored,
        "dropped": dropped,
        "exit_code": -1 if code is None else code,
    }
    return result


def soak_run(seconds: int, sustained: float, share: float) -> Soak:
    target_rps = max(1.0, sustained * share)
    proc, port, data_dir = start_spoor("spoor-soak")
    code: int | None = None
    try:
        wait_listening(proc, port)
        stop_at = time.time() + seconds
        result = run_wrk(
            "soak",
            port,
            "/api/event",
            seconds + DRAIN_PHASE,
            connections=SOAK_CONNECTIONS,
            rate=target_rps,
            stop_at=stop_at,
        )
        drain = wait_drained(port, time.monotonic())
    finally:
        code = stop(proc)
    stored, dropped = count_rows(data_dir)
    return Soak(
        result=result,
        share=share,
        target_rps=target_rps,
        accepted=result.statuses.get(202, 0),
        stored=stored,
        dropped=dropped,
        drain_seconds=drain,
        exit_code=code,
    )


# --- report ----------------------------------------------------------------------------


def versions() -> dict[str, str]:
    wrk = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split()
    found = {"wrk": wrk[1] if len(wrk) > 1 else "?", "python": platform.python_version()}
    for package in ("uvicorn", "starlette", "h11", "uvloop", "httptools"):
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            found[package] = "not installed"
    return found


def commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout

    head = git("rev-parse", "--short", "HEAD").strip() or "unknown"
    # Others edit the tree while this runs: say when the code measured is not the commit.
    dirty = [line[3:] for line in git("status", "--porcelain", "--", "src").splitlines()]
    return f"{head} (uncommitted in src/: {', '.join(dirty)})" if dirty else head


def rows(bare: WrkResult, spoor: WrkResult, soak: Soak) -> list[list[str]]:
    out = []
    for r in (bare, spoor, soak.result):
        # In the soak, requests/s counts the POSTs only, over the time they were sent.
        rps = r.posted / r.post_seconds if r is soak.result else r.rps
        out.append(
            [
                r.label,
                f"`{r.endpoint}`",
                r.options,
                f"{rps:,.0f}",
                f"{r.p50_ms:.1f}",
                f"{r.p99_ms:.1f}",
                f"{r.ok:,}",
                f"{r.busy:,}",
                f"{r.other_errors:,}",
                f"{r.socket_errors:,}",
                "paced" if r is soak.result else f"{rps / bare.rps:.2f}x",
            ]
        )
    return out


HEADERS = [
    "run",
    "endpoint",
    "wrk",
    "requests/s",
    "p50 ms",
    "p99 ms",
    "202/204",
    "503",
    "other non-2xx",
    "socket errors",
    "vs bare",
]


def summary_lines(bare: WrkResult, spoor: WrkResult, soak: Soak) -> list[str]:
    ratio = spoor.rps / bare.rps
    e = spoor.extra
    r = soak.result
    verdict = "PASS" if soak.passed else "FAIL"
    return [
        f"Spoor/bare requests/s: **{ratio:.2f}x** (target >= {TARGET_RATIO:.2f}x: "
        f"{'met' if ratio >= TARGET_RATIO else 'NOT met'}).",
        f"Burst run: {spoor.ok:,} answered 202 in {spoor.seconds:.1f} s; the store wrote "
        f"{e['stored_during']:,.0f} meanwhile ({e['stored_during'] / spoor.seconds:,.0f} "
        f"hits/s) with {e['pending_after']:,.0f} pending at the end, drained in "
        f"{e['drain_seconds']:.1f} s; after SIGTERM {e['stored']:,.0f} rows in hits, "
        f"{e['dropped']:,.0f} drops ({spoor.sent - spoor.requests:,} requests were in flight "
        "when wrk stopped, which may be stored without a 202 counted).",
        f"Soak: paced at {soak.target_rps:,.0f} requests/s ({SOAK_CONNECTIONS} connections), "
        f"achieved {r.posted / r.post_seconds:,.0f}/s over "
        f"{r.post_seconds:.1f} s; {r.posted:,} POSTs sent.",
        f"Soak verification: **{verdict}**: {soak.accepted:,} answered 202, {soak.stored:,} "
        f"rows in hits, {soak.dropped:,} drops, {r.busy:,} 503, {r.other_errors:,} other "
        f"non-2xx, {r.socket_errors:,} socket errors; queue drained {soak.drain_seconds:.1f} s "
        f"after the load; server exit code {soak.exit_code} "
        f"({'clean' if clean_exit(soak.exit_code) else 'NOT clean'}).",
    ]


def markdown(
    bare: WrkResult, spoor: WrkResult, soak: Soak, seconds: int, soak_s: int, load: float
) -> str:
    v = versions()
    table = [
        "| " + " | ".join(HEADERS) + " |",
        "| " + " | ".join("---" for _ in HEADERS) + " |",
        *("| " + " | ".join(row) + " |" for row in rows(bare, spoor, soak)),
    ]
    stack = ", ".join(f"{k} {v[k]}" for k in ("uvicorn", "starlette", "h11"))
    return "\n".join(
        [
            "# Live collection under load: Spoor vs a bare endpoint",
            "",
            "```sh",
            f".venv/bin/python bench/collect_load.py --seconds {seconds} --soak {soak_s} --record",
            "```",
            "",
            f"Measured {dt.date.today().isoformat()} on this project's {os.cpu_count()}-core "
            f"machine (wrk and the server share it; 1-minute load average {load:.2f} before "
            f"the run): wrk {v['wrk']}, Python {v['python']}, "
            f"{stack}; uvloop {v['uvloop']}, httptools {v['httptools']} (so uvicorn runs "
            f"asyncio and h11 for both servers). Spoor at commit {commit()}.",
            "",
            *table,
            "",
            *(f"- {line}" for line in summary_lines(bare, spoor, soak)),
            "",
            "## Method",
            "",
            "- **bare**: a Starlette app, `POST /bare` -> `Response(status_code=204)` without "
            "reading the body, run by `uvicorn.run` with the options of `spoor serve` (one "
            "process, log level warning, no proxy headers).",
            "- **spoor**: fresh data dir (SQLite), `spoor site add www.example.com`, "
            "`spoor serve` with `SPOOR_RATE_LIMIT=100000000`; `POST /api/event` with "
            '`{"n":"pageview","u":"https://www.example.com/load/<thread>/<n>",'
            '"d":"www.example.com"}` and a Chrome user agent. The bare run sends the same '
            "bodies and headers through the same Lua script. `spoor serve` is two processes: "
            "the server, which spools each hit and answers, and the consumer it starts, which "
            "stores the spool; both share the cores with wrk.",
            f"- Both: `wrk -t{THREADS} -c{CONNECTIONS} -d{seconds}s --latency` with a Lua "
            "script that counts statuses per thread (`response()`, aggregated in `done()` "
            "through `setup(thread)`/`thread:get`). requests/s is wrk's: completed requests "
            "over the run, 503 included (none here unless the 503 column says so).",
            f"- **soak**: a fresh server; wrk with {SOAK_CONNECTIONS} connections paced by a "
            f"Lua `delay()` (Debian has no wrk2) aimed at {soak.share:.0%} of the lower of "
            "the burst run's 202 rate and its store rate; its requests/s is POSTs over the "
            f"time they were sent. For the last {DRAIN_PHASE} s of the run wrk sends "
            "`GET /healthz` instead, so that requests abandoned in flight when wrk stops "
            "cannot be hits stored without a 202 counted; the soak's p50/p99 include those "
            "cheap requests. Then wait for `/healthz` pending = 0, SIGTERM, and count `hits` "
            "(and `drops`) in `spoor.db`. Pass: 202s = rows in hits, no drops, no non-2xx "
            "other than 503, no socket errors, a clean exit (0, or -15: uvicorn re-raises the "
            "SIGTERM after its graceful shutdown).",
            "- All on 127.0.0.1; client and server share the 2 cores, so absolute numbers "
            "are low and noisy: compare the ratio.",
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=10, help="seconds of each burst run")
    parser.add_argument("--soak", type=int, default=60, help="seconds of the soak")
    parser.add_argument("--soak-load", type=float, default=0.8, help="share of sustained rate")
    parser.add_argument("--record", action="store_true", help=f"write {RESULTS.name}")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: apt-get install -y wrk")
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    load = os.getloadavg()[0]  # other work on the machine skews absolute numbers

    console.print(f"bare endpoint, {args.seconds} s ...")
    bare = bare_run(args.seconds)
    console.print(f"Spoor /api/event, {args.seconds} s ...")
    spoor = spoor_run(args.seconds)
    # Sustainable: what the endpoint answered 202 to and the store kept up with.
    sustained = min(spoor.ok, spoor.extra["stored_during"]) / spoor.seconds
    console.print(f"soak at {args.soak_load:.0%} of {sustained:,.0f}/s, {args.soak} s ...")
    soak = soak_run(args.soak, sustained, args.soak_load)

    table = Table(*HEADERS, title="POST throughput, wrk on 127.0.0.1")
    for row in rows(bare, spoor, soak):
        table.add_row(*(cell.strip("`") for cell in row))
    # Piped output defaults to 80 columns, too narrow for eleven of them.
    (console if console.is_terminal else Console(width=150)).print(table)
    for line in summary_lines(bare, spoor, soak):
        console.print(line.replace("**", ""))
    if args.record:
        RESULTS.write_text(markdown(bare, spoor, soak, args.seconds, args.soak, load))
        console.print(f"wrote {RESULTS.relative_to(ROOT)}")
    if not soak.passed:
        sys.exit(1)


if __name__ == "__main__":
    main()
