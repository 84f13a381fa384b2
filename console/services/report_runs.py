"""Report runs: asking for a report (one build per report and parameters at a time), building it,
expiring its file. Audit entries: report.request, report.export (row count), report.download.

Like the services, these functions flush and never commit: the view or job owns the transaction.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import clock
from ..extensions import db
from ..models import ReportRun, ReportStatus, Staff
from ..models.report import ACTIVE_STATUSES
from ..reports.catalogue import REPORTS, Report
from ..reports.excel import EXCEL_MAX_ROWS, heading_text, write_report
from ..reports.params import canonical, parse
from . import DomainError
from .audit import record
from .permissions import SUPERVISORS, requires

log = logging.getLogger(__name__)


def job_timeout() -> timedelta:
    """How long one build may take before its worker is stopped and the run counts as lost.

    A run still queued or running after this long was lost with its worker (rq issue #2015): asking
    again replaces it instead of waiting on it forever.
    """
    return timedelta(minutes=current_app.config["REPORT_JOB_TIMEOUT_MINUTES"])


def reports_dir() -> Path:
    """Where built files live (shared by the web app and the workers)."""
    path = Path(current_app.config["REPORTS_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def run_key(report: str, params: dict) -> str:
    """Deterministic key of a report and its parameters."""
    return hashlib.sha256(f"{report}|{canonical(params)}".encode()).hexdigest()


def report_class(key: str) -> type[Report]:
    """The catalogue entry, or a Japanese refusal."""
    try:
        return REPORTS[key]
    except KeyError:
        raise DomainError("そのレポートはありません。") from None


def _active_run(key: str) -> ReportRun | None:
    return db.session.scalar(
        select(ReportRun).where(ReportRun.run_key == key, ReportRun.status.in_(ACTIVE_STATUSES))
    )


def _abandon_if_stale(run: ReportRun) -> bool:
    since = run.started_at or run.created_at
    if clock.now() - since < job_timeout():
        return False
    run.status = ReportStatus.FAILED
    run.finished_at = clock.now()
    run.error = "作成が時間内に終わりませんでした（処理が中断されたとみなしました）。"
    db.session.flush()
    return True


@requires(SUPERVISORS)
def request_report(actor: Staff, report: str, form) -> tuple[ReportRun, bool]:
    """Ask for a report with the form's parameters; (run, True) when a new build must be enqueued,
    (run, False) when the same report with the same parameters is already queued or running."""
    cls = report_class(report)
    params = parse(cls.params, form)
    return start_run(actor, cls.key, params)


@requires(SUPERVISORS, system=True)
def start_run(
    actor: Staff | None, report: str, params: dict, *, scheduled: bool = False
) -> tuple[ReportRun, bool]:
    """Create the run row (or join the active one) and audit the request."""
    key = run_key(report, params)
    run = _active_run(key)
    if run is not None and _abandon_if_stale(run):
        run = None
    created = False
    if run is None:
        run = ReportRun(
            report=report,
            params=params,
            run_key=key,
            status=ReportStatus.QUEUED,
            scheduled=scheduled,
            requested_by_id=actor.id if actor is not None else None,
            created_at=clock.now(),
        )
        try:
            with db.session.begin_nested():
                db.session.add(run)
        except IntegrityError:
            # Someone asked for the same report a moment ago: theirs is the one build.
            run = _active_run(key)
            if run is None:
                raise
        else:
            created = True
    record(
        actor,
        "report.request",
        target=run,
        detail={
            "report": report,
            "params": params,
            "joined_existing_run": not created,
            "scheduled": scheduled,
            "personal_data": REPORTS[report].personal_data,
        },
    )
    return run, created


def claim(run_id: int) -> ReportRun | None:
    """Mark a queued run as running (under a row lock); None when it is not queued any more."""
    run = db.session.get(ReportRun, run_id, with_for_update=True)
    if run is None or run.status != ReportStatus.QUEUED:
        return None
    run.status = ReportStatus.RUNNING
    run.started_at = clock.now()
    db.session.flush()
    return run


def build(run: ReportRun, progress=None) -> ReportRun:
    """Build the run's file from its parameters, then record it done and audit the export."""
    cls = REPORTS[run.report]
    report = cls(run.params, clock.now())
    run.rows_total = report.count()
    if progress is not None:
        progress(0, run.rows_total)
    heading = heading_text(cls.title, report.period(), report.made_at)
    file_name = f"{run.id:06d}-{run.report}.xlsx"
    result = write_report(
        reports_dir() / file_name,
        sheet_title=cls.sheet_title,
        heading=heading,
        columns=cls.columns,
        rows=report.rows(),
        summaries=report.summaries,
        progress=(lambda done: progress(done, run.rows_total)) if progress is not None else None,
        max_sheet_rows=current_app.config["REPORT_SHEET_ROWS"] or EXCEL_MAX_ROWS,
    )
    now = clock.now()
    run.status = ReportStatus.DONE
    run.finished_at = now
    run.row_count = result.rows
    run.sheet_count = result.sheets
    run.file_name = file_name
    run.file_size = result.size
    if run.scheduled:
        run.expires_at = now + timedelta(days=current_app.config["REPORT_MONTHLY_TTL_DAYS"])
    else:
        run.expires_at = now + timedelta(hours=current_app.config["REPORT_TTL_HOURS"])
    actor = db.session.get(Staff, run.requested_by_id) if run.requested_by_id else None
    record(
        actor,
        "report.export",
        target=run,
        detail={
            "report": run.report,
            "params": run.params,
            "row_count": result.rows,
            "sheets": result.sheets,
            "personal_data": cls.personal_data,
            "scheduled": run.scheduled,
        },
    )
    return run


def fail(run_id: int, error: BaseException) -> None:
    """Record a failed build (after the caller rolled back)."""
    run = db.session.get(ReportRun, run_id)
    if run is None:
        return
    run.status = ReportStatus.FAILED
    run.finished_at = clock.now()
    run.error = f"{type(error).__name__}: {error}"[:2000]
    db.session.flush()


def file_path(run: ReportRun) -> Path | None:
    """The built file, while it exists."""
    if run.file_name is None:
        return None
    path = reports_dir() / run.file_name
    return path if path.exists() else None


def is_expired(run: ReportRun, now: datetime | None = None) -> bool:
    """True once the run's file may no longer be downloaded."""
    if run.status == ReportStatus.EXPIRED:
        return True
    return run.expires_at is not None and run.expires_at <= (now or clock.now())


@requires(SUPERVISORS)
def download(actor: Staff, run: ReportRun) -> Path:
    """The file of a finished, unexpired run; audits the download."""
    if run.status == ReportStatus.FAILED:
        raise DomainError("このレポートは作成に失敗しました。もう一度作成してください。")
    if run.status not in (ReportStatus.DONE, ReportStatus.EXPIRED):
        raise DomainError("このレポートはまだ作成が終わっていません。")
    path = file_path(run)
    if is_expired(run) or path is None:
        raise DomainError("このレポートは保存期間が過ぎたため削除されました。もう一度作成してください。")
    record(
        actor,
        "report.download",
        target=run,
        detail={
            "report": run.report,
            "params": run.params,
            "row_count": run.row_count,
            "personal_data": REPORTS[run.report].personal_data,
        },
    )
    return path


def expire_files(now: datetime | None = None) -> int:
    """Delete the files of runs past their expiry and mark the runs expired; returns how many."""
    now = now or clock.now()
    runs = db.session.scalars(
        select(ReportRun).where(ReportRun.status == ReportStatus.DONE, ReportRun.expires_at <= now)
    ).all()
    for run in runs:
        if run.file_name:
            (reports_dir() / run.file_name).unlink(missing_ok=True)
        run.status = ReportStatus.EXPIRED
    db.session.flush()
    return len(runs)


def download_name(run: ReportRun) -> str:
    """The file name the browser saves: report title and parameters."""
    cls = REPORTS[run.report]
    return cls(run.params, run.created_at).file_stem().replace("/", "-") + ".xlsx"
