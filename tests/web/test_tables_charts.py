"""Export formats and chart geometry: pure functions, checked without a server."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from openpyxl import load_workbook

from spoor.web.charts import daily_bars, nice_step
from spoor.web.tables import Column, Table, to_csv, to_xlsx

TABLE = Table(
    "t",
    "Sources: top/10",
    [Column("name", "Source"), Column("visits", "Visits", numeric=True)],
    [{"name": "Google", "visits": 12}, {"name": "=cmd|' /C calc'!A0", "visits": 3},
     {"name": "Ünïcödé", "visits": 1}],
)  # fmt: skip


def test_csv_has_a_header_utf8_and_no_formulas() -> None:
    text = to_csv(TABLE).decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0] == ["Source", "Visits"]
    assert rows[2][0].startswith("'=")
    assert rows[3] == ["Ünïcödé", "1"]


def test_xlsx_keeps_numbers_as_numbers_and_text_as_text() -> None:
    sheet = load_workbook(io.BytesIO(to_xlsx(TABLE))).active
    assert sheet is not None
    assert sheet.title == "Sources  top 10"
    assert [c.value for c in sheet[2]] == ["Google", 12]
    assert sheet["A3"].data_type == "s"  # a string, not a formula


def test_nice_steps_are_round() -> None:
    assert [nice_step(n) for n in (0, 3, 9, 40, 614, 12_345)] == [1, 1, 5, 10, 200, 5000]


def test_bars_fit_the_plot_and_the_tallest_reaches_the_axis_top_or_below() -> None:
    start = date(2026, 11, 1)
    series = [(start + timedelta(i), n) for i, n in enumerate([5, 0, 614, 30])]
    chart = daily_bars(series, "Visits")
    assert len(chart.bars) == 4
    plot_bottom = chart.height - chart.bottom
    for bar in chart.bars:
        assert bar.y >= 0
        assert abs(bar.y + bar.height - plot_bottom) <= 0.011  # both rounded to 0.005
        assert chart.left <= bar.x <= chart.width
    assert chart.bars[1].height == 0
    assert chart.ticks[-1].label == "800"
    assert "busiest day was 2026-11-03 with 614" in chart.summary


def test_an_empty_series_says_so() -> None:
    chart = daily_bars([], "Visits")
    assert chart.bars == []
    assert chart.summary == "No data in this period."
