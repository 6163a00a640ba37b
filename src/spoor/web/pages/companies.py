"""Companies that visited (filtered, sorted, paged), one company's page, its corrections."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Connection
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from spoor.analytics.companies import (
    SORTS,
    CompanyFilter,
    CompanyRow,
    IdentifyReport,
    companies,
    count_companies,
    identify_report,
)
from spoor.analytics.company import CompanyDetail, company_detail
from spoor.identify import corrections
from spoor.identify.types import OrgType
from spoor.users import Role
from spoor.web.auth import guard
from spoor.web.pages.scope import PERIODS, Scope, load_scope
from spoor.web.render import page, read, when, write
from spoor.web.tables import Column, Table, export

PAGE_SIZE = 25
EXPORT_LIMIT = 100_000


def _int(text: str | None, default: int, low: int = 0, high: int = 10**9) -> int:
    try:
        return min(max(int(text or default), low), high)
    except ValueError as exc:
        raise HTTPException(400, f"{text!r} is not a whole number") from exc


def company_filter(params: Any) -> CompanyFilter:
    org_type = params.get("type") or ""
    if org_type and org_type not in {t.value for t in OrgType} | {"leads"}:
        raise HTTPException(400, f"{org_type!r} is not an organization type")
    sort = params.get("sort") or "visits"
    if sort not in SORTS:
        raise HTTPException(400, f"sort must be one of {', '.join(SORTS)}")
    return CompanyFilter(
        org_type=(org_type,) if org_type and org_type != "leads" else (),
        leads_only=org_type == "leads",
        country=(params.get("country") or "").strip()[:2] or None,
        path=(params.get("page_path") or "").strip() or None,
        min_visits=_int(params.get("min_visits"), 1, 1),
        sort=sort,
        descending=params.get("order", "desc") != "asc",
    )


@dataclass
class CompanyList:
    scope: Scope
    rows: list[CompanyRow]
    total: int
    rate: IdentifyReport | None


def company_table(rows: list[CompanyRow]) -> Table:
    return Table(
        "companies",
        "Companies",
        [
            Column("name", "Organization", link="/companies/{org_id}"),
            Column("type", "Type"),
            Column("country", "Country"),
            Column("domain", "Domain"),
            Column("visits", "Visits", True),
            Column("visitors", "Visitors", True),
            Column("pageviews", "Pageviews", True),
            Column("last_seen", "Last seen"),
            Column("top_pages", "Top pages"),
        ],
        [
            {**r.as_json(), "top_pages": [p for p, _ in r.top_pages], "relation": r.relation}
            for r in rows
        ],
        empty="No organization visited in this period with these filters.",
    )


@guard()
async def company_list(request: Request) -> Response:
    wanted = company_filter(request.query_params)
    exporting = "export" in request.query_params
    number = _int(request.query_params.get("page"), 1, 1)
    limit = EXPORT_LIMIT if exporting else PAGE_SIZE
    offset = 0 if exporting else (number - 1) * PAGE_SIZE

    def load(conn: Connection) -> CompanyList:
        scope = load_scope(conn, request)
        if scope.site is None:
            return CompanyList(scope, [], 0, None)
        rows = companies(conn, scope.site, scope.period, wanted=wanted, limit=limit, offset=offset)
        total = count_companies(conn, scope.site, scope.period, wanted)
        return CompanyList(scope, rows, total, identify_report(conn, scope.site, scope.period))

    result = await read(request, load)
    scope = result.scope
    if scope.site is None:
        return page(request, "empty.html", scope=scope, periods=PERIODS)
    table = company_table(result.rows)
    exported = export(request, [table], f"{scope.site.domain}-companies")
    if exported:
        return exported
    pages = max(1, -(-result.total // PAGE_SIZE))
    return page(
        request, "companies.html", scope=scope, periods=PERIODS, table=table, rows=result.rows,
        total=result.total, rate=result.rate, wanted=wanted, page_number=number, pages=pages,
        types=[t.value for t in OrgType], params=dict(request.query_params), sorts=SORTS,
    )  # fmt: skip


@guard()
async def company_page(request: Request) -> Response:
    org_id = int(request.path_params["org_id"])

    def load(conn: Connection) -> tuple[Scope, CompanyDetail | None]:
        scope = load_scope(conn, request)
        if scope.site is None:
            return scope, None
        return scope, company_detail(conn, scope.site, scope.period, org_id)

    scope, detail = await read(request, load)
    if detail is None:
        raise HTTPException(404, "No such organization (or no site yet).")
    table = visits_table(detail, scope)
    exported = export(request, [table], f"organization-{org_id}")
    if exported:
        return exported
    return page(
        request, "company.html", scope=scope, periods=PERIODS, org=detail, table=table,
        types=[t.value for t in OrgType], can_correct=request.state.user.role.allows(Role.MANAGER),
        message=request.query_params.get("done"),
    )  # fmt: skip


def visits_table(detail: CompanyDetail, scope: Scope) -> Table:
    zone = scope.site.timezone if scope.site else "UTC"
    return Table(
        "visits",
        "Visits",
        [
            Column("started", f"Started ({zone})"),
            Column("seconds", "Seconds", True),
            Column("pageviews", "Pageviews", True),
            Column("source", "Source"),
            Column("country", "Country"),
            Column("pages", "Pages"),
        ],
        [
            {
                **v.as_json(),
                "started": when(v.started, zone, "%Y-%m-%d %H:%M:%S"),
                "pages": [p.path for p in v.pages],
            }
            for v in detail.visits
        ],
    )


@guard(Role.MANAGER)
async def correct_company(request: Request) -> Response:
    org_id = int(request.path_params["org_id"])
    form = await request.form()
    action, value = str(form.get("action", "")), str(form.get("value", ""))
    note = str(form.get("note", ""))
    try:
        done = await write(
            request, lambda conn: corrections.apply(conn, org_id, action, value, note)
        )
    except corrections.CorrectionError as exc:
        raise HTTPException(400, str(exc)) from exc
    back = str(form.get("back", ""))  # the page's site and period, to return to
    return RedirectResponse(f"/companies/{org_id}?{back}&{urlencode({'done': done})}", 303)
