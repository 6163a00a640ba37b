"""Terminal views (Rich): the import progress bar and summary, and the stats report."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from rich.columns import Columns
from rich.console import Console, Group
from rich.panel import Panel
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from spoor.analytics.companies import CompanyRow, IdentifyReport
from spoor.analytics.stats import DIMENSIONS, Report, Totals
from spoor.ingest.logimport import ImportSummary
from spoor.leads.service import Lead
from spoor.prospecting.huntlist import HuntRow
from spoor.prospecting.tasks import Task

SPARK = "▁▂▃▄▅▆▇█"


def sparkline(values: list[int]) -> str:
    if not values:
        return ""
    top = max(values) or 1
    return "".join(SPARK[min(len(SPARK) - 1, round(v / top * (len(SPARK) - 1)))] for v in values)


class ImportProgress:
    """A progress bar per input with lines per second; silent when not on a terminal."""

    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TextColumn("{task.fields[lines]:>10,} lines  {task.fields[rate]:>8,.0f} lines/s"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=False,
            disable=not console.is_terminal,
        )
        self._tasks: dict[str, TaskID] = {}

    def __call__(self, name: str, lines: int, position: int, size: int | None) -> None:
        task = self._tasks.get(name)
        if task is None:
            task = self._progress.add_task(name, total=size, lines=0, rate=0.0)
            self._tasks[name] = task
        elapsed = self._progress.tasks[task].elapsed or 0.0
        rate = lines / elapsed if elapsed > 0 else 0.0
        self._progress.update(task, completed=position, lines=lines, rate=rate)

    @contextmanager
    def shown(self) -> Iterator[ImportProgress]:
        with self._progress:
            yield self


def import_summary(summary: ImportSummary, seconds: float) -> Panel:
    data = summary.as_json()
    table = Table.grid(padding=(0, 2))
    table.add_column(justify="right", style="bold")
    table.add_column()
    rate = summary.lines / seconds if seconds > 0 else 0
    table.add_row("lines", f"{summary.lines:,} in {seconds:.1f}s ({rate:,.0f} lines/s)")
    if summary.skipped:
        table.add_row("already imported", f"{summary.skipped:,} lines skipped")
    table.add_row("hits stored", f"{summary.hits:,}")
    table.add_row("visits", f"{summary.visits:,} ({summary.visitors:,} visitors)")
    table.add_row("malformed", f"{summary.malformed:,}")
    for reason, count in data["dropped"].items():
        table.add_row(f"dropped: {reason}", f"{count:,}")
    table.add_row("time range", f"{data['first']} .. {data['last']}")
    for example in summary.malformed_examples[:5]:
        table.add_row("", Text(f"{example['file']}:{example['line']}: {example['reason']}"))
    return Panel(table, title="Import", expand=False)


def _change(now: float, before: float | None) -> str:
    if before is None or before == 0:
        return ""
    pct = (now - before) / before * 100
    return f"[green]+{pct:.0f}%[/]" if pct >= 0 else f"[red]{pct:.0f}%[/]"


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m {secs:02d}s"


def _totals_table(totals: Totals, previous: Totals | None) -> Table:
    table = Table(title="Totals", show_header=True, header_style="bold")
    for name in ("Visits", "Visitors", "Pageviews", "Bounce rate", "Avg. visit"):
        table.add_column(name, justify="right")
    p = previous
    table.add_row(
        f"{totals.visits:,} {_change(totals.visits, p.visits if p else None)}",
        f"{totals.visitors:,} {_change(totals.visitors, p.visitors if p else None)}",
        f"{totals.pageviews:,} {_change(totals.pageviews, p.pageviews if p else None)}",
        f"{totals.bounce_rate:.0%}",
        _duration(totals.avg_duration),
    )
    return table


def _top_table(title: str, rows: list[tuple[str, int]], total: int) -> Table:
    table = Table(title=title, title_justify="left", header_style="bold", expand=False)
    table.add_column("", overflow="fold", max_width=48)
    table.add_column("Visits", justify="right")
    table.add_column("%", justify="right")
    for name, count in rows:
        table.add_row(name, f"{count:,}", f"{count / total:.0%}" if total else "")
    return table


def stats_report(report: Report) -> Group:
    parts: list[object] = [
        Text(f"{report.site} · {report.period.label()}", style="bold"),
        _totals_table(report.totals, report.previous),
    ]
    if report.daily:
        values = [n for _, n in report.daily]
        first, last = report.daily[0][0], report.daily[-1][0]
        parts.append(
            Text.assemble(
                ("Visits per day  ", "bold"),
                (sparkline(values), "cyan"),
                f"  {first} .. {last}, peak {max(values):,}",
            )
        )
    pages = Table(title="Top pages", title_justify="left", header_style="bold")
    pages.add_column("", overflow="fold", max_width=48)
    pages.add_column("Pageviews", justify="right")
    pages.add_column("Visits", justify="right")
    for path, views, visits in report.pages:
        pages.add_row(path, f"{views:,}", f"{visits:,}")
    parts.append(pages)
    tops = [_top_table(DIMENSIONS[k], rows, report.totals.visits) for k, rows in report.top.items()]
    parts.append(Columns(tops, padding=(0, 2)))
    dropped = ", ".join(f"{reason} {count:,}" for reason, count in report.dropped.items())
    bots = report.dropped.get("bot", 0)
    parts.append(Text(f"Bot hits dropped: {bots:,}   All drops: {dropped or 'none'}"))
    return Group(*parts)  # type: ignore[arg-type]


def companies_table(rows: list[CompanyRow], title: str) -> Table:
    table = Table(title=title, title_justify="left", header_style="bold")
    table.add_column("Organization", min_width=18, overflow="fold")
    table.add_column("Type")
    table.add_column("Country")
    for name in ("Visits", "Visitors", "Pageviews"):
        table.add_column(name, justify="right")
    table.add_column("Last seen", no_wrap=True)
    table.add_column("Top pages", overflow="ellipsis", no_wrap=True, max_width=32)
    for r in rows:
        seen = datetime.fromtimestamp(r.last_seen, UTC).strftime("%Y-%m-%d")
        pages = ", ".join(path for path, _ in r.top_pages)
        table.add_row(
            r.name,
            r.type,
            r.country or "",
            f"{r.visits:,}",
            f"{r.visitors:,}",
            f"{r.pageviews:,}",
            seen,
            pages,
        )
    return table


def identify_summary(report: IdentifyReport, heading: str) -> Group:
    lines = [
        Text(f"{heading} · {report.visits:,} human visits", style="bold"),
        Text(f"  business, education, government  {report.leads_share:6.1%}"),
        Text(f"  ISP, mobile, hosting              {report.network_share:6.1%}"),
        Text(f"  unresolved                        {report.unresolved_share:6.1%}"),
    ]
    for kind, count in sorted(report.by_type.items(), key=lambda kv: -kv[1]):
        lines.append(Text(f"      {kind:<12} {count:>8,}"))
    return Group(*lines)


def leads_table(rows: list[Lead], title: str, now: int) -> Table:
    table = Table(title=title, title_justify="left", header_style="bold")
    table.add_column("#", justify="right")
    table.add_column("Organization", min_width=14, overflow="fold")
    for name in ("Priority", "Fit", "Intent"):
        table.add_column(name, justify="right")
    table.add_column("Seen", no_wrap=True)
    table.add_column("Why", overflow="fold", min_width=28, max_width=70)
    for n, lead in enumerate(rows, start=1):
        seen = lead.intent.last_seen
        ago = f"{(now - seen) // 86400}d ago" if seen else ""
        why = "; ".join(r.text for r in lead.reasons[:3] if not r.text.startswith("fit: "))
        if lead.intent.not_buyer:
            why = "probably not a buyer (careers, investor or legal pages only)"
        table.add_row(str(n), lead.name, f"{lead.priority:.0f}",
                      f"{lead.fit.score:.0f}", f"{lead.intent.score:.0f}", ago, why)  # fmt: skip
    return table


def lead_detail(lead: Lead, now: int) -> Group:
    lines = [
        Text(f"{lead.name} · {lead.type}" + (f" · {lead.country}" if lead.country else ""),
             style="bold"),
        Text(f"priority {lead.priority:.0f} = 0.4 x fit {lead.fit.score:.0f} "
             f"+ 0.6 x intent {lead.intent.score:.0f}"),
    ]  # fmt: skip
    if lead.intent.not_buyer:
        lines.append(Text("probably not a buyer: careers, investor or legal pages only"))
    for reason in lead.reasons:
        lines.append(Text(f"  {reason.points:5.1f}  {reason.text}"))
    return Group(*lines)


def hunt_table(rows: list[HuntRow]) -> Table:
    table = Table(title=f"Today · {len(rows)} accounts", title_justify="left", header_style="bold")
    table.add_column("#", justify="right")
    table.add_column("Organization", min_width=14, overflow="fold")
    table.add_column("Priority", justify="right")
    table.add_column("Owner")
    table.add_column("Why now", overflow="fold", min_width=28, max_width=70)
    table.add_column("Next", overflow="fold", max_width=40)
    for n, row in enumerate(rows, start=1):
        why = row.why_now + (" (late!)" if row.sla_breached else "")
        if row.warning:
            why += f"\n[yellow]{row.warning}[/]"
        table.add_row(str(n), row.lead.name, f"{row.lead.priority:.0f}", row.owner or "pool", why,
                      row.next_step)  # fmt: skip
    return table


def task_table(tasks: list[Task], now: float) -> Table:
    table = Table(title=f"Open tasks · {len(tasks)}", title_justify="left", header_style="bold")
    table.add_column("Id", justify="right")
    table.add_column("Due")
    table.add_column("Task")
    table.add_column("Account", overflow="fold")
    for task in tasks:
        due = time.strftime("%Y-%m-%d %H:%M", time.gmtime(task.due_at))
        late = "[red]" if task.due_at < now - 3600 else ""
        table.add_row(str(task.id), f"{late}{due}", task.title, task.org)
    return table
