"""Helpers for the report tests: a temporary reports folder and building a run in this process."""

from __future__ import annotations

from datetime import date

from openpyxl import load_workbook

from console.extensions import db
from console.models import Channel, HolderKind, PaymentMethod, StartApplication


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


def start_application(received, status="pending", decided=None, ward="27127", **kw):
    """A phone start application received at that moment (its name a formula, to check the cells stay text)."""
    row = StartApplication(
        channel=Channel.PHONE,
        applicant_name='=HYPERLINK("x")',
        applicant_kana="ヤマダ",
        holder_kind=HolderKind.PERSON,
        phone="06-1234-5678",
        ward_code=ward,
        town="梅田一丁目",
        address_line="1-1",
        desired_start_date=date(2026, 11, 1),
        payment_method=PaymentMethod.BANK_TRANSFER,
        status=status,
        received_at=received,
        decided_at=decided,
        **kw,
    )
    db.session.add(row)
    return row
