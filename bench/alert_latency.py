"""Alert latency: from a hand-raise at the collect endpoint to the webhook delivery.

    .venv/bin/python bench/alert_latency.py [--count 1000] [--record]

Runs a real `spoor serve` (SQLite) with a site, IP data naming a business, a webhook
channel to a local HTTP receiver and a hand-raise rule without cooldown. Sends `count`
form submissions (Spoor's tracker payload, event "form"), a few per second from many
addresses of that business, and records for each the time from sending it to the
receiver getting its alert. The baseline in the same run: the same client posting the
same size of body straight to the receiver (the floor any alerting adds to).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import Progress

from readme import record
from spoor.db.engine import open_database
from spoor.identify.ipdb import import_dataset
from spoor.leads.alerts import add_channel, add_rule
from spoor.settings import Settings, parse_networks
from spoor.sites import add_site

ROOT = Path(__file__).resolve().parents[1]
SPOOR = str(Path(sys.executable).with_name("spoor"))
CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36"
console = Console()


class Receiver:
    def __init__(self) -> None:
        self.got: dict[str, float] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                at = time.perf_counter()
                path = json.loads(body).get("event", {}).get("path", "")
                receiver.got[path] = at
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def percentiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered), ordered[
        min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))
    ]


def prepare(data_dir: Path, hook: str, count: int) -> Settings:
    # The receiver is on loopback, which webhooks reach only when an admin allows it.
    settings = Settings(data_dir=data_dir, webhook_allow=parse_networks("127.0.0.1"))
    engine = open_database(settings)
    ranges = data_dir / "asn.csv"
    # One business per /24, so that every hand-raise comes from an account of its own.
    ranges.write_text("".join(
        f"198.{18 + n // 256}.{n % 256}.0,198.{18 + n // 256}.{n % 256}.255,{64496 + n},"
        f"Bench Account {n} GmbH\n" for n in range(count)
    ))  # fmt: skip
    import_dataset(engine, ranges, 1, "csv", "asn")
    now = int(time.time())
    with engine.begin() as conn:
        add_site(conn, "www.example.com", "UTC", now)
        channel = add_channel(conn, "bench", "webhook", hook, now, settings=settings)
        add_rule(conn, "every hand-raise", "hand_raise", channel.id, now, cooldown_minutes=0)
    engine.dispose()
    return settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=20, help="hand-raises per second")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args()

    receiver = Receiver()
    data_dir = Path(tempfile.mkdtemp(prefix="spoor-alerts-"))
    prepare(data_dir, receiver.url, args.count)
    env = {**os.environ, "SPOOR_DATA_DIR": str(data_dir), "SPOOR_DATABASE_URL": "",
           "SPOOR_TRUSTED_PROXIES": "127.0.0.1", "SPOOR_RATE_LIMIT": "1000000",
           "SPOOR_WEBHOOK_ALLOW": "127.0.0.1"}  # fmt: skip
    server = subprocess.Popen([SPOOR, "serve", "--port", str(args.port)], env=env)
    base = f"http://127.0.0.1:{args.port}"
    sent: dict[str, float] = {}
    try:
        with httpx.Client(base_url=base, timeout=10) as client:
            while True:
                try:
                    client.get("/healthz")
                    break
                except httpx.HTTPError:
                    time.sleep(0.2)
            baseline = []
            for n in range(200):  # the floor: a direct POST of an alert-sized body
                started = time.perf_counter()
                httpx.post(receiver.url, content=json.dumps({"event": {"path": f"/b/{n}"},
                                                              "pad": "x" * 900}))  # fmt: skip
                baseline.append(receiver.got[f"/b/{n}"] - started)
            with Progress(console=console) as progress:
                task = progress.add_task("hand-raises", total=args.count)
                for n in range(args.count):
                    path = f"/demo/{n}"
                    ip = f"198.{18 + n // 256}.{n % 256}.7"
                    body = {
                        "s": "www.example.com",
                        "u": f"https://www.example.com{path}",
                        "e": "form",
                    }
                    headers = {"user-agent": CHROME, "content-type": "application/json",
                               "x-forwarded-for": ip}  # fmt: skip
                    sent[path] = time.perf_counter()
                    answer = client.post("/api/collect", content=json.dumps(body), headers=headers)
                    assert answer.status_code == 202, answer.text
                    progress.advance(task)
                    time.sleep(1 / args.rate)
            deadline = time.monotonic() + 60
            while len([p for p in sent if p in receiver.got]) < len(sent):
                if time.monotonic() > deadline:
                    break
                time.sleep(0.2)
    finally:
        server.terminate()
        server.wait(timeout=60)
    delays = [receiver.got[p] - t for p, t in sent.items() if p in receiver.got]
    missing = len(sent) - len(delays)
    p50, p95 = percentiles(delays)
    b50, b95 = percentiles(baseline)
    verdict = "met" if p95 < 2 and not missing else "NOT met"
    lines = [
        f"{args.count} hand-raises at {args.rate:g}/s through `POST /api/collect` of a real "
        f"`spoor serve` (SQLite), each from an account of its own, to a webhook receiver on "
        f"loopback; {missing} never arrived.",
        "",
        "| path | p50 s | p95 s |",
        "| --- | --- | --- |",
        f"| hit to webhook delivery | {p50:.3f} | {p95:.3f} |",
        f"| baseline: direct POST to the receiver | {b50:.4f} | {b95:.4f} |",
        "",
        f"p95 **{p95:.2f} s** (target < 2 s: {verdict}). The delay is the live ingest's batch "
        "interval (0.5 s) plus the alert watcher's poll (0.2 s) plus scoring and sending.",
    ]
    text = "\n".join(lines)
    console.print(text)
    if args.record:
        record("alerts-bench", text, "Alert latency",
               ".venv/bin/python bench/alert_latency.py --record")  # fmt: skip


if __name__ == "__main__":
    main()
