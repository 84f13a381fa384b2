"""Report runs end to end: the page, the rq job and its progress, one build per request, expiry,
the monthly schedule, audited downloads, and who may do any of it."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from console import clock
from console.extensions import db
from console.models import AuditAction, AuditEvent, ReportRun, ReportStatus
from console.services.audit import record
from tests import factories
from tests.conftest import csrf_token, run_jobs
from tests.report_helpers import build, data_rows, temporary_reports_dir


@pytest.fixture()
def reports_dir(app, tmp_path):
    """Report files go to a temporary folder."""
    yield from temporary_reports_dir(app, tmp_path)


def _period():
    today = clock.today()
    return {"start": (today - timedelta(days=1)).isoformat(), "end": (today + timedelta(days=1)).isoformat()}


def _ask(client, report="audit", **form):
    data = {**_period(), **form, "csrf_token": csrf_token(client, "/reports/")}
    return client.post(f"/reports/request/{report}", data=data)


def _events(action):
    """This test's audit entries about report runs (other tests may have committed their own)."""
    run_ids = [str(i) for i in db.session.scalars(select(ReportRun.id))]
    return db.session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.action == action,
            AuditEvent.target_type == "report_run",
            AuditEvent.target_id.in_(run_ids),
        )
        .order_by(AuditEvent.id)
    ).all()


def test_supervisor_builds_and_downloads_inline(client, login_as, reports_dir):
    supervisor = login_as("supervisor")
    page = client.get("/reports/").get_data(as_text=True)
    assert "監査ログ" in page and "使用水量・料金（区別・月別）" in page and "個人情報を含む" in page
    response = _ask(client)
    assert response.status_code == 302
    run = db.session.scalars(select(ReportRun)).one()
    assert response.headers["Location"].endswith(f"/reports/runs/{run.id}")
    assert run.status == ReportStatus.DONE and run.row_count >= 1  # built inline: no Redis configured
    page = client.get(f"/reports/runs/{run.id}").get_data(as_text=True)
    assert "/static/reports.js" in page and "<script>" not in page.replace("<script src", "")
    assert f"/reports/runs/{run.id}/download" in page
    state = client.get(f"/reports/runs/{run.id}/status").get_json()
    assert state["status"] == "done" and state["percent"] == 100 and state["finished"]
    assert state["rows_done"] == state["rows_total"] == run.row_count

    download = client.get(f"/reports/runs/{run.id}/download")
    assert download.status_code == 200
    assert download.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in download.headers["Content-Disposition"]
    wb = load_workbook(io.BytesIO(download.data))
    rows = data_rows(wb["監査ログ"])
    assert len(rows) == run.row_count
    assert AuditAction.REPORT_REQUEST.label in [r[3] for r in rows]  # the request itself is in the period's audit log

    (requested,) = _events("report.request")
    (exported,) = _events("report.export")
    (downloaded,) = _events("report.download")
    for event in (requested, exported, downloaded):
        assert event.staff_id == supervisor.id and event.target_id == str(run.id)
        assert event.detail["report"] == "audit" and event.detail["params"] == run.params
    assert exported.detail["row_count"] == downloaded.detail["row_count"] == run.row_count
    assert exported.detail["personal_data"] is True


def test_operator_may_not(client, login_as, reports_dir):
    supervisor = factories.staff("supervisor")
    record(supervisor, "customer.view")
    from console.services import report_runs as runs

    run, _ = runs.start_run(supervisor, "audit", _period())
    runs.build(runs.claim(run.id))
    db.session.commit()
    login_as("operator")
    assert client.get("/reports/").status_code == 403
    assert client.get(f"/reports/runs/{run.id}/download").status_code == 403
    assert client.get(f"/reports/runs/{run.id}/status").status_code == 403
    response = client.post("/reports/request/audit", data={**_period(), "csrf_token": csrf_token(client)})
    assert response.status_code == 403
    assert _events("report.download") == []
    assert db.session.scalar(select(ReportRun.id).where(ReportRun.id != run.id)) is None


def test_bad_parameters_change_nothing(client, login_as, reports_dir):
    login_as("supervisor")
    response = _ask(client, start="2026-10-31", end="2026-10-01")
    assert response.status_code == 302 and response.headers["Location"].endswith("/reports/")
    assert "開始日は終了日以前" in client.get("/reports/").get_data(as_text=True)
    assert db.session.scalar(select(ReportRun.id)) is None and _events("report.request") == []
    assert client.post("/reports/request/nothing", data={"csrf_token": csrf_token(client)}).status_code == 302
    assert "そのレポートはありません" in client.get("/reports/").get_data(as_text=True)


def test_same_report_twice_is_one_job_with_progress(client, login_as, reports_dir, rq_queue):
    first = login_as("supervisor")
    for i in range(3):
        record(first, "customer.view", reason=f"=event {i}")
    db.session.commit()
    assert _ask(client).status_code == 302
    assert _ask(client).status_code == 302
    (run,) = db.session.scalars(select(ReportRun)).all()
    assert run.status == ReportStatus.QUEUED
    assert rq_queue.count == 1 and rq_queue.job_ids == [run.job_id]
    joined = [e.detail["joined_existing_run"] for e in _events("report.request")]
    assert joined == [False, True]

    state = client.get(f"/reports/runs/{run.id}/status").get_json()
    assert state["status"] == "queued" and state["label"] == "待機中" and not state["finished"]
    assert state["download_url"] is None

    # What the page shows while a worker is part way through (as the job writes it).
    job = rq_queue.fetch_job(run.job_id)
    job.meta.update(rows_done=5, rows_total=20)
    job.save_meta()
    state = client.get(f"/reports/runs/{run.id}/status").get_json()
    assert (state["rows_done"], state["rows_total"], state["percent"]) == (5, 20, 25)

    run_jobs(rq_queue)
    db.session.expire_all()
    run = db.session.get(ReportRun, run.id)
    assert run.status == ReportStatus.DONE and run.rows_total == run.row_count >= 3
    job = rq_queue.fetch_job(run.job_id)
    assert job.get_meta()["rows_done"] == job.get_meta()["rows_total"] == run.row_count
    state = client.get(f"/reports/runs/{run.id}/status").get_json()
    assert state["finished"] and state["percent"] == 100 and state["download_url"]

    # Finished: asking again is a new build.
    assert _ask(client).status_code == 302
    assert len(db.session.scalars(select(ReportRun)).all()) == 2


def test_job_run_twice_builds_once(database, reports_dir):
    from console.jobs.reports import build_report
    from console.services import report_runs as runs

    staff = factories.staff("supervisor")
    run, _ = runs.start_run(staff, "audit", _period())
    db.session.commit()
    assert build_report(run.id) is not None
    assert build_report(run.id) is None
    assert len(_events("report.export")) == 1


def test_a_lost_run_does_not_block_a_new_request(database, reports_dir):
    from console.services import report_runs as runs

    staff = factories.staff("supervisor")
    run, created = runs.start_run(staff, "audit", _period())
    run.status = ReportStatus.RUNNING
    run.started_at = clock.now() - timedelta(hours=4)
    db.session.flush()
    again, created = runs.start_run(staff, "audit", _period())
    assert created and again.id != run.id and run.status == ReportStatus.FAILED


def test_failed_build_is_recorded(app, database, tmp_path):
    from console.jobs.reports import build_report
    from console.services import report_runs as runs

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    previous = app.config["REPORTS_DIR"]
    app.config["REPORTS_DIR"] = str(blocker)
    try:
        staff = factories.staff("supervisor")
        run, _ = runs.start_run(staff, "audit", _period())
        db.session.commit()
        assert build_report(run.id) is None
    finally:
        app.config["REPORTS_DIR"] = previous
    run = db.session.get(ReportRun, run.id)
    assert run.status == ReportStatus.FAILED and "Error" in run.error
    assert _events("report.export") == []


def test_expired_download_is_refused_and_the_file_removed(client, login_as, reports_dir):
    from console.jobs.reports import expire_report_files
    from console.services import report_runs as runs

    login_as("supervisor")
    _ask(client)
    run = db.session.scalars(select(ReportRun)).one()
    path = runs.file_path(run)
    assert path.exists()
    run.expires_at = clock.now() - timedelta(minutes=1)
    db.session.commit()
    response = client.get(f"/reports/runs/{run.id}/download")
    assert response.status_code == 410
    assert "保存期間が過ぎた" in response.get_data(as_text=True)
    assert _events("report.download") == []
    assert client.get(f"/reports/runs/{run.id}/status").get_json()["status"] == "expired"
    assert expire_report_files() == 1
    assert not path.exists() and db.session.get(ReportRun, run.id).status == ReportStatus.EXPIRED
    assert client.get(f"/reports/runs/{run.id}/download").status_code == 410


def test_row_limit_per_sheet_is_configurable(app, database, reports_dir):
    staff = factories.staff("supervisor")
    for i in range(7):
        record(staff, "customer.view", reason=str(i))
    app.config["REPORT_SHEET_ROWS"] = 5  # title + header + 3 data rows per sheet
    try:
        run, wb = build("audit", {**_period(), "staff": staff.email}, staff)
    finally:
        app.config["REPORT_SHEET_ROWS"] = None
    assert run.row_count == 8 and run.sheet_count == 3  # 7 samples + the report.request entry
    assert wb.sheetnames == ["監査ログ", "監査ログ (2)", "監査ログ (3)"]
    assert sum(len(data_rows(wb[name])) for name in wb.sheetnames) == 8


def test_monthly_reports_on_schedule(client, login_as, reports_dir, redis_url):
    from console.jobs.reports import MONTHLY_CRON, build_monthly_reports, register_schedule
    from console.reports.catalogue import REPORTS

    started = build_monthly_reports("2026-11-05")
    monthly = [cls.key for cls in REPORTS.values() if cls.monthly]
    runs_ = db.session.scalars(select(ReportRun).where(ReportRun.id.in_(started))).all()
    assert sorted(r.report for r in runs_) == sorted(monthly) and "audit" not in monthly
    for run in runs_:
        assert run.scheduled and run.requested_by_id is None and run.status == ReportStatus.DONE
        assert run.expires_at - run.finished_at > timedelta(days=300)
    usage = next(r for r in runs_ if r.report == "usage")
    assert usage.params == {"month_from": "2026-10", "month_to": "2026-10"}
    assert next(r for r in runs_ if r.report == "applications").params == {
        "start": "2026-10-01",
        "end": "2026-10-31",
    }
    assert build_monthly_reports("2026-11-06") == []  # already built for October
    login_as("supervisor")
    page = client.get("/reports/").get_data(as_text=True)
    assert page.count("ダウンロード</a>") >= len(monthly)

    from redis import Redis
    from rq.cron import CronScheduler

    scheduler = CronScheduler(connection=Redis.from_url(redis_url))
    job = register_schedule(scheduler, "console")
    assert job.cron == MONTHLY_CRON and job.func is build_monthly_reports
    assert job.next_enqueue_time is not None


def test_report_cron_command_needs_redis(app):
    result = app.test_cli_runner().invoke(args=["report-cron"])
    assert result.exit_code != 0 and "CONSOLE_REDIS_URL is not set" in result.output


def test_two_supervisors_asking_at_once_get_one_run(app, database_url):
    """Same report, same parameters, same moment, two real connections: one build, both see it."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.orm import Session

    from console.services import report_runs as runs

    engine = create_engine(database_url)
    with factories.committed(app):
        staff_ids = [factories.staff("supervisor").id for _ in range(2)]
    params = {"start": "2001-01-01", "end": "2001-01-31"}
    def ask(actor):
        run, created = runs.start_run(actor, "audit", params)
        return run.id, created

    outcomes = list(factories.race(app, {f"supervisor {n}": (staff_id, ask)
                                         for n, staff_id in enumerate(staff_ids)}).values())
    try:
        assert len(outcomes) == 2 and outcomes[0][0] == outcomes[1][0], outcomes
        assert sorted(created for _id, created in outcomes) == [False, True]
        with Session(engine) as check:
            assert (
                check.execute(
                    text("SELECT count(*) FROM report_run WHERE run_key = :k"),
                    {"k": runs.run_key("audit", params)},
                ).scalar_one()
                == 1
            )
    finally:
        with Session(engine) as cleanup:
            cleanup.execute(
                text("DELETE FROM report_run WHERE run_key = :k"), {"k": runs.run_key("audit", params)}
            )
            cleanup.commit()
        engine.dispose()
