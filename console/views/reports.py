"""Excel reports for supervisors (issue 8): catalogue, progress while a job builds, audited downloads."""

from __future__ import annotations

from flask import current_app, flash, jsonify, redirect, request, send_file, url_for
from flask_admin import expose
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from .. import clock, transaction
from ..extensions import db
from ..jobs.queue import JobsUnavailable, get_queue
from ..jobs.reports import enqueue_build
from ..models import ReportRun, ReportStatus, Role
from ..models.report import ACTIVE_STATUSES
from ..reports.catalogue import REPORTS
from ..reports.params import previous_month
from ..services import DomainError, report_runs
from ..wards import ward_choices, ward_name
from .base import ConsoleView, apply_change

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _job_progress(run: ReportRun) -> tuple[int | None, int | None]:
    """(rows done, rows total) as the worker last reported them, while the run is active."""
    queue = get_queue()
    if queue is None or run.status not in ACTIVE_STATUSES:
        return None, None
    from rq.exceptions import NoSuchJobError
    from rq.job import Job

    try:
        job = Job.fetch(run.job_id, connection=queue.connection)
    except NoSuchJobError:
        return None, None
    except Exception:  # noqa: BLE001 - Redis down: the page shows the row's state only
        return None, None
    meta = job.get_meta(refresh=False) or {}
    return meta.get("rows_done"), meta.get("rows_total")


def run_state(run: ReportRun) -> dict:
    """What the progress page shows, as JSON for reports.js."""
    done, total = _job_progress(run)
    if run.status == ReportStatus.DONE:
        done = total = run.row_count
    total = total if total is not None else run.rows_total
    expired = report_runs.is_expired(run)
    state = {
        "id": run.id,
        "status": "expired" if expired and run.status == ReportStatus.DONE else run.status.value,
        "label": (ReportStatus.EXPIRED if expired else run.status).label,
        "rows_done": done or 0,
        "rows_total": total,
        "percent": min(100, int(100 * (done or 0) / total))
        if total
        else (100 if run.status == ReportStatus.DONE else None),
        "finished": run.status not in ACTIVE_STATUSES,
        "download_url": None,
        "error": "作成に失敗しました。条件を見直すか、しばらくしてから再度お試しください。"
        if run.status == ReportStatus.FAILED
        else None,
    }
    if run.status == ReportStatus.DONE and not expired:
        state["download_url"] = url_for("reports.download", run_id=run.id)
    return state


def params_text(run: ReportRun) -> str:
    """The run's parameters with their Japanese labels."""
    labels = {p.name: p.label for p in REPORTS[run.report].params}
    return "、".join(
        f"{labels.get(name, name)} {ward_name(value) if name == 'ward' else value}"
        for name, value in run.params.items()
    )


def _defaults() -> dict:
    first, last = previous_month(clock.today())
    return {
        "start": first.isoformat(),
        "end": last.isoformat(),
        "month_from": first.strftime("%Y-%m"),
        "month_to": first.strftime("%Y-%m"),
    }


def _enqueue_build(run_id: int) -> None:
    """After the run's row is committed: build it on a worker (or here, without Redis)."""
    try:
        enqueue_build(db.session.get(ReportRun, run_id))
    except JobsUnavailable as exc:
        raise transaction.AfterCommitWarning(str(exc)) from exc


class ReportView(ConsoleView):
    """レポート: supervisors pick a report and its parameters; a job builds the Excel file."""

    required_roles = frozenset({Role.SUPERVISOR})

    def render(self, template, **kwargs):
        kwargs.setdefault("catalogue", REPORTS)
        kwargs.setdefault("params_text", params_text)
        return super().render(template, **kwargs)

    @expose("/")
    def index(self):
        recent = db.session.scalars(
            select(ReportRun)
            .where(ReportRun.scheduled.is_(False))
            .options(selectinload(ReportRun.requested_by))  # the list names who asked: one query, not one per row
            .order_by(ReportRun.created_at.desc())
            .limit(30)
        ).all()
        monthly = db.session.scalars(
            select(ReportRun)
            .where(ReportRun.scheduled.is_(True), ReportRun.status == ReportStatus.DONE)
            .order_by(ReportRun.created_at.desc())
            .limit(60)
        ).all()
        return self.render(
            "reports/index.html",
            reports=list(REPORTS.values()),
            recent=recent,
            monthly=monthly,
            is_expired=report_runs.is_expired,
            defaults=_defaults(),
            wards=ward_choices(),
            ttl_hours=current_app.config["REPORT_TTL_HOURS"],
            monthly_ttl_days=current_app.config["REPORT_MONTHLY_TTL_DAYS"],
        )

    @expose("/request/<report>", methods=["POST"])
    def request_report(self, report: str):
        done, result = apply_change(lambda: report_runs.request_report(current_user, report, request.form))
        if not done:
            return redirect(url_for(".index"))
        run, created = result
        if not created:
            flash("同じ条件のレポートを作成中です。その進み具合を表示します。", "info")
            return redirect(url_for(".run", run_id=run.id))
        transaction.after_commit(_enqueue_build, run.id)
        return redirect(url_for(".run", run_id=run.id))

    @expose("/runs/<int:run_id>")
    def run(self, run_id: int):
        run = db.get_or_404(ReportRun, run_id)
        return self.render("reports/run.html", run=run, report=REPORTS[run.report], state=run_state(run))

    @expose("/runs/<int:run_id>/status")
    def status(self, run_id: int):
        run = db.get_or_404(ReportRun, run_id)
        return jsonify(run_state(run))

    @expose("/runs/<int:run_id>/download")
    def download(self, run_id: int):
        run = db.get_or_404(ReportRun, run_id)
        if run.status in ACTIVE_STATUSES:
            flash("このレポートはまだ作成中です。", "warning")
            return redirect(url_for(".run", run_id=run.id))
        try:
            path = report_runs.download(current_user, run)
        except DomainError as exc:
            transaction.rollback()
            return self.render(
                "reports/gone.html", run=run, report=REPORTS[run.report], message=exc.message
            ), 410
        return send_file(
            path, mimetype=XLSX, as_attachment=True, download_name=report_runs.download_name(run), max_age=0
        )
