"""Starting a real `spoor serve` for a test, and stopping it as a process manager would."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

from spoor.settings import Settings

SPOOR = str(Path(sys.executable).with_name("spoor"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(
    settings: Settings, port: int, extra_env: Mapping[str, str] | None = None
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "SPOOR_DATA_DIR": str(settings.data_dir),
        "SPOOR_DATABASE_URL": settings.database_url,
        "SPOOR_RATE_LIMIT": "1000000",
        **(extra_env or {}),
    }
    process = subprocess.Popen([SPOOR, "serve", "--port", str(port)], env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError("spoor serve did not start")


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, as systemd or docker would; uvicorn re-raises it after a clean shutdown."""
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) in (0, -signal.SIGTERM)
