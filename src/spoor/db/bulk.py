"""Writing many rows fast on both databases."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection


def executemany(conn: Connection, stmt: Any, columns: tuple[str, ...], rows: list[Any]) -> None:
    """Many rows of plain tuples (in `columns` order) through one statement.

    On SQLite the driver gets the tuples directly: at import rates SQLAlchemy's per-row
    parameter processing costs more than SQLite's insert itself. Values must already be
    what the driver takes (dates as ISO strings on SQLite).
    """
    if conn.dialect.name != "sqlite":
        conn.execute(stmt, [dict(zip(columns, row, strict=True)) for row in rows])
        return
    compiled = stmt.compile(dialect=conn.dialect, column_keys=list(columns))
    order = [columns.index(name) for name in compiled.positiontup]
    if order != list(range(len(columns))):
        rows = [tuple(row[i] for i in order) for row in rows]
    conn.exec_driver_sql(compiled.string, rows)
