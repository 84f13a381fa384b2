"""Jobs that build the supervisors' Excel reports, the monthly ones on a schedule, and expire files.

The schedule uses rq's own cron (rq ≥ 2.5, `rq.cron`): `flask report-cron` (or
`rq cron console.jobs.reports_cron`) enqueues build_monthly_reports once a day at 03:00 Japan time;
that job builds last month's reports if they are not built yet and deletes expired files, so a day
the scheduler was down is caught up the next day.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date

from flask import current_app
from rq import get_current_job
from sqlalchemy import select

from .. import clock, transaction
from ..extensions import db
from ..models import ReportRun, ReportStatus
from ..reports.catalogue import REPORTS
from ..reports.params import previous_month
from ..services import report_runs
from .queue import JobsUnavailable, get_queue, with_app_context

log = logging.getLogger(__name__)

# Daily at 18:00 UTC = 03:00 in Japan (rq's cron runs in UTC).
MONTHLY_CRON = "0 18 * * *"


def enqueue_build(run: ReportRun) -> str:
    """Build the run on a worker ("queued"), or here and now when there is no Redis ("done")."""
    queue = get_queue()
    if queue is None:
        build_report(run.id)
        return "done"
    try:
        queue.enqueue(
            build_report,
            args=(run.id,),
            job_id=run.job_id,
            job_timeout=int(report_runs.job_timeout().total_seconds()),
            result_ttl=86400,
            failure_ttl=7 * 86400,
        )
    except Exception as exc:  # redis.exceptions.ConnectionError and friends
        raise JobsUnavailable(
            "ジョブ実行基盤（Redis）に接続できません。しばらくしてから再度お試しください。"
        ) from exc
    return "queued"


def _progress_to_job():
    job = get_current_job()
    if job is None:
        return None

    def progress(done: int, total: int | None) -> None:
        job.meta.update(rows_done=done, rows_total=total)
        job.save_meta()

    return progress


@with_app_context
def build_report(run_id: int) -> int | None:
    """Build one report run's file; returns its row count.

    Safe to run twice: the run is claimed only while queued (row lock), so a second run of the
    job finds it running or done and does nothing; a failure is recorded on the row.
    """
    run = report_runs.claim(run_id)
    if run is None:
        transaction.rollback()
        return None
    transaction.commit()
    try:
        report_runs.build(run, progress=_progress_to_job())
    except Exception as exc:  # noqa: BLE001 - recorded on the row and logged
        transaction.rollback()
        log.exception("report run %s failed", run_id)
        report_runs.fail(run_id, exc)
        transaction.commit()
        return None
    transaction.commit()
    return run.row_count


@with_app_context
def build_monthly_reports(today_iso: str | None = None) -> list[int]:
    """Start last month's scheduled builds that are not built yet, then delete expired files.

    Safe to run twice (and daily): a report already built for that month (or being built) is
    skipped, because its run key is the report and its parameters.
    """
    today = date.fromisoformat(today_iso) if today_iso else clock.today()
    first, last = previous_month(today)
    started = []
    for cls in REPORTS.values():
        if not cls.monthly:
            continue
        params = cls.monthly_params(first, last)
        key = report_runs.run_key(cls.key, params)
        built = db.session.scalar(
            select(ReportRun.id)
            .where(
                ReportRun.run_key == key,
                ReportRun.scheduled.is_(True),
                ReportRun.status.in_([ReportStatus.QUEUED, ReportStatus.RUNNING, ReportStatus.DONE]),
            )
            .limit(1)
        )
        if built is not None:
            continue
        run, created = report_runs.start_run(None, cls.key, params, scheduled=True)
        transaction.commit()
        if created:
            started.append(run.id)
    for run_id in started:
        enqueue_build(db.session.get(ReportRun, run_id))
    expire_report_files()
    return started


@with_app_context
def expire_report_files() -> int:
    """Delete files past their expiry; safe to run any number of times."""
    count = report_runs.expire_files()
    transaction.commit()
    return count


def register_schedule(scheduler, queue_name: str | None = None, config: Mapping | None = None):
    """Register the daily monthly-report job on an rq CronScheduler (or rq.cron), with the app's settings.

    config defaults to the current app's; rq's cron config file has no app and passes load_config()'s.
    """
    config = current_app.config if config is None else config
    return scheduler.register(
        build_monthly_reports,
        queue_name or config["RQ_QUEUE"],
        cron=MONTHLY_CRON,
        job_timeout=config["REPORT_JOB_TIMEOUT_MINUTES"] * 60 * 4,
    )
