"""Every CLI command and option is documented: docs/cli.md is generated from the app."""

from pathlib import Path

import click
import typer.cli
import typer.main

from spoor.cli import app

ROOT = Path(__file__).resolve().parents[1]


def cli_reference() -> str:
    command = typer.main.get_command(app)
    docs = typer.cli.get_docs_for_click(obj=command, ctx=click.Context(command), name="spoor")
    return docs.strip() + "\n"


def test_cli_reference_is_current() -> None:
    page = (ROOT / "docs" / "cli.md").read_text()
    assert page == cli_reference(), "regenerate with: make docs"
    for name in ("import", "stats", "serve", "resolve", "companies", "identify-report"):
        assert f"## `spoor {name}`" in page


if __name__ == "__main__":  # make docs
    print(cli_reference(), end="")
