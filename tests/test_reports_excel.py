"""The Excel writer: safe text cells, real dates and numbers, sheet splitting, charts, progress."""

from __future__ import annotations

import csv
import shutil
import subprocess
from datetime import UTC, date, datetime

import pytest
from openpyxl import load_workbook

from console.reports.excel import (
    FORMULA_TRIGGERS,
    Chart,
    Col,
    SummarySheet,
    heading_text,
    is_formula_like,
    write_report,
)

COLUMNS = [
    Col("番号", "int"),
    Col("氏名・理由"),
    Col("受付日", "date"),
    Col("受付日時", "datetime"),
    Col("金額", "yen"),
]
TRIGGERS = ["=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠"]


def _write(path, rows, **kwargs):
    kwargs.setdefault("sheet_title", "一覧")
    kwargs.setdefault(
        "heading", heading_text("テスト", "2026-10-01～2026-10-31", datetime(2026, 11, 1, 3, tzinfo=UTC))
    )
    kwargs.setdefault("columns", COLUMNS)
    return write_report(path, rows=rows, **kwargs)


def test_trigger_set_covers_half_and_full_width():
    assert set(TRIGGERS) == FORMULA_TRIGGERS
    assert not is_formula_like("山田") and not is_formula_like("") and is_formula_like("=1")


@pytest.mark.parametrize("trigger", TRIGGERS)
def test_formula_injection_is_stored_as_text(tmp_path, trigger):
    payload = f'{trigger}HYPERLINK("http://evil.example/","click")'
    path = tmp_path / "x.xlsx"
    _write(path, [(1, payload, None, None, None), (2, "普通の文字", None, None, None)])
    ws = load_workbook(path)["一覧"]
    cell = ws.cell(row=3, column=2)
    assert cell.value == payload  # nothing added or removed: the text is what the customer wrote
    assert cell.data_type == "s"
    assert cell.quotePrefix is True  # Excel keeps it text even after the cell is edited
    plain = ws.cell(row=4, column=2)
    assert plain.value == "普通の文字" and plain.data_type == "s" and not plain.quotePrefix


def test_unguarded_openpyxl_would_have_made_a_formula(tmp_path):
    """The control for the test above: the same text through openpyxl as is becomes a formula."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("s")
    ws.append(["=1+2"])
    wb.save(tmp_path / "raw.xlsx")
    assert load_workbook(tmp_path / "raw.xlsx")["s"]["A1"].data_type == "f"


def test_types_title_header_freeze_filter_widths(tmp_path):
    path = tmp_path / "x.xlsx"
    made = datetime(2026, 10, 5, 0, 30, tzinfo=UTC)  # 09:30 in Japan
    result = _write(path, [(7, "山田\x01 太郎", date(2026, 10, 5), made, 12345)])
    assert result.rows == 1 and result.sheets == 1
    ws = load_workbook(path)["一覧"]
    assert (
        "テスト" in ws["A1"].value
        and "2026-10-01～2026-10-31" in ws["A1"].value
        and "2026-11-01 12:00" in ws["A1"].value
    )
    assert [c.value for c in ws[2]] == ["番号", "氏名・理由", "受付日", "受付日時", "金額"]
    assert ws.freeze_panes == "A3"
    assert ws.auto_filter.ref == "A2:E3"
    assert ws.column_dimensions["B"].width >= 12
    number, name, day, stamp, amount = ws[3]
    assert number.value == 7 and number.data_type == "n"
    assert name.value == "山田 太郎"  # a control character a cell cannot hold is dropped
    assert day.is_date and day.value == datetime(2026, 10, 5) and day.number_format == "yyyy-mm-dd"
    assert stamp.is_date and stamp.value == datetime(2026, 10, 5, 9, 30)  # Japan time, no zone
    assert amount.value == 12345 and amount.data_type == "n" and "#,##0" in amount.number_format


def test_text_longer_than_a_cell_holds_is_cut(tmp_path):
    path = tmp_path / "x.xlsx"
    _write(path, [(1, "あ" * 40_000, None, None, None), (2, "=" + "x" * 40_000, None, None, None)])
    ws = load_workbook(path)["一覧"]
    assert len(ws["B3"].value) == 32_767 and ws["B3"].value.endswith("…")
    assert len(ws["B4"].value) == 32_767 and ws["B4"].quotePrefix


def test_rows_continue_on_a_second_sheet_past_the_limit(tmp_path):
    path = tmp_path / "x.xlsx"
    rows = [(i, f"行{i}", None, None, i) for i in range(1, 12)]
    # 6 rows per sheet = title + header + 4 data rows; Excel's real limit is 1,048,576.
    result = _write(path, rows, max_sheet_rows=6)
    assert result.rows == 11 and result.sheet_titles == ["一覧", "一覧 (2)", "一覧 (3)"]
    wb = load_workbook(path)
    seen = []
    for title in result.sheet_titles:
        ws = wb[title]
        assert ws.max_row <= 6
        assert ws["A2"].value == "番号" and ws.freeze_panes == "A3"
        seen += [r[0] for r in ws.iter_rows(min_row=3, values_only=True)]
    assert seen == list(range(1, 12))


def test_the_default_limit_is_excels():
    from console.reports.excel import EXCEL_MAX_ROWS, HEADER_ROWS

    assert EXCEL_MAX_ROWS == 1_048_576 and EXCEL_MAX_ROWS - HEADER_ROWS == 1_048_574


def test_summary_sheet_has_a_native_chart(tmp_path):
    path = tmp_path / "x.xlsx"
    summary = SummarySheet(
        "日別",
        [Col("日付", "date"), Col("件数", "int")],
        [(date(2026, 10, d), d * 2) for d in range(1, 6)],
        Chart("日別件数", y_title="件数"),
    )
    _write(path, [], summaries=lambda: [summary])
    ws = load_workbook(path)["日別"]
    assert len(ws._charts) == 1
    assert ws["A3"].is_date and ws["B7"].value == 10


def test_progress_is_reported_while_rows_stream(tmp_path):
    seen = []
    _write(
        tmp_path / "x.xlsx",
        ((i, None, None, None, i) for i in range(5000)),
        progress=seen.append,
        progress_seconds=0,
    )
    assert seen == [1000, 2000, 3000, 4000, 5000, 5000]


def test_libreoffice_opens_the_file(tmp_path):
    if shutil.which("soffice") is None:  # a failure, not a skip: `make test` installs it (scripts/ensure-browser.sh)
        pytest.fail("LibreOffice (soffice) is not installed: Debian's libreoffice-calc-nogui")
    path = tmp_path / "x.xlsx"
    _write(
        path,
        [(1, "=1+2", date(2026, 10, 5), datetime(2026, 10, 5, tzinfo=UTC), 100), (2, "＠x", None, None, 5)],
    )
    subprocess.run(
        [
            "soffice",
            "--headless",
            "--convert-to",
            "csv:Text - txt - csv (StarCalc):44,34,76,1",
            "--outdir",
            str(tmp_path),
            str(path),
        ],
        check=True,
        capture_output=True,
        timeout=120,
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    with open(tmp_path / "x.csv", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[1][:2] == ["番号", "氏名・理由"]
    assert rows[2][1] == "=1+2"  # text, not the formula's result 3
    assert rows[2][2] == "2026-10-05"
