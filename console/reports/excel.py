"""Rows → xlsx: streamed data sheets written by hand, the rest by openpyxl (styles, summaries, charts).

A report is one or more streamed sheets (split past the per-sheet row limit) plus small summary
sheets, each with a title row (report name, period, when it was made), a frozen header row, an
auto-filter and set column widths. Dates and numbers stay numbers with a number format, so they
sort, filter and add up in Excel.

The data sheets are the hot path (a million rows): each row becomes sheet XML from per-column
serialisers and goes straight into its deflate stream in the file, so memory stays flat and the cost
per cell is a string format, not an object (bench/report_excel.py: against XlsxWriter's
constant-memory mode and the deflate floor). openpyxl does what it does well: the workbook around
them (styles, whose ids the serialisers use; workbook and content-type parts) and the summary sheets
with their native charts. Reading reports back (the tests) is openpyxl's too.
"""

from __future__ import annotations

import io
import os
import time
import types
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from xml.sax.saxutils import escape

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


_EPOCH = date(1899, 12, 30)  # Excel's day 0 in the 1900 date system (with its 1900 leap-year bug)
_EPOCH_DATETIME = datetime(1899, 12, 30)
# Deflate level of the streamed sheets: zlib's default, as zipfile and Excel write.
SHEET_COMPRESSLEVEL = 6
_SHEET_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheetViews><sheetView workbookViewId="0"><pane ySplit="{split}" topLeftCell="A{first}" activePane="bottomLeft" '
    'state="frozen"/><selection pane="bottomLeft" activeCell="A{first}" sqref="A{first}"/></sheetView></sheetViews>'
    '<sheetFormatPr defaultRowHeight="15"/><cols>{cols}</cols><sheetData>'
)
_SHEET_TAIL = ('</sheetData><autoFilter ref="{ref}"/>'
               '<pageMargins left="0.75" right="0.75" top="1" bottom="1" header="0.5" footer="0.5"/></worksheet>')


_CR = {"\r": "&#13;"}


def _text_xml(value: str) -> str:
    space = ' xml:space="preserve"' if value[:1].isspace() or value[-1:].isspace() or "\n" in value else ""
    # A parser turns a literal CR into LF: it travels as a character reference.
    return f"<is><t{space}>{escape(value, _CR)}</t></is>"


class _StreamedSheet:
    """One data sheet's XML written row by row into its zip entry."""

    def __init__(self, archive: zipfile.ZipFile, entry: str, heading: str, columns: Sequence[Col], styles: dict):
        self.stream = archive.open(entry, "w", force_zip64=True)
        self.columns = columns
        self.rows = 0
        cols = "".join(f'<col min="{i}" max="{i}" width="{c.display_width:g}" customWidth="1"/>'
                       for i, c in enumerate(columns, 1))
        head = [_SHEET_HEAD.format(split=HEADER_ROWS, first=HEADER_ROWS + 1, cols=cols),
                f'<row r="1"><c r="A1" s="{styles["title"]}" t="inlineStr">{_text_xml(clean_text(heading))}</c></row>',
                '<row r="2">']
        for i, column in enumerate(columns, 1):
            head.append(f'<c r="{get_column_letter(i)}2" s="{styles["header"]}" t="inlineStr">'
                        f'{_text_xml(clean_text(column.header))}</c>')
        head.append("</row>")
        self.stream.write("".join(head).encode())
        self.cells = [self._serialiser(get_column_letter(i), column.kind, styles)
                      for i, column in enumerate(columns, 1)]
        self.buffer: list[str] = []

    @staticmethod
    def _serialiser(letter: str, kind: str, styles: dict) -> Callable[[object, int], str]:
        """value, row number → the cell's XML ("" for an empty cell), one closure per column."""
        quoted = styles["quoted"]

        def text(value, r):
            if value is None:
                return ""
            if value.__class__ is not str:
                value = str(value)
            if not value:
                return ""
            if ILLEGAL_CHARACTERS_RE.search(value):
                value = clean_text(value)
            if len(value) > MAX_CELL_TEXT:
                value = value[: MAX_CELL_TEXT - 1] + "…"
            if value[0] in FORMULA_TRIGGERS:
                return f'<c r="{letter}{r}" s="{quoted}" t="inlineStr">{_text_xml(value)}</c>'
            return f'<c r="{letter}{r}" t="inlineStr">{_text_xml(value)}</c>'

        if kind not in _NUMBER_FORMATS:
            return text
        style = styles[kind]

        def number(value, r):
            if value is None:
                return ""
            cls = value.__class__
            if cls is int or cls is float or cls is Decimal:
                return f'<c r="{letter}{r}" s="{style}"><v>{value}</v></c>'
            if cls is datetime:
                if value.tzinfo is not None:
                    value = excel_datetime(value)
                delta = value - _EPOCH_DATETIME
                serial = delta.days + (delta.seconds + delta.microseconds / 1e6) / 86400
                return f'<c r="{letter}{r}" s="{style}"><v>{serial!r}</v></c>'
            if cls is date:
                return f'<c r="{letter}{r}" s="{style}"><v>{(value - _EPOCH).days}</v></c>'
            if cls is bool:
                return f'<c r="{letter}{r}" t="b"><v>{int(value)}</v></c>'
            return text(value, r)

        return number

    def append(self, values: Sequence) -> None:
        self.rows += 1
        r = self.rows + HEADER_ROWS
        self.buffer.append(f'<row r="{r}">' + "".join([cell(v, r) for cell, v in zip(self.cells, values)]) + "</row>")
        if len(self.buffer) == 2000:
            self.stream.write("".join(self.buffer).encode())
            self.buffer.clear()

    def close(self) -> None:
        last = get_column_letter(max(len(self.columns), 1))
        self.buffer.append(_SHEET_TAIL.format(ref=f"A{HEADER_ROWS}:{last}{HEADER_ROWS + max(self.rows, 1)}"))
        self.stream.write("".join(self.buffer).encode())
        self.buffer.clear()
        self.stream.close()


def _register_styles(ws) -> dict:
    """The style ids the streamed sheets use, registered in openpyxl's workbook (its styles.xml)."""

    def style_id(**attributes) -> int:
        cell = WriteOnlyCell(ws)
        for name, value in attributes.items():
            setattr(cell, name, value)
        return cell.style_id

    styles = {kind: style_id(number_format=fmt) for kind, fmt in _NUMBER_FORMATS.items()}
    styles["title"] = style_id(font=_TITLE_FONT)
    styles["header"] = style_id(font=_BOLD, fill=_HEADER_FILL, alignment=Alignment(wrap_text=True, vertical="center"))
    styles["quoted"] = style_id(quotePrefix=True)
    return styles


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
    tmp = f"{path}.{os.getpid()}.part"
    archive = zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=SHEET_COMPRESSLEVEL)
    try:
        placeholders = []  # openpyxl's (empty) sheets for the streamed ones: names, order, filters

        def start(title: str) -> _StreamedSheet:
            placeholder = wb.create_sheet(title=title[:31])
            placeholders.append(placeholder)
            styles = _register_styles(placeholder)
            # The sheets are numbered in workbook order, and the streamed ones come first.
            return _StreamedSheet(archive, f"xl/worksheets/sheet{len(placeholders)}.xml", heading, columns, styles)

        sheet = start(sheet_title)
        done = 0
        next_report = time.monotonic() + progress_seconds
        for values in rows:
            if sheet.rows == capacity:
                sheet.close()
                suffix = f" ({len(placeholders) + 1})"
                sheet = start(sheet_title[: 31 - len(suffix)] + suffix)
            sheet.append(values)
            done += 1
            if progress is not None and not done % 1000 and time.monotonic() >= next_report:
                progress(done)
                next_report = time.monotonic() + progress_seconds
        sheet.close()
        titles = [ws.title for ws in placeholders]
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
        # openpyxl writes the rest of the package; its empty placeholder sheets give way to the streamed ones.
        shell = io.BytesIO()
        wb.save(shell)
        streamed = {ws.path[1:] for ws in placeholders}
        with zipfile.ZipFile(shell) as parts:
            for info in parts.infolist():
                if info.filename not in streamed:
                    archive.writestr(info.filename, parts.read(info))
        archive.close()
        os.replace(tmp, path)
    except BaseException:
        archive.close()
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
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
