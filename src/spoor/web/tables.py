"""Tables as pages show them, and the same tables exported as CSV or XLSX.

A page builds its tables as `Table`s; the template renders them and `?export=csv|xlsx`
with `&table=NAME` returns the named one as a file, so every table can be exported.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import xlsxwriter
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# A cell starting with one of these is a formula to a spreadsheet; exports quote it.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class Column:
    key: str
    label: str
    numeric: bool = False
    link: str | None = None  # a format string over the row, e.g. "/companies/{org_id}"


@dataclass
class Table:
    name: str
    title: str
    columns: list[Column]
    rows: list[dict[str, Any]]
    empty: str = "Nothing in this period."
    caption: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def link(self, column: Column, row: dict[str, Any]) -> str | None:
        return column.link.format(**row) if column.link else None


def _safe_text(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def to_csv(table: Table) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([c.label for c in table.columns])
    for row in table.rows:
        writer.writerow([_safe_text(row.get(c.key)) for c in table.columns])
    return ("\ufeff" + out.getvalue()).encode()  # BOM: spreadsheets then read UTF-8


def to_xlsx(table: Table) -> bytes:
    out = io.BytesIO()
    # Strings are written as strings, never turned into formulas or URLs.
    book = xlsxwriter.Workbook(
        out, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
    )
    sheet = book.add_worksheet(re.sub(r"[\[\]:*?/\\]", " ", table.title)[:31] or "Sheet1")
    bold = book.add_format({"bold": True})
    sheet.write_row(0, 0, [c.label for c in table.columns], bold)
    for r, row in enumerate(table.rows, start=1):
        for c, column in enumerate(table.columns):
            value = row.get(column.key)
            if isinstance(value, (list, tuple)):
                value = ", ".join(map(str, value))
            sheet.write(r, c, value)
    sheet.freeze_panes(1, 0)
    book.close()
    return out.getvalue()


def export(request: Request, tables: Sequence[Table], filename: str) -> Response | None:
    """The response for `?export=FORMAT&table=NAME`, or None when no export is asked for."""
    fmt = request.query_params.get("export")
    if fmt is None:
        return None
    if fmt not in FORMATS:
        raise HTTPException(400, f"export must be one of {', '.join(FORMATS)}")
    name = request.query_params.get("table", tables[0].name if tables else "")
    table = next((t for t in tables if t.name == name), None)
    if table is None:
        raise HTTPException(404, f"no table {name!r} on this page")
    body = to_csv(table) if fmt == "csv" else to_xlsx(table)
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{filename}-{table.name}").strip("-")
    return Response(
        body,
        media_type=FORMATS[fmt],
        headers={"Content-Disposition": f'attachment; filename="{stem}.{fmt}"'},
    )
