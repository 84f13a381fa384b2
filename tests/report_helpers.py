"""Helpers for the report tests: a temporary reports folder and building a run in this process."""

from __future__ import annotations

from openpyxl import load_workbook

from console.extensions import db


def temporary_reports_dir(app, tmp_path):
    """Report files go to a temporary folder for the test (use with `yield from` in a fixture)."""
    previous = app.config.get("REPORTS_DIR")
    app.config["REPORTS_DIR"] = str(tmp_path / "reports")
    try:
        yield tmp_path / "reports"
    finally:
        app.config["REPORTS_DIR"] = previous


def build(report: str, params: dict, actor=None):
    """Create and build a run now; returns (run, workbook read back with openpyxl)."""
    from console.services import report_runs as runs

    run, created = runs.start_run(actor, report, params)
    assert created
    run = runs.claim(run.id)
    runs.build(run)
    db.session.flush()
    return run, load_workbook(runs.file_path(run))


def data_rows(ws) -> list[tuple]:
    """The rows under the title and header rows."""
    return [row for row in ws.iter_rows(min_row=3, values_only=True)]


def headers(ws) -> list[str]:
    """The header row."""
    return [c.value for c in ws[2]]
