"""Commands for identification: IP datasets, resolving addresses, companies, the rate."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from spoor.analytics.companies import companies, identify_report
from spoor.cli.app import app, ipdb_app
from spoor.cli.common import console, fail, load_settings, print_json, site_and_period
from spoor.db.engine import open_database
from spoor.identify import ipdb
from spoor.identify.datasets import DatasetError
from spoor.identify.resolver import Resolver
from spoor.identify.update import update_sources
from spoor.terminal import companies_table, identify_summary


@ipdb_app.command("import")
def ipdb_import(
    files: Annotated[list[Path], typer.Argument(help="Dataset files (.gz too).")],
    fmt: Annotated[
        str | None, typer.Option("--format", help="iptoasn, csv, mmdb or rpsl (default: detect).")
    ] = None,
    name: Annotated[
        str | None, typer.Option(help="Source name (default: from the file name).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Import IP datasets; each replaces the earlier version of its source."""
    engine = open_database(load_settings())
    imported = []
    for path in files:
        started = time.perf_counter()
        try:
            with console.status(f"importing {path}"):
                source = ipdb.import_dataset(engine, path, int(time.time()), fmt, name)
        except (DatasetError, OSError) as exc:
            raise fail(f"{path}: {exc}") from exc
        imported.append((source, time.perf_counter() - started))
    if as_json:
        print_json([{**s.__dict__, "seconds": round(t, 2)} for s, t in imported])
        return
    for source, seconds in imported:
        console.print(
            f"{source.name}: {source.records:,} ranges ({source.format}) in {seconds:.1f}s, "
            f"{source.bad_rows:,} bad rows, {source.overlapping:,} overlapping"
        )


@ipdb_app.command("update")
def ipdb_update(
    from_dir: Annotated[
        Path | None,
        typer.Option("--from", help="Import files from this directory; download nothing."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Download (or take from --from DIR), verify and import the default free sources."""
    settings = load_settings()
    if from_dir is not None and not from_dir.is_dir():
        raise fail(f"--from {from_dir}: not a directory")
    engine = open_database(settings)
    with console.status("updating IP data") as status:

        def progress(source: str, done: int, total: int | None) -> None:
            size = f" of {total / 1e6:.1f} MB" if total else ""
            status.update(f"{source}: {done / 1e6:.1f} MB{size}")

        results = update_sources(
            engine,
            settings.data_dir / "ipdb",
            now=datetime.now(UTC),
            from_dir=from_dir,
            progress=progress,
        )
    if as_json:
        print_json([r.__dict__ for r in results])
    else:
        table = Table("source", "status", "version", "records", "message")
        for r in results:
            table.add_row(r.source, r.status, r.version or "", f"{r.records:,}", r.message)
        console.print(table)
    if any(r.status == "failed" for r in results):
        raise typer.Exit(1)


@ipdb_app.command("status")
def ipdb_status(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Sources, versions, range counts and age."""
    sources = ipdb.status(open_database(load_settings()))
    if as_json:
        print_json([s.__dict__ for s in sources])
        return
    if not sources:
        console.print("No IP data yet: `spoor ipdb import FILE` (see docs/identification.md).")
        return
    table = Table("source", "format", "version", "ranges", "bad", "overlapping", "imported", "age")
    now = time.time()
    for s in sources:
        when = datetime.fromtimestamp(s.imported_at, UTC).strftime("%Y-%m-%d %H:%M")
        age = f"{(now - s.imported_at) / 86400:.0f} d"
        table.add_row(
            s.name,
            s.format,
            s.version or "",
            f"{s.records:,}",
            f"{s.bad_rows:,}",
            f"{s.overlapping:,}",
            when,
            age,
        )
    console.print(table)


@app.command("resolve")
def resolve_command(
    ips: Annotated[list[str], typer.Argument(help="IP addresses.")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The organization behind each address, with type, confidence and evidence."""
    resolver = Resolver.load(open_database(load_settings()))
    results: list[dict[str, Any]] = []
    for ip in ips:
        try:
            found = resolver.resolve(ip)
        except ValueError as exc:
            raise fail(str(exc)) from exc
        empty = {"ip": ip, "org": None, "type": "unknown", "confidence": 0.0, "asn": None}
        results.append({"ip": ip, **found.as_json()} if found else {**empty, "source": None})
    if as_json:
        print_json(results)
        return
    for r in results:
        if r["org"] is None:
            console.print(f"[bold]{r['ip']}[/]: not in any IP dataset")
            continue
        console.print(
            f"[bold]{r['ip']}[/]: {r['org']} ({r['type']}, confidence {r['confidence']:.2f})"
            f"  AS{r['asn']}  {r['country'] or ''}  range {r['network']} from {r['source']}"
        )
        for reason in r["evidence"]:
            console.print(f"    - {reason}")


@app.command("companies")
def companies_command(
    site: Annotated[str | None, typer.Option(help="Site domain; optional with one site.")] = None,
    period: Annotated[str, typer.Option(help="7d, 30d, all, today or START..END.")] = "30d",
    org_type: Annotated[
        str | None, typer.Option("--type", help="business, education, isp, hosting, ...")
    ] = None,
    leads: Annotated[
        bool,
        typer.Option(help="Only possible leads: business, education, government, firmly."),
    ] = False,
    limit: Annotated[int, typer.Option(min=1, help="Rows.")] = 25,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Organizations that visited: visits, visitors, pageviews, last seen, top pages."""
    settings = load_settings()
    with open_database(settings).connect() as conn:
        target, chosen = site_and_period(conn, settings, site, period)
        rows = companies(conn, target, chosen, org_type, limit, leads_only=leads)
    if as_json:
        print_json([r.as_json() for r in rows])
        return
    console.print(companies_table(rows, f"Companies · {chosen.label()}"))


@app.command("identify-report")
def identify_report_command(
    site: Annotated[str | None, typer.Option(help="Site domain; optional with one site.")] = None,
    period: Annotated[str, typer.Option(help="7d, 30d, all, today or START..END.")] = "all",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Share of human visits tied to a business, to an access or hosting network, or to none."""
    settings = load_settings()
    with open_database(settings).connect() as conn:
        target, chosen = site_and_period(conn, settings, site, period)
        result = identify_report(conn, target, chosen)
    if as_json:
        print_json(result.as_json())
        return
    console.print(identify_summary(result, f"{target.domain} · {chosen.label()}"))
