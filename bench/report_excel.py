"""Excel report throughput: a 1,000,000-row × 12-column report including the database fetch.

    .venv/bin/pip install -e '.[bench]'      # XlsxWriter, for the comparison only
    .venv/bin/python bench/report_excel.py --database postgresql+psycopg://postgres@127.0.0.1/console_bench_city

Reads (never writes) the database: the rows are the 検針・請求明細 report's (console/reports/catalogue/bills.py
BillsReport: bills joined to contracts, 12 columns), streamed through a server-side cursor. Each writer
runs in its own child process so that its peak memory (ru_maxrss) is its own:

  ours        the console's writer: openpyxl write-only, safe text cells, number formats (excel.py)
  openpyxl    openpyxl's normal (in-memory) workbook, same rows
  xlsxwriter  XlsxWriter with constant_memory, same rows and number formats
  fetch       the database fetch and row mapping alone, no writer (what every writer pays)
  zlib        deflate (level 6, as xlsx uses) of the sheet XML that `ours` produced: the floor
  template    the same rows serialised as sheet XML from per-column string templates and deflated, with
              no xlsx packaging: what a row-template serialiser would cost (a figure for the proposal in
              the issue's note, not a writer the console uses)

Prints one line per mode: seconds, rows/s, peak RSS, its growth past the loaded app (≈100 MB before
the first row), file size. --profile N profiles `ours` on N rows.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
import zlib
from pathlib import Path

from console import clock

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MODES = ["fetch", "ours", "xlsxwriter", "openpyxl", "zlib", "template"]


def _app(database: str):
    os.environ.setdefault("CONSOLE_INSTANCE_PATH", tempfile.mkdtemp(prefix="bench-instance-"))
    from console import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": database, "REDIS_URL": None})


def _rows(months: tuple[str, str], limit: int):
    from console.reports.catalogue.base import stream
    from console.reports.catalogue.bills import BillsReport

    report = BillsReport({"month_from": months[0], "month_to": months[1]}, clock.now())
    statement = report.statement().limit(limit)
    return report, BillsReport.map_rows(stream(statement))


def child(mode: str, database: str, rows: int, months: tuple[str, str], out: Path) -> dict:
    """Run one mode in this process; returns its figures."""
    app = _app(database)
    with app.app_context():
        report, source = _rows(months, rows)
        # The app (Flask-Admin, Babel, SQLAlchemy…) is ~100 MB before the first row; report both.
        baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        started = time.perf_counter()
        size = None
        if mode == "fetch":
            count = sum(1 for _ in source)
        elif mode == "ours":
            from console.reports.excel import heading_text, write_report

            result = write_report(
                out / "ours.xlsx",
                sheet_title=report.sheet_title,
                heading=heading_text(report.title, report.period(), report.made_at),
                columns=report.columns,
                rows=source,
            )
            count, size = result.rows, result.size
        elif mode == "openpyxl":
            from openpyxl import Workbook

            wb = Workbook()
            ws = wb.active
            ws.append([c.header for c in report.columns])
            count = 0
            for row in source:
                ws.append(row)
                count += 1
            wb.save(out / "openpyxl.xlsx")
            size = (out / "openpyxl.xlsx").stat().st_size
        elif mode == "xlsxwriter":
            import xlsxwriter

            path = out / "xlsxwriter.xlsx"
            wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
            ws = wb.add_worksheet(report.sheet_title)
            formats = {
                "date": wb.add_format({"num_format": "yyyy-mm-dd"}),
                "month": wb.add_format({"num_format": 'yyyy"年"m"月"'}),
                "yen": wb.add_format({"num_format": '#,##0"円"'}),
                "int": wb.add_format({"num_format": "#,##0"}),
            }
            column_formats = [formats.get(c.kind) for c in report.columns]
            ws.write_row(0, 0, [c.header for c in report.columns])
            count = 0
            for r, row in enumerate(source, 1):
                for c, value in enumerate(row):
                    if value is not None:
                        ws.write(r, c, value, column_formats[c])
                count += 1
            wb.close()
            size = path.stat().st_size
        elif mode == "template":
            count, size = xml_rows_floor(source, report.columns)
        else:
            raise SystemExit(f"unknown mode {mode}")
        seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "mode": mode,
        "rows": count,
        "seconds": seconds,
        "peak_mb": peak,
        "growth_mb": peak - baseline,
        "size": size,
    }


def xml_rows_floor(rows_iter, columns) -> tuple[int, int]:
    """Serialise rows as sheet XML with per-column templates (no openpyxl, no xlsx packaging) and deflate
    them: what a row-template serialiser would cost — the figure behind the proposal, not a writer."""
    import zlib
    from datetime import date, datetime
    from xml.sax.saxutils import escape

    from openpyxl.utils import get_column_letter
    from openpyxl.utils.datetime import to_excel

    letters = [get_column_letter(i + 1) for i in range(len(columns))]
    styles = {"date": 1, "month": 2, "int": 3, "yen": 4, "datetime": 5, "decimal": 6}
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    parts = []
    size = 0
    count = 0
    for r, row in enumerate(rows_iter, 3):
        cells = []
        for letter, column, value in zip(letters, columns, row):
            if value is None:
                continue
            if column.kind == "text":
                cells.append(f'<c r="{letter}{r}" t="inlineStr"><is><t>{escape(value)}</t></is></c>')
            else:
                if isinstance(value, (date, datetime)):
                    value = to_excel(value)
                cells.append(f'<c r="{letter}{r}" s="{styles[column.kind]}"><v>{value}</v></c>')
        parts.append(f'<row r="{r}">{"".join(cells)}</row>')
        count += 1
        if len(parts) == 1000:
            chunk = "".join(parts).encode()
            size += len(chunk)
            compressor.compress(chunk)
            parts = []
    chunk = "".join(parts).encode()
    size += len(chunk)
    compressor.compress(chunk)
    compressor.flush()
    return count, size


def deflate_floor(xlsx: Path) -> dict:
    """Time zlib alone on the sheet XML of a file (level 6, as zipfile writes it)."""
    with zipfile.ZipFile(xlsx) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml")
    started = time.perf_counter()
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    for i in range(0, len(xml), 1 << 20):
        compressor.compress(xml[i : i + (1 << 20)])
    compressor.flush()
    seconds = time.perf_counter() - started
    return {
        "mode": "zlib",
        "rows": None,
        "seconds": seconds,
        "peak_mb": None,
        "growth_mb": None,
        "size": len(xml),
    }


def profile(database: str, rows: int, months: tuple[str, str], out: Path) -> None:
    """cProfile of `ours` on a smaller run: where the time goes."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    child("ours", database, rows, months, out)
    profiler.disable()
    pstats.Stats(profiler).sort_stats("tottime").print_stats(18)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database", required=True, help="SQLAlchemy URL of a city-scale database (read only)"
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--months", default="2025-10,2025-10", help="billing months to read, FROM,TO")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--out", default=None, help="folder for the files (default: a temporary one)")
    parser.add_argument("--profile", type=int, default=0, help="profile `ours` on this many rows and stop")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    months = tuple(args.months.split(","))
    out = Path(args.out or tempfile.mkdtemp(prefix="bench-report-"))
    out.mkdir(parents=True, exist_ok=True)
    if args.child:
        print(json.dumps(child(args.child, args.database, args.rows, months, out)))
        return
    if args.profile:
        profile(args.database, args.profile, months, out)
        return
    print(
        f"{args.rows:,} rows × 12 columns from {args.database.rsplit('/', 1)[-1]} (months {args.months}); "
        f"files in {out}"
    )
    print(
        f"{'mode':<11} {'rows':>10} {'seconds':>9} {'rows/s':>9} {'peak MB':>8} {'growth':>7} {'file MB':>8}"
    )
    results = {}
    # zlib runs in this process on the whole sheet XML; Linux carries a parent's peak RSS into the
    # children it forks afterwards, so it goes last to keep the children's figures their own.
    modes = args.modes.split(",")
    modes = [m for m in modes if m != "zlib"] + (["zlib"] if "zlib" in modes else [])
    for mode in modes:
        if mode == "zlib":
            if not (out / "ours.xlsx").exists():
                print("zlib        needs the `ours` file first")
                continue
            figures = deflate_floor(out / "ours.xlsx")
        else:
            done = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--database",
                    args.database,
                    "--rows",
                    str(args.rows),
                    "--months",
                    args.months,
                    "--out",
                    str(out),
                    "--child",
                    mode,
                ],
                capture_output=True,
                text=True,
            )
            if done.returncode != 0:
                print(f"{mode:<11} failed: {done.stderr.strip().splitlines()[-1:]}")
                continue
            figures = json.loads(done.stdout.strip().splitlines()[-1])
        results[mode] = figures
        rows = figures["rows"]
        rate = f"{rows / figures['seconds']:,.0f}" if rows else ""
        peak = f"{figures['peak_mb']:.0f}" if figures["peak_mb"] else ""
        growth = f"{figures['growth_mb']:.0f}" if figures["growth_mb"] is not None else ""
        size = f"{figures['size'] / 1e6:.1f}" if figures["size"] else ""
        print(
            f"{mode:<11} {rows or '':>10} {figures['seconds']:>9.1f} {rate:>9} {peak:>8} {growth:>7}"
            f" {size:>8}",
            flush=True,
        )
    if "ours" in results and "xlsxwriter" in results:
        ratio = results["ours"]["seconds"] / results["xlsxwriter"]["seconds"]
        print(f"ours / xlsxwriter time: {ratio:.2f}× (target ≤ 1.00×; peak ≤ 100 MB)")
    if "ours" in results and "zlib" in results:
        print(
            f"ours / zlib floor time: {results['ours']['seconds'] / results['zlib']['seconds']:.1f}×"
            " (stretch ≤ 4×)"
        )


if __name__ == "__main__":
    main()
