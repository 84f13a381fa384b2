"""Rows → xlsx with openpyxl's write-only mode: constant memory, safe text cells, native charts.

A report is one or more streamed sheets (split past the per-sheet row limit) plus small summary
sheets, each with a title row (report name, period, when it was made), a frozen header row, an
auto-filter and set column widths. Dates and numbers stay numbers with a number format, so they
sort, filter and add up in Excel.
"""

from __future__ import annotations

import os
import time
import types
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import openpyxl
from openpyxl import Workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from ..clock import TOKYO

# Excel's hard limit of rows per sheet (1,048,576). A sheet here spends two of them on the
# title and header rows, so it holds 1,048,574 data rows before the next sheet starts.
EXCEL_MAX_ROWS = 1_048_576
HEADER_ROWS = 2

# Text starting with one of these is read as a formula (or DDE) by spreadsheet programs, in its
# half-width form and, with a Japanese IME, in its full-width form; tab and CR lead CSV round trips
# into the same trap. Such text is written as a string cell with Excel's quote prefix.
FORMULA_TRIGGERS = frozenset("=+-@\t\r＝＋－＠")

# Excel refuses a file with a longer text in one cell.
MAX_CELL_TEXT = 32_767

DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
MONTH_FORMAT = 'yyyy"年"m"月"'
INTEGER_FORMAT = "#,##0"
YEN_FORMAT = '#,##0"円"'
DECIMAL_FORMAT = "#,##0.0"

_NUMBER_FORMATS = {
    "date": DATE_FORMAT,
    "datetime": DATETIME_FORMAT,
    "month": MONTH_FORMAT,
    "int": INTEGER_FORMAT,
    "yen": YEN_FORMAT,
    "decimal": DECIMAL_FORMAT,
}
_BOLD = Font(bold=True)
_TITLE_FONT = Font(bold=True, size=12)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")


@dataclass(frozen=True)
class Col:
    """One column: Japanese header, kind (text, int, yen, decimal, date, datetime, month), width."""

    header: str
    kind: str = "text"
    width: float | None = None

    @property
    def display_width(self) -> float:
        """Column width in characters: given, or from the header (full-width counts double)."""
        if self.width is not None:
            return self.width
        header = sum(2 if ord(ch) > 0x7F else 1 for ch in self.header) + 2
        floor = {"date": 12, "datetime": 17, "month": 11, "yen": 13, "int": 10, "decimal": 10}.get(
            self.kind, 12
        )
        return float(max(header, floor))


@dataclass
class Chart:
    """A native Excel chart over a summary sheet: category column 1, series in the given columns."""

    title: str
    kind: str = "bar"  # bar or line
    series_columns: Sequence[int] = (2,)
    y_title: str | None = None
    x_title: str | None = None
    stacked: bool = False


@dataclass
class SummarySheet:
    """A small sheet computed after the streamed rows (totals, per-day counts), maybe with a chart."""

    title: str
    columns: Sequence[Col]
    rows: list[tuple]
    chart: Chart | None = None


@dataclass
class WriteResult:
    """What was written: data rows of the streamed part, sheets, bytes."""

    rows: int
    sheets: int
    size: int
    sheet_titles: list[str] = field(default_factory=list)


def is_formula_like(value: str) -> bool:
    """True when a spreadsheet program could read this text as a formula."""
    return bool(value) and value[0] in FORMULA_TRIGGERS


def clean_text(value: str) -> str:
    """Drop control characters that cannot be stored in an xlsx cell (keeps tab, LF, CR)."""
    return ILLEGAL_CHARACTERS_RE.sub("", value)


def safe_text_cell(ws, value: str) -> WriteOnlyCell:
    """A cell that holds the text as a string whatever it starts with (never a formula)."""
    cell = WriteOnlyCell(ws, value=None)
    _set_safe_text(cell, value)
    return cell


def _set_safe_text(cell, value: str) -> None:
    cell._value = value
    cell.data_type = "s"
    cell.quotePrefix = True


def excel_datetime(value: datetime) -> datetime:
    """An aware datetime as naive Japan time (xlsx has no time zones); naive ones are kept."""
    if value.tzinfo is None:
        return value
    return value.astimezone(TOKYO).replace(tzinfo=None)


class _SheetWriter:
    """Turns report rows into cells for one workbook; reuses one styled cell per column."""

    def __init__(self, ws, columns: Sequence[Col]):
        self.converters: list[tuple[int, Callable]] = []
        for index, column in enumerate(columns):
            converter = self._converter(ws, column.kind)
            if converter is not None:
                self.converters.append((index, converter))

    @staticmethod
    def _converter(ws, kind: str):
        # The write-only writer serialises each cell before it takes the next one, so one styled
        # cell per column can be refilled row after row instead of building a new cell each time.
        if kind == "text":
            guard = WriteOnlyCell(ws)

            def text(value):
                if value is None or value.__class__ is not str:
                    return None if value is None else str(value)
                if not value:
                    return None
                if ILLEGAL_CHARACTERS_RE.search(value):
                    value = clean_text(value)
                if len(value) > MAX_CELL_TEXT:
                    value = value[: MAX_CELL_TEXT - 1] + "…"
                if value and value[0] in FORMULA_TRIGGERS:
                    _set_safe_text(guard, value)
                    return guard
                return value

            return text
        number_format = _NUMBER_FORMATS.get(kind)
        if number_format is None:
            return None
        cell = WriteOnlyCell(ws)
        cell.number_format = number_format
        if kind == "datetime":

            def stamp(value):
                if value is None:
                    return None
                cell.value = excel_datetime(value)
                return cell

            return stamp

        def formatted(value):
            if value is None:
                return None
            cell.value = value
            return cell

        return formatted

    def row(self, values) -> list:
        out = list(values)
        for index, converter in self.converters:
            out[index] = converter(out[index])
        return out


def _cells_of_row(ws, values, row_idx):
    """openpyxl 3.1's WriteOnlyWorksheet._values_to_row, without its exception per styled cell.

    The stock loop tries to bind every value as a plain value first and only takes a prepared cell
    when that raises (formatting the cell's repr for the message): with 7 styled cells in a 12-column
    row that is most of a row's cost outside serialisation (bench/report_excel.py: +28 % rows/s).
    """
    plain = WriteOnlyCell(ws)
    for col_idx, value in enumerate(values, 1):
        if value is None:
            continue
        if value.__class__ is Cell:
            cell = value
        else:
            cell = plain
            cell.value = value
        cell.column = col_idx
        cell.row = row_idx
        yield cell


# Only where the loop it replaces is the one this was written against (the tests read every report back).
_FAST_ROWS = openpyxl.__version__.startswith("3.1.") and hasattr(WriteOnlyWorksheet, "_values_to_row")


def _start_sheet(wb: Workbook, title: str, heading: str, columns: Sequence[Col]):
    ws = wb.create_sheet(title=title[:31])
    if _FAST_ROWS:
        ws._values_to_row = types.MethodType(_cells_of_row, ws)
    for index, column in enumerate(columns, 1):
        ws.column_dimensions[get_column_letter(index)].width = column.display_width
    ws.freeze_panes = f"A{HEADER_ROWS + 1}"
    title_cell = WriteOnlyCell(ws, value=heading)
    title_cell.font = _TITLE_FONT
    ws.append([title_cell])
    header = []
    for column in columns:
        cell = WriteOnlyCell(ws, value=column.header)
        cell.font = _BOLD
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        header.append(cell)
    ws.append(header)
    return ws


def _finish_sheet(ws, columns: Sequence[Col], data_rows: int) -> None:
    last = get_column_letter(max(len(columns), 1))
    ws.auto_filter.ref = f"A{HEADER_ROWS}:{last}{HEADER_ROWS + max(data_rows, 1)}"


def _chart(ws, spec: Chart, data_rows: int, columns: Sequence[Col]):
    chart = LineChart() if spec.kind == "line" else BarChart()
    if spec.kind != "line":
        chart.type = "col"
        if spec.stacked:
            chart.grouping = "stacked"
            chart.overlap = 100
    chart.title = spec.title
    chart.y_axis.title = spec.y_title
    chart.x_axis.title = spec.x_title
    chart.height = 9
    chart.width = 22
    last_row = HEADER_ROWS + max(data_rows, 1)
    for column in spec.series_columns:
        data = Reference(ws, min_col=column, min_row=HEADER_ROWS, max_row=last_row)
        chart.add_data(data, titles_from_data=True)
    categories = Reference(ws, min_col=1, min_row=HEADER_ROWS + 1, max_row=last_row)
    chart.set_categories(categories)
    return chart


def write_report(
    path: str | os.PathLike,
    *,
    sheet_title: str,
    heading: str,
    columns: Sequence[Col],
    rows: Iterable[Sequence],
    summaries: Callable[[], list[SummarySheet]] | None = None,
    progress: Callable[[int], None] | None = None,
    progress_seconds: float = 1.0,
    max_sheet_rows: int = EXCEL_MAX_ROWS,
) -> WriteResult:
    """Stream rows into an xlsx file at path; returns the counts. Memory does not grow with rows.

    Past max_sheet_rows (title and header rows included) the rows continue on a new sheet with the
    same title row and headers ("… (2)"). progress(rows_done) is called about every progress_seconds
    and once at the end. summaries() is called after the last row, so it can use what the rows
    accumulated on their way through.
    """
    capacity = max_sheet_rows - HEADER_ROWS
    if capacity < 1:
        raise ValueError("max_sheet_rows must leave room for at least one data row")
    wb = Workbook(write_only=True)
    titles = []
    sheet_no = 1
    ws = _start_sheet(wb, sheet_title, heading, columns)
    titles.append(ws.title)
    writer = _SheetWriter(ws, columns)
    on_sheet = 0
    done = 0
    next_report = time.monotonic() + progress_seconds
    for values in rows:
        if on_sheet == capacity:
            _finish_sheet(ws, columns, on_sheet)
            sheet_no += 1
            suffix = f" ({sheet_no})"
            ws = _start_sheet(wb, sheet_title[: 31 - len(suffix)] + suffix, heading, columns)
            titles.append(ws.title)
            writer = _SheetWriter(ws, columns)
            on_sheet = 0
        ws.append(writer.row(values))
        on_sheet += 1
        done += 1
        if progress is not None and not done % 1000 and time.monotonic() >= next_report:
            progress(done)
            next_report = time.monotonic() + progress_seconds
    _finish_sheet(ws, columns, on_sheet)
    for summary in summaries() if summaries is not None else []:
        sws = _start_sheet(wb, summary.title, heading, summary.columns)
        titles.append(sws.title)
        swriter = _SheetWriter(sws, summary.columns)
        if summary.chart is not None:
            anchor = get_column_letter(len(summary.columns) + 2) + str(HEADER_ROWS)
            sws.add_chart(_chart(sws, summary.chart, len(summary.rows), summary.columns), anchor)
        for values in summary.rows:
            sws.append(swriter.row(values))
        _finish_sheet(sws, summary.columns, len(summary.rows))
    tmp = f"{path}.{os.getpid()}.part"
    wb.save(tmp)
    os.replace(tmp, path)
    if progress is not None:
        progress(done)
    return WriteResult(rows=done, sheets=len(titles), size=os.path.getsize(path), sheet_titles=titles)


def heading_text(report_title: str, period: str, made_at: datetime) -> str:
    """The title row: report name, period and when it was made (Japan time)."""
    made = made_at.astimezone(TOKYO) if made_at.tzinfo else made_at.replace(tzinfo=UTC).astimezone(TOKYO)
    return f"{report_title}　対象期間: {period}　作成日時: {made:%Y-%m-%d %H:%M}"


def period_text(start: date | None, end: date | None) -> str:
    """A period as 2026-10-01～2026-10-31 (open ends shown as …)."""
    return f"{start.isoformat() if start else '…'}～{end.isoformat() if end else '…'}"
