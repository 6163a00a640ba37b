"""The `spoor` command line: each command parses its options, calls a service, renders."""

from spoor.cli import data, identify, orgs
from spoor.cli.app import app

__all__ = ["app", "data", "identify", "main", "orgs"]


def main() -> None:
    app()
