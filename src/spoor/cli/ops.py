"""Commands for running Spoor: backup, restore, doctor."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from spoor.cli.app import app
from spoor.cli.common import JsonOption, console, fail, load_settings, print_json
from spoor.ops import doctor
from spoor.ops.backup import BackupError, backup, restore

STATUS = {"ok": "[green]ok[/]", "warn": "[yellow]warn[/]", "fail": "[bold red]fail[/]"}


@app.command("backup")
def backup_command(
    path: Annotated[
        Path | None,
        typer.Argument(help="File or directory to write (default: spoor-backup-TIME.tar here)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Back up the database, the hits still in the spool and the secret key, while Spoor
    runs (SQLite online backup, or pg_dump for PostgreSQL); with ClickHouse inside Spoor
    (chdb), also its hits and visits, with the server stopped."""
    settings = load_settings()
    try:
        result = backup(settings, path, now=datetime.now(UTC))
    except BackupError as exc:
        raise fail(str(exc)) from exc
    if as_json:
        print_json(result.as_json())
        return
    held = " and ClickHouse's hits and visits" if result.events == "chdb" else ""
    console.print(
        f"Backed up {result.dialect} (schema {result.revision}){held} and {result.spool_lines} "
        f"spooled hits to {result.path} ({result.bytes / 1e6:.1f} MB, {result.seconds:.1f} s)."
    )
    if result.note:
        console.print(f"[yellow]Not backed up:[/] {result.note}.")


@app.command("restore")
def restore_command(
    path: Annotated[Path, typer.Argument(help="A file written by `spoor backup`.")],
    force: Annotated[
        bool, typer.Option(help="Replace a database that holds data already.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Restore a backup into the configured database and data directory (stop `spoor
    serve` first); then migrate it and store the hits its spool held."""
    settings = load_settings()
    try:
        result = restore(settings, path, force=force)
    except BackupError as exc:
        raise fail(str(exc)) from exc
    if as_json:
        print_json(result.as_json())
        return
    console.print(
        f"Restored {result.path} into {result.dialect} (schema {result.revision}): "
        f"{result.hits} hits, {result.replayed} of them from the spool "
        f"({result.seconds:.1f} s). Check it with `spoor doctor`."
    )


@app.command("doctor")
def doctor_command(as_json: JsonOption = False) -> None:
    """Check configuration, database, migrations, IP data, disk, spool, secret key and
    alerts, with a fix for each problem; exits 1 when a check fails."""
    checks = doctor.examine()
    if as_json:
        print_json(doctor.summary(checks))
    else:
        table = Table("check", "status", "found", "fix")
        for check in checks:
            table.add_row(check.name, STATUS[check.status], check.message, check.fix)
        console.print(table)
    if doctor.failed(checks):
        raise typer.Exit(1)
