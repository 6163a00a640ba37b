"""Debian's Chromium for browser tests, launched by Playwright (never a downloaded one)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
# Headless Chromium says "HeadlessChrome", which Spoor rightly drops as a bot. Set by the
# flag, not a context's user_agent: beacons sent while a page unloads leave without the
# context's override (and were dropped as bots).
CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/140.0.0.0 Safari/537.36"
)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    f"--user-agent={CHROME}",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def sign_in_page(page: Any, email: str, password: str) -> None:
    """Fill in and send the sign-in form the page shows."""
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def launch(playwright: Any, chromium: str) -> Any:
    """Debian's Chromium with CHROMIUM_ARGS, from a `sync_playwright()` context."""
    return playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)


def console_errors(page: Any) -> list[str]:
    """The page's console errors, collected as they come."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return errors
