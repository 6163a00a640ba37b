"""The deployment examples pass their own tools' checks: every nginx block of
docs/deploy.md under `nginx -t`, every Caddyfile under `caddy validate`, and
deploy/spoor.service under `systemd-analyze verify`.

The tools come from Debian (nginx-light, caddy, systemd); CI installs them and sets
SPOOR_REQUIRE_DEPLOY_TOOLS=1, so a missing tool fails there instead of skipping.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEPLOY_DOC = (ROOT / "docs" / "deploy.md").read_text()


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        if os.environ.get("SPOOR_REQUIRE_DEPLOY_TOOLS") == "1":
            pytest.fail(f"SPOOR_REQUIRE_DEPLOY_TOOLS=1 but {name} is not installed")
        pytest.skip(f"{name} is not installed")
    return path


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DEPLOY_DOC, re.S)


def test_the_nginx_examples_pass_nginx_t(tmp_path: Path) -> None:
    nginx = _tool("nginx")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=spoor.example.com", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    blocks = _blocks("nginx")
    assert len(blocks) == 2, "the Spoor server block and the first-party proxy locations"
    spoor, first_party = blocks
    spoor = spoor.replace("/etc/letsencrypt/live/spoor.example.com/fullchain.pem", str(cert))
    spoor = spoor.replace("/etc/letsencrypt/live/spoor.example.com/privkey.pem", str(key))
    # nginx resolves upstream names when it loads: offline, Spoor's host is this machine.
    first_party = first_party.replace("https://spoor.example.com/", "https://127.0.0.1/")
    site = f"server {{\n    listen 8080;\n    server_name www.example.com;\n{first_party}}}\n"
    conf = tmp_path / "nginx.conf"
    conf.write_text(f"events {{}}\nhttp {{\n{spoor}{site}}}\n")
    result = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(conf),
         "-g", f"pid {tmp_path}/nginx.pid; error_log {tmp_path}/error.log;"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "[warn]" not in result.stderr, result.stderr


def test_the_caddyfiles_validate(tmp_path: Path) -> None:
    caddy = _tool("caddy")
    blocks = _blocks("caddyfile")
    assert len(blocks) == 2
    for n, block in enumerate(blocks):
        caddyfile = tmp_path / f"Caddyfile{n}"
        caddyfile.write_text(block)
        result = subprocess.run(
            [caddy, "validate", "--config", str(caddyfile), "--adapter", "caddyfile"],
            capture_output=True, text=True, env={**os.environ, "HOME": str(tmp_path)},
        )  # fmt: skip
        assert result.returncode == 0, result.stderr


def test_the_systemd_unit_verifies(tmp_path: Path) -> None:
    analyze = _tool("systemd-analyze")
    spoor = Path(sys.executable).with_name("spoor")
    unit = tmp_path / "spoor.service"
    text = (ROOT / "deploy" / "spoor.service").read_text()
    assert "/opt/spoor/bin/spoor" in text
    unit.write_text(text.replace("/opt/spoor/bin/spoor", str(spoor)))
    result = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True)
    # A directive systemd cannot parse is only a warning (exit 0): any output fails too.
    assert result.returncode == 0, result.stderr
    assert not result.stderr.strip(), result.stderr
