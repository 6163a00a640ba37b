"""The overview: a site's traffic in a period against the one before, per day and top lists."""

from __future__ import annotations

from sqlalchemy import Connection
from starlette.requests import Request
from starlette.responses import Response

from spoor.analytics.stats import DIMENSIONS, OVERVIEW_DIMENSIONS, Report, report
from spoor.web.auth import guard
from spoor.web.charts import daily_bars
from spoor.web.pages.scope import PERIODS, Scope, load_scope
from spoor.web.render import page, read
from spoor.web.tables import Column, Table, export

# What one row of each top list is.
ROW_LABELS = {
    "entry_page": "Entry page",
    "source": "Source",
    "channel": "Channel",
    "campaign": "Campaign",
    "country": "Country",
    "device": "Device",
    "browser": "Browser",
    "os": "Operating system",
}


def _tables(result: Report) -> list[Table]:
    visits = Column("visits", "Visits", numeric=True)
    pages = Table(
        "pages",
        "Top pages",
        [Column("path", "Page"), Column("pageviews", "Pageviews", True), visits],
        [{"path": p, "pageviews": pv, "visits": v} for p, pv, v in result.pages],
    )
    tops = [
        Table(
            key,
            DIMENSIONS[key],
            [Column("name", label), visits],
            [{"name": name, "visits": n} for name, n in result.top.get(key, [])],
        )
        for key, label in ((k, ROW_LABELS[k]) for k in OVERVIEW_DIMENSIONS)
    ]
    daily = Table(
        "daily",
        "Visits per day",
        [Column("day", "Day"), visits],
        [{"day": d.isoformat(), "visits": n} for d, n in result.daily],
    )
    return [pages, *tops, daily]


@guard()
async def overview(request: Request) -> Response:
    def load(conn: Connection) -> tuple[Scope, Report | None]:
        scope = load_scope(conn, request)
        if scope.site is None:
            return scope, None
        return scope, report(conn, scope.site, scope.period, dimensions=OVERVIEW_DIMENSIONS)

    scope, result = await read(request, load)
    if result is None:
        return page(request, "empty.html", scope=scope, periods=PERIODS)
    tables = _tables(result)
    exported = export(request, tables, f"{scope.site.domain if scope.site else ''}-overview")
    if exported:
        return exported
    chart = daily_bars(result.daily, f"Visits per day, {scope.period.label()}")
    return page(
        request, "overview.html", scope=scope, periods=PERIODS, report=result, chart=chart,
        tables={t.name: t for t in tables},
    )  # fmt: skip
