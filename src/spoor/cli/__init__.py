"""The `spoor` command line: each command parses its options, calls a service, renders."""

from spoor.cli import data, deals, identify, leads, ops, orgs, privacy, prospecting, users
from spoor.cli.app import app

__all__ = [
    "app",
    "data",
    "deals",
    "identify",
    "leads",
    "main",
    "ops",
    "orgs",
    "privacy",
    "prospecting",
    "users",
]


def main() -> None:
    app()
