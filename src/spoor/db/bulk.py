"""Writing many rows fast on both databases."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, LargeBinary


def _fit(stmt: Any, columns: tuple[str, ...], rows: list[Any]) -> list[Any]:
    """Strings cut to their column's length: PostgreSQL refuses longer ones, SQLite not."""
    table = stmt.table
    limits = [
        (n, table.c[name].type.length)
        for n, name in enumerate(columns)
        if getattr(table.c[name].type, "length", None)
        and not isinstance(table.c[name].type, LargeBinary)
    ]
    if not limits:
        return rows
    fitted = []
    for row in rows:
        if any(isinstance(row[n], str) and len(row[n]) > size for n, size in limits):
            row = list(row)
            for n, size in limits:
                if isinstance(row[n], str):
                    row[n] = row[n][:size]
            row = tuple(row)
        fitted.append(row)
    return fitted


def executemany(conn: Connection, stmt: Any, columns: tuple[str, ...], rows: list[Any]) -> None:
    """Many rows of plain tuples (in `columns` order) through one statement.

    On SQLite the driver gets the tuples directly: at import rates SQLAlchemy's per-row
    parameter processing costs more than SQLite's insert itself. Values must already be
    what the driver takes (dates as ISO strings on SQLite).
    """
    rows = _fit(stmt, columns, rows)
    if conn.dialect.name != "sqlite":
        conn.execute(stmt, [dict(zip(columns, row, strict=True)) for row in rows])
        return
    compiled = stmt.compile(dialect=conn.dialect, column_keys=list(columns))
    order = [columns.index(name) for name in compiled.positiontup]
    if order != list(range(len(columns))):
        rows = [tuple(row[i] for i in order) for row in rows]
    conn.exec_driver_sql(compiled.string, rows)
